"""The bytes of shard files: shard and minishard indexes, items, and assembling or
taking apart whole shard files (see :mod:`cloudvol.precomputed.sharding` for the
layout). Pure functions over bytes and numpy arrays, no IO.

The writer lays files out like CloudVolume: the shard index, then the items of each
minishard (minishards ascending, keys ascending), then the minishard indexes.
Readers here accept any layout and check every offset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cloudvol.exceptions import DecodingError
from cloudvol.storage.compression import compress, decompress

if TYPE_CHECKING:
    from cloudvol.precomputed.sharding import ShardingSpecification

__all__ = [
    "INDEX_ENTRY_BYTES",
    "MinishardIndex",
    "assemble_shard",
    "decode_item",
    "decode_minishard_index",
    "decode_shard_index",
    "disassemble_shard",
    "encode_item",
    "encode_minishard_index",
    "encode_shard_index",
    "iter_shard_items",
]

INDEX_ENTRY_BYTES = 16
MINISHARD_ROW_BYTES = 24
# Offsets above this cannot come from a real object; they signal a corrupt index
# (and keep start + size from wrapping around in uint64 arithmetic).
MAX_OFFSET = 1 << 62


# --- shard index --------------------------------------------------------------------


def decode_shard_index(
    data: bytes | memoryview, spec: ShardingSpecification, where: str
) -> np.ndarray:
    """The shard index as a ``(2**minishard_bits, 2)`` uint64 array of absolute
    ``[start, end)`` byte ranges of each minishard index in the file.

    Raises :class:`~cloudvol.exceptions.DecodingError` naming ``where`` (the shard
    file) for a truncated index, reversed ranges or offsets no object can have."""
    expected = spec.index_length()
    if len(data) != expected:
        raise DecodingError(
            f"{where}: shard index is {len(data)} bytes, expected {expected} "
            f"(16 × 2**{spec.minishard_bits} minishards): the shard file is truncated or was "
            f"written with another sharding specification"
        )
    index = np.frombuffer(data, dtype="<u8").reshape(-1, 2)
    bad = np.flatnonzero((index[:, 0] > index[:, 1]) | (index[:, 1] > MAX_OFFSET))
    if len(bad):
        first = int(bad[0])
        raise DecodingError(
            f"{where}: shard index entry for minishard {first} is corrupt "
            f"([{int(index[first, 0])}, {int(index[first, 1])}))"
        )
    return index.astype(np.uint64) + np.uint64(expected)


def encode_shard_index(ranges: np.ndarray) -> bytes:
    """Bytes of a shard index from ``(n, 2)`` ranges relative to the index's end."""
    return np.ascontiguousarray(ranges, dtype="<u8").tobytes()


# --- minishard index ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MinishardIndex:
    """A decoded minishard index: keys ascending, with each item's absolute start
    offset in the shard file and its size in bytes (all uint64 arrays)."""

    ids: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    _lookup: dict[int, tuple[int, int]] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Memory held, counting the lookup table :meth:`find` builds (~150 B/item)."""
        return int(self.ids.nbytes + self.starts.nbytes + self.sizes.nbytes) + 150 * len(self.ids)

    def find(self, key: int) -> tuple[int, int] | None:
        """``(start, size)`` of ``key``'s item, or ``None`` if it is not here."""
        lookup = self._lookup
        if lookup is None:
            # A dict lookup is ~20x faster than np.searchsorted on one key, and a
            # cached index is searched once per chunk read. Built whole, then
            # published, so concurrent readers never see a partial table.
            pairs = zip(self.starts.tolist(), self.sizes.tolist(), strict=True)
            lookup = dict(zip(self.ids.tolist(), pairs, strict=True))
            object.__setattr__(self, "_lookup", lookup)
        return lookup.get(key)

    def rows(self) -> Iterator[tuple[int, int, int]]:
        """``(key, start, size)`` of every item, keys ascending."""
        yield from zip(self.ids.tolist(), self.starts.tolist(), self.sizes.tolist(), strict=True)


def decode_minishard_index(
    data: bytes | memoryview, spec: ShardingSpecification, where: str
) -> MinishardIndex:
    """Decode one (possibly gzipped) minishard index; ``where`` names the shard file
    and minishard in errors."""
    if spec.minishard_index_encoding == "gzip":
        data = decompress(data, "gzip", key=f"{where} (gzip minishard index)")
    if len(data) % MINISHARD_ROW_BYTES:
        raise DecodingError(
            f"{where}: minishard index is {len(data)} bytes, not a multiple of 24 "
            f"(3 uint64 per item): the shard file is corrupt"
        )
    rows = np.frombuffer(data, dtype="<u8").reshape(3, -1).astype(np.uint64)
    ids = np.cumsum(rows[0], dtype=np.uint64)
    sizes = rows[2]
    # start[i] = E + Σ_{k≤i} gap[k] + Σ_{k<i} size[k], in wrapping uint64 arithmetic.
    preceding = np.zeros_like(sizes)
    if len(sizes) > 1:
        preceding[1:] = np.cumsum(sizes[:-1], dtype=np.uint64)
    starts = np.cumsum(rows[1], dtype=np.uint64) + preceding + np.uint64(spec.index_length())
    bad = np.flatnonzero((starts > MAX_OFFSET) | (sizes > MAX_OFFSET))
    if len(bad):
        first = int(bad[0])
        raise DecodingError(
            f"{where}: minishard index gives chunk {int(ids[first])} an impossible byte "
            f"range (start {int(starts[first])}, size {int(sizes[first])}): the shard file "
            f"is corrupt"
        )
    if len(ids) > 1 and np.any(ids[1:] < ids[:-1]):
        # Readers must not rely on writers sorting keys (wrapping deltas are legal).
        order = np.argsort(ids, kind="stable")
        ids, starts, sizes = ids[order], starts[order], sizes[order]
    return MinishardIndex(ids, starts, sizes)


def encode_minishard_index(
    ids: np.ndarray, gaps: np.ndarray, sizes: np.ndarray, encoding: str = "raw"
) -> bytes:
    """Bytes of a minishard index: ``ids`` ascending, ``gaps[i]`` the bytes between the
    end of item ``i-1`` (or the end of the shard index) and item ``i``."""
    ids = np.asarray(ids, dtype=np.uint64)
    deltas = ids.copy()
    if len(ids) > 1:
        deltas[1:] = ids[1:] - ids[:-1]
    table = np.stack(
        [deltas, np.asarray(gaps, dtype=np.uint64), np.asarray(sizes, dtype=np.uint64)]
    )
    raw = np.ascontiguousarray(table, dtype="<u8").tobytes()
    return compress(raw, "gzip") if encoding == "gzip" else raw


# --- items and whole shards ------------------------------------------------------------


def encode_item(
    spec: ShardingSpecification, payload: bytes | memoryview, level: int | None = None
) -> bytes | memoryview:
    """An item as stored in a shard: gzip (at ``level``, default 6) when
    ``data_encoding`` is gzip."""
    if spec.data_encoding == "gzip":
        return compress(payload, "gzip", level)
    return payload


def decode_item(
    spec: ShardingSpecification, stored: bytes | memoryview, where: str
) -> bytes | memoryview:
    """Undo ``data_encoding`` on an item's stored bytes."""
    if spec.data_encoding == "gzip":
        return decompress(stored, "gzip", key=where)
    return stored


def assemble_shard(
    spec: ShardingSpecification,
    items: list[tuple[int, bytes | memoryview]],
    data_offset: Mapping[int, int] | None = None,
) -> memoryview:
    """A whole shard file from ``(key, stored item)`` pairs of one shard (items already
    encoded with :func:`encode_item`).

    ``items`` is consumed: each payload is released from the list once copied, so
    peak memory is about one copy of the shard. ``data_offset[key] = n`` makes the
    index point at the last ``n`` bytes of that item (multi-resolution mesh shards).
    Returns a buffer over the file's bytes."""
    if not items:
        raise ValueError("a shard file needs at least one item")
    keys = np.fromiter((k for k, _ in items), dtype=np.uint64, count=len(items))
    _, minis = spec.locate(keys)
    order = np.lexsort((keys, minis)).tolist()
    keys_sorted = keys[order]
    if len(keys_sorted) > 1 and np.any(keys_sorted[1:] == keys_sorted[:-1]):
        raise ValueError("a shard cannot hold the same key twice")
    lengths = [len(items[i][1]) for i in order]
    data_len = sum(lengths)
    minis_sorted = minis[order]
    boundaries = np.flatnonzero(np.diff(minis_sorted)) + 1
    groups = np.split(np.arange(len(order)), boundaries)
    index = np.zeros((1 << spec.minishard_bits, 2), dtype=np.uint64)
    # Item i starts at data_pos[i] (relative to the end of the shard index).
    data_pos = np.zeros(len(order), dtype=np.int64)
    if len(order) > 1:
        data_pos[1:] = np.cumsum(lengths[:-1])
    encoded_indexes: list[bytes] = []
    cursor = data_len
    for group in groups:
        item_sizes = np.asarray([lengths[g] for g in group], dtype=np.int64)
        if data_offset is not None:
            item_sizes = np.asarray(
                [int(data_offset.get(int(keys_sorted[g]), lengths[g])) for g in group],
                dtype=np.int64,
            )
        item_starts = data_pos[group] + np.asarray([lengths[g] for g in group]) - item_sizes
        ends_before = np.concatenate([[0], item_starts[:-1] + item_sizes[:-1]])
        encoded = encode_minishard_index(
            keys_sorted[group], item_starts - ends_before, item_sizes,
            spec.minishard_index_encoding,
        )  # fmt: skip
        index[int(minis_sorted[group[0]])] = (cursor, cursor + len(encoded))
        cursor += len(encoded)
        encoded_indexes.append(encoded)

    head = spec.index_length()
    out = np.empty(head + cursor, dtype=np.uint8)
    out[:head] = np.frombuffer(encode_shard_index(index), dtype=np.uint8)
    pos = head
    for rank, i in enumerate(order):
        payload = items[i][1]
        out[pos : pos + lengths[rank]] = np.frombuffer(payload, dtype=np.uint8)
        pos += lengths[rank]
        items[i] = (items[i][0], b"")
    for encoded in encoded_indexes:
        out[pos : pos + len(encoded)] = np.frombuffer(encoded, dtype=np.uint8)
        pos += len(encoded)
    return memoryview(out.data).cast("B")


def iter_shard_items(
    spec: ShardingSpecification, data: bytes | memoryview, where: str
) -> Iterator[tuple[int, memoryview]]:
    """``(key, stored item bytes)`` of every item of a whole shard file, checking every
    range against the file's size."""
    view = memoryview(data).cast("B")
    head = spec.index_length()
    index = decode_shard_index(view[:head], spec, where)
    size = len(view)
    for mini, (start, end) in enumerate(index.tolist()):
        if start == end:
            continue
        if end > size:
            raise DecodingError(
                f"{where}: minishard {mini}'s index ends at byte {end}, past the end of the "
                f"{size}-byte shard file (truncated)"
            )
        msi = decode_minishard_index(view[start:end], spec, f"{where} minishard {mini}")
        for key, item_start, item_size in msi.rows():
            if item_start + item_size > size:
                raise DecodingError(
                    f"{where}: chunk {key} occupies bytes {item_start}-{item_start + item_size}, "
                    f"past the end of the {size}-byte shard file (truncated)"
                )
            yield key, view[item_start : item_start + item_size]


def disassemble_shard(
    spec: ShardingSpecification, data: bytes | memoryview, where: str = "shard"
) -> dict[int, bytes]:
    """``{key: item bytes}`` of a whole shard file, ``data_encoding`` undone."""
    return {
        key: bytes(decode_item(spec, stored, f"{where} chunk {key}"))
        for key, stored in iter_shard_items(spec, data, where)
    }
