"""``file://``: a directory of plain files, with CloudVolume's local naming.

An object written with transport compression is stored as ``key.gz``, ``key.br``
or ``key.zstd`` (``local_suffixes=True``, CloudVolume's convention), or as plain
bytes under ``key`` (``local_suffixes=False``, what Neuroglancer and TensorStore
read from a directory). Either way, reads probe ``key``, ``key.gz``, ``key.br``,
``key.zstd``, ``key.xz``, ``key.bz2`` (last hit first) and listings strip the
suffix, and a write removes the key's other variants so a stale ``key`` can never
shadow a newer ``key.gz``.

Every write goes to a temporary file in the target directory that is renamed over
the target (``os.replace``): readers see the old object or the new one, never a
partial file, and a failed write leaves nothing behind.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from itertools import groupby

from cloudvol.exceptions import EmptyFileException, StorageError
from cloudvol.storage.base import ByteRange, PutOptions, Store, StoreCapabilities
from cloudvol.storage.compression import (
    METHOD_FOR_SUFFIX,
    SUFFIXES,
    compress,
    decompress,
    suffix_for,
)
from cloudvol.storage.listing import list_keys
from cloudvol.storage.threads import DEFAULT_FILE_THREADS, imap_unordered, run_all

__all__ = ["TEMP_SUFFIX", "FileStore", "atomic_write", "is_temp_name"]

TEMP_SUFFIX = ".cvtmp"
"""Temporary files are named ``.{name}.{random}.cvtmp`` next to their target."""

ALL_SUFFIXES: tuple[str, ...] = ("", *SUFFIXES.values())

# Datasets nearly always use one convention, so the suffix that last matched is
# tried first; shared by all stores in the process (a plain str swap is atomic).
_last_hit = [""]


def _probe_order() -> Iterator[str]:
    first = _last_hit[0]
    yield first
    for suffix in ALL_SUFFIXES:
        if suffix != first:
            yield suffix


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of our in-progress temporary files."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def atomic_write(path: str, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically, creating parent directories.

    On any failure (including KeyboardInterrupt) the temporary file is removed and
    an existing ``path`` is left untouched.
    """
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
    # 0o666 & ~umask, the permissions open() would give (mkstemp would give 0o600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        with open(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FileStore(Store):
    """Objects as files under ``root`` (an absolute directory)."""

    capabilities = StoreCapabilities(in_process=True)

    def __init__(
        self,
        root: str,
        *,
        local_suffixes: bool = True,
        threads: int = DEFAULT_FILE_THREADS,
    ) -> None:
        self._root = os.path.abspath(os.path.expanduser(root))
        self._local_suffixes = local_suffixes
        self._threads = threads

    @property
    def url(self) -> str:
        return "file://" + self._root

    def __repr__(self) -> str:
        return f"FileStore({self.url!r}, local_suffixes={self._local_suffixes})"

    def _path(self, key: str) -> str:
        # Keys are relative: a leading "/" must not escape the root.
        return os.path.join(self._root, key.lstrip("/"))

    def _error(self, key: str, exc: OSError) -> StorageError:
        reason = exc.strerror or type(exc).__name__
        return StorageError(f"{self.url}/{key}: {reason}")

    # --- reads ---------------------------------------------------------------

    def _find(self, key: str) -> tuple[str, str] | None:
        """``(stored path, suffix)`` of the variant of ``key`` that exists."""
        base = self._path(key)
        for suffix in _probe_order():
            if os.path.isfile(base + suffix):
                _last_hit[0] = suffix
                return base + suffix, suffix
        return None

    def _read_stored(self, key: str) -> tuple[bytes, str] | None:
        base = self._path(key)
        for suffix in _probe_order():
            try:
                with open(base + suffix, "rb", buffering=0) as f:
                    raw = f.read()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue
            except OSError as exc:
                raise self._error(key, exc) from exc
            if suffix != _last_hit[0]:
                _last_hit[0] = suffix
            return raw, suffix
        return None

    def _read(self, key: str) -> tuple[str, bytes | None]:
        found = self._read_stored(key)
        if found is None:
            return key, None
        raw, suffix = found
        return key, decompress(raw, METHOD_FOR_SUFFIX.get(suffix), key=f"{self.url}/{key}")

    def get(self, key: str) -> bytes | None:
        return self._read(key)[1]

    def get_iter(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        unique = list(dict.fromkeys(keys))
        threads = self._threads if len(unique) > 1 else 1
        yield from imap_unordered(self._read, unique, threads=threads)

    def get_ranges(self, ranges: Sequence[ByteRange]) -> list[bytes]:
        out: list[bytes] = [b""] * len(ranges)
        order = sorted(range(len(ranges)), key=lambda i: ranges[i].key)
        for key, group in groupby(order, key=lambda i: ranges[i].key):
            found = self._find(key)
            if found is None:
                raise EmptyFileException(f"{self.url}/{key} does not exist")
            try:
                fd = os.open(found[0], os.O_RDONLY)
                try:
                    for i in group:
                        r = ranges[i]
                        out[i] = os.pread(fd, max(0, r.length), r.start) if r.length > 0 else b""
                finally:
                    os.close(fd)
            except OSError as exc:
                raise self._error(key, exc) from exc
        return out

    def size(self, key: str) -> int | None:
        found = self._find(key)
        if found is None:
            return None
        try:
            return os.stat(found[0]).st_size
        except FileNotFoundError:
            return None

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        return {key: self._find(key) is not None for key in keys}

    def list(self, prefix: str = "", flat: bool = False) -> Iterator[str]:
        return list_keys(prefix, flat, walk=self._walk, scan=self._scan, strip_suffixes=True)

    def _walk(self, directory: str) -> Iterator[str]:
        top = self._path(directory)
        for dirpath, _dirs, files in os.walk(top):
            rel = os.path.relpath(dirpath, self._root).replace(os.sep, "/")
            head = "" if rel == "." else rel + "/"
            for name in files:
                if not is_temp_name(name):
                    yield head + name

    def _scan(self, directory: str) -> tuple[builtins.list[str], builtins.list[str]]:
        files: builtins.list[str] = []
        dirs: builtins.list[str] = []
        try:
            entries = list(os.scandir(self._path(directory)))
        except (FileNotFoundError, NotADirectoryError):
            return files, dirs
        for entry in entries:
            if entry.is_dir():
                dirs.append(directory + entry.name)
            elif not is_temp_name(entry.name):
                files.append(directory + entry.name)
        return files, dirs

    # --- writes --------------------------------------------------------------

    def put_many(
        self,
        items: Mapping[str, bytes | memoryview] | Iterable[tuple[str, bytes | memoryview]],
        options: PutOptions = PutOptions(),
    ) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items

        def write(pair: tuple[str, bytes | memoryview]) -> None:
            self._write(pair[0], pair[1], options)

        # One object is written inline: callers writing from their own worker
        # threads should not pay (or nest) a hand-off to this store's pool.
        single = isinstance(pairs, Sized) and len(pairs) == 1
        run_all(write, pairs, threads=1 if single else self._threads)

    def _write(self, key: str, value: bytes | memoryview, options: PutOptions) -> None:
        method = options.compress if self._local_suffixes else None
        data = compress(value, method, options.level)
        base = self._path(key)
        suffix = suffix_for(method)
        try:
            atomic_write(base + suffix, data)
            self._remove_variants(base, keep=suffix)
        except OSError as exc:
            raise self._error(key, exc) from exc

    @staticmethod
    def _remove_variants(base: str, keep: str | None) -> None:
        for suffix in ALL_SUFFIXES:
            if suffix != keep:
                # A directory named like the key is not an object: leave it.
                with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
                    os.unlink(base + suffix)

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            try:
                self._remove_variants(self._path(key), keep=None)
            except OSError as exc:
                raise self._error(key, exc) from exc
