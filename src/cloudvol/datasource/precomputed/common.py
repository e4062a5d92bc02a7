"""``cloudvolume.datasource.precomputed.common``'s names: Morton codes of chunk grid
points and the ``Cache-Control`` header for ``cdn_cache``."""

from cloudvol.precomputed.morton import (
    compressed_morton_code,
    morton_code_to_bbox,
    morton_code_to_gridpt,
)
from cloudvol.volume.image import cdn_cache_control

__all__ = [
    "cdn_cache_control",
    "compressed_morton_code",
    "morton_code_to_bbox",
    "morton_code_to_gridpt",
]
