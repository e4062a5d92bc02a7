"""``vol.image``'s sharding methods, as CloudVolume names them (``is_sharded``,
``shard_spec``, ``shard_reader``, ``shard_shape``, ``morton_codes``,
``shard_filename``, ``make_shard_chunks``, ``make_shard``, ``to_sharded``,
``to_unsharded``), plus ``shard_alignment``.

Boxes are voxel boxes at the given mip (``mip=None``: the volume's current mip);
grid points are chunk coordinates (x, y, z) counted from the voxel offset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from cloudvol.exceptions import AlignmentError, OutOfBoundsError, SpecViolation
from cloudvol.lib import Bbox, Vec
from cloudvol.precomputed.image_shards import ImageShardLayout, ShardAlignment
from cloudvol.precomputed.shard_params import (
    compute_shard_params_for_image,
    image_shard_shape_from_spec,
)
from cloudvol.precomputed.sharding import ShardingSpecification, synthesize_shard_files
from cloudvol.volume.shard_compat import ShardReader
from cloudvol.volume.sharded import ShardedScale
from cloudvol.volume.write import is_background

if TYPE_CHECKING:
    from cloudvol.precomputed.metadata import PrecomputedMetadata
    from cloudvol.volume.read import LayerFormat

__all__ = ["ShardingMethods"]


class ShardingMethods:
    """Mixin of :class:`~cloudvol.volume.image.PrecomputedImageSource`."""

    meta: PrecomputedMetadata
    config: Any
    background_color: float
    delete_black_uploads: bool
    _sharded: dict[int, tuple[tuple[Any, ...], ShardedScale]]
    layer_format: Callable[[int], LayerFormat]

    def _mip(self, mip: Any) -> int:
        return self.config.mip if mip is None else self.meta.to_mip(mip)

    # --- state ------------------------------------------------------------------

    def is_sharded(self, mip: Any = None) -> bool:
        """Whether the scale has a ``sharding`` specification."""
        return bool(self.meta.scale(self._mip(mip)).get("sharding"))

    def sharded_scale(self, mip: int) -> ShardedScale:
        """The reader/writer of a sharded scale, rebuilt whenever its geometry,
        specification or store changes (index caches are kept otherwise)."""
        scale = self.meta.scale(mip)
        sharding = scale.get("sharding") or {}
        signature = (
            scale["key"], tuple(scale["size"]), tuple(scale.get("voxel_offset", (0, 0, 0))),
            tuple(scale["chunk_sizes"][0]), tuple(sorted(sharding.items())), id(self.meta.store),
        )  # fmt: skip
        cached = self._sharded.get(mip)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            sharded = ShardedScale(self.meta.store, self.meta.geometry(mip))
        except SpecViolation as err:
            raise SpecViolation(f"{self.meta.path} mip {mip}: {err}") from None
        self._sharded[mip] = (signature, sharded)
        return sharded

    def shard_spec(self, mip: Any = None, spec: Any = None) -> ShardingSpecification:
        """``spec`` if given, else the scale's specification (``ValueError`` if none)."""
        if spec is not None:
            return ShardingSpecification.coerce(spec)
        mip = self._mip(mip)
        sharding = self.meta.scale(mip).get("sharding")
        if not sharding:
            raise ValueError(f"mip {mip} does not have a sharding specification.")
        return ShardingSpecification.from_dict(sharding)

    def shard_reader(self, mip: Any = None) -> ShardReader:
        """A CloudVolume-style reader of the layer's shard files (``path`` = scale key)."""
        return ShardReader(str(self.meta.path), None, self.shard_spec(mip), store=self.meta.store)

    def shard_shape(self, mip: Any = None) -> Vec:
        """Voxels per shard (x, y, z) before clipping at the volume's end (CloudVolume's
        ``image_shard_shape_from_spec``)."""
        mip = self._mip(mip)
        if not self.is_sharded(mip):
            raise ValueError("This volume is not sharded.")
        return image_shard_shape_from_spec(
            self.meta.scale(mip)["sharding"], self.meta.volume_size(mip), self.meta.chunk_size(mip)
        )

    def shard_alignment(self, mip: Any = None) -> ShardAlignment | None:
        """The shard grid writes must align to: shard shape and origin in voxels
        (``.expand(start, stop)`` gives the enclosing aligned box). ``None`` when the
        scale's shards are not boxes (hashed keys), where a write must include all of
        each shard's chunks."""
        mip = self._mip(mip)
        if not self.is_sharded(mip):
            raise ValueError(f"mip {mip} is not sharded")
        return ImageShardLayout(self.meta.geometry(mip)).alignment

    # --- building shards by hand (CloudVolume's API) ------------------------------------------

    def morton_codes(
        self,
        bbox: Any,
        mip: Any = None,
        spec: Any = None,
        same_shard: bool = True,
        require_aligned: bool = True,
    ) -> tuple[list[Vec], np.ndarray]:
        """Grid points (x fastest) and Morton codes of the chunks of ``bbox``;
        ``AlignmentError`` if the box is not chunk-aligned (``require_aligned``) or its
        chunks span several shards (``same_shard``)."""
        mip = self._mip(mip)
        spec = self.shard_spec(mip, spec)
        if isinstance(bbox, Bbox):
            bbox = bbox.convert_units("vx", self.meta.resolution(mip))
        bbox = Bbox.create(bbox)
        if bbox.subvoxel():
            raise ValueError(f"Bounding box is too small to make a shard. Got: {bbox}")
        grid = self.meta.grid(mip)
        lo, hi = grid.expand_to_grid(np.asarray(bbox.minpt), np.asarray(bbox.maxpt))
        aligned = Bbox(lo, hi)
        if require_aligned and aligned != bbox:
            raise AlignmentError(
                f"Unable to create shard from a non-chunk aligned bounding box. "
                f"Requested: {bbox}, Aligned: {aligned}"
            )
        if aligned.subvoxel():
            raise OutOfBoundsError(
                f"Shard completely outside dataset: Requested: {bbox}, Dataset: "
                f"{self.meta.bounds(mip)}"
            )
        layout = ImageShardLayout(self.meta.geometry(mip), spec)
        plan = grid.plan(lo, hi)
        cells = layout.cells_of(plan.starts)
        codes = layout.codes(cells)
        if same_shard and len(codes):
            shards, _ = layout.locate(codes)
            if np.any(shards != shards[0]):
                raise AlignmentError(
                    f"The gridpoints for this image did not all correspond to the same "
                    f"shard. Got: {bbox}"
                )
        return [Vec(*c) for c in cells.tolist()], codes

    def shard_filename(self, bbox: Any, mip: Any = None) -> str:
        """File name of the one shard ``bbox`` (chunk-aligned) belongs to."""
        mip = self._mip(mip)
        if not self.is_sharded(mip):
            raise ValueError("Unable to compute filename for unsharded image.")
        spec = self.shard_spec(mip)
        _, codes = self.morton_codes(bbox, mip=mip, spec=spec)
        return spec.shard_filename(spec.locate_one(int(codes[0]))[0])

    def make_shard_chunks(
        self, img: np.ndarray, bbox: Any, mip: Any = None, spec: Any = None
    ) -> dict[int, bytes]:
        """``{morton code: encoded chunk}`` of an image covering the chunk-aligned,
        single-shard ``bbox`` (``delete_black_uploads`` leaves background chunks out)."""
        mip = self._mip(mip)
        if isinstance(bbox, Bbox):
            bbox = bbox.convert_units("vx", self.meta.resolution(mip))
        spec = self.shard_spec(mip, spec)
        gpts, codes = self.morton_codes(bbox, mip=mip, spec=spec)
        layer = self.layer_format(mip)
        if img.ndim == 3:
            img = img[..., np.newaxis]
        geometry = self.meta.geometry(mip)
        layout = ImageShardLayout(geometry, spec)
        anchor = np.asarray(Bbox.create(bbox).minpt, dtype=np.int64)
        background = self.background_color
        chunks: dict[int, bytes] = {}
        for cell, code in zip(gpts, codes.tolist(), strict=True):
            lo, hi = layout.chunk_box(np.asarray(cell))
            a, b = (lo - anchor).tolist(), (hi - anchor).tolist()
            chunk = img[a[0] : b[0], a[1] : b[1], a[2] : b[2]]
            if self.delete_black_uploads and is_background(chunk, background):
                continue
            name = f"{self.meta.path}/{geometry.key} chunk {code}"
            chunks[code] = bytes(
                layer.codec.encode(chunk, layer.spec(chunk.shape, name, background))
            )
        return chunks

    def make_shard(
        self, img_or_dict: Any, bbox: Any, mip: Any = None, spec: Any = None, progress: bool = False
    ) -> tuple[str, bytes]:
        """``(filename, shard file bytes)`` from an image covering one whole shard, or
        from ``{morton code: encoded chunk}``."""
        mip = self._mip(mip)
        spec = self.shard_spec(mip, spec)
        if isinstance(img_or_dict, np.ndarray):
            labels = self.make_shard_chunks(img_or_dict, bbox, mip=mip, spec=spec)
        else:
            labels = dict(img_or_dict)
        files = synthesize_shard_files(spec, labels)
        if len(files) != 1:
            raise AlignmentError(f"the chunks given belong to {len(files)} shards, not one")
        return next(iter(files.items()))

    # --- switching a scale's layout in the info (no data moved, no commit) -----------------

    def to_sharded(
        self,
        uncompressed_shard_bytesize: int = int(3.5e9),
        max_shard_index_bytes: int = 8192,
        max_minishard_index_bytes: int = 40000,
        max_labels_per_minishard: int = 4000,
        minishard_index_encoding: str = "gzip",
        data_encoding: str = "gzip",
        mip: Any = None,
    ) -> None:
        """Set the scale's ``sharding`` to CloudVolume's recommendation (info only; no
        data is moved and nothing is committed: see ``vol.to_sharded`` for that)."""
        mip = self._mip(mip)
        spec = compute_shard_params_for_image(
            dataset_size=self.meta.volume_size(mip), chunk_size=self.meta.chunk_size(mip),
            encoding=self.meta.encoding(mip), dtype=self.meta.dtype,
            uncompressed_shard_bytesize=uncompressed_shard_bytesize,
            max_shard_index_bytes=max_shard_index_bytes,
            max_minishard_index_bytes=max_minishard_index_bytes,
            max_labels_per_minishard=max_labels_per_minishard,
            minishard_index_encoding=minishard_index_encoding, data_encoding=data_encoding,
        )  # fmt: skip
        self.meta.scale(mip)["sharding"] = spec.to_dict()

    def to_unsharded(self, mip: Any = None) -> None:
        """Remove the scale's ``sharding`` (info only; nothing committed)."""
        self.meta.scale(self._mip(mip)).pop("sharding", None)
