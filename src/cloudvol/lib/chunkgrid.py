"""Snapping coordinates to a chunk grid.

The grid has cells of ``chunk_size`` (x, y, z, voxels) and grid lines through
``offset`` (the volume's ``voxel_offset``). Integer inputs are snapped with exact
integer arithmetic; anything else in float64.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["align"]

Mode = Literal["floor", "ceil", "round"]


def _is_whole(array: np.ndarray) -> bool:
    if np.issubdtype(array.dtype, np.integer):
        return True
    return bool(np.issubdtype(array.dtype, np.floating) and np.all(np.floor(array) == array))


def _align_int(rel: np.ndarray, chunk: np.ndarray, mode: Mode) -> np.ndarray:
    quotient, remainder = np.divmod(rel, chunk)
    if mode == "ceil":
        quotient = quotient + (remainder != 0)
    elif mode == "round":
        # numpy.round semantics: halves go to the even cell.
        twice = 2 * remainder
        quotient = quotient + ((twice > chunk) | ((twice == chunk) & (quotient % 2 == 1)))
    return quotient * chunk


def _align_float(rel: np.ndarray, chunk: np.ndarray, mode: Mode) -> np.ndarray:
    cells = rel / chunk
    if mode == "floor":
        cells = np.floor(cells)
    elif mode == "ceil":
        cells = np.ceil(cells)
    else:
        cells = np.round(cells)
    return cells * chunk


def align(
    values: npt.ArrayLike,
    chunk_size: npt.ArrayLike,
    offset: npt.ArrayLike,
    mode: Mode,
) -> np.ndarray[Any, Any]:
    """Each coordinate of ``values`` moved to a grid line: down, up or to the nearest.

    Returns int64 when ``values``, ``chunk_size`` and ``offset`` are all whole numbers
    and ``values`` is integer typed, else float64. Chunk sizes must be positive.
    """
    points = np.asarray(values)
    chunk = np.asarray(chunk_size)
    origin = np.asarray(offset)
    if np.any(chunk <= 0):
        raise ValueError(f"Chunk sizes must be positive, got {chunk_size!r}.")
    if np.issubdtype(points.dtype, np.integer) and _is_whole(chunk) and _is_whole(origin):
        chunk = chunk.astype(np.int64)
        origin = origin.astype(np.int64)
        rel = points.astype(np.int64) - origin
        return _align_int(rel, chunk, mode) + origin
    origin = origin.astype(np.float64)
    rel = points.astype(np.float64) - origin
    return _align_float(rel, chunk.astype(np.float64), mode) + origin
