"""Ensembles and hyper-parameter searches: the config's models expanded into every run (no TensorFlow).

Imported by ``workflow/rules/common.smk`` when the DAG is built, so it imports no TensorFlow.

Contract:
- A network model may carry ``ensemble: {members: K, by: seed | fold}`` or
  ``search: {trials: N, space: {key: distribution}}`` (not both). ``expand_variants(config)``
  (on a validated config, defaults filled) returns ``{name: Variant}`` for every model name the
  workflow knows, in config order:
  - a plain model: itself (role ``model``), trained with the config seed;
  - an ensemble ``m``: members ``m.seed1`` .. ``m.seedK`` (``by: seed``; member ``i`` trains with
    seed ``config seed + i - 1``, so member 1 is the plain model) or ``m.fold1`` .. ``m.foldK``
    (``by: fold``; every member trains with the config seed, member ``i`` validates on fold
    ``i`` of the training split, see ``biodl.data.dataset.open_dataset``), then ``m`` itself (role
    ``ensemble``), evaluated from its members' averaged predictions;
  - a search ``m``: trials ``m.trial01`` .. ``m.trialN`` (role ``trial``, config seed, settings
    drawn by ``sample_trials``), then ``m`` itself (role ``search``): the trial with the best
    validation score, evaluated on test.
  A variant's ``settings`` are the model's settings without ``ensemble`` / ``search`` (for a
  trial, with the sampled values set), checked against the model schema; a bad draw raises
  ``InputError`` naming ``models.<model>.search.space.<key>``. A configured model named like the
  members or trials of another (``m.seed7`` beside an ensemble ``m`` by seed, whatever the
  number) raises ``InputError`` naming ``models.<m>``.
- ``names_pattern(variants, names)``: a regex (for Snakemake's wildcard constraints) that fully
  matches every name in ``names`` and no other name of ``variants``. Where all the members or
  trials of a model are chosen they are matched by their form (``(?:m|n)\\.seed\\d+``), so the
  pattern grows with the configured models, not with seeds or trials: Snakemake copies each
  constraint into the rule's output patterns and rescans them for every job. No names: a
  pattern that matches nothing.
- ``sample_trials(model, space, trials, seed)``: the sampled values, one ``{key: value}`` per
  trial. Keys are dotted paths into the model's settings (``training.learning_rate``,
  ``dense_layers.0.units``); distributions ``log_uniform: [lo, hi]``, ``uniform: [lo, hi]``
  (floats, rounded to 4 significant digits), ``int_uniform: [lo, hi]`` (both ends included),
  ``choice: [a, b, ...]``. The draws come from one numpy Generator seeded with the config seed
  and the model name's bytes (not ``hash()``, which changes between Python processes), trial
  after trial and key after key in the order given: the same config gives the same trials in
  every process, and more trials keep the earlier ones.
- ``describe_variant(variant)``: one line in words of what a name trains with (architecture,
  optimiser and schedule, batch, epochs, early stopping, augmentation, seed, fold; baselines:
  the estimator), for the report's captions.
- ``evaluated_runs(config, variants)``: every (dataset, name) evaluated on test, in config
  order: plain models; an ensemble's members, then the ensemble; a search's chosen trial under
  the search's name (its trials are scored on validation only). Autoencoder runs are not
  evaluated: ``pretrained_runs(config)`` lists them (those of ``runs`` and those an
  ``init_from`` names), each once.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biodl.config.models import (
    ZOO_CITATIONS,
    AutoencoderModel,
    BaselineModel,
    BassetModel,
    Cnn1dModel,
    Cnn2dModel,
    ConvAutoencoderModel,
    DanQModel,
    DeepSeaModel,
    DenseAutoencoderModel,
    DilatedResNetModel,
    NetworkModel,
    Training,
    ZooModel,
    model_settings,
)
from biodl.config.runs import AUTOENCODER_KINDS, runs
from biodl.config.schema import validate_model
from biodl.core.errors import InputError, require

ROLES = ("model", "member", "ensemble", "trial", "search")
TRAINED_ROLES = ("model", "member", "trial")
DISTRIBUTIONS = ("log_uniform", "uniform", "int_uniform", "choice")
SIGNIFICANT_DIGITS = 4


@dataclass(frozen=True)
class Variant:
    """One model name the workflow knows: how it is made and what it trains with."""

    name: str
    model: str  # the configured model it comes from
    kind: str
    role: str
    settings: dict[str, Any] = field(compare=False)
    seed: int
    fold: tuple[int, int] | None = None  # (member index, number of folds), 1-based
    sampled: dict[str, Any] = field(default_factory=dict, compare=False)
    members: tuple[str, ...] = ()  # the members or trials of an ensemble or search

    @property
    def trained(self) -> bool:
        """Whether a training job makes this variant (ensembles and searches reuse their members)."""
        return self.role in TRAINED_ROLES

    @property
    def is_network(self) -> bool:
        """Whether a trained Keras model (with a training history) stands behind this name."""
        return self.trained and self.kind != "baseline"


def expand_variants(config: dict[str, Any]) -> dict[str, Variant]:
    """Every model name of the workflow (see the module contract)."""
    seed = config["seed"]
    variants: dict[str, Variant] = {}
    for model, spec in config["models"].items():
        where = f"models.{model}"
        require(
            not ("ensemble" in spec and "search" in spec),
            "config",
            where,
            "give ensemble or search, not both",
        )
        settings = {k: v for k, v in spec.items() if k not in ("ensemble", "search")}
        if "ensemble" in spec:
            made = _ensemble(model, settings, spec["ensemble"], seed)
        elif "search" in spec:
            made = _search(model, settings, spec["search"], seed)
        else:
            made = [Variant(model, model, spec["kind"], "model", settings, seed)]
        variants.update((variant.name, variant) for variant in made)
    _check_family_names(config, variants)
    return variants


# A member's or trial's name: its model's name, a dot, its family's word and a number (m.seed2, m.trial03).
FAMILY_NAME = re.compile(r"(?P<model>.+)\.(?P<word>seed|fold|trial)\d+")


def _family_word(parent: Variant) -> str:
    """``seed``, ``fold`` or ``trial``: the word in the names of an ensemble's members or a
    search's trials."""
    form = FAMILY_NAME.fullmatch(parent.members[0])
    assert form is not None, "members and trials are named in FAMILY_NAME's form by this module"
    return form["word"]


def _check_family_names(config: dict[str, Any], variants: dict[str, Variant]) -> None:
    """No configured model is named like the members or trials of another (``names_pattern``
    matches those by their form: the word and any number)."""
    for name in config["models"]:
        form = FAMILY_NAME.fullmatch(name)
        if form is None:
            continue
        parent = variants.get(form["model"])
        if parent is None or not parent.members or _family_word(parent) != form["word"]:
            continue
        role = "trial" if parent.role == "search" else "member"
        problem = (
            f"its {role} {name!r} has the name of another model"
            if name in parent.members
            else f"another model is named {name!r}, "
            f"the form of its {role}s' names ({parent.name}.{form['word']}<number>)"
        )
        raise InputError("config", f"models.{parent.name}", f"{problem}; rename one")


def names_pattern(variants: dict[str, Variant], names: Iterable[str]) -> str:
    """Regex matching ``names`` and no other name of ``variants`` (see the module contract)."""
    chosen = set(names)
    literals: list[str] = []
    families: dict[str, dict[str, None]] = {}  # word -> models whose whole family is chosen, in order
    for name, variant in variants.items():
        if name not in chosen:
            continue
        parent = variants[variant.model]
        if variant.role in ("member", "trial") and chosen.issuperset(parent.members):
            families.setdefault(_family_word(parent), {})[parent.name] = None
        else:
            literals.append(re.escape(name))
    for word, models in families.items():
        literals.append(f"(?:{'|'.join(map(re.escape, models))})\\.{word}\\d+")
    return "|".join(literals) or "(?!)"


def _ensemble(model: str, settings: dict[str, Any], ensemble: dict[str, Any], seed: int) -> list[Variant]:
    k, by = ensemble["members"], ensemble["by"]
    kind = settings["kind"]
    if by == "seed":
        members = [
            Variant(f"{model}.seed{i}", model, kind, "member", settings, seed + i - 1)
            for i in range(1, k + 1)
        ]
    else:
        members = [
            Variant(f"{model}.fold{i}", model, kind, "member", settings, seed, fold=(i, k))
            for i in range(1, k + 1)
        ]
    parent = Variant(model, model, kind, "ensemble", settings, seed, members=tuple(m.name for m in members))
    return [*members, parent]


def _search(model: str, settings: dict[str, Any], search: dict[str, Any], seed: int) -> list[Variant]:
    space, n = search["space"], search["trials"]
    width = max(2, len(str(n)))
    trials = []
    for t, values in enumerate(sample_trials(model, space, n, seed), start=1):
        name = f"{model}.trial{t:0{width}d}"
        trials.append(
            Variant(
                name,
                model,
                settings["kind"],
                "trial",
                _trial_settings(model, name, settings, values),
                seed,
                sampled=values,
            )
        )
    parent = Variant(
        model, model, settings["kind"], "search", settings, seed, members=tuple(t.name for t in trials)
    )
    return [*trials, parent]


def _trial_settings(
    model: str, trial: str, settings: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """The model's settings with the sampled values set, checked against the model schema."""
    result = copy.deepcopy(settings)
    for key, value in values.items():
        set_key(result, key, value, f"models.{model}.search.space.{key}")
    try:
        return validate_model(trial, result)
    except InputError as error:
        raise InputError(
            "config",
            f"models.{model}.search.space",
            f"trial {trial} draws {values}, which the model schema refuses: {error.where}: {error.problem}",
        ) from None


def set_key(settings: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Set a dotted ``key`` (list items by number) in ``settings``; the parents must exist."""
    *parents, last = key.split(".")
    node: Any = settings
    for i, part in enumerate([*parents, last]):
        is_last = i == len(parents)
        if isinstance(node, list):
            require(
                part.isdigit() and int(part) < len(node),
                "config",
                where,
                f"{'.'.join([*parents, last][:i]) or 'settings'} is a list of {len(node)} item(s); "
                f"expected an index 0..{len(node) - 1}, found {part!r}",
            )
            index: Any = int(part)
        else:
            require(
                isinstance(node, dict), "config", where, f"cannot set {part!r} inside a {type(node).__name__}"
            )
            require(
                is_last or part in node,
                "config",
                where,
                f"the model has no {'.'.join([*parents, last][: i + 1])!r} to set a value in",
            )
            index = part
        if is_last:
            node[index] = value
        else:
            node = node[index]


def sample_trials(
    model: str, space: dict[str, dict[str, list[Any]]], trials: int, seed: int
) -> list[dict[str, Any]]:
    """The sampled values of every trial (see the module contract)."""
    for key, distribution in space.items():
        _check_distribution(model, key, distribution)
    rng = np.random.default_rng([seed, *model.encode()])
    return [{key: _draw(rng, distribution) for key, distribution in space.items()} for _ in range(trials)]


def _check_distribution(model: str, key: str, distribution: dict[str, list[Any]]) -> None:
    where = f"models.{model}.search.space.{key}"
    require(
        len(distribution) == 1 and next(iter(distribution)) in DISTRIBUTIONS,
        "config",
        where,
        f"expected one of {', '.join(DISTRIBUTIONS)}, found {', '.join(distribution) or 'nothing'}",
    )
    ((name, values),) = distribution.items()
    if name == "choice":
        require(
            isinstance(values, list) and len(values) >= 1,
            "config",
            f"{where}.choice",
            f"expected a list of values, found {values!r}",
        )
        return
    numbers = (
        isinstance(values, list)
        and len(values) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    )
    require(
        numbers and values[0] < values[1],
        "config",
        f"{where}.{name}",
        f"expected [low, high] with low < high, found {values!r}",
    )
    if name == "log_uniform":
        require(
            values[0] > 0,
            "config",
            f"{where}.{name}",
            f"a log-uniform range must be above 0, found {values!r}",
        )
    if name == "int_uniform":
        require(
            all(float(v).is_integer() for v in values),
            "config",
            f"{where}.{name}",
            f"expected whole numbers, found {values!r}",
        )


def _draw(rng: np.random.Generator, distribution: dict[str, list[Any]]) -> Any:
    ((name, values),) = distribution.items()
    if name == "choice":
        return copy.deepcopy(values[int(rng.integers(len(values)))])
    low, high = values
    if name == "int_uniform":
        return int(rng.integers(int(low), int(high) + 1))
    if name == "log_uniform":
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    # Rounded so the table of trials is readable; clipped so rounding never leaves the range.
    return min(max(float(f"{value:.{SIGNIFICANT_DIGITS}g}"), low), high)


def evaluated_runs(config: dict[str, Any], variants: dict[str, Variant]) -> list[tuple[str, str]]:
    """Every (dataset, name) evaluated on test (see the module contract)."""
    result: list[tuple[str, str]] = []
    for dataset, model in runs(config):
        variant = variants[model]
        if variant.kind in AUTOENCODER_KINDS:
            continue  # pre-training: no labels, no test metrics (see pretrained_runs)
        if variant.role == "ensemble":
            result.extend((dataset, member) for member in variant.members)
        result.append((dataset, model))
    return result


def pretrained_runs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (dataset, autoencoder) trained by rule pretrain, once each, in config order: the
    autoencoder runs of ``runs`` and the autoencoders that ``init_from`` names."""
    kind = {name: spec["kind"] for name, spec in config["models"].items()}
    named = [
        (spec["init_from"]["dataset"], spec["init_from"]["model"])
        for spec in config["models"].values()
        if spec.get("init_from")
    ]
    return list(dict.fromkeys(run for run in [*runs(config), *named] if kind[run[1]] in AUTOENCODER_KINDS))


def describe_variant(variant: Variant) -> str:
    """What ``variant`` trains with, in words (see the module contract)."""
    if variant.role == "ensemble":
        return (
            f"ensemble averaging the predictions of {len(variant.members)} members "
            f"({', '.join(variant.members)})"
        )
    if variant.role == "search":
        return (
            f"the trial of {len(variant.members)} with the best validation score "
            f"({variant.members[0]} .. {variant.members[-1]})"
        )
    settings = model_settings(variant.name, variant.settings)
    if isinstance(settings, BaselineModel):
        parts = [f"scikit-learn {settings.estimator.replace('_', ' ')} baseline"]
    elif isinstance(settings, AutoencoderModel):
        parts = [f"{variant.kind}: {_autoencoder_architecture(settings)}", _training(settings.training)]
    else:
        assert isinstance(settings, NetworkModel)
        parts = [f"{variant.kind}: {_architecture(settings)}", _training(settings.training)]
        augmentation = _augmentation(settings)
        if augmentation:
            parts.append("augmentation: " + ", ".join(augmentation))
    parts.append(f"seed {variant.seed}")
    if variant.fold:
        parts.append(f"validating on fold {variant.fold[0]} of {variant.fold[1]} of the training split")
    if variant.sampled:
        parts.append("sampled " + ", ".join(f"{key} = {value}" for key, value in variant.sampled.items()))
    return "; ".join(parts)


def _architecture(settings: NetworkModel) -> str:
    layers = []
    if isinstance(settings, ZooModel):
        layers = [_zoo_architecture(settings)]
    if isinstance(settings, Cnn1dModel | Cnn2dModel):
        layers = [f"{layer.filters} filters of {layer.kernel_size}" for layer in settings.conv_layers]
        layers.append(
            f"global {settings.global_pool} pooling" if settings.global_pool != "none" else "flatten"
        )
    dense = [str(layer.units) for layer in settings.dense_layers]
    layers.append(f"dense {'-'.join(dense)}" if dense else "no hidden dense layer")
    return ", ".join(layers)


def _autoencoder_architecture(settings: AutoencoderModel) -> str:
    """An autoencoder's encoder in words (the decoder mirrors it)."""
    if isinstance(settings, ConvAutoencoderModel):
        layers = [f"{layer.filters} filters of {layer.kernel_size}" for layer in settings.conv_layers]
        return f"encoder {', '.join(layers)}; decoder kernel {settings.decoder_kernel}"
    assert isinstance(settings, DenseAutoencoderModel), "every autoencoder kind is described"
    return f"encoder dense {'-'.join(str(layer.units) for layer in settings.dense_layers)}, mirrored"


def _zoo_architecture(settings: ZooModel) -> str:
    """A zoo architecture in words: its source and how it departs from the published shape."""
    source = ZOO_CITATIONS[settings.kind]
    if isinstance(settings, DilatedResNetModel):
        return (
            f"{source}: {settings.filters} filters, first kernel {settings.first_kernel}, "
            f"{settings.layers} residual blocks of kernel {settings.kernel_size}, "
            f"global {settings.global_pool} pooling"
        )
    assert isinstance(settings, BassetModel | DeepSeaModel | DanQModel), "every zoo kind is described"
    text = source + ("" if settings.width == 1 else f", {settings.width} x the published filters")
    if isinstance(settings, DanQModel):
        text += f", bidirectional {settings.recurrent.upper()}"
    return text


def _training(training: Training) -> str:
    schedule = training.schedule.kind
    rate = f"learning rate {training.learning_rate}" + (
        "" if schedule == "constant" else f" ({schedule} schedule)"
    )
    return (
        f"{training.optimizer}, {rate}, batch {training.batch_size}, at most {training.epochs} epochs, "
        f"early stopping on {training.monitor} (patience {training.patience})"
    )


def _augmentation(settings: NetworkModel) -> list[str]:
    """The training-time augmentations that are switched on, in words."""
    if isinstance(settings, Cnn1dModel | ZooModel):
        dna = settings.augmentation
        found = [
            text
            for on, text in (
                (dna.reverse_complement, "reverse complement"),
                (dna.average_strands, "both strands averaged at prediction"),
            )
            if on
        ]
        return found + ([f"shifts of up to {dna.shift} bases"] if dna.shift else [])
    if isinstance(settings, Cnn2dModel):
        image = settings.augmentation
        found = [key for key in ("flips", "rotations") if getattr(image, key)]
        return found + [
            f"{key} {getattr(image, key)}"
            for key in ("shift", "brightness", "contrast")
            if getattr(image, key)
        ]
    return []
