"""Geometry and small helpers: ``Bbox``, ``Vec`` and what ``cloudvolume.lib`` offers.

Coordinates are (x, y, z) voxels unless a ``Bbox.unit`` says otherwise.
"""

from __future__ import annotations

from cloudvol.lib.bbox import FILENAME_RE, Bbox, BboxLikeType
from cloudvol.lib.helpers import (
    COLORS,
    MACHINE_EPSILON,
    NumpyEncoder,
    check_bounds,
    clamp,
    colorize,
    divisors,
    duplicates,
    find_closest_divisor,
    first,
    generate_random_string,
    getprecision,
    green,
    jsonify,
    map2,
    max2,
    min2,
    mkdir,
    moving_average,
    nvl,
    red,
    scatter,
    sip,
    toabs,
    toiter,
    touch,
    xyzrange,
    yellow,
)
from cloudvol.lib.images import save_images
from cloudvol.lib.units import UNIT_SCALES, spatial_unit_in_meters, time_unit_in_seconds
from cloudvol.lib.vec import Vec, floating

__all__ = [
    "COLORS",
    "FILENAME_RE",
    "MACHINE_EPSILON",
    "UNIT_SCALES",
    "Bbox",
    "BboxLikeType",
    "NumpyEncoder",
    "Vec",
    "check_bounds",
    "clamp",
    "colorize",
    "divisors",
    "duplicates",
    "find_closest_divisor",
    "first",
    "floating",
    "generate_random_string",
    "getprecision",
    "green",
    "jsonify",
    "map2",
    "max2",
    "min2",
    "mkdir",
    "moving_average",
    "nvl",
    "red",
    "save_images",
    "scatter",
    "sip",
    "spatial_unit_in_meters",
    "time_unit_in_seconds",
    "toabs",
    "toiter",
    "touch",
    "xyzrange",
    "yellow",
]
