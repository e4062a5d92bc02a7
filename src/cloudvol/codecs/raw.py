"""``raw``: little-endian elements in Fortran (x, y, z, c) order, no header."""

from __future__ import annotations

import numpy as np

from cloudvol.codecs.base import ChunkSpec, require_shape
from cloudvol.exceptions import DecodingError, EncodingError


class RawCodec:
    name = "raw"
    transport_compressed_by_default = True
    content_type = "application/octet-stream"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        if dtype.kind not in "biuf":
            raise EncodingError(f"raw encoding cannot store dtype {dtype}")

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        require_shape(array, spec)
        wire = spec.dtype.newbyteorder("<")
        array = np.asarray(array, dtype=wire)
        if array.flags.f_contiguous:
            # A Fortran-contiguous array's transpose is C-contiguous: a zero-copy buffer.
            return memoryview(array.T).cast("B")  # type: ignore[arg-type]  # ndarray is a buffer
        # C-order bytes of the transpose are the F-order bytes of the array; numpy's
        # C-order copy loop is about twice as fast as tobytes(order="F").
        return array.T.tobytes()

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        expected = spec.nbytes
        if len(data) != expected:
            raise DecodingError(
                f"chunk {spec.key}: raw data is {len(data)} bytes, expected {expected} "
                f"for shape {spec.shape[:3]} × {spec.shape[3]} channel(s) of {spec.dtype}"
            )
        flat = np.frombuffer(data, dtype=spec.dtype.newbyteorder("<"))
        return flat.reshape(spec.shape, order="F")
