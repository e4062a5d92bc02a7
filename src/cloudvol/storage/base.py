"""The storage protocol: key -> bytes, batch-first.

Every backend (file, mem, s3, gs, http) implements :class:`Store`. Keys are
``/``-separated paths relative to the store's root (a layer directory). Values
handed to ``put_many`` and returned by ``get_many``/``get_iter`` are the *logical*
bytes: transport compression (gzip, brotli, zstd) is applied and removed here, in
the storage layer, and never seen by codecs. Values that passed gzip's checksum come
back as :class:`~cloudvol.storage.compression.ChecksummedBytes`, a ``bytes`` subclass
some codecs use to skip a check of their own. ``get_ranges`` is the exception: it
returns stored bytes, because byte offsets only make sense on the stored object.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ByteRange", "PutOptions", "Store", "StoreCapabilities"]


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A half-open byte range ``[start, end)`` of object ``key``."""

    key: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class StoreCapabilities:
    """What a backend can do; callers test flags instead of catching errors."""

    supports_writes: bool = True
    supports_listing: bool = True
    supports_ranges: bool = True
    supports_deletes: bool = True
    #: objects live in this process or on a local disk: a call per object is cheap,
    #: so callers may fetch or write one object per worker thread (and decode or
    #: encode it there) instead of batching
    in_process: bool = False


@dataclass(frozen=True, slots=True)
class PutOptions:
    """How objects are written.

    ``compress`` is already normalised: ``None`` (none), ``"gzip"``, ``"br"`` or
    ``"zstd"``. ``level`` ``None`` means the codec default (gzip 6-equivalent,
    brotli 5, zstd 3). ``cache_control`` and ``content_type`` become object
    metadata where the backend keeps metadata and are ignored otherwise.
    """

    compress: str | None = None
    level: int | None = None
    content_type: str | None = None
    cache_control: str | None = None


class Store(abc.ABC):
    """A flat key -> bytes namespace rooted at one cloudpath directory."""

    capabilities: StoreCapabilities = StoreCapabilities()

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The root of this store as a cloudpath, without credentials."""

    @abc.abstractmethod
    def get_iter(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """Fetch ``keys`` concurrently, yielding ``(key, bytes or None if missing)``
        in completion order (not request order), transport-decompressed."""

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        """Fetch ``keys``; missing keys map to ``None``."""
        return dict(self.get_iter(keys))

    def get(self, key: str) -> bytes | None:
        """Fetch one key (``None`` if missing)."""
        return self.get_many([key])[key]

    @abc.abstractmethod
    def put_many(
        self,
        items: Mapping[str, bytes | memoryview] | Iterable[tuple[str, bytes | memoryview]],
        options: PutOptions = PutOptions(),
    ) -> None:
        """Write every item; each object is replaced atomically (never half-written)."""

    def put(self, key: str, value: bytes | memoryview, options: PutOptions = PutOptions()) -> None:
        self.put_many([(key, value)], options)

    @abc.abstractmethod
    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete keys (every compression variant); deleting a missing key is not an error."""

    @abc.abstractmethod
    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        """Whether each key exists (in any compression variant)."""

    @abc.abstractmethod
    def list(self, prefix: str = "", flat: bool = False) -> Iterator[str]:
        """Keys under ``prefix`` (compression suffixes stripped). ``flat=True``
        lists only one level, like CloudFiles."""

    @abc.abstractmethod
    def get_ranges(self, ranges: Sequence[ByteRange]) -> builtins.list[bytes]:
        """Stored bytes of each range, in request order; nearby ranges of one object
        are coalesced into fewer requests. A missing object raises
        :class:`~cloudvol.exceptions.EmptyFileException`."""

    @abc.abstractmethod
    def size(self, key: str) -> int | None:
        """Stored size in bytes, or ``None`` if missing."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the store must not be used afterwards."""
