"""The CloudVolume facade for precomputed layers.

It parses the constructor's keywords once, owns the user-mutable state (``mip``,
flags forwarded to ``vol.image``), turns slices and boxes into voxel boxes, and
delegates IO to :class:`~cloudvol.volume.image.PrecomputedImageSource`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import fastremap
import numpy as np

from cloudvol import paths
from cloudvol.exceptions import AlignmentError, SubvoxelVolumeError
from cloudvol.lib import Bbox, Vec
from cloudvol.precomputed import info as infomod
from cloudvol.precomputed.info import int_triple
from cloudvol.precomputed.metadata import PrecomputedMetadata
from cloudvol.storage import StorageOptions, open_store
from cloudvol.volume.image import ImageConfig, PrecomputedImageSource
from cloudvol.volume.segmentation import renumber as renumber_labels
from cloudvol.volumecutout import VolumeCutout

__all__ = ["CloudVolumePrecomputed"]

# Keywords accepted for compatibility whose feature is not in this release; each is
# stored and documented in docs/compatibility.md.
LATER_FEATURE_KEYWORDS = (
    "cache", "compress_cache", "cdn_cache", "green_threads", "agglomerate", "lru_bytes",
    "cache_locking", "lru_encoding", "timestamp",
)  # fmt: skip


def _normalize_parallel(parallel: Any, *, constructor: bool) -> int:
    if parallel is True or (constructor and parallel == 0 and parallel is not False):
        return os.cpu_count() or 1
    if parallel is False:
        return 1
    parallel = int(parallel)
    if parallel < 0 or (not constructor and parallel == 0):
        raise ValueError(f"parallel must be a positive integer or True/False, got {parallel}")
    return parallel


class CloudVolumePrecomputed:
    """A precomputed layer at one mip; see :class:`cloudvol.CloudVolume`."""

    def __init__(
        self,
        cloudpath: paths.CloudPath,
        mip: Any = 0,
        bounded: bool = True,
        autocrop: bool = False,
        fill_missing: bool = False,
        cache: Any = False,
        compress_cache: Any = None,
        cdn_cache: Any = True,
        progress: bool = False,
        info: dict | None = None,
        provenance: Any = None,
        compress: Any = None,
        compress_level: int | None = None,
        non_aligned_writes: bool = False,
        overwrite_partial_chunks: bool = False,
        parallel: Any = 1,
        delete_black_uploads: bool = False,
        background_color: float = 0,
        green_threads: bool = False,
        use_https: bool = False,
        max_redirects: int = 10,
        mesh_dir: str | None = None,
        skel_dir: str | None = None,
        agglomerate: bool = False,
        secrets: Any = None,
        spatial_index_db: str | None = None,
        lru_bytes: int = 0,
        cache_locking: bool = True,
        lru_encoding: str = "same",
        timestamp: int | None = None,
        codec_threads: int = 1,
    ) -> None:
        if overwrite_partial_chunks and not non_aligned_writes:
            raise ValueError("overwrite_partial_chunks=True needs non_aligned_writes=True")
        from cloudvol.storage.compression import normalize_compress

        if compress is not None:
            normalize_compress(compress)  # reject unknown values before any IO
        self.config = ImageConfig(
            parallel=_normalize_parallel(parallel, constructor=True),
            compress=compress,
            compress_level=compress_level,
            cdn_cache=cdn_cache,
            progress=bool(progress),
            green_threads=green_threads,
            secrets=secrets,
            codec_threads=codec_threads,
        )
        storage_options = StorageOptions(secrets=secrets)
        self.meta = PrecomputedMetadata(
            cloudpath,
            lambda p: open_store(p, storage_options),
            info=info,
            provenance=provenance,
            max_redirects=max_redirects,
            use_https=use_https,
        )
        self.image = PrecomputedImageSource(
            self.meta,
            self.config,
            bounded=bounded,
            autocrop=autocrop,
            fill_missing=fill_missing,
            non_aligned_writes=non_aligned_writes,
            overwrite_partial_chunks=overwrite_partial_chunks,
            delete_black_uploads=delete_black_uploads,
            background_color=background_color,
            readonly=bool(self.meta.redirected_from),
        )
        self.cache_settings = {"cache": cache, "compress_cache": compress_cache,
                               "lru_bytes": lru_bytes, "lru_encoding": lru_encoding,
                               "cache_locking": cache_locking}  # fmt: skip
        self.mesh_dir, self.skel_dir = mesh_dir, skel_dir
        self.spatial_index_db, self.agglomerate, self.timestamp = (
            spatial_index_db,
            agglomerate,
            timestamp,
        )
        # Like CloudVolume, the overrides are written into the layer info in memory.
        if mesh_dir:
            self.meta.info["mesh"] = str(mesh_dir)
        if skel_dir:
            self.meta.info["skeletons"] = str(skel_dir)
        self._mesh: Any = None
        self._skeleton: Any = None
        self._mip = 0
        self.mip = mip

    # --- pickling: reopen storage in the new process ------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {
            "cloudpath": self.meta.path, "mip": self._mip, "info": self.meta.info,
            "provenance": dict(self.meta.provenance), "flags": self._flags(),
            "config": self.config, "spatial_index_db": self.spatial_index_db,
        }  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        config: ImageConfig = state["config"]
        self.__init__(  # type: ignore[misc]
            state["cloudpath"], mip=state["mip"], info=state["info"], provenance=state["provenance"],
            compress=config.compress, compress_level=config.compress_level, cdn_cache=config.cdn_cache,
            parallel=config.parallel, secrets=config.secrets,
            spatial_index_db=state.get("spatial_index_db"), **state["flags"],
        )  # fmt: skip

    def _flags(self) -> dict[str, Any]:
        return {name: getattr(self.image, name) for name in (
            "bounded", "autocrop", "fill_missing", "non_aligned_writes",
            "overwrite_partial_chunks", "delete_black_uploads", "background_color")}  # fmt: skip

    def __repr__(self) -> str:
        return f"CloudVolume({str(self.meta.path)!r}, mip={self.mip})"

    # --- meshes and skeletons (opened on first use: image layers never pay) ---------

    @property
    def mesh(self) -> Any:
        """The layer's meshes (legacy or multi-resolution, see :mod:`cloudvol.meshes`)."""
        from cloudvol.meshes.source import open_mesh_source

        self._mesh = open_mesh_source(
            self._mesh, self.meta, progress=self.config.progress,
            sql_url=self.spatial_index_db, volume_mip=lambda: self.mip,
        )  # fmt: skip
        return self._mesh

    @mesh.setter
    def mesh(self, source: Any) -> None:
        self._mesh = source

    @property
    def skeleton(self) -> Any:
        """The layer's skeletons (see :mod:`cloudvol.skeletons`)."""
        from cloudvol.skeletons.source import open_skeleton_source

        self._skeleton = open_skeleton_source(
            self._skeleton, self.meta, compress=self.config.compress,
            cdn_cache=self.config.cdn_cache, progress=self.config.progress,
            sql_url=self.spatial_index_db,
        )  # fmt: skip
        return self._skeleton

    @skeleton.setter
    def skeleton(self, source: Any) -> None:
        self._skeleton = source

    # --- flags forwarded to vol.image ------------------------------------------------

    def _forward(name: str) -> property:  # type: ignore[misc]
        return property(
            lambda self: getattr(self.image, name), lambda self, v: setattr(self.image, name, v)
        )

    bounded = _forward("bounded")
    autocrop = _forward("autocrop")
    fill_missing = _forward("fill_missing")
    non_aligned_writes = _forward("non_aligned_writes")
    overwrite_partial_chunks = _forward("overwrite_partial_chunks")
    delete_black_uploads = _forward("delete_black_uploads")
    background_color = _forward("background_color")
    del _forward

    @property
    def parallel(self) -> int:
        return self.config.parallel

    @parallel.setter
    def parallel(self, value: Any) -> None:
        self.config.parallel = _normalize_parallel(value, constructor=False)

    @property
    def compress(self) -> Any:
        return self.config.compress

    @compress.setter
    def compress(self, value: Any) -> None:
        from cloudvol.storage.compression import normalize_compress

        if value is not None:
            normalize_compress(value)
        self.config.compress = value

    cdn_cache = property(
        lambda s: s.config.cdn_cache, lambda s, v: setattr(s.config, "cdn_cache", v)
    )
    progress = property(lambda s: s.config.progress, lambda s, v: setattr(s.config, "progress", v))
    green_threads = property(
        lambda s: s.config.green_threads, lambda s, v: setattr(s.config, "green_threads", v)
    )

    # --- info and provenance ---------------------------------------------------------

    @property
    def info(self) -> dict[str, Any]:
        return self.meta.info

    @info.setter
    def info(self, value: dict[str, Any]) -> None:
        self.meta.info = value

    @property
    def provenance(self) -> Any:
        return self.meta.provenance

    @provenance.setter
    def provenance(self, value: Any) -> None:
        from cloudvol.precomputed.provenance import parse_provenance

        self.meta.provenance = parse_provenance(value)

    def refresh_info(self) -> dict[str, Any]:
        return self.meta.refresh_info()

    def commit_info(self) -> None:
        self.meta.commit_info()

    def refresh_provenance(self) -> Any:
        return self.meta.refresh_provenance()

    def commit_provenance(self) -> None:
        self.meta.commit_provenance()

    @classmethod
    def create_new_info(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return infomod.create_info(*args, **kwargs)

    def add_scale(self, factor: Any, encoding: str | None = None, chunk_size: Any = None,
                  info: dict | None = None, sharding: Any = None) -> dict[str, Any]:  # fmt: skip
        """Add a downsampled scale (not committed); returns it. ``sharding``: a
        specification (dict or ShardingSpecification), ``True`` for cloudvol's
        choice, or ``None`` for unsharded."""
        return infomod.add_scale(
            info or self.meta.info, factor, encoding=encoding, chunk_size=chunk_size,
            sharding=sharding,
        )  # fmt: skip

    def reset_scales(self) -> None:
        """Keep only scale 0, and commit."""
        self.meta.info["scales"] = self.meta.info["scales"][:1]
        self.commit_info()

    # --- mip -----------------------------------------------------------------------

    @property
    def mip(self) -> int:
        return self._mip

    @mip.setter
    def mip(self, value: Any) -> None:
        self._mip = self.meta.to_mip(value)
        self.config.mip = self._mip  # vol.image methods default to the current mip

    @property
    def scales(self) -> list[dict[str, Any]]:
        return self.meta.scales

    @scales.setter
    def scales(self, value: list[dict[str, Any]]) -> None:
        self.meta.info["scales"] = value

    @property
    def scale(self) -> dict[str, Any]:
        return self.meta.scale(self.mip)

    @scale.setter
    def scale(self, value: dict[str, Any]) -> None:
        self.meta.info["scales"][self.mip] = value

    @property
    def available_mips(self) -> range:
        return self.meta.available_mips

    @property
    def available_resolutions(self) -> Any:
        return self.meta.available_resolutions

    # --- names and paths -------------------------------------------------------------

    @property
    def dataset_name(self) -> str:
        return self.meta.path.extracted.dataset

    @property
    def layer(self) -> str:
        return self.meta.path.extracted.layer

    @property
    def cloudpath(self) -> str:
        return str(self.meta.path)

    layer_cloudpath = cloudpath

    @property
    def base_cloudpath(self) -> str:
        return str(self.meta.path.parent)

    @property
    def basepath(self) -> str:
        return self.meta.path.extracted.basepath

    @property
    def layerpath(self) -> str:
        ex = self.meta.path.extracted
        return f"{ex.basepath}/{ex.layer}"

    @property
    def info_cloudpath(self) -> str:
        return self.meta.infopath

    @property
    def cache_path(self) -> str | None:
        return None

    # --- per-mip geometry ---------------------------------------------------------------

    def mip_scale(self, mip: Any) -> dict[str, Any]:
        return self.meta.scale(self.meta.to_mip(mip))

    def mip_shape(self, mip: Any) -> tuple:
        return self.meta.shape(self.meta.to_mip(mip))

    def mip_ndim(self, mip: Any) -> int:
        return len(self.mip_shape(mip))

    def mip_volume_size(self, mip: Any) -> Vec:
        return self.meta.volume_size(self.meta.to_mip(mip))

    def mip_voxel_offset(self, mip: Any) -> Vec:
        return self.meta.voxel_offset(self.meta.to_mip(mip))

    def mip_resolution(self, mip: Any) -> Vec:
        return self.meta.resolution(self.meta.to_mip(mip))

    def mip_chunk_size(self, mip: Any) -> Vec:
        return self.meta.chunk_size(self.meta.to_mip(mip))

    mip_underlying = mip_chunk_size

    def mip_key(self, mip: Any) -> str:
        return self.meta.key(self.meta.to_mip(mip))

    def mip_bounds(self, mip: Any) -> Bbox:
        return self.meta.bounds(self.meta.to_mip(mip))

    def mip_encoding(self, mip: Any) -> str:
        return self.meta.encoding(self.meta.to_mip(mip))

    def mip_compressed_segmentation_block_size(self, mip: Any) -> Any:
        return self.meta.compressed_segmentation_block_size(self.meta.to_mip(mip))

    shape = property(lambda s: s.mip_shape(s.mip))
    ndim = property(lambda s: 4)
    volume_size = property(lambda s: s.mip_volume_size(s.mip))
    voxel_offset = property(lambda s: s.mip_voxel_offset(s.mip))
    resolution = property(lambda s: s.mip_resolution(s.mip))
    chunk_size = property(lambda s: s.mip_chunk_size(s.mip))
    underlying = chunk_size
    key = property(lambda s: s.mip_key(s.mip))
    bounds = property(lambda s: s.mip_bounds(s.mip))
    encoding = property(lambda s: s.mip_encoding(s.mip))
    compressed_segmentation_block_size = property(
        lambda s: s.mip_compressed_segmentation_block_size(s.mip)
    )
    downsample_ratio = property(lambda s: s.meta.downsample_ratio(s.mip))
    layer_type = property(lambda s: s.meta.layer_type)
    data_type = property(lambda s: s.meta.data_type)
    dtype = property(lambda s: s.meta.dtype)
    num_channels = property(lambda s: s.meta.num_channels)

    def point_to_mip(self, pt: Any, mip: Any, to_mip: Any) -> Vec:
        return self.meta.point_to_mip(pt, self.meta.to_mip(mip), self.meta.to_mip(to_mip))

    def bbox_to_mip(self, bbox: Any, mip: Any, to_mip: Any) -> Bbox:
        return self.meta.bbox_to_mip(bbox, self.meta.to_mip(mip), self.meta.to_mip(to_mip))

    def slices_to_global_coords(self, slices: Any) -> list[slice]:
        """Slices at the current mip -> mip 0."""
        bbox = self.bbox_to_mip(Bbox.from_slices(slices), self.mip, 0)
        return list(bbox.to_slices())

    def slices_from_global_coords(self, slices: Any) -> list[slice]:
        """Slices at mip 0 -> the current mip."""
        bbox = self.bbox_to_mip(Bbox.from_slices(slices), 0, self.mip)
        return list(bbox.to_slices())

    # --- reading ---------------------------------------------------------------------

    def _voxel_bbox(self, bbox: Any, mip: int) -> Bbox:
        if isinstance(bbox, Bbox):
            bbox = bbox.convert_units("vx", self.meta.resolution(mip)).astype(int)
        return Bbox.create(
            bbox, context=self.meta.bounds(mip), bounded=self.bounded, autocrop=self.autocrop
        )

    def download(self, bbox: Any, mip: Any = None, parallel: int | None = None, segids: Any = None,
                 preserve_zeros: bool = False, agglomerate: Any = None, timestamp: Any = None,
                 stop_layer: Any = None, renumber: bool = False, coord_resolution: Any = None,
                 label: Any = None, crackle: bool = False) -> Any:  # fmt: skip
        """Download ``bbox`` (Bbox, slices, six ints, chunk filename or dict; voxels at
        ``mip`` unless the Bbox is physical or ``coord_resolution`` is given) as a 4-D
        ``(x, y, z, channel)`` :class:`VolumeCutout`.

        ``label=L`` returns a boolean mask of that label; ``renumber=True`` returns
        ``(cutout, remap)`` with labels renumbered from 1 in the smallest unsigned
        dtype (0 stays 0); ``segids`` keeps only those labels (others 0, or the dtype
        maximum with ``preserve_zeros``)."""
        mip = self.mip if mip is None else self.meta.to_mip(mip)
        if coord_resolution is not None:
            box = Bbox.create(bbox, context=self.meta.bounds(mip), bounded=False, autocrop=False)
            factor = np.asarray(self.meta.resolution(mip), dtype=float) / np.asarray(
                coord_resolution, dtype=float
            )
            box = Bbox(
                np.floor(np.asarray(box.minpt) / factor),
                np.ceil(np.asarray(box.maxpt) / factor),
                dtype=np.int64,
            )
            if self.autocrop:
                box = Bbox.intersection(box, self.meta.bounds(mip))
        else:
            box = self._voxel_bbox(bbox, mip).astype(np.int64)
        if box.subvoxel():
            raise SubvoxelVolumeError(f"{box} has zero or near-zero size")
        if label is not None:
            return self.image.download(box, mip, label=label)
        img = self.image.download(box, mip)
        if segids is not None:
            fill = np.iinfo(img.dtype).max if preserve_zeros and img.dtype.kind in "iu" else 0
            fastremap.mask_except(img, [int(v) for v in segids], value=fill, in_place=True)
        if renumber:
            out, remap = renumber_labels(img, self.background_color)
            return _with_meta(out, img), remap
        return img

    def __getitem__(self, slices: Any) -> Any:
        if isinstance(slices, Bbox):
            slices = (
                slices.convert_units("vx", self.meta.resolution(self.mip)).astype(int).to_slices()
            )
        elif (
            hasattr(slices, "__len__") and len(slices) == 3
            and all(isinstance(s, list | tuple | np.ndarray) for s in slices)
        ):  # fmt: skip
            return self._point_indexing(slices)
        reified = self.meta.bbox(self.mip).reify_slices(
            slices, bounded=self.bounded, autocrop=self.autocrop
        )
        steps = [s.step for s in reified]
        channel = slice(reified[3].start, reified[3].stop)
        box = Bbox.from_slices([slice(s.start, s.stop) for s in reified[:3]])
        img = self.download(box, self.mip)
        result = img[:: steps[0], :: steps[1], :: steps[2], channel]
        if result.size == 1:
            return np.asarray(result)
        return result

    def _point_indexing(self, coords: Sequence[Any]) -> np.ndarray:
        """``vol[xs, ys, zs]``: mip-0 points, values in input order as a 1-D array."""
        pts = np.stack([np.asarray(c, dtype=np.int64) for c in coords], axis=1)
        converted = self._mip0_points_at(pts, self.mip)
        values = self.image.download_points(converted, self.mip)
        return np.array([values[int_triple(p)] for p in converted])

    def _mip0_points_at(self, pts: Any, mip: int, coord_resolution: Any = None) -> np.ndarray:
        """Mip-0 points (or points at ``coord_resolution``) as voxels of ``mip``."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
        if coord_resolution is not None:
            res0 = np.asarray(self.meta.resolution(0), dtype=float)
            pts = pts * np.asarray(coord_resolution, dtype=float) / res0
        return self.meta.points_to_mip(pts, 0, mip)

    def scattered_points(self, pts: Any, mip: Any = None, coord_resolution: Any = None) -> dict:
        """``{(x, y, z): value}`` for mip-0 points, keyed by the points converted to ``mip``."""
        mip = self.mip if mip is None else self.meta.to_mip(mip)
        return self.image.download_points(self._mip0_points_at(pts, mip, coord_resolution), mip)

    def download_point(self, pt: Any, size: Any = 256, mip: Any = None, parallel: Any = None,
                       coord_resolution: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        """A box of ``size`` voxels (int or triple) centred on mip-0 point ``pt``."""
        mip = self.mip if mip is None else self.meta.to_mip(mip)
        center = self._mip0_points_at(pt, mip, coord_resolution)[0]
        size3 = np.asarray([size] * 3 if np.isscalar(size) else size, dtype=np.int64)
        half = size3 // 2
        lo = np.asarray(center) - half
        hi = np.asarray(center) + np.where(size3 == 1, 1, half)
        return self.download(Bbox(lo, hi), mip=mip, **kwargs)

    def unique(self, bbox: Any, mip: Any = None, agglomerate: Any = None, timestamp: Any = None,
               stop_layer: Any = None, coord_resolution: Any = None) -> set:  # fmt: skip
        """The set of labels in ``bbox``, computed on the compressed chunks where the
        encoding lists its labels (compressed_segmentation, compresso, crackle)."""
        mip = self.mip if mip is None else self.meta.to_mip(mip)
        if coord_resolution is not None:
            img = self.download(bbox, mip=mip, coord_resolution=coord_resolution)
            return {v.item() for v in fastremap.unique(np.ascontiguousarray(img))}
        return self.image.unique(self._voxel_bbox(bbox, mip).astype(np.int64), mip)

    def exists(self, bbox: Any) -> dict[str, bool]:
        """``{"{key}/{chunk}": bool}`` for each chunk of ``bbox`` (always bounds-checked)."""
        box = Bbox.create(bbox, context=self.bounds, bounded=True)
        return self.image.exists(box, self.mip)

    def download_files(self, bbox: Any, mip: Any = None, parallel: Any = None, segids: Any = None,
                       cache_only: bool = False, decompress: bool = True, **_: Any) -> dict[str, bytes]:  # fmt: skip
        """Transport-decompressed bytes of each chunk file ``bbox`` touches."""
        if cache_only:
            return {}
        mip = self.mip if mip is None else self.meta.to_mip(mip)
        return self.image.download_files(self._voxel_bbox(bbox, mip), mip, decompress=decompress)

    # --- writing -----------------------------------------------------------------------

    def __setitem__(self, slices: Any, img: Any) -> None:
        if isinstance(slices, Bbox):
            slices = (
                slices.convert_units("vx", self.meta.resolution(self.mip)).astype(int).to_slices()
            )
        reified = self.meta.bbox(self.mip).reify_slices(
            slices, bounded=self.bounded, autocrop=False
        )
        if any(s.step not in (None, 1) for s in reified):
            raise ValueError(f"writes cannot use slice steps: {slices}")
        slice_shape = [int(s.stop - s.start) for s in reified]
        if reified[3].start != 0 or reified[3].stop != self.num_channels:
            raise AlignmentError(
                f"writes must cover every channel (0:{self.num_channels}), got {reified[3]}"
            )
        if np.isscalar(img):
            img = np.full(slice_shape, img, dtype=self.dtype, order="F")
        img_shape = list(img.shape) + ([self.num_channels] if img.ndim == 3 else [])
        if img_shape != slice_shape:
            raise AlignmentError(
                f"Input image shape {img_shape} does not match slice shape {slice_shape}"
            )
        if img.ndim == 3:
            img = img[..., np.newaxis]
        bbox = Bbox.from_slices(reified[:3])
        if self.autocrop and not self.bounds.contains_bbox(bbox):
            cropped = Bbox.intersection(bbox, self.bounds)
            if cropped.subvoxel():
                return
            lo = np.asarray(cropped.minpt) - np.asarray(bbox.minpt)
            hi = lo + np.asarray(cropped.size3())
            img = img[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            bbox = cropped
        if bbox.subvoxel():
            return
        self.image.upload(img, bbox.minpt, self.mip, parallel=self.parallel)

    def delete(self, bbox: Any, mip: Any = None) -> None:
        """Delete the chunk files of a chunk-aligned box (the shard files of a
        shard-aligned box on sharded scales)."""
        mip = self.mip if mip is None else self.meta.to_mip(mip)
        box = Bbox.create(bbox, context=self.meta.bounds(mip), bounded=False, autocrop=True)
        self.image.delete(box, mip)

    # --- sharded layout ------------------------------------------------------------------

    def to_sharded(self, dest: str | None = None, mip: Any = None, sharding: Any = None,
                   encoding: str | None = None, shard_bytes: int = int(3.5e9),
                   chunks_per_shard: int | None = None, parallel: int = 1,
                   progress: bool | None = None) -> CloudVolumePrecomputed:  # fmt: skip
        """Copy the scale at ``mip`` (default: the current mip) into a sharded scale at
        ``dest`` (a cloudpath; ``None`` converts this layer in place) and return the
        destination volume. See :func:`cloudvol.frontends.sharded_layout.convert_layer`."""
        from cloudvol.frontends.sharded_layout import convert_layer

        return convert_layer(self, dest, self.mip if mip is None else mip, sharded=True,
                             sharding=sharding, encoding=encoding, shard_bytes=shard_bytes,
                             chunks_per_shard=chunks_per_shard, parallel=parallel,
                             progress=progress)  # fmt: skip

    def to_unsharded(self, dest: str | None = None, mip: Any = None, encoding: str | None = None,
                     compress: Any = None, compress_level: int | None = None, parallel: int = 1,
                     progress: bool | None = None) -> CloudVolumePrecomputed:  # fmt: skip
        """Copy the sharded scale at ``mip`` into an unsharded scale at ``dest``
        (``None``: in place) with the destination's transport compression
        (``compress``), and return the destination volume."""
        from cloudvol.frontends.sharded_layout import convert_layer

        return convert_layer(self, dest, self.mip if mip is None else mip, sharded=False,
                             encoding=encoding, compress=compress, compress_level=compress_level,
                             parallel=parallel, progress=progress)  # fmt: skip


def _with_meta(arr: np.ndarray, like: VolumeCutout) -> VolumeCutout:
    out = np.asfortranarray(arr).view(VolumeCutout)
    out.__array_finalize__(like)
    return out
