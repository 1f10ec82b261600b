"""Evaluation: the predictions format (``predictions``), predicting with a trained network
(``inference``), metrics with bootstrap intervals (``metrics``), the evaluation step
(``evaluate``), ensembles (``ensembles``), searches (``search``) and the summary across runs
(``summary``).
"""
