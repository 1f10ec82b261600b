"""Applying trained DNA models to data they have not seen.

Modules: ``trained`` (a run's saved model, or an ensemble's members, with the settings it predicts
with), ``sequences`` (a FASTA of sequences or BED/narrowPeak regions over a genome → scores per
task), ``variant_effects`` (a VCF over a genome → REF/ALT scores and effects per task).
"""
