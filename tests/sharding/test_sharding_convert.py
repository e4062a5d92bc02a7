"""Converting scales between the unsharded and sharded layouts: to another store or
in place, keeping missing chunks missing, optionally re-encoding, with memory
bounded by about one shard."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from shard_cases import random_image

from cloudvol import Bbox, CloudVolume
from cloudvol.exceptions import EmptyVolumeException
from cloudvol.storage import free_memory


def unsharded(path: str, size=(100, 70, 30), chunk=(16, 16, 8), dtype="uint16", seed=0,
              encoding="raw", **kw):  # fmt: skip
    info = CloudVolume.create_new_info(1, "image", dtype, encoding, (4, 4, 40), (3, -5, 7), size,
                                       chunk_size=chunk, max_mip=1)  # fmt: skip
    vol = CloudVolume(path, info=info, **kw)
    vol.commit_info()
    data = random_image(size, dtype=dtype, seed=seed)
    vol[:, :, :] = data
    return vol, data


def test_unsharded_to_sharded_on_another_store_and_back(tmp_path):
    src, data = unsharded(f"file://{tmp_path}/src")
    dst = src.to_sharded(f"mem://convert-{tmp_path.name}/sharded", chunks_per_shard=8)
    spec = dst.info["scales"][0]["sharding"]
    assert spec["hash"] == "identity" and spec["preshift_bits"] + spec["minishard_bits"] == 3
    assert "sharding" not in dst.info["scales"][1]  # only the converted mip changes
    again = CloudVolume(f"mem://convert-{tmp_path.name}/sharded")
    np.testing.assert_array_equal(again[:, :, :], data)
    assert again.provenance.processing[-1]["method"]["task"] == "to_sharded"
    back = again.to_unsharded(f"file://{tmp_path}/back", compress="gzip")
    free_memory(f"convert-{tmp_path.name}")
    np.testing.assert_array_equal(CloudVolume(f"file://{tmp_path}/back")[:, :, :], data)
    names = {p.name for p in (tmp_path / "back" / "4_4_40").iterdir()}
    assert names == {p.name for p in (tmp_path / "src" / "4_4_40").iterdir()}
    assert all(n.endswith(".gz") for n in names)
    assert back.info["scales"][0].get("sharding") is None


def test_in_place_conversion_commits_the_info_last(tmp_path):
    path = f"file://{tmp_path}/layer"
    src, data = unsharded(path)
    dst = src.to_sharded(sharding={"@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 0,
                                   "hash": "murmurhash3_x86_128", "minishard_bits": 1,
                                   "shard_bits": 1, "minishard_index_encoding": "raw",
                                   "data_encoding": "gzip"})  # fmt: skip
    assert src.image.is_sharded(0) and dst.image.is_sharded(0)
    for f in (tmp_path / "layer" / "4_4_40").iterdir():
        if not f.name.endswith(".shard"):
            f.unlink()  # only the shards remain
    assert sorted(p.name for p in (tmp_path / "layer" / "4_4_40").iterdir()) == [
        "0.shard",
        "1.shard",
    ]
    np.testing.assert_array_equal(CloudVolume(path)[:, :, :], data)
    info = json.loads((tmp_path / "layer" / "info").read_text())
    assert info["scales"][0]["sharding"]["hash"] == "murmurhash3_x86_128"
    with pytest.raises(ValueError, match="already sharded"):
        src.to_sharded()


def test_missing_chunks_stay_missing_both_ways(tmp_path):
    src, data = unsharded(f"file://{tmp_path}/src", delete_black_uploads=True)
    src[3:19, -5:11, 7:15] = np.zeros((16, 16, 8), dtype=np.uint16)
    dst = src.to_sharded(f"file://{tmp_path}/sharded", chunks_per_shard=64)
    with pytest.raises(EmptyVolumeException, match="chunk 0 "):
        dst[3:19, -5:11, 7:15]
    assert dst.exists(Bbox((3, -5, 7), (35, 11, 15))) == {
        "4_4_40/3-19_-5-11_7-15": False, "4_4_40/19-35_-5-11_7-15": True}  # fmt: skip
    dst.to_unsharded(f"file://{tmp_path}/back")
    assert not (tmp_path / "back" / "4_4_40" / "3-19_-5-11_7-15.gz").exists()
    back = CloudVolume(f"file://{tmp_path}/back", fill_missing=True)
    expected = data.copy()
    expected[:16, :16, :8] = 0
    np.testing.assert_array_equal(back[:, :, :], expected)


def test_re_encoding_while_sharding(tmp_path):
    from cloudvol.codecs import get_codec
    from cloudvol.exceptions import UnsupportedFormatError

    try:
        get_codec("jpeg")
    except UnsupportedFormatError:
        pytest.skip("no jpeg codec in this build")
    size = (64, 64, 16)
    info = CloudVolume.create_new_info(1, "image", "uint8", "raw", (4, 4, 40), (0, 0, 0), size,
                                       chunk_size=(32, 32, 8))  # fmt: skip
    src = CloudVolume(f"file://{tmp_path}/src", info=info)
    src.commit_info()
    x, y, z = np.meshgrid(*[np.arange(s) for s in size], indexing="ij")
    data = ((x + 2 * y + 3 * z) % 250).astype(np.uint8)[..., None]
    src[:, :, :] = data
    dst = src.to_sharded(f"file://{tmp_path}/jpeg", encoding="jpeg", chunks_per_shard=4)
    scale = dst.info["scales"][0]
    assert scale["encoding"] == "jpeg" and scale["sharding"]["data_encoding"] == "raw"
    got = CloudVolume(f"file://{tmp_path}/jpeg")[:, :, :]
    assert np.abs(got.astype(int) - data.astype(int)).mean() < 3
    back = dst.to_unsharded(f"file://{tmp_path}/raw-again", encoding="raw")
    np.testing.assert_array_equal(back[:, :, :], got)


@pytest.mark.parametrize("direction", ["to_sharded", "to_unsharded"])
def test_conversion_memory_is_bounded_by_about_one_shard(tmp_path, direction):
    size, chunk = (256, 256, 64), (32, 32, 32)  # 128 chunks of 32 KiB, 4 MiB in all
    src, data = unsharded(f"file://{tmp_path}/src", size=size, chunk=chunk, dtype="uint8")
    shard_bytes = 8 * 32**3  # 8 chunks per shard: 16 shards of 256 KiB
    if direction == "to_unsharded":
        src = src.to_sharded(f"file://{tmp_path}/sharded", chunks_per_shard=8)
    del data
    tracemalloc.start()
    try:
        if direction == "to_sharded":
            src.to_sharded(f"file://{tmp_path}/out", chunks_per_shard=8)
        else:
            src.to_unsharded(f"file://{tmp_path}/out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * shard_bytes, f"peak {peak} bytes for {shard_bytes}-byte shards"


def test_image_to_sharded_sets_cloudvolumes_recommendation_without_committing(tmp_path):
    from cloudvolume.datasource.precomputed.sharding import compute_shard_params_for_image

    src, _ = unsharded(f"file://{tmp_path}/src")
    src.image.to_sharded(uncompressed_shard_bytesize=2**16)
    expected = compute_shard_params_for_image((100, 70, 30), (16, 16, 8), "raw", "uint16",
                                              uncompressed_shard_bytesize=2**16)  # fmt: skip
    assert src.info["scales"][0]["sharding"] == {k: (v if isinstance(v, str) else int(v))
                                                 for k, v in expected.to_dict().items()}  # fmt: skip
    assert "sharding" not in json.loads((tmp_path / "src" / "info").read_text())["scales"][0]
    src.image.to_unsharded()
    assert "sharding" not in src.info["scales"][0]
