"""Spatial indexes of meshes and skeletons: JSON cells and their SQL mirror."""

from cloudvol.spatial_index.index import SpatialIndex

__all__ = ["SpatialIndex"]
