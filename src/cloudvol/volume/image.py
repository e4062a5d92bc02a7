"""``vol.image``: reads and writes of one precomputed image layer at any mip.

It holds the user-mutable flags (``fill_missing``, ``bounded``…; the facade
forwards its properties here) and turns them into frozen option objects for each
operation. Boxes handed in are voxel :class:`~cloudvol.lib.Bbox` at the given mip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudvol.codecs import get_codec
from cloudvol.exceptions import (
    AlignmentError,
    DtypeMismatchError,
    OutOfBoundsError,
    ReadOnlyException,
)
from cloudvol.lib import Bbox
from cloudvol.precomputed.info import int_triple
from cloudvol.precomputed.metadata import PrecomputedMetadata
from cloudvol.storage.compression import normalize_compress
from cloudvol.volume.options import ReadOptions, WriteOptions
from cloudvol.volume.read import LayerFormat, read_region
from cloudvol.volume.segmentation import label_mask_layer, unique_labels
from cloudvol.volume.sharded import ShardedScale
from cloudvol.volume.sharded_api import ShardingMethods
from cloudvol.volume.sharded_write import delete_shards, write_shards
from cloudvol.volume.write import delete_region, write_region
from cloudvol.volumecutout import VolumeCutout

__all__ = ["ImageConfig", "PrecomputedImageSource", "cdn_cache_control"]

SCALE_OPTION_FIELDS = (
    "jpeg_quality", "png_level", "jxl_quality", "jxl_effort", "jxl_decodingspeed",
    "fpzip_precision", "zfpc_rate", "zfpc_precision", "zfpc_tolerance", "zfpc_correlated_dims",
)  # fmt: skip


def cdn_cache_control(value: Any) -> str:
    """The Cache-Control header for ``cdn_cache`` (CloudVolume's rules)."""
    if value is None or value is True:
        return "max-age=3600, s-max-age=3600"
    if value is False or value == 0:
        return "no-cache"
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"cdn_cache must be a non-negative number of seconds, got {value}")
        return f"max-age={value}, s-max-age={value}"
    if isinstance(value, str):
        return value
    raise ValueError(f"cdn_cache must be a bool, int or str, got {value!r}")


@dataclass
class ImageConfig:
    """Per-volume settings shared by the facade and its image source (``vol.config``)."""

    parallel: int = 1
    compress: Any = None
    compress_level: int | None = None
    cdn_cache: Any = True
    progress: bool = False
    green_threads: bool = False
    secrets: Any = None
    codec_threads: int = 1
    #: the facade's current mip (what CloudVolume's ``vol.image`` methods default to)
    mip: int = 0

    def __repr__(self) -> str:  # secrets never shown
        return (
            f"ImageConfig(parallel={self.parallel}, compress={self.compress!r}, "
            f"compress_level={self.compress_level}, cdn_cache={self.cdn_cache!r}, progress={self.progress})"
        )


class PrecomputedImageSource(ShardingMethods):
    """Chunked image IO for one precomputed layer, unsharded or sharded (sharded
    scales dispatch to :mod:`cloudvol.volume.sharded`)."""

    def __init__(
        self,
        meta: PrecomputedMetadata,
        config: ImageConfig,
        bounded: bool = True,
        autocrop: bool = False,
        fill_missing: bool = False,
        non_aligned_writes: bool = False,
        overwrite_partial_chunks: bool = False,
        delete_black_uploads: bool = False,
        background_color: float = 0,
        readonly: bool = False,
    ) -> None:
        self.meta = meta
        self.config = config
        self.bounded = bounded
        self.autocrop = autocrop
        self.fill_missing = fill_missing
        self.non_aligned_writes = non_aligned_writes
        self.overwrite_partial_chunks = overwrite_partial_chunks
        self.delete_black_uploads = delete_black_uploads
        self.background_color = background_color
        self.readonly = readonly
        #: per mip: (signature of geometry + spec + store, its ShardedScale)
        self._sharded: dict[int, tuple[tuple[Any, ...], ShardedScale]] = {}

    # --- options ------------------------------------------------------------

    @property
    def store(self) -> Any:
        return self.meta.store

    def layer_format(self, mip: int) -> LayerFormat:
        scale = self.meta.scale(mip)
        block = scale.get("compressed_segmentation_block_size")
        return LayerFormat(
            codec=get_codec(scale["encoding"]),
            dtype=self.meta.dtype,
            num_channels=self.meta.num_channels,
            block_size=int_triple(block) if block else None,
            scale_options={k: scale[k] for k in SCALE_OPTION_FIELDS if k in scale},
        )

    def read_options(self) -> ReadOptions:
        return ReadOptions(
            fill_missing=self.fill_missing,
            background_color=self.background_color,
            progress=self.config.progress,
        )

    def write_options(self) -> WriteOptions:
        compress = self.config.compress
        return WriteOptions(
            compress="default" if compress is None else normalize_compress(compress),
            compress_level=self.config.compress_level,
            non_aligned_writes=self.non_aligned_writes,
            overwrite_partial_chunks=self.overwrite_partial_chunks,
            delete_black_uploads=self.delete_black_uploads,
            background_color=self.background_color,
            fill_missing=self.fill_missing,
            cache_control=cdn_cache_control(self.config.cdn_cache),
            progress=self.config.progress,
        )

    # --- reads ----------------------------------------------------------------

    def download(
        self, bbox: Bbox, mip: int, parallel: int = 1, label: float | None = None, **_: Any
    ) -> VolumeCutout:
        """Voxels of ``bbox`` (voxels at ``mip``) as a 4-D ``VolumeCutout``; with
        ``label``, a boolean mask of that label, made chunk by chunk."""
        start = np.asarray(bbox.minpt, dtype=np.int64)
        stop = np.asarray(bbox.maxpt, dtype=np.int64)
        if self.bounded:
            self.check_bounds(bbox, mip)
        layer, options = self.layer_format(mip), self.read_options()
        if label is not None:
            layer, options = label_mask_layer(layer, label, options)
        if self.is_sharded(mip):
            img = self.sharded_scale(mip).read_region(layer, start, stop, options)
        else:
            img = read_region(self.store, self.meta.grid(mip), layer, start, stop, options)
        return VolumeCutout.from_volume(self.meta, mip, img, Bbox(start, stop, dtype=np.int64))

    def download_points(self, points: Any, mip: int) -> dict[tuple[int, int, int], Any]:
        """Value at each ``(x, y, z)`` point (voxels at ``mip``); reads each chunk once."""
        pts = np.asarray(points, dtype=np.int64).reshape(-1, 3)
        grid = self.meta.grid(mip)
        layer = self.layer_format(mip)
        if self.is_sharded(mip):
            return self.sharded_scale(mip).read_points(layer, pts, self.read_options())
        result: dict[tuple[int, int, int], Any] = {}
        cells = (pts - grid.offset) // grid.chunk_size
        for cell in np.unique(cells, axis=0):
            lo = grid.offset + cell * grid.chunk_size
            hi = np.minimum(lo + grid.chunk_size, grid.bounds_max)
            chunk = read_region(self.store, grid, layer, lo, hi, self.read_options())
            for pt in pts[np.all(cells == cell, axis=1)]:
                value = chunk[tuple(pt - lo)]
                result[int_triple(pt)] = value[0] if value.size == 1 else value
        return result

    def unique(self, bbox: Bbox, mip: int) -> set[int | float]:
        """The labels in ``bbox`` (voxels at ``mip``), from codec label lists where
        the encoding has them; see :func:`~cloudvol.volume.segmentation.unique_labels`."""
        if self.bounded:
            self.check_bounds(bbox, mip)
        if self.is_sharded(mip):
            return self.sharded_scale(mip).unique(
                self.layer_format(mip), np.asarray(bbox.minpt), np.asarray(bbox.maxpt),
                self.read_options(),
            )  # fmt: skip
        return unique_labels(
            self.store, self.meta.grid(mip), self.layer_format(mip),
            np.asarray(bbox.minpt), np.asarray(bbox.maxpt), self.read_options(),
        )  # fmt: skip

    def check_bounds(self, bbox: Bbox, mip: int) -> None:
        """``OutOfBoundsError`` unless both corners of ``bbox`` lie within the bounds
        (upper corner included, as ``Bbox.contains_bbox``)."""
        scale = self.meta.scale(mip)
        lo = scale.get("voxel_offset", (0, 0, 0))
        size = scale["size"]
        box_lo, box_hi = bbox.minpt.tolist(), bbox.maxpt.tolist()
        # Plain ints first: building Bbox objects costs ~25 µs, most of a small cutout's
        # overhead; the Bbox test below only runs to raise (or for unusual boxes).
        if len(box_lo) == 3 and all(
            lo[i] <= box_lo[i] <= lo[i] + size[i] and lo[i] <= box_hi[i] <= lo[i] + size[i]
            for i in range(3)
        ):
            return
        bounds = self.meta.bounds(mip)
        if not bounds.contains_bbox(bbox):
            raise OutOfBoundsError(
                f"Requested {bbox} is not inside the bounds {bounds} of {self.meta.path} mip {mip}"
            )

    def exists(self, bbox: Bbox, mip: int) -> dict[str, bool]:
        """``{"{key}/{chunk}": bool}`` for every chunk the box touches (for sharded
        scales: whether the chunk is in its shard, under the same names)."""
        self.check_bounds(bbox, mip)
        if self.is_sharded(mip):
            return self.sharded_scale(mip).exists(np.asarray(bbox.minpt), np.asarray(bbox.maxpt))
        plan = self.meta.grid(mip).plan(np.asarray(bbox.minpt), np.asarray(bbox.maxpt))
        return self.store.exists_many(plan.keys)

    def has_data(self, mip: Any = None) -> bool:
        """Whether any chunk file exists at ``mip`` (index or resolution)."""
        mip = self.meta.to_mip(0 if mip is None else mip)
        prefix = self.meta.key(mip) + "/"
        return next(iter(self.store.list(prefix)), None) is not None

    def download_files(self, bbox: Bbox, mip: int, decompress: bool = True) -> dict[Any, bytes]:
        """The stored (transport-decompressed) bytes of every chunk the box touches;
        for sharded scales ``{morton code: bytes}`` with ``data_encoding`` undone
        unless ``decompress=False``. Values are exactly ``bytes``, as CloudVolume
        returns them: libraries users hand them to (compresso, DracoPy) refuse
        subclasses such as :class:`~cloudvol.storage.compression.ChecksummedBytes`."""
        if self.is_sharded(mip):
            files = self.sharded_scale(mip).download_files(
                np.asarray(bbox.minpt), np.asarray(bbox.maxpt), decompress
            )
        else:
            plan = self.meta.grid(mip).plan(np.asarray(bbox.minpt), np.asarray(bbox.maxpt))
            files = self.store.get_many(plan.keys)
        return {k: v if type(v) is bytes else bytes(v) for k, v in files.items() if v is not None}

    def grid_size(self, mip: int) -> np.ndarray:
        return self.meta.grid(mip).grid_size

    # --- writes ----------------------------------------------------------------

    def _check_writable(self, mip: int) -> None:
        if self.readonly:
            raise ReadOnlyException(
                f"{self.meta.path} is read-only (redirected from "
                f"{', '.join(map(str, self.meta.redirected_from)) or 'elsewhere'}); "
                f"set vol.image.readonly = False to write anyway"
            )
        if not self.store.capabilities.supports_writes:
            raise ReadOnlyException(f"{self.meta.path}: this protocol is read-only")
        if self.meta.scale(mip).get("locked"):
            raise ReadOnlyException(f"{self.meta.path} mip {mip} is locked for writing")

    def upload(self, image: np.ndarray, offset: Any, mip: int, parallel: int = 1, **_: Any) -> None:
        """Write a 4-D ``(x, y, z, c)`` image with its first voxel at ``offset``
        (voxels at ``mip``). Everything is checked before anything is stored."""
        self._check_writable(mip)
        layer = self.layer_format(mip)
        if image.dtype != layer.dtype:
            raise DtypeMismatchError(
                f"{self.meta.path}: cannot write {image.dtype} data into a {layer.dtype} layer; "
                f"convert it with .astype({layer.dtype.name!r}) first"
            )
        if image.ndim == 3:
            image = image[..., np.newaxis]
        if image.ndim != 4 or image.shape[3] != layer.num_channels:
            raise AlignmentError(
                f"{self.meta.path}: image shape {image.shape} needs 3 axes, or 4 with "
                f"{layer.num_channels} channel(s)"
            )
        layer.codec.check(layer.dtype, layer.num_channels)
        start = np.asarray(offset, dtype=np.int64)[:3]
        bbox = Bbox(start, start + np.asarray(image.shape[:3], dtype=np.int64))
        self.check_bounds(bbox, mip)
        grid = self.meta.grid(mip)
        stop = start + np.asarray(image.shape[:3], dtype=np.int64)
        if self.is_sharded(mip):
            where = f"{self.meta.path} mip {mip}"
            write_shards(self.sharded_scale(mip), layer, start, image, self.write_options(), where)
            return
        if not self.non_aligned_writes and not grid.is_aligned(start, stop):
            lo, hi = grid.expand_to_grid(start, stop)
            raise AlignmentError(
                f"{self.meta.path} mip {mip}: {bbox} is not aligned to the chunk grid "
                f"(chunk size {tuple(grid.chunk_size)}, voxel offset {tuple(grid.offset)}); "
                f"the nearest aligned box is {Bbox(lo, hi)}. Pass non_aligned_writes=True "
                f"to read-modify-write the edge chunks."
            )
        write_region(self.store, grid, layer, start, image, self.write_options())

    def delete(self, bbox: Bbox, mip: int) -> None:
        """Delete the chunks of an aligned box (after clamping to the bounds)."""
        self._check_writable(mip)
        grid = self.meta.grid(mip)
        start = np.maximum(np.asarray(bbox.minpt, dtype=np.int64), grid.offset)
        stop = np.minimum(np.asarray(bbox.maxpt, dtype=np.int64), grid.bounds_max)
        if self.is_sharded(mip):
            delete_shards(self.sharded_scale(mip), start, stop, f"{self.meta.path} mip {mip}")
            return
        if not grid.is_aligned(start, stop):
            raise AlignmentError(
                f"{self.meta.path} mip {mip}: delete box {bbox} is not chunk aligned"
            )
        delete_region(self.store, grid, start, stop)

    def delete_all(self, mip: int) -> None:
        self._check_writable(mip)
        self.store.delete_many(list(self.store.list(self.meta.key(mip) + "/")))
        cached = self._sharded.pop(mip, None)
        if cached is not None:
            cached[1].cache.clear()
