"""Skeletons of segmentation layers."""
