"""Images: sample sheets (``sample_sheet``), reading slides, 2-D images and volume slices by
region (``sources``), tile grids, tissue detection and mask labels (``tiling``), the tiling
preview (``preview``) and the preparation step (``prepare``).
"""
