"""Reading items by uint64 key from the shard files of one directory, through
``Store.get_ranges`` only, with the indexes cached in bounded memory.

Locating items costs at most two rounds of ranged reads, each one batch for every
shard involved: the shard indexes not yet cached, then the minishard indexes not
yet cached. Item bytes are a third batch, which the store coalesces into as few
requests as the byte gaps allow. A warm read of a cached minishard is one round.

Every failure names the shard file and the key: a missing shard file means its
keys are absent; a zero-length shard file reads as absent too (as a zero-length
chunk does); a shard too short for what its indexes promise, a bad gzip stream or
an impossible index is a :class:`~cloudvol.exceptions.DecodingError`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudvol.exceptions import DecodingError, EmptyFileException, StorageError
from cloudvol.precomputed.sharding import (
    INDEX_ENTRY_BYTES,
    MinishardIndex,
    ShardingSpecification,
    decode_item,
    decode_minishard_index,
    decode_shard_index,
)
from cloudvol.storage.base import ByteRange, Store

__all__ = ["ItemLocation", "LRUBytes", "ShardIndexCache", "ShardedKeyReader"]

SHARD_INDEX_CACHE_BYTES = 32 * 1024 * 1024
MINISHARD_INDEX_CACHE_BYTES = 64 * 1024 * 1024
FULL_INDEX_MAX_BYTES = 256 * 1024
"""Shard indexes up to this size (2**14 minishards) are fetched and cached whole;
larger ones entry by entry (16 bytes per needed minishard)."""

Describe = Callable[[int], str]


class LRUBytes:
    """A thread-safe least-recently-used map bounded by the bytes of its values."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return default
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old[1]
            if nbytes > self.max_bytes:
                return  # larger than the whole cache: not worth evicting everything
            self._items[key] = (value, nbytes)
            self.nbytes += nbytes
            while self.nbytes > self.max_bytes:
                _, (_, size) = self._items.popitem(last=False)
                self.nbytes -= size

    def discard_where(self, predicate: Callable[[Hashable], bool]) -> None:
        with self._lock:
            for key in [k for k in self._items if predicate(k)]:
                self.nbytes -= self._items.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0


_ABSENT = "absent"  # cached marker: the shard file does not exist


class ShardIndexCache:
    """Shard indexes (or their entries) and minishard indexes of one directory of
    shard files, each in an LRU bounded by bytes."""

    def __init__(
        self,
        shard_index_bytes: int = SHARD_INDEX_CACHE_BYTES,
        minishard_index_bytes: int = MINISHARD_INDEX_CACHE_BYTES,
    ) -> None:
        self.shard_indexes = LRUBytes(shard_index_bytes)
        self.minishard_indexes = LRUBytes(minishard_index_bytes)

    def invalidate(self, shard_key: str) -> None:
        """Forget everything about one shard file (after it was rewritten or deleted)."""

        def of_shard(key: Hashable) -> bool:
            return key == shard_key or (isinstance(key, tuple) and key[0] == shard_key)

        self.shard_indexes.discard_where(of_shard)
        self.minishard_indexes.discard_where(of_shard)

    def clear(self) -> None:
        self.shard_indexes.clear()
        self.minishard_indexes.clear()


@dataclass(frozen=True, slots=True)
class ItemLocation:
    """Where one item's stored bytes are: ``[start, start + size)`` of ``shard_key``."""

    shard_key: str
    start: int
    size: int

    @property
    def byte_range(self) -> ByteRange:
        return ByteRange(self.shard_key, self.start, self.start + self.size)


class ShardedKeyReader:
    """Items of the shard files under ``directory`` (relative to the store's root;
    ``""`` for the root itself), located through cached indexes."""

    def __init__(
        self,
        store: Store,
        directory: str,
        spec: ShardingSpecification,
        cache: ShardIndexCache | None = None,
    ) -> None:
        self.store = store
        self.directory = directory.strip("/")
        self.spec = spec
        self.cache = cache if cache is not None else ShardIndexCache()
        self.whole_index = spec.index_length() <= FULL_INDEX_MAX_BYTES

    def shard_key(self, shard_number: int) -> str:
        name = self.spec.shard_filename(shard_number)
        return f"{self.directory}/{name}" if self.directory else name

    def where(self, shard_key: str) -> str:
        return f"{self.store.url}/{shard_key}"

    # --- ranged reads with errors that name the object --------------------------------

    def fetch(self, ranges: Sequence[ByteRange], what: Callable[[int], str]) -> list[bytes | None]:
        """Stored bytes of each range, ``None`` where its object is missing or empty.
        A range the object is too short for raises :class:`DecodingError` naming
        the object and ``what(i)`` (called only then)."""
        if not ranges:
            return []
        try:
            results: list[bytes | None] = list(self.store.get_ranges(ranges))
        except (EmptyFileException, StorageError):
            # A missing object or a range past its end fails the whole batch:
            # retry object by object to tell which.
            results = self._fetch_each_object(ranges, what)
        for i, (r, data) in enumerate(zip(ranges, results, strict=True)):
            if data is None or len(data) == r.length:
                continue
            size = self.store.size(r.key)
            if not size:
                results[i] = None  # a zero-length object reads as absent, like a chunk
                continue
            raise DecodingError(
                f"{self.where(r.key)}: {what(i)} should be bytes {r.start}-{r.end}, past the "
                f"end of the {size}-byte shard file (truncated or corrupt)"
            )
        return results

    def _fetch_each_object(
        self, ranges: Sequence[ByteRange], what: Callable[[int], str]
    ) -> list[bytes | None]:
        results: list[bytes | None] = [None] * len(ranges)
        by_key: dict[str, list[int]] = {}
        for i, r in enumerate(ranges):
            by_key.setdefault(r.key, []).append(i)
        for key, members in by_key.items():
            try:
                got = self.store.get_ranges([ranges[i] for i in members])
            except EmptyFileException:
                continue
            except StorageError:
                size = self.store.size(key)
                if size is None or size == 0:
                    continue
                beyond = [i for i in members if ranges[i].end > size]
                if not beyond:
                    raise
                first = beyond[0]
                raise DecodingError(
                    f"{self.where(key)}: {what(first)} should be bytes {ranges[first].start}-"
                    f"{ranges[first].end}, past the end of the {size}-byte shard file "
                    f"(truncated or corrupt)"
                ) from None
            for i, data in zip(members, got, strict=True):
                results[i] = data
        return results

    # --- indexes ------------------------------------------------------------------------

    def minishard_ranges(
        self, pairs: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], tuple[int, int] | None]:
        """Absolute ``[start, end)`` of each ``(shard key, minishard)``'s index, or
        ``None`` if the shard file is absent."""
        out: dict[tuple[str, int], tuple[int, int] | None] = {}
        if self.whole_index:
            headers: dict[str, np.ndarray | None] = {}
            wanted: list[str] = []
            for shard_key, _ in pairs:
                if shard_key in headers:
                    continue
                cached = self.cache.shard_indexes.get(shard_key)
                if cached is None:
                    wanted.append(shard_key)
                    headers[shard_key] = None
                else:
                    headers[shard_key] = None if isinstance(cached, str) else cached
            length = self.spec.index_length()
            fetched = self.fetch(
                [ByteRange(k, 0, length) for k in wanted], lambda i: "the shard index"
            )
            for shard_key, data in zip(wanted, fetched, strict=True):
                if data is None:
                    self.cache.shard_indexes.put(shard_key, _ABSENT, 64)
                    continue
                index = decode_shard_index(data, self.spec, self.where(shard_key))
                self.cache.shard_indexes.put(shard_key, index, index.nbytes)
                headers[shard_key] = index
            for shard_key, mini in pairs:
                header = headers[shard_key]
                out[(shard_key, mini)] = (
                    None if header is None else (int(header[mini, 0]), int(header[mini, 1]))
                )
            return out
        # Large shard indexes: only the 16-byte entries needed.
        need: list[tuple[str, int]] = []
        for pair in dict.fromkeys(pairs):
            cached = self.cache.shard_indexes.get(pair)
            if cached is None:
                need.append(pair)
            else:
                out[pair] = None if isinstance(cached, str) else cached
        fetched = self.fetch(
            [ByteRange(k, INDEX_ENTRY_BYTES * m, INDEX_ENTRY_BYTES * (m + 1)) for k, m in need],
            lambda i: f"the shard index entry of minishard {need[i][1]}",
        )
        head = self.spec.index_length()
        for pair, data in zip(need, fetched, strict=True):
            if data is None:
                self.cache.shard_indexes.put(pair, _ABSENT, 64)
                out[pair] = None
                continue
            start, end = (int(v) for v in np.frombuffer(data, dtype="<u8"))
            if start > end:
                raise DecodingError(
                    f"{self.where(pair[0])}: shard index entry of minishard {pair[1]} is "
                    f"corrupt ([{start}, {end}))"
                )
            entry = (start + head, end + head)
            self.cache.shard_indexes.put(pair, entry, 64)
            out[pair] = entry
        return out

    def minishard_indexes(
        self,
        pairs: Sequence[tuple[str, int]],
        describe: Describe,
        first_key: dict[tuple[str, int], int],
    ) -> dict[tuple[str, int], MinishardIndex | None]:
        """The decoded minishard index of each ``(shard key, minishard)`` (``None``:
        the shard is absent or the minishard empty). ``first_key`` gives a key looked
        up in each minishard, named in errors."""
        out: dict[tuple[str, int], MinishardIndex | None] = {}
        need: list[tuple[str, int]] = []
        for pair in dict.fromkeys(pairs):
            cached = self.cache.minishard_indexes.get(pair)
            if cached is None:
                need.append(pair)
            else:
                out[pair] = cached
        if not need:
            return out
        ranges = self.minishard_ranges(need)
        fetch: list[tuple[str, int]] = []
        for pair in need:
            span = ranges[pair]
            if span is None or span[0] == span[1]:
                out[pair] = None
            else:
                fetch.append(pair)

        def label(j: int) -> str:
            _, mini = fetch[j]
            return f"the index of minishard {mini} (looking up {describe(first_key[fetch[j]])})"

        spans = [ranges[pair] for pair in fetch]
        datas = self.fetch(
            [ByteRange(k, s[0], s[1]) for (k, _), s in zip(fetch, spans, strict=True) if s], label
        )
        for j, (pair, data) in enumerate(zip(fetch, datas, strict=True)):
            if data is None:
                # The file vanished between the two rounds: treat as absent.
                out[pair] = None
                continue
            try:
                msi = decode_minishard_index(data, self.spec, self.where(pair[0]))
            except DecodingError as err:
                raise type(err)(f"{err} [{label(j)}]") from None
            self.cache.minishard_indexes.put(pair, msi, msi.nbytes + 64)
            out[pair] = msi
        return out

    # --- items ----------------------------------------------------------------------------

    def locate(
        self, keys: Sequence[int], shards: Sequence[int], minis: Sequence[int], describe: Describe
    ) -> list[ItemLocation | None]:
        """Where each key's item is (``None``: absent). ``shards``/``minis`` are the
        keys' shard and minishard numbers (from the spec)."""
        shard_keys = {s: self.shard_key(s) for s in set(shards)}
        pairs = [(shard_keys[s], m) for s, m in zip(shards, minis, strict=True)]
        first_key: dict[tuple[str, int], int] = {}
        for pair, key in zip(pairs, keys, strict=True):
            first_key.setdefault(pair, key)
        indexes = self.minishard_indexes(pairs, describe, first_key)
        out: list[ItemLocation | None] = []
        for pair, key in zip(pairs, keys, strict=True):
            msi = indexes[pair]
            found = None if msi is None else msi.find(key)
            out.append(None if found is None else ItemLocation(pair[0], found[0], found[1]))
        return out

    def read(
        self, locations: Sequence[ItemLocation], keys: Sequence[int], describe: Describe
    ) -> list[bytes]:
        """Stored bytes of located items (``data_encoding`` not yet undone)."""
        datas = self.fetch([loc.byte_range for loc in locations], lambda i: describe(keys[i]))
        out: list[bytes] = []
        for loc, key, data in zip(locations, keys, datas, strict=True):
            if data is None:
                raise DecodingError(
                    f"{self.where(loc.shard_key)}: the shard file disappeared while reading "
                    f"{describe(key)}"
                )
            out.append(data)
        return out

    def decode(
        self, stored: bytes | memoryview, location: ItemLocation, key: int, describe: Describe
    ) -> bytes | memoryview:
        """Undo ``data_encoding`` on an item's stored bytes; errors name the shard
        file and ``describe(key)`` (called only then)."""
        if self.spec.data_encoding == "raw":
            return stored
        try:
            return decode_item(self.spec, stored, "gzip data")
        except DecodingError as err:
            raise type(err)(f"{self.where(location.shard_key)}: {describe(key)}: {err}") from None

    def get(self, keys: Sequence[int], describe: Describe | None = None) -> dict[int, bytes | None]:
        """``{key: item bytes (data_encoding undone), or None if absent}``."""
        describe = describe or (lambda k: f"key {k}")
        keys = [int(k) for k in dict.fromkeys(int(k) for k in keys)]
        if not keys:
            return {}
        shards, minis = self.spec.locate(np.asarray(keys, dtype=np.uint64))
        locations = self.locate(keys, shards.tolist(), minis.tolist(), describe)
        present = [(k, loc) for k, loc in zip(keys, locations, strict=True) if loc is not None]
        out: dict[int, bytes | None] = {k: None for k in keys}
        stored = self.read([loc for _, loc in present], [k for k, _ in present], describe)
        for (key, loc), data in zip(present, stored, strict=True):
            out[key] = bytes(self.decode(data, loc, key, describe))
        return out
