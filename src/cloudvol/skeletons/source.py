"""``vol.skeleton``: skeletons stored one file per segid, or sharded by segid.

Skeletons are decoded with the directory info's ``vertex_attributes`` and
``transform`` and returned in physical space (nm), as CloudVolume returns them.
"""

from __future__ import annotations

import builtins
import copy
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from cloudvol.exceptions import (
    EmptyFileException,
    SkeletonDecodeError,
)
from cloudvol.geometry.skeleton import Skeleton
from cloudvol.meshes.common import ObjectSource, segid_list, spatial_index_of
from cloudvol.precomputed.object_dirs import SkeletonDirMetadata
from cloudvol.precomputed.skeleton_format import validate_skeleton_info
from cloudvol.storage.base import PutOptions
from cloudvol.volume.progress import chunk_progress

__all__ = ["PrecomputedSkeletonSource"]

_SHARD_PUT = PutOptions(content_type="application/octet-stream", cache_control="no-cache")


class PrecomputedSkeletonSource(ObjectSource):
    """Reads and writes the skeletons of one layer (unsharded or sharded)."""

    meta: SkeletonDirMetadata

    def __init__(
        self,
        meta: SkeletonDirMetadata,
        compress: Any = None,
        cdn_cache: Any = True,
        progress: bool = False,
        sql_url: str | None = None,
    ) -> None:
        self.meta = meta
        self.opened_info = copy.deepcopy(meta.info)
        self.compress = compress
        self.cdn_cache = cdn_cache
        self.progress = progress
        self.spatial_index = spatial_index_of(meta, sql_url, progress)
        self.reader = None
        if meta.is_sharded():
            from cloudvol.volume.shard_compat import ShardReader

            self.reader = ShardReader(meta.meta.path.url, None, meta.sharding(), store=meta.store)

    def _where(self, segid: int) -> str:
        return f"{self.meta.layerpath}/{segid}"

    # --- reading --------------------------------------------------------------------

    def _fetch(self, ids: list[int]) -> dict[int, bytes | None]:
        if self.reader is not None:
            return self.reader.get_data(ids, self.path)
        keys = {segid: self.meta.join(str(segid)) for segid in ids}
        found = self.meta.store.get_many(keys.values())
        return {segid: found.get(key) for segid, key in keys.items()}

    def _home(self, segid: int) -> str:
        """The file that holds (or would hold) ``segid``'s skeleton."""
        if self.reader is None:
            return self._where(segid)
        return f"{self.meta.layerpath}/{self.reader.get_filename(segid)} (segid {segid})"

    def get(
        self, segids: Any, allow_missing: bool = False
    ) -> Skeleton | builtins.list[Skeleton] | None:
        """The skeleton of one segid, or a list (in request order) for a list of
        segids, in nm.

        A missing skeleton raises :class:`SkeletonDecodeError` (unsharded) or
        :class:`EmptyFileException` (sharded), as CloudVolume does, naming the file
        that should hold it; ``allow_missing`` skips it instead.
        """
        single = isinstance(segids, (int, float, np.integer))
        ids = [int(segids)] if single else segid_list(segids)
        info_where = f"{self.meta.layerpath}/info"
        validate_skeleton_info(self.meta.info, where=info_where)
        found = self._fetch(ids)
        missing = [segid for segid in ids if found[segid] is None]
        if missing and not allow_missing:
            names = ", ".join(self._home(s) for s in missing)
            if self.reader is not None:
                raise EmptyFileException(f"skeleton(s) missing: {names}")
            raise SkeletonDecodeError(f"File(s) do not exist: {names}")
        attributes = self.meta.vertex_attributes
        transform = self.meta.transform
        skeletons: builtins.list[Skeleton] = []
        with chunk_progress(self.progress, len(ids) - len(missing), "Decoding skeletons") as tick:
            for segid in ids:
                data = found[segid]
                if data is None:
                    continue
                try:
                    skel = Skeleton.from_precomputed(
                        data, segid=segid, vertex_attributes=attributes
                    )
                except SkeletonDecodeError as err:
                    raise SkeletonDecodeError(f"{self._home(segid)}: {err}") from None
                skel.transform = transform
                skeletons.append(skel.physical_space())
                tick()
        if not single:
            return skeletons
        return skeletons[0] if skeletons else None

    def list(self) -> np.ndarray:
        """Every segid with a skeleton, ascending, in the layer's dtype: from the
        spatial index when there is one; else, sharded, from Igneous' ``*.labels``
        files or failing those the shard indexes; else from the directory listing."""
        layer = self.meta.meta
        dtype = layer.dtype
        if self.spatial_index is not None:
            mip = self.meta.mip or 0
            labels: Iterable[int] = self.spatial_index.query(
                layer.bounds(mip) * layer.resolution(mip)
            )
            return np.sort(np.fromiter(labels, dtype=dtype))
        names = [k.rsplit("/", 1)[-1] for k in self.meta.store.list(self.path + "/", flat=True)]
        if self.reader is not None:
            listed = [n for n in names if n.endswith(".labels")]
            if listed:
                found = self.meta.store.get_many([self.meta.join(n) for n in listed])
                arrays = [np.asarray(json.loads(d), dtype=np.uint64) for d in found.values() if d]
                out = np.concatenate(arrays) if arrays else np.zeros(0, np.uint64)
            else:
                shards = [n for n in names if n.endswith(".shard")]
                out = self.reader.labels_in_shards(shards, self.path)
            return np.sort(out.astype(dtype, copy=False))
        return np.sort(np.fromiter((int(n) for n in names if n.isdigit()), dtype=dtype))

    def get_bbox(self, bbox: Any) -> builtins.list[Skeleton]:
        """The skeletons of every segid the spatial index finds in ``bbox`` (nm)."""
        if self.spatial_index is None:
            raise IndexError(f"{self.meta.layerpath} has no spatial index")
        return self.get(sorted(self.spatial_index.query(bbox)))  # type: ignore[return-value]

    #: the name the spatial-index lookup goes by in some CloudVolume docs
    get_by_bbox = get_bbox

    # --- writing ----------------------------------------------------------------------

    def upload(self, skeletons: Skeleton | Iterable[Skeleton]) -> None:
        """Write skeletons: one gzipped file ``{dir}/{segid}`` each, or, for a sharded
        directory, the shard file they all fall in (one shard per call, as in
        CloudVolume: skeletons of several shards raise ``ValueError``)."""
        from cloudvol.precomputed.sharding import synthesize_shard_files
        from cloudvol.storage.compression import normalize_compress
        from cloudvol.volume.image import cdn_cache_control

        self._check_writable()
        items = [skeletons] if isinstance(skeletons, Skeleton) else list(skeletons)
        for skel in items:
            if skel.id is None:
                raise ValueError("every skeleton to upload needs a segid (skel.id)")
        encoded = {int(skel.id): skel.to_precomputed() for skel in items if skel.id is not None}
        if self.reader is not None:
            files = synthesize_shard_files(self.reader.spec, encoded)
            if len(files) > 1:
                raise ValueError(
                    f"skeletons {sorted(encoded)} fall in {len(files)} shard files "
                    f"({', '.join(sorted(files))}); upload one shard's skeletons per call"
                )
            self.meta.store.put_many({self.meta.join(n): d for n, d in files.items()}, _SHARD_PUT)
            return
        compress = "gzip" if self.compress is None else self.compress
        options = PutOptions(
            compress=normalize_compress(compress),
            content_type="application/octet-stream",
            cache_control=cdn_cache_control(self.cdn_cache),
        )
        self.meta.store.put_many(
            {self.meta.join(str(segid)): data for segid, data in encoded.items()}, options
        )

    def put(self, skeletons: Skeleton | Iterable[Skeleton]) -> None:
        """Same as :meth:`upload` (the mesh sources' name)."""
        self.upload(skeletons)

    def upload_raw(
        self,
        segid: int,
        vertices: Any,
        edges: Any,
        radii: Any = None,
        vertex_types: Any = None,
    ) -> None:
        """Upload a skeleton given as arrays (vertices N×3 in nm, edges M×2)."""
        self.upload(Skeleton(vertices, edges, radii, vertex_types, segid=segid))

    def to_sharded(self, num_labels: int, **params: Any) -> None:
        self.meta.to_sharded(num_labels, **params)

    def to_unsharded(self) -> None:
        self.meta.to_unsharded()


def open_skeleton_source(
    previous: Any, layer_meta: Any, **options: Any
) -> PrecomputedSkeletonSource:  # fmt: skip
    """``vol.skeleton``: ``previous`` while its directory info is unchanged, else a
    source rebuilt over the same directory metadata (after ``to_sharded``,
    ``to_unsharded`` or any other edit of the info; CloudVolume swaps classes)."""
    dir_meta = getattr(previous, "meta", None)
    if not isinstance(dir_meta, SkeletonDirMetadata) or dir_meta.meta is not layer_meta:
        dir_meta = SkeletonDirMetadata(layer_meta, readonly=bool(layer_meta.redirected_from))
    elif isinstance(previous, PrecomputedSkeletonSource) and previous.is_current():
        return previous
    return PrecomputedSkeletonSource(dir_meta, **options)
