"""What a codec is: a pure function pair over (bytes, ChunkSpec).

Arrays at this boundary are 4-D ``(x, y, z, channel)``. Decoders may return
any memory order; the volume layer paints them into its Fortran-ordered output.
Transport compression (gzip/brotli) never reaches a codec: storage removes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from cloudvol.exceptions import EncodingError


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """Everything a codec needs besides the bytes.

    ``shape`` is the clipped chunk shape ``(x, y, z, channels)`` in voxels;
    ``block_size`` is the compressed_segmentation block (x, y, z) when relevant;
    ``options`` carries per-scale write hints (``jpeg_quality``, ``png_level``…).
    ``key`` names the chunk in error messages.
    """

    shape: tuple[int, int, int, int]
    dtype: np.dtype
    block_size: tuple[int, int, int] | None = None
    background_color: float = 0
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    key: str = "<chunk>"

    @property
    def nbytes(self) -> int:
        x, y, z, c = self.shape
        return x * y * z * c * self.dtype.itemsize


@runtime_checkable
class Codec(Protocol):
    """A chunk encoding, registered under the info ``encoding`` string."""

    #: the info ``encoding`` value, lowercase
    name: str
    #: whether CloudVolume gzips this encoding on the wire by default
    transport_compressed_by_default: bool
    #: MIME type CloudVolume uses when uploading
    content_type: str

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        """Raise :class:`~cloudvol.exceptions.EncodingError` if this encoding cannot
        hold ``dtype`` × ``num_channels``; called before anything is stored."""

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        """Encode a 4-D ``(x, y, z, c)`` array of ``spec.shape``."""

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        """Decode to a 4-D ``(x, y, z, c)`` array of ``spec.shape``; corrupt or
        wrongly sized input raises :class:`~cloudvol.exceptions.DecodingError`."""


def require_shape(array: np.ndarray, spec: ChunkSpec) -> None:
    """Raise :class:`~cloudvol.exceptions.EncodingError` unless ``array`` has the
    chunk's shape ``(x, y, z, c)``."""
    if array.shape != spec.shape:
        raise EncodingError(
            f"chunk {spec.key}: array shape {array.shape} != chunk shape {spec.shape}"
        )
