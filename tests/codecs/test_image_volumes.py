"""Whole cloudvol volumes on file:// with the image encodings: round trips over
ragged edge chunks, the scale options, how chunks are stored, and unsupported
dtypes/channel counts failing before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_image_codecs import FORMATS, MIN_PSNR, noise_chunk, psnr, smooth_chunk

from cloudvol import CloudVolume
from cloudvol.exceptions import EncodingError, InvalidInfoError

SIZE = (100, 70, 12)  # not multiples of the chunk: edge chunks are 36×6×4 and the like
CHUNK = (64, 64, 8)
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "jxl": b"\xff\x0a"}


def make_volume(
    path: Path,
    encoding: str,
    dtype: str,
    channels: int,
    encoding_level: int | None = None,
    encoding_effort: int | None = None,
) -> CloudVolume:
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="image", data_type=dtype, encoding=encoding,
        resolution=(4, 4, 40), voxel_offset=(3, -5, 2), volume_size=SIZE, chunk_size=CHUNK,
        encoding_level=encoding_level, encoding_effort=encoding_effort,
    )  # fmt: skip
    vol = CloudVolume(f"file://{path}", info=info)
    vol.commit_info()
    return vol


def chunk_files(path: Path) -> list[Path]:
    return sorted(p for p in (path / "4_4_40").iterdir() if p.is_file())


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_volume_round_trip_with_ragged_edge_chunks(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    lossless = encoding != "jpeg"
    level = 100 if encoding == "jxl" else None
    vol = make_volume(tmp_path, encoding, dtype, channels, encoding_level=level)
    data = noise_chunk(SIZE, channels, dtype) if lossless else smooth_chunk(SIZE, channels)
    vol[:, :, :] = data
    back = np.asarray(vol[:, :, :])
    assert back.shape == (*SIZE, channels)
    assert back.dtype == np.dtype(dtype)
    if lossless:
        np.testing.assert_array_equal(back, data)
    else:
        assert psnr(back, data) >= MIN_PSNR[encoding, channels]
    # An unaligned cutout reads the same voxels as the whole volume.
    part = np.asarray(vol[10:90, 20:65, 3:11])
    np.testing.assert_array_equal(part, back[7:87, 25:70, 1:9])


@pytest.mark.parametrize("encoding", ["png", "jpeg", "jxl"])
def test_chunks_are_stored_as_plain_image_files(tmp_path: Path, encoding: str):
    vol = make_volume(tmp_path, encoding, "uint8", 1)
    vol[:, :, :] = smooth_chunk(SIZE, 1)
    files = chunk_files(tmp_path)
    assert len(files) == 2 * 2 * 2
    for f in files:
        assert not f.name.endswith(".gz")  # image encodings are not gzipped by default
        assert f.read_bytes().startswith(MAGIC[encoding])
    assert "3-67_-5-59_2-10" in {f.name for f in files}


@pytest.mark.parametrize(
    ("encoding", "field", "low", "high"),
    [("jpeg", "jpeg_quality", 40, 95), ("jxl", "jxl_quality", 40, 95), ("png", "png_level", 9, 0)],
)
def test_encoding_level_is_stored_in_the_scale_and_used(
    tmp_path: Path, encoding: str, field: str, low: int, high: int
):
    data = smooth_chunk(SIZE, 1)
    sizes = []
    for level in (low, high):
        path = tmp_path / f"{encoding}-{level}"
        vol = make_volume(path, encoding, "uint8", 1, encoding_level=level)
        assert vol.info["scales"][0][field] == level
        vol[:, :, :] = data
        sizes.append(sum(f.stat().st_size for f in chunk_files(path)))
    assert sizes[0] < sizes[1]


def test_jxl_effort_is_stored_in_the_scale_and_used(tmp_path: Path):
    data = smooth_chunk(SIZE, 1)
    stored = []
    for effort in (1, 7):
        path = tmp_path / f"effort-{effort}"
        vol = make_volume(path, "jxl", "uint8", 1, encoding_effort=effort)
        assert vol.info["scales"][0]["jxl_effort"] == effort
        vol[:, :, :] = data
        stored.append([f.read_bytes() for f in chunk_files(path)])
    assert stored[0] != stored[1]


@pytest.mark.parametrize(
    ("encoding", "dtype", "channels"),
    [
        ("jpeg", "float32", 1),
        ("jpeg", "uint16", 1),
        ("jpeg", "uint8", 2),
        ("png", "uint32", 1),
        ("png", "int8", 1),
        ("png", "uint8", 5),
        ("jxl", "uint16", 1),
        ("jxl", "uint8", 4),
    ],
)
def test_unsupported_layer_fails_before_any_chunk_is_written(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    with pytest.raises(InvalidInfoError, match=rf"scales\[0\]: {encoding} encoding cannot store"):
        make_volume(tmp_path, encoding, dtype, channels)
    assert not (tmp_path / "info").exists()
    # an info committed elsewhere (another tool) still fails before any chunk is written
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="image", data_type=dtype, encoding=encoding,
        resolution=(4, 4, 40), voxel_offset=(3, -5, 2), volume_size=SIZE, chunk_size=CHUNK,
    )  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}", info=info)  # not committed
    with pytest.raises(EncodingError, match=f"{encoding} encoding cannot store"):
        vol[:, :, :] = np.ones((*SIZE, channels), dtype=dtype)
    assert not (tmp_path / "4_4_40").exists() or chunk_files(tmp_path) == []
