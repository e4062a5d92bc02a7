"""Simple downsampling for building mip pyramids: average pooling for images and
mode (most frequent label) pooling for segmentation.

Arrays are 4-D ``(x, y, z, channel)``; ``factor`` is (fx, fy, fz). Edges that do not
fill a whole block are handled by padding with edge values (images) or by the
labels present (segmentation), so output size is ``ceil(size / factor)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["downsample", "downsample_average", "downsample_mode"]


def _blocks(img: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """View ``img`` (padded with edge values to a multiple of ``factor``) as
    ``(X, Y, Z, C, fx*fy*fz)``."""
    fx, fy, fz = (int(f) for f in factor)
    pad = [(0, (-s) % f) for s, f in zip(img.shape[:3], (fx, fy, fz), strict=True)] + [(0, 0)]
    if any(p[1] for p in pad):
        img = np.pad(img, pad, mode="edge")
    x, y, z, c = img.shape
    # In Fortran order the first of each split pair varies fastest, so the offset
    # inside a block comes first: x = i + fx * X.
    blocks = img.reshape(fx, x // fx, fy, y // fy, fz, z // fz, c, order="F")
    blocks = blocks.transpose(1, 3, 5, 6, 0, 2, 4)
    return blocks.reshape(x // fx, y // fy, z // fz, c, fx * fy * fz)


def downsample_average(img: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Mean of each block, rounded for integer dtypes."""
    blocks = _blocks(img, factor)
    mean = blocks.mean(axis=-1, dtype=np.float64)
    if img.dtype.kind in "iub":
        mean = np.rint(mean)
    return np.asfortranarray(mean.astype(img.dtype))


def downsample_mode(img: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Most frequent label of each block (ties: the smallest label)."""
    blocks = np.sort(_blocks(img, factor), axis=-1)
    n = blocks.shape[-1]
    counts = np.zeros(blocks.shape, dtype=np.int16)
    for i in range(n):
        counts[..., i] = (blocks == blocks[..., i : i + 1]).sum(axis=-1)
    best = np.argmax(counts, axis=-1)[..., np.newaxis]
    return np.asfortranarray(np.take_along_axis(blocks, best, axis=-1)[..., 0])


def downsample(img: np.ndarray, factor: Sequence[int], layer_type: str) -> np.ndarray:
    """Average for ``image`` layers, mode for ``segmentation``."""
    if layer_type == "segmentation":
        return downsample_mode(img, factor)
    return downsample_average(img, factor)
