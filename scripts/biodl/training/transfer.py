"""Starting a network from another run's trained weights (``init_from``).

Contract: ``copy_weights(source_path, model, model_name)`` copies weights layer by layer where
names and shapes agree (an output layer of another width starts fresh) and returns the names of
the layers copied; a source that cannot be loaded, a layer whose shapes differ or no shared layer
at all raises ``InputError``. ``freeze_layers(model, n, copied, model_name)`` freezes the first
``n`` layers that have weights, all of which must have been copied.
"""

from __future__ import annotations

import logging
from os import PathLike

import keras

from biodl.core.errors import InputError, require, require_file

logger = logging.getLogger(__name__)


def copy_weights(source_path: str | PathLike[str], model: keras.Model, model_name: str) -> set[str]:
    """Start ``model`` from a trained model's weights, layer by layer (see the module contract);
    return the names of the layers copied."""
    path = require_file(source_path, "initial model (init_from)")
    try:
        source = keras.models.load_model(path, safe_mode=True, compile=False)
    except (ValueError, TypeError, OSError) as error:
        raise InputError(path, None, f"not a loadable Keras model ({error})") from error
    layers = {layer.name: layer for layer in source.layers if layer.weights}
    copied, fresh = [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        origin = layers.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if origin is None or ([tuple(w.shape) for w in origin.weights] != shapes and layer.name == "output"):
            fresh.append(layer.name)
            continue
        found = [tuple(w.shape) for w in origin.weights]
        require(
            found == shapes,
            path,
            f"layer {layer.name}",
            f"weights of shapes {found} cannot start model {model_name}'s layer {layer.name} "
            f"of shapes {shapes}; "
            "init_from needs the same architecture up to the output layer",
        )
        layer.set_weights(origin.get_weights())
        copied.append(layer.name)
    require(
        bool(copied),
        path,
        None,
        f"no layer of model {model_name} (by name) is in this model; init_from needs the same layer names",
    )
    logger.info(
        "started from %s: copied %s%s",
        path,
        ", ".join(copied),
        f"; fresh: {', '.join(fresh)}" if fresh else "",
    )
    return set(copied)


def freeze_layers(model: keras.Model, n: int, copied: set[str], model_name: str) -> None:
    """Freeze the first ``n`` layers that have weights (they must be among the ``copied``)."""
    weighted = [layer for layer in model.layers if layer.weights]
    require(
        n <= len(weighted),
        f"model {model_name}",
        "freeze_layers",
        f"the model has {len(weighted)} layers with weights, found {n}",
    )
    for layer in weighted[:n]:
        require(
            layer.name in copied,
            f"model {model_name}",
            "freeze_layers",
            f"layer {layer.name} would be frozen but was not copied from init_from; freeze fewer layers",
        )
        layer.trainable = False
    if n:
        logger.info("frozen: %s", ", ".join(layer.name for layer in weighted[:n]))
