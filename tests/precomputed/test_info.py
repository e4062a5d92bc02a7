"""The info model: creation and new scales match CloudVolume; validation names fields."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import InvalidInfoError
from cloudvol.lib import find_closest_divisor
from cloudvol.precomputed.grid import ChunkGrid
from cloudvol.precomputed.info import (
    ScaleGeometry,
    add_scale,
    create_info,
    dumps_info,
    resolution_key,
    validate_info,
)

cloudvolume = pytest.importorskip("cloudvolume")


def oracle_info(*args, **kwargs):
    return cloudvolume.CloudVolume.create_new_info(*args, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num_channels=1, layer_type="image", data_type="uint8", encoding="raw",
             resolution=[4, 4, 40], voxel_offset=[0, 0, 0], volume_size=[1000, 1000, 100]),
        dict(num_channels=3, layer_type="image", data_type=np.float32, encoding="raw",
             resolution=[4.5, 4.5, 40], voxel_offset=[-3, 5, 7], volume_size=[123, 77, 9],
             chunk_size=[128, 128, 16], max_mip=3),
        dict(num_channels=1, layer_type="segmentation", data_type="uint64",
             encoding="compressed_segmentation", resolution=[8, 8, 8], voxel_offset=[1, 2, 3],
             volume_size=[512, 512, 512], chunk_size=[96, 96, 96], max_mip=2, factor=(2, 2, 2),
             compressed_segmentation_block_size=(4, 4, 4), mesh=True, skeletons="skels"),
        dict(num_channels=1, layer_type="image", data_type="uint8", encoding="jpeg",
             resolution=[4, 4, 40], voxel_offset=[0, 0, 0], volume_size=[100, 100, 10],
             encoding_level=90, max_mip=1),
    ],
)  # fmt: skip
def test_create_info_matches_cloudvolume(kwargs):
    ours = create_info(**copy.deepcopy(kwargs))
    theirs = oracle_info(**copy.deepcopy(kwargs))
    if kwargs["encoding"] == "compressed_segmentation":
        # Deliberate difference: CloudVolume gives downsampled scales the default
        # block size (8, 8, 8) whatever was asked for; cloudvol keeps the requested one.
        requested = list(kwargs["compressed_segmentation_block_size"])
        for scale in ours["scales"]:
            assert scale["compressed_segmentation_block_size"] == requested
        for scale in theirs["scales"][1:]:
            scale["compressed_segmentation_block_size"] = requested
    if kwargs.get("encoding_level") is not None:
        # Deliberate difference: CloudVolume drops encoding_level; cloudvol records it.
        for scale in ours["scales"]:
            assert scale.pop("jpeg_quality") == kwargs["encoding_level"]
    assert ours == theirs


def test_resolution_typing_rule():
    assert resolution_key((4, 4, 40)) == "4_4_40"
    assert resolution_key((4.5, 4.5, 40)) == "4.5_4.5_40.0"
    assert resolution_key((4.0, 4, 40)) == "4.0_4.0_40.0"


def test_add_scale_replaces_equal_resolution_and_returns_it():
    info = create_info(
        1, "image", "uint8", "raw", (4, 4, 40), (3, 5, 0), (101, 99, 10), chunk_size=(128, 96, 10)
    )
    scale = add_scale(info, (2, 2, 1))
    assert scale is info["scales"][1]
    assert scale["voxel_offset"] == [1, 2, 0] and scale["size"] == [51, 50, 10]
    assert scale["chunk_sizes"] == [[64, 48, 10]] and scale["key"] == "8_8_40"
    add_scale(info, (2, 2, 1), chunk_size=(32, 32, 10))
    assert len(info["scales"]) == 2 and info["scales"][1]["chunk_sizes"] == [[32, 32, 10]]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 200))
def test_find_closest_divisor_matches_cloudvolume(n, target):
    assert find_closest_divisor([n], [target]) == [
        int(cloudvolume.lib.find_closest_divisor([n], [target])[0])
    ]


def valid_info():
    return create_info(1, "image", "uint8", "raw", (4, 4, 40), (0, 0, 0), (64, 64, 64))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda i: i.pop("data_type"), "data_type"),
        (lambda i: i.__setitem__("data_type", "complex64"), "data_type"),
        (lambda i: i.__setitem__("num_channels", 0), "num_channels"),
        (lambda i: i.__setitem__("scales", []), "scales"),
        (lambda i: i["scales"][0].pop("key"), "key"),
        (lambda i: i["scales"][0].__setitem__("size", [1, 2]), "size"),
        (lambda i: i["scales"][0].__setitem__("resolution", [4, 0, 40]), "resolution"),
        (lambda i: i["scales"][0].__setitem__("chunk_sizes", [[64, 64]]), "chunk_sizes"),
        (lambda i: i["scales"][0].__setitem__("voxel_offset", [0.5, 0, 0]), "voxel_offset"),
        (lambda i: i["scales"][0].__setitem__("compressed_segmentation_block_size", [8, 0, 8]),
         "compressed_segmentation_block_size"),
    ],
)  # fmt: skip
def test_validation_names_the_bad_field(mutate, field):
    info = valid_info()
    mutate(info)
    with pytest.raises(InvalidInfoError, match=field):
        validate_info(info, where="gs://b/ds/layer/info")
    with pytest.raises(ValueError, match="gs://b/ds/layer/info"):
        validate_info(info, where="gs://b/ds/layer/info")


def test_dumps_info_is_sorted_indented_json():
    text = dumps_info({"b": np.int64(1), "a": [np.float32(0.5)]}).decode()
    assert text == '{\n  "a": [\n    0.5\n  ],\n  "b": 1\n}'


@settings(max_examples=100, deadline=None)
@given(
    size=st.tuples(*[st.integers(1, 300)] * 3),
    offset=st.tuples(*[st.integers(-100, 100)] * 3),
    chunk=st.tuples(*[st.integers(1, 64)] * 3),
    data=st.data(),
)
def test_chunk_plan_tiles_the_request_exactly(size, offset, chunk, data):
    geom = ScaleGeometry("k", size, offset, chunk, (1, 1, 1), "raw", None, None)
    grid = ChunkGrid(geom)
    lo = [data.draw(st.integers(o, o + s - 1)) for o, s in zip(offset, size, strict=True)]
    hi = [data.draw(st.integers(a + 1, o + s)) for a, o, s in zip(lo, offset, size, strict=True)]
    plan = grid.plan(np.array(lo), np.array(hi))
    covered = np.zeros([h - a for a, h in zip(lo, hi, strict=True)], dtype=np.int32)
    for s, e in zip(plan.starts, plan.stops, strict=True):
        assert np.all((s - offset) % chunk == 0) and np.all(e <= np.add(offset, size))
        a = np.maximum(s, lo) - lo
        b = np.minimum(e, hi) - lo
        covered[a[0]:b[0], a[1]:b[1], a[2]:b[2]] += 1  # fmt: skip
    assert np.all(covered == 1)
    grid_lo, grid_hi = grid.expand_to_grid(np.array(lo), np.array(hi))
    assert grid.is_aligned(grid_lo, grid_hi)


def test_compressed_segmentation_without_block_size_is_readable():
    info = create_info(
        1, "segmentation", "uint64", "compressed_segmentation", (4, 4, 40), (0, 0, 0), (64, 64, 64)
    )
    del info["scales"][0]["compressed_segmentation_block_size"]
    validate_info(info)  # read side: CloudVolume reads these with 8³ blocks


def test_encoding_levels_are_range_checked_and_inherited_by_new_scales():
    with pytest.raises(InvalidInfoError, match="png_level"):
        create_info(
            1, "image", "uint8", "png", (4, 4, 40), (0, 0, 0), (64, 64, 64), encoding_level=50
        )
    info = create_info(1, "image", "uint8", "jxl", (4, 4, 40), (0, 0, 0), (64, 64, 64),
                       encoding_level=90, encoding_effort=3, max_mip=2)  # fmt: skip
    for scale in info["scales"]:
        assert scale["jxl_quality"] == 90 and scale["jxl_effort"] == 3
