"""Choosing the mesh source of a layer from its mesh ``info``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudvol.meshes.common import spatial_index_of
from cloudvol.meshes.legacy import LegacyMeshSource
from cloudvol.meshes.multires import MultiresMeshSource
from cloudvol.precomputed.object_dirs import MeshDirMetadata

__all__ = ["open_mesh_source"]


def open_mesh_source(
    previous: Any,
    layer_meta: Any,
    progress: bool = False,
    sql_url: str | None = None,
    volume_mip: Callable[[], int] = lambda: 0,
) -> LegacyMeshSource | MultiresMeshSource:
    """``vol.mesh``: a legacy source, or a multi-resolution one (sharded or not) when
    the mesh info's ``@type`` is ``neuroglancer_multilod_draco``.

    ``previous`` is returned while its directory info is unchanged; after
    ``to_sharded``, ``to_multi_resolution`` or any other edit of the info, a new
    source is built over the same metadata (CloudVolume swaps ``vol.mesh``'s class).
    """
    dir_meta = getattr(previous, "meta", None)
    if not isinstance(dir_meta, MeshDirMetadata) or dir_meta.meta is not layer_meta:
        dir_meta = MeshDirMetadata(layer_meta, readonly=bool(layer_meta.redirected_from))
    elif isinstance(previous, (LegacyMeshSource, MultiresMeshSource)) and previous.is_current():
        return previous
    spatial_index = spatial_index_of(dir_meta, sql_url, progress)
    if dir_meta.is_multires():
        return MultiresMeshSource(
            dir_meta.store, dir_meta.path, dir_meta.info, progress=progress, meta=dir_meta,
            spatial_index=spatial_index,
        )  # fmt: skip
    return LegacyMeshSource(
        dir_meta, progress=progress, spatial_index=spatial_index, volume_mip=volume_mip
    )
