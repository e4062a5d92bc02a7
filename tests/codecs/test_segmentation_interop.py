"""compressed_segmentation, compresso and crackle against cloud-volume and tensorstore:
single chunks through ``cloudvolume.chunks`` (bytes, decoding, labels, remap,
read_voxel, contains, transcode) and whole file:// layers written by one tool and
read by another. tensorstore knows compressed_segmentation only.

cloud-volume writes compressed_segmentation for one channel only (it squeezes the
channel axis) but reads any number; its crackle remap ignores
``preserve_missing_labels=False`` (cloudvol raises KeyError like the others); its
cseg remap takes only an (x, y, z) shape; and its remap of decoded encodings (raw…)
returns the chunk unchanged.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_segmentation_codecs import CSEG, FORMATS, SHAPES, segmentation

from cloudvol import CloudVolume, chunks

pytestmark = pytest.mark.interop

SIZE = (70, 45, 12)
OFFSET = (10, -20, 5)
CHUNK = (32, 16, 8)
BLOCK = (4, 8, 2)
ONE_CHANNEL = [f for f in FORMATS if f[2] == 1]


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    """No developer credentials or secret files reach cloud-volume."""
    return isolated_env


def cv_chunks() -> Any:
    from cloudvolume import chunks as cloudvolume_chunks

    return cloudvolume_chunks


def block_for(encoding: str) -> tuple[int, int, int] | None:
    return BLOCK if encoding == CSEG else None


# --------------------------------------------------------------------------- chunks


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("encoding", "dtype", "channels"), ONE_CHANNEL)
def test_bytes_are_identical_to_cloudvolume(
    encoding: str, dtype: str, channels: int, shape: tuple[int, int, int]
):
    data = segmentation(shape, channels, dtype, seed=7)
    ours = chunks.encode(data, encoding, block_size=block_for(encoding))
    theirs = cv_chunks().encode(data, encoding, block_size=block_for(encoding))
    assert ours == bytes(theirs)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_cloudvolume_decodes_cloudvol_chunks(encoding: str, dtype: str, channels: int):
    data = segmentation((37, 20, 5), channels, dtype, seed=8)
    ours = chunks.encode(data, encoding, block_size=block_for(encoding))
    back = cv_chunks().decode(ours, encoding, data.shape, dtype, block_size=block_for(encoding))
    np.testing.assert_array_equal(np.asarray(back).reshape(data.shape), data)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), ONE_CHANNEL)
def test_cloudvol_decodes_cloudvolume_chunks(encoding: str, dtype: str, channels: int):
    data = segmentation((37, 20, 5), channels, dtype, seed=9)
    theirs = bytes(cv_chunks().encode(data, encoding, block_size=block_for(encoding)))
    back = chunks.decode(theirs, encoding, data.shape, dtype, block_size=block_for(encoding))
    np.testing.assert_array_equal(back, data)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), ONE_CHANNEL)
def test_label_queries_match_cloudvolume(encoding: str, dtype: str, channels: int):
    data = segmentation((37, 20, 5), 1, dtype, seed=10)
    block = block_for(encoding)
    encoded = chunks.encode(data, encoding, block_size=block)
    args: dict[str, Any] = dict(shape=data.shape, dtype=dtype, block_size=block)
    theirs = np.asarray(cv_chunks().labels(encoded, encoding, **args))
    np.testing.assert_array_equal(chunks.labels(encoded, encoding, **args), theirs)
    for label in [*theirs[:2].tolist(), int(np.iinfo(dtype).max) - 1]:
        assert chunks.contains(encoded, label, encoding, **args) == bool(
            cv_chunks().contains(encoded, label, encoding, **args)
        )
    for xyz in [(0, 0, 0), (36, 19, 4), (5, 11, 3)]:
        ours = chunks.read_voxel(xyz, encoded, encoding, **args)
        expected = cv_chunks().read_voxel(xyz, encoded, encoding, **args)
        assert ours.shape == expected.shape == (1, 1, 1, 1)
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), ONE_CHANNEL)
def test_remap_matches_cloudvolume(encoding: str, dtype: str, channels: int):
    data = segmentation((37, 20, 5), 1, dtype, seed=11)
    block = block_for(encoding)
    encoded = chunks.encode(data, encoding, block_size=block)
    mapping = {int(v): (int(v) % 97) + 1 for v in np.unique(data)}
    args: dict[str, Any] = dict(shape=data.shape, dtype=dtype, block_size=block)
    ours = chunks.remap(encoded, encoding, mapping, **args)
    # cloud-volume's cseg remap takes only an (x, y, z) shape
    theirs = cv_chunks().remap(encoded, encoding, mapping, **{**args, "shape": data.shape[:3]})
    if encoding == CSEG:
        assert ours == bytes(theirs)  # the same table rewrite
    decoded = chunks.decode(ours, encoding, **args)
    np.testing.assert_array_equal(decoded, chunks.decode(bytes(theirs), encoding, **args))
    expected = np.vectorize(lambda v: mapping[int(v)], otypes=[dtype])(data)
    np.testing.assert_array_equal(decoded, expected)


def test_raw_chunks_answer_label_queries_by_decoding():
    data = segmentation((9, 8, 7), 1, "uint64")
    raw = chunks.encode(data, "raw")
    args: dict[str, Any] = dict(shape=data.shape, dtype="uint64")
    np.testing.assert_array_equal(
        chunks.labels(raw, "raw", **args), cv_chunks().labels(raw, "raw", **args)
    )
    label = int(data[3, 4, 5, 0])
    assert chunks.contains(raw, label, "raw", **args)
    mapping = {int(v): 1 for v in np.unique(data)}
    remapped = chunks.remap(raw, "raw", mapping, **args)
    np.testing.assert_array_equal(chunks.decode(remapped, "raw", **args), np.ones_like(data))
    # cloud-volume remaps a read-only view "in place", which leaves raw chunks as they were
    assert cv_chunks().remap(raw, "raw", mapping, **args) == raw
    np.testing.assert_array_equal(
        chunks.read_voxel((3, 4, 5), raw, "raw", **args),
        cv_chunks().read_voxel((3, 4, 5), raw, "raw", **args),
    )


@pytest.mark.parametrize(
    ("src", "dest"),
    [("raw", CSEG), (CSEG, "compresso"), ("compresso", "crackle"), ("crackle", "raw")],
)
def test_transcode_matches_cloudvolume(src: str, dest: str):
    pieces = {f"k{i}": segmentation((20, 16, 5), 1, "uint32", seed=i) for i in range(3)}
    encoded = {k: chunks.encode(v, src, block_size=(8, 8, 8)) for k, v in pieces.items()}
    args: dict[str, Any] = dict(src_chunk_size_fn=lambda _k: (20, 16, 5), dtype="uint32")
    ours = dict(chunks.transcode(encoded, src, dest, **args))
    theirs = dict(cv_chunks().transcode(dict(encoded), src, dest, **args))
    assert ours.keys() == theirs.keys() == pieces.keys()
    for key, data in pieces.items():
        assert ours[key] == bytes(theirs[key])
        np.testing.assert_array_equal(chunks.decode(ours[key], dest, data.shape, "uint32"), data)


def test_transcode_crops_and_pads_to_the_destination_shape():
    data = segmentation((20, 16, 5), 1, "uint64")
    encoded = {"a": chunks.encode(data, "compresso")}
    out = dict(
        chunks.transcode(
            encoded, "compresso", "crackle", lambda _k: (20, 16, 5), "uint64",
            background_color=9, dest_chunk_size_fn=lambda _k: (16, 20, 5),
        )
    )  # fmt: skip
    back = chunks.decode(out["a"], "crackle", (16, 20, 5, 1), "uint64")
    np.testing.assert_array_equal(back[:, :16], data[:16])
    assert np.all(back[:, 16:] == 9)


# --------------------------------------------------------------------------- layers


def layer_info(encoding: str, dtype: str, channels: int) -> dict[str, Any]:
    return CloudVolume.create_new_info(
        num_channels=channels, layer_type="segmentation", data_type=dtype, encoding=encoding,
        resolution=(4, 4, 40), voxel_offset=OFFSET, volume_size=SIZE, chunk_size=CHUNK,
        compressed_segmentation_block_size=BLOCK,
    )  # fmt: skip


def write_cloudvol(path: Path, info: dict[str, Any], data: np.ndarray, **kw: Any) -> None:
    vol = CloudVolume(f"file://{path}", info=info, **kw)
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


LAYER_FORMATS = [
    (CSEG, "uint32", 1), (CSEG, "uint64", 1), (CSEG, "uint64", 2),
    ("compresso", "uint8", 1), ("compresso", "uint64", 1),
    ("crackle", "uint16", 1), ("crackle", "uint64", 1),
]  # fmt: skip


@pytest.mark.parametrize(("encoding", "dtype", "channels"), LAYER_FORMATS)
def test_cloudvol_layer_reads_in_cloudvolume(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    data = segmentation(SIZE, channels, dtype, seed=12)
    write_cloudvol(tmp_path, layer_info(encoding, dtype, channels), data)
    assert all(p.name.endswith(".gz") for p in (tmp_path / "4_4_40").iterdir())
    np.testing.assert_array_equal(read_cloudvolume(tmp_path), data)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), [f for f in LAYER_FORMATS if f[2] == 1])
def test_cloudvolume_layer_reads_in_cloudvol(
    tmp_path: Path, encoding: str, dtype: str, channels: int
):
    data = segmentation(SIZE, channels, dtype, seed=13)
    write_cloudvolume(tmp_path, layer_info(encoding, dtype, channels), data)
    np.testing.assert_array_equal(read_cloudvol(tmp_path), data)
    # and the chunk files are byte for byte what cloudvol writes, except that
    # cloud-volume's volume writer hands crackle chunk views that are not
    # Fortran-contiguous, so its streams are flagged C order (format byte 5, bit 7,
    # and the header CRC8 at byte 28); cloudvol always writes Fortran-flagged streams.
    mine = tmp_path / "mine"
    write_cloudvol(mine, layer_info(encoding, dtype, channels), data, compress=False)
    for theirs in (tmp_path / "4_4_40").iterdir():
        ours = (mine / "4_4_40" / theirs.name.removesuffix(".gz")).read_bytes()
        peer = bytearray(gzip.decompress(theirs.read_bytes()))
        if encoding == "crackle":
            assert peer[5] & 0x80 == 0 and ours[5] & 0x80
            peer[5] |= 0x80
            peer[28] = ours[28]
        assert bytes(peer) == ours


def open_tensorstore(path: Path, **spec: Any) -> Any:
    import tensorstore as ts

    full = {"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/", **spec}
    return ts.open(full).result()


TS_FORMATS = [
    ("uint32", 1, (8, 8, 8)),
    ("uint64", 1, BLOCK),
    ("uint64", 2, (3, 5, 2)),
    ("uint32", 3, (64, 64, 64)),
]


@pytest.mark.parametrize(("dtype", "channels", "block"), TS_FORMATS)
def test_cloudvol_cseg_layer_reads_in_tensorstore(
    tmp_path: Path, dtype: str, channels: int, block: tuple[int, int, int]
):
    data = segmentation(SIZE, channels, dtype, seed=14)
    info = layer_info(CSEG, dtype, channels)
    info["scales"][0]["compressed_segmentation_block_size"] = list(block)
    write_cloudvol(tmp_path, info, data, compress=False)  # tensorstore cannot read .gz names
    theirs = open_tensorstore(tmp_path).read(order="F").result()
    np.testing.assert_array_equal(theirs, data)


@pytest.mark.parametrize(("dtype", "channels", "block"), TS_FORMATS)
def test_tensorstore_cseg_layer_reads_in_cloudvol(
    tmp_path: Path, dtype: str, channels: int, block: tuple[int, int, int]
):
    data = segmentation(SIZE, channels, dtype, seed=15)
    store = open_tensorstore(
        tmp_path,
        create=True,
        multiscale_metadata={"type": "segmentation", "data_type": dtype, "num_channels": channels},
        scale_metadata={
            "size": list(SIZE), "voxel_offset": list(OFFSET), "chunk_size": list(CHUNK),
            "resolution": [4, 4, 40], "encoding": CSEG,
            "compressed_segmentation_block_size": list(block),
        },
    )  # fmt: skip
    store[...] = data
    np.testing.assert_array_equal(read_cloudvol(tmp_path), data)
    # label tables read straight from tensorstore's chunk files
    key = json.loads((tmp_path / "info").read_text())["scales"][0]["key"]
    for path in (tmp_path / key).iterdir():
        x, y, z = ((int(a), int(b)) for a, b in re.findall(r"(-?\d+)-(-?\d+)", path.name))
        shape = (x[1] - x[0], y[1] - y[0], z[1] - z[0], channels)
        expected = data[
            x[0] - OFFSET[0] : x[1] - OFFSET[0],
            y[0] - OFFSET[1] : y[1] - OFFSET[1],
            z[0] - OFFSET[2] : z[1] - OFFSET[2],
        ]
        found = chunks.labels(path.read_bytes(), CSEG, shape, dtype, block)
        np.testing.assert_array_equal(found, np.unique(expected))


# --------------------------------------------------------------------------- label masks, renumbering


MASK_FORMATS = [("raw", "uint64", 1), *[f for f in LAYER_FORMATS if f[2] == 1]]


@pytest.mark.parametrize("sharded", [False, True], ids=["unsharded", "sharded"])
@pytest.mark.parametrize(("encoding", "dtype", "channels"), MASK_FORMATS)
def test_label_masks_and_renumbering_agree_with_cloudvolume(
    tmp_path: Path, encoding: str, dtype: str, channels: int, sharded: bool
):
    from cloudvolume import CloudVolume as PeerVolume

    data = segmentation(SIZE, channels, dtype, seed=21)
    data[data == data.max()] = 0  # some background
    path = tmp_path / "layer"
    write_cloudvol(path, layer_info(encoding, dtype, channels), data)
    if sharded:
        CloudVolume(f"file://{path}").to_sharded(f"file://{tmp_path}/sharded")
        path = tmp_path / "sharded"
    ours = CloudVolume(f"file://{path}")
    theirs = PeerVolume(f"file://{path}", progress=False)
    box = np.s_[OFFSET[0] + 3 : OFFSET[0] + 60, OFFSET[1] + 1 : OFFSET[1] + 40, OFFSET[2] :]
    cut = data[3:60, 1:40]
    for label in (int(cut[5, 5, 5, 0]), 0, int(np.iinfo(dtype).max)):
        mask = ours.download(box, label=label)
        assert mask.dtype == bool and mask.shape == cut.shape
        np.testing.assert_array_equal(mask, cut == label)
        np.testing.assert_array_equal(mask, theirs.download(box, label=label))
    img, remap = ours.download(box, renumber=True)
    peer_img, peer_remap = theirs.download(box, renumber=True)
    assert img.dtype == peer_img.dtype and remap[0] == 0
    inverse = {new: old for old, new in remap.items()}
    np.testing.assert_array_equal(np.vectorize(inverse.get, otypes=[dtype])(img), cut)
    assert set(remap) <= set(peer_remap)  # cloud-volume also maps labels outside the box


@pytest.mark.parametrize("encoding", [CSEG, "compresso", "crackle"])
def test_masks_of_absent_labels_decode_no_chunk(
    tmp_path: Path, encoding: str, monkeypatch: pytest.MonkeyPatch
):
    from cloudvol.codecs import get_codec

    data = segmentation(SIZE, 1, "uint64", seed=22)
    write_cloudvol(tmp_path, layer_info(encoding, "uint64", 1), data)
    vol = CloudVolume(f"file://{tmp_path}")
    codec_class = type(get_codec(encoding))

    def no_decoding(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("decoded a chunk")

    from cloudvol.codecs import worker_pool

    monkeypatch.setenv("CLOUDVOL_WORKER_PROCESSES", "0")  # decoding would happen here
    monkeypatch.setattr(worker_pool, "_shared", None)
    monkeypatch.setattr(codec_class, "decode", no_decoding)
    absent = int(data.max()) + 1
    mask = vol.download(np.s_[:, :, :], label=absent)
    assert mask.shape == data.shape and not mask.any()


def test_renumbering_keeps_background_in_the_map_and_out_of_the_numbers(tmp_path: Path):
    data = np.full(SIZE, 9, dtype=np.uint32)
    data[:10] = 1
    data[10:20] = 2
    write_cloudvol(tmp_path, layer_info("raw", "uint32", 1), data[..., np.newaxis])
    img, remap = CloudVolume(f"file://{tmp_path}").download(np.s_[:, :, :], renumber=True)
    assert remap == {0: 0, 1: 1, 2: 2, 9: 3}  # 0 absent but mapped, as cloud-volume does
    vol = CloudVolume(f"file://{tmp_path}", background_color=2)
    img, remap = vol.download(np.s_[:, :, :], renumber=True)
    assert remap == {2: 2, 1: 1, 9: 3}  # new numbers skip the background's value
    inverse = {new: old for old, new in remap.items()}
    np.testing.assert_array_equal(np.vectorize(inverse.get)(img[..., 0]), data)
