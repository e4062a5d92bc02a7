"""Helpers for the interop suite: one writer and one reader per tool, all on the
same :class:`Location`, so a test is "write with A, read with B, compare bytes".

Axis order everywhere is x, y, z, channel (what CloudVolume returns and what
tensorstore's ``neuroglancer_precomputed`` domain is), so no transposes are needed;
tensorstore reads use ``order="F"`` only for speed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RESOLUTION = (4, 4, 40)
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


@dataclass(frozen=True)
class Case:
    """One volume of the parameter grid (two mips: 0 and 1, factor (2, 2, 1))."""

    id: str
    dtype: str
    channels: int
    offset: tuple[int, int, int]
    chunk: tuple[int, int, int]
    size: tuple[int, int, int]
    layer_type: str = "image"

    @property
    def tensorstore_ok(self) -> bool:
        """tensorstore's precomputed driver has no float64 or int64."""
        return self.dtype not in ("float64", "int64")

    def info_kwargs(self) -> dict[str, Any]:
        """Arguments for ``create_new_info`` (identical in cloudvol and cloud-volume)."""
        return dict(
            num_channels=self.channels, layer_type=self.layer_type, data_type=self.dtype,
            encoding="raw", resolution=RESOLUTION, voxel_offset=self.offset,
            volume_size=self.size, chunk_size=self.chunk, max_mip=1,
        )  # fmt: skip


# Sizes are never multiples of the chunk size; offsets are zero, positive and
# negative; chunk shapes are cubic, anisotropic and flat.
CASES = [
    Case("u8-1c-zero-64cube", "uint8", 1, (0, 0, 0), (64, 64, 64), (100, 70, 30)),
    Case("u16-3c-pos-32x16x8", "uint16", 3, (10, 20, 5), (32, 16, 8), (70, 45, 20)),
    Case("u32-1c-neg-32x16x8-seg", "uint32", 1, (-37, -5, -3), (32, 16, 8), (50, 40, 17),
         layer_type="segmentation"),
    Case("u64-1c-neg-100x70x1-seg", "uint64", 1, (-64, 3, -2), (100, 70, 1), (130, 90, 4),
         layer_type="segmentation"),
    Case("i8-3c-pos-64cube", "int8", 3, (3, 0, 7), (64, 64, 64), (65, 64, 9)),
    Case("f32-1c-neg-32x16x8", "float32", 1, (-7, -9, 0), (32, 16, 8), (33, 17, 9)),
    Case("f64-2c-mixed-100x70x1", "float64", 2, (5, -5, 1), (100, 70, 1), (101, 71, 3)),
]  # fmt: skip
TS_CASES = [case for case in CASES if case.tensorstore_ok]
CASES_BY_ID = {case.id: case for case in CASES}


def case_params(cases: list[Case]) -> list[Any]:
    import pytest

    return [pytest.param(case, id=case.id) for case in cases]


def random_array(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    """Random x,y,z,c data over the dtype's whole range; floats include -0.0,
    ±inf, NaN and a subnormal so the comparison is bit-exact, not approximate."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        arr = rng.standard_normal(shape).astype(dt) * 1000
        flat = arr.reshape(-1)
        specials = np.array([-0.0, np.inf, -np.inf, np.nan, np.finfo(dt).smallest_subnormal], dt)
        flat[: min(len(specials), flat.size)] = specials[: flat.size]
        return arr
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)


def arrays_for_info(info: Mapping[str, Any], seed: int = 0) -> list[np.ndarray]:
    """One random array per scale, shaped ``size + [num_channels]`` (mip 1 is not a
    downsample of mip 0: each mip is tested on its own)."""
    channels = int(info["num_channels"])
    return [
        random_array((*scale["size"], channels), info["data_type"], seed + mip)
        for mip, scale in enumerate(info["scales"])
    ]


def assert_same(actual: Any, expected: np.ndarray) -> None:
    """Equal dtype, shape and bytes (so -0.0, NaN payloads and subnormals count)."""
    actual = np.asarray(actual)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if actual.tobytes(order="F") != expected.tobytes(order="F"):
        np.testing.assert_array_equal(actual, expected)
        raise AssertionError("arrays are equal as numbers but differ bit-wise")


# --- where a volume lives, spelled for each tool ----------------------------------


@dataclass(frozen=True)
class Location:
    """One layer, addressed by each tool in its own way.

    ``cloudvol``/``cloudvolume`` are cloudpaths; ``kvstore`` is tensorstore's
    kvstore spec (with ``context`` for credentials); ``local`` is the directory on
    disk for file:// layers; ``s3`` is ``(endpoint, bucket, prefix)`` for S3 layers.
    """

    cloudvol: str
    cloudvolume: str
    kvstore: dict[str, Any]
    ts_context: dict[str, Any] = field(default_factory=dict)
    cloudvol_secrets: dict[str, str] | None = None
    cloudvolume_secrets: dict[str, str] | None = None
    local: Path | None = None
    s3: tuple[str, str, str] | None = None


def file_location(directory: Path) -> Location:
    return Location(
        cloudvol=f"file://{directory}",
        cloudvolume=f"file://{directory}",
        kvstore={"driver": "file", "path": f"{directory}/"},
        local=directory,
    )


def s3_location(endpoint: str, bucket: str, prefix: str, alias: str,
                ts_credentials: dict[str, Any]) -> Location:  # fmt: skip
    """``alias`` is a cloud-files alias for ``s3://{endpoint}/`` (cloud-volume's own
    path parser rejects ``s3://http://host:port/...``)."""
    keys = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    return Location(
        cloudvol=f"s3://{bucket}/{prefix}",
        cloudvolume=f"{alias}://{bucket}/{prefix}",
        kvstore={"driver": "s3", "bucket": bucket, "path": f"{prefix}/", "endpoint": endpoint,
                 "aws_region": REGION},
        ts_context={"aws_credentials": ts_credentials},
        cloudvol_secrets={**keys, "AWS_ENDPOINT_URL": endpoint},
        cloudvolume_secrets=keys,
        s3=(endpoint, bucket, prefix),
    )  # fmt: skip


# --- writers ------------------------------------------------------------------------


def write_cloudvol(loc: Location, info: dict[str, Any], arrays: list[np.ndarray],
                   compress: Any = None, path: str | None = None, **options: Any) -> None:  # fmt: skip
    from cloudvol import CloudVolume

    vol = CloudVolume(path or loc.cloudvol, info=info, compress=compress,
                      secrets=loc.cloudvol_secrets, **options)  # fmt: skip
    vol.commit_info()
    for mip, arr in enumerate(arrays):
        vol.mip = mip
        vol[:, :, :] = arr


def write_cloudvolume(loc: Location, info: dict[str, Any], arrays: list[np.ndarray],
                      compress: Any = None) -> None:  # fmt: skip
    from cloudvolume import CloudVolume

    vol = CloudVolume(loc.cloudvolume, info=info, compress=compress, progress=False,
                      secrets=loc.cloudvolume_secrets)  # fmt: skip
    vol.commit_info()
    for mip, arr in enumerate(arrays):
        vol.mip = mip
        vol[:, :, :] = arr


def open_tensorstore(loc: Location, **spec: Any) -> Any:
    import tensorstore as ts

    full = {"driver": "neuroglancer_precomputed", "kvstore": loc.kvstore, **spec}
    if loc.ts_context:
        full["context"] = loc.ts_context
    return ts.open(full).result()


def write_tensorstore(loc: Location, info: Mapping[str, Any], arrays: list[np.ndarray]) -> None:
    """Create the layer with tensorstore (its own info JSON, default keys) from the
    scales of ``info`` and write one array per scale."""
    multiscale = {k: info[k] for k in ("data_type", "num_channels", "type")}
    for mip, (scale, arr) in enumerate(zip(info["scales"], arrays, strict=True)):
        scale_metadata = {
            "size": list(scale["size"]), "voxel_offset": list(scale["voxel_offset"]),
            "chunk_size": list(scale["chunk_sizes"][0]), "resolution": list(scale["resolution"]),
            "encoding": scale["encoding"],
        }  # fmt: skip
        store = open_tensorstore(
            loc, multiscale_metadata=multiscale, scale_metadata=scale_metadata,
            create=True, open=mip > 0,
        )  # fmt: skip
        assert list(store.domain.inclusive_min) == [*scale["voxel_offset"], 0]
        store[...] = arr


# --- readers ------------------------------------------------------------------------


Box = tuple[slice, slice, slice]


def inner_box(scale: Mapping[str, Any]) -> tuple[Box, Box]:
    """An unaligned box inside a scale: (absolute voxel slices, the same slices
    relative to the scale's array). Used to check partial reads across chunks."""
    absolute, relative = [], []
    for off, size in zip(scale["voxel_offset"], scale["size"], strict=True):
        lo, hi = size // 4, size - size // 5
        absolute.append(slice(off + lo, off + hi))
        relative.append(slice(lo, hi))
    return tuple(absolute), tuple(relative)  # type: ignore[return-value]


def read_cloudvol(loc: Location, mip: int, path: str | None = None,
                  box: Box | None = None) -> np.ndarray:  # fmt: skip
    """The whole scale, or ``box`` (absolute voxel coordinates at ``mip``)."""
    from cloudvol import CloudVolume

    vol = CloudVolume(path or loc.cloudvol, mip=mip, secrets=loc.cloudvol_secrets)
    return np.asarray(vol[box if box is not None else np.s_[:, :, :]])


def read_cloudvolume(loc: Location, mip: int, box: Box | None = None) -> np.ndarray:
    from cloudvolume import CloudVolume

    vol = CloudVolume(loc.cloudvolume, mip=mip, progress=False, secrets=loc.cloudvolume_secrets)
    return np.asarray(vol[box if box is not None else np.s_[:, :, :]])


def read_tensorstore(loc: Location, mip: int, box: Box | None = None) -> np.ndarray:
    store = open_tensorstore(loc, scale_index=mip)
    if box is not None:  # tensorstore indexes by absolute coordinates too
        store = store[(*box, slice(None))]
    return store.read(order="F").result()


def check_reads(reader: str, loc: Location, info: Mapping[str, Any],
                arrays: list[np.ndarray]) -> None:  # fmt: skip
    """``reader`` returns ``arrays`` bit for bit at every mip: whole scales, and an
    unaligned box that crosses chunk boundaries."""
    read = READERS[reader]
    for mip, (scale, expected) in enumerate(zip(info["scales"], arrays, strict=True)):
        assert_same(read(loc, mip), expected)
        absolute, relative = inner_box(scale)
        assert_same(read(loc, mip, box=absolute), expected[(*relative, slice(None))])


def new_info(tool: str, case: Case) -> dict[str, Any]:
    """``create_new_info`` of the writing tool (tensorstore takes cloudvol's)."""
    if tool == "cloudvolume":
        from cloudvolume import CloudVolume
    else:
        from cloudvol import CloudVolume
    return json.loads(json.dumps(CloudVolume.create_new_info(**case.info_kwargs())))


WRITERS = {"cloudvol": write_cloudvol, "cloudvolume": write_cloudvolume}
READERS = {"cloudvol": read_cloudvol, "cloudvolume": read_cloudvolume,
           "tensorstore": read_tensorstore}  # fmt: skip


# --- what is on disk / in the bucket ------------------------------------------------


def local_files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``: relative POSIX name -> bytes."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def chunk_suffixes(directory: Path, info: Mapping[str, Any]) -> set[str]:
    """The set of name suffixes (``""``, ``".gz"``, ``".br"``) of every chunk file."""
    suffixes = set()
    for scale in info["scales"]:
        for p in (directory / scale["key"]).iterdir():
            suffixes.add(p.suffix if p.suffix in (".gz", ".br", ".zstd") else "")
    return suffixes


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name=REGION)  # fmt: skip


def s3_objects(loc: Location) -> dict[str, dict[str, Any]]:
    """Key (relative to the layer) -> HEAD metadata of every object in the layer."""
    assert loc.s3 is not None
    endpoint, bucket, prefix = loc.s3
    client = s3_client(endpoint)
    out = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        for obj in page.get("Contents", []):
            out[obj["Key"][len(prefix) + 1 :]] = client.head_object(Bucket=bucket, Key=obj["Key"])
    return out


def s3_chunk_encodings(loc: Location) -> set[str | None]:
    """The set of ``Content-Encoding`` values over the layer's chunk objects."""
    return {
        head.get("ContentEncoding")
        for key, head in s3_objects(loc).items()
        if key not in ("info", "provenance")
    }
