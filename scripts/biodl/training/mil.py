"""Training attention MIL (``kind: attention_mil``) on the bags of a prepared image dataset.

Contract: ``train_mil(run)`` trains ``run.model`` (``biodl.config.models.AttentionMilModel``) on the
``train`` bags of ``run.dataset`` (``biodl.data.image.bags``: one bag per group, at most
``max_tiles`` seeded tiles), ``training.batch_size`` bags per step, monitoring the
``validation`` bags (``training.monitor``; early stopping with ``patience`` / ``min_delta``, the
best epoch's weights kept; the optimiser and learning-rate schedule of
``biodl.models.optimization``), and writes (atomically):
- ``run.model_path``: the network (``biodl.models.attention_mil``) in float32, uncompiled, loadable with plain
  ``keras.models.load_model``; its bags hold ``min(max_tiles, largest bag)`` tiles;
- ``run.history_path``: one row per epoch: ``epoch``, ``loss``, ``val_loss``, each metric and its
  ``val_`` twin, ``learning_rate``, ``best``;
- ``run.predictions_path``: one row per validation and test bag (validation first), the columns
  ``split``, ``group``, ``images`` (the bag's images, ``;``-separated), ``tiles`` (in the group),
  ``tiles_used`` (in the bag), then the label and output columns of
  ``biodl.evaluation.predictions`` for the task;
- ``run.attention_path``: one row per tile of those bags: ``split``, ``group``, ``image``,
  ``level``, ``x``, ``y`` (as in ``metadata.tsv``) and ``attention`` (its weight; a bag's sum to 1),
  for heatmaps;
- ``run.parameters_path`` (optional): the parameter count of the network as trained (the tile
  encoder, attention and classifier; frozen encoder layers not trainable,
  ``biodl.models.parameter_count``).
It returns a ``MilResult``: the history and the bag ``Scores`` per predicted split, from which
``biodl.evaluation.metrics.compute_metrics`` gives the metrics per slide. Only binary and
multiclass datasets are taken; ``class_weight``, ``distribute`` and fold ensembles are refused
(``InputError``) rather than ignored. ``run.init_model`` (``init_from``: a trained ``cnn2d`` or
``attention_mil`` run) starts the tile encoder from its layers of the same names, and the first
``freeze_layers`` of the encoder's layers with weights are then frozen. The seed fixes the
weights, the tile samples and the order of the bags.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from biodl.config.models import AttentionMilModel
from biodl.core.errors import require
from biodl.core.files import write_tsv
from biodl.data.dataset import PreparedDataset, load_metadata, open_dataset
from biodl.data.image.bags import Bag, BagBatches, split_bags
from biodl.evaluation.predictions import PREDICTED_SPLITS, Scores, predictions_frame
from biodl.models.attention_mil import attention_model, build_mil_model
from biodl.models.objectives import loss_for, training_metrics
from biodl.models.optimization import LearningRateController, build_optimizer, monitor_mode
from biodl.models.parameter_count import network_count, write_parameters
from biodl.training.device import configure_tensorflow, device_summary, precision, use_device
from biodl.training.loop import save_model
from biodl.training.transfer import copy_weights, freeze_layers

logger = logging.getLogger(__name__)

MIL_TASKS = ("binary", "multiclass")
MONITORS = ("val_loss", "val_auroc", "val_auprc", "val_accuracy")
ENCODER = "encode_tiles"


@dataclasses.dataclass(frozen=True)
class MilRun:
    """One attention-MIL training job and its files."""

    dataset: Path  # a prepared image dataset folder or its dataset.json
    model: AttentionMilModel
    seed: int
    model_path: Path
    history_path: Path
    predictions_path: Path
    attention_path: Path
    init_model: Path | None = None
    threads: int = 1
    parameters_path: Path | None = None  # the parameter count, for the leaderboard (TSV)


@dataclasses.dataclass(frozen=True)
class MilResult:
    history: pd.DataFrame
    scores: dict[str, Scores]  # validation and test bags


def train_mil(run: MilRun) -> MilResult:
    """Train, then write the model, history, bag predictions and tile attention (see the contract)."""
    dataset = open_dataset(run.dataset)
    _check_run(run, dataset)
    settings, training = run.model, run.model.training
    bags = split_bags(dataset, settings.max_tiles, run.seed)
    for split in ("train", *PREDICTED_SPLITS):
        require(
            bool(bags[split]), dataset.manifest, f"splits.{split}", "attention_mil needs a bag in this split"
        )
    max_tiles = max(len(bag.rows) for split_bags_ in bags.values() for bag in split_bags_)
    gpus = use_device(training.device, f"model {settings.name}")
    configure_tensorflow(run.seed, run.threads)
    logger.info("%s: %s", settings.name, device_summary(gpus, training.mixed_precision))
    with precision(training.mixed_precision):
        model = compile_mil(settings, dataset, max_tiles, run.init_model)
        history = _fit(run, dataset, model, bags, max_tiles)
    with precision(False):  # the saved network computes in float32 whatever training used
        network = mil_network(settings, dataset, max_tiles)
        network.set_weights(model.get_weights())
    save_model(network, run.model_path)
    write_tsv(history, run.history_path)
    if run.parameters_path is not None:
        write_parameters(network_count(model), run.parameters_path)
    scores = _predict(network, dataset, bags, run, max_tiles)
    return MilResult(history, scores)


def _check_run(run: MilRun, dataset: PreparedDataset) -> None:
    source, training = f"model {run.model.name}", run.model.training
    require(
        dataset.modality == "image" and dataset.task in MIL_TASKS,
        source,
        "kind",
        f"attention_mil learns image-level classes from an image dataset; {dataset.name} is a "
        f"{dataset.modality} {dataset.task} dataset",
    )
    require(dataset.fold is None, source, "ensemble", "fold ensembles of attention_mil are not supported")
    require(run.seed >= 0, source, "seed", f"expected an integer >= 0, found {run.seed!r}")
    require(
        training.monitor in MONITORS, source, "training.monitor", f"expected one of {', '.join(MONITORS)}"
    )
    require(
        training.class_weight is None,
        source,
        "training.class_weight",
        "attention_mil does not weight classes",
    )
    require(not training.distribute, source, "training.distribute", "attention_mil trains on one device")
    require(
        (run.init_model is None) == (run.model.init_from is None),
        source,
        "init_from",
        f"found init_from {run.model.init_from} and model file {run.init_model}",
    )
    if run.model.init_from is None:
        for key, unset in (("freeze_layers", 0), ("fine_tune_learning_rate", None)):
            require(getattr(run.model, key) == unset, source, key, "applies with init_from only")


def mil_network(settings: AttentionMilModel, dataset: PreparedDataset, max_tiles: int) -> keras.Model:
    """The uncompiled network for the dataset's tiles, classes and training-split statistics."""
    normalization = (dataset.channel_mean, dataset.channel_std)
    return build_mil_model(
        settings, dataset.input_shape, max_tiles, dataset.task, len(dataset.targets), normalization
    )


def compile_mil(
    settings: AttentionMilModel, dataset: PreparedDataset, max_tiles: int, init_model: Path | None = None
) -> keras.Model:
    """The network, its encoder started from ``init_model`` (if any), compiled."""
    model = mil_network(settings, dataset, max_tiles)
    if init_model is not None:
        encoder = model.get_layer(ENCODER).layer
        copied = copy_weights(init_model, encoder, settings.name)
        freeze_layers(encoder, settings.freeze_layers, copied, settings.name)
    model.compile(
        optimizer=build_optimizer(settings.name, settings.training),
        loss=loss_for(dataset.task, settings.training),
        metrics=training_metrics(dataset.task),
    )
    return model


def _fit(
    run: MilRun, dataset: PreparedDataset, model: keras.Model, bags: dict[str, list[Bag]], max_tiles: int
) -> pd.DataFrame:
    training = run.model.training
    size = training.batch_size
    train = BagBatches(dataset, "train", bags["train"], size, max_tiles, shuffle=True, seed=run.seed)
    validation = BagBatches(dataset, "validation", bags["validation"], size, max_tiles)
    stopper = keras.callbacks.EarlyStopping(
        monitor=training.monitor,
        mode=monitor_mode(training.monitor),
        patience=training.patience,
        min_delta=training.min_delta,
        restore_best_weights=True,
    )
    controller = LearningRateController(training, training.epochs, training.learning_rate, training.monitor)
    logger.info(
        "training %s on %s: %d train / %d validation bags of at most %d tiles; %s parameters; seed %d",
        run.model.name,
        dataset.name,
        len(bags["train"]),
        len(bags["validation"]),
        max_tiles,
        f"{network_count(model).total:,}",
        run.seed,
    )
    fitted = model.fit(
        train.tf_dataset(run.threads),
        validation_data=validation.tf_dataset(run.threads),
        epochs=training.epochs,
        steps_per_epoch=len(train),  # the shuffled stream is endless
        callbacks=[controller, stopper],
        shuffle=False,  # BagBatches orders the bags from the seed
        verbose=0,
    )
    frame = pd.DataFrame(fitted.history)
    columns = ["loss", "val_loss"] + [
        name for metric in training_metrics(dataset.task) for name in (metric.name, f"val_{metric.name}")
    ]
    frame = frame[[*columns, "learning_rate"]]
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    values = frame[training.monitor].to_numpy()
    best = int(np.argmax(values) if monitor_mode(training.monitor) == "max" else np.argmin(values))
    frame["best"] = frame["epoch"] == best + 1
    logger.info("kept the weights of epoch %d (%s %.4f)", best + 1, training.monitor, values[best])
    return frame


def _predict(
    network: keras.Model, dataset: PreparedDataset, bags: dict[str, list[Bag]], run: MilRun, max_tiles: int
) -> dict[str, Scores]:
    """Write the bag predictions and tile attention of the validation and test splits."""
    attention_of = attention_model(network)
    scores, frames, tiles = {}, [], []
    for split in PREDICTED_SPLITS:
        batches = BagBatches(dataset, split, bags[split], run.model.training.batch_size, max_tiles)
        outputs, weights = [], []
        for i in range(len(batches)):
            inputs, _ = batches[i]
            outputs.append(np.asarray(network(inputs, training=False), dtype=np.float64))
            weights.append(np.asarray(attention_of(inputs, training=False), dtype=np.float64))
        y_score, attention = np.concatenate(outputs), np.concatenate(weights)
        labels = np.stack([bag.label for bag in bags[split]])
        scores[split] = Scores(dataset.task, dataset.targets, labels, y_score)
        metadata = load_metadata(dataset, split)
        frames.append(predictions_frame(_bag_rows(bags[split], metadata), scores[split]))
        tiles.append(_tile_attention(bags[split], metadata, attention))
    write_tsv(pd.concat(frames, ignore_index=True), run.predictions_path)
    write_tsv(pd.concat(tiles, ignore_index=True), run.attention_path)
    return scores


def _bag_rows(bags: list[Bag], metadata: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "split": [bag.split for bag in bags],
            "group": [bag.name for bag in bags],
            "images": [";".join(dict.fromkeys(metadata["image"].iloc[bag.rows])) for bag in bags],
            "tiles": [bag.tiles for bag in bags],
            "tiles_used": [len(bag.rows) for bag in bags],
        }
    )


def _tile_attention(bags: list[Bag], metadata: pd.DataFrame, attention: np.ndarray) -> pd.DataFrame:
    frames = []
    for bag, weights in zip(bags, attention, strict=True):
        rows = metadata.iloc[bag.rows][["split", "group", "image", "level", "x", "y"]].reset_index(drop=True)
        rows["attention"] = weights[: len(bag.rows)]
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)
