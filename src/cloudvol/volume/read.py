"""The read path: plan chunk keys for a box, fetch them in batches, decode each and
paint it straight into one preallocated Fortran-ordered output.

Memory stays near the cutout's own size: at most one batch of fetched bytes is
held besides the output, and chunks are painted as they arrive (completion order).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudvol.codecs import ChunkSpec, Codec
from cloudvol.exceptions import EmptyVolumeException
from cloudvol.precomputed.grid import ChunkGrid, ChunkPlan
from cloudvol.storage.base import Store
from cloudvol.volume.options import ReadOptions

__all__ = ["LayerFormat", "batched", "read_region"]


@dataclass(frozen=True, slots=True)
class LayerFormat:
    """What every chunk of one scale shares: codec, dtype, channel count, options."""

    codec: Codec
    dtype: np.dtype
    num_channels: int
    block_size: tuple[int, int, int] | None = None
    scale_options: Any = None

    def spec(self, shape: Sequence[int], key: str, background: float = 0) -> ChunkSpec:
        x, y, z = (int(s) for s in shape[:3])
        return ChunkSpec(
            shape=(x, y, z, self.num_channels),
            dtype=self.dtype,
            block_size=self.block_size,
            background_color=background,
            options=self.scale_options or {},
            key=key,
        )

    def decode(
        self, data: bytes | memoryview, shape: Sequence[int], key: str, background: float
    ) -> np.ndarray:
        return self.codec.decode(data, self.spec(shape, key, background))


def batched(n: int, size: int) -> Iterator[range]:
    """``range(n)`` cut into consecutive ranges of at most ``size``."""
    for first in range(0, n, size):
        yield range(first, min(first + size, n))


def _missing(store: Store, key: str) -> EmptyVolumeException:
    return EmptyVolumeException(
        f"{store.url}/{key} is missing. Pass fill_missing=True to read missing chunks "
        f"as background_color."
    )


def read_region(
    store: Store,
    grid: ChunkGrid,
    layer: LayerFormat,
    start: np.ndarray,
    stop: np.ndarray,
    options: ReadOptions,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Read voxels ``[start, stop)`` (x, y, z at the grid's scale, may reach outside the
    bounds) as a ``(x, y, z, num_channels)`` Fortran array. Outside the bounds, and in
    missing chunks when ``options.fill_missing``, voxels are ``background_color``.
    ``out`` may be given to paint into an existing array of the right shape."""
    start = np.asarray(start, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    shape = (*(int(s) for s in stop - start), layer.num_channels)
    background = options.background_color
    inside = bool(np.all(start >= grid.offset) and np.all(stop <= grid.bounds_max))
    if out is None:
        if inside:
            # Every voxel will be painted (or filled if its chunk is missing).
            out = np.empty(shape, dtype=layer.dtype, order="F")
        else:
            out = np.full(shape, background, dtype=layer.dtype, order="F")
    plan = grid.plan(start, stop)
    paint_chunks(store, plan, layer, start, stop, out, options)
    return out


def paint_chunks(
    store: Store,
    plan: ChunkPlan,
    layer: LayerFormat,
    start: np.ndarray,
    stop: np.ndarray,
    out: np.ndarray,
    options: ReadOptions,
) -> None:
    """Fetch, decode and paint every chunk of ``plan`` into ``out`` (which spans
    ``[start, stop)``)."""
    index_of = {key: i for i, key in enumerate(plan.keys)}
    starts = plan.starts.tolist()
    stops = plan.stops.tolist()
    req_start = start.tolist()
    req_stop = stop.tolist()
    background = options.background_color
    for batch in batched(len(plan), options.batch_size):
        results = store.get_iter([plan.keys[i] for i in batch])
        try:
            for key, data in results:
                i = index_of[key]
                cs, ce = starts[i], stops[i]
                lo = [max(a, b) for a, b in zip(cs, req_start, strict=True)]
                hi = [min(a, b) for a, b in zip(ce, req_stop, strict=True)]
                dst = tuple(slice(lo[k] - req_start[k], hi[k] - req_start[k]) for k in range(3))
                # A zero-length object is treated as missing, as CloudVolume does.
                if not data:
                    if not options.fill_missing:
                        raise _missing(store, key)
                    out[dst] = background
                    continue
                shape = [ce[k] - cs[k] for k in range(3)]
                chunk = layer.decode(data, shape, f"{store.url}/{key}", background)
                src = tuple(slice(lo[k] - cs[k], hi[k] - cs[k]) for k in range(3))
                out[dst] = chunk[src]
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
