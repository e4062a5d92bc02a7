"""``jpeg``: lossy; uint8, 1 channel (grayscale) or 3 (RGB).

The chunk is an image of width ``X`` and height ``Y·Z`` (see
:mod:`cloudvol.codecs.image_tiling`). ``jpeg_quality`` (0–100, CloudVolume's default
85) sets the quality; RGB is written without chroma subsampling (4:4:4), grayscale
as a one-component JPEG, exactly as CloudVolume writes them.

Library: simplejpeg (libjpeg-turbo). imagecodecs' jpeg8 (also libjpeg-turbo)
measured the same speed within noise; simplejpeg is what CloudVolume calls, so with
the same arguments the bytes are identical to CloudVolume's. Both release the GIL.
Reading, the JPEG's component count must equal the layer's channel count (as
TensorStore requires), and the image may have any ``width × height`` equal to the
chunk's voxel count.
"""

from __future__ import annotations

import numpy as np
import simplejpeg

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

ENCODING = "jpeg"
DEFAULT_QUALITY = 85  # CloudVolume's default jpeg_quality (TensorStore's is 75)
MAX_SIDE = 65500  # libjpeg-turbo's largest width or height

# decode_jpeg_header's colorspace names -> channels they decode to
_COMPONENTS = {"Gray": 1, "YCbCr": 3, "RGB": 3, "CMYK": 4, "YCCK": 4}


class JpegCodec:
    name = ENCODING
    transport_compressed_by_default = False
    content_type = "image/jpeg"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_image_format(ENCODING, dtype, num_channels, ("uint8",), (1, 3))

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        """JPEG bytes of a ``(x, y, z, c)`` chunk; ``jpeg_quality`` (or CloudVolume's
        ``level``) in ``spec.options`` sets the quality, default 85."""
        self.check(spec.dtype, spec.shape[3])
        array = check_chunk(array, spec, ENCODING)
        quality = int_option(spec, ("jpeg_quality", "level"), DEFAULT_QUALITY, 0, 100, ENCODING)
        width, height = image_size(spec, MAX_SIDE, ENCODING)
        pixels = interleaved_pixels(array, width, height)
        if pixels.shape[2] == 1:
            return simplejpeg.encode_jpeg(
                pixels, quality=quality, colorspace="GRAY", colorsubsampling="Gray"
            )
        return simplejpeg.encode_jpeg(pixels, quality=quality, colorspace="RGB")

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        """The ``(x, y, z, c)`` chunk in JPEG ``data``."""
        channels = spec.shape[3]
        try:
            height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        except Exception as err:  # simplejpeg raises ValueError, but be sure to wrap
            raise decoding_error(spec, ENCODING, f"{type(err).__name__}: {err}") from err
        x, y, z, _ = spec.shape
        if width * height != x * y * z:  # checked before decoding a possibly huge image
            raise decoding_error(
                spec,
                ENCODING,
                f"the image is {width}×{height} = {width * height} pixels, but the chunk "
                f"is {x}×{y}×{z} = {x * y * z} voxels",
            )
        components = _COMPONENTS.get(colorspace)
        if components != channels:
            # Converting between gray and colour would hide a wrong layer or a wrong file.
            raise decoding_error(
                spec,
                ENCODING,
                f"the image is {colorspace} ({components or 'unknown'} component(s)), "
                f"the layer has {channels} channel(s)",
            )
        try:
            image = simplejpeg.decode_jpeg(
                data, colorspace="GRAY" if channels == 1 else "RGB", strict=True
            )
        except Exception as err:
            raise decoding_error(spec, ENCODING, f"{type(err).__name__}: {err}") from err
        return from_interleaved(image, spec, ENCODING)
