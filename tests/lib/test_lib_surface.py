"""The public surface of cloudvol.lib and its independence from CloudVolume."""

from __future__ import annotations

import ast
import pathlib

import cloudvol.lib as lib

LIB_DIR = pathlib.Path(lib.__file__).parent
FORBIDDEN = {"cloudvolume", "cloudfiles", "tensorstore"}

# Section 11 of the API reference, plus the names downstream code imports (§18).
PUBLIC_NAMES = [
    "Bbox",
    "Vec",
    "xyzrange",
    "divisors",
    "find_closest_divisor",
    "min2",
    "max2",
    "map2",
    "clamp",
    "check_bounds",
    "jsonify",
    "mkdir",
    "touch",
    "toabs",
    "toiter",
    "sip",
    "scatter",
    "first",
    "nvl",
    "duplicates",
    "generate_random_string",
    "getprecision",
    "floating",
    "red",
    "yellow",
    "green",
    "colorize",
    "save_images",
    "moving_average",
    "UNIT_SCALES",
    "FILENAME_RE",
    "MACHINE_EPSILON",
    "BboxLikeType",
]

BBOX_API = [
    "create",
    "from_slices",
    "from_list",
    "from_vec",
    "from_filename",
    "from_dict",
    "from_points",
    "from_delta",
    "deserialize",
    "intersection",
    "intersects",
    "expand",
    "clamp",
    "size",
    "size3",
    "volume",
    "center",
    "subvoxel",
    "empty",
    "valid",
    "contains",
    "contains_bbox",
    "overlaps_bbox",
    "expand_to_chunk_size",
    "shrink_to_chunk_size",
    "round_to_chunk_size",
    "is_chunk_aligned",
    "num_chunks",
    "adjust",
    "grow",
    "shrink",
    "reify_slices",
    "to_slices",
    "to_list",
    "to_dict",
    "serialize",
    "to_filename",
    "convert_units",
    "clone",
    "astype",
    "transpose",
    "minpt",
    "maxpt",
    "unit",
    "dtype",
    "ndim",
    "dx",
    "dy",
    "dz",
    "is_physical",
]

VEC_API = [
    "x",
    "y",
    "z",
    "w",
    "r",
    "g",
    "b",
    "a",
    "clone",
    "null",
    "dot",
    "length",
    "length2",
    "rectVolume",
    "clamp",
]


def test_every_listed_name_is_importable():
    missing = [name for name in PUBLIC_NAMES if not hasattr(lib, name)]
    assert missing == []
    assert set(PUBLIC_NAMES) <= set(lib.__all__)


def test_bbox_and_vec_have_the_listed_members():
    assert [name for name in BBOX_API if not hasattr(lib.Bbox, name)] == []
    assert [name for name in VEC_API if not hasattr(lib.Vec, name)] == []


def test_lib_never_imports_cloudvolume_cloudfiles_or_tensorstore():
    offenders = []
    for path in sorted(LIB_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            offenders += [f"{path.name}: {root}" for root in roots & FORBIDDEN]
    assert offenders == []


def test_lib_modules_stay_small():
    sizes = {path.name: len(path.read_text().splitlines()) for path in LIB_DIR.glob("*.py")}
    assert max(sizes.values()) < 800, sizes
