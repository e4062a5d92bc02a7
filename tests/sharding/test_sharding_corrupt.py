"""Corrupt shard files raise errors naming the shard file and the chunk; they never
read as background, even with fill_missing=True. Only absent chunks (no shard file,
a zero-length one, or a chunk not in its minishard index) are filled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shard_cases import random_image, sharded_info, sharding

from cloudvol import CloudVolume
from cloudvol.exceptions import DecodingError, EmptyVolumeException

SPEC = sharding(2, 1, 5, index="gzip", data="gzip")  # shard 0 = chunks 0-7


def make_layer(tmp_path: Path, spec=SPEC) -> tuple[str, Path, np.ndarray]:
    path = f"file://{tmp_path}/layer"
    vol = CloudVolume(path, info=sharded_info(spec))
    vol.commit_info()
    data = random_image((100, 70, 30))
    vol[:, :, :] = data
    return path, tmp_path / "layer" / "4_4_40" / "00.shard", data


def read_first_chunk(path: str, fill_missing: bool = False):
    return CloudVolume(path, fill_missing=fill_missing)[3:19, -5:11, 7:15]


@pytest.mark.parametrize("fill_missing", [False, True])
def test_truncated_shard_index(tmp_path, fill_missing):
    path, shard, _ = make_layer(tmp_path)
    shard.write_bytes(shard.read_bytes()[:20])
    with pytest.raises(DecodingError, match=r"00\.shard.*truncated"):
        read_first_chunk(path, fill_missing)


@pytest.mark.parametrize("fill_missing", [False, True])
def test_minishard_index_past_the_end(tmp_path, fill_missing):
    path, shard, _ = make_layer(tmp_path)
    # CloudVolume's layout keeps the minishard indexes at the end: cut into them.
    raw = shard.read_bytes()
    start, _ = np.frombuffer(raw[:16], dtype="<u8").tolist()
    shard.write_bytes(raw[: 32 + start + 5])
    with pytest.raises(DecodingError) as err:
        read_first_chunk(path, fill_missing)
    assert "00.shard" in str(err.value) and "chunk 0 " in str(err.value)


@pytest.mark.parametrize("fill_missing", [False, True])
def test_item_offset_past_the_end(tmp_path, fill_missing):
    spec = sharding(2, 1, 5, index="raw", data="raw")
    path, shard, _ = make_layer(tmp_path, spec)
    raw = bytearray(shard.read_bytes())
    start, end = np.frombuffer(bytes(raw[:16]), dtype="<u8").tolist()
    head = 32
    n = (end - start) // 24
    rows = np.frombuffer(bytes(raw[head + start : head + end]), dtype="<u8").reshape(3, n).copy()
    rows[1, 0] += 10**9  # first item of minishard 0 moves far past the end
    raw[head + start : head + end] = rows.tobytes()
    shard.write_bytes(bytes(raw))
    with pytest.raises(DecodingError) as err:
        read_first_chunk(path, fill_missing)
    message = str(err.value)
    assert "00.shard" in message and "chunk 0 " in message and "past the end" in message


@pytest.mark.parametrize("fill_missing", [False, True])
def test_bad_gzip_minishard_index(tmp_path, fill_missing):
    path, shard, _ = make_layer(tmp_path)
    raw = bytearray(shard.read_bytes())
    start, end = np.frombuffer(bytes(raw[:16]), dtype="<u8").tolist()
    raw[32 + start + 12 : 32 + end - 8] = b"\xff" * (end - start - 20)
    shard.write_bytes(bytes(raw))
    with pytest.raises(DecodingError) as err:
        read_first_chunk(path, fill_missing)
    assert "00.shard" in str(err.value) and "minishard 0" in str(err.value)
    assert "chunk 0 " in str(err.value)


@pytest.mark.parametrize("fill_missing", [False, True])
def test_bad_gzip_chunk(tmp_path, fill_missing):
    path, shard, data = make_layer(tmp_path)
    raw = bytearray(shard.read_bytes())
    raw[32 + 30 : 32 + 60] = b"\x00" * 30  # inside the first item (chunk 0)
    shard.write_bytes(bytes(raw))
    with pytest.raises(DecodingError) as err:
        read_first_chunk(path, fill_missing)
    assert "00.shard" in str(err.value) and "chunk 0 " in str(err.value)
    # the other shards still read
    np.testing.assert_array_equal(CloudVolume(path)[35:67, -5:27, 7:23], data[32:64, :32, :16])


def test_wrong_chunk_size_in_a_shard_is_a_decoding_error(tmp_path):
    spec = sharding(2, 1, 5, index="raw", data="raw")
    path, _, _ = make_layer(tmp_path, spec)
    vol = CloudVolume(path)
    info = vol.info
    info["data_type"] = "uint32"  # raw chunks now decode to the wrong byte count
    with pytest.raises(DecodingError, match=r"00\.shard"):
        CloudVolume(path, info=info)[3:19, -5:11, 7:15]


def test_zero_length_shard_reads_as_absent(tmp_path):
    path, shard, _ = make_layer(tmp_path)
    shard.write_bytes(b"")
    with pytest.raises(EmptyVolumeException, match=r"00\.shard"):
        read_first_chunk(path)
    assert (read_first_chunk(path, fill_missing=True) == 0).all()
