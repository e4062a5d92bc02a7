"""cloudvol: a fast, format-exact, drop-in replacement for CloudVolume.

from cloudvol import CloudVolume
vol = CloudVolume("gs://bucket/dataset/layer")
cutout = vol[0:512, 0:512, 0:64]
"""

from cloudvol import exceptions
from cloudvol.cloudvolume import CloudVolume
from cloudvol.exceptions import (
    AlignmentError,
    EmptyRequestException,
    EmptyVolumeException,
    SkeletonDecodeError,
    SkeletonEncodeError,
)
from cloudvol.geometry import Mesh, PrecomputedSkeleton, Skeleton
from cloudvol.lib import Bbox, Vec
from cloudvol.precomputed.provenance import DataLayerProvenance, DatasetProvenance
from cloudvol.volumecutout import VolumeCutout

__version__ = "0.1.0"


def from_cloudpath(cloudpath: str, *args, **kwargs):
    """Open the precomputed layer at ``cloudpath`` (its volume, meshes and skeletons)."""
    return CloudVolume(cloudpath, *args, **kwargs)


__all__ = [
    "AlignmentError",
    "Bbox",
    "CloudVolume",
    "DataLayerProvenance",
    "DatasetProvenance",
    "EmptyRequestException",
    "EmptyVolumeException",
    "Mesh",
    "PrecomputedSkeleton",
    "Skeleton",
    "SkeletonDecodeError",
    "SkeletonEncodeError",
    "Vec",
    "VolumeCutout",
    "__version__",
    "exceptions",
    "from_cloudpath",
]
