"""ShardingSpecification: validation, serialisation and key locations, checked
against the reference's test vectors and cloud-volume's implementation."""

from __future__ import annotations

import pytest
from cloudvolume.datasource.precomputed.sharding import (
    ShardingSpecification as CVSpec,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import SpecViolation
from cloudvol.sharding import SHARDED_TYPE, ShardingSpecification


def spec(**kw):
    fields = {"type": SHARDED_TYPE, "preshift_bits": 0, "hash": "identity",
              "minishard_bits": 2, "shard_bits": 3}  # fmt: skip
    fields.update(kw)
    return ShardingSpecification(**fields)


@pytest.mark.parametrize(
    ("key", "digest"),
    [(0, 0x4772B084E028AE41), (1, 0xE8BD67D616D4CE9A), (2, 0xD62F9CD21B013F5A),
     (1234567890123, 0x12C41574E351E23B)],
)  # fmt: skip
def test_murmurhash_test_vectors(key, digest):
    s = spec(hash="murmurhash3_x86_128", minishard_bits=64, shard_bits=0)
    assert s.hash_key(key) == digest
    assert s.locate_one(key) == (0, digest)


@pytest.mark.parametrize(
    "bad",
    [{"type": "neuroglancer_uint64_sharded_v2"}, {"preshift_bits": 64}, {"preshift_bits": -1},
     {"minishard_bits": 65}, {"shard_bits": 40, "minishard_bits": 30}, {"hash": "md5"},
     {"minishard_index_encoding": "zstd"}, {"data_encoding": "br"}, {"shard_bits": "3"}],
)  # fmt: skip
def test_invalid_specs_raise_spec_violation(bad):
    with pytest.raises(SpecViolation):
        spec(**bad)


def test_hash_assignment_is_checked():
    s = spec()
    s.hash = "murmurhash3_x86_128"
    with pytest.raises(SpecViolation):
        s.hash = "sha1"


def test_dict_round_trip_writes_every_field():
    s = spec(preshift_bits=1, minishard_index_encoding="gzip")
    d = s.to_dict()
    assert d == {"@type": SHARDED_TYPE, "preshift_bits": 1, "hash": "identity",
                 "minishard_bits": 2, "shard_bits": 3, "minishard_index_encoding": "gzip",
                 "data_encoding": "raw"}  # fmt: skip
    assert ShardingSpecification.from_dict(d) == s
    assert ShardingSpecification.from_json(s.to_json()) == s
    assert s.clone() == s and s.index_length() == 16 * 4
    with pytest.raises(SpecViolation):
        ShardingSpecification.from_dict({"preshift_bits": 0})


def test_filenames_are_padded_hex():
    assert spec(shard_bits=0).shard_filename(0) == "0.shard"
    assert spec(shard_bits=3).shard_filename(5) == "5.shard"
    assert spec(shard_bits=9).shard_filename(0x1F) == "01f.shard"


specs = st.builds(
    lambda p, m, s, h: (p, m, min(s, 64 - m), h),
    st.integers(0, 63), st.integers(0, 64), st.integers(0, 64),
    st.sampled_from(["identity", "murmurhash3_x86_128"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(specs, st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=10))
def test_locations_match_cloudvolume(params, keys):
    p, m, s, h = params
    ours = spec(preshift_bits=p, minishard_bits=m, shard_bits=s, hash=h)
    theirs = CVSpec(SHARDED_TYPE, preshift_bits=p, hash=h, minishard_bits=m, shard_bits=s)
    import numpy as np

    shards, minis = ours.locate(np.asarray(keys, dtype=np.uint64))
    for key, shard, mini in zip(keys, shards.tolist(), minis.tolist(), strict=True):
        expected = theirs.compute_shard_location(key)
        got = ours.compute_shard_location(key)
        assert got.shard_number == expected.shard_number
        assert got.minishard_number == int(expected.minishard_number) == mini
        assert got.remainder == int(expected.remainder)
        assert ours.shard_filename(shard) == expected.shard_number + ".shard"
        assert ours.locate_one(key) == (shard, mini)
