"""Sharding parameter heuristics: CloudVolume's two functions value for value, and
cloudvol's own block-shaped choice."""

from __future__ import annotations

import numpy as np
import pytest
from cloudvolume.datasource.precomputed import sharding as cv
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.datasource.precomputed.sharding import (
    compute_shard_params_for_hashed,
    compute_shard_params_for_image,
    image_shard_shape_from_spec,
)
from cloudvol.precomputed.image_shards import ImageShardLayout
from cloudvol.precomputed.info import ScaleGeometry
from cloudvol.precomputed.morton import axis_bits
from cloudvol.precomputed.shard_params import choose_image_sharding


@pytest.mark.parametrize(
    ("labels", "min_shards", "expected"),
    [(0, 1, (0, 0, 0)), (1, 1, (0, 0, 0)), (1365, 1, (0, 0, 0)), (1366, 1, (0, 1, 0)),
     (10**4, 1, (0, 3, 0)), (10**6, 1, (1, 9, 0)), (10**7, 1, (4, 9, 0)),
     (10**9, 1, (11, 9, 0)), (1, 7, (3, 0, 0)), (10**5, 7, (3, 4, 0))],
)  # fmt: skip
def test_hashed_params_exact_values(labels, min_shards, expected):
    assert compute_shard_params_for_hashed(labels, min_shards=min_shards) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**12), st.sampled_from([2**10, 2**13, 2**16]),
    st.sampled_from([2**12, 2**15, 40000]), st.integers(1, 4096),
)  # fmt: skip
def test_hashed_params_match_cloudvolume(labels, shard_index, minishard_index, min_shards):
    assert compute_shard_params_for_hashed(
        labels, shard_index, minishard_index, min_shards
    ) == cv.compute_shard_params_for_hashed(labels, shard_index, minishard_index, min_shards)


sizes = st.tuples(*[st.integers(1, 50000)] * 3)
chunks = st.tuples(*[st.sampled_from([1, 8, 16, 32, 64, 100, 128, 256])] * 3)


@settings(max_examples=300, deadline=None)
@given(
    sizes, chunks, st.sampled_from(["raw", "jpeg", "compressed_segmentation"]),
    st.sampled_from(["uint8", "uint32", "uint64", "float32"]),
    st.sampled_from([int(3.5e9), 2**26, 2**20]), st.sampled_from([4000, 100]),
)  # fmt: skip
def test_image_params_match_cloudvolume(size, chunk, encoding, dtype, shard_bytes, per_minishard):
    kwargs = dict(uncompressed_shard_bytesize=shard_bytes, max_labels_per_minishard=per_minishard)
    try:
        expected = cv.compute_shard_params_for_image(size, chunk, encoding, dtype, **kwargs)
    except ValueError:
        with pytest.raises(ValueError):
            compute_shard_params_for_image(size, chunk, encoding, dtype, **kwargs)
        return
    got = compute_shard_params_for_image(size, chunk, encoding, dtype, **kwargs)
    assert got.to_dict() == {k: (int(v) if not isinstance(v, str) else v)
                             for k, v in expected.to_dict().items()}  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(sizes, chunks, st.integers(0, 30), st.integers(0, 30))
def test_shard_shape_matches_cloudvolume(size, chunk, preshift, minishard):
    spec = {"preshift_bits": preshift, "minishard_bits": minishard}
    expected = cv.image_shard_shape_from_spec(spec, size, chunk)
    got = image_shard_shape_from_spec(spec, size, chunk)
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(*[st.integers(1, 5000)] * 3), st.tuples(*[st.sampled_from([16, 64, 100])] * 3),
    st.sampled_from(["uint8", "uint16", "uint64"]), st.integers(1, 3),
    st.sampled_from([2**16, 2**22, 2**26, int(3.5e9)]),
)  # fmt: skip
def test_chosen_sharding_is_block_shaped_and_sized(size, chunk, dtype, channels, shard_bytes):
    spec = choose_image_sharding(size, chunk, dtype, channels, shard_bytes=shard_bytes)
    grid = [-(-s // c) for s, c in zip(size, chunk, strict=True)]
    total = sum(axis_bits(grid))
    assert spec.hash == "identity"
    assert spec.preshift_bits + spec.minishard_bits + spec.shard_bits == total
    assert spec.index_length() <= 8192
    chunk_bytes = np.prod(chunk) * np.dtype(dtype).itemsize * channels
    per_shard = 2 ** (spec.preshift_bits + spec.minishard_bits)
    assert per_shard == 1 or per_shard * chunk_bytes <= shard_bytes
    geometry = ScaleGeometry("k", size, (0, 0, 0), chunk, (1, 1, 1), "raw", None, spec.to_dict())
    assert ImageShardLayout(geometry).blocked


def test_chosen_sharding_uses_raw_data_for_compressed_encodings():
    assert (
        choose_image_sharding((512,) * 3, (64,) * 3, "uint8", encoding="jpeg").data_encoding
        == "raw"
    )
    assert choose_image_sharding((512,) * 3, (64,) * 3, "uint8").data_encoding == "gzip"
    spec = choose_image_sharding((512,) * 3, (64,) * 3, "uint8", chunks_per_shard=64)
    assert (spec.preshift_bits + spec.minishard_bits, spec.shard_bits) == (6, 3)
