"""Segmentation reads: unique labels, renumbering and masks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.exceptions import EmptyVolumeException


def seg_volume(tmp_path, **kwargs):
    info = CloudVolume.create_new_info(1, "segmentation", "uint64", "raw", (4, 4, 40), (0, 0, 0), (64, 48, 20),
                                       chunk_size=(32, 16, 8))  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/ds/seg", info=info, **kwargs)
    vol.commit_info()
    rng = np.random.default_rng(0)
    data = rng.integers(1, 40, size=(64, 48, 20), dtype=np.uint64) * np.uint64(2**33)
    vol[:, :, :] = data
    return vol, data


@pytest.mark.parametrize(
    "box",
    [
        np.s_[:, :, :],
        np.s_[3:40, 5:47, 1:19],
        np.s_[32:64, 16:32, 8:16],
        np.s_[10:11, 10:11, 10:11],
    ],
)
def test_unique_matches_numpy_on_any_box(tmp_path, box):
    vol, data = seg_volume(tmp_path)
    assert vol.unique(box) == {int(v) for v in np.unique(data[box])}


def test_unique_counts_background_for_missing_chunks_and_outside_bounds(tmp_path):
    vol, data = seg_volume(tmp_path)
    vol.delete(np.s_[0:32, 0:16, 0:8])
    with pytest.raises(EmptyVolumeException):
        vol.unique(np.s_[:, :, :])
    vol.fill_missing = True
    assert 0 in vol.unique(np.s_[0:32, 0:16, 0:8])
    vol.bounded = False
    assert vol.unique(np.s_[60:70, 40:48, 0:8]) == {0} | {
        int(v) for v in np.unique(data[60:, 40:, 0:8])
    }


def test_renumber_is_sorted_keeps_background_and_round_trips(tmp_path):
    vol, data = seg_volume(tmp_path)
    data[:5] = 0
    vol[:, :, :] = data
    img, remap = vol.download(np.s_[:, :, :], renumber=True)
    originals = sorted(remap)
    assert remap[0] == 0 and [remap[v] for v in originals[1:]] == list(range(1, len(originals)))
    assert img.dtype == np.uint16 and img.flags.f_contiguous
    inverse = {new: old for old, new in remap.items()}
    np.testing.assert_array_equal(np.vectorize(inverse.get, otypes=[np.uint64])(img[..., 0]), data)


def test_segids_mask_keeps_listed_labels(tmp_path):
    vol, data = seg_volume(tmp_path)
    keep = [int(data[0, 0, 0]), int(data[5, 5, 5])]
    out = vol.download(np.s_[:, :, :], segids=keep)
    expected = np.where(np.isin(data, keep), data, 0)
    np.testing.assert_array_equal(out[..., 0], expected)
    out = vol.download(np.s_[:, :, :], segids=keep, preserve_zeros=True)
    assert set(np.unique(out)) == set(keep) | {np.iinfo(np.uint64).max}


def test_cseg_layer_without_block_size_reads_with_default_blocks(tmp_path):
    info = CloudVolume.create_new_info(1, "segmentation", "uint32", "compressed_segmentation", (4, 4, 40),
                                       (0, 0, 0), (40, 40, 16), chunk_size=(32, 32, 16))  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/ds/cseg", info=info)
    vol.commit_info()
    data = np.random.default_rng(1).integers(0, 9, size=(40, 40, 16), dtype=np.uint32)
    vol[:, :, :] = data
    info_path = tmp_path / "ds/cseg/info"
    stored = json.loads(info_path.read_text())
    del stored["scales"][0]["compressed_segmentation_block_size"]
    info_path.write_text(json.dumps(stored))
    np.testing.assert_array_equal(CloudVolume(f"file://{tmp_path}/ds/cseg")[:, :, :][..., 0], data)


def test_layer_format_knows_which_codecs_decode_into_the_output():
    import dataclasses

    from cloudvol.codecs import get_codec
    from cloudvol.volume.options import ReadOptions
    from cloudvol.volume.read import LayerFormat
    from cloudvol.volume.segmentation import label_mask_layer

    cseg = LayerFormat(get_codec("compressed_segmentation"), np.dtype("uint64"), 1, (8, 8, 8))
    assert cseg.decodes_into
    assert not dataclasses.replace(cseg, codec=get_codec("raw")).decodes_into
    mask, _ = label_mask_layer(cseg, 5, ReadOptions())  # masks decode, then compare
    assert not mask.decodes_into
    for name in ("raw", "jpeg", "png", "compresso", "crackle", "fpzip", "zfpc"):
        assert not LayerFormat(get_codec(name), np.dtype("uint8"), 1).decodes_into, name


@pytest.mark.parametrize("sharded", [False, True])
def test_whole_cseg_chunks_decode_straight_into_the_output(tmp_path, monkeypatch, sharded):
    from cloudvol.codecs.compressed_segmentation import CompressedSegmentationCodec

    info = CloudVolume.create_new_info(1, "segmentation", "uint64", "compressed_segmentation",
                                       (4, 4, 40), (0, 0, 0), (64, 48, 20),
                                       chunk_size=(32, 16, 8))  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/seg", info=info)
    vol.commit_info()
    data = np.random.default_rng(3).integers(1, 9, size=(64, 48, 20), dtype=np.uint64)
    vol[:, :, :] = data
    if sharded:
        vol.to_sharded(f"file://{tmp_path}/sharded")
        vol = CloudVolume(f"file://{tmp_path}/sharded")
        assert vol.meta.is_sharded(0)
    calls = {"decode": 0, "decode_into": 0}
    for name in calls:
        original = getattr(CompressedSegmentationCodec, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(CompressedSegmentationCodec, name, counted)
    np.testing.assert_array_equal(vol[0:32, 16:48, 8:16][..., 0], data[0:32, 16:48, 8:16])
    assert calls == {"decode": 0, "decode_into": 2}  # whole chunks: no decode-and-copy
    np.testing.assert_array_equal(vol[3:40, 5:47, 1:19][..., 0], data[3:40, 5:47, 1:19])
    assert calls["decode"] > 0  # partial chunks are decoded, then their window copied


def test_masks_of_labels_no_voxel_can_hold_are_empty_as_in_cloudvolume(tmp_path):
    info = CloudVolume.create_new_info(1, "image", "float32", "raw", (4, 4, 40), (0, 0, 0), (16, 16, 4),
                                       chunk_size=(8, 8, 4))  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/f", info=info)
    vol.commit_info()
    data = np.zeros((16, 16, 4), np.float32)
    data[:4] = 2.0
    data[4:8] = 2.5
    vol[:, :, :] = data
    assert vol.download(np.s_[:, :, :], label=2.5).sum() == 4 * 16 * 4
    for label in (2.7, float("nan"), float("inf")):
        assert not vol.download(np.s_[:, :, :], label=label).any()
    seg, _ = seg_volume(tmp_path)
    for label in (2.5, float("nan"), -1, 2**64):  # nothing a uint64 voxel can equal
        mask = seg.download(np.s_[:, :, :], label=label)
        assert mask.dtype == bool and not mask.any()


def test_renumbering_with_a_nan_background(tmp_path):
    vol, data = seg_volume(tmp_path)
    vol.background_color = float("nan")
    img, remap = vol.download(np.s_[:, :, :], renumber=True)
    assert sorted(remap.values()) == list(range(1, len(remap) + 1))
    inverse = {new: old for old, new in remap.items()}
    np.testing.assert_array_equal(np.vectorize(inverse.get, otypes=[np.uint64])(img[..., 0]), data)
