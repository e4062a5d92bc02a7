"""``fpzip``: one fpzip 1.3 stream per chunk (CloudVolume-only encoding).

The stream's own header holds the type, precision and dimensions; CloudVolume writes a
Fortran-ordered ``(x, y, z, c)`` chunk as ``nx = X, ny = Y, nz = Z, nf = C`` with
``precision = fpzip_precision`` (absent: 0, i.e. lossless).

Library: libfpzip as shipped inside the ``fpzip`` package, called through ``ctypes``
(:class:`_NativeFpzip`). The package's own Cython binding holds the GIL for the
whole (de)compression, so chunks coded on several threads ran one at a time
(measured: a pure-Python thread kept 6-9% of its speed during one 128³ binding call
and ~30% over back-to-back 64³ calls, running only between them; 99% with ctypes,
which drops the GIL for every foreign call). Same library, same bytes, same
single-thread speed; a 2-thread pool on 2 cores codes ~2x faster. The C entry
points also let the decoder check the header against the chunk before allocating
and count the bytes it consumed, which catches trailing and (slightly) truncated data.
Where the extension does not export the C symbols (a build with hidden symbols),
:class:`_BindingFpzip` falls back to the binding; both write identical bytes.

libfpzip has no checksum and does not bounds-check its range decoder: a stream whose
payload is corrupted or cut short can make it read and write out of bounds and crash
(in cloud-volume too). This codec validates everything checkable before decoding,
then decodes in a helper process, so a crash becomes a :class:`DecodingError`.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from cloudvol.codecs.base import ChunkSpec
from cloudvol.codecs.worker_pool import WorkerCrashed, run_isolated
from cloudvol.exceptions import DecodingError, EncodingError

__all__ = [
    "FpzipCodec",
    "check_float",
    "decode_stream",
    "describe_stream",
    "encode_stream",
    "precision_option",
]

#: fpzip's ``type`` field: 0 float, 1 double
_FPZ_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
_TYPES_BY_CODE: dict[bool, np.dtype] = {False: np.dtype(np.float32), True: np.dtype(np.float64)}
#: a stream's ``(nx, ny, nz, nf)`` and element type
_Layout = tuple[tuple[int, ...], np.dtype]
#: libfpzip error codes (``fpzip_errno``), for messages
_FPZ_ERRORS = {
    1: "cannot read stream",
    2: "cannot write stream",
    3: "not an fpz stream",
    4: "fpz format version not supported",
    5: "precision not supported",
    6: "memory buffer overflow",
    7: "internal error",
}
#: zero bytes after a copied stream: a stream cut a few bytes short then reads
#: defined zeros (and is reported as truncated) rather than whatever follows in memory
_READ_PAD = 64


class _FPZ(ctypes.Structure):
    """The public head of libfpzip's stream handle (``fpzip.h``)."""

    _fields_ = [(name, ctypes.c_int) for name in ("type", "prec", "nx", "ny", "nz", "nf")]


_FPZ_P = ctypes.POINTER(_FPZ)


class _NativeFpzip:
    """libfpzip's C API, resolved from the ``fpzip`` extension module."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        self._errno = ctypes.c_int.in_dll(lib, "fpzip_errno")
        signatures: dict[str, tuple[Any, list[Any]]] = {
            "fpzip_read_from_buffer": (_FPZ_P, [ctypes.c_void_p]),
            "fpzip_read_header": (ctypes.c_int, [_FPZ_P]),
            "fpzip_read": (ctypes.c_size_t, [_FPZ_P, ctypes.c_void_p]),
            "fpzip_read_close": (None, [_FPZ_P]),
            "fpzip_write_to_buffer": (_FPZ_P, [ctypes.c_void_p, ctypes.c_size_t]),
            "fpzip_write_header": (ctypes.c_int, [_FPZ_P]),
            "fpzip_write": (ctypes.c_size_t, [_FPZ_P, ctypes.c_void_p]),
            "fpzip_write_close": (None, [_FPZ_P]),
        }
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        self._lib = lib

    def _error(self) -> str:
        # fpzip_errno is one process-wide int; under threads it may name another
        # call's error, so it only decorates the message.
        return _FPZ_ERRORS.get(self._errno.value, f"error {self._errno.value}")

    def compress(self, array: np.ndarray, precision: int) -> bytes:
        """fpzip stream of a Fortran-contiguous 4-D float array."""
        lib = self._lib
        # Incompressible data grows a little; retry bigger on overflow.
        capacity = array.nbytes + array.nbytes // 4 + 1024
        for _ in range(4):
            out = np.empty(capacity, dtype=np.uint8)
            fpz = lib.fpzip_write_to_buffer(out.ctypes.data, capacity)
            try:
                head = fpz.contents
                head.type, head.prec = _FPZ_TYPES[array.dtype], precision
                head.nx, head.ny, head.nz, head.nf = array.shape
                written = 0
                if lib.fpzip_write_header(fpz):
                    written = lib.fpzip_write(fpz, array.ctypes.data)
            finally:
                lib.fpzip_write_close(fpz)
            if written:
                return out[:written].tobytes()
            if self._errno.value != 6:
                break
            capacity *= 2
        raise ValueError(self._error())

    def _open(self, data: bytes | memoryview, what: str) -> tuple[Any, np.ndarray, _Layout]:
        """A read handle with its header read (close it with ``fpzip_read_close``), the
        zero-padded copy of ``data`` it reads (keep it alive until then), and the
        header's layout."""
        raw = np.frombuffer(data, dtype=np.uint8)
        buf = np.empty(raw.size + _READ_PAD, dtype=np.uint8)
        buf[: raw.size] = raw
        buf[raw.size :] = 0
        fpz = self._lib.fpzip_read_from_buffer(buf.ctypes.data)
        if not self._lib.fpzip_read_header(fpz):
            self._lib.fpzip_read_close(fpz)
            raise DecodingError(f"{what}: bad fpzip header ({self._error()})")
        head = fpz.contents
        layout = ((head.nx, head.ny, head.nz, head.nf), _TYPES_BY_CODE[bool(head.type)])
        return fpz, buf, layout

    def describe(self, data: bytes | memoryview, what: str) -> _Layout:
        """The ``(nx, ny, nz, nf)`` dimensions and dtype the stream's header states."""
        fpz, _, layout = self._open(data, what)
        self._lib.fpzip_read_close(fpz)
        return layout

    def decompress_into(self, data: bytes | memoryview, out: np.ndarray, what: str) -> None:
        """Decode ``data`` into the Fortran-contiguous ``out`` after checking that the
        header describes exactly ``out`` (shape and type). ``what`` names the chunk."""
        fpz, buf, (found, dtype) = self._open(data, what)
        try:
            _check_layout(found, dtype, out, what)
            consumed = self._lib.fpzip_read(fpz, out.ctypes.data)
        finally:
            self._lib.fpzip_read_close(fpz)
        n = buf.size - _READ_PAD
        if consumed == 0:
            raise DecodingError(f"{what}: fpzip stream is corrupt ({self._error()})")
        if consumed != n:
            state = "truncated" if consumed > n else "followed by extra bytes"
            raise DecodingError(
                f"{what}: fpzip stream is {state} (decoder used {consumed} bytes, got {n})"
            )


class _BindingFpzip:
    """The ``fpzip`` package's Cython functions (hold the GIL; no header pre-check)."""

    def compress(self, array: np.ndarray, precision: int) -> bytes:
        import fpzip

        try:
            return bytes(fpzip.compress(array, precision=precision, order="F"))
        except fpzip.FpzipError as err:
            raise ValueError(str(err)) from None

    def _decompress(self, data: bytes | memoryview, what: str) -> np.ndarray:
        import fpzip

        try:
            return fpzip.decompress(bytes(data) + bytes(_READ_PAD), order="F")
        except fpzip.FpzipError as err:
            raise DecodingError(f"{what}: {err}") from None

    def describe(self, data: bytes | memoryview, what: str) -> _Layout:
        decoded = self._decompress(data, what)  # the binding cannot read just the header
        return decoded.shape, decoded.dtype

    def decompress_into(self, data: bytes | memoryview, out: np.ndarray, what: str) -> None:
        decoded = self._decompress(data, what)
        _check_layout(decoded.shape, decoded.dtype, out, what)
        out[...] = decoded


def _check_layout(found: tuple[int, ...], dtype: np.dtype, out: np.ndarray, what: str) -> None:
    if tuple(found) != out.shape or dtype != out.dtype:
        got = "×".join(map(str, found))
        expected = "×".join(map(str, out.shape))
        raise DecodingError(
            f"{what}: fpzip stream holds {got} {dtype}, expected {expected} {out.dtype}"
        )


def _load() -> _NativeFpzip | _BindingFpzip:
    import fpzip

    try:
        return _NativeFpzip(fpzip.__file__)
    except (OSError, AttributeError, ValueError):
        return _BindingFpzip()


_FPZIP: _NativeFpzip | _BindingFpzip = _load()


def check_float(encoding: str, dtype: np.dtype, num_channels: int) -> None:
    """Raise :class:`EncodingError` unless fpzip can hold ``dtype`` × ``num_channels``."""
    if np.dtype(dtype) not in _FPZ_TYPES:
        raise EncodingError(
            f"{encoding} encoding cannot store dtype {dtype}: it takes float32 or float64"
        )
    if num_channels < 1:
        raise EncodingError(f"{encoding} encoding needs at least one channel, got {num_channels}")


def precision_option(options: Any, dtype: np.dtype, what: str) -> int:
    """The scale's ``fpzip_precision`` (or ``level``, the key CloudVolume's
    ``chunks.encode`` takes): 0 (lossless) when absent or null, else the bits to
    keep — 2-32 for float32, an even number 4-64 for float64."""
    value = options.get("fpzip_precision")
    if value is None:
        value = options.get("level")
    if value is None:
        return 0
    integral = isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer()
    )
    if isinstance(value, bool) or not integral:
        raise EncodingError(f"{what}: fpzip_precision must be an integer, got {value!r}")
    value = int(value)
    bits = np.dtype(dtype).itemsize * 8
    ok = value == 0 or (2 <= value <= 32 if bits == 32 else 4 <= value <= 64 and value % 2 == 0)
    if not ok:
        allowed = "2-32" if bits == 32 else "an even number 4-64"
        raise EncodingError(
            f"{what}: fpzip_precision {value} is not supported for {dtype} "
            f"(0 for lossless, or {allowed} bits)"
        )
    return value


def encode_stream(array: np.ndarray, precision: int, what: str) -> bytes:
    """fpzip stream of a 4-D float array, read in Fortran order (``nx`` = axis 0)."""
    try:
        return _FPZIP.compress(np.asfortranarray(array), precision)
    except ValueError as err:
        raise EncodingError(f"{what}: fpzip cannot encode the chunk ({err})") from None


def decode_stream(
    data: bytes | memoryview, shape: tuple[int, ...], dtype: np.dtype, what: str
) -> np.ndarray:
    """Decode an fpzip stream that must hold exactly a ``shape`` array of ``dtype``
    (Fortran order); ``what`` names the chunk and encoding in errors.

    Runs in a helper process (:mod:`cloudvol.codecs.worker_pool`): libfpzip dies on
    most damaged payloads, and that must cost a :class:`DecodingError`, not the
    interpreter."""
    if len(data) == 0:
        raise DecodingError(f"{what}: fpzip stream is empty")

    def crashed(err: WorkerCrashed) -> DecodingError:
        return DecodingError(f"{what}: {err.describe('fpzip decoder')}")

    args = (bytes(data), tuple(shape), np.dtype(dtype), what)
    return run_isolated("cloudvol.codecs.fpzip:decode_stream_here", args, crashed)


def decode_stream_here(
    data: bytes | memoryview, shape: tuple[int, ...], dtype: np.dtype, what: str
) -> np.ndarray:
    """:func:`decode_stream` in this process: a corrupt payload may crash it."""
    out = np.empty(shape, dtype=dtype, order="F")
    _FPZIP.decompress_into(data, out, what)
    return out


def describe_stream(data: bytes | memoryview, what: str) -> _Layout:
    """``((nx, ny, nz, nf), dtype)`` from an fpzip stream's header."""
    if len(data) == 0:
        raise DecodingError(f"{what}: fpzip stream is empty")
    return _FPZIP.describe(data, what)


def _what(spec: ChunkSpec, encoding: str) -> str:
    return f"{encoding} chunk {spec.key}"


class FpzipCodec:
    """Lossless (or ``fpzip_precision``-bit lossy) float chunks, any channel count."""

    name = "fpzip"
    transport_compressed_by_default = False
    content_type = "image/x.fpzip"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_float(self.name, dtype, num_channels)

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        what = _what(spec, self.name)
        if array.shape != spec.shape:
            raise EncodingError(f"{what}: array shape {array.shape} != chunk shape {spec.shape}")
        self.check(spec.dtype, spec.shape[3])
        precision = precision_option(spec.options, spec.dtype, what)
        return encode_stream(np.asarray(array, dtype=spec.dtype), precision, what)

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        what = _what(spec, self.name)
        return decode_stream(data, spec.shape, np.dtype(spec.dtype), what)

    def describe(self, data: bytes | memoryview) -> tuple[tuple[int, int, int, int], np.dtype]:
        """``((x, y, z, channels), dtype)`` as the stream's header states them."""
        (x, y, z, c), dtype = describe_stream(data, "fpzip stream")
        return (x, y, z, c), dtype
