"""Interpretation: one module per modality (``dna``, ``image``, ``table``) with what they share
(``inputs``); for DNA, filter motifs and Tomtom (``motifs``) with matches calibrated against decoys
(``calibration``), DeepLIFT attributions (``deeplift``), TF-MoDISco patterns (``patterns``) and the
discovery step that runs them (``discovery``), in-silico motif insertion (``marginalise``) and
attribution tracks (``tracks``); gradients, in-silico mutagenesis and activation maximisation
(``attribution``), filter influence and permutation importance (``importance``), the figures
(``figures``) and the one-time compile of the motif kernels (``warm_up``).
"""
