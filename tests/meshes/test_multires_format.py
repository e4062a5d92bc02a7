"""The multi-resolution mesh format layer: manifests, quantisation, fragments, info."""

from __future__ import annotations

import DracoPy
import numpy as np
import pytest
from cloudvolume.datasource.precomputed.mesh import multilod as cv_multilod
from cloudvolume.datasource.precomputed.mesh.common import apply_transform as cv_apply_transform
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import EncodingError, InvalidInfoError, MeshDecodeError
from cloudvol.precomputed.multires_mesh import (
    MultiLevelPrecomputedMeshManifest,
    apply_transform,
    decode_fragment,
    from_stored_model_space,
    manifest_length,
    require_raw_fragments,
    to_stored_model_space,
    validate_multires_info,
)

Manifest = MultiLevelPrecomputedMeshManifest


def two_lod_manifest(segid: int = 42) -> Manifest:
    return Manifest(
        segment_id=segid,
        chunk_shape=[4.0, 5.0, 6.0],
        grid_origin=[10.0, -2.0, 3.5],
        num_lods=2,
        lod_scales=[1.0, 3.0],  # not 2**L: node extents must not depend on it
        vertex_offsets=np.array([[0, 0, 0], [0.5, 0, -1]]),
        num_fragments_per_lod=[3, 1],
        fragment_positions=[[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 0]]],
        fragment_offsets=[[10, 0, 7], [25]],
    )


def test_manifest_round_trip_and_exact_length() -> None:
    manifest = two_lod_manifest()
    binary = manifest.to_binary()
    assert len(binary) == 28 + 20 * 2 + 16 * 4 == manifest.length == len(manifest)
    back = Manifest.from_binary(binary, segment_id=42)
    assert back == manifest
    assert back.to_binary() == binary
    # positions are [3][n] on disk: all x, then all y, then all z
    body = np.frombuffer(binary[68 : 68 + 36], dtype="<u4")
    assert body.tolist() == [0, 1, 0, 0, 0, 1, 0, 0, 0]
    assert back.fragment_sizes(0).tolist() == [10, 0, 7]
    assert back.lod_sizes().tolist() == [17, 25]
    assert back.data_length == 42
    assert back.lod_byte_range(1) == (17, 42)
    assert back.fragment_byte_ranges(0).tolist() == [[0, 10], [10, 10], [10, 17]]


def test_manifest_bytes_match_cloudvolume() -> None:
    ours = two_lod_manifest()
    # CloudVolume's to_binary only works with the flat size list Igneous builds.
    theirs = cv_multilod.MultiLevelPrecomputedMeshManifest(
        segment_id=42, chunk_shape=np.array([4, 5, 6], np.float32),
        grid_origin=np.array([10, -2, 3.5], np.float32),
        num_lods=2, lod_scales=[1, 3], vertex_offsets=[[0, 0, 0], [0.5, 0, -1]],
        num_fragments_per_lod=[3, 1],
        fragment_positions=[[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 0]]],
        fragment_offsets=[10, 0, 7, 25],
    )  # fmt: skip
    assert ours.to_binary() == theirs.to_binary()
    decoded = cv_multilod.MultiLevelPrecomputedMeshManifest.from_binary(ours.to_binary(), 42)
    assert len(decoded) == len(ours)
    for lod in range(2):
        assert np.array_equal(decoded.fragment_positions[lod], ours.fragment_positions[lod])
        assert np.array_equal(decoded.fragment_offsets[lod], ours.fragment_offsets[lod])


def test_igneous_style_flat_sizes_appended_after_construction() -> None:
    manifest = Manifest(
        1, [1, 1, 1], [0, 0, 0], 2, [1, 2], [[0, 0, 0]] * 2, [2, 1],
        [[[0, 0, 0], [1, 0, 0]], [[0, 0, 0]]], fragment_offsets=[],
    )  # fmt: skip
    with pytest.raises(EncodingError, match="segment 1"):
        manifest.to_binary()
    for size in (3, 4, 5):
        manifest.fragment_offsets.append(size)
    back = Manifest.from_binary(manifest.to_binary(), 1)
    assert [s.tolist() for s in back.fragment_offsets] == [[3, 4], [5]]


@pytest.mark.parametrize("cut", [1, -1, 50])
def test_wrong_length_manifest_names_segment_and_file(cut: int) -> None:
    binary = two_lod_manifest(segid=777).to_binary()
    bad = binary[:-cut] if cut > 0 else binary + b"\0"
    with pytest.raises(MeshDecodeError, match=r"mesh/777\.index.*segment 777.*expected 132"):
        Manifest.from_binary(bad, segment_id=777, where="mesh/777.index")


def test_short_or_absurd_headers_are_decode_errors() -> None:
    with pytest.raises(MeshDecodeError, match="shorter than the 28-byte header"):
        Manifest.from_binary(b"\0" * 20, segment_id=5, where="x")
    header = np.zeros(7, dtype="<u4")
    header[6] = 2**31  # num_lods
    with pytest.raises(MeshDecodeError, match="too short for its 2147483648 LODs"):
        Manifest.from_binary(header.tobytes(), segment_id=5, where="x")


manifests = st.integers(1, 4).flatmap(
    lambda num_lods: st.tuples(
        st.just(num_lods),
        st.lists(st.integers(0, 5), min_size=num_lods, max_size=num_lods),
        st.lists(
            st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=6 + 4 * num_lods,
            max_size=6 + 4 * num_lods,
        ),
        st.randoms(use_true_random=False),
    )
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(manifests, st.integers(0, 2**64 - 1))
def test_manifest_round_trip_property(case: tuple, segid: int) -> None:
    num_lods, counts, floats, rng = case
    positions = [[[rng.randrange(2**32) for _ in range(3)] for _ in range(n)] for n in counts]
    sizes = [[rng.randrange(2**32) for _ in range(n)] for n in counts]
    manifest = Manifest(
        segid, floats[0:3], floats[3:6], num_lods, floats[6 : 6 + num_lods],
        np.reshape(floats[6 + num_lods :], (num_lods, 3)), counts, positions, sizes,
    )  # fmt: skip
    binary = manifest.to_binary()
    assert len(binary) == manifest_length(num_lods, sum(counts))
    back = Manifest.from_binary(binary, segment_id=segid)
    assert back == manifest
    assert back.to_binary() == binary
    with pytest.raises(MeshDecodeError, match=f"segment {segid}"):
        Manifest.from_binary(binary[:-1], segment_id=segid)


# --- quantisation -----------------------------------------------------------------


def cv_manifest(ours: Manifest) -> cv_multilod.MultiLevelPrecomputedMeshManifest:
    return cv_multilod.MultiLevelPrecomputedMeshManifest.from_binary(
        ours.to_binary(), ours.segment_id
    )


@pytest.mark.parametrize("bits", [10, 16])
@pytest.mark.parametrize(("lod", "frag"), [(0, 0), (0, 2), (1, 0)])
def test_quantisation_matches_cloudvolume(bits: int, lod: int, frag: int) -> None:
    ours = two_lod_manifest()
    theirs = cv_manifest(ours)
    lo, hi = ours.node_bounds(lod)
    rng = np.random.default_rng(bits + lod + frag)
    vertices = rng.uniform(lo[frag], hi[frag], size=(500, 3)).astype(np.float32)
    q = to_stored_model_space(vertices, ours, lod, bits, frag)
    q_cv = cv_multilod.to_stored_model_space(vertices, theirs, lod, bits, frag)
    assert q.dtype == q_cv.dtype == np.uint16
    # CloudVolume rounds in float32, we in float64: only exact .5 ties may differ.
    assert np.abs(q.astype(int) - q_cv.astype(int)).max() <= 1
    assert np.mean(q == q_cv) > 0.99
    back = from_stored_model_space(q, ours, lod, bits, frag)
    back_cv = cv_multilod.from_stored_model_space(q.astype(np.float32), theirs, lod, bits, frag)
    np.testing.assert_allclose(back, back_cv, rtol=1e-6, atol=1e-4)
    # one quantum of the node is the worst round-trip error (half, plus float error)
    quantum = ours.chunk_shape * 2**lod / (2**bits - 1)
    assert np.all(np.abs(back - vertices) <= quantum / 2 + 1e-3)


def test_quantisation_clips_outside_the_node() -> None:
    manifest = two_lod_manifest()
    lo, hi = manifest.node_bounds(0)
    q = to_stored_model_space(np.array([lo[0] - 100, hi[0] + 100]), manifest, 0, 10, 0)
    assert q.tolist() == [[0, 0, 0], [1023, 1023, 1023]]


def test_apply_transform_matches_cloudvolume() -> None:
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(20, 3)) * 100
    transform = np.array([[8, 0.5, 0, 10], [0, 6, 0, -3], [0.1, 0, 40, 2], [0, 0, 0, 1]])
    np.testing.assert_allclose(
        apply_transform(vertices, transform), cv_apply_transform(vertices, transform), rtol=1e-12
    )
    np.testing.assert_allclose(
        apply_transform(vertices, transform[:3].ravel()),
        vertices @ transform[:3, :3].T + transform[:3, 3],
    )
    assert np.array_equal(apply_transform(vertices, np.eye(4)), vertices)


# --- fragments --------------------------------------------------------------------


def test_decode_fragment_to_nm() -> None:
    manifest = two_lod_manifest()
    q = np.array([[0, 0, 0], [1023, 0, 0], [0, 1023, 0], [0, 0, 1023]], dtype=np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)
    blob = DracoPy.encode(
        q, faces, quantization_bits=10, quantization_range=1023, quantization_origin=[0, 0, 0]
    )
    vertices, got_faces = decode_fragment(blob, manifest, 1, 0, 10, np.diag([2.0, 3.0, 4.0]))
    assert vertices.dtype == np.float32 and got_faces.dtype == np.uint32
    assert got_faces.shape == (2, 3)
    # node 0 of LOD 1: origin + offset = (10.5, -2, 2.5), extent = 2 * (4, 5, 6)
    expected = {(21.0, -6.0, 10.0), (37.0, -6.0, 10.0), (21.0, 24.0, 10.0), (21.0, -6.0, 58.0)}
    assert {tuple(v) for v in vertices.tolist()} == expected
    tris = {tuple(map(tuple, vertices[f].tolist())) for f in got_faces}
    assert len(tris) == 2


def test_corrupt_fragment_names_segment_lod_and_file() -> None:
    manifest = two_lod_manifest(segid=99)
    with pytest.raises(MeshDecodeError, match=r"mesh/99: fragment 2 of LOD 0 of segment 99"):
        decode_fragment(b"not draco at all", manifest, 0, 2, 10, where="mesh/99")
    cloud = DracoPy.encode(np.zeros((3, 3), dtype=np.float32) + np.arange(3)[:, None])
    with pytest.raises(MeshDecodeError, match="point cloud"):
        decode_fragment(cloud, manifest, 0, 0, 10, where="mesh/99")


# --- info -------------------------------------------------------------------------


GOOD_INFO = {
    "@type": "neuroglancer_multilod_draco",
    "vertex_quantization_bits": 16,
    "transform": [8, 0, 0, 0, 0, 8, 0, 0, 0, 0, 40, 0],
    "lod_scale_multiplier": 1.0,
}


def test_valid_info() -> None:
    meta = validate_multires_info(GOOD_INFO)
    assert meta.vertex_quantization_bits == 16 and meta.sharding is None
    assert meta.transform_matrix.tolist() == [
        [8, 0, 0, 0], [0, 8, 0, 0], [0, 0, 40, 0], [0, 0, 0, 1],
    ]  # fmt: skip
    spec = {
        "@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 0,
        "hash": "murmurhash3_x86_128", "minishard_bits": 2, "shard_bits": 1,
        "minishard_index_encoding": "gzip", "data_encoding": "raw",
    }  # fmt: skip
    assert validate_multires_info({**GOOD_INFO, "sharding": spec}).sharding is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("@type", "neuroglancer_legacy_mesh"),
        ("vertex_quantization_bits", 12),
        ("vertex_quantization_bits", True),
        ("transform", [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]),
        ("transform", [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, float("nan")]),
        ("lod_scale_multiplier", 0),
        ("lod_scale_multiplier", None),
        ("sharding", {"@type": "neuroglancer_uint64_sharded_v1"}),
    ],
)
def test_invalid_info_names_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInfoError, match=rf"layer/mesh/info: info field '{field}'"):
        validate_multires_info({**GOOD_INFO, field: value}, where="layer/mesh/info")


def test_gzip_data_encoding_is_refused() -> None:
    spec = {
        "@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 0, "hash": "identity",
        "minishard_bits": 0, "shard_bits": 0, "minishard_index_encoding": "raw",
        "data_encoding": "gzip",
    }  # fmt: skip
    parsed = validate_multires_info({**GOOD_INFO, "sharding": spec}, where="m/info")
    with pytest.raises(InvalidInfoError, match=r"m/info: info field 'sharding.data_encoding'"):
        require_raw_fragments(parsed.sharding, where="m/info")
