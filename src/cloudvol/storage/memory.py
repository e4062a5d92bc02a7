"""``mem://bucket/path``: objects in a process-wide, thread-safe registry.

Every :class:`MemoryStore` of the process shares one registry of buckets, so two
volumes opened on the same ``mem://`` path see each other's writes, as with
CloudVolume. Objects keep CloudVolume's local naming (``key.gz`` etc., see
:mod:`cloudvol.storage.file`) and are held as stored (compressed) bytes. Memory is
released only by deleting objects or by :func:`free_memory`.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized

from cloudvol.exceptions import EmptyFileException
from cloudvol.paths import CloudPath
from cloudvol.storage.base import ByteRange, PutOptions, Store, StoreCapabilities
from cloudvol.storage.compression import (
    METHOD_FOR_SUFFIX,
    SUFFIXES,
    compress,
    decompress,
    split_suffix,
    suffix_for,
)
from cloudvol.storage.listing import list_keys
from cloudvol.storage.threads import cpu_threads, imap_unordered, run_all

__all__ = ["MemoryStore", "free_memory", "memory_usage"]

_ALL_SUFFIXES: tuple[str, ...] = ("", *SUFFIXES.values())

_lock = threading.RLock()
_buckets: dict[str, dict[str, bytes]] = {}


def _bucket(name: str) -> dict[str, bytes]:
    with _lock:
        return _buckets.setdefault(name, {})


def free_memory(bucket_or_cloudpath: str | CloudPath | None = None) -> int:
    """Drop ``mem://`` objects and return the number of stored bytes released.

    ``None`` empties every bucket; a bucket name drops that bucket; a ``mem``
    :class:`~cloudvol.paths.CloudPath` drops only the objects under its path.
    """
    with _lock:
        if bucket_or_cloudpath is None:
            freed = sum(len(v) for b in _buckets.values() for v in b.values())
            _buckets.clear()
            return freed
        if isinstance(bucket_or_cloudpath, CloudPath):
            if bucket_or_cloudpath.protocol != "mem":
                raise ValueError(f"free_memory() takes a mem:// path, got {bucket_or_cloudpath}")
            bucket = _buckets.get(bucket_or_cloudpath.bucket)
            if bucket is None:
                return 0
            root = bucket_or_cloudpath.path.strip("/")
            if not root:
                return free_memory(bucket_or_cloudpath.bucket)
            doomed = [k for k in bucket if k.startswith(root + "/") or split_suffix(k)[0] == root]
            return sum(len(bucket.pop(k)) for k in doomed)
        bucket = _buckets.pop(bucket_or_cloudpath, None)
        return 0 if bucket is None else sum(len(v) for v in bucket.values())


def memory_usage(bucket: str | None = None) -> int:
    """Stored bytes held in ``bucket`` (or in every bucket)."""
    with _lock:
        names = list(_buckets) if bucket is None else [bucket]
        return sum(len(v) for n in names for v in _buckets.get(n, {}).values())


class MemoryStore(Store):
    """Objects of ``mem://bucket/path`` in the process-wide registry."""

    capabilities = StoreCapabilities(in_process=True)

    def __init__(self, bucket: str, path: str = "", *, local_suffixes: bool = True) -> None:
        self._bucket_name = bucket
        self._root = path.strip("/")
        self._local_suffixes = local_suffixes

    @property
    def url(self) -> str:
        head = f"mem://{self._bucket_name}"
        return f"{head}/{self._root}" if self._root else head

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r}, local_suffixes={self._local_suffixes})"

    def _full(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self._root}/{key}" if self._root else key

    def _find(self, key: str) -> tuple[str, bytes] | None:
        data = _bucket(self._bucket_name)
        full = self._full(key)
        with _lock:
            for suffix in _ALL_SUFFIXES:
                value = data.get(full + suffix)
                if value is not None:
                    return suffix, value
        return None

    # --- reads ---------------------------------------------------------------

    def _decode(self, key: str, found: tuple[str, bytes] | None) -> bytes | None:
        if found is None:
            return None
        suffix, raw = found
        return decompress(raw, METHOD_FOR_SUFFIX.get(suffix), key=f"{self.url}/{key}")

    def get(self, key: str) -> bytes | None:
        return self._decode(key, self._find(key))

    def get_iter(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        compressed: list[tuple[str, tuple[str, bytes]]] = []
        for key in dict.fromkeys(keys):
            found = self._find(key)
            if found is None or found[0] == "":
                yield key, None if found is None else found[1]
            else:
                compressed.append((key, found))
        threads = cpu_threads() if len(compressed) > 1 else 1
        yield from imap_unordered(
            lambda item: (item[0], self._decode(item[0], item[1])),
            compressed,
            threads=threads,
            kind="cpu",
        )

    def get_ranges(self, ranges: Sequence[ByteRange]) -> list[bytes]:
        out: list[bytes] = []
        for r in ranges:
            found = self._find(r.key)
            if found is None:
                raise EmptyFileException(f"{self.url}/{r.key} does not exist")
            out.append(found[1][r.start : r.end] if r.length > 0 else b"")
        return out

    def size(self, key: str) -> int | None:
        found = self._find(key)
        return None if found is None else len(found[1])

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        return {key: self._find(key) is not None for key in keys}

    def list(self, prefix: str = "", flat: bool = False) -> Iterator[str]:
        return list_keys(prefix, flat, walk=self._walk, scan=self._scan, strip_suffixes=True)

    def _relative_names(self, directory: str) -> builtins.list[str]:
        start = self._full(directory) if directory else (self._root + "/" if self._root else "")
        cut = len(self._root) + 1 if self._root else 0
        with _lock:
            names = list(_bucket(self._bucket_name))
        return [n[cut:] for n in names if n.startswith(start)]

    def _walk(self, directory: str) -> builtins.list[str]:
        return self._relative_names(directory)

    def _scan(self, directory: str) -> tuple[builtins.list[str], builtins.list[str]]:
        files: builtins.list[str] = []
        dirs: set[str] = set()
        for name in self._relative_names(directory):
            rest = name[len(directory) :]
            slash = rest.find("/")
            if slash < 0:
                files.append(name)
            else:
                dirs.add(directory + rest[:slash])
        return files, sorted(dirs)

    # --- writes --------------------------------------------------------------

    def put_many(
        self,
        items: Mapping[str, bytes | memoryview] | Iterable[tuple[str, bytes | memoryview]],
        options: PutOptions = PutOptions(),
    ) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        method = options.compress if self._local_suffixes else None
        suffix = suffix_for(method)

        def store(pair: tuple[str, bytes | memoryview]) -> None:
            data = compress(pair[1], method, options.level)
            data = data if isinstance(data, bytes) else bytes(data)
            full = self._full(pair[0])
            bucket = _bucket(self._bucket_name)
            with _lock:
                # Replace every variant at once: readers never see two versions.
                for other in _ALL_SUFFIXES:
                    if other != suffix:
                        bucket.pop(full + other, None)
                bucket[full + suffix] = data

        single = isinstance(pairs, Sized) and len(pairs) == 1
        threads = cpu_threads() if method is not None and not single else 1
        run_all(store, pairs, threads=threads, kind="cpu")

    def delete_many(self, keys: Iterable[str]) -> None:
        bucket = _bucket(self._bucket_name)
        with _lock:
            for key in keys:
                full = self._full(key)
                for suffix in _ALL_SUFFIXES:
                    bucket.pop(full + suffix, None)
