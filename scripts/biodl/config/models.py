"""Typed settings of one model (``models.<name>`` of the config), built once from validated values.

Contract:
- ``model_settings(name, mapping)`` turns a model's validated settings (every default filled by the
  schema; a search trial's with its sampled values) into the frozen dataclass of its kind:
  ``Cnn1dModel``, ``Cnn2dModel``, ``MlpModel``, the named DNA architectures of the model zoo
  (``BassetModel``, ``DeepSeaModel``, ``DanQModel``, ``DilatedResNetModel``, all ``ZooModel``;
  built by ``biodl.models.zoo``), ``AttentionMilModel`` (bags of tiles, ``biodl.models.attention_mil``),
  ``DenseAutoencoderModel`` / ``ConvAutoencoderModel`` / ``Conv2dAutoencoderModel``
  (``biodl.models.autoencoder``)
  (the networks, ``NetworkModel``) or ``BaselineModel``.
  Lists become tuples, nested sections dataclasses (``Training``,
  ``Schedule``, ``ConvLayer``, ``DenseLayer``, ``InitFrom``, ``DnaAugmentation``,
  ``ImageAugmentation``). ``ensemble`` and ``search`` are not part of it: they say how many
  runs a model makes (``biodl.workflow.variants``), not how one trains.
- Derived values are resolved here, once: a network started from another run (``init_from``)
  with ``fine_tune_learning_rate`` trains with that rate as ``training.learning_rate``.
- ``check_model(name, raw)`` validates raw settings against the schema first (for code called
  outside the workflow); ``check_network(name, raw)`` also refuses a baseline (``InputError``);
  ``ModelSettings.as_dict()`` gives the settings back as plain data (for
  fingerprints and logs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from biodl.config.schema import validate_model
from biodl.config.settings import build
from biodl.core.errors import InputError

ModelKind = Literal[
    "cnn1d",
    "cnn2d",
    "mlp",
    "basset",
    "deepsea",
    "danq",
    "dilated_resnet",
    "attention_mil",
    "dense_autoencoder",
    "conv_autoencoder",
    "conv2d_autoencoder",
    "baseline",
]
# The named architectures of biodl.models.zoo: DNA networks like cnn1d.
ZOO_KINDS = ("basset", "deepsea", "danq", "dilated_resnet")
NETWORK_KINDS = ("cnn1d", "cnn2d", "mlp", *ZOO_KINDS)
# Where each zoo architecture comes from, for the run descriptions.
ZOO_CITATIONS = {
    "basset": "Basset (Kelley et al. 2016)",
    "deepsea": "DeepSEA (Zhou & Troyanskaya 2015)",
    "danq": "DanQ (Quang & Xie 2016)",
    "dilated_resnet": "dilated residual network (BPNet / ChromBPNet)",
}
# Keys of models.<name> that describe the family of runs rather than one training.
FAMILY_KEYS = ("ensemble", "search")


@dataclasses.dataclass(frozen=True)
class Schedule:
    kind: Literal["constant", "step", "exponential", "cosine", "plateau"]
    factor: float
    step_epochs: int
    decay_epochs: int | None
    min_learning_rate: float
    patience: int
    min_delta: float


@dataclasses.dataclass(frozen=True)
class Training:
    optimizer: str
    learning_rate: float
    momentum: float | None
    nesterov: bool
    beta_1: float | None
    beta_2: float | None
    rho: float | None
    epsilon: float | None
    weight_decay: float | None
    clip_norm: float | None
    clip_value: float | None
    global_clip_norm: float | None
    schedule: Schedule
    warmup_epochs: int
    monitor: str
    class_weight: Literal["balanced"] | dict[str, float] | None
    batch_size: int
    epochs: int
    patience: int
    min_delta: float
    mixed_precision: bool
    distribute: bool
    device: Literal["auto", "gpu", "cpu"]
    regression_loss: Literal["mse", "huber"]
    huber_delta: float


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    filters: int
    kernel_size: int
    pool_size: int
    pool: Literal["max", "average"]
    dropout: float
    batch_norm: bool


@dataclasses.dataclass(frozen=True)
class ConvLayers:
    """The convolutions alone, for checks that need nothing else of a model."""

    conv_layers: tuple[ConvLayer, ...]


@dataclasses.dataclass(frozen=True)
class DenseLayer:
    units: int
    dropout: float
    batch_norm: bool


@dataclasses.dataclass(frozen=True)
class InitFrom:
    dataset: str
    model: str


@dataclasses.dataclass(frozen=True)
class DnaAugmentation:
    reverse_complement: bool
    shift: int
    average_strands: bool


@dataclasses.dataclass(frozen=True)
class ImageAugmentation:
    flips: bool
    rotations: bool
    shift: float
    brightness: float
    contrast: float


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """What every model has: its name (the run's model name), kind and description."""

    name: str
    kind: ModelKind
    description: str

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data (tuples as lists), without the name."""
        plain = dataclasses.asdict(self)
        del plain["name"]
        return _plain(plain)


@dataclasses.dataclass(frozen=True)
class BaselineModel(ModelSettings):
    estimator: Literal["linear", "gradient_boosting"]
    dna_features: Literal["kmers", "onehot"]
    k: int
    cv_folds: int
    max_iter: int
    learning_rate: float
    max_leaf_nodes: int


@dataclasses.dataclass(frozen=True)
class NetworkModel(ModelSettings):
    """The settings every network kind shares."""

    dense_layers: tuple[DenseLayer, ...]
    activation: str
    initializer: str
    l1: float
    l2: float
    max_norm: float | None
    init_from: InitFrom | None
    freeze_layers: int
    fine_tune_learning_rate: float | None
    training: Training


@dataclasses.dataclass(frozen=True)
class Cnn1dModel(NetworkModel):
    conv_layers: tuple[ConvLayer, ...]
    global_pool: Literal["none", "max", "average"]
    augmentation: DnaAugmentation


@dataclasses.dataclass(frozen=True)
class Cnn2dModel(NetworkModel):
    conv_layers: tuple[ConvLayer, ...]
    global_pool: Literal["none", "max", "average"]
    augmentation: ImageAugmentation


@dataclasses.dataclass(frozen=True)
class AttentionMilModel(NetworkModel):
    """Attention MIL over bags of tiles (``biodl.models.attention_mil``); ``dense_layers`` are per tile."""

    conv_layers: tuple[ConvLayer, ...]
    global_pool: Literal["max", "average"]
    attention_units: int
    max_tiles: int


@dataclasses.dataclass(frozen=True)
class AutoencoderModel(ModelSettings):
    """An autoencoder (``biodl.models.autoencoder``): trained to reconstruct its inputs, no labels."""

    activation: str
    initializer: str
    l1: float
    l2: float
    max_norm: float | None
    training: Training


@dataclasses.dataclass(frozen=True)
class DenseAutoencoderModel(AutoencoderModel):
    """Tables: ``dense_layers`` are the encoder, mirrored by the decoder."""

    dense_layers: tuple[DenseLayer, ...]


@dataclasses.dataclass(frozen=True)
class ConvAutoencoderModel(AutoencoderModel):
    """One-hot DNA: ``conv_layers`` are the encoder; a convolution of ``decoder_kernel`` decodes."""

    conv_layers: tuple[ConvLayer, ...]
    decoder_kernel: int


@dataclasses.dataclass(frozen=True)
class Conv2dAutoencoderModel(ConvAutoencoderModel):
    """Image tiles: ``conv_layers`` (a ``cnn2d``'s) are the encoder, mirrored by the decoder; a
    ``decoder_kernel`` square convolution gives the pixels."""


@dataclasses.dataclass(frozen=True)
class MlpModel(NetworkModel):
    input_dropout: float


@dataclasses.dataclass(frozen=True)
class ZooModel(NetworkModel):
    """A named DNA architecture (``biodl.models.zoo``): its own convolutions, then ``dense_layers``."""

    augmentation: DnaAugmentation


@dataclasses.dataclass(frozen=True)
class BassetModel(ZooModel):
    width: float


@dataclasses.dataclass(frozen=True)
class DeepSeaModel(ZooModel):
    width: float


@dataclasses.dataclass(frozen=True)
class DanQModel(ZooModel):
    width: float
    recurrent: Literal["lstm", "gru"]


@dataclasses.dataclass(frozen=True)
class DilatedResNetModel(ZooModel):
    filters: int
    first_kernel: int
    kernel_size: int
    layers: int
    dropout: float
    global_pool: Literal["max", "average"]


KIND_SETTINGS: dict[str, type[ModelSettings]] = {
    "cnn1d": Cnn1dModel,
    "cnn2d": Cnn2dModel,
    "mlp": MlpModel,
    "basset": BassetModel,
    "deepsea": DeepSeaModel,
    "danq": DanQModel,
    "dilated_resnet": DilatedResNetModel,
    "attention_mil": AttentionMilModel,
    "dense_autoencoder": DenseAutoencoderModel,
    "conv_autoencoder": ConvAutoencoderModel,
    "conv2d_autoencoder": Conv2dAutoencoderModel,
    "baseline": BaselineModel,
}


def model_settings(name: str, mapping: Mapping[str, Any]) -> ModelSettings:
    """The typed settings of a validated model mapping (see the module contract)."""
    settings = build(KIND_SETTINGS[mapping["kind"]], mapping, name=name)
    if isinstance(settings, NetworkModel) and settings.init_from and settings.fine_tune_learning_rate:
        training = dataclasses.replace(settings.training, learning_rate=settings.fine_tune_learning_rate)
        settings = dataclasses.replace(settings, training=training)
    return settings


def check_model(name: str, raw: Mapping[str, Any]) -> ModelSettings:
    """Validate raw settings against the schema (defaults filled), then type them."""
    return model_settings(name, validate_model(name, dict(raw)))


def check_network(name: str, raw: Mapping[str, Any]) -> NetworkModel:
    """``check_model`` for code that trains a network: a baseline's settings are refused."""
    settings = check_model(name, raw)
    if not isinstance(settings, NetworkModel):
        raise InputError("config", f"models.{name}.kind", f"expected a network, found {raw.get('kind')!r}")
    return settings


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
