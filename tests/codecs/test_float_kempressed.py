"""The ``kempressed`` codec: CloudVolume's +2 offset and z/channel swap over fpzip,
byte-identical to cloud-volume's encoder on Fortran-ordered input, with the exact
rounding of ``(v + 2) - 2`` in the chunk's type."""

from __future__ import annotations

from pathlib import Path

import fpzip
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cloudvol import CloudVolume, chunks
from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.exceptions import DecodingError, EncodingError, InvalidInfoError

DTYPES = [np.float32, np.float64]
UINT = {4: np.uint32, 8: np.uint64}
KEY = "file:///data/layer/4_4_40/0-16_0-12_0-5"


def affinities(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    """Affinity-like values in [0, 1) with NaN, ±inf and -0.0 at the start."""
    rng = np.random.default_rng(seed)
    arr = rng.random(shape).astype(dtype)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0], dtype)
    flat = arr.reshape(-1, order="F")
    flat[: min(flat.size, specials.size)] = specials[: flat.size]
    return np.asfortranarray(flat.reshape(shape, order="F"))


def after_offset(arr: np.ndarray) -> np.ndarray:
    """What a kempressed round trip returns: ``(v + 2) - 2`` rounded in the dtype."""
    two = arr.dtype.type(2)
    return (arr + two) - two


def assert_bits_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    actual = np.asarray(actual)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    bits = UINT[expected.dtype.itemsize]
    assert np.array_equal(actual.view(bits), expected.view(bits))


@pytest.mark.parametrize("shape", [(1, 1, 1), (37, 20, 5), (16, 16, 16), (4, 4, 1)], ids=str)
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_round_trip_returns_offset_rounding_exactly(dtype, channels, shape):
    arr = affinities((*shape, channels), dtype)
    data = chunks.encode(arr, "kempressed")
    out = chunks.decode(data, "kempressed", shape=arr.shape, dtype=dtype)
    assert_bits_equal(out, after_offset(arr))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_values_whose_offset_sum_is_representable_are_lossless(dtype):
    rng = np.random.default_rng(1)
    # Multiples of 2**-22 in [-1, 2): v + 2 lies in [1, 4) and needs <= 24 significant bits.
    arr = np.asfortranarray(
        (rng.integers(-(2**22), 2**23, size=(20, 9, 4, 3)) * 2.0**-22).astype(dtype)
    )
    data = chunks.encode(arr, "kempressed")
    assert_bits_equal(chunks.decode(data, "kempressed", shape=arr.shape, dtype=dtype), arr)


def test_float32_error_is_within_half_an_ulp_of_the_offset_sum():
    arr = np.asfortranarray(np.random.default_rng(2).random((30, 30, 6, 1), dtype=np.float32))
    data = chunks.encode(arr, "kempressed")
    out = chunks.decode(data, "kempressed", shape=arr.shape, dtype=np.float32)
    # v + 2 lies in [2, 3): rounding it costs at most half its ulp (2**-22), and
    # subtracting 2 again is exact.
    assert 0 < np.max(np.abs(out - arr)) <= 2.0**-23
    tiny = np.full((2, 2, 2, 1), 1e-9, np.float32)
    assert np.all(
        chunks.decode(
            chunks.encode(tiny, "kempressed"), "kempressed", shape=tiny.shape, dtype=np.float32
        )
        == 0
    )


def test_stream_is_offset_data_with_z_and_channels_swapped():
    arr = affinities((6, 5, 4, 3), np.float64)
    decoded = fpzip.decompress(chunks.encode(arr, "kempressed"), order="F")
    assert decoded.shape == (6, 5, 3, 4)
    assert_bits_equal(decoded, np.swapaxes(arr, 2, 3) + 2.0)


def test_output_does_not_depend_on_memory_order():
    codec = get_codec("kempressed")
    for shape in [(9, 7, 5, 1), (9, 7, 1, 3), (9, 7, 5, 3)]:
        arr = affinities(shape, np.float32)
        spec = ChunkSpec(shape=shape, dtype=np.dtype(np.float32))
        outputs = {bytes(codec.encode(a, spec)) for a in (arr, np.ascontiguousarray(arr))}
        assert len(outputs) == 1


def test_decode_without_shape_reads_the_header():
    # CloudVolume's chunks.decode lets kempressed omit shape and dtype.
    arr = affinities((9, 4, 3, 2), np.float64)
    data = chunks.encode(arr, "kempressed")
    assert get_codec("kempressed").describe(data) == ((9, 4, 3, 2), np.dtype(np.float64))
    assert_bits_equal(chunks.decode(data, "kempressed"), after_offset(arr))


def test_precision_option_is_ignored_like_cloudvolume():
    arr = affinities((8, 8, 8, 1), np.float32)
    assert chunks.encode(
        arr, "kempressed", compression_params={"fpzip_precision": 12}
    ) == chunks.encode(arr, "kempressed")


@pytest.mark.parametrize("dtype", ["uint8", "int64", "float16"])
def test_non_float_dtypes_are_rejected(dtype):
    with pytest.raises(EncodingError, match=rf"kempressed.*{dtype}.*float32 or float64"):
        get_codec("kempressed").check(np.dtype(dtype), 1)


def test_codec_metadata():
    codec = get_codec("kempressed")
    assert codec.transport_compressed_by_default is False
    assert codec.content_type == "image/x.kempressed"


@pytest.mark.parametrize(
    ("make", "shape", "message"),
    [
        (lambda s: b"", (16, 12, 5, 2), "empty"),
        (lambda s: b"\x07" * 40, (16, 12, 5, 2), "header"),
        # A plain fpzip chunk is (x, y, z, c), not kempressed's (x, y, c, z).
        (lambda s: chunks.encode(affinities((16, 12, 5, 2), np.float32), "fpzip"), (16, 12, 5, 2),
         "holds 16×12×5×2 float32, expected 16×12×2×5"),
        (lambda s: s, (16, 12, 6, 2), "expected 16×12×2×6"),
        (lambda s: s + b"\x00\x00", (16, 12, 5, 2), "extra bytes"),
        (lambda s: s[:-1], (16, 12, 5, 2), "truncated"),
    ],
)  # fmt: skip
def test_corrupt_input_raises_decoding_error(make, shape, message):
    stream = chunks.encode(affinities((16, 12, 5, 2), np.float32), "kempressed")
    spec = ChunkSpec(shape=shape, dtype=np.dtype(np.float32), key=KEY)
    with pytest.raises(DecodingError, match=message) as err:
        get_codec("kempressed").decode(make(stream), spec)
    assert KEY in str(err.value) and "kempressed" in str(err.value)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(
            dt,
            st.tuples(*[st.integers(1, 8)] * 3, st.integers(1, 3)),
            elements=st.floats(width=32 if dt == np.float32 else 64),
        )
    )
)
def test_property_round_trip(arr):
    data = chunks.encode(arr, "kempressed")
    assert_bits_equal(
        chunks.decode(data, "kempressed", shape=arr.shape, dtype=arr.dtype), after_offset(arr)
    )


# --- cloud-volume interop ------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("shape", [(1, 1, 1), (37, 20, 5), (16, 16, 1)], ids=str)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bytes_match_cloudvolume_and_cross_decode(dtype, channels, shape):
    from cloudvolume import chunks as cv_chunks

    arr = affinities((*shape, channels), dtype)
    # cloud-volume's encoder is wrong for some C-ordered input; Fortran order is its norm.
    theirs = cv_chunks.encode(np.asfortranarray(arr), "kempressed")
    ours = chunks.encode(np.ascontiguousarray(arr), "kempressed")
    assert ours == theirs
    expected = after_offset(arr)
    assert_bits_equal(chunks.decode(theirs, "kempressed", shape=arr.shape, dtype=dtype), expected)
    assert_bits_equal(cv_chunks.decode(ours, "kempressed", shape=arr.shape, dtype=dtype), expected)


# --- whole volumes ----------------------------------------------------------------

BOX = np.s_[-3:67, 0:40, 5:16]


def make_info(dtype: str, channels: int) -> dict:
    return CloudVolume.create_new_info(
        num_channels=channels, layer_type="image", data_type=dtype, encoding="kempressed",
        resolution=(4, 4, 40), voxel_offset=(-3, 0, 5), volume_size=(70, 40, 11),
        chunk_size=(32, 32, 8),
    )  # fmt: skip


def chunk_files(layer: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((layer / "4_4_40").iterdir())}


@pytest.mark.parametrize(("dtype", "channels"), [("float32", 3), ("float64", 1)])
def test_volume_round_trip_with_ragged_edges(tmp_path, dtype, channels):
    arr = affinities((70, 40, 11, channels), np.dtype(dtype).type)
    vol = CloudVolume(f"file://{tmp_path}/layer", info=make_info(dtype, channels))
    vol.commit_info()
    vol[BOX] = arr
    assert len(chunk_files(tmp_path / "layer")) == 12
    assert_bits_equal(vol[BOX], after_offset(arr))


def test_volume_write_of_integers_stores_nothing(tmp_path):
    vol = CloudVolume(f"file://{tmp_path}/layer", info=make_info("int32", 1))
    with pytest.raises(InvalidInfoError, match=r"kempressed encoding cannot store dtype int32"):
        vol.commit_info()
    assert not (tmp_path / "layer" / "info").exists()
    with pytest.raises(EncodingError, match=r"kempressed.*int32"):
        vol[BOX] = np.zeros((70, 40, 11, 1), np.int32)
    scale = tmp_path / "layer" / "4_4_40"
    assert not scale.exists() or not any(scale.iterdir())


@pytest.mark.interop
def test_volume_layers_cross_read_with_cloudvolume(tmp_path, isolated_env):
    import cloudvolume

    arr = affinities((70, 40, 11, 3), np.float32)
    ours = CloudVolume(f"file://{tmp_path}/ours", info=make_info("float32", 3))
    ours.commit_info()
    ours[BOX] = arr
    theirs = cloudvolume.CloudVolume(
        f"file://{tmp_path}/theirs", info=make_info("float32", 3), progress=False
    )
    theirs.commit_info()
    theirs[BOX] = arr
    assert chunk_files(tmp_path / "ours") == chunk_files(tmp_path / "theirs")
    expected = after_offset(arr)
    assert_bits_equal(
        cloudvolume.CloudVolume(f"file://{tmp_path}/ours", progress=False)[BOX], expected
    )
    assert_bits_equal(CloudVolume(f"file://{tmp_path}/theirs")[BOX], expected)
