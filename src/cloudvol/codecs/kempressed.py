"""``kempressed``: fpzip of ``chunk + 2`` with the z and channel axes swapped
(CloudVolume-only encoding, meant for float data such as affinities in [0, 1]).

Encode (as CloudVolume does): add 2.0 in the chunk's own float type, view the
``(x, y, z, c)`` chunk as ``(x, y, c, z)``, and write a lossless fpzip stream of it in
Fortran order (``nx = X, ny = Y, nz = C, nf = Z``). ``fpzip_precision`` is not used.
Decode: fpzip, swap back, subtract 2.0.

Exactness: the round trip returns ``fl(fl(v + 2) - 2)`` computed in the chunk's type,
which equals ``v`` exactly when ``v + 2`` is representable in that type (e.g. every
multiple of 2**-22 in [-1, 2) for float32). Otherwise the error is the rounding of
``v + 2``: at most one unit in its last place, and half of one when -1 <= v <= 2
(the subtraction is then exact), i.e. <= 2**-23 for float32 values in [0, 2). Values
far below 1 in magnitude lose their low bits: float32 ``1e-9`` comes back as 0.
NaN and ±inf survive; -0.0 comes back as +0.0.

cloud-volume's encoder does the same arithmetic with numpy but then hands fpzip a
C-contiguous array labelled Fortran-ordered whenever the swapped sum is C-contiguous
(C-ordered input with one channel or one z slice), so it writes wrong data for such
input (measured with cloud-volume 12.15.2). This codec's output depends only on the
values, never on the input's memory order.
"""

from __future__ import annotations

import numpy as np

from cloudvol.codecs.base import ChunkSpec
from cloudvol.codecs.fpzip import check_float, decode_stream, describe_stream, encode_stream
from cloudvol.exceptions import EncodingError

__all__ = ["KempressedCodec"]

#: the offset CloudVolume adds before compressing
OFFSET = 2.0


class KempressedCodec:
    """float32/float64 chunks, any channel count, lossless up to the +2 rounding."""

    name = "kempressed"
    transport_compressed_by_default = False
    content_type = "image/x.kempressed"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_float(self.name, dtype, num_channels)

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        what = f"{self.name} chunk {spec.key}"
        if array.shape != spec.shape:
            raise EncodingError(f"{what}: array shape {array.shape} != chunk shape {spec.shape}")
        self.check(spec.dtype, spec.shape[3])
        x, y, z, c = spec.shape
        # One pass writes the offset values straight into the (x, y, c, z) Fortran
        # layout fpzip reads; the sum is rounded in the chunk's type, as in CloudVolume.
        shifted = np.empty((x, y, c, z), dtype=spec.dtype, order="F")
        source = np.asarray(array, dtype=spec.dtype)
        np.add(source.swapaxes(2, 3), spec.dtype.type(OFFSET), out=shifted)
        return encode_stream(shifted, 0, what)

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        what = f"{self.name} chunk {spec.key}"
        x, y, z, c = spec.shape
        swapped = decode_stream(data, (x, y, c, z), np.dtype(spec.dtype), what)
        np.subtract(swapped, spec.dtype.type(OFFSET), out=swapped)
        # A strided (x, y, z, c) view of the (x, y, c, z) buffer: no copy.
        return swapped.swapaxes(2, 3)

    def describe(self, data: bytes | memoryview) -> tuple[tuple[int, int, int, int], np.dtype]:
        """``((x, y, z, channels), dtype)`` from the stream's ``(x, y, c, z)`` header."""
        (x, y, c, z), dtype = describe_stream(data, "kempressed stream")
        return (x, y, z, c), dtype
