"""Writing sharded image scales: whole shard files only.

A write replaces every shard file its box covers and refuses (before storing
anything) a box that would cover part of a shard, with an
:class:`~cloudvol.exceptions.AlignmentError` that states the shard grid. Shards
are built in parallel: several shards at once when the box holds several (each
worker cuts, encodes and assembles one shard, then stores it), or the chunks of
one shard in parallel otherwise. Shard files are stored without transport
compression (they are read by byte range); ``data_encoding`` gzip is per item.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cloudvol.precomputed.image_shards import ShardBlock
from cloudvol.precomputed.sharding import assemble_shard, encode_item
from cloudvol.storage.base import PutOptions
from cloudvol.storage.threads import imap_unordered, run_all
from cloudvol.volume.options import WriteOptions
from cloudvol.volume.progress import chunk_progress
from cloudvol.volume.read import BYTES_PER_THREAD, VOLUME_THREADS, LayerFormat
from cloudvol.volume.sharded import ShardedScale
from cloudvol.volume.write import is_background

__all__ = ["delete_shards", "shard_put_options", "write_shards"]

WRITE_MEMORY_BUDGET = 1 << 30
"""Encoded shards held at once by parallel shard builders, at most (bytes)."""

Payload = bytes | memoryview


def shard_put_options(options: WriteOptions) -> PutOptions:
    """Shard files are never transport-compressed: readers fetch byte ranges."""
    return PutOptions(
        compress=None, content_type="application/octet-stream", cache_control=options.cache_control
    )


class _ShardBuilder:
    """Cuts, encodes and assembles shard files from an image being written."""

    def __init__(
        self,
        scale: ShardedScale,
        layer: LayerFormat,
        start: np.ndarray,
        image: np.ndarray,
        options: WriteOptions,
        tick: Callable[[], None],
    ) -> None:
        self.scale, self.layer, self.image, self.options = scale, layer, image, options
        self.start = np.asarray(start, dtype=np.int64)
        self.tick = tick
        self.put_options = shard_put_options(options)

    def chunk(self, cell: list[int], code: int) -> tuple[int, Payload] | None:
        """The stored item of one chunk, or ``None`` if it is skipped as background."""
        layout = self.scale.layout
        lo, hi = layout.chunk_box(cell)
        a, b = (lo - self.start).tolist(), (hi - self.start).tolist()
        chunk = self.image[a[0] : b[0], a[1] : b[1], a[2] : b[2]]
        background = self.options.background_color
        self.tick()
        if self.options.delete_black_uploads and is_background(chunk, background):
            return None
        name = f"{self.scale.shard_url(code)}: {layout.describe_chunk(code)}"
        encoded = self.layer.codec.encode(chunk, self.layer.spec(chunk.shape, name, background))
        return code, encode_item(self.scale.spec, encoded, self.options.compress_level)

    def store(self, block: ShardBlock, items: list[tuple[int, Payload]]) -> None:
        """Write (or, with no items, delete) one shard file and forget its cached indexes."""
        key = self.scale.layout.shard_key(block.shard_number)
        store = self.scale.store
        try:
            if items:
                store.put_many([(key, assemble_shard(self.scale.spec, items))], self.put_options)
            else:
                store.delete_many([key])
        finally:
            self.scale.cache.invalidate(key)

    def build_and_store(self, block: ShardBlock) -> None:
        items = []
        for cell, code in zip(block.cells.tolist(), block.codes.tolist(), strict=True):
            item = self.chunk(cell, code)
            if item is not None:
                items.append(item)
        self.store(block, items)

    def store_parallel_chunks(self, block: ShardBlock) -> None:
        """One shard, its chunks encoded by several workers (one per 2 MiB of image,
        as for unsharded writes: a hand-off costs more than a small chunk's work)."""
        pairs = list(zip(block.cells.tolist(), block.codes.tolist(), strict=True))
        threads = min(VOLUME_THREADS, len(pairs), max(1, self.image.nbytes // BYTES_PER_THREAD))
        results = imap_unordered(
            lambda p: self.chunk(p[0], p[1]), pairs, threads=threads, kind="volume"
        )
        self.store(block, [item for item in results if item is not None])


def write_shards(
    scale: ShardedScale,
    layer: LayerFormat,
    start: np.ndarray,
    image: np.ndarray,
    options: WriteOptions,
    where: str,
) -> int:
    """Write the 4-D ``image`` with its first voxel at ``start`` (inside the bounds),
    replacing every shard file it covers. Raises
    :class:`~cloudvol.exceptions.AlignmentError` (naming ``where``) before anything
    is stored if the box covers only part of a shard. Returns the shards written."""
    start = np.asarray(start, dtype=np.int64)
    stop = start + np.asarray(image.shape[:3], dtype=np.int64)
    blocks = scale.layout.writable_blocks(start, stop, where)
    nchunks = sum(len(b.codes) for b in blocks)
    with chunk_progress(options.progress, nchunks, "Uploading") as tick:
        builder = _ShardBuilder(scale, layer, start, image, options, tick)
        if len(blocks) == 1:
            builder.store_parallel_chunks(blocks[0])
        else:
            shard_bytes = image.nbytes // max(1, len(blocks))
            threads = min(
                VOLUME_THREADS, len(blocks), max(1, WRITE_MEMORY_BUDGET // max(1, shard_bytes))
            )
            run_all(builder.build_and_store, blocks, threads=threads, kind="shard")
    return len(blocks)


def delete_shards(
    scale: ShardedScale, start: np.ndarray, stop: np.ndarray, where: str
) -> list[str]:
    """Delete the shard files a shard-aligned box covers; returns their keys."""
    blocks = scale.layout.writable_blocks(start, stop, where)
    keys = [scale.layout.shard_key(b.shard_number) for b in blocks]
    try:
        scale.store.delete_many(keys)
    finally:
        for key in keys:
            scale.cache.invalidate(key)
    return keys
