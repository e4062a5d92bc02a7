"""png, jpeg and jxl against cloud-volume and tensorstore: single chunks through
``cloudvolume.chunks``, and whole file:// layers written by one tool and read by
another. tensorstore knows png and jpeg only.

Known peer quirks shape the oracles: cloud-volume neither writes nor reads 16-bit
png, and decodes every multi-channel image chunk (png, jpeg, jxl) wrongly while its
encoders are right, so those cases compare with the source array or tensorstore.
tensorstore writes RGB jpeg with 4:2:0 chroma subsampling at quality 75.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
import simplejpeg
from test_image_codecs import (
    FORMATS,
    MIN_PSNR,
    SHAPES,
    noise_chunk,
    psnr,
    smooth_chunk,
    to_image,
)

from cloudvol import CloudVolume, chunks

pytestmark = pytest.mark.interop

SIZE = (70, 45, 12)
OFFSET = (10, -20, 5)
CHUNK = (32, 16, 8)
KEY = "4_4_40"


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    """No developer credentials or secret files reach cloud-volume."""
    return isolated_env


def cv_chunks() -> Any:
    from cloudvolume import chunks as cloudvolume_chunks

    return cloudvolume_chunks


def sample_data(encoding: str, dtype: str, channels: int, shape=SIZE) -> np.ndarray:
    """Noise for lossless encodings (every bit counts), smooth data for lossy ones."""
    if encoding == "jpeg":
        return smooth_chunk(shape, channels)
    return noise_chunk(shape, channels, dtype, seed=channels)


def layer_info(encoding: str, dtype: str, channels: int) -> dict[str, Any]:
    """A one-scale layer; jxl is lossless (quality 100) to match :func:`sample_data`.
    The field is set directly: cloud-volume's create_new_info drops encoding_level."""
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="image", data_type=dtype, encoding=encoding,
        resolution=(4, 4, 40), voxel_offset=OFFSET, volume_size=SIZE, chunk_size=CHUNK,
    )  # fmt: skip
    if encoding == "jxl":
        info["scales"][0]["jxl_quality"] = 100
    return info


def write_cloudvol(path: Path, info: dict[str, Any], data: np.ndarray) -> None:
    vol = CloudVolume(f"file://{path}", info=info)
    vol.commit_info()
    vol[:, :, :] = data


def read_cloudvol(path: Path) -> np.ndarray:
    return np.asarray(CloudVolume(f"file://{path}")[:, :, :])


def write_cloudvolume(path: Path, info: dict[str, Any], data: np.ndarray) -> None:
    from cloudvolume import CloudVolume as PeerVolume

    vol = PeerVolume(f"file://{path}", info=info, progress=False)
    vol.commit_info()
    vol[:, :, :] = data


def read_cloudvolume(path: Path) -> np.ndarray:
    from cloudvolume import CloudVolume as PeerVolume

    return np.asarray(PeerVolume(f"file://{path}", progress=False)[:, :, :])


def open_tensorstore(path: Path, **spec: Any) -> Any:
    import tensorstore as ts

    full = {"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/", **spec}
    return ts.open(full).result()


def write_tensorstore(path: Path, encoding: str, dtype: str, channels: int, data: np.ndarray):
    store = open_tensorstore(
        path,
        create=True,
        multiscale_metadata={"type": "image", "data_type": dtype, "num_channels": channels},
        scale_metadata={
            "size": list(SIZE), "voxel_offset": list(OFFSET), "chunk_size": list(CHUNK),
            "resolution": [4, 4, 40], "encoding": encoding,
        },
    )  # fmt: skip
    store[...] = data


def read_tensorstore(path: Path) -> np.ndarray:
    return open_tensorstore(path).read(order="F").result()


def assert_lossy_close(
    actual: np.ndarray, data: np.ndarray, encoding: str, minimum: float | None = None
) -> None:
    assert actual.shape == data.shape
    assert psnr(actual, data) >= (minimum or MIN_PSNR[encoding, data.shape[3]])


# --------------------------------------------------------------------------- chunks


JPEG_JXL_OPTIONS = [
    ("jpeg", {}),
    ("jpeg", {"level": 60}),
    ("jxl", {}),
    ("jxl", {"level": 100}),
    ("jxl", {"level": 70, "jxl_effort": 3, "jxl_decodingspeed": 2}),
    # What cloud-volume's volume layer passes for a scale without jxl fields.
    ("jxl", {"level": None, "jxl_effort": None, "jxl_decodingspeed": None}),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("encoding", "options"), JPEG_JXL_OPTIONS)
def test_jpeg_and_jxl_bytes_are_identical_to_cloudvolume(
    encoding: str, options: dict[str, Any], channels: int, shape: tuple[int, int, int]
):
    array = smooth_chunk(shape, channels)
    ours = chunks.encode(array, encoding, compression_params=options)
    assert ours == cv_chunks().encode(array, encoding, compression_params=options)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_cloudvolume_chunks_read_cloudvol_chunks(encoding: str, dtype: str, channels: int):
    if dtype == "uint16":
        pytest.skip("cloud-volume cannot read 16-bit png (tensorstore covers it)")
    if channels > 1:
        pytest.skip("cloud-volume misreads multi-channel images: see the quirks test")
    array = sample_data(encoding, dtype, channels, (37, 20, 5))
    options = {"jxl_quality": 100} if encoding == "jxl" else {}
    data = chunks.encode(array, encoding, compression_params=options)
    theirs = cv_chunks().decode(data, encoding, shape=array.shape, dtype=dtype)
    np.testing.assert_array_equal(theirs, chunks.decode(data, encoding, array.shape, dtype))
    if encoding != "jpeg":
        np.testing.assert_array_equal(theirs, array)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_cloudvol_reads_cloudvolume_chunks(encoding: str, dtype: str, channels: int):
    if dtype == "uint16" and channels in (1, 3):
        pytest.skip("cloud-volume cannot write G16 or RGB16 png")
    array = sample_data(encoding, dtype, channels, (37, 20, 5))
    options = {"level": 100} if encoding == "jxl" else {}
    data = cv_chunks().encode(array, encoding, compression_params=options)
    ours = chunks.decode(data, encoding, array.shape, dtype)
    if encoding == "jpeg":
        assert_lossy_close(ours, array, encoding)
    else:  # includes 3-channel jxl: read exactly, unlike cloud-volume itself
        np.testing.assert_array_equal(ours, array)


def test_documented_cloudvolume_quirks_still_hold():
    """The evidence behind docs/encodings/image.md: if this fails, cloud-volume
    changed and the doc (and the skips above) need updating."""
    cvc = cv_chunks()
    rgb = smooth_chunk((16, 8, 4), 3)
    for encoding, options in (("png", {}), ("jpeg", {}), ("jxl", {"level": 100})):
        data = cvc.encode(rgb, encoding, compression_params=options)
        misread = cvc.decode(data, encoding, shape=rgb.shape, dtype="uint8")
        assert psnr(misread, rgb) < 25  # scrambled channels, not compression noise
        assert psnr(chunks.decode(data, encoding, rgb.shape, "uint8"), rgb) >= 40
    gray16 = noise_chunk((16, 8, 4), 1, "uint16")
    with pytest.raises(TypeError):
        cvc.encode(gray16, "png")
    png16 = chunks.encode(gray16, "png")
    with pytest.raises(ValueError):
        cvc.decode(png16, "png", shape=gray16.shape, dtype="uint16")


# --------------------------------------------------------------------------- layers


@pytest.mark.parametrize("encoding", ["png", "jpeg", "jxl"])
def test_cloudvol_layer_reads_in_cloudvolume(tmp_path: Path, encoding: str):
    # One channel: cloud-volume misreads multi-channel chunks whoever wrote them.
    data = sample_data(encoding, "uint8", 1)
    write_cloudvol(tmp_path, layer_info(encoding, "uint8", 1), data)
    theirs = read_cloudvolume(tmp_path)
    np.testing.assert_array_equal(theirs, read_cloudvol(tmp_path))
    if encoding == "png":
        np.testing.assert_array_equal(theirs, data)
    else:
        assert_lossy_close(theirs, data, encoding)


@pytest.mark.parametrize(
    ("encoding", "dtype", "channels"),
    [("png", "uint8", 1), ("png", "uint8", 2), ("png", "uint8", 3), ("jpeg", "uint8", 1),
     ("jpeg", "uint8", 3), ("jxl", "uint8", 1), ("jxl", "uint8", 3)],
)  # fmt: skip
def test_cloudvolume_layer_reads_in_cloudvol(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    data = sample_data(encoding, dtype, channels)
    write_cloudvolume(tmp_path, layer_info(encoding, dtype, channels), data)
    ours = read_cloudvol(tmp_path)
    if encoding == "jpeg":
        assert_lossy_close(ours, data, encoding)
        if channels == 1:
            np.testing.assert_array_equal(ours, read_cloudvolume(tmp_path))
    else:
        np.testing.assert_array_equal(ours, data)


TS_FORMATS = [f for f in FORMATS if f[0] != "jxl"]


@pytest.mark.parametrize(("encoding", "dtype", "channels"), TS_FORMATS)
def test_cloudvol_layer_reads_in_tensorstore(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    data = sample_data(encoding, dtype, channels)
    write_cloudvol(tmp_path, layer_info(encoding, dtype, channels), data)
    theirs = read_tensorstore(tmp_path)
    assert theirs.shape == data.shape
    if encoding == "png":
        np.testing.assert_array_equal(theirs, data)
    else:  # same decoded pixels from the same bytes
        np.testing.assert_array_equal(theirs, read_cloudvol(tmp_path))
        assert_lossy_close(theirs, data, encoding)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), TS_FORMATS)
def test_tensorstore_layer_reads_in_cloudvol(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    data = sample_data(encoding, dtype, channels)
    write_tensorstore(tmp_path, encoding, dtype, channels, data)
    ours = read_cloudvol(tmp_path)
    if encoding == "png":
        np.testing.assert_array_equal(ours, data)
    else:  # tensorstore: quality 75, and RGB with 4:2:0 chroma (34 dB measured)
        np.testing.assert_array_equal(ours, read_tensorstore(tmp_path))
        assert_lossy_close(ours, data, encoding, minimum=30.0 if channels == 3 else 42.0)


@pytest.mark.parametrize(
    ("encoding", "channels"), [("png", 1), ("png", 3), ("jpeg", 1), ("jpeg", 3)]
)
def test_old_tensorstore_layout_x_times_y_wide_reads_everywhere(
    tmp_path: Path, encoding: str, channels: int
):
    """Chunks stored as images X·Y wide and Z high (tensorstore before 2020) read the
    same in cloudvol, tensorstore and (one channel) cloud-volume."""
    info = layer_info(encoding, "uint8", channels)
    data = sample_data(encoding, "uint8", channels)
    (tmp_path / KEY).mkdir(parents=True)
    (tmp_path / "info").write_text(json.dumps(info))
    for gx in range(0, SIZE[0], CHUNK[0]):
        for gy in range(0, SIZE[1], CHUNK[1]):
            for gz in range(0, SIZE[2], CHUNK[2]):
                lo = (gx, gy, gz)
                hi = tuple(min(a + c, s) for a, c, s in zip(lo, CHUNK, SIZE, strict=True))
                block = data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
                x, y, z, _ = block.shape
                image = to_image(block, x * y, z)
                if encoding == "png":
                    stored = imagecodecs.png_encode(image if channels > 1 else image[..., 0])
                else:
                    space = "GRAY" if channels == 1 else "RGB"
                    sub = "Gray" if channels == 1 else "444"
                    stored = simplejpeg.encode_jpeg(
                        image, quality=90, colorspace=space, colorsubsampling=sub
                    )
                name = "_".join(f"{o + a}-{o + b}" for o, a, b in zip(OFFSET, lo, hi, strict=True))
                (tmp_path / KEY / name).write_bytes(stored)
    ours = read_cloudvol(tmp_path)
    np.testing.assert_array_equal(ours, read_tensorstore(tmp_path))
    if channels == 1:
        np.testing.assert_array_equal(ours, read_cloudvolume(tmp_path))
    if encoding == "png":
        np.testing.assert_array_equal(ours, data)
    else:
        assert_lossy_close(ours, data, encoding)
