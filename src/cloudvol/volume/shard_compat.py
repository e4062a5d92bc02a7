"""CloudVolume's ``ShardReader``: read items of shard files by label, over cloudvol's
ranged reads and bounded index caches (:mod:`cloudvol.volume.shard_reader`).

Index arrays have CloudVolume's shapes: a shard index is ``(2**minishard_bits, 2)``
uint64 absolute ``[start, end)``; a minishard index ``(n, 3)`` uint64 rows of
``[label, absolute offset, size]``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from cloudvol import paths
from cloudvol.exceptions import DecodingError, EmptyFileException, SpecViolation
from cloudvol.precomputed.sharding import (
    ShardingSpecification,
    decode_minishard_index,
    decode_shard_index,
    disassemble_shard,
)
from cloudvol.storage.base import ByteRange, Store
from cloudvol.volume.shard_reader import ShardedKeyReader, ShardIndexCache

__all__ = ["ShardReader"]

_MINISHARD_INDEX_BYTES_EACH = 64 * 1024


class ShardReader:
    """Reads precomputed shard files under ``cloudpath`` (``None``: only the pure
    helpers work). ``cache`` is accepted for compatibility; indexes are cached in
    memory, bounded by the two ``*_cache_size`` counts."""

    def __init__(
        self,
        cloudpath: str | None,
        cache: Any,
        spec: ShardingSpecification,
        shard_index_cache_size: int = 512,
        minishard_index_cache_size: int = 128,
        green: bool = False,
        *,
        store: Store | None = None,
    ) -> None:
        self.cloudpath = cloudpath
        self.cache = cache
        self.spec = spec
        self.green = green
        self._store = store
        self._index_cache = ShardIndexCache(
            shard_index_cache_size * spec.index_length(),
            minishard_index_cache_size * _MINISHARD_INDEX_BYTES_EACH,
        )
        self._readers: dict[str, ShardedKeyReader] = {}
        self._lock = threading.Lock()

    # --- pure helpers ---------------------------------------------------------------

    def get_filename(self, label: int) -> str:
        """The shard file name holding ``label``."""
        return self.compute_shard_location(label)[0]

    def compute_shard_location(self, label: int) -> tuple[str, int]:
        """``(shard file name, minishard number)`` of ``label``."""
        shard, mini = self.spec.locate_one(int(label))
        return self.spec.shard_filename(shard), mini

    def decode_index(self, binary: bytes | None, filename: str = "Shard") -> np.ndarray:
        """A shard index (the first ``index_length()`` bytes of a shard file)."""
        if not binary:
            raise EmptyFileException(f"{filename} was zero bytes.")
        try:
            return decode_shard_index(binary, self.spec, filename)
        except DecodingError as err:
            raise SpecViolation(str(err)) from None

    def decode_minishard_index(self, minishard_index: bytes, filename: str = "") -> np.ndarray:
        """``(n, 3)`` uint64 rows of ``[label, absolute offset, size]``."""
        msi = decode_minishard_index(minishard_index, self.spec, filename or "minishard index")
        return np.stack([msi.ids, msi.starts, msi.sizes], axis=1)

    def disassemble_shard(self, shard: bytes) -> dict[int, bytes]:
        """``{label: bytes}`` of a whole shard file (``data_encoding`` undone)."""
        return disassemble_shard(self.spec, shard)

    # --- IO ------------------------------------------------------------------------

    def _reader(self, path: str) -> ShardedKeyReader:
        with self._lock:
            reader = self._readers.get(path)
            if reader is None:
                if self._store is None:
                    if self.cloudpath is None:
                        raise ValueError("this ShardReader has no cloudpath to read from")
                    from cloudvol.storage import open_store

                    self._store = open_store(paths.parse(self.cloudpath))
                reader = ShardedKeyReader(self._store, path, self.spec, self._index_cache)
                self._readers[path] = reader
            return reader

    def get_index(self, filename: str, path: str = "") -> np.ndarray:
        """The shard index of ``filename`` (``EmptyFileException`` if it is missing)."""
        index = self.get_indices([filename], path)
        found = next(iter(index.values()))
        if found is None:
            raise EmptyFileException(f"{filename} was zero bytes or does not exist.")
        return found

    def get_indices(
        self, filenames: Iterable[str], path: str = "", progress: Any = None
    ) -> dict[str, np.ndarray | None]:
        """``{path/filename: shard index or None if missing}``."""
        reader = self._reader(path)
        names = [filenames] if isinstance(filenames, str) else list(filenames)
        keys = [f"{reader.directory}/{n}" if reader.directory else n for n in names]
        length = self.spec.index_length()
        datas = reader.fetch([ByteRange(k, 0, length) for k in keys], lambda i: "the shard index")
        return {
            key: None if data is None else decode_shard_index(data, self.spec, reader.where(key))
            for key, data in zip(keys, datas, strict=True)
        }

    def exists(
        self, labels: Any, path: str = "", return_byte_range: bool = False, progress: Any = None
    ) -> Any:
        """For each label, its shard file path (or ``[path, offset, size]`` with
        ``return_byte_range``), or ``None`` if absent; one result for a scalar label."""
        single = np.isscalar(labels)
        keys = [int(labels)] if single else [int(k) for k in labels]
        reader = self._reader(path)
        shards, minis = self.spec.locate(np.asarray(keys, dtype=np.uint64))
        locations = reader.locate(keys, shards.tolist(), minis.tolist(), lambda k: f"label {k}")
        results: dict[int, Any] = {}
        for key, loc in zip(keys, locations, strict=True):
            if loc is None:
                results[key] = None
            elif return_byte_range:
                results[key] = [loc.shard_key, loc.start, loc.size]
            else:
                results[key] = loc.shard_key
        return results[keys[0]] if single else results

    def get_data(
        self,
        label: Any,
        path: str = "",
        progress: Any = None,
        parallel: int = 1,
        raw: bool = False,
    ) -> Any:
        """Item bytes by label (``None`` if absent): one ``bytes`` for a scalar label,
        else ``{label: bytes}``. ``raw=True`` leaves ``data_encoding`` in place."""
        single = np.isscalar(label)
        keys = [int(label)] if single else [int(k) for k in label]
        reader = self._reader(path)
        if raw:
            shards, minis = self.spec.locate(np.asarray(keys, dtype=np.uint64))
            locations = reader.locate(keys, shards.tolist(), minis.tolist(), lambda k: f"label {k}")
            present = [(k, loc) for k, loc in zip(keys, locations, strict=True) if loc is not None]
            stored = reader.read([loc for _, loc in present], [k for k, _ in present],
                                 lambda k: f"label {k}")  # fmt: skip
            out: dict[int, bytes | None] = {k: None for k in keys}
            out.update({k: bytes(d) for (k, _), d in zip(present, stored, strict=True)})
        else:
            out = reader.get(keys, lambda k: f"label {k}")
        return out[keys[0]] if single else out

    def list_labels(self, filename: str, path: str = "", size: bool = False) -> Any:
        """Labels in one shard file (ascending), or ``[(label, size)]`` largest first."""
        found = self._minishard_indexes([filename], path)
        if not size:
            if not found:
                return np.zeros((0,), dtype=np.uint64)
            return np.sort(np.concatenate([msi.ids for msi in found]))
        rows = [(int(k), int(s)) for msi in found for k, s in zip(msi.ids, msi.sizes, strict=True)]
        return sorted(rows, key=lambda row: row[1], reverse=True)

    def labels_in_shards(self, filenames: Iterable[str], path: str = "") -> np.ndarray:
        """Every label in the shard files ``filenames`` (ascending): the indexes of all
        of them are fetched in two batched rounds, not file by file."""
        found = self._minishard_indexes(list(filenames), path)
        if not found:
            return np.zeros((0,), dtype=np.uint64)
        return np.sort(np.concatenate([msi.ids for msi in found]))

    def _minishard_indexes(self, filenames: list[str], path: str) -> list[Any]:
        """The non-empty minishard indexes of the shard files ``filenames``."""
        reader = self._reader(path)
        keys = [f"{reader.directory}/{n}" if reader.directory else n for n in filenames]
        pairs = [(key, m) for key in keys for m in range(1 << self.spec.minishard_bits)]
        indexes = reader.minishard_indexes(pairs, lambda k: f"label {k}", {p: 0 for p in pairs})
        return [msi for msi in indexes.values() if msi is not None]
