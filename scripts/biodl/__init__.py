"""biodl: the library behind the workflow's steps.

Each Snakemake script in ``scripts/`` is a thin wrapper around one function of this package;
Snakemake puts ``scripts/`` on ``sys.path``, so ``import biodl`` works in every step's
environment without installing anything (``pip install -e .`` makes it importable elsewhere).
Subpackages, one concern each (each ``__init__`` says what its modules do):

- ``core``: input errors, safe file writes, logging, shared words;
- ``config``: the config's schema and checks, typed settings for every step;
- ``data``: preparing datasets of each modality (``dna``, ``image``, ``table``) and reading them;
- ``models``: the networks, their losses, metrics and optimisers;
- ``training``: the training loop, checkpoints, batches, baselines, the sanity check;
- ``evaluation``: predictions, metrics, ensembles, searches, the summary;
- ``interpret``: what a trained network learned, per modality;
- ``report``: figures and HTML tables of the report;
- ``workflow``: the run names and wildcard patterns the Snakemake rules fan out over.
"""
