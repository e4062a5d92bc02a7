"""Whole cloudvol volumes on file:// with the segmentation encodings: round trips over
ragged edge chunks, how chunks are stored, the block size, unaligned writes, and
unsupported dtypes/channel counts failing before anything is written."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from test_segmentation_codecs import CSEG, FORMATS, segmentation, spy_slice_checks

from cloudvol import CloudVolume
from cloudvol.exceptions import DecodingError, EncodingError, InvalidInfoError

SIZE = (100, 70, 12)  # not multiples of the chunk: edge chunks are 36×6×4 and the like
CHUNK = (64, 64, 8)
MAGIC = {"compresso": b"cpso", "crackle": b"crkl"}


def make_volume(
    path: Path,
    encoding: str,
    dtype: str,
    channels: int,
    block: tuple[int, int, int] | None = None,
    **kw: object,
) -> CloudVolume:
    extra = {} if block is None else {"compressed_segmentation_block_size": block}
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="segmentation", data_type=dtype, encoding=encoding,
        resolution=(4, 4, 40), voxel_offset=(3, -5, 2), volume_size=SIZE, chunk_size=CHUNK,
        **extra,
    )  # fmt: skip
    vol = CloudVolume(f"file://{path}", info=info, **kw)
    vol.commit_info()
    return vol


def chunk_files(path: Path) -> list[Path]:
    return sorted(p for p in (path / "4_4_40").iterdir() if p.is_file())


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_volume_round_trip_with_ragged_edge_chunks(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    vol = make_volume(tmp_path, encoding, dtype, channels)
    data = segmentation(SIZE, channels, dtype, seed=channels)
    vol[:, :, :] = data
    back = np.asarray(vol[:, :, :])
    assert back.shape == (*SIZE, channels)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, data)
    # An unaligned cutout reads the same voxels as the whole volume.
    part = np.asarray(vol[10:90, 20:65, 3:11])
    np.testing.assert_array_equal(part, back[7:87, 25:70, 1:9])


@pytest.mark.parametrize("encoding", [CSEG, "compresso", "crackle"])
def test_chunks_are_gzipped_label_streams(tmp_path: Path, encoding: str):
    vol = make_volume(tmp_path, encoding, "uint64", 1)
    vol[:, :, :] = segmentation(SIZE, 1, "uint64")
    files = chunk_files(tmp_path)
    assert len(files) == 2 * 2 * 2
    assert {f.name for f in files} >= {"3-67_-5-59_2-10.gz", "67-103_59-65_10-14.gz"}
    for f in files:
        stream = gzip.decompress(f.read_bytes())
        if encoding == CSEG:
            assert stream[:4] == b"\x01\x00\x00\x00"  # one channel, at word 1
        else:
            assert stream[:4] == MAGIC[encoding]


def test_cseg_block_size_is_stored_in_the_scale_and_used(tmp_path: Path):
    data = segmentation(SIZE, 1, "uint32", seed=4)
    stored = []
    for block in [(8, 8, 8), (4, 4, 2)]:
        path = tmp_path / "x".join(map(str, block))
        vol = make_volume(path, CSEG, "uint32", 1, block=block)
        assert vol.info["scales"][0]["compressed_segmentation_block_size"] == list(block)
        vol[:, :, :] = data
        stored.append([f.read_bytes() for f in chunk_files(path)])
        np.testing.assert_array_equal(np.asarray(CloudVolume(f"file://{path}")[:, :, :]), data)
    assert stored[0] != stored[1]


@pytest.mark.parametrize("encoding", [CSEG, "compresso", "crackle"])
def test_unaligned_write_keeps_the_neighbouring_labels(tmp_path: Path, encoding: str):
    vol = make_volume(tmp_path, encoding, "uint32", 1, non_aligned_writes=True)
    data = segmentation(SIZE, 1, "uint32", seed=6)
    vol[:, :, :] = data
    patch = np.full((20, 30, 5, 1), 77, dtype=np.uint32)
    vol[20:40, 10:40, 4:9] = patch
    expected = data.copy()
    expected[17:37, 15:45, 2:7] = 77
    np.testing.assert_array_equal(np.asarray(vol[:, :, :]), expected)


@pytest.mark.parametrize(
    ("encoding", "dtype", "channels"),
    [
        (CSEG, "uint8", 1),
        (CSEG, "int64", 1),
        (CSEG, "float32", 1),
        ("compresso", "int32", 1),
        ("compresso", "float64", 1),
        ("compresso", "uint32", 2),
        ("crackle", "int8", 1),
        ("crackle", "float32", 1),
        ("crackle", "uint64", 3),
    ],
)
def test_unsupported_layer_fails_before_any_chunk_is_written(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    # commit_info refuses a layer no write could fill...
    with pytest.raises(InvalidInfoError, match=rf"scales\[0\]: {encoding} encoding cannot store"):
        make_volume(tmp_path, encoding, dtype, channels)
    assert not (tmp_path / "info").exists()
    # ...and an info committed elsewhere still fails before any chunk is written
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="segmentation", data_type=dtype, encoding=encoding,
        resolution=(4, 4, 40), voxel_offset=(3, -5, 2), volume_size=SIZE, chunk_size=CHUNK,
    )  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}", info=info)  # not committed
    with pytest.raises(EncodingError, match=f"{encoding} encoding cannot store"):
        vol[:, :, :] = np.ones((*SIZE, channels), dtype=dtype)
    assert not (tmp_path / "4_4_40").exists() or chunk_files(tmp_path) == []


@pytest.mark.parametrize(("compress", "checks"), [(None, 0), (False, 8), ("br", 8)])
def test_crackle_reads_check_slice_crcs_unless_gzip_checked_the_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compress: object, checks: int
):
    """CloudVolume's default (gzip) guards each chunk with a CRC-32, which makes
    crackle's per-slice check redundant; uncompressed and brotli chunks keep it."""
    vol = make_volume(tmp_path, "crackle", "uint32", 1, compress=compress)
    data = segmentation(SIZE, 1, "uint32", seed=5)
    vol[:, :, :] = data
    calls = spy_slice_checks(monkeypatch)
    np.testing.assert_array_equal(np.asarray(CloudVolume(f"file://{tmp_path}")[:, :, :]), data)
    assert len(calls) == checks


@pytest.mark.parametrize(("data_encoding", "checks"), [("gzip", 0), ("raw", 4)])
def test_sharded_crackle_reads_skip_slice_crcs_for_gzip_data_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_encoding: str, checks: int
):
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint32", encoding="crackle",
        resolution=(4, 4, 40), voxel_offset=(0, 0, 0), volume_size=(128, 128, 16),
        chunk_size=(64, 64, 16),
    )  # fmt: skip
    info["scales"][0]["sharding"] = {
        "@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 0, "hash": "identity",
        "minishard_bits": 1, "shard_bits": 1, "minishard_index_encoding": "gzip",
        "data_encoding": data_encoding,
    }  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}", info=info)
    vol.commit_info()
    data = segmentation((128, 128, 16), 1, "uint32", seed=6)
    vol[:, :, :] = data
    calls = spy_slice_checks(monkeypatch)
    np.testing.assert_array_equal(np.asarray(CloudVolume(f"file://{tmp_path}")[:, :, :]), data)
    assert len(calls) == checks


def test_download_files_returns_plain_bytes_for_gzip_stored_chunks(tmp_path: Path):
    """Storage marks gzip-checked payloads with a bytes subclass; users hand
    download_files' values to libraries that refuse subclasses (compresso's binding)."""
    import compresso

    vol = make_volume(tmp_path, "compresso", "uint32", 1)  # default compress: gzip
    data = segmentation(SIZE, 1, "uint32", seed=7)
    vol[:, :, :] = data
    files = vol.download_files(vol.bounds)
    assert len(files) == 8
    for key, value in files.items():
        assert type(value) is bytes, key
    key = next(k for k in files if k.endswith("3-67_-5-59_2-10"))
    np.testing.assert_array_equal(compresso.decompress(files[key]), data[:64, :64, :8, 0])


def test_to_sharded_checks_crackle_chunks_before_gzip_would_vouch_for_them(tmp_path: Path):
    """Copying an uncompressed crackle chunk into a gzip-encoded shard would make a
    damaged stream pass gzip's CRC-32 from then on (and skip the slice check), so the
    conversion checks each copied chunk first."""
    import crackle

    data = segmentation((32, 32, 16), 1, "uint64", seed=4)
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="crackle",
        resolution=(1, 1, 1), voxel_offset=(0, 0, 0), volume_size=(32, 32, 16),
        chunk_size=(32, 32, 16),
    )  # fmt: skip
    src = CloudVolume(f"file://{tmp_path}/src", info=info, compress=False)
    src.commit_info()
    src[:, :, :] = data
    chunk = tmp_path / "src" / "1_1_1" / "0-32_0-32_0-16"
    stream = chunk.read_bytes()
    # a flipped bit in slice 5's crack code that the slice check refuses (as in
    # test_a_damaged_crack_code_is_a_decoding_error_not_a_wrong_slice)
    head = crackle.header(stream)
    z_sizes = np.frombuffer(stream, "<u4", count=16, offset=head.header_bytes)
    at = head.header_bytes + 4 * 17 + head.num_label_bytes + int(z_sizes[:5].sum())
    at += int(z_sizes[5]) // 2
    for bit in range(8):
        bad = bytearray(stream)
        bad[at] ^= 1 << bit
        chunk.write_bytes(bytes(bad))
        try:
            CloudVolume(f"file://{tmp_path}/src")[:, :, :]
        except DecodingError:
            break
    else:
        pytest.fail("no flipped bit was refused by the slice check")
    with pytest.raises(DecodingError, match="CRC32C"):
        CloudVolume(f"file://{tmp_path}/src").to_sharded(f"file://{tmp_path}/dst")
