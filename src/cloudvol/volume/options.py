"""Frozen option objects parsed once from the CloudVolume constructor's keywords."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How a read treats missing chunks and voxels outside the volume.

    ``fill_missing``: a missing chunk reads as ``background_color`` instead of raising
    :class:`~cloudvol.exceptions.EmptyVolumeException`.
    """

    fill_missing: bool = False
    background_color: float = 0
    progress: bool = False
    #: chunks handed to storage per batch; bounds memory held in fetched bytes
    batch_size: int = 512


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How a write encodes, compresses and places chunks.

    ``compress``: normalised transport compression (``None``, ``"gzip"``, ``"br"``,
    ``"zstd"``) or ``"default"`` to follow the encoding's convention (gzip for raw,
    compressed_segmentation, compresso, crackle; none for image codecs).
    """

    compress: str | None = "default"
    compress_level: int | None = None
    non_aligned_writes: bool = False
    overwrite_partial_chunks: bool = False
    delete_black_uploads: bool = False
    background_color: float = 0
    fill_missing: bool = False
    cache_control: str | None = None
    progress: bool = False
    #: chunks encoded and handed to storage per batch; bounds encoded bytes held
    batch_size: int = 64
