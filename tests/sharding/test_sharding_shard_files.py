"""Shard and minishard index encoders/decoders and whole shard files: property-based
round trips, layouts other writers use, and cloud-volume's encoder and decoder."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from cloudvolume.datasource.precomputed.sharding import (
    ShardingSpecification as CVSpec,
)
from cloudvolume.datasource.precomputed.sharding import ShardReader as CVReader
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import DecodingError
from cloudvol.precomputed.shard_files import encode_item
from cloudvol.sharding import (
    SHARDED_TYPE,
    ShardingSpecification,
    ShardReader,
    assemble_shard,
    decode_minishard_index,
    decode_shard_index,
    disassemble_shard,
    encode_minishard_index,
    iter_shard_items,
)


def make_spec(p=0, m=2, s=2, h="identity", mie="raw", de="raw"):
    return ShardingSpecification(SHARDED_TYPE, p, h, m, s, mie, de)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=40),
    st.data(),
    st.sampled_from(["raw", "gzip"]),
)
def test_minishard_index_round_trip(keys, data, encoding):
    keys = sorted(keys)
    n = len(keys)
    sizes = data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    gaps = data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    spec = make_spec(mie=encoding)
    raw = encode_minishard_index(np.asarray(keys, np.uint64), gaps, sizes, encoding)
    msi = decode_minishard_index(raw, spec, "test")
    assert msi.ids.tolist() == keys and msi.sizes.tolist() == sizes
    expected_starts, end = [], spec.index_length()
    for gap, size in zip(gaps, sizes, strict=True):
        expected_starts.append(end + gap)
        end = end + gap + size
    assert msi.starts.tolist() == expected_starts
    for key, start, size in zip(keys, expected_starts, sizes, strict=True):
        assert msi.find(key) == (start, size)


def test_unsorted_minishard_index_is_still_searchable():
    spec = make_spec()
    # keys 10, 5 (wrapping delta), 20: written in that order
    rows = np.array([[10, (5 - 10) % 2**64, 15], [0, 0, 0], [1, 2, 3]], dtype="<u8")
    msi = decode_minishard_index(rows.tobytes(), spec, "test")
    e = spec.index_length()
    assert msi.find(5) == (e + 1, 2) and msi.find(10) == (e, 1) and msi.find(20) == (e + 3, 3)
    assert msi.find(6) is None


@pytest.mark.parametrize("length", [1, 23, 25])
def test_minishard_index_of_wrong_length_is_a_decoding_error(length):
    with pytest.raises(DecodingError, match="multiple of 24"):
        decode_minishard_index(b"\0" * length, make_spec(), "f.shard")
    assert len(decode_minishard_index(b"", make_spec(), "f.shard")) == 0


def test_shard_index_checks_length_and_ranges():
    spec = make_spec(m=1)
    with pytest.raises(DecodingError, match="truncated"):
        decode_shard_index(b"\0" * 31, spec, "0.shard")
    bad = np.array([[8, 4], [0, 0]], dtype="<u8").tobytes()
    with pytest.raises(DecodingError, match="minishard 0"):
        decode_shard_index(bad, spec, "0.shard")
    ok = decode_shard_index(np.array([[0, 24], [24, 24]], dtype="<u8").tobytes(), spec, "x")
    assert ok.tolist() == [[32, 56], [56, 56]]


shard_specs = st.builds(
    make_spec,
    p=st.integers(0, 3), m=st.integers(0, 4), s=st.just(0),
    h=st.sampled_from(["identity", "murmurhash3_x86_128"]),
    mie=st.sampled_from(["raw", "gzip"]), de=st.sampled_from(["raw", "gzip"]),
)  # fmt: skip
items_strategy = st.dictionaries(
    st.integers(0, 2**64 - 1), st.binary(max_size=64), min_size=1, max_size=30
)


@settings(max_examples=150, deadline=None)
@given(shard_specs, items_strategy)
def test_shard_round_trip_and_cloudvolume_reads_ours(spec, items):
    encoded = [(k, encode_item(spec, v)) for k, v in items.items()]
    shard = bytes(assemble_shard(spec, encoded))
    assert disassemble_shard(spec, shard) == items
    theirs = CVReader(None, None, CVSpec.from_dict(spec.to_dict()))
    assert {int(k): bytes(v) for k, v in theirs.disassemble_shard(shard).items()} == items


@settings(max_examples=100, deadline=None)
@given(shard_specs, items_strategy)
def test_we_read_cloudvolume_shards(spec, items):
    theirs = CVSpec.from_dict(spec.to_dict())
    shard = theirs.synthesize_shard(dict(items))
    assert disassemble_shard(spec, shard) == items
    assert ShardingSpecification.coerce(spec.to_dict()).synthesize_shard(dict(items)) is not None


def test_tensorstore_style_layout_index_after_each_minishard_is_read():
    """TensorStore puts each minishard index right after that minishard's data."""
    spec = make_spec(m=1, s=0, mie="gzip")
    e = spec.index_length()
    body = bytearray()
    index = []
    for keys in ([2, 4], [1, 3]):  # minishards 0 and 1
        first, sizes = len(body), []
        for k in keys:
            sizes.append(k)
            body += bytes([k]) * k
        # the first item starts `first` bytes after the index; the others follow on
        gaps = [first] + [0] * (len(keys) - 1)
        msi = encode_minishard_index(np.asarray(keys, np.uint64), gaps, sizes, "gzip")
        index.append((len(body), len(body) + len(msi)))
        body += msi
    shard = np.asarray(index, dtype="<u8").tobytes() + bytes(body)
    assert len(np.asarray(index).tobytes()) == e
    assert disassemble_shard(spec, shard) == {k: bytes([k]) * k for k in (1, 2, 3, 4)}


def test_truncated_shards_name_the_chunk():
    spec = make_spec(m=0, s=0)
    shard = bytes(assemble_shard(spec, [(7, b"x" * 100)]))
    cut = shard[: spec.index_length() + 50]  # data cut short, index gone
    with pytest.raises(DecodingError, match="past the end"):
        list(iter_shard_items(spec, cut, "0.shard"))


def test_bad_gzip_item_and_index_raise():
    spec = make_spec(m=0, s=0, mie="gzip", de="gzip")
    shard = bytearray(assemble_shard(spec, [(7, encode_item(spec, b"payload" * 20))]))
    item_start = spec.index_length()
    shard[item_start + 12] ^= 0xFF
    with pytest.raises(DecodingError):
        disassemble_shard(spec, bytes(shard), "0.shard")
    shard = bytearray(assemble_shard(spec, [(7, encode_item(spec, b"payload"))]))
    shard[-3] ^= 0xFF  # inside the gzipped minishard index trailer
    with pytest.raises(DecodingError):
        disassemble_shard(spec, bytes(shard), "0.shard")


def test_data_offset_points_at_the_tail_of_an_item_like_cloudvolume():
    spec = make_spec(m=0, s=0, mie="raw", de="raw")
    items = {5: b"fragments" + b"MANIFEST", 9: b"frag" + b"MAN"}
    offsets = {5: 8, 9: 3}
    ours = spec.synthesize_shard(items, data_offset=offsets)
    theirs = CVSpec.from_dict(spec.to_dict()).synthesize_shard(dict(items), data_offset=offsets)
    assert ours == theirs
    assert disassemble_shard(spec, ours) == {5: b"MANIFEST", 9: b"MAN"}


def test_raw_shards_are_byte_identical_to_cloudvolume_for_one_minishard():
    spec = make_spec(m=0, s=0)
    items = {3: b"abc", 1: b"z" * 10, 2**40: b"q"}
    theirs = CVSpec.from_dict(spec.to_dict()).synthesize_shard(dict(items))
    assert spec.synthesize_shard(items) == theirs
    files = spec.synthesize_shards(items)
    assert list(files) == ["0.shard"] and files["0.shard"] == theirs


def test_compat_reader_decoders_match_cloudvolume():
    spec = make_spec(m=1, s=0, mie="gzip")
    items = {k: bytes([k % 256]) * (k % 7) for k in range(1, 40)}
    shard = spec.synthesize_shard(items)
    ours, theirs = (
        ShardReader(None, None, spec),
        CVReader(None, None, CVSpec.from_dict(spec.to_dict())),
    )
    head = spec.index_length()
    np.testing.assert_array_equal(
        ours.decode_index(shard[:head]), theirs.decode_index(shard[:head])
    )
    start, end = (int(v) for v in ours.decode_index(shard[:head])[1])
    np.testing.assert_array_equal(
        ours.decode_minishard_index(shard[start:end]),
        theirs.decode_minishard_index(shard[start:end]),
    )
    assert ours.get_filename(12) == theirs.get_filename(12)
    assert gzip.decompress(shard[start:end])  # the index really is gzip
