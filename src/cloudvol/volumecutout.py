"""``VolumeCutout``: the Fortran-ordered ndarray a download returns, tagged with
where it came from (layer, mip, bounds)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["VolumeCutout"]

_ATTRS = ("dataset_name", "layer", "path", "resolution", "cloudpath", "mip", "layer_type", "bounds")


class VolumeCutout(np.ndarray):
    """A 4-D ``(x, y, z, channel)`` array with provenance attributes.

    Built as a zero-copy view of the decoded buffer when it is already Fortran
    ordered. Unlike CloudVolume, views and slices of a cutout keep
    ``dataset_name`` (CloudVolume loses it through an attribute-name slip).
    """

    dataset_name: str | None
    layer: str | None
    path: Any
    resolution: Any
    cloudpath: str | None
    mip: int | None
    layer_type: str | None
    bounds: Any
    handle: Any

    def __new__(
        cls,
        buf: np.ndarray,
        path: Any,
        cloudpath: str,
        resolution: Any,
        mip: int,
        layer_type: str,
        bounds: Any,
        handle: Any = None,
    ) -> VolumeCutout:
        obj = np.asfortranarray(buf).view(cls)
        obj.path = path
        obj.dataset_name = getattr(path, "dataset", None)
        obj.layer = getattr(path, "layer", None)
        obj.cloudpath = cloudpath
        obj.resolution = resolution
        obj.mip = mip
        obj.layer_type = layer_type
        obj.bounds = bounds
        obj.handle = handle
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        if obj is None:
            return
        for name in _ATTRS:
            setattr(self, name, getattr(obj, name, None))
        self.handle = None

    @property
    def num_channels(self) -> int:
        return int(self.shape[3]) if self.ndim == 4 else 1

    def close(self) -> None:
        """Close the shared-memory or file handle behind this cutout, if any."""
        handle = getattr(self, "handle", None)
        if handle is not None and not getattr(handle, "closed", True):
            handle.close()

    @classmethod
    def from_volume(
        cls, meta: Any, mip: int, buf: np.ndarray, bounds: Any, handle: Any = None
    ) -> VolumeCutout:
        return cls(
            buf=buf,
            path=meta.path.extracted if hasattr(meta.path, "extracted") else meta.path,
            cloudpath=str(meta.path),
            resolution=meta.resolution(mip),
            mip=mip,
            layer_type=meta.layer_type,
            bounds=bounds,
            handle=handle,
        )
