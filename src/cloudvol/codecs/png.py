"""``png``: lossless; uint8 or uint16, 1–4 channels (G, GA, RGB, RGBA).

The chunk is an image of width ``X`` and height ``Y·Z`` (see
:mod:`cloudvol.codecs.image_tiling`); 16-bit samples are big-endian inside the PNG,
which libpng handles. ``png_level`` (zlib level 0–9, CloudVolume's default 9) sets
the compression effort.

Library: imagecodecs' libpng for both directions. Measured on EM-like 64³/128³
chunks it encodes ~1.25× faster than pyspng (CloudVolume's choice) at level 9 and
decodes ~10% slower in one thread, but it releases the GIL during the call, so
chunks encode and decode in parallel across threads, while pyspng holds the GIL for
the whole call and serialises a thread pool; it also takes every format (pyspng
cannot encode G16 or RGB16, nor decode G16). See docs/encodings/image.md.
"""

from __future__ import annotations

import imagecodecs
import numpy as np

from cloudvol.codecs.base import ChunkSpec
from cloudvol.codecs.image_tiling import (
    check_chunk,
    check_image_format,
    decoding_error,
    from_interleaved,
    image_size,
    int_option,
    interleaved_pixels,
)

ENCODING = "png"
DEFAULT_LEVEL = 9  # CloudVolume's default png_level
MAX_SIDE = 2**31 - 1  # PNG stores width and height as 31-bit integers
# zlib's strategy for filtered rows: libpng's and libspng's own default (so the sizes
# match CloudVolume's and TensorStore's), which imagecodecs replaces with
# Z_DEFAULT_STRATEGY unless told. On EM-like data it stores ~4% smaller at the same
# speed for 8-bit samples (~15% slower for 16-bit).
Z_FILTERED = 1


class PngCodec:
    name = ENCODING
    transport_compressed_by_default = False
    content_type = "image/png"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_image_format(ENCODING, dtype, num_channels, ("uint8", "uint16"), (1, 2, 3, 4))

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        """PNG bytes of a ``(x, y, z, c)`` chunk; ``png_level`` (or CloudVolume's
        ``level``) in ``spec.options`` picks the zlib level, default 9."""
        self.check(spec.dtype, spec.shape[3])
        array = check_chunk(array, spec, ENCODING)
        level = int_option(spec, ("png_level", "level"), DEFAULT_LEVEL, 0, 9, ENCODING)
        width, height = image_size(spec, MAX_SIDE, ENCODING)
        pixels = interleaved_pixels(array, width, height)
        if pixels.shape[2] == 1:
            pixels = pixels[:, :, 0]
        try:
            return bytes(imagecodecs.png_encode(pixels, level=level, strategy=Z_FILTERED))
        except imagecodecs.PngError:
            # imagecodecs sizes its output from an estimate that small, incompressible
            # images can exceed ("output stream too small"); retry into a buffer
            # bounded by the stored (uncompressed) size: filter bytes, deflate and
            # PNG chunk overheads.
            raw = pixels.nbytes + pixels.shape[0]
            out = bytearray(raw + raw // 64 + 8192)
            return bytes(imagecodecs.png_encode(pixels, level=level, strategy=Z_FILTERED, out=out))

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        """The ``(x, y, z, c)`` chunk in PNG ``data``; the image may have any
        ``width × height`` equal to the chunk's voxel count."""
        try:
            # imagecodecs takes any buffer; its stubs list only bytes-like classes
            image = imagecodecs.png_decode(data)  # type: ignore[arg-type]
        except Exception as err:  # libpng reports corruption in several exception types
            raise decoding_error(spec, ENCODING, f"{type(err).__name__}: {err}") from err
        return from_interleaved(image, spec, ENCODING)
