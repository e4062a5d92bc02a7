"""The precomputed skeleton format layer: info defaults/validation and the binary."""

from __future__ import annotations

import struct

import numpy as np
import osteoid
import pytest
from cloudvolume.datasource.precomputed.skeleton.metadata import PrecomputedSkeletonMetadata
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import InvalidInfoError, SkeletonDecodeError, SkeletonEncodeError
from cloudvol.precomputed.skeleton_format import (
    DEFAULT_VERTEX_ATTRIBUTES,
    decode_skeleton,
    default_skeleton_info,
    encode_skeleton,
    skeleton_transform,
    validate_skeleton_info,
)

RADIUS, TYPES = DEFAULT_VERTEX_ATTRIBUTES
VERTS = np.array([[0, 1, 2], [3, 4, 5], [6.5, 7, 8]], dtype=np.float32)
EDGES = np.array([[0, 1], [1, 2]], dtype=np.uint32)


def hand_encoded(vertices, edges, *attrs: bytes) -> bytes:
    out = struct.pack("<II", len(vertices), len(edges))
    out += b"".join(struct.pack("<3f", *v) for v in vertices)
    out += b"".join(struct.pack("<2I", *e) for e in edges)
    return out + b"".join(attrs)


# --- info ------------------------------------------------------------------------------


def test_default_info_is_cloudvolumes():
    assert default_skeleton_info() == PrecomputedSkeletonMetadata.default_info(None)


def test_default_info_is_a_fresh_copy_that_validates():
    info = default_skeleton_info()
    info["vertex_attributes"][0]["id"] = "changed"
    assert default_skeleton_info()["vertex_attributes"][0]["id"] == "radius"
    validate_skeleton_info(default_skeleton_info())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"@type": "neuroglancer_legacy_mesh"}, "@type"),
        ({"transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]}, "transform"),
        ({"transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, float("nan")]}, "transform"),
        ({"transform": "identity"}, "transform"),
        ({"vertex_attributes": {"id": "radius"}}, "vertex_attributes"),
        ({"vertex_attributes": [RADIUS, RADIUS]}, "vertex_attributes[1].id"),
        (
            {"vertex_attributes": [{"id": "r", "data_type": "float64", "num_components": 1}]},
            "vertex_attributes[0].data_type",
        ),
        (
            {"vertex_attributes": [{"id": "r", "data_type": "uint8", "num_components": 0}]},
            "vertex_attributes[0].num_components",
        ),
        (
            {"vertex_attributes": [{"id": "r", "data_type": "uint8", "num_components": True}]},
            "vertex_attributes[0].num_components",
        ),
        (
            {"vertex_attributes": [{"id": "", "data_type": "uint8", "num_components": 1}]},
            "vertex_attributes[0].id",
        ),
        ({"sharding": "yes"}, "sharding"),
        ({"spatial_index": [1]}, "spatial_index"),
    ],
)
def test_validate_rejects_and_names_the_field(change, field):
    info = {**default_skeleton_info(), **change}
    with pytest.raises(InvalidInfoError) as err:
        validate_skeleton_info(info, where="gs://b/seg/skeletons/info")
    assert repr(field) in str(err.value)
    assert "gs://b/seg/skeletons/info" in str(err.value)


def test_validate_accepts_igneous_style_info():
    info = {
        "@type": "neuroglancer_skeletons",
        "transform": [8, 0, 0, 0, 0, 8, 0, 0, 0, 0, 40, 0],
        "vertex_attributes": [
            {"id": "radius", "data_type": "float32", "num_components": 1},
            {"id": "cross_sectional_area", "data_type": "float32", "num_components": 1},
        ],
        "mip": 2,
        "sharding": {"@type": "neuroglancer_uint64_sharded_v1"},
        "spatial_index": {"resolution": [8, 8, 40], "chunk_size": [512, 512, 512]},
    }
    validate_skeleton_info(info)
    np.testing.assert_array_equal(skeleton_transform(info), np.diag([8, 8, 40, 0])[:3])
    assert skeleton_transform({}).tolist() == np.eye(3, 4).tolist()


def test_validate_rejects_non_object():
    with pytest.raises(InvalidInfoError, match="JSON object"):
        validate_skeleton_info([1, 2])


# --- binary -----------------------------------------------------------------------------


def test_encode_matches_hand_layout_and_osteoid():
    radius = np.array([1.5, 2, 3], np.float32)
    types = np.array([1, 3, 3], np.uint8)
    buf = encode_skeleton(VERTS, EDGES, [(RADIUS, radius), (TYPES, types)])
    assert buf == hand_encoded(VERTS, EDGES, radius.tobytes(), types.tobytes())
    assert buf == osteoid.Skeleton(VERTS, EDGES, radius, types).to_precomputed()


def test_decode_without_attribute_bytes_has_no_attributes():
    vertices, edges, attrs = decode_skeleton(hand_encoded(VERTS, EDGES), [RADIUS, TYPES])
    np.testing.assert_array_equal(vertices, VERTS)
    np.testing.assert_array_equal(edges, EDGES)
    assert vertices.dtype == np.float32 and edges.dtype == np.uint32
    assert attrs == {}


def test_decode_defaults_to_radius_and_vertex_types():
    buf = hand_encoded(VERTS, EDGES, np.float32([1, 2, 3]).tobytes(), bytes([0, 1, 2]))
    _, _, attrs = decode_skeleton(buf)
    assert list(attrs) == ["radius", "vertex_types"]
    np.testing.assert_array_equal(attrs["radius"], [1, 2, 3])
    assert attrs["vertex_types"].dtype == np.uint8


def test_decode_multi_component_attribute_is_n_by_c():
    spec = {"id": "color", "data_type": "uint16", "num_components": 3}
    color = np.arange(9, dtype=np.uint16).reshape(3, 3)
    buf = encode_skeleton(VERTS, EDGES, [(spec, color)])
    assert buf == hand_encoded(VERTS, EDGES, color.astype("<u2").tobytes())
    _, _, attrs = decode_skeleton(buf, [spec])
    np.testing.assert_array_equal(attrs["color"], color)
    assert attrs["color"].shape == (3, 3)


def test_decoded_arrays_are_writable_copies():
    buf = bytes(encode_skeleton(VERTS, EDGES, [(RADIUS, np.ones(3))]))
    vertices, edges, attrs = decode_skeleton(buf, [RADIUS])
    vertices[0, 0] = 99
    edges[0, 0] = 2
    attrs["radius"][0] = 7
    assert decode_skeleton(buf, [RADIUS])[0][0, 0] == 0


def test_empty_skeleton_round_trips():
    buf = encode_skeleton(np.zeros((0, 3)), np.zeros((0, 2)), [(RADIUS, np.zeros(0))])
    assert buf == struct.pack("<II", 0, 0)
    vertices, edges, attrs = decode_skeleton(buf)
    assert vertices.shape == (0, 3) and edges.shape == (0, 2) and attrs == {}


@pytest.mark.parametrize(
    ("buf", "message"),
    [
        (b"\x01\x00\x00", "8-byte header"),
        (struct.pack("<II", 3, 0) + b"\x00" * 30, "need 44 bytes"),
        (hand_encoded(VERTS, EDGES)[:-4], "need 60 bytes"),
        (hand_encoded(VERTS, [[0, 1], [1, 3]]), "refers to a vertex >= 3"),
        (hand_encoded(VERTS, EDGES, b"\x00" * 14), "need 15"),
        (hand_encoded(VERTS, EDGES, b"\x00" * 11), "need 15"),
        (
            hand_encoded(VERTS, EDGES, b"\x00" * 16),
            "trailing bytes after the last vertex attribute: the attributes "
            "[radius(float32×1), vertex_types(uint8×1)] of 3 vertices end at byte 75 but "
            "the file has 76 (1 more)",
        ),
    ],
)
def test_decode_errors_name_segid_and_file(buf, message):
    with pytest.raises(SkeletonDecodeError) as err:
        decode_skeleton(buf, None, segid=1234, where="file:///tmp/skeletons/1234")
    assert message in str(err.value)
    assert "1234" in str(err.value) and "file:///tmp/skeletons/1234" in str(err.value)


@pytest.mark.parametrize("specs", [None, [RADIUS, TYPES], [RADIUS, {**TYPES, "data_type": "u1"}]])
def test_decode_radius_only_file_with_default_attributes(specs):
    radius = np.float32([1.5, 2, 3])
    buf = hand_encoded(VERTS, EDGES, radius.tobytes())
    _, _, attrs = decode_skeleton(buf, specs)
    assert list(attrs) == ["radius", "vertex_types"]
    np.testing.assert_array_equal(attrs["radius"], radius)
    np.testing.assert_array_equal(attrs["vertex_types"], [0, 0, 0])
    assert attrs["vertex_types"].dtype == np.uint8
    # osteoid reads the radii too (its vertex_types comes back empty)
    theirs = osteoid.Skeleton.from_precomputed(buf, vertex_attributes=specs)
    np.testing.assert_array_equal(theirs.radius, radius)


def test_decode_radius_only_rule_needs_the_default_attributes():
    custom = [RADIUS, {"id": "flag", "data_type": "uint8", "num_components": 1}]
    buf = hand_encoded(VERTS, EDGES, np.float32([1, 2, 3]).tobytes())
    with pytest.raises(SkeletonDecodeError, match="need 15"):
        decode_skeleton(buf, custom, segid=3)


def test_decode_with_custom_attributes_checks_their_total_length():
    spec = {"id": "x", "data_type": "int32", "num_components": 2}
    buf = hand_encoded(VERTS, EDGES, b"\x00" * 24)
    assert decode_skeleton(buf, [spec])[2]["x"].shape == (3, 2)
    with pytest.raises(SkeletonDecodeError, match=r"x\(int32×2\)"):
        decode_skeleton(buf + b"\x00" * 4, [spec], segid=5)


@pytest.mark.parametrize(
    ("vertices", "edges", "attributes", "message"),
    [
        (VERTS, [[0, 3]], [], "refers to vertex 3"),
        (VERTS, np.array([[0, 1], [-2, 1]]), [], "refers to vertex -2 but there are only 3"),
        (VERTS[:, :2], EDGES, [], "N×3"),
        (VERTS, [0, 1, 2], [], "M×2"),
        (VERTS, EDGES, [(RADIUS, np.zeros(2))], "'radius'"),
        (
            VERTS,
            EDGES,
            [({"id": "c", "data_type": "uint8", "num_components": 2}, [1, 2, 3])],
            "'c'",
        ),
    ],
)
def test_encode_errors_name_the_problem(vertices, edges, attributes, message):
    with pytest.raises(SkeletonEncodeError) as err:
        encode_skeleton(vertices, edges, attributes, segid=77)
    assert message in str(err.value) and "77" in str(err.value)


ATTRIBUTE_SPECS = st.lists(
    st.builds(
        lambda t, c: {"data_type": t, "num_components": c},
        st.sampled_from(["float32", "int8", "uint8", "int16", "uint16", "int32", "uint32"]),
        st.integers(1, 3),
    ),
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(
    nv=st.integers(0, 12),
    ne=st.integers(0, 12),
    specs=ATTRIBUTE_SPECS,
    seed=st.integers(0, 2**32 - 1),
)
def test_encode_decode_round_trip(nv, ne, specs, seed):
    rng = np.random.default_rng(seed)
    vertices = rng.normal(size=(nv, 3)).astype(np.float32) * 1000
    edges = rng.integers(0, max(nv, 1), size=(ne if nv else 0, 2)).astype(np.uint32)
    specs = [{"id": f"a{i}", **spec} for i, spec in enumerate(specs)]
    arrays = []
    for spec in specs:
        info = np.iinfo if spec["data_type"] != "float32" else np.finfo
        limits = info(np.dtype(spec["data_type"]))
        shape = (nv,) if spec["num_components"] == 1 else (nv, spec["num_components"])
        values = rng.uniform(float(limits.min) / 2, float(limits.max) / 2, size=shape)
        arrays.append(values.astype(spec["data_type"]))
    buf = encode_skeleton(vertices, edges, list(zip(specs, arrays, strict=True)))
    got_v, got_e, got_a = decode_skeleton(buf, specs)
    np.testing.assert_array_equal(got_v, vertices)
    np.testing.assert_array_equal(got_e, edges.reshape(-1, 2))
    if nv == 0 or not specs:
        assert got_a == {} or all(a.size == 0 for a in got_a.values())
    else:
        assert list(got_a) == [s["id"] for s in specs]
        for spec, values in zip(specs, arrays, strict=True):
            np.testing.assert_array_equal(got_a[spec["id"]], values)
            assert got_a[spec["id"]].dtype == np.dtype(spec["data_type"])
