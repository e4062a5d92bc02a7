"""The image encodings (png, jpeg, jxl) one chunk at a time: round trips, the 2-D
tiling (written X × Y·Z, read in any factorisation), options, and errors.

The data helpers here are shared by the other ``test_image_*`` modules.
"""

from __future__ import annotations

from typing import Any

import imagecodecs
import numpy as np
import pytest
import simplejpeg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudvol import chunks
from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.exceptions import DecodingError, EncodingError

# Every (encoding, dtype, channels) the image encodings store.
FORMATS = [
    *[("png", dt, c) for dt in ("uint8", "uint16") for c in (1, 2, 3, 4)],
    ("jpeg", "uint8", 1),
    ("jpeg", "uint8", 3),
    ("jxl", "uint8", 1),
    ("jxl", "uint8", 3),
]
# Full, ragged-edge, single-voxel and X = 3 (jxl's ambiguous frame/colour shape) chunks.
SHAPES = [(64, 64, 64), (37, 20, 5), (1, 1, 1), (3, 5, 2)]
# Minimum PSNR (dB) at quality 85 on :func:`smooth_chunk` data; measured 48.8-49.8
# (jpeg gray), 43.8-44.9 (jpeg RGB), 49.1-52.1 (jxl) on the shapes used here.
MIN_PSNR = {("jpeg", 1): 45.0, ("jpeg", 3): 40.0, ("jxl", 1): 45.0, ("jxl", 3): 45.0}
LOSSLESS_FORMATS = [f for f in FORMATS if f[0] != "jpeg"]
LOSSLESS_JXL = {"jxl_quality": 100}


def smooth_chunk(shape: tuple[int, int, int], channels: int, dtype: str = "uint8") -> np.ndarray:
    """A Fortran-ordered ``shape + (channels,)`` array of slowly varying sinusoids
    (different per channel) spanning most of the dtype's range: what lossy codecs
    are meant for, so PSNR thresholds are meaningful."""
    x, y, z = shape
    gx, gy, gz = np.meshgrid(np.arange(x), np.arange(y), np.arange(z), indexing="ij")
    planes = [
        0.5
        + 0.2 * np.sin(gx / (7 + k) + k)
        + 0.15 * np.cos(gy / (5 + 2 * k))
        + 0.1 * np.sin(gz / (4 + k))
        for k in range(channels)
    ]
    top = np.iinfo(dtype).max
    return np.asfortranarray((np.stack(planes, axis=-1) * top).round().astype(dtype))


def noise_chunk(
    shape: tuple[int, ...], channels: int, dtype: str = "uint8", seed: int = 0
) -> np.ndarray:
    """Uniform random values over the dtype's whole range, Fortran-ordered."""
    rng = np.random.default_rng(seed)
    top = int(np.iinfo(dtype).max)
    data = rng.integers(0, top, size=(*shape, channels), dtype=dtype, endpoint=True)
    return np.asfortranarray(data)


def psnr(actual: np.ndarray, expected: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for uint8 data (inf when equal)."""
    err = np.asarray(actual, dtype=np.float64) - np.asarray(expected, dtype=np.float64)
    mse = float(np.mean(err**2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def lossless_options(encoding: str) -> dict[str, Any]:
    """Options under which ``encoding`` round-trips exactly (jpeg never does)."""
    return dict(LOSSLESS_JXL) if encoding == "jxl" else {}


def spec_for(array: np.ndarray, key: str = "8_8_8/0-8_0-8_0-8", **options: Any) -> ChunkSpec:
    return ChunkSpec(
        shape=array.shape,  # type: ignore[arg-type]
        dtype=array.dtype,
        options=options,
        key=key,
    )


def to_image(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """What the format stores: voxels in Fortran order as pixels row by row."""
    c = array.shape[3]
    return np.ascontiguousarray(array.transpose(2, 1, 0, 3)).reshape(height, width, c)


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [("png", "image/png"), ("jpeg", "image/jpeg"), ("jxl", "image/jxl")],
)
def test_registry_serves_image_codecs_uncompressed_on_the_wire(encoding: str, content_type: str):
    codec = get_codec(encoding)
    assert codec.name == encoding
    assert codec.content_type == content_type
    assert codec.transport_compressed_by_default is False


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("encoding", "dtype", "channels"), LOSSLESS_FORMATS)
def test_lossless_round_trip_through_chunks_module(
    encoding: str, dtype: str, channels: int, shape: tuple[int, int, int]
):
    array = noise_chunk(shape, channels, dtype, seed=len(shape) + channels)
    data = chunks.encode(array, encoding, compression_params=lossless_options(encoding))
    decoded = chunks.decode(data, encoding, shape=array.shape, dtype=dtype)
    assert decoded.shape == array.shape
    assert decoded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(decoded, array)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(
    ("encoding", "channels"), [("jpeg", 1), ("jpeg", 3), ("jxl", 1), ("jxl", 3)]
)
def test_lossy_round_trip_meets_psnr_at_quality_85(
    encoding: str, channels: int, shape: tuple[int, int, int]
):
    array = smooth_chunk(shape, channels)
    data = chunks.encode(array, encoding)  # default quality: 85 for both
    decoded = chunks.decode(data, encoding, shape=array.shape, dtype="uint8")
    assert decoded.shape == array.shape
    assert decoded.dtype == np.uint8
    if shape == (1, 1, 1):
        # A single pixel survives only approximately, whatever the PSNR says.
        assert np.abs(decoded.astype(int) - array).max() <= 4
    elif encoding == "jxl" and channels == 3 and shape[0] <= 4:
        # CloudVolume's layout makes imagecodecs read X ≤ 4 as colour samples, so
        # libjxl compresses neighbouring voxels as colours: 36-42 dB measured.
        assert psnr(decoded, array) >= 35.0
    else:
        assert psnr(decoded, array) >= MIN_PSNR[encoding, channels]


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_any_memory_layout_encodes_to_the_same_bytes(encoding: str, dtype: str, channels: int):
    array = noise_chunk((9, 7, 4), channels, dtype)
    options = lossless_options(encoding)
    expected = chunks.encode(array, encoding, compression_params=options)
    c_order = np.ascontiguousarray(array)
    padded = np.zeros((12, 9, 6, channels), dtype=dtype, order="F")
    padded[1:10, 2:9, 1:5] = array
    strided_view = padded[1:10, 2:9, 1:5]
    for variant in (c_order, strided_view):
        assert chunks.encode(variant, encoding, compression_params=options) == expected


def test_big_endian_uint16_input_encodes_like_native_input():
    array = noise_chunk((10, 6, 3), 2, "uint16")
    swapped = array.astype(">u2")
    assert chunks.encode(swapped, "png") == chunks.encode(array, "png")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(LOSSLESS_FORMATS),
    shape=st.tuples(*[st.integers(1, 17)] * 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_lossless_formats_round_trip_random_shapes_and_values(
    fmt: tuple[str, str, int], shape: tuple[int, int, int], seed: int
):
    encoding, dtype, channels = fmt
    array = noise_chunk(shape, channels, dtype, seed)
    data = chunks.encode(array, encoding, compression_params=lossless_options(encoding))
    np.testing.assert_array_equal(chunks.decode(data, encoding, array.shape, dtype), array)


@settings(max_examples=30, deadline=None)
@given(
    channels=st.sampled_from([1, 3]),
    shape=st.tuples(*[st.integers(1, 17)] * 3),
    value=st.integers(0, 255),
)
def test_jpeg_keeps_shape_and_nearly_keeps_constant_chunks(
    channels: int, shape: tuple[int, int, int], value: int
):
    array = np.full((*shape, channels), value, dtype=np.uint8, order="F")
    decoded = chunks.decode(chunks.encode(array, "jpeg"), "jpeg", array.shape, "uint8")
    assert decoded.shape == array.shape
    assert np.abs(decoded.astype(int) - value).max() <= 2


# --------------------------------------------------------------------------- tiling


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_written_image_is_x_wide_and_y_times_z_high(encoding: str, dtype: str, channels: int):
    array = noise_chunk((6, 4, 3), channels, dtype) if encoding != "jpeg" else None
    if array is None:
        array = smooth_chunk((6, 4, 3), channels)
    data = chunks.encode(array, encoding, compression_params=lossless_options(encoding))
    if encoding == "png":
        image = imagecodecs.png_decode(data)
        assert image.shape[:2] == (12, 6)
        np.testing.assert_array_equal(image.reshape(12, 6, channels), to_image(array, 6, 12))
    elif encoding == "jpeg":
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        assert (width, height) == (6, 12)
    elif channels == 1:
        np.testing.assert_array_equal(
            imagecodecs.jpegxl_decode(data), to_image(array, 6, 12)[..., 0]
        )
    else:
        # CloudVolume's 3-channel layout: one grayscale frame per channel.
        for k in range(3):
            frame = imagecodecs.jpegxl_decode(data, k)
            np.testing.assert_array_equal(frame, to_image(array[..., k : k + 1], 6, 12)[..., 0])


def _encode_layout(encoding: str, array: np.ndarray, width: int) -> bytes:
    """Encode a chunk straight with the image library as an image ``width`` pixels wide
    (jxl: CloudVolume's channel-first stack of one-channel images)."""
    c = array.shape[3]
    height = array.shape[0] * array.shape[1] * array.shape[2] // width
    image = to_image(array, width, height)
    if encoding == "png":
        return imagecodecs.png_encode(image if c > 1 else image[..., 0], level=1)
    if encoding == "jpeg":
        space, subsampling = {1: ("GRAY", "Gray"), 3: ("RGB", "444")}[c]
        return simplejpeg.encode_jpeg(
            image, quality=95, colorspace=space, colorsubsampling=subsampling
        )
    planes = np.ascontiguousarray(np.moveaxis(image, 2, 0))
    return imagecodecs.jpegxl_encode(
        planes if c > 1 else planes[0],
        photometric="RGB" if c > 1 else "GRAY",
        lossless=True,
        level=100,
    )


@pytest.mark.parametrize("factor", ["x*y by z", "x*y*z by 1", "x by y*z"])
@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_reads_any_width_height_factorisation(
    encoding: str, dtype: str, channels: int, factor: str
):
    # "x*y by z" is what older tensorstore wrote, "x by y*z" what everyone writes now.
    array = smooth_chunk((8, 5, 3), channels, dtype)
    width = {"x*y by z": 40, "x*y*z by 1": 120, "x by y*z": 8}[factor]
    data = _encode_layout(encoding, array, width)
    decoded = chunks.decode(data, encoding, array.shape, dtype)
    if encoding == "jpeg":
        assert psnr(decoded, array) >= 40
    else:
        np.testing.assert_array_equal(decoded, array)


def test_jxl_reads_decoded_samples_in_order_as_in_neuroglancer():
    # Neuroglancer concatenates the frames' samples and takes them as the Fortran
    # (x, y, z, c) chunk; a stack of three grayscale frames is CloudVolume's layout.
    array = noise_chunk((6, 2, 2), 3, seed=9)
    frames = np.ascontiguousarray(array.transpose(3, 2, 1, 0)).reshape(3, 4, 6)
    data = imagecodecs.jpegxl_encode(frames, photometric="RGB", lossless=True, level=100)
    assert imagecodecs.jpegxl_decode(data, 0).shape == (4, 6)  # really separate frames
    np.testing.assert_array_equal(chunks.decode(data, "jxl", array.shape, "uint8"), array)


def test_jpeg_chunk_taller_than_libjpeg_allows_is_written_x_times_y_wide():
    # Y·Z = 65 792 > 65 500, the largest JPEG side libjpeg-turbo writes.
    array = smooth_chunk((1, 256, 257), 1)
    data = chunks.encode(array, "jpeg")
    height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    assert (width, height) == (256, 257)
    assert psnr(chunks.decode(data, "jpeg", array.shape, "uint8"), array) >= 40


def test_jpeg_chunk_too_large_for_any_layout_raises_encoding_error():
    array = np.broadcast_to(np.uint8(0), (70000, 1, 70000, 1))  # no memory behind it
    spec = ChunkSpec(shape=(70000, 1, 70000, 1), dtype=np.dtype("uint8"), key="k/huge")
    with pytest.raises(EncodingError, match=r"k/huge: a 70000×1×70000 chunk does not fit a jpeg"):
        get_codec("jpeg").encode(array, spec)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("encoding", "name", "low", "high"),
    [
        ("jpeg", "jpeg_quality", 30, 95),
        ("jpeg", "level", 30, 95),  # CloudVolume's chunks.encode spelling
        ("jxl", "jxl_quality", 30, 95),
        ("jxl", "level", 30, 95),
        ("png", "png_level", 9, 0),  # level 0 stores, 9 compresses: bigger second
        ("png", "level", 9, 0),
    ],
)
def test_quality_options_change_the_output_size(encoding: str, name: str, low: int, high: int):
    array = smooth_chunk((32, 32, 8), 1)
    small = chunks.encode(array, encoding, compression_params={name: low})
    big = chunks.encode(array, encoding, compression_params={name: high})
    assert len(small) < len(big)


def test_jxl_quality_100_is_lossless_and_effort_changes_the_bytes():
    array = noise_chunk((16, 16, 4), 1)
    lossless = chunks.encode(array, "jxl", compression_params={"jxl_quality": 100})
    np.testing.assert_array_equal(chunks.decode(lossless, "jxl", array.shape, "uint8"), array)
    fast = chunks.encode(array, "jxl", compression_params={"jxl_effort": 1})
    default = chunks.encode(array, "jxl", compression_params={"jxl_effort": None})
    assert fast != default
    assert default == chunks.encode(array, "jxl", compression_params={"jxl_effort": 5})
    fast_decode = chunks.encode(array, "jxl", compression_params={"jxl_decodingspeed": 4})
    assert fast_decode != default


@pytest.mark.parametrize(
    ("encoding", "options", "match"),
    [
        ("jpeg", {"jpeg_quality": 101}, "jpeg_quality=101 is outside 0..100"),
        ("jpeg", {"jpeg_quality": "high"}, "jpeg_quality='high' is not an integer"),
        ("png", {"png_level": 10}, "png_level=10 is outside 0..9"),
        ("png", {"png_level": 2.5}, "png_level=2.5 is not an integer"),
        ("jxl", {"jxl_effort": 0}, "jxl_effort=0 is outside 1..10"),
        ("jxl", {"jxl_decodingspeed": 5}, "jxl_decodingspeed=5 is outside 0..4"),
        ("jxl", {"jxl_quality": True}, "jxl_quality=True is not an integer"),
    ],
)
def test_invalid_options_raise_encoding_error_naming_them(
    encoding: str, options: dict[str, Any], match: str
):
    array = smooth_chunk((4, 4, 4), 1)
    with pytest.raises(EncodingError, match=match) as err:
        get_codec(encoding).encode(array, spec_for(array, key="1_1_1/0-4_0-4_0-4", **options))
    assert "1_1_1/0-4_0-4_0-4" in str(err.value)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("encoding", "dtype", "channels", "match"),
    [
        ("jpeg", "float32", 1, "cannot store float32 data: it accepts uint8"),
        ("jpeg", "uint16", 1, "cannot store uint16 data: it accepts uint8"),
        ("jpeg", "int8", 1, "cannot store int8 data"),
        ("jpeg", "uint8", 2, "cannot store 2 channel.*accepts 1 or 3"),
        ("jpeg", "uint8", 4, "cannot store 4 channel"),
        ("png", "uint32", 1, "cannot store uint32 data: it accepts uint8 or uint16"),
        ("png", "int16", 1, "cannot store int16 data"),
        ("png", "float32", 3, "cannot store float32 data"),
        ("png", "uint8", 5, "cannot store 5 channel.*accepts 1, 2, 3 or 4"),
        ("jxl", "uint16", 1, "cannot store uint16 data: it accepts uint8"),
        ("jxl", "uint8", 2, "cannot store 2 channel.*accepts 1 or 3"),
        ("jxl", "uint8", 4, "cannot store 4 channel"),
    ],
)
def test_unsupported_dtype_or_channels_raise_encoding_error(
    encoding: str, dtype: str, channels: int, match: str
):
    codec = get_codec(encoding)
    with pytest.raises(EncodingError, match=match):
        codec.check(np.dtype(dtype), channels)
    with pytest.raises(EncodingError, match=match):
        chunks.encode(np.zeros((4, 4, 4, channels), dtype=dtype), encoding)


def test_encode_rejects_an_array_of_another_shape_or_dtype():
    codec = get_codec("png")
    array = noise_chunk((4, 4, 4), 1)
    spec = ChunkSpec(shape=(4, 4, 5, 1), dtype=np.dtype("uint8"), key="k/shape")
    with pytest.raises(EncodingError, match=r"k/shape.*\(4, 4, 4, 1\)"):
        codec.encode(array, spec)
    spec16 = ChunkSpec(shape=(4, 4, 4, 1), dtype=np.dtype("uint16"), key="k/dtype")
    with pytest.raises(EncodingError, match=r"k/dtype.*uint8 array given for a uint16 layer"):
        codec.encode(array, spec16)


def _encoded(encoding: str, channels: int, shape=(16, 8, 4), dtype: str = "uint8") -> bytes:
    array = smooth_chunk(shape, channels, dtype)
    return chunks.encode(array, encoding, compression_params=lossless_options(encoding))


def _spec(shape: tuple[int, int, int, int], dtype: str = "uint8") -> ChunkSpec:
    return ChunkSpec(shape=shape, dtype=np.dtype(dtype), key="4_4_40/0-16_0-8_0-4")


def _corruptions(data: bytes) -> dict[str, bytes]:
    # Zeroing most of the payload (header kept) and cutting it in half both break
    # every one of these formats' entropy-coded data or checksums.
    keep = min(40, len(data) // 4)
    return {
        "truncated": data[: len(data) // 2],
        "zeroed": data[:keep] + bytes(len(data) - keep),
        "garbage": b"not an image at all, just some bytes" * 3,
        "empty-ish": data[:4],
    }


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "garbage", "empty-ish"])
@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_corrupt_or_truncated_data_raises_decoding_error_naming_key_and_encoding(
    encoding: str, dtype: str, channels: int, damage: str
):
    data = _corruptions(_encoded(encoding, channels, dtype=dtype))[damage]
    spec = _spec((16, 8, 4, channels), dtype)
    with pytest.raises(DecodingError) as err:
        get_codec(encoding).decode(data, spec)
    assert "4_4_40/0-16_0-8_0-4" in str(err.value)
    assert encoding in str(err.value)


@pytest.mark.parametrize(("encoding", "dtype", "channels"), FORMATS)
def test_image_of_another_chunk_size_raises_decoding_error(
    encoding: str, dtype: str, channels: int
):
    data = _encoded(encoding, channels, dtype=dtype)
    with pytest.raises(DecodingError, match=r"4_4_40/0-16_0-8_0-4.*(pixels|samples).*16×8×5"):
        get_codec(encoding).decode(data, _spec((16, 8, 5, channels), dtype))


@pytest.mark.parametrize(
    ("encoding", "written", "read"),
    [("png", 1, 3), ("png", 4, 2), ("jpeg", 1, 3), ("jpeg", 3, 1), ("jxl", 1, 3), ("jxl", 3, 1)],
)
def test_image_with_another_channel_count_raises_decoding_error(
    encoding: str, written: int, read: int
):
    data = _encoded(encoding, written)
    with pytest.raises(DecodingError, match=r"4_4_40/0-16_0-8_0-4.*channel"):
        get_codec(encoding).decode(data, _spec((16, 8, 4, read)))


@pytest.mark.parametrize(("written", "read"), [("uint16", "uint8"), ("uint8", "uint16")])
def test_png_bit_depth_must_match_the_layer_dtype(written: str, read: str):
    data = _encoded("png", 1, dtype=written)
    with pytest.raises(DecodingError, match=f"{written} samples, the layer is {read}"):
        get_codec("png").decode(data, _spec((16, 8, 4, 1), read))


def test_decoders_accept_memoryview_input():
    for encoding, _, channels in FORMATS[:1] + FORMATS[-4:]:
        array = smooth_chunk((8, 4, 2), channels)
        data = chunks.encode(array, encoding, compression_params=lossless_options(encoding))
        decoded = get_codec(encoding).decode(memoryview(data), spec_for(array))
        assert decoded.shape == array.shape


def test_png_of_a_tiny_incompressible_chunk_encodes():
    # found by hypothesis: imagecodecs' output estimate is too small for this chunk
    array = noise_chunk((1, 11, 11), 1, "uint8", 0)
    data = chunks.encode(array, "png", compression_params=lossless_options("png"))
    np.testing.assert_array_equal(chunks.decode(data, "png", array.shape, "uint8"), array)
