"""Transport compression: option values, standard formats, errors."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import (
    CompressionError,
    DecompressionError,
    UnsupportedCompressionType,
)
from cloudvol.storage.compression import (
    ChecksummedBytes,
    as_byte_buffer,
    compress,
    decompress,
    gzip_backend_for_level,
    normalize_compress,
    normalize_content_encoding,
    split_suffix,
    suffix_for,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), (False, None), (0, None), ("", None),
        (True, "gzip"), (1, "gzip"), ("gzip", "gzip"), ("GZIP", "gzip"),
        ("br", "br"), ("zstd", "zstd"), (np.bool_(True), "gzip"), (np.bool_(False), None),
    ],
)  # fmt: skip
def test_normalize_compress_accepts_cloudvolume_values(value: object, expected: str | None) -> None:
    assert normalize_compress(value) == expected


@pytest.mark.parametrize("value", ["lz4", "deflate", 2, 3.5, object(), "x-gzip"])
def test_normalize_compress_rejects_others_naming_value_and_choices(value: object) -> None:
    with pytest.raises(UnsupportedCompressionType) as err:
        normalize_compress(value)
    assert repr(value) in str(err.value)
    assert "'gzip'" in str(err.value) and "'br'" in str(err.value) and "'zstd'" in str(err.value)
    assert isinstance(err.value, ValueError)  # CloudVolume users catch ValueError


def test_content_encoding_aliases_and_unknown_values() -> None:
    assert normalize_content_encoding(None) is None
    assert normalize_content_encoding("identity") is None
    assert normalize_content_encoding("x-gzip") == "gzip"
    assert normalize_content_encoding(" GZIP ") == "gzip"
    with pytest.raises(UnsupportedCompressionType, match=r"k/1.*compress"):
        normalize_content_encoding("compress", key="k/1")


def _sample() -> bytes:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(32, 32, 32)).astype(np.uint64) * (2**40)
    return labels.tobytes()


@pytest.mark.parametrize("level", [None, *range(10)])
def test_gzip_output_is_standard_at_every_level(level: int | None) -> None:
    data = _sample()
    stream = compress(data, "gzip", level)
    assert stream[:2] == b"\x1f\x8b"
    assert gzip.decompress(stream) == data
    assert zlib.decompress(stream, 31) == data
    assert decompress(stream, "gzip") == data


def test_gzip_level_mapping_is_documented_split() -> None:
    assert gzip_backend_for_level(1) == ("isal", 1)
    assert gzip_backend_for_level(2) == ("isal", 2)
    for level in (0, 3, 6, 9):
        assert gzip_backend_for_level(level) == ("libdeflate", level)


def test_gzip_levels_trade_speed_for_ratio() -> None:
    data = _sample()
    sizes = {lvl: len(compress(data, "gzip", lvl)) for lvl in (0, 1, 6, 9)}
    assert sizes[0] > len(data)  # stored blocks: no compression
    assert sizes[9] <= sizes[6] < sizes[1] < sizes[0]


@pytest.mark.parametrize(("method", "levels"), [("br", (0, 5, 11)), ("zstd", (1, 3, 19))])
def test_brotli_and_zstd_levels(method: str, levels: tuple[int, ...]) -> None:
    data = _sample()
    for level in levels:
        assert decompress(compress(data, method, level), method) == data


@pytest.mark.parametrize(
    ("method", "level"), [("gzip", 10), ("gzip", -1), ("br", 12), ("zstd", 23)]
)
def test_invalid_levels_raise(method: str, level: int) -> None:
    with pytest.raises(CompressionError, match=str(level)):
        compress(b"x", method, level)


def test_compress_none_returns_a_flat_buffer() -> None:
    assert compress(b"abc", None) == b"abc"
    arr = np.arange(6, dtype=np.uint16).reshape(2, 3)
    assert bytes(compress(memoryview(arr), None)) == arr.tobytes()


def test_as_byte_buffer_keeps_memory_order_and_copies_only_when_needed() -> None:
    data = b"abc"
    assert as_byte_buffer(data) is data
    f = np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert bytes(as_byte_buffer(memoryview(f))) == f.tobytes(order="F")
    strided = memoryview(np.arange(10, dtype=np.uint8))[::3]
    assert as_byte_buffer(strided) == bytes([0, 3, 6, 9])
    with pytest.raises(TypeError):
        as_byte_buffer(12345)


def test_multi_member_gzip_decodes_every_member() -> None:
    stream = gzip.compress(b"hello ") + gzip.compress(b"world")
    assert decompress(stream, "gzip") == b"hello world"
    three = gzip.compress(b"a") + gzip.compress(b"bb") + gzip.compress(b"ccc" * 1000)
    assert decompress(three, "gzip") == b"abb" + b"ccc" * 1000


def test_only_gzip_output_is_marked_checksummed() -> None:
    """gzip's CRC-32 and length were checked; brotli has no checksum and zstd frames
    only optionally carry one, so their output is plain bytes."""
    for stream in (gzip.compress(b"payload"), gzip.compress(b"pay") + gzip.compress(b"load")):
        out = decompress(stream, "gzip")
        assert isinstance(out, ChecksummedBytes) and out == b"payload"
    for method in ("br", "zstd"):
        out = decompress(compress(b"payload", method), method)
        assert type(out) is bytes and out == b"payload"
    assert type(decompress(b"payload", None)) is bytes
    assert type(ChecksummedBytes(b"payload")[1:]) is bytes  # a slice loses the mark


@pytest.mark.parametrize(
    "stream",
    [
        gzip.compress(b"x" * 100_000)[:-20],  # truncated
        b"\x1f\x8b" + b"garbage" * 10,  # right magic, wrong content
        b"plain text, not gzip",
    ],
    ids=["truncated", "garbage", "not-gzip"],
)
def test_bad_gzip_raises_decompression_error_naming_key(stream: bytes) -> None:
    with pytest.raises(DecompressionError) as err:
        decompress(stream, "gzip", key="gs://b/layer/0-64_0-64_0-64")
    assert "0-64_0-64_0-64" in str(err.value) and "gzip" in str(err.value)


@pytest.mark.parametrize("method", ["br", "zstd", "xz", "bzip2"])
def test_bad_data_for_other_methods_names_method(method: str) -> None:
    with pytest.raises(DecompressionError, match=method):
        decompress(b"definitely not compressed", method, key="k")


def test_zero_length_object_marked_compressed_is_an_error() -> None:
    with pytest.raises(DecompressionError, match="zero-length"):
        decompress(b"", "gzip", key="k")
    assert decompress(b"", None) == b""


def test_reads_xz_and_bzip2() -> None:
    assert decompress(lzma.compress(b"xz data"), "xz") == b"xz data"
    assert decompress(bz2.compress(b"bz2 data"), "bzip2") == b"bz2 data"


def test_zstd_frames_without_content_size_decode() -> None:
    import io

    import zstandard

    buf = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(buf, closefd=False) as writer:
        writer.write(b"streamed " * 1000)
    assert decompress(buf.getvalue(), "zstd") == b"streamed " * 1000


def test_suffix_table() -> None:
    assert [suffix_for(m) for m in (None, "gzip", "br", "zstd")] == ["", ".gz", ".br", ".zstd"]
    assert split_suffix("a/b.gz") == ("a/b", "gzip")
    assert split_suffix("a/b.bz2") == ("a/b", "bzip2")
    assert split_suffix("a.gz/b") == ("a.gz/b", None)
    assert split_suffix("info") == ("info", None)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), method=st.sampled_from(["gzip", "br", "zstd"]),
       level=st.sampled_from([None, 1, 2, 3]))  # fmt: skip
def test_round_trip_property(data: bytes, method: str, level: int | None) -> None:
    assert decompress(compress(data, method, level), method) == data
