"""Training: the loop (``loop``) and what runs around each epoch (``callbacks``), resumable
checkpoints (``checkpoint``), batches streamed from shards (``batches``), devices, seeds and
precision (``device``), starting from another run (``transfer``), scikit-learn baselines
(``baselines``) and the tiny-subset sanity check (``sanity``).
"""
