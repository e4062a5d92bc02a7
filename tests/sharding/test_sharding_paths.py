"""Less common paths of the sharded reader and writer: shard indexes read entry by
entry, reads in several prefetched batches over the network, scattered layouts too
large to enumerate, and the bounded index cache."""

from __future__ import annotations

import numpy as np
import pytest
from shard_cases import random_image, sharded_info, sharding

from cloudvol import CloudVolume
from cloudvol.exceptions import AlignmentError, DecodingError
from cloudvol.volume import shard_reader, sharded
from cloudvol.volume.shard_reader import LRUBytes


def write_layer(path: str, spec=None):
    vol = CloudVolume(path, info=sharded_info(spec or sharding(2, 1, 5)))
    vol.commit_info()
    data = random_image((100, 70, 30))
    vol[:, :, :] = data
    return data


def test_large_shard_indexes_are_read_entry_by_entry(tmp_path, monkeypatch):
    path = f"file://{tmp_path}/layer"
    data = write_layer(path)
    monkeypatch.setattr(shard_reader, "FULL_INDEX_MAX_BYTES", 0)
    vol = CloudVolume(path)
    np.testing.assert_array_equal(vol[:, :, :], data)
    np.testing.assert_array_equal(vol[20:40, 0:10, 10:20], data[17:37, 5:15, 3:13])
    shard = tmp_path / "layer" / "4_4_40" / "00.shard"
    raw = bytearray(shard.read_bytes())
    raw[0:16] = np.array([100, 50], dtype="<u8").tobytes()  # minishard 0: end before start
    shard.write_bytes(bytes(raw))
    with pytest.raises(DecodingError, match=r"00\.shard.*minishard 0"):
        CloudVolume(path)[3:19, -5:11, 7:15]


def test_network_reads_in_several_prefetched_batches(http_server, http_dir, monkeypatch):
    local_dir, url_path = http_dir
    data = write_layer(f"file://{local_dir}/layer")
    monkeypatch.setattr(sharded, "BATCH_BYTES", 100_000)  # ~24 chunks of 4 KiB per batch
    remote = CloudVolume(f"{http_server.url}/{url_path}/layer")
    np.testing.assert_array_equal(remote[:, :, :], data)
    assert remote.unique(np.s_[3:35, -5:27, 7:23]) == set(np.unique(data[:32, :32, :16]).tolist())


def test_scattered_layouts_too_large_to_enumerate_say_so(tmp_path, monkeypatch):
    from cloudvol.precomputed import image_shards

    monkeypatch.setattr(image_shards, "MAX_ENUMERATED_CHUNKS", 10)
    vol = CloudVolume(
        f"file://{tmp_path}/m", info=sharded_info(sharding(0, 2, 2, hash="murmurhash3_x86_128"))
    )
    vol.commit_info()
    with pytest.raises(AlignmentError, match="too large to work out"):
        vol[:, :, :] = random_image((100, 70, 30))


def test_index_cache_is_bounded_by_bytes():
    cache = LRUBytes(100)
    for i in range(10):
        cache.put(i, f"v{i}", 30)
    assert len(cache) == 3 and cache.nbytes == 90
    assert cache.get(9) == "v9" and cache.get(0) is None
    cache.put("huge", "x", 1000)  # bigger than the whole cache: not kept
    assert "huge" not in cache and len(cache) == 3
    cache.discard_where(lambda k: k == 8)
    assert 8 not in cache and cache.nbytes == 60


def test_writes_drop_cached_indexes_of_replaced_shards(tmp_path):
    path = f"file://{tmp_path}/layer"
    write_layer(path)
    vol = CloudVolume(path)
    vol[3:35, -5:27, 7:23]  # caches shard 00's indexes
    fresh = random_image((32, 32, 16), seed=9)
    vol[3:35, -5:27, 7:23] = fresh
    np.testing.assert_array_equal(vol[3:35, -5:27, 7:23], fresh)
