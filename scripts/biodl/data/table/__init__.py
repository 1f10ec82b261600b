"""Tables: the preparation step (``prepare``), with the preprocessing fitted on the training split."""
