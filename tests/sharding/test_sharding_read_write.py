"""Sharded scales through the CloudVolume facade on mem:// and file://: whole and
partial reads, shard-by-shard writes, alignment errors, missing chunks, exists,
unique, deletes."""

from __future__ import annotations

import numpy as np
import pytest
from shard_cases import labels_image, random_image, sharded_info, sharding

from cloudvol import Bbox, CloudVolume
from cloudvol.exceptions import AlignmentError, EmptyVolumeException

# (name, spec, writes whole shards one block at a time?)
SPECS = [
    ("blocked-gzip", sharding(2, 1, 5)),          # 3 bits/shard: blocks of 2×2×2 chunks
    ("blocked-raw", sharding(0, 3, 5, index="raw", data="raw")),
    ("one-shard", sharding(3, 5, 0)),
    ("aliased", sharding(2, 1, 3)),              # too few shard bits: scattered shards
    ("murmur", sharding(0, 2, 2, hash="murmurhash3_x86_128")),
]  # fmt: skip


@pytest.fixture(params=["mem", "file"])
def base(request, tmp_path):
    if request.param == "mem":
        from cloudvol.storage import free_memory

        name = f"mem://sharding-{tmp_path.name}"
        yield name
        free_memory(name.split("//")[1])
    else:
        yield f"file://{tmp_path}"


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=[s[0] for s in SPECS])
def test_whole_volume_round_trip_and_unaligned_cutouts(base, name, spec):
    info = sharded_info(spec)
    vol = CloudVolume(f"{base}/{name}", info=info)
    vol.commit_info()
    data = random_image((100, 70, 30))
    vol[:, :, :] = data
    again = CloudVolume(f"{base}/{name}")
    np.testing.assert_array_equal(again[:, :, :], data)
    for lo, hi in [
        ((3, -5, 7), (103, 65, 37)),
        ((20, 0, 9), (61, 33, 30)),
        ((50, 10, 20), (51, 11, 21)),
    ]:
        rel_lo = np.subtract(lo, (3, -5, 7))
        rel_hi = np.subtract(hi, (3, -5, 7))
        got = again[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        np.testing.assert_array_equal(
            np.asarray(got).reshape([*np.subtract(hi, lo).tolist(), 1]),
            data[rel_lo[0] : rel_hi[0], rel_lo[1] : rel_hi[1], rel_lo[2] : rel_hi[2]],
        )
    outside = CloudVolume(f"{base}/{name}", bounded=False, background_color=7)
    cut = outside[-10:20, -10:0, 0:10]
    assert (cut[:13] == 7).all() and (cut[:, :, :7] == 7).all()
    np.testing.assert_array_equal(cut[13:, 5:, 7:], data[:17, :5, :3])


def test_many_shards_in_one_write_and_only_covered_shards_replaced(base):
    vol = CloudVolume(f"{base}/multi", info=sharded_info(sharding(2, 1, 5)))
    vol.commit_info()
    alignment = vol.image.shard_alignment()
    assert alignment.shape == (32, 32, 16) and alignment.origin == (3, -5, 7)
    first = random_image((100, 70, 30), seed=1)
    vol[:, :, :] = first
    files = sorted(vol.image.store.list("4_4_40/"))
    assert len(files) == 4 * 3 * 2 and all(f.endswith(".shard") for f in files)
    second = random_image((64, 32, 16), seed=2)
    vol[35:99, 27:59, 7:23] = second  # 2 × 1 × 1 shards
    expected = first.copy()
    expected[32:96, 32:64, 0:16] = second
    np.testing.assert_array_equal(vol[:, :, :], expected)


def test_partial_shard_write_raises_alignment_error_and_stores_nothing(base):
    vol = CloudVolume(f"{base}/partial", info=sharded_info(sharding(2, 1, 5)))
    vol.commit_info()
    with pytest.raises(AlignmentError) as err:
        vol[3:19, -5:11, 7:15] = np.zeros((16, 16, 8), dtype=np.uint16)
    message = str(err.value)
    assert "32×32×16 voxels" in message and "(3, -5, 7)" in message
    assert "Bbox([3, -5, 7], [35, 27, 23])" in message
    assert list(vol.image.store.list("4_4_40/")) == []
    # clipped edge shards are whole shards
    vol[99:103, 59:65, 23:37] = np.ones((4, 6, 14), dtype=np.uint16)
    assert (vol[99:103, 59:65, 23:37] == 1).all()


def test_scattered_shards_need_every_chunk_of_each_shard(base):
    vol = CloudVolume(
        f"{base}/scattered", info=sharded_info(sharding(0, 2, 2, hash="murmurhash3_x86_128"))
    )
    vol.commit_info()
    with pytest.raises(AlignmentError, match="murmurhash3_x86_128"):
        vol[3:35, -5:27, 7:23] = np.zeros((32, 32, 16), dtype=np.uint16)
    assert vol.image.shard_alignment() is None


def test_missing_shards_and_chunks(base):
    vol = CloudVolume(
        f"{base}/missing", info=sharded_info(sharding(2, 1, 5)), delete_black_uploads=True
    )
    vol.commit_info()
    data = random_image((32, 32, 16), seed=3)
    data[:16, :16, :8] = 0  # one background chunk, left out of the shard
    vol[3:35, -5:27, 7:23] = data
    with pytest.raises(EmptyVolumeException) as err:
        vol[3:19, -5:11, 7:15]
    assert "0.shard" in str(err.value) and "chunk 0 " in str(err.value)
    with pytest.raises(EmptyVolumeException, match=r"1\.shard"):
        vol[40:41, 0:1, 8:9]
    filled = CloudVolume(f"{base}/missing", fill_missing=True, background_color=5)
    assert (filled[3:19, -5:11, 7:15] == 5).all()
    assert (filled[40:60, 0:10, 8:10] == 5).all()
    np.testing.assert_array_equal(filled[19:35, -5:27, 7:23], data[16:])
    exists = filled.exists(Bbox((3, -5, 7), (35, 11, 15)))
    assert exists == {"4_4_40/3-19_-5-11_7-15": False, "4_4_40/19-35_-5-11_7-15": True}
    vol[3:35, -5:27, 7:23] = np.zeros((32, 32, 16), dtype=np.uint16)  # all background
    assert "4_4_40/00.shard" not in set(vol.image.store.list("4_4_40/"))


def test_unique_download_files_points_and_delete(base):
    spec = sharding(1, 2, 5, data="raw")
    info = sharded_info(spec, size=(64, 64, 32), chunk=(16, 16, 16), offset=(0, 0, 0),
                        dtype="uint64", layer_type="segmentation")  # fmt: skip
    vol = CloudVolume(f"{base}/seg", info=info)
    vol.commit_info()
    labels = labels_image((64, 64, 32))
    vol[:, :, :] = labels
    assert vol.unique(np.s_[:, :, :]) == set(np.unique(labels).tolist())
    assert vol.unique(np.s_[5:40, 7:9, 3:30]) == set(np.unique(labels[5:40, 7:9, 3:30]).tolist())
    files = vol.download_files(Bbox((0, 0, 0), (32, 16, 16)))
    assert sorted(files) == [0, 1]
    assert files[1] == labels[16:32, :16, :16].tobytes(order="F")
    pts = vol.scattered_points([[1, 2, 3], [63, 63, 31]])
    assert pts == {(1, 2, 3): labels[1, 2, 3, 0], (63, 63, 31): labels[63, 63, 31, 0]}
    with pytest.raises(AlignmentError):
        vol.delete(Bbox((0, 0, 0), (16, 16, 16)))
    vol.delete(Bbox((0, 0, 0), (32, 32, 32)))  # shard 0: 2×2×2 chunks
    with pytest.raises(EmptyVolumeException):
        vol[0:1, 0:1, 0:1]
    np.testing.assert_array_equal(vol[32:64, :, :], labels[32:])


def test_shard_files_are_never_transport_compressed(tmp_path):
    vol = CloudVolume(f"file://{tmp_path}/c", info=sharded_info(sharding(2, 1, 5)), compress="gzip")
    vol.commit_info()
    vol[:, :, :] = random_image((100, 70, 30))
    names = [p.name for p in (tmp_path / "c" / "4_4_40").iterdir()]
    assert names and all(n.endswith(".shard") for n in names)
