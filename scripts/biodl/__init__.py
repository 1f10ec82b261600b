"""biodl: the library behind the workflow's steps.

Each Snakemake script in ``scripts/`` is a thin wrapper around one function of this package;
Snakemake puts ``scripts/`` on ``sys.path``, so ``import biodl`` works in every step's
environment without installing anything. Modules, one concern each:

- ``validate``: the one input validator (``InputError`` names file, record and expectation);
- ``io``: FASTA / BED / table readers, atomic writes;
- ``encode``: vectorised one-hot encoding of DNA;
- ``intervals``: fixed-length windows around summits or centres;
- ``negatives``: dinucleotide shuffles and GC-matched background windows;
- ``splits``: chromosome hold-outs and stratified random splits;
- ``shards``: writing a prepared dataset of any modality (shards, metadata, description);
- ``prepare``: the DNA preparation step (shards + metadata);
- ``tables`` / ``prepare_table``: reading user tables and labels; the table preparation step
  (preprocessing fitted on the training split);
- ``samplesheet`` / ``slides`` / ``tile`` / ``preview`` / ``prepare_image``: the image
  preparation step: sample sheets, region reading of slides, 2-D images and volume slices,
  tile grids with tissue detection and mask labels, the tiling preview;
- ``dataset`` / ``batches``: reading a prepared dataset back (and cross-validation fold views,
  without TensorFlow); streaming it to Keras in batches;
- ``models`` / ``objectives`` / ``train``: the networks, their losses and metrics per task, their
  training;
- ``optimization`` / ``checkpoint``: optimisers, learning-rate schedules, clipping, class
  weights, the gradient norm; per-epoch checkpoints for resuming killed training jobs;
- ``baselines``: scikit-learn baselines on the same splits;
- ``predictions`` / ``predict``: the predictions format shared by every model; predicting with
  a network;
- ``metrics`` / ``evaluate`` / ``plots`` / ``summary``: metrics with bootstrap intervals, the
  evaluation step, figures, the summary across runs;
- ``variants`` / ``ensembles`` / ``search``: ensemble members and search trials expanded from the
  config; averaging members; choosing the trial on validation;
- ``sanity``: the optional "can it fit a tiny subset" check;
- ``motifs`` / ``attribution`` / ``importance`` / ``interpret`` / ``interpret_plots``: filter
  motifs matched to JASPAR, attributions and activation maximisation, filter influence and
  permutation importance, the interpretation step and its figures;
- ``report_tables``: the leaderboard and other HTML tables of the report;
- ``config``: JSON-schema validation of the workflow configuration.
"""
