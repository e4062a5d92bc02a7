"""Compressed Morton codes: the uint64 keys of volume chunks in sharded scales.

A chunk at grid cell ``g = (gx, gy, gz)`` of a grid of ``G`` chunks per axis has the
key made by interleaving the bits of ``gx``, ``gy`` and ``gz``, lowest bit first,
x before y before z, skipping an axis once it has no bits left. Axis ``d`` has
``n[d] = bit_length(G[d] - 1)`` bits (0 when ``G[d] == 1``) and ``Σ n ≤ 64``.
Examples: ``G = (3, 5, 2)``, ``g = (2, 4, 1)`` → 44; ``G = (8, 8, 8)``,
``g = (5, 3, 7)`` → 375.

Encoding uses per-axis tables that deposit 8 coordinate bits at a time at their
code positions, so a code costs a handful of lookups (Python ints for single
chunks, numpy gathers for many).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

Triple = Sequence[int] | np.ndarray
"""An (x, y, z) triple: a sequence of ints or a numpy vector."""

__all__ = [
    "MortonCoder",
    "axis_bits",
    "coder_for",
    "compressed_morton_code",
    "morton_code_to_bbox",
    "morton_code_to_gridpt",
]

MAX_BITS = 64


def axis_bits(grid_size: Triple) -> tuple[int, int, int]:
    """Bits each axis contributes to a code: ``bit_length(G - 1)`` per axis."""
    x, y, z = (max(0, int(g) - 1).bit_length() for g in grid_size)
    return x, y, z


def _deposit(value: int, positions: Sequence[int]) -> int:
    """Scatter the low bits of ``value`` to ``positions`` (bit k goes to positions[k])."""
    out = 0
    for k, pos in enumerate(positions):
        out |= ((value >> k) & 1) << pos
    return out


class MortonCoder:
    """Encode and decode compressed Morton codes for one grid of chunks."""

    def __init__(self, grid_size: Triple) -> None:
        gx, gy, gz = (int(g) for g in grid_size)
        if min(gx, gy, gz) < 1:
            raise ValueError(f"grid size must be at least 1 chunk per axis, got {grid_size}")
        self.grid_size = (gx, gy, gz)
        self.bits = axis_bits(self.grid_size)
        self.total_bits = sum(self.bits)
        if self.total_bits > MAX_BITS:
            raise ValueError(
                f"a grid of {self.grid_size} chunks needs {self.total_bits} Morton bits "
                f"(x, y, z: {self.bits}); sharded scales allow at most 64. Use larger "
                f"chunks or a smaller volume."
            )
        #: positions[d][i]: the code bit that holds bit i of axis d
        self.positions: tuple[list[int], list[int], list[int]] = ([], [], [])
        j = 0
        for i in range(max(self.bits)):
            for d in range(3):
                if i < self.bits[d]:
                    self.positions[d].append(j)
                    j += 1
        # One 256-entry table per axis and coordinate byte.
        self._tables: list[list[list[int]]] = [
            [
                [_deposit(v, self.positions[d][8 * k : 8 * k + 8]) for v in range(256)]
                for k in range(-(-self.bits[d] // 8))
            ]
            for d in range(3)
        ]
        self._np_tables = [[np.asarray(t, dtype=np.uint64) for t in axis] for axis in self._tables]

    def encode(self, gx: int, gy: int, gz: int) -> int:
        """The code of one grid cell (no range check: the caller keeps it in the grid)."""
        code = 0
        for table, coord in zip(self._tables, (gx, gy, gz), strict=True):
            for byte_table in table:
                code |= byte_table[coord & 255]
                coord >>= 8
        return code

    def encode_many(self, cells: np.ndarray) -> np.ndarray:
        """Codes (uint64) of an ``(n, 3)`` integer array of grid cells."""
        cells = np.asarray(cells)
        code = np.zeros(len(cells), dtype=np.uint64)
        for d in range(3):
            coord = cells[:, d].astype(np.uint64)
            for k, byte_table in enumerate(self._np_tables[d]):
                index = ((coord >> np.uint64(8 * k)) & np.uint64(255)).astype(np.intp)
                code |= byte_table[index]
        return code

    def decode(self, code: int) -> tuple[int, int, int]:
        """The grid cell of one code."""
        out = [0, 0, 0]
        for d in range(3):
            value = 0
            for i, pos in enumerate(self.positions[d]):
                value |= ((code >> pos) & 1) << i
            out[d] = value
        return out[0], out[1], out[2]

    def decode_many(self, codes: np.ndarray) -> np.ndarray:
        """``(n, 3)`` int64 grid cells of an array of codes."""
        codes = np.asarray(codes, dtype=np.uint64)
        cells = np.zeros((len(codes), 3), dtype=np.uint64)
        one = np.uint64(1)
        for d in range(3):
            for i, pos in enumerate(self.positions[d]):
                cells[:, d] |= ((codes >> np.uint64(pos)) & one) << np.uint64(i)
        return cells.astype(np.int64)

    def in_grid(self, cells: np.ndarray) -> bool:
        """Whether every cell of an ``(n, 3)`` array lies inside the grid."""
        cells = np.asarray(cells)
        return bool(np.all(cells >= 0) and np.all(cells < np.asarray(self.grid_size)))


def _triple(values: Triple) -> tuple[int, int, int]:
    x, y, z = (int(v) for v in values)
    return x, y, z


@functools.lru_cache(maxsize=64)
def coder_for(grid_size: tuple[int, int, int]) -> MortonCoder:
    """A shared coder per grid (building the tables costs ~0.3 ms)."""
    return MortonCoder(grid_size)


def compressed_morton_code(gridpt: Any, grid_size: Triple) -> Any:
    """CloudVolume's ``compressed_morton_code``: the code of one ``(x, y, z)`` grid
    point (a ``np.uint64``), or a uint64 array for an ``(n, 3)`` array of points.

    Raises ``ValueError`` for points outside the grid or grids needing more than 64
    bits."""
    if hasattr(gridpt, "__len__") and len(gridpt) == 0:
        return np.zeros((0,), dtype=np.uint32)  # CloudVolume's (odd) empty result
    points = np.asarray(gridpt, dtype=np.int64)
    single = points.ndim == 1
    points = np.atleast_2d(points)
    coder = coder_for(_triple(grid_size))
    if not coder.in_grid(points):
        raise ValueError(
            f"grid points must lie inside the grid of {tuple(grid_size)} chunks; got {gridpt}"
        )
    codes = coder.encode_many(points)
    return codes[0] if single else codes


def morton_code_to_gridpt(code: Any, grid_size: Triple) -> np.ndarray:
    """The ``(x, y, z)`` grid point of a code (CloudVolume's inverse)."""
    coder = coder_for(_triple(grid_size))
    return np.asarray(coder.decode(int(code)), dtype=np.int64)


def morton_code_to_bbox(code: Any, volume_bbox: Any, chunk_size: Triple) -> Any:
    """The voxel box of the chunk with ``code`` in a volume spanning ``volume_bbox``
    (not clipped at the upper bound, as in CloudVolume)."""
    from cloudvol.lib import Bbox

    chunk = np.asarray(chunk_size, dtype=np.int64)
    lo = np.asarray(volume_bbox.minpt, dtype=np.int64)
    size = np.asarray(volume_bbox.size3(), dtype=np.int64)
    grid = -(-size // chunk)
    point = morton_code_to_gridpt(code, grid)
    return Bbox(lo + point * chunk, lo + (point + 1) * chunk)
