"""``CloudVolume``: the entry point. Like CloudVolume's, it is a factory whose
``__new__`` returns the frontend for the cloudpath's format, so ``isinstance(vol,
CloudVolume)`` is False and ``__init__`` never runs."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import numpy as np

from cloudvol import paths
from cloudvol.exceptions import DimensionError, UnsupportedFormatError
from cloudvol.frontends.precomputed import CloudVolumePrecomputed
from cloudvol.precomputed import info as infomod

__all__ = ["CloudVolume"]

#: formats whose datasource exists in this release
SUPPORTED_FORMATS = {"precomputed": CloudVolumePrecomputed}
#: formats cloudvol parses but whose datasource is a later feature
PLANNED_FORMATS = ("graphene", "n5", "zarr", "zarr2", "zarr3", "boss")


def _frontend_for(cloudpath: paths.CloudPath) -> type:
    try:
        return SUPPORTED_FORMATS[cloudpath.format]
    except KeyError:
        raise UnsupportedFormatError(
            f"{cloudpath}: the {cloudpath.format!r} datasource is not available in this "
            f"version of cloudvol; supported formats: {', '.join(SUPPORTED_FORMATS)}"
        ) from None


class CloudVolume:
    """Open a layer: ``CloudVolume(cloudpath, mip=0, bounded=True, …)``.

    Every keyword of CloudVolume's constructor is accepted in the same order; see
    :class:`~cloudvol.frontends.precomputed.CloudVolumePrecomputed` and
    docs/compatibility.md for what each does in this release.
    """

    def __new__(cls, cloudpath: Any, *args: Any, **kwargs: Any) -> Any:
        # use_https is the 19th parameter after cloudpath; it changes how the path parses.
        use_https = kwargs.get("use_https", args[18] if len(args) > 18 else False)
        parsed = (
            paths.parse(cloudpath, use_https=use_https) if isinstance(cloudpath, str) else cloudpath
        )
        return _frontend_for(parsed)(parsed, *args, **kwargs)

    @classmethod
    def create_new_info(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A new info dict; see :func:`cloudvol.precomputed.info.create_info`."""
        return infomod.create_info(*args, **kwargs)

    @classmethod
    def from_numpy(
        cls,
        arr: np.ndarray,
        vol_path: str | None = None,
        resolution: Any = (4, 4, 40),
        voxel_offset: Any = (0, 0, 0),
        chunk_size: Any = (128, 128, 64),
        layer_type: str | None = None,
        max_mip: int = 0,
        encoding: str = "raw",
        compress: Any = None,
        progress: bool = False,
        encoding_level: int | None = None,
        encoding_effort: int | None = None,
    ) -> Any:
        """Create a layer at ``vol_path`` holding ``arr`` (3-D: one channel; 4-D: last
        axis is channels), commit its info and provenance, and return the volume."""
        if arr.ndim == 3:
            arr = arr[..., np.newaxis]
        elif arr.ndim != 4:
            raise DimensionError(f"from_numpy needs a 3-D or 4-D array, got {arr.ndim}-D")
        if vol_path is None:
            vol_path = f"file:///tmp/image/{uuid.uuid4().hex[:8]}"
        if layer_type is None:
            layer_type = (
                "segmentation"
                if arr.dtype in (np.bool_, np.uint16, np.uint32, np.uint64)
                else "image"
            )
        info = infomod.create_info(
            num_channels=arr.shape[3], layer_type=layer_type, data_type=arr.dtype, encoding=encoding,
            resolution=resolution, voxel_offset=voxel_offset, volume_size=arr.shape[:3],
            chunk_size=chunk_size, max_mip=max_mip, encoding_level=encoding_level,
            encoding_effort=encoding_effort,
        )  # fmt: skip
        vol = cls(vol_path, info=info, compress=compress, progress=progress)
        vol.provenance.processing.append(
            {
                "method": "from_numpy",
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            }
        )
        vol.commit_info()
        vol.commit_provenance()
        offset = np.asarray(voxel_offset)
        vol[offset[0]:offset[0] + arr.shape[0], offset[1]:offset[1] + arr.shape[1],
            offset[2]:offset[2] + arr.shape[2]] = arr  # fmt: skip
        return vol
