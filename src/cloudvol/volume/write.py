"""The write path: cut the image along the chunk grid, encode, put in batches.

Callers validate dtype, shape, bounds and alignment before calling in, so that a
bad request fails before anything is stored. Chunks only partly covered by the
image (allowed by ``non_aligned_writes``) are read, painted and rewritten.
"""

from __future__ import annotations

import numpy as np

from cloudvol.exceptions import EmptyVolumeException
from cloudvol.precomputed.grid import ChunkGrid
from cloudvol.storage.base import PutOptions, Store
from cloudvol.volume.options import WriteOptions
from cloudvol.volume.read import LayerFormat, batched

__all__ = ["delete_region", "is_background", "put_options", "write_region"]


def put_options(layer: LayerFormat, options: WriteOptions) -> PutOptions:
    """Transport compression and metadata for chunks of ``layer``."""
    compress = options.compress
    if compress == "default":
        compress = "gzip" if layer.codec.transport_compressed_by_default else None
    # With no compress_level, storage's defaults apply (gzip 6, brotli 5): CloudVolume's
    # gzip 9 costs several times the CPU for files about 1-2% smaller.
    return PutOptions(
        compress=compress,
        level=options.compress_level,
        content_type=layer.codec.content_type,
        cache_control=options.cache_control,
    )


def is_background(chunk: np.ndarray, background: float) -> bool:
    """Whether every voxel equals ``background`` (NaN matches NaN)."""
    if isinstance(background, float) and np.isnan(background):
        return bool(np.isnan(chunk).all())
    return not np.any(chunk != background)


def write_region(
    store: Store,
    grid: ChunkGrid,
    layer: LayerFormat,
    start: np.ndarray,
    image: np.ndarray,
    options: WriteOptions,
) -> int:
    """Write the 4-D ``image`` with its first voxel at ``start`` (inside the bounds).

    Returns the number of chunks written or deleted."""
    start = np.asarray(start, dtype=np.int64)
    stop = start + np.asarray(image.shape[:3], dtype=np.int64)
    plan = grid.plan(start, stop)
    starts, stops = plan.starts.tolist(), plan.stops.tolist()
    req_start, req_stop = start.tolist(), stop.tolist()
    background = options.background_color
    put_opts = put_options(layer, options)
    count = 0
    for batch in batched(len(plan), options.batch_size):
        partial = [
            i for i in batch
            if any(starts[i][k] < req_start[k] or stops[i][k] > req_stop[k] for k in range(3))
        ]  # fmt: skip
        existing: dict[str, bytes | None] = {}
        if partial and not options.overwrite_partial_chunks:
            existing = store.get_many([plan.keys[i] for i in partial])
        partial_set = set(partial)
        puts: list[tuple[str, bytes | memoryview]] = []
        deletes: list[str] = []
        for i in batch:
            key = plan.keys[i]
            cs, ce = starts[i], stops[i]
            if i in partial_set:
                chunk = _merge_partial(
                    store,
                    layer,
                    key,
                    cs,
                    ce,
                    existing.get(key),
                    image,
                    req_start,
                    req_stop,
                    options,
                )
            else:
                chunk = image[
                    tuple(slice(cs[k] - req_start[k], ce[k] - req_start[k]) for k in range(3))
                ]
            if options.delete_black_uploads and is_background(chunk, background):
                deletes.append(key)
                continue
            spec = layer.spec(chunk.shape, f"{store.url}/{key}", background)
            puts.append((key, layer.codec.encode(chunk, spec)))
        if puts:
            store.put_many(puts, put_opts)
        if deletes:
            store.delete_many(deletes)
        count += len(puts) + len(deletes)
    return count


def _merge_partial(
    store: Store,
    layer: LayerFormat,
    key: str,
    cs: list[int],
    ce: list[int],
    data: bytes | None,
    image: np.ndarray,
    req_start: list[int],
    req_stop: list[int],
    options: WriteOptions,
) -> np.ndarray:
    """The stored chunk (or background) with the covered part replaced by ``image``."""
    shape = (*(ce[k] - cs[k] for k in range(3)), layer.num_channels)
    if not data:  # missing or zero-length
        if not (options.overwrite_partial_chunks or options.fill_missing):
            raise EmptyVolumeException(
                f"{store.url}/{key} is missing, and this unaligned write needs its "
                f"voxels outside the written box. Pass fill_missing=True to treat it "
                f"as background_color, or overwrite_partial_chunks=True."
            )
        chunk = np.full(shape, options.background_color, dtype=layer.dtype, order="F")
    else:
        decoded = layer.decode(data, shape[:3], f"{store.url}/{key}", options.background_color)
        chunk = np.array(decoded, dtype=layer.dtype, order="F", copy=True)
    lo = [max(cs[k], req_start[k]) for k in range(3)]
    hi = [min(ce[k], req_stop[k]) for k in range(3)]
    chunk[tuple(slice(lo[k] - cs[k], hi[k] - cs[k]) for k in range(3))] = image[
        tuple(slice(lo[k] - req_start[k], hi[k] - req_start[k]) for k in range(3))
    ]
    return chunk


def delete_region(store: Store, grid: ChunkGrid, start: np.ndarray, stop: np.ndarray) -> list[str]:
    """Delete every chunk inside the (aligned) box; returns the keys deleted."""
    plan = grid.plan(start, stop)
    store.delete_many(plan.keys)
    return plan.keys
