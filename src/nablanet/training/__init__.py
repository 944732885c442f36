"""Plugins of the training loop: callbacks, the per-layer monitor, checkpoints."""
