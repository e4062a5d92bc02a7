"""The volume ``info`` document: creation, new scales, validation, serialisation.

The info stays a plain ``dict`` (users edit ``vol.info`` in place, as with
CloudVolume); this module checks it and derives immutable per-scale geometry
(:class:`ScaleGeometry`) that the read and write paths use.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudvol.exceptions import InvalidInfoError, SpecViolation
from cloudvol.lib import find_closest_divisor
from cloudvol.precomputed.morton import axis_bits
from cloudvol.precomputed.shard_params import choose_image_sharding
from cloudvol.precomputed.sharding import ShardingSpecification

__all__ = [
    "ScaleGeometry",
    "add_scale",
    "create_info",
    "dumps_info",
    "resolution_key",
    "validate_info",
]

# data_type values Neuroglancer/TensorStore know, plus what CloudVolume also writes.
KNOWN_DATA_TYPES = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
    "float16", "float32", "float64", "bool",
}  # fmt: skip

ENCODING_LEVEL_FIELD = {
    "jpeg": "jpeg_quality",
    "jxl": "jxl_quality",
    "jpegxl": "jxl_quality",
    "png": "png_level",
    "fpzip": "fpzip_precision",
}


def _precision(value: Any) -> int:
    """Decimal places of a number as ``str`` shows it (``4`` -> 0, ``4.0`` -> 1)."""
    parts = str(value).split(".")
    return len(parts[1]) if len(parts) > 1 else 0


def _typed_resolution(resolution: Sequence[float]) -> list[int] | list[float]:
    """All ints if no component is written with a decimal point, else all floats
    (CloudVolume's rule: ``(4, 4, 40)`` -> ints, ``(4.0, 4, 40)`` -> floats)."""
    if max(_precision(r) for r in resolution) == 0:
        return [int(r) for r in resolution]
    return [float(r) for r in resolution]


def resolution_key(resolution: Sequence[float]) -> str:
    """CloudVolume's scale key: ``4_4_40``; any fractional component makes all floats
    (``4.5_4.5_40.0``)."""
    return "_".join(str(r) for r in _typed_resolution(resolution))


def create_info(
    num_channels: int,
    layer_type: str,
    data_type: Any,
    encoding: str,
    resolution: Sequence[float],
    voxel_offset: Sequence[int],
    volume_size: Sequence[int],
    mesh: Any = None,
    skeletons: Any = None,
    chunk_size: Sequence[int] = (64, 64, 64),
    compressed_segmentation_block_size: Sequence[int] = (8, 8, 8),
    max_mip: int = 0,
    factor: Sequence[int] = (2, 2, 1),
    redirect: str | None = None,
    encoding_level: int | None = None,
    encoding_effort: int | None = None,
    sharding: Any = None,
) -> dict[str, Any]:
    """A new info dict with scale 0 and ``max_mip`` downsampled scales (``factor**m``).

    Units: ``resolution`` in nanometres per voxel; ``voxel_offset``, ``volume_size``
    and ``chunk_size`` in voxels; all (x, y, z). ``sharding`` makes every scale
    sharded: a specification (dict or
    :class:`~cloudvol.precomputed.sharding.ShardingSpecification`) used as is, or
    ``True`` for :func:`~cloudvol.precomputed.shard_params.choose_image_sharding`
    per scale.
    """
    if not isinstance(data_type, str):
        data_type = np.dtype(data_type).name
    resolution = _typed_resolution(resolution)
    scale: dict[str, Any] = {
        "encoding": encoding,
        "chunk_sizes": [[int(c) for c in chunk_size]],
        "key": resolution_key(resolution),
        "resolution": resolution,
        "voxel_offset": [int(v) for v in voxel_offset],
        "size": [int(s) for s in volume_size],
    }
    _apply_encoding_options(scale, encoding, encoding_level, encoding_effort)
    info: dict[str, Any] = {
        "num_channels": int(num_channels),
        "type": layer_type,
        "data_type": data_type,
        "scales": [scale],
    }
    if redirect is not None:
        info["redirect"] = str(redirect)
    if encoding == "compressed_segmentation":
        scale["compressed_segmentation_block_size"] = [
            int(b) for b in compressed_segmentation_block_size
        ]
    _apply_sharding(info, scale, sharding)
    for mip in range(1, int(max_mip) + 1):
        factor_at_mip = [int(f) ** mip for f in factor]
        add_scale(
            info,
            factor_at_mip,
            encoding=encoding,
            chunk_size=chunk_size,
            encoding_level=encoding_level,
            sharding=sharding,
        )
    if mesh:
        info["mesh"] = mesh if isinstance(mesh, str) else "mesh"
    if skeletons:
        info["skeletons"] = skeletons if isinstance(skeletons, str) else "skeletons"
    return info


def _apply_sharding(info: dict[str, Any], scale: dict[str, Any], sharding: Any) -> None:
    """Set ``scale["sharding"]`` from a specification, or choose one for ``True``."""
    if sharding is None or sharding is False:
        return
    if sharding is True:
        spec = choose_image_sharding(
            scale["size"], scale["chunk_sizes"][0], info["data_type"], info["num_channels"],
            scale["encoding"],
        )  # fmt: skip
    else:
        spec = ShardingSpecification.coerce(sharding)
    scale["sharding"] = spec.to_dict()


#: write options a scale may carry, with their valid ranges
ENCODING_OPTION_RANGES = {
    "jpeg_quality": (0, 100),
    "png_level": (0, 9),
    "jxl_quality": (0, 100),
    "jxl_effort": (1, 10),
    "fpzip_precision": (0, 64),
}


def _set_option(scale: dict[str, Any], field: str, value: Any) -> None:
    lo, hi = ENCODING_OPTION_RANGES[field]
    if isinstance(value, bool) or not float(value).is_integer() or not lo <= int(value) <= hi:
        raise InvalidInfoError(f"{field} must be an integer from {lo} to {hi}, got {value!r}")
    scale[field] = int(value)


def _apply_encoding_options(
    scale: dict[str, Any], encoding: str, level: int | None, effort: int | None
) -> None:
    if level is not None and encoding in ENCODING_LEVEL_FIELD:
        _set_option(scale, ENCODING_LEVEL_FIELD[encoding], level)
    if effort is not None and encoding in ("jxl", "jpegxl"):
        _set_option(scale, "jxl_effort", effort)


def add_scale(
    info: dict[str, Any],
    factor: Sequence[float],
    encoding: str | None = None,
    chunk_size: Sequence[int] | None = None,
    encoding_level: int | None = None,
    sharding: Any = None,
) -> dict[str, Any]:
    """Add (or replace, if one of equal resolution exists) a scale downsampled by
    ``factor`` from scale 0, and return it. Resolution × rounded factor, offset
    floored, size ceiled, chunk = divisor of the mip-0 chunk nearest 64. Does not
    commit. ``sharding``: a specification, ``True`` (cloudvol's choice for this
    scale) or ``None`` (unsharded)."""
    full = info["scales"][0]
    factor_int = np.round(np.asarray(factor, dtype=float)).astype(int)
    if chunk_size is None:
        chunk_size = [
            int(c) for c in find_closest_divisor(full["chunk_sizes"][0], closest_to=(64, 64, 64))
        ]
    encoding = encoding or full["encoding"]
    resolution = _typed_resolution(
        [r * f for r, f in zip(full["resolution"], factor_int, strict=True)]
    )
    offset = full.get("voxel_offset", [0, 0, 0])
    scale: dict[str, Any] = {
        "encoding": encoding,
        "chunk_sizes": [[int(c) for c in chunk_size]],
        "resolution": resolution,
        "voxel_offset": [math.floor(o / f) for o, f in zip(offset, factor_int, strict=True)],
        "size": [math.ceil(s / f) for s, f in zip(full["size"], factor_int, strict=True)],
        "key": resolution_key(resolution),
    }
    if encoding == full["encoding"]:
        # A pyramid keeps scale 0's write settings (quality, effort, precision…).
        for field in (*ENCODING_OPTION_RANGES, "jxl_decodingspeed", "zfpc_rate", "zfpc_precision",
                      "zfpc_tolerance", "zfpc_correlated_dims"):  # fmt: skip
            if field in full:
                scale[field] = full[field]
    _apply_encoding_options(scale, encoding, encoding_level, None)
    if encoding == "compressed_segmentation":
        scale["compressed_segmentation_block_size"] = list(
            full.get("compressed_segmentation_block_size", (8, 8, 8))
        )
    _apply_sharding(info, scale, sharding)
    for index, existing in enumerate(info["scales"]):
        if np.array_equal(
            np.asarray(existing["resolution"], dtype=float), np.asarray(resolution, dtype=float)
        ):
            info["scales"][index] = scale
            break
    else:
        info["scales"].append(scale)
    return scale


def _fail(where: str, field: str, problem: str) -> InvalidInfoError:
    return InvalidInfoError(f"{where}: info field {field!r} {problem}")


def _check_triple(scale: dict, field: str, where: str, positive: bool, integral: bool) -> None:
    value = scale.get(field)
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise _fail(where, field, f"must be a list of 3 numbers, got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _fail(where, field, f"must hold numbers, got {value!r}")
        if integral and not float(v).is_integer():
            raise _fail(where, field, f"must hold integers, got {value!r}")
        if positive and v <= 0:
            raise _fail(where, field, f"must be positive, got {value!r}")


def validate_info(info: Any, where: str = "info") -> None:
    """Check the members every reader relies on; raise :class:`InvalidInfoError`
    (a ``ValueError``) naming the field. ``where`` names the file (a cloudpath)."""
    if not isinstance(info, dict):
        raise InvalidInfoError(
            f"{where}: the info file must hold a JSON object, got {type(info).__name__}"
        )
    for field in ("data_type", "num_channels", "scales"):
        if field not in info:
            raise _fail(where, field, "is missing")
    data_type = info["data_type"]
    if not isinstance(data_type, str) or data_type.lower() not in KNOWN_DATA_TYPES:
        raise _fail(where, "data_type", f"is not a supported dtype: {data_type!r}")
    channels = info["num_channels"]
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise _fail(where, "num_channels", f"must be an integer >= 1, got {channels!r}")
    scales = info["scales"]
    if not isinstance(scales, list) or not scales:
        raise _fail(where, "scales", "must be a non-empty list")
    for i, scale in enumerate(scales):
        here = f"{where} scales[{i}]"
        if not isinstance(scale, dict):
            raise InvalidInfoError(f"{here}: must be an object")
        for field in ("key", "size", "resolution", "chunk_sizes", "encoding"):
            if field not in scale:
                raise _fail(here, field, "is missing")
        if not isinstance(scale["key"], str) or not scale["key"]:
            raise _fail(here, "key", f"must be a non-empty string, got {scale['key']!r}")
        if not isinstance(scale["encoding"], str):
            raise _fail(here, "encoding", f"must be a string, got {scale['encoding']!r}")
        _check_triple(scale, "size", here, positive=False, integral=True)
        if any(s < 0 for s in scale["size"]):
            raise _fail(here, "size", f"must not be negative, got {scale['size']!r}")
        _check_triple(scale, "resolution", here, positive=True, integral=False)
        if "voxel_offset" in scale:
            _check_triple(scale, "voxel_offset", here, positive=False, integral=True)
        chunk_sizes = scale["chunk_sizes"]
        if not isinstance(chunk_sizes, list) or not chunk_sizes:
            raise _fail(here, "chunk_sizes", "must be a non-empty list of [x, y, z]")
        for chunk in chunk_sizes:
            _check_triple({"chunk_sizes": chunk}, "chunk_sizes", here, positive=True, integral=True)
        if scale.get("sharding"):
            _check_sharding(scale, here)
        # A compressed_segmentation scale without a block size reads with 8³ (as
        # CloudVolume reads it); commit_info refuses to write one (KeyError).
        if "compressed_segmentation_block_size" in scale:
            _check_triple(
                scale, "compressed_segmentation_block_size", here, positive=True, integral=True
            )


def _check_sharding(scale: dict[str, Any], where: str) -> None:
    """A sharded scale: a legal specification, one chunk size, ≤ 64 Morton bits."""
    try:
        ShardingSpecification.from_dict(scale["sharding"])
    except SpecViolation as err:
        raise _fail(where, "sharding", f"is not a valid sharding specification: {err}") from None
    if len(scale["chunk_sizes"]) != 1:
        raise _fail(where, "chunk_sizes", "must hold exactly one chunk size on a sharded scale")
    grid = [
        -(-int(s) // int(c)) for s, c in zip(scale["size"], scale["chunk_sizes"][0], strict=True)
    ]
    if sum(axis_bits(grid)) > 64:
        raise _fail(
            where, "sharding",
            f"cannot number a grid of {grid} chunks: its Morton codes need "
            f"{sum(axis_bits(grid))} bits, more than 64",
        )  # fmt: skip


def dumps_info(info: dict[str, Any]) -> bytes:
    """Serialise like CloudVolume: sorted keys, 2-space indent, numpy-aware."""
    return json.dumps(
        info, sort_keys=True, indent=2, separators=(",", ": "), default=_json_default
    ).encode("utf8")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def int_triple(values: Sequence[Any]) -> tuple[int, int, int]:
    """``(x, y, z)`` as Python ints."""
    x, y, z = (int(v) for v in values)
    return x, y, z


@dataclass(frozen=True, slots=True)
class ScaleGeometry:
    """The immutable geometry of one scale, in voxels at that scale, (x, y, z)."""

    key: str
    size: tuple[int, int, int]
    voxel_offset: tuple[int, int, int]
    chunk_size: tuple[int, int, int]
    resolution: tuple[float, float, float]
    encoding: str
    block_size: tuple[int, int, int] | None
    sharding: dict[str, Any] | None

    @classmethod
    def from_scale(cls, scale: dict[str, Any]) -> ScaleGeometry:
        block = scale.get("compressed_segmentation_block_size")
        return cls(
            key=scale["key"],
            size=int_triple(scale["size"]),
            voxel_offset=int_triple(scale.get("voxel_offset", (0, 0, 0))),
            chunk_size=int_triple(scale["chunk_sizes"][0]),
            resolution=(scale["resolution"][0], scale["resolution"][1], scale["resolution"][2]),
            encoding=scale["encoding"].lower(),
            block_size=int_triple(block) if block else None,
            sharding=scale.get("sharding") or None,
        )

    @property
    def bounds_min(self) -> np.ndarray:
        return np.asarray(self.voxel_offset, dtype=np.int64)

    @property
    def bounds_max(self) -> np.ndarray:
        return np.asarray(self.voxel_offset, dtype=np.int64) + np.asarray(self.size, dtype=np.int64)
