"""``cloudvol.chunks`` against ``cloudvolume.chunks``: the same function names and
parameter names, and decoded chunks of the same rank and values, so scripts written
for one run with the other."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cloudvol import chunks

pytestmark = pytest.mark.interop

FUNCTIONS = [
    "encode",
    "decode",
    "decode_binary_image",
    "labels",
    "remap",
    "read_voxel",
    "contains",
    "transcode",
    "encode_compressed_segmentation",
    "decode_compressed_segmentation",
]


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    return isolated_env


def cv_chunks() -> Any:
    from cloudvolume import chunks as cloudvolume_chunks

    return cloudvolume_chunks


@pytest.mark.parametrize("name", FUNCTIONS)
def test_parameters_are_named_as_in_cloudvolume(name: str) -> None:
    ours = inspect.signature(getattr(chunks, name)).parameters
    theirs = inspect.signature(getattr(cv_chunks(), name)).parameters
    assert list(ours) == list(theirs)
    # a call that leaves out a parameter of theirs works with ours (defaults may be
    # spelled differently, {} against None, and ours may have more)
    for param, theirs_param in theirs.items():
        if theirs_param.default is not inspect.Parameter.empty:
            assert ours[param].default is not inspect.Parameter.empty, param


def _chunk(encoding: str) -> tuple[np.ndarray, dict[str, Any]]:
    rng = np.random.default_rng(2)
    if encoding in ("fpzip", "kempressed", "zfpc"):
        data = rng.random((8, 6, 4, 1)).astype(np.float32)
        return data, {"compression_params": {"tolerance": 0}} if encoding == "zfpc" else {}
    if encoding in ("jpeg", "png", "jxl"):
        data = rng.integers(0, 255, (8, 6, 4, 1)).astype(np.uint8)
        return data, {"compression_params": {"level": 100}} if encoding == "jxl" else {}
    data = rng.integers(0, 4, (8, 6, 4, 1)).astype(np.uint64) * np.uint64(2**40)
    return data, {"block_size": (4, 4, 2)} if encoding == "compressed_segmentation" else {}


ENCODINGS = list(chunks.SUPPORTED_ENCODINGS)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("rank", [3, 4])
def test_decoded_chunks_have_cloudvolumes_rank_and_values(encoding: str, rank: int) -> None:
    data, options = _chunk(encoding)
    encoded = chunks.encode(data, encoding, **options)
    shape = data.shape[:rank]
    block = options.get("block_size")
    ours = chunks.decode(encoded, encoding, shape, data.dtype, block_size=block)
    if encoding == "jxl" and rank == 3:  # cloud-volume's jxl decoder needs a 4-D shape
        theirs = cv_chunks().decode(encoded, encoding, data.shape, data.dtype)[..., 0]
    else:
        theirs = cv_chunks().decode(encoded, encoding, shape, data.dtype, block_size=block)
    assert ours.shape == theirs.shape
    if encoding == "jpeg":  # lossy: both decode the same bytes with libjpeg-turbo
        np.testing.assert_allclose(ours, theirs, atol=1)
    else:
        np.testing.assert_array_equal(ours, theirs)
    empty = chunks.decode(b"", encoding, shape, data.dtype)
    assert empty.shape == cv_chunks().decode(b"", encoding, shape, data.dtype).shape


@pytest.mark.parametrize("encoding", ["compresso", "crackle", "fpzip", "kempressed"])
def test_streams_that_record_their_shape_decode_like_cloudvolume_without_one(
    encoding: str,
) -> None:
    data, options = _chunk(encoding)
    encoded = chunks.encode(data, encoding, **options)
    ours = chunks.decode(encoded, encoding)
    theirs = cv_chunks().decode(encoded, encoding)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("encoding", ["raw", "compressed_segmentation", "compresso", "crackle"])
@pytest.mark.parametrize("label", [2**41, 7, 2**64 - 1])
def test_binary_images_match_cloudvolume(encoding: str, label: int) -> None:
    data, options = _chunk(encoding)
    encoded = chunks.encode(data, encoding, **options)
    block = options.get("block_size")
    for shape in (data.shape, data.shape[:3]):
        args = (encoded, encoding, shape, data.dtype, block)
        ours = chunks.decode_binary_image(label, *args)
        theirs = cv_chunks().decode_binary_image(label, *args)
        assert ours.dtype == bool and ours.shape == np.asarray(theirs).shape
        np.testing.assert_array_equal(ours, theirs)
    assert chunks.decode_binary_image(2**41, *args).any()


def test_absent_labels_are_answered_from_the_label_table(monkeypatch) -> None:
    from cloudvol.codecs.compressed_segmentation import CompressedSegmentationCodec

    data, options = _chunk("compressed_segmentation")
    encoded = chunks.encode(data, "compressed_segmentation", **options)

    def no_decoding(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("decoded the voxels")

    monkeypatch.setattr(CompressedSegmentationCodec, "decode", no_decoding)
    mask = chunks.decode_binary_image(
        5, encoded, "compressed_segmentation", data.shape, data.dtype, options["block_size"]
    )
    assert mask.shape == data.shape and not mask.any()


@pytest.mark.parametrize("label", [2.5, float("nan"), float("inf"), -1])
def test_binary_images_of_impossible_labels_are_empty(label: float) -> None:
    data, options = _chunk("compressed_segmentation")
    encoded = chunks.encode(data, "compressed_segmentation", **options)
    args = (encoded, "compressed_segmentation", data.shape, data.dtype, options["block_size"])
    mask = chunks.decode_binary_image(label, *args)
    assert mask.shape == data.shape and not mask.any()
    np.testing.assert_array_equal(mask, cv_chunks().decode_binary_image(label, *args))
