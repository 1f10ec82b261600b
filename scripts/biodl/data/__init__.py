"""Data in and out of the prepared-dataset format: one subpackage per modality (``dna``,
``image``, ``table``) that prepares a dataset from the user's files; the format itself
(``format``), its writer (``shards``) and reader (``dataset``); splits (``splits``) and user
tables with their label columns (``tabular``).
"""
