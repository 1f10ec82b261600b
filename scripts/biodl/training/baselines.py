"""Baselines: scikit-learn models trained on the same prepared splits as the networks.

Contract (``train_baseline``): for a ``baseline`` model's typed settings (``biodl.config.models``) and a
prepared table or DNA dataset,
- features: tables as prepared (already imputed and scaled on the training split); DNA as
  k-mer counts over both strands per base (``dna_features: kmers``, length ``k``) or the
  flattened one-hot (``onehot``); the linear models standardise them with training-split
  statistics (boosting needs no scaling);
- ``estimator: linear``: L2-penalised logistic regression (binary, multiclass) whose penalty is
  chosen by ``cv_folds``-fold cross-validation on the training split (log loss), or ridge
  regression with cross-validated alpha (regression); ``gradient_boosting``: histogram gradient
  boosting with early stopping on the validation split. Multilabel tasks fit one model per
  target on the rows whose label is present. Every random choice is seeded with ``seed``;
- writes ``model_path`` (the fitted models, skops format: loadable without pickle's arbitrary
  code), ``parameters_path`` (their parameter count,
  ``biodl.models.parameter_count.baseline_count``: a linear model's coefficients, none for
  gradient boosting) and ``predictions_path`` (validation then test rows, the
  ``biodl.evaluation.predictions`` format; positive-class probabilities, class probabilities, or
  predicted values).
"""

from __future__ import annotations

import logging
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import skops.io
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from biodl.config.models import BaselineModel
from biodl.core.errors import require
from biodl.core.files import atomic_path, write_tsv
from biodl.data.dataset import (
    PreparedDataset,
    input_shards,
    load_labels,
    load_metadata,
    open_dataset,
    to_inputs,
)
from biodl.evaluation.predictions import PREDICTED_SPLITS, Scores, predictions_frame
from biodl.models.parameter_count import baseline_count, write_parameters

logger = logging.getLogger(__name__)

RIDGE_ALPHAS = np.logspace(-3, 3, 13)
LOGISTIC_CS = 10


def train_baseline(
    dataset_dir: str | PathLike[str],
    settings: BaselineModel,
    seed: int,
    model_path: str | PathLike[str],
    predictions_path: str | PathLike[str],
    parameters_path: str | PathLike[str],
) -> pd.DataFrame:
    """Fit on the train split, predict validation and test; see the module contract."""
    dataset = open_dataset(dataset_dir)
    model_name = settings.name
    source = f"model {model_name}"
    require(
        isinstance(settings, BaselineModel), source, "kind", f"expected baseline, found {settings.kind!r}"
    )
    require(
        dataset.modality in ("table", "dna"),
        source,
        "kind",
        f"baselines take table or DNA datasets; {dataset.name} is {dataset.modality}",
    )
    x = {split: features(dataset, split, settings) for split in ("train", *PREDICTED_SPLITS)}
    y = {split: load_labels(dataset, split) for split in ("train", *PREDICTED_SPLITS)}
    logger.info(
        "fitting %s (%s) on %d train examples of %s, %d features",
        model_name,
        settings.estimator,
        len(x["train"]),
        dataset.name,
        x["train"].shape[1],
    )
    models = [
        _fit(settings, dataset.task, (x["train"], y_train), (x["validation"], y_val), seed)
        for y_train, y_val in _per_target(settings, dataset.task, y["train"], y["validation"])
    ]
    frames = []
    for split in PREDICTED_SPLITS:
        scores = Scores(dataset.task, dataset.targets, y[split], _predict(models, dataset, x[split]))
        frames.append(predictions_frame(load_metadata(dataset, split), scores))
    with atomic_path(model_path) as tmp:
        skops.io.dump(models, tmp)
    count = baseline_count(models)
    logger.info("%s: %s", model_name, count.counted if count.total is None else f"{count.total:,} parameters")
    write_parameters(count, parameters_path)
    predictions = pd.concat(frames, ignore_index=True)
    write_tsv(predictions, predictions_path)
    return predictions


def features(dataset: PreparedDataset, split: str, settings: BaselineModel) -> np.ndarray:
    """The estimator's input matrix of one split (see the module contract)."""
    stored = input_shards(dataset, split)
    if not stored:
        return np.zeros((0, _width(dataset, settings)), dtype=np.float32)
    if dataset.modality == "table":
        return np.concatenate(stored).astype(np.float32)
    if settings.dna_features == "onehot":
        return np.concatenate([to_inputs(x, dataset.ambiguous).reshape(len(x), -1) for x in stored])
    return np.concatenate([kmer_counts(x, settings.k) for x in stored])


def _width(dataset: PreparedDataset, settings: BaselineModel) -> int:
    if dataset.modality == "table":
        return dataset.input_shape[0]
    return dataset.input_shape[0] * 4 if settings.dna_features == "onehot" else 4**settings.k


def kmer_counts(onehot: np.ndarray, k: int) -> np.ndarray:
    """k-mer counts of both strands per base, ``(n, 4**k)``; windows with an ambiguous base are skipped."""
    n, length, _ = onehot.shape
    out = np.zeros((n, 4**k), dtype=np.float32)
    if length < k:
        return out
    for strand in (onehot, onehot[:, ::-1, ::-1]):  # reversed A C G T is the complement T G C A
        called = strand.sum(axis=2) == 1
        codes = strand.argmax(axis=2)
        index = np.zeros((n, length - k + 1), dtype=np.int64)
        valid = np.ones((n, length - k + 1), dtype=bool)
        for offset in range(k):
            index = index * 4 + codes[:, offset : length - k + 1 + offset]
            valid &= called[:, offset : length - k + 1 + offset]
        rows = np.broadcast_to(np.arange(n)[:, None], index.shape)
        np.add.at(out, (rows[valid], index[valid]), 1.0)
    return out / length


def _per_target(
    settings: BaselineModel, task: str, y_train: np.ndarray, y_val: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The labels each model is fitted to: one model per target where the estimator takes one target."""
    if task == "multilabel" or (task == "regression" and settings.estimator == "gradient_boosting"):
        return [(y_train[:, j : j + 1], y_val[:, j : j + 1]) for j in range(y_train.shape[1])]
    return [(y_train, y_val)]


def _fit(
    settings: BaselineModel,
    task: str,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    seed: int,
) -> BaseEstimator:
    """One estimator fitted on ``train`` (inputs, labels); gradient boosting stops early on ``validation``."""
    (x, y), (x_val, y_val) = train, validation
    present, present_val = (
        ~np.isnan(y).reshape(len(y), -1).any(axis=1),
        ~np.isnan(y_val).reshape(len(y_val), -1).any(axis=1),
    )
    x, y, x_val, y_val = x[present], y[present], x_val[present_val], y_val[present_val]
    regression = task == "regression"
    target = y if regression else (y.argmax(axis=1) if task == "multiclass" else y.reshape(-1).astype(int))
    target_val = (
        y_val
        if regression
        else (y_val.argmax(axis=1) if task == "multiclass" else y_val.reshape(-1).astype(int))
    )
    if settings.estimator == "linear":
        folds = settings.cv_folds
        if regression:
            model = make_pipeline(
                StandardScaler(),
                RidgeCV(alphas=RIDGE_ALPHAS, cv=KFold(folds, shuffle=True, random_state=seed)),
            )
        else:
            model = make_pipeline(
                StandardScaler(),
                LogisticRegressionCV(
                    Cs=LOGISTIC_CS,
                    cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                    scoring="neg_log_loss",
                    max_iter=settings.max_iter,
                    random_state=seed,
                    use_legacy_attributes=False,
                ),
            )
        return model.fit(x, target)
    boosting = dict(
        learning_rate=settings.learning_rate,
        max_iter=settings.max_iter,
        max_leaf_nodes=settings.max_leaf_nodes,
        early_stopping=True,
        random_state=seed,
    )
    if regression:
        return HistGradientBoostingRegressor(**boosting).fit(
            x, target[:, 0], X_val=x_val, y_val=target_val[:, 0]
        )
    return HistGradientBoostingClassifier(**boosting).fit(x, target, X_val=x_val, y_val=target_val)


def _predict(models: list[Any], dataset: PreparedDataset, x: np.ndarray) -> np.ndarray:
    if dataset.task == "regression":
        return np.column_stack(
            [np.asarray(model.predict(x), dtype=np.float64).reshape(len(x), -1) for model in models]
        )
    if dataset.task == "multilabel":
        return np.column_stack([_class_probabilities(model, x, 2)[:, 1] for model in models])
    probabilities = _class_probabilities(models[0], x, len(dataset.classes))
    return probabilities[:, 1:] if dataset.task == "binary" else probabilities


def _class_probabilities(model: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities for every class index, zero for a class the model never saw in training."""
    out = np.zeros((len(x), n_classes))
    out[:, model.classes_.astype(int)] = model.predict_proba(x)
    return out
