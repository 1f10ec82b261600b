"""biodl.training.device: the device setting (a GPU required, the CPU forced, auto), the log line
naming the device and the precision, the dtype policy restored."""

from __future__ import annotations

import keras
import pytest
import tensorflow as tf

from biodl.core.errors import InputError
from biodl.training.device import device_summary, precision, use_device

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU")
def test_gpu_without_a_visible_gpu_fails_with_the_reason_and_the_remedy() -> None:
    with pytest.raises(InputError) as error:
        use_device("gpu", "model big")
    assert str(error.value).startswith("model big, training.device: gpu asked, but")
    if tf.test.is_built_with_cuda():
        assert "sees no GPU" in str(error.value) and "CUDA_VISIBLE_DEVICES" in str(error.value)
    else:
        assert "CPU-only build" in str(error.value) and "make install TF=gpu" in str(error.value)


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU")
def test_auto_and_cpu_train_on_the_cpu_without_a_gpu() -> None:
    assert use_device("auto", "model m") == [] and use_device("cpu", "model m") == []


@pytest.mark.skipif(not HAS_GPU, reason="needs a GPU")
def test_auto_and_gpu_take_the_visible_gpus() -> None:
    assert (
        use_device("auto", "model m")
        == use_device("gpu", "model m")
        == tf.config.list_physical_devices("GPU")
    )


def test_the_log_line_names_the_device_and_the_precision() -> None:
    assert device_summary([], True) == "training on the CPU, mixed precision on"
    assert device_summary([], False) == "training on the CPU, mixed precision off"
    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    assert device_summary([gpu], False).startswith("training on GPU /physical_device:GPU:0")


def test_precision_is_restored_after_training() -> None:
    with precision(True):
        assert keras.config.dtype_policy().name == "mixed_float16"
    assert keras.config.dtype_policy().name == "float32"
