"""Reading and writing raw volumes through the CloudVolume facade (file:// and mem://)."""

from __future__ import annotations

import pickle
import uuid

import numpy as np
import pytest

from cloudvol import Bbox, CloudVolume, VolumeCutout
from cloudvol.exceptions import (
    AlignmentError,
    DecodingError,
    EmptyVolumeException,
    OutOfBoundsError,
    ScaleUnavailableError,
)

DTYPES = [
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float32",
    "float64",
]


def make_volume(path, shape=(100, 70, 30), chunk=(32, 32, 16), offset=(0, 0, 0), dtype="uint8",
                channels=1, max_mip=0, **kwargs):  # fmt: skip
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="image", data_type=dtype, encoding="raw",
        resolution=(4, 4, 40), voxel_offset=offset, volume_size=shape, chunk_size=chunk, max_mip=max_mip,
    )  # fmt: skip
    vol = CloudVolume(path, info=info, **kwargs)
    vol.commit_info()
    return vol


def random_array(shape, dtype, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


@pytest.fixture(params=["file", "mem"])
def layer_path(request, tmp_path):
    if request.param == "file":
        return f"file://{tmp_path}/ds/layer"
    return f"mem://{uuid.uuid4().hex}/ds/layer"


@pytest.mark.parametrize("dtype", DTYPES)
def test_roundtrip_every_dtype_with_offset_and_ragged_edges(layer_path, dtype):
    rng = np.random.default_rng(1)
    vol = make_volume(layer_path, offset=(-10, 5, 3), dtype=dtype, channels=2)
    data = random_array((100, 70, 30, 2), dtype, rng)
    vol[:, :, :] = data
    again = CloudVolume(layer_path)
    assert again.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(again[:, :, :]), data)
    np.testing.assert_array_equal(np.asarray(again[-5:50, 20:69, 10:33]), data[5:60, 15:64, 7:30])


def test_cutout_is_fortran_volume_cutout_with_metadata(layer_path):
    vol = make_volume(layer_path)
    vol[:, :, :] = 7
    cut = vol[0:10, 0:10, 0:5]
    assert isinstance(cut, VolumeCutout)
    assert cut.flags.f_contiguous and cut.shape == (10, 10, 5, 1)
    assert cut.mip == 0 and cut.layer_type == "image"
    assert cut.dataset_name == "ds" and cut.layer == "layer"
    assert cut.bounds == Bbox((0, 0, 0), (10, 10, 5))


def test_integer_index_keeps_axes_and_single_voxel_is_plain_array(layer_path):
    vol = make_volume(layer_path)
    data = random_array((100, 70, 30), "uint8", np.random.default_rng(2))
    vol[:, :, :] = data
    one = vol[5, 6, 7]
    assert type(one) is np.ndarray and one.shape == (1, 1, 1, 1)
    assert one[0, 0, 0, 0] == data[5, 6, 7]
    assert vol[5, :, 7].shape == (1, 70, 1, 1)


def test_steps_subsample_after_download(layer_path):
    vol = make_volume(layer_path)
    data = random_array((100, 70, 30), "uint8", np.random.default_rng(3))
    vol[:, :, :] = data
    np.testing.assert_array_equal(vol[0:100:3, 1:70:2, ::5][..., 0], data[0:100:3, 1:70:2, ::5])


def test_negative_numbers_are_coordinates_not_wraparound(layer_path):
    vol = make_volume(layer_path, offset=(-64, 0, 0), shape=(128, 32, 16), chunk=(32, 32, 16))
    data = random_array((128, 32, 16), "uint8", np.random.default_rng(4))
    vol[:, :, :] = data
    np.testing.assert_array_equal(vol[-64:0, :, :][..., 0], data[0:64])


def test_out_of_bounds_read_raises_when_bounded(layer_path):
    vol = make_volume(layer_path)
    with pytest.raises(OutOfBoundsError):
        vol[90:110, 0:10, 0:10]
    with pytest.raises(ValueError):  # CloudVolume users catch ValueError
        vol[-1:10, 0:10, 0:10]


def test_unbounded_read_fills_outside_with_background(layer_path):
    vol = make_volume(layer_path, bounded=False, background_color=3)
    vol[:, :, :] = 9
    cut = vol[90:110, -5:5, 0:4]
    assert cut.shape == (20, 10, 4, 1)
    assert np.all(cut[:10, 5:] == 9) and np.all(cut[10:] == 3) and np.all(cut[:, :5] == 3)


def test_autocrop_clips_request_to_bounds(layer_path):
    vol = make_volume(layer_path, bounded=False, autocrop=True)
    vol[:, :, :] = 1
    assert vol[-25:25, 0:10, 0:10].shape == (25, 10, 10, 1)


def test_missing_chunk_raises_unless_fill_missing(layer_path):
    vol = make_volume(layer_path, background_color=0)
    with pytest.raises(EmptyVolumeException, match="0-32_0-32_0-16"):
        vol[0:10, 0:10, 0:10]
    vol.fill_missing = True
    vol.background_color = 5
    assert np.all(vol[0:40, 0:40, 0:10] == 5)


def test_chunk_files_are_named_like_cloudvolume(tmp_path):
    vol = make_volume(
        f"file://{tmp_path}/ds/layer", offset=(20, 0, -5), shape=(100, 70, 10), chunk=(64, 64, 64)
    )
    vol[:, :, :] = 1
    names = sorted(p.name for p in (tmp_path / "ds/layer/4_4_40").iterdir())
    assert names == [
        "20-84_0-64_-5-5.gz", "20-84_64-70_-5-5.gz", "84-120_0-64_-5-5.gz", "84-120_64-70_-5-5.gz",
    ]  # fmt: skip


def test_compress_false_writes_plain_files_and_br_writes_br(tmp_path):
    plain = make_volume(f"file://{tmp_path}/a/layer", compress=False)
    plain[:, :, :] = 1
    brotli = make_volume(f"file://{tmp_path}/b/layer", compress="br")
    brotli[:, :, :] = 1
    assert {p.suffix for p in (tmp_path / "a/layer/4_4_40").iterdir()} == {""}
    assert {p.suffix for p in (tmp_path / "b/layer/4_4_40").iterdir()} == {".br"}
    assert np.all(CloudVolume(f"file://{tmp_path}/b/layer")[:, :, :] == 1)


def test_unaligned_write_is_refused_and_stores_nothing(layer_path):
    vol = make_volume(layer_path)
    with pytest.raises(AlignmentError, match="nearest aligned box"):
        vol[1:33, 0:32, 0:16] = np.ones((32, 32, 16), dtype=np.uint8)
    assert not any(vol.exists(np.s_[:, :, :]).values())


def test_unaligned_write_preserves_neighbours(layer_path):
    vol = make_volume(layer_path)
    base = random_array((100, 70, 30), "uint8", np.random.default_rng(5))
    vol[:, :, :] = base
    vol.non_aligned_writes = True
    patch = np.full((13, 40, 5), 255, dtype=np.uint8)
    vol[30:43, 10:50, 14:19] = patch
    expected = base.copy()
    expected[30:43, 10:50, 14:19] = 255
    np.testing.assert_array_equal(vol[:, :, :][..., 0], expected)


def test_unaligned_write_into_empty_volume_needs_fill_missing(layer_path):
    vol = make_volume(layer_path, non_aligned_writes=True)
    with pytest.raises(EmptyVolumeException):
        vol[1:5, 1:5, 1:5] = 1
    vol.fill_missing = True
    vol.background_color = 2
    vol[1:5, 1:5, 1:5] = 1
    cut = vol[0:32, 0:32, 0:16][..., 0]
    assert np.all(cut[1:5, 1:5, 1:5] == 1) and cut.sum() == 64 * 1 + (32 * 32 * 16 - 64) * 2


def test_overwrite_partial_chunks_needs_non_aligned_writes(layer_path):
    with pytest.raises(ValueError, match="non_aligned_writes"):
        make_volume(layer_path, overwrite_partial_chunks=True)


def test_overwrite_partial_chunks_fills_background_without_reading(layer_path):
    vol = make_volume(layer_path)
    vol[:, :, :] = 9
    vol.non_aligned_writes = True
    vol.overwrite_partial_chunks = True
    vol[2:4, 2:4, 2:4] = 1
    cut = vol[0:32, 0:32, 0:16][..., 0]
    assert cut[2, 2, 2] == 1 and cut[0, 0, 0] == 0 and vol[40, 40, 0][0, 0, 0, 0] == 9


def test_delete_black_uploads_removes_background_chunks(tmp_path):
    vol = make_volume(f"file://{tmp_path}/ds/layer", delete_black_uploads=True, background_color=0)
    vol[:, :, :] = 1
    data = np.zeros((100, 70, 30), dtype=np.uint8)
    data[0:32, 0:32, 0:16] = 4
    vol[:, :, :] = data
    files = list((tmp_path / "ds/layer/4_4_40").iterdir())
    assert [f.name for f in files] == ["0-32_0-32_0-16.gz"]


def test_scalar_write_broadcasts(layer_path):
    vol = make_volume(layer_path)
    vol[:, :, :] = 42
    assert np.all(vol[:, :, :] == 42)


def test_dtype_mismatch_raises_value_error_before_storing(layer_path):
    vol = make_volume(layer_path)
    with pytest.raises(ValueError, match="uint16"):
        vol[:, :, :] = np.zeros((100, 70, 30), dtype=np.uint16)
    assert not any(vol.exists(np.s_[:, :, :]).values())


def test_shape_mismatch_raises_alignment_error(layer_path):
    vol = make_volume(layer_path)
    with pytest.raises(AlignmentError, match="does not match"):
        vol[0:32, 0:32, 0:16] = np.zeros((32, 32, 15), dtype=np.uint8)


def test_truncated_chunk_raises_decoding_error_naming_the_key(tmp_path):
    vol = make_volume(f"file://{tmp_path}/ds/layer", compress=False)
    vol[:, :, :] = 1
    chunk = tmp_path / "ds/layer/4_4_40/32-64_0-32_0-16"
    chunk.write_bytes(chunk.read_bytes()[:-7])
    with pytest.raises(DecodingError, match="32-64_0-32_0-16"):
        vol[:, :, :]
    vol.fill_missing = True  # corrupt data is never silently zero
    with pytest.raises(DecodingError):
        vol[:, :, :]


def test_corrupt_gzip_chunk_raises_decoding_error(tmp_path):
    vol = make_volume(f"file://{tmp_path}/ds/layer")
    vol[:, :, :] = 1
    chunk = tmp_path / "ds/layer/4_4_40/0-32_0-32_0-16.gz"
    chunk.write_bytes(chunk.read_bytes()[:20])
    with pytest.raises(DecodingError, match="0-32_0-32_0-16"):
        vol[0:10, 0:10, 0:10]


def test_exists_and_delete(layer_path):
    vol = make_volume(layer_path)
    vol[:, :, :] = 1
    assert all(vol.exists(np.s_[0:64, 0:64, 0:16]).values())
    vol.delete(np.s_[0:32, 0:32, 0:16])
    status = vol.exists(np.s_[0:64, 0:32, 0:16])
    assert status == {"4_4_40/0-32_0-32_0-16": False, "4_4_40/32-64_0-32_0-16": True}
    with pytest.raises(AlignmentError):
        vol.delete(np.s_[1:32, 0:32, 0:16])
    assert vol.image.has_data(0)


def test_mips_by_index_and_resolution(layer_path):
    vol = make_volume(layer_path, max_mip=2)
    assert list(vol.available_mips) == [0, 1, 2]
    vol.mip = [16, 16, 40]
    assert vol.mip == 2 and vol.shape[:3] == (25, 18, 30)
    vol.mip = -1
    assert vol.mip == 2
    with pytest.raises(ScaleUnavailableError):
        vol.mip = 3
    with pytest.raises(IndexError):
        vol.mip = [3, 3, 3]
    data = random_array(vol.shape, "uint8", np.random.default_rng(6))
    vol[:, :, :] = data
    np.testing.assert_array_equal(CloudVolume(layer_path, mip=2)[:, :, :], data)


def test_properties_follow_cloudvolume_types(layer_path):
    vol = make_volume(layer_path, offset=(1, 2, 3))
    assert isinstance(vol.shape, tuple) and vol.shape == (100, 70, 30, 1)
    assert vol.dtype == np.dtype("uint8") and vol.data_type == "uint8"
    assert tuple(vol.voxel_offset) == (1, 2, 3) and tuple(vol.resolution) == (4, 4, 40)
    assert vol.bounds == Bbox((1, 2, 3), (101, 72, 33))
    assert vol.key == "4_4_40" and vol.encoding == "raw" and vol.num_channels == 1
    assert tuple(vol.chunk_size) == (32, 32, 16) and vol.layer_type == "image"
    assert vol.ndim == 4 and isinstance(vol.available_mips, range)


def test_volume_pickles(layer_path):
    vol = make_volume(layer_path, fill_missing=True)
    vol[:, :, :] = 3
    clone = pickle.loads(pickle.dumps(vol))
    assert clone.fill_missing and np.all(clone[0:5, 0:5, 0:5] == 3)


def test_label_renumber_and_segids(layer_path):
    info = CloudVolume.create_new_info(1, "segmentation", "uint64", "raw", (4, 4, 40), (0, 0, 0), (32, 32, 16),
                                       chunk_size=(32, 32, 16))  # fmt: skip
    vol = CloudVolume(layer_path, info=info)
    vol.commit_info()
    data = np.zeros((32, 32, 16), dtype=np.uint64)
    data[:10] = 2**40
    data[10:20] = 7
    vol[:, :, :] = data
    mask = vol.download(np.s_[:, :, :], label=7)
    assert mask.dtype == bool and mask.sum() == 10 * 32 * 16
    img, remap = vol.download(np.s_[:, :, :], renumber=True)
    assert img.dtype == np.uint16 and remap == {0: 0, 7: 1, 2**40: 2}
    np.testing.assert_array_equal(img[..., 0], np.vectorize(remap.get)(data))
    kept = vol.download(np.s_[:, :, :], segids=[7])
    assert set(np.unique(kept)) == {0, 7}
    assert vol.unique(np.s_[:, :, :]) == {0, 7, 2**40}


def test_point_indexing_and_scattered_points(layer_path):
    vol = make_volume(layer_path)
    data = random_array((100, 70, 30), "uint8", np.random.default_rng(7))
    vol[:, :, :] = data
    xs, ys, zs = [1, 50, 99], [2, 40, 69], [0, 15, 29]
    np.testing.assert_array_equal(vol[xs, ys, zs], data[xs, ys, zs])
    assert vol.scattered_points([[50, 40, 15]]) == {(50, 40, 15): data[50, 40, 15]}


def test_physical_bbox_is_converted_to_voxels(layer_path):
    vol = make_volume(layer_path)
    data = random_array((100, 70, 30), "uint8", np.random.default_rng(8))
    vol[:, :, :] = data
    phys = Bbox((40, 40, 400), (80, 120, 800), unit="nm")
    np.testing.assert_array_equal(vol[phys][..., 0], data[10:20, 10:30, 10:20])


def test_from_numpy_creates_and_fills_a_layer(tmp_path):
    arr = random_array((40, 30, 20), "uint8", np.random.default_rng(9))
    vol = CloudVolume.from_numpy(arr, vol_path=f"file://{tmp_path}/ds/np", chunk_size=(16, 16, 16))
    again = CloudVolume(f"file://{tmp_path}/ds/np")
    np.testing.assert_array_equal(again[:, :, :][..., 0], arr)
    assert again.provenance.processing[0]["method"] == "from_numpy"
    assert vol.layer_type == "image"


def test_progress_bars_count_chunks(layer_path, capsys):
    vol = make_volume(layer_path, progress=True)
    vol[:, :, :] = 1
    vol[:, :, :]
    err = capsys.readouterr().err
    assert "Uploading" in err and "Downloading" in err and "24/24" in err


def test_point_reads_at_a_coarser_mip_use_mip0_coordinates(layer_path):
    vol = make_volume(layer_path, max_mip=1)
    vol.mip = 1
    data = random_array(vol.shape[:3], "uint8", np.random.default_rng(10))
    vol[:, :, :] = data
    xs, ys, zs = [3, 51, 99], [1, 40, 69], [0, 15, 29]  # mip 0; mip 1 halves x and y
    np.testing.assert_array_equal(vol[xs, ys, zs], data[[1, 25, 49], [0, 20, 34], zs])
    assert vol.scattered_points([[51, 40, 15]]) == {(25, 20, 15): data[25, 20, 15]}
    cutout = vol.download_point((50, 40, 15), size=4)
    np.testing.assert_array_equal(cutout[..., 0], data[23:27, 18:22, 13:17])
