"""Chunk grid arithmetic and chunk names for unsharded scales.

A scale of ``size S``, ``voxel_offset O`` and chunk ``C`` has ``ceil(S/C)`` cells per
axis; cell ``g`` covers ``[O + g·C, O + min((g+1)·C, S))``: edge cells are clipped,
never padded. A cell is stored as ``{key}/{x0}-{x1}_{y0}-{y1}_{z0}-{z1}``.
All coordinates are voxels at the scale, (x, y, z), as int64 numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloudvol.precomputed.info import ScaleGeometry

__all__ = ["ChunkGrid", "ChunkPlan", "PlanWindow", "chunk_name"]

SMALL_PLAN = 64
"""Plans of at most this many chunks are built with Python ints, not numpy."""


def chunk_name(start: np.ndarray | tuple, stop: np.ndarray | tuple) -> str:
    """``x0-x1_y0-y1_z0-z1`` for a chunk spanning ``[start, stop)``."""
    return f"{start[0]}-{stop[0]}_{start[1]}-{stop[1]}_{start[2]}-{stop[2]}"


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """The chunks a request touches: ``starts``/``stops`` are ``(n, 3)`` int64 arrays
    of each chunk's clipped extent; ``keys[i]`` is its object key (relative to the
    layer root)."""

    starts: np.ndarray
    stops: np.ndarray
    keys: list[str]

    def __len__(self) -> int:
        return len(self.keys)


Slices3 = tuple[slice, slice, slice]


class PlanWindow:
    """The chunks of a plan seen from a request box ``[start, stop)``: where each
    chunk overlaps the box, in the box's array and in the chunk's own array."""

    def __init__(self, plan: ChunkPlan, start: np.ndarray, stop: np.ndarray) -> None:
        # Python ints: per-chunk arithmetic on numpy scalars is several times slower.
        self.starts = plan.starts.tolist()
        self.stops = plan.stops.tolist()
        self.req_start = np.asarray(start).tolist()
        self.req_stop = np.asarray(stop).tolist()

    def chunk_shape(self, i: int) -> tuple[int, int, int]:
        cs, ce = self.starts[i], self.stops[i]
        return ce[0] - cs[0], ce[1] - cs[1], ce[2] - cs[2]

    def is_partial(self, i: int) -> bool:
        """Whether the box covers only part of chunk ``i``."""
        cs, ce = self.starts[i], self.stops[i]
        return any(cs[k] < self.req_start[k] or ce[k] > self.req_stop[k] for k in range(3))

    def overlap(self, i: int) -> tuple[Slices3, Slices3]:
        """``(slices into the box's array, slices into chunk i)`` of their overlap."""
        cs, ce, rs, re = self.starts[i], self.stops[i], self.req_start, self.req_stop
        lo = [max(cs[k], rs[k]) for k in range(3)]
        hi = [min(ce[k], re[k]) for k in range(3)]
        in_box = (slice(lo[0] - rs[0], hi[0] - rs[0]), slice(lo[1] - rs[1], hi[1] - rs[1]),
                  slice(lo[2] - rs[2], hi[2] - rs[2]))  # fmt: skip
        in_chunk = (slice(lo[0] - cs[0], hi[0] - cs[0]), slice(lo[1] - cs[1], hi[1] - cs[1]),
                    slice(lo[2] - cs[2], hi[2] - cs[2]))  # fmt: skip
        return in_box, in_chunk


class ChunkGrid:
    """The chunk grid of one scale."""

    def __init__(self, geometry: ScaleGeometry) -> None:
        self.geometry = geometry
        self.key = geometry.key
        self.offset = np.asarray(geometry.voxel_offset, dtype=np.int64)
        self.size = np.asarray(geometry.size, dtype=np.int64)
        self.chunk_size = np.asarray(geometry.chunk_size, dtype=np.int64)
        self.bounds_max = self.offset + self.size

    @property
    def grid_size(self) -> np.ndarray:
        """Number of chunks per axis."""
        return -(-self.size // self.chunk_size)

    def expand_to_grid(self, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grow ``[start, stop)`` to chunk boundaries, clipped to the volume bounds."""
        rel_start = (np.asarray(start, dtype=np.int64) - self.offset) // self.chunk_size
        rel_stop = -(-(np.asarray(stop, dtype=np.int64) - self.offset) // self.chunk_size)
        new_start = np.maximum(self.offset + rel_start * self.chunk_size, self.offset)
        new_stop = np.minimum(self.offset + rel_stop * self.chunk_size, self.bounds_max)
        return new_start, new_stop

    def is_aligned(self, start: np.ndarray, stop: np.ndarray) -> bool:
        """Whether ``[start, stop)`` (inside the bounds) is a union of whole chunks;
        a clipped edge chunk counts as whole."""
        grid_start, grid_stop = self.expand_to_grid(start, stop)
        return bool(np.array_equal(grid_start, start) and np.array_equal(grid_stop, stop))

    def _corners_small(self, first: list[int], last: list[int]) -> tuple[np.ndarray, np.ndarray]:
        off, size, hi = self.offset.tolist(), self.chunk_size.tolist(), self.bounds_max.tolist()
        starts, stops = [], []
        for gz in range(first[2], last[2]):
            for gy in range(first[1], last[1]):
                for gx in range(first[0], last[0]):
                    lo = (off[0] + gx * size[0], off[1] + gy * size[1], off[2] + gz * size[2])
                    starts.append(lo)
                    stops.append((min(lo[0] + size[0], hi[0]), min(lo[1] + size[1], hi[1]),
                                  min(lo[2] + size[2], hi[2])))  # fmt: skip
        return np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64)

    def plan(self, start: np.ndarray, stop: np.ndarray) -> ChunkPlan:
        """Every chunk intersecting ``[start, stop)`` ∩ bounds, x fastest."""
        start = np.maximum(np.asarray(start, dtype=np.int64), self.offset)
        stop = np.minimum(np.asarray(stop, dtype=np.int64), self.bounds_max)
        if np.any(stop <= start):
            empty = np.zeros((0, 3), dtype=np.int64)
            return ChunkPlan(empty, empty, [])
        first = (start - self.offset) // self.chunk_size
        last = -(-(stop - self.offset) // self.chunk_size)
        if int(np.prod(last - first)) <= SMALL_PLAN:
            # numpy's per-call overhead dominates small plans (single cutouts).
            starts, stops = self._corners_small(first.tolist(), last.tolist())
        else:
            axes = [np.arange(first[i], last[i], dtype=np.int64) for i in range(3)]
            gz, gy, gx = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
            cells = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
            starts = self.offset + cells * self.chunk_size
            stops = np.minimum(starts + self.chunk_size, self.bounds_max)
        prefix = f"{self.key}/"
        keys = [
            f"{prefix}{a}-{d}_{b}-{e}_{c}-{f}"
            for (a, b, c), (d, e, f) in zip(starts.tolist(), stops.tolist(), strict=True)
        ]
        return ChunkPlan(starts, stops, keys)
