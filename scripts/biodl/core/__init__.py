"""The pieces every step shares: input errors (``errors``), reading a user's text files
(``text_input``), safe file writes and confined deletions (``files``), one training per run
(``run_lock``), logging of a step (``log``) and the shared words (``vocabulary``).
"""
