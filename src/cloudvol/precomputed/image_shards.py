"""Where the chunks of a sharded image scale live: chunk keys (compressed Morton
codes of grid cells), shard files, and which boxes can be written shard by shard.

With identity hashing and ``preshift_bits + minishard_bits + shard_bits`` covering
every Morton bit, each shard file holds one axis-aligned block of
``2**block_bits`` chunks per axis (clipped at the grid's end): the *blocked* layout
CloudVolume, Igneous and TensorStore write. Otherwise (murmurhash, or shard bits too
few so that distant blocks share a file) a shard's chunks are scattered, and its
members are found by enumerating the grid.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from cloudvol.exceptions import AlignmentError
from cloudvol.precomputed.info import ScaleGeometry
from cloudvol.precomputed.morton import coder_for
from cloudvol.precomputed.shard_params import block_bits
from cloudvol.precomputed.sharding import ShardingSpecification

__all__ = ["MAX_ENUMERATED_CHUNKS", "ImageShardLayout", "ShardAlignment", "ShardBlock"]

MAX_ENUMERATED_CHUNKS = 1 << 22
"""Largest grid whose shard membership is computed by enumerating every chunk
(scattered layouts only): 4 Mi chunks take ~100 MB of temporary arrays."""


@dataclass(frozen=True, slots=True)
class ShardAlignment:
    """The shard grid of a blocked layout, in voxels (x, y, z): shards are ``shape``
    voxels starting at ``origin`` (the voxel offset), the last ones clipped at
    ``bounds_max``."""

    shape: tuple[int, int, int]
    origin: tuple[int, int, int]
    bounds_max: tuple[int, int, int]

    def expand(self, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The smallest shard-aligned box containing ``[start, stop)``, clipped to the bounds."""
        shape = np.asarray(self.shape, dtype=np.int64)
        origin = np.asarray(self.origin, dtype=np.int64)
        lo = origin + (np.asarray(start, dtype=np.int64) - origin) // shape * shape
        hi = origin + -(-(np.asarray(stop, dtype=np.int64) - origin) // shape) * shape
        return np.maximum(lo, origin), np.minimum(hi, np.asarray(self.bounds_max))

    def is_aligned(self, start: np.ndarray, stop: np.ndarray) -> bool:
        """Whether ``[start, stop)`` is a union of whole (clipped) shards."""
        lo, hi = self.expand(start, stop)
        return bool(np.array_equal(lo, start) and np.array_equal(hi, stop))

    def describe(self) -> str:
        x, y, z = self.shape
        return (
            f"shards are {x}×{y}×{z} voxels (x, y, z) starting at the voxel offset "
            f"{self.origin}, the last ones clipped at {self.bounds_max}"
        )


@dataclass(frozen=True, slots=True)
class ShardBlock:
    """One shard file of a write or conversion, with its chunks' grid cells
    (``(n, 3)`` int64) and their keys (uint64)."""

    shard_number: int
    cells: np.ndarray
    codes: np.ndarray


class ImageShardLayout:
    """Chunk keys and shard files of one sharded image scale."""

    def __init__(self, geometry: ScaleGeometry, spec: ShardingSpecification | None = None) -> None:
        if spec is None:
            if not geometry.sharding:
                raise ValueError(f"scale {geometry.key!r} is not sharded")
            spec = ShardingSpecification.from_dict(geometry.sharding)
        self.geometry = geometry
        self.spec = spec
        self.key = geometry.key
        self.chunk_size = np.asarray(geometry.chunk_size, dtype=np.int64)
        self.offset = np.asarray(geometry.voxel_offset, dtype=np.int64)
        self.bounds_max = self.offset + np.asarray(geometry.size, dtype=np.int64)
        self.grid_size = tuple(
            int(-(-s // c)) for s, c in zip(geometry.size, geometry.chunk_size, strict=True)
        )
        self.coder = coder_for(self.grid_size)
        self.prefix_bits = spec.preshift_bits + spec.minishard_bits
        self.block_chunks = tuple(1 << b for b in block_bits(self.grid_size, self.prefix_bits))
        #: whether every shard file is one axis-aligned block of chunks
        self.blocked = spec.hash == "identity" and (
            self.prefix_bits + spec.shard_bits >= self.coder.total_bits
        )
        self._groups: dict[int, np.ndarray] | None = None

    # --- names ----------------------------------------------------------------

    def shard_file(self, shard_number: int) -> str:
        """The shard's file name (``{hex}.shard``)."""
        return self.spec.shard_filename(shard_number)

    def shard_key(self, shard_number: int) -> str:
        """The shard's object key relative to the layer (``{scale key}/{hex}.shard``)."""
        return f"{self.key}/{self.spec.shard_filename(shard_number)}"

    # --- cells, keys and shards ---------------------------------------------------

    def cells_of(self, starts: np.ndarray) -> np.ndarray:
        """Grid cells of chunks whose first voxels are ``starts`` (``(n, 3)``)."""
        return (np.asarray(starts, dtype=np.int64) - self.offset) // self.chunk_size

    def codes(self, cells: np.ndarray) -> np.ndarray:
        """Chunk keys (uint64) of an ``(n, 3)`` array of grid cells."""
        return self.coder.encode_many(cells)

    def locate(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(shard numbers, minishard numbers)`` of chunk keys."""
        return self.spec.locate(codes)

    def chunk_box(self, cell: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Voxel ``[start, stop)`` of a grid cell's chunk, clipped to the bounds."""
        start = self.offset + np.asarray(cell, dtype=np.int64) * self.chunk_size
        return start, np.minimum(start + self.chunk_size, self.bounds_max)

    def describe_chunk(self, code: int) -> str:
        """``chunk {code} (grid cell …, voxels …)`` for error messages."""
        cell = self.coder.decode(int(code))
        start, stop = self.chunk_box(cell)
        box = "_".join(f"{a}-{b}" for a, b in zip(start.tolist(), stop.tolist(), strict=True))
        return f"chunk {int(code)} (grid cell {cell}, voxels {box})"

    # --- alignment -------------------------------------------------------------

    @property
    def alignment(self) -> ShardAlignment | None:
        """The shard grid in voxels, or ``None`` when shards are not boxes."""
        if not self.blocked:
            return None
        shape = tuple(int(b * c) for b, c in zip(self.block_chunks, self.chunk_size, strict=True))
        return ShardAlignment(
            (shape[0], shape[1], shape[2]),
            (int(self.offset[0]), int(self.offset[1]), int(self.offset[2])),
            (int(self.bounds_max[0]), int(self.bounds_max[1]), int(self.bounds_max[2])),
        )

    def describe_alignment(self) -> str:
        """How boxes must be aligned to be writable, for error messages."""
        alignment = self.alignment
        if alignment is not None:
            return alignment.describe()
        why = (
            f"hash {self.spec.hash}"
            if self.spec.hash != "identity"
            else f"preshift + minishard + shard bits = {self.prefix_bits + self.spec.shard_bits} "
            f"< the grid's {self.coder.total_bits} Morton bits, so distant blocks share a file"
        )
        return (
            f"shard files of this scale are not boxes ({why}): a write must include every "
            f"chunk of each shard it touches, usually the whole volume "
            f"{tuple(self.offset.tolist())}-{tuple(self.bounds_max.tolist())}"
        )

    # --- shard membership -----------------------------------------------------------

    def blocks(self, start: np.ndarray, stop: np.ndarray) -> Iterator[ShardBlock]:
        """Every shard with a chunk inside the voxel box ``[start, stop)`` (inside the
        bounds), with all of that shard's chunks (some may lie outside the box)."""
        first = (np.asarray(start, dtype=np.int64) - self.offset) // self.chunk_size
        last = -(-(np.asarray(stop, dtype=np.int64) - self.offset) // self.chunk_size)
        if self.blocked:
            yield from self._blocked(first, last)
            return
        cells = _grid_cells(first, last)
        shards, _ = self.locate(self.codes(cells))
        groups = self._all_groups()
        for shard in np.unique(shards).tolist():
            members = groups[shard]
            yield ShardBlock(shard, members, self.codes(members))

    def _blocked(self, first: np.ndarray, last: np.ndarray) -> Iterator[ShardBlock]:
        block = np.asarray(self.block_chunks, dtype=np.int64)
        grid = np.asarray(self.grid_size, dtype=np.int64)
        lo_block = first // block
        hi_block = -(-last // block)
        for bz in range(int(lo_block[2]), int(hi_block[2])):
            for by in range(int(lo_block[1]), int(hi_block[1])):
                for bx in range(int(lo_block[0]), int(hi_block[0])):
                    lo = np.asarray((bx, by, bz), dtype=np.int64) * block
                    hi = np.minimum(lo + block, grid)
                    cells = _grid_cells(lo, hi)
                    codes = self.codes(cells)
                    shard = int(codes[0]) >> self.prefix_bits
                    yield ShardBlock(shard, cells, codes)

    def all_blocks(self) -> Iterator[ShardBlock]:
        """Every shard file the scale can have, with its chunks."""
        yield from self.blocks(self.offset, self.bounds_max)

    def _all_groups(self) -> dict[int, np.ndarray]:
        """``{shard number: cells}`` for the whole grid (scattered layouts)."""
        if self._groups is None:
            total = int(np.prod(self.grid_size))
            if total > MAX_ENUMERATED_CHUNKS:
                raise AlignmentError(
                    f"scale {self.key!r}: {self.describe_alignment()}; with {total} chunks the "
                    f"grid is too large to work out which chunks share a shard file (limit "
                    f"{MAX_ENUMERATED_CHUNKS}). Use an identity-hash sharding whose shard bits "
                    f"cover the grid."
                )
            cells = _grid_cells(np.zeros(3, dtype=np.int64), np.asarray(self.grid_size))
            shards, _ = self.locate(self.codes(cells))
            order = np.argsort(shards, kind="stable")
            shards, cells = shards[order], cells[order]
            cuts = np.flatnonzero(np.diff(shards)) + 1
            self._groups = {
                int(group_shards[0]): group_cells
                for group_shards, group_cells in zip(
                    np.split(shards, cuts), np.split(cells, cuts), strict=True
                )
            }
        return self._groups

    def writable_blocks(self, start: np.ndarray, stop: np.ndarray, where: str) -> list[ShardBlock]:
        """The shards a write of voxels ``[start, stop)`` replaces, if the box covers
        each of them entirely; otherwise :class:`~cloudvol.exceptions.AlignmentError`
        stating the alignment the scale needs (``where`` names the volume and mip)."""
        start = np.asarray(start, dtype=np.int64)
        stop = np.asarray(stop, dtype=np.int64)
        alignment = self.alignment
        if alignment is not None:
            if not alignment.is_aligned(start, stop):
                lo, hi = alignment.expand(start, stop)
                raise AlignmentError(
                    f"{where}: box {_box(start, stop)} does not cover whole shards. A sharded "
                    f"scale is written one whole shard file at a time: {alignment.describe()}. "
                    f"The nearest shard-aligned box is {_box(lo, hi)} (vol.image."
                    f"shard_alignment(mip) gives the shard grid)."
                )
            return list(self.blocks(start, stop))
        first = (start - self.offset) // self.chunk_size
        last = -(-(stop - self.offset) // self.chunk_size)
        lo_vox, _ = self.chunk_box(first)
        _, hi_vox = self.chunk_box(last - 1)
        if not (np.array_equal(lo_vox, start) and np.array_equal(hi_vox, stop)):
            raise AlignmentError(
                f"{where}: box {_box(start, stop)} is not aligned to the chunk grid, and "
                f"{self.describe_alignment()}."
            )
        blocks = list(self.blocks(start, stop))
        for block in blocks:
            inside = np.all((block.cells >= first) & (block.cells < last), axis=1)
            if not inside.all():
                outside = block.cells[~inside][0]
                raise AlignmentError(
                    f"{where}: box {_box(start, stop)} covers only part of shard file "
                    f"{self.shard_file(block.shard_number)} (its chunk at grid cell "
                    f"{tuple(outside.tolist())} lies outside). {self.describe_alignment()}."
                )
        return blocks


def _grid_cells(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``(n, 3)`` int64 cells of ``[first, last)``, x fastest."""
    axes = [np.arange(int(first[i]), int(last[i]), dtype=np.int64) for i in range(3)]
    gz, gy, gx = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)


def _box(start: np.ndarray, stop: np.ndarray) -> str:
    lo, hi = np.asarray(start).tolist(), np.asarray(stop).tolist()
    return f"Bbox({lo}, {hi})"
