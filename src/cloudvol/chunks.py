"""Encode and decode single chunks by encoding name (CloudVolume's ``chunks`` module).

Arrays are 3-D ``(x, y, z)`` or 4-D ``(x, y, z, channel)``; 3-D input is one channel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.exceptions import DecodingError

__all__ = ["decode", "encode"]


def encode(
    img: np.ndarray,
    encoding: str,
    block_size: Any = None,
    compression_params: dict | None = None,
    num_threads: int = 1,
) -> bytes:
    """Encode one chunk; ``compression_params`` carries per-encoding options
    (e.g. ``{"jpeg_quality": 85}``)."""
    if img.ndim == 3:
        img = img[..., np.newaxis]
    codec = get_codec(encoding)
    codec.check(img.dtype, img.shape[3])
    spec = ChunkSpec(
        shape=tuple(int(s) for s in img.shape),  # type: ignore[arg-type]
        dtype=img.dtype,
        block_size=tuple(block_size) if block_size is not None else None,
        options=compression_params or {},
    )
    return bytes(codec.encode(img, spec))


def decode(
    filedata: bytes,
    encoding: str,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = None,
    background_color: float = 0,
    num_threads: int = 1,
) -> np.ndarray:
    """Decode one chunk to a 4-D ``(x, y, z, channel)`` array. ``shape`` is
    ``(x, y, z)`` or ``(x, y, z, channels)``."""
    if shape is None or dtype is None:
        raise DecodingError(f"decoding {encoding!r} needs the chunk shape and dtype")
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        shape = (*shape, 1)
    dtype = np.dtype(dtype)
    spec = ChunkSpec(
        shape=shape,
        dtype=dtype,
        block_size=tuple(block_size) if block_size is not None else None,
        background_color=background_color,
    )
    if filedata is None or len(filedata) == 0:
        return np.full(shape, background_color, dtype=dtype, order="F")
    return get_codec(encoding).decode(filedata, spec)
