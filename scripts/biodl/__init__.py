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
- ``prepare``: the DNA preparation step (shards + metadata);
- ``dataset``: reading a prepared dataset back;
- ``models`` / ``train`` / ``evaluate`` / ``plots``: the network, its training, its metrics
  and figures;
- ``config``: JSON-schema validation of the workflow configuration.
"""
