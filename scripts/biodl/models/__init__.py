"""The networks: architectures built from a model's settings (``networks``), training-time
augmentation layers (``augmentation``), losses and metrics per task (``objectives``),
optimisers, schedules and class weights (``optimization``).
"""
