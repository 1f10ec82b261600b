"""Where and how TensorFlow computes: thread pools, seeds, precision and devices.

Contract:
- ``configure_tensorflow(seed, threads)`` clears the Keras session, seeds every random source
  (Python, NumPy, TensorFlow), switches on op determinism and sizes TensorFlow's thread pools;
  called before a model is built.
- ``precision(mixed)`` is the Keras dtype policy while building and training: ``mixed_float16``
  (float16 computations, float32 weights and outputs) or ``float32``, restored afterwards.
- ``distribution_strategy(distribute, gpus)`` mirrors the model over ``gpus`` when asked and
  there are several, else the default strategy (one device).
- ``use_device(device, source)`` applies a model's ``training.device`` before anything runs on a
  device: ``cpu`` hides every GPU from TensorFlow (training runs on the CPU even on a GPU node);
  ``gpu`` requires a GPU that TensorFlow sees, else ``InputError`` on ``training.device`` saying
  whether this TensorFlow is a CPU-only build (install the CUDA one: ``make install TF=gpu``) or
  sees no device (driver, ``CUDA_VISIBLE_DEVICES``, no GPU allocated by Slurm); ``auto`` takes a
  GPU when TensorFlow sees one, else the CPU. It returns the GPUs training may use.
  ``no_gpu_reason()`` is the message of that error (why no GPU, what to do).
- ``device_summary(gpus, mixed)`` is the log line naming the device(s) and the precision, e.g.
  ``training on GPU /physical_device:GPU:0 (NVIDIA H200), mixed precision on``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import keras
import tensorflow as tf

from biodl.core.errors import InputError

Device = Literal["auto", "gpu", "cpu"]

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


def distribution_strategy(distribute: bool, gpus: list[tf.config.PhysicalDevice]) -> tf.distribute.Strategy:
    """All of ``gpus`` (those ``use_device`` left) mirrored when asked and there are several; else
    the default strategy (one device)."""
    names = ", ".join(gpu.name for gpu in gpus)
    if distribute and len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(len(gpus))])
        logger.info("training on %d GPUs, mirrored: %s", strategy.num_replicas_in_sync, names)
        return strategy
    if distribute:
        logger.info(
            "distribute asked, but %s visible: training on one device",
            f"only one GPU ({names}) is" if gpus else "no GPU is",
        )
    return tf.distribute.get_strategy()


def use_device(device: Device, source: str) -> list[tf.config.PhysicalDevice]:
    """Apply ``training.device`` (see the module contract); the GPUs training may use."""
    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu":
        if gpus:
            _hide_gpus()
        return []
    if device == "gpu" and not gpus:
        raise InputError(
            source,
            "training.device",
            f"gpu asked, but {no_gpu_reason()}; or set training.device to auto or cpu",
        )
    return gpus


def _hide_gpus() -> None:
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:
        # The GPUs were initialised by an earlier training in this process: they stay visible.
        logger.warning("TensorFlow already runs on the GPU in this process; training.device cpu not applied")


def no_gpu_reason() -> str:
    """Why TensorFlow sees no GPU, and what to do about it."""
    if not tf.test.is_built_with_cuda():
        return (
            f"this TensorFlow ({tf.__version__}) is a CPU-only build; install the CUDA build "
            "(make install TF=gpu, or pip install -e '.[gpu]')"
        )
    return (
        f"TensorFlow {tf.__version__} (CUDA build) sees no GPU: check nvidia-smi, "
        "CUDA_VISIBLE_DEVICES and, on Slurm, that the job was given a GPU"
    )


def device_summary(gpus: list[tf.config.PhysicalDevice], mixed: bool) -> str:
    """The log line naming where training runs and whether mixed precision is on."""
    where = ", ".join(f"GPU {gpu.name}{_gpu_model(gpu)}" for gpu in gpus) if gpus else "the CPU"
    return f"training on {where}, mixed precision {'on' if mixed else 'off'}"


def _gpu_model(gpu: tf.config.PhysicalDevice) -> str:
    try:
        name = tf.config.experimental.get_device_details(gpu).get("device_name")
    except (RuntimeError, ValueError):
        return ""
    return f" ({name})" if name else ""
