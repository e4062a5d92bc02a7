"""CloudVolume's sharding API on ``vol.image`` and its module paths, compared with
cloud-volume on the same layer; ``sharding=`` in create_new_info/add_scale; info
validation of sharded scales."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from shard_cases import random_image, sharded_info, sharding

from cloudvol import CloudVolume
from cloudvol.exceptions import AlignmentError, InvalidInfoError
from cloudvol.precomputed.info import validate_info

SPEC = sharding(2, 0, 6, index="raw", data="raw")  # one minishard per shard: bytes match cv


@pytest.fixture
def layer(tmp_path):
    info = sharded_info(SPEC)
    vol = CloudVolume(f"file://{tmp_path}/layer", info=info)
    vol.commit_info()
    data = random_image((100, 70, 30))
    vol[:, :, :] = data
    return vol, data, f"file://{tmp_path}/layer"


def test_make_shard_matches_cloudvolume_byte_for_byte(layer):
    from cloudvolume import CloudVolume as CV

    vol, data, path = layer
    theirs = CV(path, progress=False)
    box = np.s_[3:35, -5:11, 7:15]  # 2 of the 2 × 2 × 1 chunks of shard 00
    img = data[0:32, 0:16, 0:8]
    assert vol.image.shard_filename(box, 0) == theirs.image.shard_filename(box, 0) == "00.shard"
    ours_pts, ours_codes = vol.image.morton_codes(box, mip=0)
    their_pts, their_codes = theirs.image.morton_codes(box, mip=0)
    assert [tuple(p) for p in ours_pts] == [tuple(p) for p in their_pts]
    np.testing.assert_array_equal(ours_codes, their_codes)
    ours_chunks = vol.image.make_shard_chunks(img, box, mip=0)
    their_chunks = theirs.image.make_shard_chunks(img, box, mip=0)
    assert {int(k): bytes(v) for k, v in their_chunks.items()} == ours_chunks
    with pytest.raises(AlignmentError, match="same shard"):
        vol.image.morton_codes(np.s_[3:35, -5:27, 7:23], mip=0)
    with pytest.raises(AlignmentError, match="non-chunk aligned"):
        vol.image.morton_codes(np.s_[3:30, -5:27, 7:15], mip=0)
    full = data[0:32, 0:32, 0:8]
    shard_box = np.s_[3:35, -5:27, 7:15]
    ours = vol.image.make_shard(full, shard_box, mip=0)
    assert ours == theirs.image.make_shard(full, shard_box, mip=0)
    assert ours == ("00.shard", (vol.image.store.get("4_4_40/00.shard")))
    np.testing.assert_array_equal(vol.image.shard_shape(0), theirs.image.shard_shape(0))


def test_shard_reader_matches_cloudvolume(layer):
    from cloudvolume import CloudVolume as CV

    vol, _, path = layer
    theirs = CV(path, progress=False).image.shard_reader(0)
    ours = vol.image.shard_reader(0)
    labels = [0, 1, 7, 8, 63, 127, 2**40]
    assert ours.get_data(labels, path="4_4_40") == theirs.get_data(labels, path="4_4_40")
    assert ours.get_data(5, path="4_4_40") == theirs.get_data(5, path="4_4_40")
    assert ours.exists(labels, path="4_4_40") == theirs.exists(labels, path="4_4_40")
    np.testing.assert_array_equal(ours.list_labels("00.shard", path="4_4_40"),
                                  theirs.list_labels("00.shard", path="4_4_40"))  # fmt: skip
    np.testing.assert_array_equal(ours.get_index("00.shard", path="4_4_40"),
                                  theirs.get_index("00.shard", path="4_4_40"))  # fmt: skip


def test_module_paths_and_current_mip_default(tmp_path):
    from cloudvol.datasource.precomputed.common import cdn_cache_control, compressed_morton_code
    from cloudvol.datasource.precomputed.sharding import (
        ShardingSpecification,
        ShardReader,
        compute_shard_params_for_hashed,
        compute_shard_params_for_image,
        image_shard_shape_from_spec,
    )
    from cloudvol.sharding import ShardingSpecification as Same

    assert ShardingSpecification is Same and callable(ShardReader)
    assert callable(compute_shard_params_for_hashed) and callable(compute_shard_params_for_image)
    assert callable(image_shard_shape_from_spec) and cdn_cache_control(False) == "no-cache"
    assert compressed_morton_code([1, 1, 1], [2, 2, 2]) == 7
    info = CloudVolume.create_new_info(1, "image", "uint8", "raw", (1, 1, 1), (0, 0, 0),
                                       (64, 64, 64), chunk_size=(16, 16, 16), max_mip=1,
                                       sharding=True)  # fmt: skip
    assert all(s["sharding"]["hash"] == "identity" for s in info["scales"])
    vol = CloudVolume(f"file://{tmp_path}/l", info=info, mip=1)
    assert (
        vol.image.is_sharded() and vol.image.shard_spec().to_dict() == info["scales"][1]["sharding"]
    )
    added = vol.add_scale((4, 4, 4), sharding=SPEC)
    assert added["sharding"] == SPEC and len(vol.info["scales"]) == 3
    unsharded = vol.add_scale((8, 8, 8))
    assert "sharding" not in unsharded


def test_validation_of_sharded_scales():
    info = sharded_info(SPEC)
    validate_info(info)
    bad = copy.deepcopy(info)
    bad["scales"][0]["sharding"]["hash"] = "md5"
    with pytest.raises(InvalidInfoError, match="sharding"):
        validate_info(bad)
    two = copy.deepcopy(info)
    two["scales"][0]["chunk_sizes"].append([8, 8, 8])
    with pytest.raises(InvalidInfoError, match="exactly one chunk size"):
        validate_info(two)
    huge = copy.deepcopy(info)
    huge["scales"][0]["size"] = [2**30, 2**30, 2**10]
    huge["scales"][0]["chunk_sizes"] = [[1, 1, 1]]
    with pytest.raises(InvalidInfoError, match="64"):
        validate_info(huge)
    unsharded = copy.deepcopy(info)
    unsharded["scales"][0]["sharding"] = None  # tensorstore's spelling of unsharded
    validate_info(unsharded)
