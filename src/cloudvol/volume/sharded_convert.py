"""Converting a scale between the unsharded and the sharded layout, shard by shard.

Both directions keep the chunk grid (size, voxel offset, chunk size) and may change
the encoding. Chunks are moved as stored bytes when the encoding is unchanged
(no decode or encode) and transcoded otherwise. A missing chunk stays missing.

Memory is bounded by the shards in flight (``parallel``, default one): a shard's
chunk bytes, plus the assembled shard file, which takes over the chunks' memory as
it is filled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cloudvol.exceptions import DecodingError
from cloudvol.precomputed.grid import ChunkGrid, chunk_name
from cloudvol.precomputed.image_shards import ShardBlock
from cloudvol.precomputed.sharding import assemble_shard, decode_item, encode_item, iter_shard_items
from cloudvol.storage.base import Store
from cloudvol.storage.compression import ChecksummedBytes
from cloudvol.storage.threads import run_all
from cloudvol.volume.options import WriteOptions
from cloudvol.volume.progress import chunk_progress
from cloudvol.volume.read import LayerFormat
from cloudvol.volume.sharded import ShardedScale
from cloudvol.volume.sharded_write import shard_put_options
from cloudvol.volume.write import put_options

__all__ = ["same_chunk_format", "sharded_to_unsharded", "unsharded_to_sharded"]

Payload = bytes | memoryview


def same_chunk_format(a: LayerFormat, b: LayerFormat) -> bool:
    """Whether chunk bytes of ``a`` are valid chunk bytes of ``b`` unchanged."""
    return (
        a.codec.name == b.codec.name
        and a.dtype == b.dtype
        and a.num_channels == b.num_channels
        and a.block_size == b.block_size
    )


def _check_same_grid(src: ChunkGrid, dst: ChunkGrid) -> None:
    for name in ("offset", "size", "chunk_size"):
        if not np.array_equal(getattr(src, name), getattr(dst, name)):
            raise ValueError(
                f"conversion keeps the chunk grid: source {name} {getattr(src, name).tolist()} "
                f"differs from destination {getattr(dst, name).tolist()}"
            )


class _Transcoder:
    """Chunk bytes of the source format → chunk bytes of the destination format."""

    def __init__(self, src: LayerFormat, dst: LayerFormat, background: float) -> None:
        self.src, self.dst, self.background = src, dst, background
        self.copy = same_chunk_format(src, dst)

    def __call__(self, data: Payload, shape: tuple[int, int, int], name: str) -> Payload:
        if self.copy:
            if self._must_check(data):
                self.src.decode(data, shape, name, self.background)
            return data
        chunk = self.src.decode(data, shape, name, self.background)
        return self.dst.codec.encode(chunk, self.dst.spec(shape, name, self.background))

    def _must_check(self, data: Payload) -> bool:
        """Whether copied bytes must be decoded once first: the destination may gzip
        them, and a codec that trusts gzip's checksum (crackle) would then never
        check bytes that were already damaged when they were wrapped."""
        trusting = getattr(self.src.codec, "trusts_transport_checksum", False)
        return trusting and not isinstance(data, ChecksummedBytes)


def unsharded_to_sharded(
    src_store: Store,
    src_grid: ChunkGrid,
    src_layer: LayerFormat,
    dst: ShardedScale,
    dst_layer: LayerFormat,
    options: WriteOptions,
    parallel: int = 1,
) -> int:
    """Write every shard of ``dst`` from the unsharded chunks of the source scale
    (keyed by ``src_grid.key``). Returns the number of shard files written."""
    _check_same_grid(src_grid, dst.grid)
    transcode = _Transcoder(src_layer, dst_layer, options.background_color)
    put = shard_put_options(options)
    layout = dst.layout
    blocks = list(layout.all_blocks())
    written = [0]

    def convert(block: ShardBlock) -> None:
        cells = block.cells.tolist()
        names = []
        for cell in cells:
            lo, hi = layout.chunk_box(cell)
            names.append(f"{src_grid.key}/{chunk_name(lo.tolist(), hi.tolist())}")
        fetched = src_store.get_many(names)
        items: list[tuple[int, Payload]] = []
        for cell, code, name in zip(cells, block.codes.tolist(), names, strict=True):
            data = fetched.pop(name, None)
            if not data:
                continue
            lo, hi = layout.chunk_box(cell)
            shape = tuple((hi - lo).tolist())
            payload = transcode(data, shape, f"{src_store.url}/{name}")
            items.append((code, encode_item(dst.spec, payload, options.compress_level)))
        key = layout.shard_key(block.shard_number)
        try:
            if items:
                dst.store.put_many([(key, assemble_shard(dst.spec, items))], put)
                written[0] += 1
            else:
                dst.store.delete_many([key])
        finally:
            dst.cache.invalidate(key)
        tick()

    with chunk_progress(options.progress, len(blocks), "Sharding") as tick:
        run_all(convert, blocks, threads=max(1, parallel), kind="shard")
    return written[0]


def sharded_to_unsharded(
    src: ShardedScale,
    src_layer: LayerFormat,
    dst_store: Store,
    dst_grid: ChunkGrid,
    dst_layer: LayerFormat,
    options: WriteOptions,
    parallel: int = 1,
) -> int:
    """Write every chunk stored in the shards of ``src`` as an unsharded chunk of the
    destination scale (keyed by ``dst_grid.key``), with the destination's transport
    compression. Returns the number of chunks written."""
    _check_same_grid(src.grid, dst_grid)
    transcode = _Transcoder(src_layer, dst_layer, options.background_color)
    put = put_options(dst_layer, options)
    layout = src.layout
    blocks = list(layout.all_blocks())
    written = [0]

    def convert(block: ShardBlock) -> None:
        key = layout.shard_key(block.shard_number)
        data = src.store.get(key)
        if data:
            where = src.reader.where(key)
            puts = _unpack(src, block, data, where, dst_grid.key, transcode)
            dst_store.put_many(puts, put)
            written[0] += len(puts)
        tick()

    with chunk_progress(options.progress, len(blocks), "Unsharding") as tick:
        run_all(convert, blocks, threads=max(1, parallel), kind="shard")
    return written[0]


def _unpack(
    src: ShardedScale,
    block: ShardBlock,
    data: bytes | memoryview,
    where: str,
    dst_key: str,
    transcode: Callable[[Payload, tuple[int, int, int], str], Payload],
) -> list[tuple[str, Payload]]:
    """``(unsharded key, chunk bytes)`` of every item of one shard file."""
    layout = src.layout
    members = set(block.codes.tolist())
    puts: list[tuple[str, Payload]] = []
    for code, stored in iter_shard_items(src.spec, data, where):
        if code not in members:
            raise DecodingError(
                f"{where}: holds chunk {code}, which is not one of this shard file's "
                f"chunks (another shard's, or outside the grid of {layout.grid_size} chunks)"
            )
        what = layout.describe_chunk(code)
        payload = decode_item(src.spec, stored, f"{where}: {what}")
        cell = layout.coder.decode(code)
        lo, hi = layout.chunk_box(cell)
        shape = tuple((hi - lo).tolist())
        name = chunk_name(lo.tolist(), hi.tolist())
        chunk = transcode(payload, shape, f"{where}: {what}")
        puts.append((f"{dst_key}/{name}", chunk))
    return puts
