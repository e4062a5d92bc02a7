"""Meshes of segmentation layers: legacy and multi-resolution sources."""
