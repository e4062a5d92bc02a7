"""The segmentation encodings (compressed_segmentation, compresso, crackle) one chunk
at a time: round trips, the cseg wire layout, label access without decoding,
corrupt input and unsupported data, and hypothesis properties.

The data helpers here are shared by the other ``test_segmentation_*`` modules.
"""

from __future__ import annotations

import gzip
from typing import Any

import compresso
import crackle
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudvol import chunks
from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.codecs.labels import (
    DecodeIntoCodec,
    LabelCodec,
    RemapCodec,
    SelfDescribingCodec,
    VoxelCodec,
)
from cloudvol.exceptions import DecodingError, EncodingError

CSEG = "compressed_segmentation"
ENCODINGS = (CSEG, "compresso", "crackle")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
# Every (encoding, dtype, channels) the segmentation encodings store.
FORMATS = [
    *[(CSEG, dt, c) for dt in ("uint32", "uint64") for c in (1, 2, 3)],
    *[(enc, dt, 1) for enc in ("compresso", "crackle") for dt in UNSIGNED],
]
# Full, ragged-edge, single-voxel and tiny chunks.
SHAPES = [(64, 64, 64), (37, 20, 5), (1, 1, 1), (3, 5, 2)]
# The §3.3 worked example: uint32 [2,2,1], block [2,2,1], values x-fastest 5,7,5,5.
CSEG_EXAMPLE = bytes.fromhex("010000000300000102000000020000000500000007000000")


def segmentation(
    shape: tuple[int, int, int], channels: int = 1, dtype: str = "uint64", seed: int = 0
) -> np.ndarray:
    """Fortran-ordered labels that look like a segmentation: regions of a few voxels
    to tens of voxels (a coarse random grid, nearest-upsampled with jittered cell
    edges), each a random label spanning the dtype, with some background 0."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    axes = [np.sort(rng.integers(0, max(n // 6, 1) + 1, n)) for n in shape]
    cells = [a.max() + 1 for a in axes]
    ids = rng.integers(1, top, size=(*cells, channels), dtype=np.uint64, endpoint=True)
    ids[rng.random(ids.shape) < 0.15] = 0
    grid = ids[np.ix_(*axes, np.arange(channels))]
    return np.asfortranarray(grid.astype(dtype))


def spec_for(
    data: np.ndarray, block: tuple[int, int, int] | None = None, key: str = "seg/0-1"
) -> ChunkSpec:
    x, y, z, c = data.shape
    return ChunkSpec((x, y, z, c), data.dtype, block, key=key)


def block_for(encoding: str) -> tuple[int, int, int] | None:
    return (8, 8, 8) if encoding == CSEG else None


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_round_trip_through_chunks_encode_decode(
    encoding: str, dtype: str, channels: int, shape: tuple[int, int, int]
):
    data = segmentation(shape, channels, dtype, seed=sum(shape))
    encoded = chunks.encode(data, encoding, block_size=block_for(encoding))
    back = chunks.decode(
        encoded, encoding, (*shape, channels), dtype, block_size=block_for(encoding)
    )
    assert back.shape == (*shape, channels)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, data)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("layout", ["fortran", "c", "strided", "readonly"])
def test_any_memory_layout_encodes_to_the_same_bytes(encoding: str, layout: str):
    data = segmentation((37, 20, 5), 1, "uint32", seed=3)
    spec = spec_for(data, block_for(encoding))
    codec: Any = get_codec(encoding)
    expected = bytes(codec.encode(data, spec))
    if layout == "c":
        arr = np.ascontiguousarray(data)
    elif layout == "strided":
        big = np.zeros((40, 25, 9, 1), dtype=data.dtype, order="F")
        big[1:38, 2:22, 3:8] = data
        arr = big[1:38, 2:22, 3:8]
    elif layout == "readonly":
        arr = data.copy(order="F")
        arr.flags.writeable = False
    else:
        arr = data
    assert bytes(codec.encode(arr, spec)) == expected
    np.testing.assert_array_equal(codec.decode(memoryview(expected), spec), data)


def test_chunks_accepts_three_dimensional_arrays_and_shapes():
    data = segmentation((10, 9, 8), 1, "uint64")
    for encoding in ENCODINGS:
        encoded = chunks.encode(data[..., 0], encoding)
        assert encoded == chunks.encode(data, encoding)
        # the result has the rank of the shape asked for, as in CloudVolume
        flat = chunks.decode(encoded, encoding, (10, 9, 8), "uint64")
        assert flat.shape == (10, 9, 8)
        np.testing.assert_array_equal(flat, data[..., 0])
        np.testing.assert_array_equal(chunks.decode(encoded, encoding, data.shape, "uint64"), data)


@pytest.mark.parametrize("encoding", ["compresso", "crackle"])
def test_self_describing_streams_decode_without_shape_or_dtype(encoding: str):
    data = segmentation((21, 13, 6), 1, "uint16")
    encoded = chunks.encode(data, encoding)
    codec: Any = get_codec(encoding)
    assert isinstance(codec, SelfDescribingCodec)
    assert codec.describe(encoded) == ((21, 13, 6, 1), np.dtype("uint16"))
    back = chunks.decode(encoded, encoding)
    assert back.dtype == np.dtype("uint16")
    np.testing.assert_array_equal(back, data[..., 0])  # 3-D, as CloudVolume returns it


def test_shape_is_required_for_compressed_segmentation():
    with pytest.raises(ValueError, match="shape and dtype"):
        chunks.decode(b"\x01\x00\x00\x00", CSEG, dtype="uint32")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_empty_data_decodes_to_background(encoding: str):
    out = chunks.decode(b"", encoding, (4, 3, 2), "uint32", background_color=7)
    assert out.shape == (4, 3, 2)
    assert np.all(out == 7)
    assert chunks.decode(None, encoding, (4, 3, 2, 1), "uint32").shape == (4, 3, 2, 1)


# --------------------------------------------------------------------------- compressed_segmentation layout


def test_cseg_worked_example_decodes_and_encodes_byte_exactly():
    spec = ChunkSpec((2, 2, 1, 1), np.dtype("uint32"), (2, 2, 1))
    data = np.array([5, 7, 5, 5], dtype=np.uint32).reshape((2, 2, 1, 1), order="F")
    codec: Any = get_codec(CSEG)
    np.testing.assert_array_equal(codec.decode(CSEG_EXAMPLE, spec), data)
    assert codec.encode(data, spec) == CSEG_EXAMPLE


@pytest.mark.parametrize("dtype", ["uint32", "uint64"])
def test_cseg_channels_are_packed_after_an_offset_table(dtype: str):
    data = segmentation((19, 11, 7), 3, dtype, seed=5)
    block = (4, 4, 4)
    wrapped = chunks.encode(data, CSEG, block_size=block)
    singles = [chunks.encode(data[..., c], CSEG, block_size=block) for c in range(3)]
    words = np.frombuffer(wrapped, dtype="<u4")
    lengths = [len(s) // 4 - 1 for s in singles]  # each single file starts with its word 1
    assert words[:3].tolist() == [3, 3 + lengths[0], 3 + lengths[0] + lengths[1]]
    assert wrapped[12:] == b"".join(s[4:] for s in singles)
    assert all(s[:4] == b"\x01\x00\x00\x00" for s in singles)


@pytest.mark.parametrize(
    "block", [(1, 1, 1), (2, 3, 5), (8, 8, 8), (16, 16, 1), (64, 64, 64), (40, 1, 7)]
)
def test_cseg_any_block_size_round_trips(block: tuple[int, int, int]):
    data = segmentation((37, 20, 5), 2, "uint64", seed=block[0])
    spec = spec_for(data, block)
    codec: Any = get_codec(CSEG)
    encoded = codec.encode(data, spec)
    np.testing.assert_array_equal(codec.decode(encoded, spec), data)
    # the block headers fill the grid of ceil(shape / block) blocks
    grid = [-(-s // b) for s, b in zip((37, 20, 5), block, strict=True)]
    offsets = np.frombuffer(encoded, dtype="<u4")[:2]
    assert offsets[1] - offsets[0] >= 2 * int(np.prod(grid))


def test_cseg_missing_block_size_means_cloudvolumes_default():
    data = segmentation((20, 20, 20), 1, "uint32")
    assert chunks.encode(data, CSEG) == chunks.encode(data, CSEG, block_size=(8, 8, 8))
    assert chunks.encode(data, CSEG) == chunks.encode_compressed_segmentation(data, (8, 8, 8))
    np.testing.assert_array_equal(
        chunks.decode_compressed_segmentation(
            chunks.encode(data, CSEG), (20, 20, 20), "uint32", (8, 8, 8)
        ),
        data[..., 0],
    )


def test_cseg_blocks_with_32_bit_indices_encode_and_decode():
    # One 300×300 block holding 90000 distinct labels needs 32-bit indices, which the
    # library can neither write (it never stops widening) nor read (its mask is 0).
    data = (np.arange(300 * 300, dtype=np.uint64).reshape((300, 300, 1, 1), order="F") * 7) + 3
    spec = spec_for(data, (300, 300, 1))
    codec: Any = get_codec(CSEG)
    encoded = codec.encode(data, spec)
    assert np.frombuffer(encoded, dtype="<u4")[1] >> 24 == 32
    np.testing.assert_array_equal(codec.decode(encoded, spec), data)
    np.testing.assert_array_equal(codec.labels(encoded, spec), np.unique(data))
    assert codec.read_voxel(encoded, spec, (299, 123, 0))[0] == data[299, 123, 0, 0]


def test_cseg_hand_written_32_bit_block_decodes():
    # 2×2×1 block, 32-bit indices 0,1,1,0 into the table [10, 20]
    words = np.array([1, 6 | 32 << 24, 2, 0, 1, 1, 0, 10, 20], dtype="<u4")
    spec = ChunkSpec((2, 2, 1, 1), np.dtype("uint32"), (2, 2, 1))
    out = get_codec(CSEG).decode(words.tobytes(), spec)
    assert out.ravel(order="F").tolist() == [10, 20, 20, 10]


def test_cseg_ctypes_and_binding_decoders_agree(monkeypatch: pytest.MonkeyPatch):
    import cloudvol.codecs.compressed_segmentation as cseg_module

    assert cseg_module._native_decoder() is not None  # the fast path is in use here
    data = segmentation((37, 20, 5), 2, "uint64", seed=9)
    spec = spec_for(data, (4, 8, 2))
    encoded = get_codec(CSEG).encode(data, spec)
    native = get_codec(CSEG).decode(encoded, spec)
    monkeypatch.setattr(cseg_module, "_native_decoder", lambda: None)
    binding = get_codec(CSEG).decode(encoded, spec)
    np.testing.assert_array_equal(native, data)
    np.testing.assert_array_equal(binding, data)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 24), st.integers(1, 24), st.integers(1, 12)),
    block=st.sampled_from([(8, 8, 8), (4, 8, 2), (1, 1, 1), (16, 16, 1)]),
    dtype=st.sampled_from(["uint32", "uint64"]),
    labels=st.integers(1, 300),
    layout=st.sampled_from(["F", "C", "strided", "reversed"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_cseg_ctypes_encoder_writes_the_binding_bytes(shape, block, dtype, labels, layout, seed):
    import compressed_segmentation

    import cloudvol.codecs.compressed_segmentation as cseg_module

    native = cseg_module._native_encoder()
    assert native is not None  # the GIL-free path is in use here
    rng = np.random.default_rng(seed)
    channel = rng.integers(0, labels, shape).astype(dtype) * np.array(2**31 + 7, dtype=dtype)
    expected = bytes(compressed_segmentation.compress(np.asfortranarray(channel), block, order="F"))
    if layout == "C":
        channel = np.ascontiguousarray(channel)
    elif layout == "strided":
        wide = np.zeros((shape[0] * 2, shape[1], shape[2]), dtype=dtype, order="F")
        wide[::2] = channel
        channel = wide[::2]
    elif layout == "reversed":  # negative strides go to the binding through a copy
        channel = np.asfortranarray(channel[::-1])[::-1]
    assert cseg_module._compress_channel(channel, block) == expected


# --------------------------------------------------------------------------- compresso / crackle settings


def test_compresso_writes_the_library_defaults():
    data = segmentation((37, 20, 5), 1, "uint32")
    encoded = chunks.encode(data, "compresso")
    assert encoded == bytes(compresso.compress(data[..., 0]))
    head = compresso.header(encoded)
    assert (head["format_version"], head["xstep"], head["ystep"], head["zstep"]) == (1, 4, 4, 1)
    assert head["connectivity"] == 4


def test_crackle_writes_fortran_ordered_flat_streams():
    data = segmentation((37, 20, 5), 1, "uint64")
    encoded = chunks.encode(np.ascontiguousarray(data), "crackle")
    assert encoded == bytes(crackle.compress(data[..., 0]))
    head = crackle.header(encoded)
    assert head.fortran_order and head.format_version == 1 and head.markov_model_order == 0


@pytest.mark.parametrize(
    "options",
    [{"markov_model_order": 4}, {"allow_pins": 1}, {"allow_pins": 2}],
)
def test_crackle_reads_other_crackle_settings(options: dict[str, Any]):
    data = segmentation((30, 20, 10), 1, "uint32", seed=4)
    encoded = crackle.compress(data[..., 0], **options)
    spec = spec_for(data)
    codec: Any = get_codec("crackle")
    np.testing.assert_array_equal(codec.decode(encoded, spec), data)
    np.testing.assert_array_equal(codec.labels(encoded, spec), np.unique(data))


@pytest.mark.parametrize(
    "options",
    [
        {"steps": (8, 8, 1)},
        {"connectivity": 6},
        {"random_access_z_index": False},
        {"steps": (2, 2, 2)},
    ],
)
def test_compresso_reads_other_compresso_settings(options: dict[str, Any]):
    data = segmentation((30, 20, 10), 1, "uint64", seed=6)
    encoded = compresso.compress(data[..., 0], **options)
    spec = spec_for(data)
    codec: Any = get_codec("compresso")
    np.testing.assert_array_equal(codec.decode(encoded, spec), data)
    # The binding's own labels() misreads 2×2×2 windows; ours must not.
    np.testing.assert_array_equal(codec.labels(encoded, spec), np.unique(data))
    remapped = codec.remap(encoded, spec, {int(v): int(v) // 2 + 1 for v in np.unique(data)})
    np.testing.assert_array_equal(codec.decode(remapped, spec), data // 2 + 1)


@pytest.mark.parametrize("encoding", ["compresso", "crackle"])
def test_narrower_streams_widen_to_the_layer_dtype(encoding: str):
    data = segmentation((9, 8, 7), 1, "uint16")
    encoded = chunks.encode(data, encoding)
    wide = chunks.decode(encoded, encoding, (9, 8, 7, 1), "uint64")
    assert wide.dtype == np.dtype("uint64")
    np.testing.assert_array_equal(wide, data)
    with pytest.raises(DecodingError, match="too wide"):
        chunks.decode(chunks.encode(data.astype("uint64"), encoding), encoding, (9, 8, 7), "uint16")


# --------------------------------------------------------------------------- labels without decoding


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_label_methods_agree_with_the_decoded_chunk(encoding: str, dtype: str, channels: int):
    data = segmentation((37, 20, 5), channels, dtype, seed=11)
    spec = spec_for(data, block_for(encoding))
    codec: Any = get_codec(encoding)
    for protocol in (LabelCodec, RemapCodec, VoxelCodec):
        assert isinstance(get_codec(encoding), protocol)
    encoded = codec.encode(data, spec)
    found = codec.labels(encoded, spec)
    assert found.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(found, np.unique(data))
    for label in found[:3]:
        assert codec.contains(encoded, spec, int(label))
    absent = int(np.setdiff1d(np.arange(found.size + 1, dtype=dtype), found)[0])
    assert not codec.contains(encoded, spec, absent)
    assert not codec.contains(encoded, spec, -1)
    assert not codec.contains(encoded, spec, 1 << 70)
    for xyz in [(0, 0, 0), (36, 19, 4), (17, 3, 2)]:
        np.testing.assert_array_equal(codec.read_voxel(encoded, spec, xyz), data[xyz])
    with pytest.raises(IndexError):
        codec.read_voxel(encoded, spec, (37, 0, 0))


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_remap_rewrites_the_label_table(encoding: str, dtype: str, channels: int):
    data = segmentation((37, 20, 5), channels, dtype, seed=12)
    spec = spec_for(data, block_for(encoding))
    codec: Any = get_codec(encoding)
    encoded = codec.encode(data, spec)
    uniq = np.unique(data)
    mapping = {int(v): (int(v) * 3 + 1) % 200 for v in uniq}
    expected = np.vectorize(lambda v: mapping[int(v)], otypes=[dtype])(data)
    np.testing.assert_array_equal(codec.decode(codec.remap(encoded, spec, mapping), spec), expected)
    partial = {int(uniq[-1]): 5}
    with pytest.raises(KeyError):
        codec.remap(encoded, spec, partial)
    kept = codec.decode(codec.remap(encoded, spec, partial, preserve_missing_labels=True), spec)
    np.testing.assert_array_equal(kept, np.where(data == uniq[-1], 5, data).astype(dtype))


def test_remap_refuses_labels_the_layer_cannot_hold():
    data = segmentation((9, 8, 7), 1, "uint32")
    encoded = chunks.encode(data, CSEG)
    mapping = {int(v): 1 << 40 for v in np.unique(data)}
    with pytest.raises(ValueError, match="outside uint32"):
        get_codec(CSEG).remap(encoded, spec_for(data, (8, 8, 8)), mapping)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("encoding", "dtype", "channels"),
    [(CSEG, "uint8", 1), (CSEG, "int64", 1), (CSEG, "float32", 1),
     ("compresso", "int32", 1), ("compresso", "float32", 1), ("compresso", "uint64", 2),
     ("crackle", "int16", 1), ("crackle", "float64", 1), ("crackle", "uint8", 3)],
)  # fmt: skip
def test_unsupported_data_raises_encoding_error_naming_it(encoding: str, dtype: str, channels: int):
    codec: Any = get_codec(encoding)
    with pytest.raises(EncodingError) as err:
        codec.check(np.dtype(dtype), channels)
    message = str(err.value)
    assert encoding in message
    assert (dtype in message) if channels == 1 else (f"{channels} channels" in message)
    with pytest.raises(EncodingError):
        chunks.encode(np.zeros((4, 4, 4, channels), dtype=dtype), encoding)


def test_compresso_refuses_sides_over_65535():
    data = np.zeros((65536, 1, 1, 1), dtype=np.uint8)
    with pytest.raises(EncodingError, match="65536"):
        chunks.encode(data, "compresso")


def _damaged(encoded: bytes, rng: np.random.Generator, how: str) -> bytes:
    if how == "truncated":
        return encoded[: int(rng.integers(0, len(encoded)))]
    if how == "extended":
        return encoded + b"\x00" * int(rng.integers(1, 9))
    return bytes(rng.integers(0, 256, len(encoded), dtype=np.uint8))  # garbage


@pytest.mark.parametrize("how", ["truncated", "extended", "garbage"])
@pytest.mark.parametrize(
    ("encoding", "dtype", "channels"),
    [(CSEG, "uint64", 2), ("compresso", "uint32", 1), ("crackle", "uint64", 1)],
)
def test_damaged_chunks_raise_decoding_error_naming_key_and_encoding(
    encoding: str, dtype: str, channels: int, how: str
):
    data = segmentation((37, 20, 5), channels, dtype, seed=2)
    spec = spec_for(data, block_for(encoding), key="file:///x/4_4_40/0-37_0-20_0-5")
    codec: Any = get_codec(encoding)
    encoded = bytes(codec.encode(data, spec))
    rng = np.random.default_rng(len(encoded))
    for _ in range(20):
        bad = _damaged(encoded, rng, how)
        if how == "extended" and encoding == CSEG and len(bad) % 4 == 0:
            continue  # whole trailing words are legal padding in compressed_segmentation
        with pytest.raises(DecodingError) as err:
            codec.decode(bad, spec)
        assert spec.key in str(err.value) and encoding in str(err.value)
        with pytest.raises(DecodingError):
            codec.labels(bad, spec)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_stream_for_another_shape_is_rejected(encoding: str):
    data = segmentation((10, 9, 8), 1, "uint32")
    encoded = chunks.encode(data, encoding, block_size=block_for(encoding))
    # compresso and crackle record their shape; a cseg file has no room for the
    # headers of a much larger chunk.
    spec = ChunkSpec((10, 90, 160, 1), np.dtype("uint32"), block_for(encoding), key="k")
    with pytest.raises(DecodingError, match="k"):
        get_codec(encoding).decode(encoded, spec)


def test_gzipped_bytes_are_not_mistaken_for_a_chunk():
    data = segmentation((10, 9, 8), 1, "uint32")
    for encoding in ENCODINGS:
        encoded = gzip.compress(chunks.encode(data, encoding))
        with pytest.raises(DecodingError):
            get_codec(encoding).decode(encoded, spec_for(data, block_for(encoding)))


def test_cseg_offsets_past_the_end_are_rejected_before_decoding():
    spec = ChunkSpec((2, 2, 1, 1), np.dtype("uint32"), (2, 2, 1), key="k")
    words = np.frombuffer(CSEG_EXAMPLE, dtype="<u4").copy()
    for index, value in [(0, 9), (1, 0x00000050 | 1 << 24), (2, 40), (1, 3 | 3 << 24)]:
        bad = words.copy()
        bad[index] = value
        with pytest.raises(DecodingError, match="compressed_segmentation"):
            get_codec(CSEG).decode(bad.tobytes(), spec)


# --------------------------------------------------------------------------- properties

LABEL_KINDS = ("few", "many", "zero", "max", "regions")


def _labels_of_kind(kind: str, shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    if kind == "zero":
        return np.zeros(shape, dtype=dtype, order="F")
    if kind == "max":
        return np.full(shape, top, dtype=dtype, order="F")
    if kind == "few":
        choices = rng.integers(0, top, 3, dtype=np.uint64, endpoint=True).astype(dtype)
        return np.asfortranarray(choices[rng.integers(0, 3, shape)])
    if kind == "many":
        return np.asfortranarray(
            rng.integers(0, top, shape, dtype=np.uint64, endpoint=True).astype(dtype)
        )
    return segmentation((shape[0], shape[1], shape[2]), shape[3], dtype, seed)


@st.composite
def chunk_cases(draw: st.DrawFn) -> tuple[str, np.ndarray, tuple[int, int, int] | None]:
    encoding, dtype, channels = draw(st.sampled_from(FORMATS))
    shape = (*(draw(st.integers(1, 20)) for _ in range(3)), channels)
    kind = draw(st.sampled_from(LABEL_KINDS))
    data = _labels_of_kind(kind, shape, dtype, draw(st.integers(0, 2**16)))
    block = tuple(draw(st.integers(1, 9)) for _ in range(3)) if encoding == CSEG else None
    return encoding, data, block  # type: ignore[return-value]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=chunk_cases(), probe=st.integers(0, 2**64 - 1))
def test_property_round_trip_and_labels_match_the_decoded_chunk(
    case: tuple[str, np.ndarray, tuple[int, int, int] | None], probe: int
):
    encoding, data, block = case
    spec = spec_for(data, block)
    codec: Any = get_codec(encoding)
    encoded = codec.encode(data, spec)
    decoded = codec.decode(encoded, spec)
    np.testing.assert_array_equal(decoded, data)
    uniq = np.unique(decoded)
    np.testing.assert_array_equal(codec.labels(encoded, spec), uniq)
    present = int(uniq[probe % uniq.size])
    assert codec.contains(encoded, spec, present)
    assert codec.contains(encoded, spec, probe) == (probe in set(uniq.tolist()))
    xyz = tuple(probe % s for s in data.shape[:3])
    np.testing.assert_array_equal(codec.read_voxel(encoded, spec, xyz), data[xyz])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=chunk_cases(), shift=st.integers(0, 100))
def test_property_remap_equals_remapping_the_decoded_chunk(
    case: tuple[str, np.ndarray, tuple[int, int, int] | None], shift: int
):
    encoding, data, block = case
    spec = spec_for(data, block)
    codec: Any = get_codec(encoding)
    encoded = codec.encode(data, spec)
    uniq = np.unique(data)
    new = (np.arange(uniq.size, dtype=np.uint64) + shift).astype(data.dtype)
    mapping = dict(zip(uniq.tolist(), new.tolist(), strict=True))
    expected = new[np.searchsorted(uniq, data)]
    np.testing.assert_array_equal(codec.decode(codec.remap(encoded, spec, mapping), spec), expected)


def test_crackle_streams_flagged_c_order_still_decode_fortran_ordered():
    # cloud-volume's volume writer produces these (its chunk views are not
    # Fortran-contiguous); the flag only sets the decoder's output order.
    data = segmentation((30, 20, 10), 1, "uint32", seed=3)
    c_flagged = crackle.compress(np.ascontiguousarray(data[..., 0]))
    assert not crackle.header(c_flagged).fortran_order
    out = get_codec("crackle").decode(c_flagged, spec_for(data))
    assert out.flags.f_contiguous
    np.testing.assert_array_equal(out, data)


def test_chunks_label_helpers_take_arrays_and_empty_data():
    data = segmentation((9, 8, 7), 1, "uint32")
    np.testing.assert_array_equal(chunks.labels(data, "raw"), np.unique(data))
    assert chunks.labels(b"", CSEG, dtype="uint32").size == 0
    assert chunks.contains(data, int(data[0, 0, 0, 0]), "raw")
    assert not chunks.contains(data, -1, "raw")
    assert chunks.contains(b"", 0, "crackle") and not chunks.contains(b"", 5, "crackle")
    assert chunks.remap(b"", CSEG, {1: 2}) == b""
    out = chunks.read_voxel((1, 2, 3), data, "raw")
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == data[1, 2, 3, 0]
    blank = chunks.read_voxel((1, 2, 3), b"", "compresso", (9, 8, 7), "uint32", background_color=4)
    assert blank.tolist() == [[[[4]]]]
    np.testing.assert_array_equal(chunks.decode(data, "raw"), data)  # arrays pass through
    remapped = chunks.remap(data, CSEG, {int(v): 1 for v in np.unique(data)})
    np.testing.assert_array_equal(
        chunks.decode(remapped, CSEG, data.shape, "uint32"), np.ones_like(data)
    )


def test_multichannel_read_voxel_is_channels_by_one_by_one_by_one():
    data = segmentation((9, 8, 7), 3, "uint64", seed=1)
    encoded = chunks.encode(data, CSEG)
    out = chunks.read_voxel((4, 5, 6), encoded, CSEG, data.shape, "uint64")
    assert out.shape == (3, 1, 1, 1)  # cloud-volume's layout
    np.testing.assert_array_equal(out[:, 0, 0, 0], data[4, 5, 6])


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("channels", [1, 2])
def test_cseg_decodes_straight_into_a_window_of_a_cutout(
    monkeypatch: pytest.MonkeyPatch, native: bool, channels: int
):
    import cloudvol.codecs.compressed_segmentation as cseg_module

    if not native:
        monkeypatch.setattr(cseg_module, "_native_decoder", lambda: None)
    data = segmentation((37, 20, 5), channels, "uint64", seed=21)
    spec = spec_for(data, (4, 4, 4))
    codec: Any = get_codec(CSEG)
    assert isinstance(codec, DecodeIntoCodec)
    encoded = codec.encode(data, spec)
    for order in ("F", "C"):
        cutout = np.full((50, 30, 9, channels), 3, dtype=np.uint64, order=order)
        codec.decode_into(encoded, spec, cutout[5:42, 4:24, 2:7])
        np.testing.assert_array_equal(cutout[5:42, 4:24, 2:7], data)
        cutout[5:42, 4:24, 2:7] = 3
        assert np.all(cutout == 3)  # nothing outside the window was touched
    flipped = np.zeros(data.shape, dtype=np.uint64)[::-1]
    codec.decode_into(encoded, spec, flipped)
    np.testing.assert_array_equal(flipped, data)
    with pytest.raises(ValueError, match="decode_into"):
        codec.decode_into(encoded, spec, np.zeros(data.shape, dtype=np.uint32))


# --------------------------------------------------------------------------- crackle slice CRCs


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(LABEL_KINDS),
    shape=st.tuples(st.integers(1, 33), st.integers(1, 33), st.integers(1, 9)),
    dtype=st.sampled_from(["uint8", "uint16", "uint32", "uint64"]),
    pins=st.booleans(),
    markov=st.sampled_from([0, 2]),
    order=st.sampled_from(["F", "C"]),
    merge=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_crackle_slice_crcs_pass_for_every_stream_the_library_writes(
    kind, shape, dtype, pins, markov, order, merge, seed
):
    """Pins, Markov-coded crack codes, C-ordered streams and streams remapped so that
    labels merge: the slice check recomputes each slice's component ids from the
    labels, so it must never refuse a good stream."""
    data = _labels_of_kind(kind, (*shape, 1), dtype, seed)[..., 0]
    data = np.ascontiguousarray(data) if order == "C" else data
    stream = crackle.compress(data, allow_pins=pins, markov_model_order=markov, parallel=1)
    if merge and not pins:  # an agglomeration: every label to one of three (crackle's
        # remap of pin streams is its own matter: it refuses some, garbles others)
        mapping = {int(v): int(v) % 3 for v in np.unique(data)}
        stream = crackle.remap(stream, mapping, preserve_missing_labels=True)
        data = np.vectorize(mapping.__getitem__, otypes=[dtype])(data)
    spec = ChunkSpec((*shape, 1), np.dtype(dtype))
    np.testing.assert_array_equal(get_codec("crackle").decode(stream, spec)[..., 0], data)


def test_a_damaged_crack_code_is_a_decoding_error_not_a_wrong_slice() -> None:
    data = segmentation((32, 32, 16), 1, "uint64", seed=4)
    spec = ChunkSpec(data.shape, np.dtype("uint64"), key="seg/0-32_0-32_0-16")
    codec = get_codec("crackle")
    stream = bytearray(codec.encode(data, spec))
    # flip one bit in the middle of the crack codes of one slice (the fuzzing found
    # such streams decoding with that slice silently wrong)
    head = crackle.header(bytes(stream))
    z_sizes = np.frombuffer(bytes(stream), "<u4", count=16, offset=head.header_bytes)
    codes_at = head.header_bytes + 4 * 17 + head.num_label_bytes
    at = codes_at + int(z_sizes[:5].sum()) + int(z_sizes[5]) // 2
    outcomes = set()
    for bit in range(8):
        bad = bytearray(stream)
        bad[at] ^= 1 << bit
        try:
            decoded = codec.decode(bytes(bad), spec)
        except DecodingError as err:
            assert "seg/0-32_0-32_0-16" in str(err) and "crackle" in str(err)
            outcomes.add("error")
        else:
            assert np.array_equal(decoded, data), f"bit {bit}: decoded to other labels"
            outcomes.add("same")
    assert "error" in outcomes


@pytest.mark.parametrize("operation", ["mask", "mask_except", "condense", "markov1"])
def test_crackle_streams_from_relabelling_operations_decode(operation: str) -> None:
    data = np.zeros((8, 8, 2), np.uint32, order="F")
    data[:4], data[4:], data[0, 0] = 1, 2, 3
    stream = crackle.compress(data)
    if operation == "mask":  # touching 1 and 2 both become 0: one label, two components
        stream, expected = crackle.mask(stream, [1, 2]), np.where(data == 3, 3, 0)
    elif operation == "mask_except":
        stream, expected = crackle.mask_except(stream, [3]), np.where(data == 3, 3, 0)
    elif operation == "condense":
        merged = crackle.remap(stream, {1: 2, 2: 2, 3: 3})
        stream, expected = crackle.codec.condense_unique(merged), np.where(data == 1, 2, data)
    else:  # a 2.5-byte Markov model, stored in 3
        data = np.asfortranarray(np.random.default_rng(0).integers(0, 5, (16, 16, 4)), np.uint32)
        stream, expected = crackle.compress(data, markov_model_order=1), data
    spec = ChunkSpec((*expected.shape, 1), np.dtype(np.uint32))
    np.testing.assert_array_equal(get_codec("crackle").decode(stream, spec)[..., 0], expected)


def spy_slice_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the chunks crackle's slice check runs on from now on (it still runs)."""
    import cloudvol.codecs.crackle as crackle_codec

    keys: list[str] = []
    real_check = crackle_codec._check_slice_crcs

    def check(raw: bytes, head: Any, labels: np.ndarray, spec: ChunkSpec) -> None:
        keys.append(spec.key)
        real_check(raw, head, labels, spec)

    monkeypatch.setattr(crackle_codec, "_check_slice_crcs", check)
    return keys


def test_crackle_slice_check_is_skipped_only_for_gzip_checked_payloads(monkeypatch) -> None:
    """Bytes that passed gzip's CRC-32 on the way in are undamaged since they were
    gzipped, so the costly slice check is skipped for them; everything else is
    checked."""
    from cloudvol.storage.compression import ChecksummedBytes, compress, decompress

    checked = spy_slice_checks(monkeypatch)
    data = segmentation((16, 16, 4), 1, "uint32", seed=2)
    codec = get_codec("crackle")
    stream = codec.encode(data, ChunkSpec(data.shape, np.dtype("uint32")))
    through_gzip = decompress(compress(stream, "gzip"), "gzip")
    assert isinstance(through_gzip, ChecksummedBytes)
    for key, payload in [
        ("gzip", through_gzip),
        ("plain", stream),
        ("view", memoryview(through_gzip)),
        ("brotli", decompress(compress(stream, "br"), "br")),
    ]:
        decoded = codec.decode(payload, ChunkSpec(data.shape, np.dtype("uint32"), key=key))
        np.testing.assert_array_equal(decoded, data)
    assert checked == ["plain", "view", "brotli"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_gzip_checked_payloads_decode_and_list_labels_like_plain_bytes(encoding: str) -> None:
    """Storage hands gzip-checked chunks over as a bytes subclass, which some bindings
    (compresso's) refuse unless the codec passes them exact bytes."""
    from cloudvol.storage.compression import ChecksummedBytes

    data = segmentation((16, 16, 4), 1, "uint64", seed=3)
    spec = ChunkSpec(data.shape, np.dtype("uint64"), (8, 8, 4) if encoding == CSEG else None)
    codec = get_codec(encoding)
    marked = ChecksummedBytes(codec.encode(data, spec))
    np.testing.assert_array_equal(codec.decode(marked, spec), data)
    np.testing.assert_array_equal(codec.labels(marked, spec), np.unique(data))
