"""Interpretation: one module per modality (``dna``, ``image``, ``table``) with what they share
(``inputs``), filter motifs and Tomtom (``motifs``), attributions and activation maximisation
(``attribution``), filter influence and permutation importance (``importance``), and their
figures (``figures``).
"""
