"""Interpreting a table network (``mlp``): permutation importance of every feature.

Contract: ``interpret_table(dataset_dir, model_path, outputs, settings, seed)`` writes the mean
and standard deviation of the drop in the split's AUROC (R² for regression) when each feature is
permuted (``importance`` TSV, ``importance_plot``), seeded with the config's seed.
"""

from __future__ import annotations

import logging
from os import PathLike

import numpy as np
import pandas as pd

from biodl.config.settings import InterpretSettings
from biodl.core.files import write_tsv
from biodl.interpret.inputs import load, split_arrays

logger = logging.getLogger(__name__)


def interpret_table(
    dataset_dir: str | PathLike[str],
    model_path: str | PathLike[str],
    outputs: dict[str, str],
    settings: InterpretSettings,
    seed: int,
) -> pd.DataFrame:
    """Permutation importance of every feature on the split (module contract)."""
    import keras

    from biodl.interpret.figures import plot_importance
    from biodl.interpret.importance import Permutations, permutation_importance

    dataset, model = load(dataset_dir, model_path, "table")
    x, y = split_arrays(dataset, settings.split)

    def predict(features: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(model(features, training=False))

    plan = Permutations(
        dataset.task,
        tuple(dataset.targets),
        tuple(dataset.feature_names),
        settings.permutation_repeats,
        seed,
    )
    table = permutation_importance(predict, x, y, plan)
    write_tsv(table, outputs["importance"])
    plot_importance(
        table,
        outputs["importance_plot"],
        title=(
            f"{dataset.name}: permutation importance on the {settings.split} split "
            f"({settings.permutation_repeats} repeats)"
        ),
    )
    return table
