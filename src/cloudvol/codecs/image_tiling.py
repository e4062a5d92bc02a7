"""The 2-D tiling shared by the image encodings (png, jpeg, jxl).

A chunk of shape ``(X, Y, Z, C)`` is stored as an ordinary image whose pixels, read
row by row, are the ``X·Y·Z`` voxels in Fortran (x fastest, then y, then z) order,
each pixel carrying the ``C`` channels as its components. Any ``width × height``
with ``width·height = X·Y·Z`` is legal. Writers use ``width = X, height = Y·Z``
(CloudVolume, current TensorStore); older TensorStore wrote ``width = X·Y,
height = Z``. Readers therefore only check the pixel count, never the factorisation.

In numpy terms the image is the chunk transposed to ``(z, y, x, c)`` in C order, so
for a Fortran-ordered single-channel chunk the image is a zero-copy view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cloudvol.codecs.base import ChunkSpec
from cloudvol.exceptions import DecodingError, EncodingError

__all__ = [
    "check_chunk",
    "check_image_format",
    "decoding_error",
    "from_interleaved",
    "from_samples",
    "image_size",
    "int_option",
    "interleaved_pixels",
    "planar_pixels",
]


def check_image_format(
    encoding: str,
    dtype: np.dtype,
    num_channels: int,
    dtypes: Sequence[str],
    channels: Sequence[int],
) -> None:
    """Raise :class:`EncodingError` unless ``dtype`` is one of ``dtypes`` and
    ``num_channels`` one of ``channels``; the message says what the encoding takes."""
    dtype = np.dtype(dtype)
    if dtype.kind != "u" or dtype.name not in dtypes:
        raise EncodingError(
            f"{encoding} encoding cannot store {dtype.name} data: it accepts "
            f"{' or '.join(dtypes)}; convert the data or choose another encoding (e.g. raw)"
        )
    if num_channels not in channels:
        accepted = ", ".join(map(str, channels[:-1])) + f" or {channels[-1]}"
        raise EncodingError(
            f"{encoding} encoding cannot store {num_channels} channel(s): it accepts "
            f"{accepted} channels"
        )


def check_chunk(array: np.ndarray, spec: ChunkSpec, encoding: str) -> np.ndarray:
    """``array`` as native-endian ``spec.dtype``, after checking that it has the chunk's
    shape and the same kind and width of elements (no silent value conversion)."""
    if array.shape != spec.shape:
        raise EncodingError(
            f"chunk {spec.key}: array shape {array.shape} != chunk shape {spec.shape} "
            f"({encoding} encoding)"
        )
    dtype = np.dtype(spec.dtype)
    if array.dtype.kind != dtype.kind or array.dtype.itemsize != dtype.itemsize:
        raise EncodingError(
            f"chunk {spec.key}: {array.dtype} array given for a {dtype} layer ({encoding} encoding)"
        )
    # The image libraries take native-endian samples (PNG's big-endian 16-bit samples
    # are the library's business), so a byte-swapped input is converted once here.
    return np.asarray(array, dtype=dtype.newbyteorder("="))


def image_size(spec: ChunkSpec, max_side: int, encoding: str) -> tuple[int, int]:
    """``(width, height)`` of the image holding the chunk.

    ``X × Y·Z`` as CloudVolume and TensorStore write it; when a side would exceed the
    format's limit (JPEG: 65500 px), ``X·Y × Z`` (what older TensorStore wrote), which
    every reader accepts because only the pixel count is checked.
    """
    x, y, z, _ = spec.shape
    for width, height in ((x, y * z), (x * y, z)):
        if width <= max_side and height <= max_side:
            return width, height
    raise EncodingError(
        f"chunk {spec.key}: a {x}×{y}×{z} chunk does not fit a {encoding} image "
        f"(at most {max_side} pixels per side as {x}×{y * z} or {x * y}×{z}); "
        f"use a smaller chunk size"
    )


def interleaved_pixels(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """The chunk as a C-contiguous ``(height, width, C)`` image, channels interleaved.

    Zero-copy for a Fortran-ordered single-channel chunk; otherwise one copy."""
    c = array.shape[3]
    image = np.ascontiguousarray(array.transpose(2, 1, 0, 3))
    return image.reshape(height, width, c)


def planar_pixels(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """The chunk as a C-contiguous ``(C, height, width)`` stack of one-channel images.

    Zero-copy for any Fortran-ordered chunk."""
    c = array.shape[3]
    image = np.ascontiguousarray(array.transpose(3, 2, 1, 0))
    return image.reshape(c, height, width)


def decoding_error(spec: ChunkSpec, encoding: str, reason: str) -> DecodingError:
    """A :class:`DecodingError` naming the chunk key and the encoding."""
    return DecodingError(f"chunk {spec.key}: cannot decode {encoding} data: {reason}")


def _check_pixels(
    spec: ChunkSpec, encoding: str, dtype: np.dtype, width: int, height: int, channels: int
) -> None:
    x, y, z, c = spec.shape
    if channels != c:
        raise decoding_error(
            spec, encoding, f"the image has {channels} channel(s), the layer has {c}"
        )
    if width * height != x * y * z:
        raise decoding_error(
            spec,
            encoding,
            f"the image is {width}×{height} = {width * height} pixels, but the chunk "
            f"is {x}×{y}×{z} = {x * y * z} voxels",
        )
    if dtype.kind != "u" or dtype.itemsize != spec.dtype.itemsize:
        raise decoding_error(
            spec, encoding, f"the image has {dtype} samples, the layer is {spec.dtype}"
        )


def from_interleaved(image: np.ndarray, spec: ChunkSpec, encoding: str) -> np.ndarray:
    """The ``(x, y, z, c)`` chunk held by a decoded ``(height, width[, C])`` image, as a
    view (Fortran-contiguous when there is one channel)."""
    if image.ndim not in (2, 3):
        raise decoding_error(spec, encoding, f"decoded to an array of shape {image.shape}")
    height, width = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    _check_pixels(spec, encoding, image.dtype, width, height, channels)
    x, y, z, c = spec.shape
    return image.reshape(z, y, x, c).transpose(2, 1, 0, 3)


def from_samples(image: np.ndarray, spec: ChunkSpec, encoding: str) -> np.ndarray:
    """The ``(x, y, z, c)`` chunk whose voxels, in Fortran order, are all of a decoded
    image's samples in C order, whatever its shape (frames, rows, samples): a
    Fortran-contiguous view."""
    x, y, z, c = spec.shape
    if image.size != x * y * z * c:
        raise decoding_error(
            spec,
            encoding,
            f"the image decodes to {image.size} samples (shape {image.shape}), but the "
            f"chunk is {x}×{y}×{z} voxels × {c} channel(s) = {x * y * z * c}",
        )
    if image.dtype.kind != "u" or image.dtype.itemsize != spec.dtype.itemsize:
        raise decoding_error(
            spec, encoding, f"the image has {image.dtype} samples, the layer is {spec.dtype}"
        )
    return np.ascontiguousarray(image).reshape(-1).reshape((x, y, z, c), order="F")


def int_option(
    spec: ChunkSpec,
    names: Sequence[str],
    default: int,
    low: int,
    high: int,
    encoding: str,
) -> int:
    """The first of ``names`` set (not ``None``) in ``spec.options``, else ``default``;
    an integer in ``[low, high]`` or :class:`EncodingError` naming the option."""
    options: Mapping[str, Any] = spec.options
    for name in names:
        value = options.get(name)
        if value is None:
            continue
        integral = isinstance(value, (int, np.integer)) or (
            isinstance(value, (float, np.floating)) and float(value).is_integer()
        )
        if isinstance(value, bool) or not integral:
            raise EncodingError(
                f"chunk {spec.key}: {name}={value!r} is not an integer ({encoding} encoding)"
            )
        number = int(value)
        if not low <= number <= high:
            raise EncodingError(
                f"chunk {spec.key}: {name}={number} is outside {low}..{high} ({encoding} encoding)"
            )
        return number
    return default
