"""Transport compression: gzip, brotli and zstd on write; also xz and bzip2 on read.

Transport compression wraps whole objects at rest or on the wire. It is marked by a
name suffix on ``file://``/``mem://`` (``key.gz``) and by ``Content-Encoding`` on
object stores and HTTP. Codecs never see it.

Implementation choices (measured by ``benchmarks/bench_gzip.py``, recorded in
``docs/compression.md``):

* gzip compression: levels 1-2 use ISA-L (``isal``), 4-10x faster than zlib at
  zlib-1 ratios; levels 0 and 3-9 use libdeflate (``deflate``), which matches
  zlib's ratio at each level at 1.3-3x zlib's speed. Output is one standard
  RFC 1952 member either way.
* gzip decompression: libdeflate (20-80% faster than ISA-L), with its result
  checked against the trailer at the end of the input (CRC-32 and length),
  because libdeflate silently decodes only the first member of a multi-member
  stream and can return an empty result for a truncated one. When the check
  fails, ISA-L's ``igzip`` decodes every member or raises. The check cannot tell
  a stream of several members whose last payload equals the first (``cat a.gz
  a.gz``) from ``a.gz`` alone; no chunk writer produces such files.
"""

from __future__ import annotations

import bz2
import lzma
import threading
from typing import Any

import brotli
import deflate
import zstandard
from isal import igzip, isal_zlib

from cloudvol.exceptions import CompressionError, DecompressionError, UnsupportedCompressionType

__all__ = [
    "DEFAULT_LEVELS",
    "METHOD_FOR_SUFFIX",
    "READ_METHODS",
    "SUFFIXES",
    "WRITE_METHODS",
    "ChecksummedBytes",
    "as_byte_buffer",
    "compress",
    "decompress",
    "gzip_backend_for_level",
    "normalize_compress",
    "normalize_content_encoding",
    "split_suffix",
    "suffix_for",
]

WRITE_METHODS: tuple[str, ...] = ("gzip", "br", "zstd")
"""Methods ``compress=`` accepts (after normalisation)."""

READ_METHODS: tuple[str, ...] = ("gzip", "br", "zstd", "xz", "bzip2")
"""Methods recognised on stored data."""

SUFFIXES: dict[str, str] = {
    "gzip": ".gz",
    "br": ".br",
    "zstd": ".zstd",
    "xz": ".xz",
    "bzip2": ".bz2",
}
"""Local file / memory name suffix of each method (CloudFiles' convention)."""

METHOD_FOR_SUFFIX: dict[str, str] = {suffix: method for method, suffix in SUFFIXES.items()}

DEFAULT_LEVELS: dict[str, int] = {"gzip": 6, "br": 5, "zstd": 3}
"""Level used when ``level`` is ``None``."""

_LEVEL_RANGES: dict[str, tuple[int, int]] = {"gzip": (0, 9), "br": (0, 11), "zstd": (-7, 22)}

# Aliases seen in Content-Encoding headers and older metadata.
_ENCODING_ALIASES: dict[str, str] = {
    "gzip": "gzip",
    "x-gzip": "gzip",
    "br": "br",
    "zstd": "zstd",
    "xz": "xz",
    "lzma": "xz",
    "bzip2": "bzip2",
    "bz2": "bzip2",
}


def as_byte_buffer(value: Any) -> bytes | bytearray | memoryview:
    """``value`` as a flat, contiguous byte buffer (no copy when it already is one).

    Multi-dimensional or typed buffers (``memoryview(ndarray)``) are viewed as
    their bytes in memory order; non-contiguous views are copied in C order.
    Anything without the buffer protocol raises ``TypeError``.
    """
    if isinstance(value, (bytes, bytearray)):
        return value
    view = memoryview(value)
    if view.c_contiguous:
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    # F-contiguous keeps memory order ("A"); strided views become C-ordered bytes.
    return view.tobytes(order="A")


def normalize_compress(value: Any) -> str | None:
    """Map a CloudVolume ``compress=`` value to ``None``, ``"gzip"``, ``"br"`` or ``"zstd"``.

    ``None``, ``False``, ``0`` and ``""`` mean no compression; ``True``, ``1`` and
    ``"gzip"`` mean gzip. Strings are case-insensitive. Anything else raises
    :class:`~cloudvol.exceptions.UnsupportedCompressionType`.
    """
    if value is None:
        return None
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "":
            return None
        if lowered in WRITE_METHODS:
            return lowered
    elif _is_zero_or_one(value):
        # bool, int and numpy.bool_: CloudVolume treats 1/True as gzip, 0/False as none.
        return "gzip" if value else None
    raise UnsupportedCompressionType(
        f"compress={value!r} is not supported; use one of None, False, '' (none), "
        f"True or 'gzip', 'br', 'zstd'"
    )


def _is_zero_or_one(value: Any) -> bool:
    try:
        return bool(value == 0 or value == 1)
    except (TypeError, ValueError):  # arrays and odd objects compare strangely
        return False


def normalize_content_encoding(value: str | None, *, key: str = "") -> str | None:
    """Map a stored ``Content-Encoding`` value (``gzip``, ``x-gzip``, ``br``…) to a method.

    ``None``, ``""`` and ``identity`` mean uncompressed. Unknown encodings raise
    :class:`~cloudvol.exceptions.UnsupportedCompressionType` naming the key.
    """
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("", "identity"):
        return None
    method = _ENCODING_ALIASES.get(lowered)
    if method is None:
        raise UnsupportedCompressionType(
            f"{key or 'object'}: stored with unsupported Content-Encoding {value!r}; "
            f"cloudvol reads {', '.join(READ_METHODS)}"
        )
    return method


def suffix_for(method: str | None) -> str:
    """The local name suffix for ``method`` (``""`` for none)."""
    return "" if method is None else SUFFIXES[method]


def split_suffix(name: str) -> tuple[str, str | None]:
    """Split a stored local name into ``(key, method)``; ``method`` is ``None`` when
    the name carries no compression suffix."""
    dot = name.rfind(".")
    if dot > name.rfind("/"):
        method = METHOD_FOR_SUFFIX.get(name[dot:])
        if method is not None:
            return name[:dot], method
    return name, None


def gzip_backend_for_level(level: int) -> tuple[str, int]:
    """Which library compresses gzip at CloudVolume ``level`` (0-9), and at which
    of its own levels: ``("isal", 1|2)`` or ``("libdeflate", level)``."""
    if level in (1, 2):
        return "isal", level
    return "libdeflate", level


def _check_level(method: str, level: int | None) -> int:
    if level is None:
        return DEFAULT_LEVELS[method]
    lo, hi = _LEVEL_RANGES[method]
    if not isinstance(level, int) or not lo <= level <= hi:
        raise CompressionError(f"compress_level={level!r} is invalid for {method}; use {lo}-{hi}")
    return level


def compress(
    data: bytes | bytearray | memoryview, method: str | None, level: int | None = None
) -> bytes:
    """Compress ``data`` with ``method`` (``None`` returns it as a flat byte buffer).

    ``level`` follows CloudVolume: gzip 0-9, brotli 0-11, zstd up to 22; ``None``
    picks :data:`DEFAULT_LEVELS`. The gzip output is a single RFC 1952 member.
    """
    data = as_byte_buffer(data)
    if method is None:
        return data  # type: ignore[return-value]  # callers accept any buffer
    if method not in WRITE_METHODS:
        raise UnsupportedCompressionType(
            f"cannot compress with {method!r}; use one of {', '.join(WRITE_METHODS)}"
        )
    lvl = _check_level(method, level)
    if method == "gzip":
        backend, native = gzip_backend_for_level(lvl)
        if backend == "isal":
            return isal_zlib.compress(data, native, 31)
        return bytes(deflate.gzip_compress(data, native))
    if method == "br":
        return brotli.compress(bytes(data) if not isinstance(data, bytes) else data, quality=lvl)
    return _zstd_compressor(lvl).compress(data)


class ChecksummedBytes(bytes):
    """Bytes that came out of a transport encoding whose checksum they passed (gzip's
    CRC-32 and length): exactly the bytes that were compressed, undamaged since.

    Codecs whose own integrity check is costly may skip it for such payloads (crackle's
    per-slice CRCs, see :mod:`cloudvol.codecs.crackle`). Anything that copies or
    slices the bytes gets plain ``bytes`` back and so loses the mark, which errs on
    the side of checking again.
    """

    __slots__ = ()


def decompress(data: bytes | bytearray | memoryview, method: str | None, *, key: str = "") -> bytes:
    """Undo transport compression ``method`` on stored ``data``. gzip's result is
    :class:`ChecksummedBytes`.

    Raises :class:`~cloudvol.exceptions.DecompressionError` naming ``key`` and the
    method when the bytes are not valid for it (including a zero-length object
    that claims to be compressed).
    """
    if method is None:
        return data if isinstance(data, bytes) else bytes(data)
    if len(data) == 0:
        raise DecompressionError(f"{key or 'object'}: zero-length object marked as {method}")
    try:
        if method == "gzip":
            return _gunzip(data)
        if method == "br":
            return brotli.decompress(bytes(data) if not isinstance(data, bytes) else data)
        if method == "zstd":
            return _zstd_decompress(data)
        if method == "xz":
            return lzma.decompress(data)
        if method == "bzip2":
            return bz2.decompress(data)
    except DecompressionError:
        raise
    except Exception as exc:  # each library raises its own error type
        raise DecompressionError(
            f"{key or 'object'}: stored bytes are not valid {method} ({type(exc).__name__}: {exc})"
        ) from exc
    raise UnsupportedCompressionType(
        f"{key or 'object'}: cannot decompress {method!r}; cloudvol reads {', '.join(READ_METHODS)}"
    )


def _gunzip(data: bytes | bytearray | memoryview) -> ChecksummedBytes:
    if data[:2] != b"\x1f\x8b":
        raise ValueError("missing gzip magic number 1f 8b")
    try:
        out = deflate.gzip_decompress(data)
    except (ValueError, deflate.DeflateError):
        out = None
    # libdeflate decodes one member and checks that member's own trailer. Its
    # answer is used only if it is non-empty (it returns b"" for some truncated
    # input) and matches the trailer at the very end of the input, i.e. the stream
    # is one member (see docs/compression.md for the one pathological exception).
    if out and len(data) >= 18:
        crc = int.from_bytes(data[-8:-4], "little")
        isize = int.from_bytes(data[-4:], "little")
        if deflate.crc32(out) == crc and (len(out) & 0xFFFFFFFF) == isize:
            return ChecksummedBytes(out)
    # Multi-member, truncated, empty or corrupt: igzip decodes every member, checking
    # each one's trailer, or raises.
    return ChecksummedBytes(igzip.decompress(data))


# zstandard's (de)compressor objects must not be shared between threads (sharing one
# crashed the process in our tests), so each thread keeps its own.
_zstd_local = threading.local()


def _zstd_compressor(level: int) -> zstandard.ZstdCompressor:
    cache: dict[int, zstandard.ZstdCompressor] = getattr(_zstd_local, "compressors", None) or {}
    _zstd_local.compressors = cache
    if level not in cache:
        cache[level] = zstandard.ZstdCompressor(level=level)
    return cache[level]


def _zstd_decompress(data: bytes | bytearray | memoryview) -> bytes:
    dctx = getattr(_zstd_local, "decompressor", None)
    if dctx is None:
        dctx = _zstd_local.decompressor = zstandard.ZstdDecompressor()
    params = zstandard.get_frame_parameters(data)
    if params.content_size != zstandard.CONTENTSIZE_UNKNOWN:
        return dctx.decompress(data)
    # Streamed frames carry no size; decode incrementally (handles several frames).
    return dctx.decompressobj(read_across_frames=True).decompress(data)
