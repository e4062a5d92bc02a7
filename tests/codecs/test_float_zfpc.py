"""The ``zfpc`` codec: cloudvol's own zfpc container over zfpy, byte-identical to the
reference ``zfpc`` package (the oracle, never imported by cloudvol) for every mode
and correlated-axes setting, cross-decoded both ways, and strict about bad bytes."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import numpy as np
import pytest
import zfpc
import zfpy
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol import CloudVolume, chunks
from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.codecs.zfpc_container import HEADER_SIZE, ZfpcHeader, ZfpMode
from cloudvol.exceptions import DecodingError, EncodingError, InvalidInfoError

DTYPES = [np.float32, np.float64]
UINT = {4: np.uint32, 8: np.uint64}
KEY = "file:///data/layer/4_4_40/0-37_0-20_0-5"
SHAPES = [(16, 16, 16, 1), (37, 20, 5, 1), (37, 20, 5, 3), (1, 1, 1, 1), (5, 1, 1, 1), (1, 1, 3, 2)]
MODES = [{}, {"rate": 8}, {"precision": 12}, {"tolerance": 1e-3}]
CORRELATED = [
    [True, True, True, True],
    [True, True, True, False],
    [True, True, False, False],
    [False, True, True, True],
    [True, False, True, False],
    [False, False, False, True],
]


def smooth(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    """A smooth field plus a little noise, Fortran-ordered."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape, dtype=np.float64).sum(axis=0)
    arr = np.sin(grid / 5.0) + 0.01 * rng.standard_normal(shape)
    return np.asfortranarray(arr.astype(dtype))


def options(mode: dict, correlated: list[bool]) -> dict:
    return {**{f"zfpc_{k}": v for k, v in mode.items()}, "zfpc_correlated_dims": correlated}


def assert_bits_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    actual = np.asarray(actual)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    bits = UINT[expected.dtype.itemsize]
    assert np.array_equal(actual.view(bits), expected.view(bits))


def mode_id(mode: dict) -> str:
    return "-".join(f"{k}{v}" for k, v in mode.items()) or "reversible"


def dims_id(dims: list[bool]) -> str:
    return "".join("T" if d else "F" for d in dims)


# --- byte identity with the reference package ---------------------------------------


@pytest.mark.parametrize("correlated", CORRELATED, ids=dims_id)
@pytest.mark.parametrize("mode", MODES, ids=mode_id)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_bytes_match_zfpc_and_cross_decode(shape, mode, correlated):
    for dtype in DTYPES:
        arr = smooth(shape, dtype)
        theirs = zfpc.compress(arr, correlated_dims=correlated, **mode)
        ours = chunks.encode(
            np.ascontiguousarray(arr), "zfpc", compression_params=options(mode, correlated)
        )
        assert ours == theirs
        ours_read = chunks.decode(theirs, "zfpc", shape=shape, dtype=dtype)
        theirs_read = zfpc.decompress(ours).reshape(shape)
        assert ours_read.dtype == dtype
        # zfpc.decompress always returns float32.
        assert np.array_equal(ours_read.astype(np.float32), theirs_read)
        if not mode:
            assert_bits_equal(ours_read, arr)


def test_header_fields():
    arr = smooth((37, 20, 5, 3), np.float64)
    data = chunks.encode(
        arr, "zfpc", compression_params=options({"rate": 6}, [True, True, False, False])
    )
    header = ZfpcHeader.unpack(data)
    assert data[:6] == b"zfpc\x00" + bytes([4 | 2 << 3])
    assert header.shape == (37, 20, 5, 3) and header.dtype == np.float64
    assert header.mode == ZfpMode.FIXED_RATE and not header.c_order
    assert header.correlated == (True, True, False, False) and data[22] == 0b0011
    start, *sizes = struct.unpack_from("<16Q", data, HEADER_SIZE)
    assert start == HEADER_SIZE + 8 * 16 and len(data) == start + sum(sizes)
    # stream 1 is z=1, c=0: a 37×20 plane, x fastest in stream order.
    second = data[start + sizes[0] : start + sizes[0] + sizes[1]]
    assert zfpy.header(second)["nx"] == 20 and zfpy.header(second)["ny"] == 37
    assert np.array_equal(
        zfpy.decompress_numpy(second),
        zfpy.decompress_numpy(zfpy.compress_numpy(arr[:, :, 1, 0], rate=6)),
    )


def test_single_axis_chunks_set_the_c_order_flag_like_zfpc():
    for shape in [(37, 1, 1, 1), (1, 1, 1, 4), (4, 4, 1, 1)]:
        data = chunks.encode(smooth(shape, np.float32), "zfpc")
        assert ZfpcHeader.unpack(data).c_order == (sum(s > 1 for s in shape) <= 1)


def test_tolerance_mode_bounds_the_error():
    arr = smooth((32, 32, 16, 2), np.float32)
    out = chunks.decode(
        chunks.encode(arr, "zfpc", compression_params={"zfpc_tolerance": 1e-3}),
        "zfpc",
        shape=arr.shape,
        dtype=np.float32,
    )
    assert 0 < np.max(np.abs(out - arr)) <= 1e-3


def test_rate_mode_fixes_the_stream_size():
    arr = smooth((32, 32, 16, 1), np.float32)
    data = chunks.encode(
        arr,
        "zfpc",
        compression_params={"zfpc_rate": 4, "zfpc_correlated_dims": [True, True, True, False]},
    )
    stream = len(data) - HEADER_SIZE - 16
    assert abs(stream - arr.size * 4 / 8) <= 64  # the zfp header and word padding


def test_options_accept_cloudvolume_chunk_keywords_and_nulls():
    arr = smooth((9, 9, 9, 2), np.float32)
    reference = zfpc.compress(arr, rate=10, correlated_dims=[True, True, True, False])
    spelled = {
        "rate": 10,
        "correlated_dims": [True, True, True, False],
        "precision": -1,
        "tolerance": -1,
    }
    assert chunks.encode(arr, "zfpc", compression_params=spelled) == reference
    nulls = {
        "zfpc_rate": 10,
        "zfpc_precision": None,
        "zfpc_tolerance": None,
        "zfpc_correlated_dims": [1, 1, 1, 0],
    }
    assert chunks.encode(arr, "zfpc", compression_params=nulls) == reference


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"zfpc_rate": 8, "zfpc_tolerance": 0.1}, "only one of"),
        ({"zfpc_precision": 10.5}, "zfpc_precision must be an integer"),
        ({"zfpc_rate": "8"}, "zfpc_rate must be a number"),
        ({"zfpc_tolerance": float("nan")}, "finite"),
        ({"zfpc_rate": -0.5}, "must be -1"),
        ({"zfpc_correlated_dims": [False] * 4}, "at least one true"),
        ({"zfpc_correlated_dims": [True] * 3}, "4 booleans"),
        ({"zfpc_correlated_dims": [True, 2, True, True]}, "4 booleans"),
        ({"zfpc_correlated_dims": "TTTT"}, "4 booleans"),
        ({"zfpc_correlated_dims": 15}, "4 booleans"),
    ],
)
def test_bad_options_raise_encoding_error(opts, message):
    spec = ChunkSpec(shape=(4, 4, 4, 1), dtype=np.dtype(np.float32), options=opts, key=KEY)
    with pytest.raises(EncodingError, match=message) as err:
        get_codec("zfpc").encode(smooth((4, 4, 4, 1), np.float32), spec)
    assert KEY in str(err.value) and "zfpc" in str(err.value)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "float16"])
def test_non_float_dtypes_are_rejected(dtype):
    with pytest.raises(EncodingError, match=rf"zfpc.*{dtype}.*float32 or float64"):
        get_codec("zfpc").check(np.dtype(dtype), 1)


def test_codec_metadata():
    codec = get_codec("zfpc")
    assert codec.transport_compressed_by_default is False
    assert codec.content_type == "image/x.zfpc"


def test_integer_containers_written_elsewhere_still_decode():
    arr = np.asfortranarray(np.arange(7 * 5 * 3 * 2, dtype=np.int32).reshape(7, 5, 3, 2) * 1000)
    data = zfpc.compress(arr)
    assert_bits_equal(chunks.decode(data, "zfpc", shape=arr.shape, dtype=np.int32), arr)


def test_decode_without_shape_reads_the_header():
    arr = smooth((9, 4, 3, 2), np.float64)
    data = zfpc.compress(arr)
    assert get_codec("zfpc").describe(data) == ((9, 4, 3, 2), np.dtype(np.float64))
    assert_bits_equal(chunks.decode(data, "zfpc"), arr)
    assert get_codec("zfpc").describe(zfpc.compress(arr[..., 0]))[0] == (9, 4, 3, 1)
    with pytest.raises(DecodingError, match="zfpc stream: bad magic"):
        chunks.decode(b"x" * 40, "zfpc")


def test_three_axis_container_decodes_as_one_channel():
    arr = smooth((9, 8, 7), np.float64)
    out = chunks.decode(zfpc.compress(arr), "zfpc", shape=(9, 8, 7, 1), dtype=np.float64)
    assert_bits_equal(out, arr[..., np.newaxis])


# --- bad bytes ------------------------------------------------------------------------


def _valid() -> bytes:
    arr = smooth((37, 20, 5, 2), np.float32)
    return chunks.encode(arr, "zfpc", compression_params=options({}, [True, True, True, False]))


def _patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


CORRUPTIONS = {
    "empty": (lambda d: b"", "shorter than the 23-byte header"),
    "short": (lambda d: d[:20], "shorter than the 23-byte header"),
    "magic": (lambda d: _patch(d, 0, b"zfpx"), "bad magic"),
    "version": (lambda d: _patch(d, 4, b"\x01"), "format version 1"),
    "type-code": (lambda d: _patch(d, 5, bytes([d[5] & ~7 | 7])), "element type code 7"),
    "mode": (lambda d: _patch(d, 5, bytes([d[5] & ~0b111000 | 6 << 3])), "zfp mode 6"),
    "dtype": (lambda d: _patch(d, 5, bytes([d[5] & ~7 | 4])), "holds float64, expected float32"),
    "shape": (lambda d: _patch(d, 6, struct.pack("<I", 36)), "holds a 36×20×5×2 array"),
    "zero-axis": (lambda d: _patch(d, 10, struct.pack("<I", 0)), "zeros trailing"),
    "streams": (lambda d: _patch(d, 22, b"\x0f"), "index"),
    "no-index": (lambda d: d[:30], "cannot hold the index"),
    "offset": (lambda d: _patch(d, 23, struct.pack("<Q", 5)), "index"),
    "size": (lambda d: _patch(d, 31, struct.pack("<Q", 2**63)), "index"),
    "trailing": (lambda d: d + b"\x00", "index"),
    "truncated": (lambda d: d[:-1], "index"),
    "stream-magic": (lambda d: _patch(d, 23 + 24, b"\x00\x00\x00"), "bad zfp stream header"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_input_raises_decoding_error(case):
    damage, message = CORRUPTIONS[case]
    data = damage(_valid())
    spec = ChunkSpec(shape=(37, 20, 5, 2), dtype=np.dtype(np.float32), key=KEY)
    with pytest.raises(DecodingError, match=message) as err:
        get_codec("zfpc").decode(data, spec)
    assert KEY in str(err.value) and "zfpc" in str(err.value)


def test_stream_of_another_shape_is_rejected():
    arr = smooth((37, 20, 5, 2), np.float32)
    good = _valid()
    start = HEADER_SIZE + 8 * 3
    first = int.from_bytes(good[HEADER_SIZE + 8 : HEADER_SIZE + 16], "little")
    other = zfpy.compress_numpy(np.ascontiguousarray(arr[:36, :, :, 0]))
    rest = good[start + first :]
    index = struct.pack("<3Q", start, len(other), len(rest))
    data = good[:HEADER_SIZE] + index + other + rest
    spec = ChunkSpec(shape=(37, 20, 5, 2), dtype=np.dtype(np.float32), key=KEY)
    with pytest.raises(DecodingError, match=r"zfp stream holds \(5, 20, 36, 0\)"):
        get_codec("zfpc").decode(data, spec)


def test_damaged_payload_decodes_the_same_whatever_was_decoded_before():
    # zfp cannot detect a flipped payload bit; what it returns must not depend on
    # leftovers from earlier (longer) chunks in the reused padded buffer.
    good = _valid()
    damaged = bytearray(good)
    damaged[len(good) - 40 : len(good) - 8] = b"\xff" * 32
    spec = ChunkSpec(shape=(37, 20, 5, 2), dtype=np.dtype(np.float32), key=KEY)
    codec = get_codec("zfpc")
    first = codec.decode(bytes(damaged), spec)
    big = smooth((40, 40, 40, 2), np.float32)
    big_spec = ChunkSpec(shape=big.shape, dtype=np.dtype(np.float32))
    codec.decode(codec.encode(big, big_spec), big_spec)
    assert_bits_equal(codec.decode(bytes(damaged), spec), first)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_property_damaged_bytes_never_escape_as_other_errors(data):
    source = _valid()
    damaged = bytearray(source)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(damaged) - 1))
        damaged[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    spec = ChunkSpec(shape=(37, 20, 5, 2), dtype=np.dtype(np.float32), key=KEY)
    try:
        out = get_codec("zfpc").decode(
            bytes(damaged[:cut] if data.draw(st.booleans()) else damaged), spec
        )
    except DecodingError:
        return
    assert out.shape == spec.shape and out.dtype == np.float32


# --- properties -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 9)] * 3, st.integers(1, 3)),
    dtype=st.sampled_from(DTYPES),
    mode=st.sampled_from(MODES),
    correlated=st.lists(st.booleans(), min_size=4, max_size=4).filter(any),
    seed=st.integers(0, 2**16),
)
def test_property_matches_zfpc(shape, dtype, mode, correlated, seed):
    arr = np.asfortranarray(np.random.default_rng(seed).standard_normal(shape).astype(dtype))
    ours = chunks.encode(arr, "zfpc", compression_params=options(mode, correlated))
    assert ours == zfpc.compress(arr, correlated_dims=correlated, **mode)
    out = chunks.decode(ours, "zfpc", shape=shape, dtype=dtype)
    if not mode:
        assert_bits_equal(out, arr)


# --- whole volumes ----------------------------------------------------------------

BOX = np.s_[0:70, -8:32, 0:11]


def make_info(dtype: str, channels: int, **zfpc_options) -> dict:
    info = CloudVolume.create_new_info(
        num_channels=channels, layer_type="image", data_type=dtype, encoding="zfpc",
        resolution=(4, 4, 40), voxel_offset=(0, -8, 0), volume_size=(70, 40, 11),
        chunk_size=(64, 32, 8),
    )  # fmt: skip
    info["scales"][0].update(zfpc_options)
    return info


def chunk_files(layer: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((layer / "4_4_40").iterdir())}


VOLUME_CASES = [
    ("float32", 1, {}),
    ("float32", 3, {"zfpc_tolerance": 0.01, "zfpc_correlated_dims": [True, True, True, False]}),
    ("float64", 2, {"zfpc_rate": 12, "zfpc_correlated_dims": [True, True, False, False]}),
]


@pytest.mark.parametrize(
    ("dtype", "channels", "opts"), VOLUME_CASES, ids=["f32", "f32-tol", "f64-rate"]
)
def test_volume_round_trip_with_ragged_edges(tmp_path, dtype, channels, opts):
    arr = smooth((70, 40, 11, channels), np.dtype(dtype).type)
    vol = CloudVolume(f"file://{tmp_path}/layer", info=make_info(dtype, channels, **opts))
    vol.commit_info()
    vol[BOX] = arr
    files = chunk_files(tmp_path / "layer")
    assert len(files) == 8 and not any(name.endswith(".gz") for name in files)
    out = np.asarray(vol[BOX])
    if not opts:
        assert_bits_equal(out, arr)
    elif "zfpc_tolerance" in opts:
        assert np.max(np.abs(out - arr)) <= opts["zfpc_tolerance"]
    else:
        assert np.max(np.abs(out - arr)) < 1e-2


def test_volume_write_of_integers_stores_nothing(tmp_path):
    vol = CloudVolume(f"file://{tmp_path}/layer", info=make_info("int32", 1))
    with pytest.raises(InvalidInfoError, match=r"zfpc encoding cannot store dtype int32"):
        vol.commit_info()
    assert not (tmp_path / "layer" / "info").exists()
    with pytest.raises(EncodingError, match=r"zfpc.*int32"):
        vol[BOX] = np.zeros((70, 40, 11, 1), np.int32)
    scale = tmp_path / "layer" / "4_4_40"
    assert not scale.exists() or not any(scale.iterdir())


def test_volume_with_bad_options_stores_nothing(tmp_path):
    vol = CloudVolume(
        f"file://{tmp_path}/layer", info=make_info("float32", 1, zfpc_rate=4, zfpc_precision=8)
    )
    vol.commit_info()
    with pytest.raises(EncodingError, match="only one of"):
        vol[BOX] = smooth((70, 40, 11, 1), np.float32)
    scale = tmp_path / "layer" / "4_4_40"
    assert not scale.exists() or not any(scale.iterdir())


@pytest.mark.interop
@pytest.mark.parametrize(
    ("dtype", "channels", "opts"), VOLUME_CASES, ids=["f32", "f32-tol", "f64-rate"]
)
def test_volume_layers_cross_read_with_cloudvolume(tmp_path, isolated_env, dtype, channels, opts):
    import cloudvolume

    arr = smooth((70, 40, 11, channels), np.dtype(dtype).type)
    ours = CloudVolume(f"file://{tmp_path}/ours", info=make_info(dtype, channels, **opts))
    ours.commit_info()
    ours[BOX] = arr
    theirs = cloudvolume.CloudVolume(
        f"file://{tmp_path}/theirs", info=make_info(dtype, channels, **opts), progress=False
    )
    theirs.commit_info()
    theirs[BOX] = arr
    assert chunk_files(tmp_path / "ours") == chunk_files(tmp_path / "theirs")
    read_by_us = np.asarray(CloudVolume(f"file://{tmp_path}/theirs")[BOX])
    read_by_them = np.asarray(
        cloudvolume.CloudVolume(f"file://{tmp_path}/ours", progress=False)[BOX]
    )
    # cloud-volume decodes every zfpc chunk to float32 before painting its output.
    assert np.array_equal(read_by_them, read_by_us.astype(np.float32).astype(dtype))
    if not opts:
        assert_bits_equal(read_by_us, arr)


def test_product_of_settings_matches_zfpc_on_a_ragged_chunk():
    """Every mode × every correlated-axes pattern with at least one true axis."""
    arr = smooth((13, 6, 3, 2), np.float32)
    for mode, bits in itertools.product(MODES, range(1, 16)):
        correlated = [bool(bits >> i & 1) for i in range(4)]
        ours = chunks.encode(arr, "zfpc", compression_params=options(mode, correlated))
        assert ours == zfpc.compress(arr, correlated_dims=correlated, **mode)
