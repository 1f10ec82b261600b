"""The configuration: its JSON schema and defaults (``schema``, ``config.schema.yaml``), the
configuration file read strictly (``config_file``), the checks run once before any job
(``checks``, ``applicable``), what a config asks for (``runs``) and the typed, frozen settings
each step builds from the validated values (``settings``, ``models``).
"""
