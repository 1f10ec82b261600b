"""What the Snakemake rules need from the config: the model names to fan out over (ensemble
members, search trials) and their wildcard patterns (``variants``).
"""
