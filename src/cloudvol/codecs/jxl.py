"""``jxl`` (JPEG XL): uint8, 1 channel or 3; lossy by default, lossless at quality 100.

Written exactly as CloudVolume writes it, so the bytes are identical for the same
options (imagecodecs' ``jpegxl_encode`` with CloudVolume's arguments):

- one channel: a grayscale image of width ``X`` and height ``Y·Z`` (see
  :mod:`cloudvol.codecs.image_tiling`);
- three channels: CloudVolume hands imagecodecs the channel-first ``(3, Y·Z, X)``
  array, which imagecodecs stores as three grayscale frames, one per channel (or, for
  ``X`` ≤ 4, as one image three rows high whose rows are the planes: imagecodecs
  reads a trailing axis of length 1–4 as samples, so lossy quality drops there as
  neighbouring voxels are coded as colours). Either way the decoded samples, in
  order, are the channel planes one after the other.

Reading follows Neuroglancer, which concatenates every decoded frame's samples and
takes the result as the chunk in Fortran ``(x, y, z, c)`` order: for one channel
this is the usual image tiling; for three it is CloudVolume's planar layout, so
CloudVolume-written chunks read back exactly. (CloudVolume's own decoder
re-interleaves the planes and returns scrambled data; an ordinary interleaved RGB
image would be scrambled by Neuroglancer and cloudvol alike, and nothing writes one.)

Options (scale fields): ``jxl_quality`` (0–100, default 85; ≥ 100 means lossless),
``jxl_effort`` (1–10, default 5) and ``jxl_decodingspeed`` (0–4, default 0). The
defaults are what CloudVolume ends up using: an unset effort/decoding speed reaches
libjxl as its own default, and imagecodecs' default effort produces the same bytes
as effort 5.

Library: imagecodecs (libjxl), the only maintained Python binding; it releases the
GIL during encode and decode. It runs single-threaded here because the volume layer
already decodes chunks in parallel.
"""

from __future__ import annotations

import imagecodecs
import numpy as np

from cloudvol.codecs.base import ChunkSpec
from cloudvol.codecs.image_tiling import (
    check_chunk,
    check_image_format,
    decoding_error,
    from_samples,
    image_size,
    int_option,
    planar_pixels,
)

ENCODING = "jxl"
DEFAULT_QUALITY = 85
DEFAULT_EFFORT = 5
DEFAULT_DECODING_SPEED = 0
LOSSLESS_QUALITY = 100
# Largest side a level-5 JPEG XL codestream (what every decoder must handle) allows.
MAX_SIDE = 2**18


class JxlCodec:
    name = ENCODING
    transport_compressed_by_default = False
    content_type = "image/jxl"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_image_format(ENCODING, dtype, num_channels, ("uint8",), (1, 3))

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        """JPEG XL bytes of a ``(x, y, z, c)`` chunk, with ``jxl_quality`` (or
        CloudVolume's ``level``), ``jxl_effort`` and ``jxl_decodingspeed`` from
        ``spec.options``."""
        self.check(spec.dtype, spec.shape[3])
        array = check_chunk(array, spec, ENCODING)
        quality = int_option(spec, ("jxl_quality", "level"), DEFAULT_QUALITY, 0, 100, ENCODING)
        effort = int_option(spec, ("jxl_effort",), DEFAULT_EFFORT, 1, 10, ENCODING)
        speed = int_option(spec, ("jxl_decodingspeed",), DEFAULT_DECODING_SPEED, 0, 4, ENCODING)
        width, height = image_size(spec, MAX_SIDE, ENCODING)
        planes = planar_pixels(array, width, height)
        single = planes.shape[0] == 1
        return bytes(
            imagecodecs.jpegxl_encode(
                planes[0] if single else planes,
                photometric="GRAY" if single else "RGB",
                level=quality,
                lossless=quality >= LOSSLESS_QUALITY,
                effort=effort,
                decodingspeed=speed,
                numthreads=1,
            )
        )

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        """The ``(x, y, z, c)`` chunk in JPEG XL ``data``: the decoded samples, frame
        after frame, are the chunk's voxels in Fortran order (Neuroglancer's reading)."""
        try:
            # imagecodecs takes any buffer; its stubs list only bytes-like classes
            image = imagecodecs.jpegxl_decode(data, numthreads=1)  # type: ignore[arg-type]
        except Exception as err:  # libjxl failures arrive as several exception types
            raise decoding_error(spec, ENCODING, f"{type(err).__name__}: {err}") from err
        return from_samples(image, spec, ENCODING)
