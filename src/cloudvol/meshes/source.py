"""Choosing the mesh source of a layer from its mesh ``info``."""

from __future__ import annotations

from typing import Any

from cloudvol.meshes.common import spatial_index_of
from cloudvol.meshes.legacy import LegacyMeshSource
from cloudvol.meshes.multires import MultiresMeshSource
from cloudvol.precomputed.object_dirs import MeshDirMetadata

__all__ = ["open_mesh_source"]


def _still_matches(source: Any, meta: MeshDirMetadata) -> bool:
    """Whether ``source`` was built for the layout ``meta.info`` describes now."""
    if isinstance(source, LegacyMeshSource):
        return meta.is_legacy()  # legacy meshes are never sharded
    if isinstance(source, MultiresMeshSource):
        return meta.is_multires() and source.is_sharded() == meta.is_sharded()
    return False


def open_mesh_source(
    previous: Any, layer_meta: Any, progress: bool = False, sql_url: str | None = None
) -> LegacyMeshSource | MultiresMeshSource:
    """``vol.mesh``: a legacy source, or a multi-resolution one (sharded or not) when
    the mesh info's ``@type`` is ``neuroglancer_multilod_draco``.

    ``previous`` is returned while its directory info still has the layout it was
    built for; after ``to_sharded``/``to_multi_resolution`` edits the info, a new
    source is built over the same metadata (CloudVolume swaps ``vol.mesh``'s class).
    """
    dir_meta = getattr(previous, "meta", None)
    if not isinstance(dir_meta, MeshDirMetadata) or dir_meta.meta is not layer_meta:
        dir_meta = MeshDirMetadata(layer_meta, readonly=bool(layer_meta.redirected_from))
    elif _still_matches(previous, dir_meta):
        return previous
    spatial_index = spatial_index_of(dir_meta, sql_url, progress)
    if dir_meta.is_multires():
        return MultiresMeshSource(
            dir_meta.store, dir_meta.path, dir_meta.info, progress=progress, meta=dir_meta,
            spatial_index=spatial_index,
        )  # fmt: skip
    return LegacyMeshSource(dir_meta, progress=progress, spatial_index=spatial_index)
