"""Evaluation: the predictions format (``predictions``), predicting with a trained network
(``inference``), the test metrics (``metrics``, computed by ``weighted_metrics`` with intervals
from ``bootstrap``; ``metrics.tsv`` in ``metrics_file``), confusion matrices (``confusion``), the
evaluation step (``evaluate``), ensembles (``ensembles``), searches (``search``) and the summary
across runs (``summary``).
"""
