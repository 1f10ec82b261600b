"""The pieces every step shares: input errors (``errors``), safe file writes and confined
deletions (``files``), logging of a step (``log``) and the shared words (``vocabulary``).
"""
