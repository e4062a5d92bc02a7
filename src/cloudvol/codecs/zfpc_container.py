"""The zfpc container: one array of up to four axes (x, y, z, w) stored as several
zfp streams, one per index of the axes marked uncorrelated.

Layout (little-endian; what the reference ``zfpc`` package writes — its README's
15-byte header with per-stream offsets is not what its code does)::

    0   4  b"zfpc"
    4   1  format version, 0
    5   1  bits 0-2 element type (1 int32, 2 int64, 3 float32, 4 float64),
           bits 3-5 zfp mode (1 expert, 2 rate, 3 precision, 4 accuracy, 5 reversible),
           bit 7 set when the writer's array was C-contiguous
    6  16  nx, ny, nz, nw as uint32; 0 marks an absent trailing axis
    22  1  bit i set when axis i (x = 0 … w = 3) is correlated
    23     uint64 offset of the first stream, then N uint64 stream lengths
           (N = product of the sizes of the uncorrelated axes), then the streams.

Each stream is a complete zfp stream with its own full zfp header, compressed from
the array indexed at one combination of uncorrelated indices (correlated axes kept
whole, in order), combinations ordered with x varying fastest and w slowest. A
stream whose every axis is indexed holds one value as a 1-D array of length 1.

zfp itself (``zfpy``) compresses each stream; zfpy maps numpy's last axis to zfp's
fastest one and honours strides, so streams are cut as views without copies and the
bytes do not depend on the input's memory order.
"""

from __future__ import annotations

import enum
import itertools
import math
import mmap
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import zfpy

__all__ = [
    "HEADER_SIZE",
    "ZfpMode",
    "ZfpcError",
    "ZfpcHeader",
    "ZfpcParams",
    "compress",
    "decompress",
]

MAGIC = b"zfpc"
FORMAT_VERSION = 0
HEADER_SIZE = 23
_HEADER = struct.Struct("<4sBB4IB")

#: element type codes of byte 5, bits 0-2
TYPE_CODES: dict[np.dtype, int] = {
    np.dtype(np.int32): 1,
    np.dtype(np.int64): 2,
    np.dtype(np.float32): 3,
    np.dtype(np.float64): 4,
}
_CODE_TYPES = {code: dtype for dtype, code in TYPE_CODES.items()}

# Worst case a zfp decoder reads for one stream of `blocks` blocks: the longest
# header (148 bits) plus, per block, the largest bit budget an expert-mode header can
# set (2**15 bits), rounded up to whole 64-bit words, plus one word of look-ahead.
_ZFP_HEADER_BITS = 148
_ZFP_BLOCK_BITS_MAX = 1 << 15


class ZfpcError(ValueError):
    """Bytes that are not a valid zfpc container for the expected array."""


class ZfpMode(enum.IntEnum):
    """zfp compression modes, numbered as zfpc stores them (zfp.h's order)."""

    EXPERT = 1
    FIXED_RATE = 2
    FIXED_PRECISION = 3
    FIXED_ACCURACY = 4
    REVERSIBLE = 5


@dataclass(frozen=True, slots=True)
class ZfpcParams:
    """What to compress with. A negative value (-1) leaves a setting unset; at most
    one of ``rate`` (bits per value), ``precision`` (bit planes) and ``tolerance``
    (absolute error) may be set, and none set means reversible (lossless) mode.
    ``correlated`` marks the axes (x, y, z, w) compressed together; at least one."""

    rate: float = -1.0
    precision: int = -1
    tolerance: float = -1.0
    correlated: tuple[bool, bool, bool, bool] = (True, True, True, True)

    def __post_init__(self) -> None:
        chosen = [n for n in ("rate", "precision", "tolerance") if getattr(self, n) >= 0]
        if len(chosen) > 1:
            raise ValueError(f"only one of rate, precision and tolerance may be set, got {chosen}")
        for n in ("rate", "precision", "tolerance"):
            # zfpc marks the mode by value > -1 but zfpy applies it by value >= 0; a
            # value between would give a header that disagrees with its streams.
            if -1 < getattr(self, n) < 0:
                raise ValueError(f"{n} must be -1 (unset) or >= 0, got {getattr(self, n)}")
        if len(self.correlated) != 4 or not any(self.correlated):
            raise ValueError(
                f"correlated dims must be 4 booleans, at least one true, got {self.correlated}"
            )

    @property
    def mode(self) -> ZfpMode:
        """The mode the header records (tolerance, then precision, then rate)."""
        if self.tolerance >= 0:
            return ZfpMode.FIXED_ACCURACY
        if self.precision >= 0:
            return ZfpMode.FIXED_PRECISION
        if self.rate >= 0:
            return ZfpMode.FIXED_RATE
        return ZfpMode.REVERSIBLE


@dataclass(frozen=True, slots=True)
class ZfpcHeader:
    """The 23-byte header. ``shape`` has 4 entries, 0 for absent trailing axes."""

    shape: tuple[int, int, int, int]
    dtype: np.dtype
    mode: int
    c_order: bool
    correlated: tuple[bool, bool, bool, bool]

    def pack(self) -> bytes:
        flags = TYPE_CODES[self.dtype] | (int(self.mode) & 0b111) << 3 | int(self.c_order) << 7
        axes = sum(int(c) << i for i, c in enumerate(self.correlated))
        return _HEADER.pack(MAGIC, FORMAT_VERSION, flags, *self.shape, axes)

    @classmethod
    def unpack(cls, data: bytes | memoryview) -> ZfpcHeader:
        if len(data) < HEADER_SIZE:
            raise ZfpcError(f"{len(data)} bytes is shorter than the {HEADER_SIZE}-byte header")
        magic, version, flags, nx, ny, nz, nw, axes = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ZfpcError(f"bad magic {bytes(magic)!r}, expected {MAGIC!r}")
        if version != FORMAT_VERSION:
            raise ZfpcError(f"format version {version} is not supported (only 0)")
        code, mode = flags & 0b111, (flags >> 3) & 0b111
        if code not in _CODE_TYPES:
            raise ZfpcError(f"unknown element type code {code}")
        if not ZfpMode.EXPERT <= mode <= ZfpMode.REVERSIBLE:
            raise ZfpcError(f"unknown zfp mode {mode}")
        shape = (nx, ny, nz, nw)
        ndim = sum(1 for s in shape if s)
        if ndim == 0 or 0 in shape[:ndim]:
            raise ZfpcError(f"bad array shape {shape}: sizes must be positive, zeros trailing")
        correlated = tuple(bool(axes >> i & 1) for i in range(4))
        return cls(shape, _CODE_TYPES[code], mode, bool(flags >> 7), correlated)  # type: ignore[arg-type]

    @property
    def dims(self) -> tuple[int, ...]:
        """The array's shape (absent trailing axes dropped)."""
        return tuple(s for s in self.shape if s)

    def stream_indices(self) -> list[tuple[int | slice, ...]]:
        """Index of each stream's sub-array, in stream order (x fastest)."""
        ranges = [
            [slice(None)] if self.correlated[i] else range(max(self.shape[i], 1)) for i in range(4)
        ]
        ndim = len(self.dims)
        return [tuple(reversed(combo))[:ndim] for combo in itertools.product(*reversed(ranges))]

    def kept_shape(self) -> tuple[int, ...]:
        """Shape of the sub-array at each stream index: the correlated axes (``()``
        when every axis is indexed; that stream then holds a 1-D array of one value)."""
        return tuple(s for i, s in enumerate(self.dims) if self.correlated[i])


def _sub_array(array: np.ndarray, index: tuple[int | slice, ...]) -> np.ndarray:
    part = array[index]
    return part.reshape(1) if part.ndim == 0 else part


def compress(array: np.ndarray, params: ZfpcParams) -> bytes:
    """zfpc bytes of a 1-4-D array, as ``zfpc.compress(np.asfortranarray(array), …)``
    writes them (the C-order flag is what a Fortran-ordered copy of it reports)."""
    dtype = array.dtype
    if dtype not in TYPE_CODES:
        raise ValueError(f"zfpc cannot hold dtype {dtype}")
    if not 1 <= array.ndim <= 4:
        raise ValueError(f"zfpc holds 1-4 axes, got {array.ndim}")
    shape = (*array.shape, 0, 0, 0)[:4]
    header = ZfpcHeader(
        shape=shape,
        dtype=dtype,
        mode=params.mode,
        # A Fortran-contiguous array is also C-contiguous iff at most one axis exceeds 1.
        c_order=sum(1 for s in array.shape if s > 1) <= 1,
        correlated=tuple(bool(c) for c in params.correlated),  # type: ignore[arg-type]
    )
    streams = [
        zfpy.compress_numpy(
            _sub_array(array, index),
            tolerance=params.tolerance,
            rate=params.rate,
            precision=int(params.precision),
            write_header=True,
        )
        for index in header.stream_indices()
    ]
    index_table = np.empty(len(streams) + 1, dtype="<u8")
    index_table[0] = HEADER_SIZE + 8 * (len(streams) + 1)
    index_table[1:] = [len(s) for s in streams]
    return b"".join([header.pack(), index_table.tobytes(), *streams])


class _ScratchBuffer(threading.local):
    """Each thread's reusable zero-padded copy of the container being decoded.

    zfp reads whole 64-bit words with no bounds check, so a corrupt stream can make
    it read past its end (up to its per-block bit budget). It reads from this copy,
    long enough for the worst case and zero after the data. The memory is an
    anonymous mapping, so pages nothing touches are never allocated, and it is
    reused: a fresh mapping per chunk cost ~2.5 ms (page faults) on a 45 ms decode."""

    def __init__(self) -> None:
        self.array = np.zeros(0, dtype=np.uint8)
        self.dirty = 0  # bytes from the start that may be non-zero

    def load(self, data: bytes | memoryview, size: int) -> np.ndarray:
        """``data`` followed by zeros, ``size`` bytes in all."""
        if self.array.size < size:
            self.array = np.frombuffer(mmap.mmap(-1, size), dtype=np.uint8)
            self.dirty = 0
        n = len(data)
        self.array[:n] = np.frombuffer(data, dtype=np.uint8)
        if self.dirty > n:
            self.array[n : self.dirty] = 0
        self.dirty = n
        return self.array[:size]


_SCRATCH = _ScratchBuffer()


def _read_bound(shape: Sequence[int]) -> int:
    """Most bytes a zfp decoder may read for a stream of a ``shape`` sub-array."""
    blocks = math.prod(-(-s // 4) for s in shape)
    bits = _ZFP_HEADER_BITS + blocks * _ZFP_BLOCK_BITS_MAX
    return 8 * (-(-bits // 64) + 1)


def decompress(data: bytes | memoryview, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Decode zfpc ``data`` that must hold exactly a ``shape`` array of ``dtype``
    (trailing axes of size 1 may be absent in the header). Everything — header,
    index, stream lengths, each zfp header's type and dimensions — is checked
    before zfp decodes, and zfp reads from a zero-padded copy, so corrupt bytes
    raise :class:`ZfpcError` or decode to wrong values but never read out of bounds."""
    if not isinstance(data, bytes):
        data = memoryview(data).cast("B")  # lengths below count bytes
    header = ZfpcHeader.unpack(data)
    dims = header.dims
    if header.dtype != dtype:
        raise ZfpcError(f"holds {header.dtype}, expected {dtype}")
    if dims + (1,) * (len(shape) - len(dims)) != tuple(shape):
        raise ZfpcError(
            f"holds a {'×'.join(map(str, dims))} array, expected {'×'.join(map(str, shape))}"
        )
    indices = header.stream_indices()
    count = len(indices)
    index_end = HEADER_SIZE + 8 * (count + 1)
    if len(data) < index_end:
        raise ZfpcError(f"{len(data)} bytes cannot hold the index of {count} streams")
    table = [int(v) for v in np.frombuffer(data, dtype="<u8", count=count + 1, offset=HEADER_SIZE)]
    start, sizes = table[0], table[1:]
    if start < index_end or start + sum(sizes) != len(data) or 0 in sizes:
        raise ZfpcError(
            f"index (data at {start}, {count} streams of {sum(sizes)} bytes in all) does not "
            f"match the {len(data)} bytes"
        )
    kept = header.kept_shape()
    stream_shape = kept or (1,)
    zfp_dims = (*reversed(stream_shape), 0, 0, 0)[:4]
    offsets = list(itertools.accumulate([start, *sizes[:-1]]))
    reach = max(offsets) + _read_bound(stream_shape)
    arrays = []
    with _SCRATCH.load(data, max(len(data), reach)).data as padded:
        for offset, size in zip(offsets, sizes, strict=True):
            with padded[offset : offset + size] as stream:
                arrays.append(_decode_stream(stream, zfp_dims, stream_shape, dtype))
    if count == 1:
        return arrays[0].reshape(shape)
    out = np.empty(shape, dtype=dtype, order="F")
    target = out.reshape(dims, order="F")  # a view: drops trailing size-1 axes
    for index, part in zip(indices, arrays, strict=True):
        target[index] = part.reshape(kept)
    return out


def _decode_stream(
    stream: memoryview, zfp_dims: tuple[int, ...], shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    try:
        info = zfpy.header(stream)
    except (ValueError, RuntimeError, TypeError) as err:
        raise ZfpcError(f"bad zfp stream header ({err})") from None
    found = (info["nx"], info["ny"], info["nz"], info["nw"])
    if found != zfp_dims or np.dtype(info["type"]) != dtype:
        raise ZfpcError(
            f"zfp stream holds {found} {np.dtype(info['type'])}, expected {zfp_dims} {dtype}"
        )
    try:
        array = zfpy.decompress_numpy(stream)
    except (ValueError, RuntimeError, TypeError) as err:
        raise ZfpcError(f"zfp stream is corrupt ({err})") from None
    if array.shape != shape:
        raise ZfpcError(f"zfp stream decoded to {array.shape}, expected {shape}")
    return array
