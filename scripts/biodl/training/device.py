"""Where and how TensorFlow computes: thread pools, seeds, precision and devices.

Contract:
- ``configure_tensorflow(seed, threads)`` clears the Keras session, seeds every random source
  (Python, NumPy, TensorFlow), switches on op determinism and sizes TensorFlow's thread pools;
  called before a model is built.
- ``precision(mixed)`` is the Keras dtype policy while building and training: ``mixed_float16``
  (float16 computations, float32 weights and outputs) or ``float32``, restored afterwards.
- ``distribution_strategy(distribute)`` mirrors the model over all local GPUs when asked and
  there are several, else the default strategy (one device); the log names the devices.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import keras
import tensorflow as tf

logger = logging.getLogger(__name__)


def configure_tensorflow(seed: int, threads: int) -> None:
    """Fix every source of randomness and the thread pools before a model is built."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    pools = (
        (
            "intra-op",
            tf.config.threading.get_intra_op_parallelism_threads,
            tf.config.threading.set_intra_op_parallelism_threads,
        ),
        (
            "inter-op",
            tf.config.threading.get_inter_op_parallelism_threads,
            tf.config.threading.set_inter_op_parallelism_threads,
        ),
    )
    for kind, get, set_ in pools:
        if get() == threads:
            continue
        try:
            set_(threads)
        except RuntimeError:
            # TensorFlow fixes its pools at first use; only a second training in one process gets here.
            logger.warning(
                "TensorFlow already runs in this process; keeping %d %s threads instead of %d",
                get(),
                kind,
                threads,
            )


@contextmanager
def precision(mixed: bool) -> Iterator[None]:
    """The Keras dtype policy for building and training: mixed_float16 or float32 (restored after)."""
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    if mixed:
        logger.info("mixed precision: float16 computations, float32 weights and outputs")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def distribution_strategy(distribute: bool) -> tf.distribute.Strategy:
    """All local GPUs mirrored when asked and there are several; else the default (one device)."""
    gpus = tf.config.list_physical_devices("GPU")
    names = ", ".join(gpu.name for gpu in gpus)
    if distribute and len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
        logger.info("training on %d GPUs, mirrored: %s", strategy.num_replicas_in_sync, names)
        return strategy
    if distribute:
        logger.info(
            "distribute asked, but %s visible: training on one device",
            f"only one GPU ({names}) is" if gpus else "no GPU is",
        )
    logger.info("training on %s", f"GPU {gpus[0].name}" if gpus else "the CPU")
    return tf.distribute.get_strategy()
