"""Helpers shared by the mesh and skeleton sources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cloudvol.exceptions import ReadOnlyException

if TYPE_CHECKING:
    from cloudvol.precomputed.object_dirs import ObjectDirMetadata
    from cloudvol.spatial_index.index import SpatialIndex

__all__ = ["ObjectSource", "apply_transform", "segid_list", "spatial_index_of"]


class ObjectSource:
    """What the legacy mesh and the skeleton sources share: their directory's
    metadata, its path, and the read-only guard of redirected layers."""

    meta: ObjectDirMetadata
    #: a copy of the directory info this source was built from (see ``is_current``)
    opened_info: dict[str, Any]

    def is_current(self) -> bool:
        """Whether the directory info still equals the one this source was built
        from; ``vol.mesh``/``vol.skeleton`` rebuild the source when it does not."""
        return self.opened_info == self.meta.info

    @property
    def path(self) -> str:
        """The directory, relative to the layer."""
        return self.meta.path

    @property
    def readonly(self) -> bool:
        return self.meta.readonly

    def _check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyException(f"{self.meta.layerpath} is read-only (a redirected layer)")


def segid_list(segids: Any) -> list[int]:
    """``segids`` (one id, or an iterable of ids or numeric strings) as a list of
    Python ints, duplicates dropped, order kept."""
    if isinstance(segids, (int, np.integer, str)):
        return [int(segids)]
    return list(dict.fromkeys(int(s) for s in segids))


def apply_transform(vertices: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Vertices (N×3) through the affine ``transform`` (4×4 or 3×4); an identity
    leaves the array untouched."""
    affine = np.asarray(transform, dtype=np.float64)[:3, :]
    if np.array_equal(affine, np.eye(4)[:3]):
        return vertices
    out = vertices.astype(np.float64) @ affine[:, :3].T + affine[:, 3]
    return out.astype(np.float32)


def spatial_index_of(
    meta: ObjectDirMetadata, sql_url: str | None, progress: bool
) -> SpatialIndex | None:
    """The directory's spatial index, or ``None`` when its info declares none. It
    covers the layer's bounds at the objects' mip (mip 0 when unknown)."""
    spec = meta.spatial_index
    if not spec:
        return None
    from cloudvol.spatial_index.index import SpatialIndex

    mip = meta.mip or 0
    layer = meta.meta
    return SpatialIndex.from_info(
        meta.store, meta.path, spec, layer.bounds(mip), layer.resolution(mip).tolist(),
        sql_url=sql_url, progress=progress,
    )  # fmt: skip
