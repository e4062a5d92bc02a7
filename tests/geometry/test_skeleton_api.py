"""Skeleton construction checks, merging, cropping, attribute import and the osteoid
API extras (``__sizeof__``, ``load(allow_mmap=)``, ``viewer(library=)``)."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import osteoid
import pytest

from cloudvol.geometry import skeleton_graph
from cloudvol.geometry.skeleton import Skeleton
from cloudvol.lib import Bbox

PATH_V = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], np.float32)
PATH_E = np.array([[0, 1], [1, 2]], np.uint32)


def assert_same(ours: Skeleton, theirs: osteoid.Skeleton) -> None:
    np.testing.assert_array_equal(ours.vertices, theirs.vertices)
    np.testing.assert_array_equal(ours.edges, theirs.edges)
    np.testing.assert_array_equal(ours.radius, np.ravel(theirs.radius))
    np.testing.assert_array_equal(ours.vertex_types, np.ravel(theirs.vertex_types))


# --- construction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vertices", "edges", "message"),
    [
        ([1, 2, 3], None, r"vertices must be N×3 \(x, y, z\), got shape \(3,\)"),
        (np.zeros((2, 4)), None, r"got shape \(2, 4\)"),
        (PATH_V, [0, 1], r"edges must be M×2, got shape \(2,\)"),
        (PATH_V, [[0, 1, 2]], r"got shape \(1, 3\)"),
        (PATH_V, [[0, 1], [1, -1]], r"edge 1 \[1, -1\] names a vertex outside 0..2"),
        (PATH_V, [[0, 3]], r"outside 0..2; vertices have shape \(3, 3\), edges \(1, 2\)"),
        (PATH_V, np.array([[0, 2**32]], np.int64), r"\[0, 4294967296\]"),
        (None, [[0, 1]], r"outside 0..-1; vertices have shape \(0, 3\)"),
        (PATH_V, [[0, 1.5]], "whole vertex indices"),
    ],
)
def test_constructor_rejects_wrong_shapes_and_edges(vertices, edges, message):
    with pytest.raises(ValueError, match=message):
        Skeleton(vertices, edges, segid=4)


def test_constructor_accepts_empty_arrays_and_whole_float_edges():
    for vertices, edges in (([], []), (np.zeros((0, 3)), np.zeros(0)), (None, np.zeros((0, 2)))):
        skel = Skeleton(vertices, edges)
        assert skel.vertices.shape == (0, 3) and skel.edges.shape == (0, 2)
    skel = Skeleton(PATH_V, np.array([[0.0, 1.0], [1.0, 2.0]]))
    assert skel.edges.dtype == np.uint32
    np.testing.assert_array_equal(skel.edges, PATH_E)


# --- merging ------------------------------------------------------------------------------


def test_simple_merge_keeps_skeletons_without_edges_like_osteoid():
    lone, path = Skeleton([[5, 5, 5]]), Skeleton(PATH_V, PATH_E)
    merged = Skeleton.simple_merge([lone, Skeleton(), path])
    theirs = osteoid.Skeleton.simple_merge(
        [osteoid.Skeleton([[5, 5, 5]]), osteoid.Skeleton(), osteoid.Skeleton(PATH_V, PATH_E)]
    )
    assert merged.vertices.shape == (4, 3)
    np.testing.assert_array_equal(merged.vertices, [[5, 5, 5], *PATH_V.tolist()])
    np.testing.assert_array_equal(merged.edges, [[1, 2], [2, 3]])
    assert_same(merged, theirs)
    # merge consolidates, which drops the unconnected vertex (osteoid too)
    assert_same(lone.merge(path), osteoid.Skeleton([[5, 5, 5]]).merge(theirs))
    assert Skeleton.simple_merge([Skeleton(), lone]).vertices.tolist() == [[5, 5, 5]]


# --- cropping -----------------------------------------------------------------------------


def test_crop_accepts_six_floats_and_pairs():
    skel = Skeleton([[0.5, 0.5, 0.5], [0.75, 0.5, 0.5], [2, 0.5, 0.5], [0.05, 0, 0]], PATH_E)
    skel.radius[:] = [1, 2, 3, 4]
    cropped = skel.crop([0.1, 0.1, 0.1, 1, 1, 1])
    np.testing.assert_array_equal(cropped.vertices, [[0.5, 0.5, 0.5], [0.75, 0.5, 0.5]])
    np.testing.assert_array_equal(cropped.edges, [[0, 1]])
    np.testing.assert_array_equal(cropped.radius, [1, 2])
    for box in (
        ([0.1, 0.1, 0.1], [1, 1, 1]),
        np.array([0.1, 0.1, 0.1, 1, 1, 1]),
        Bbox((0.1, 0.1, 0.1), (1, 1, 1), dtype=np.float64),
    ):
        assert skel.crop(box) == cropped
    # inclusive: a corner exactly on a vertex keeps it
    assert skel.crop([0.5, 0.5, 0.5, 0.75, 0.5, 0.5]) == cropped


# --- coincident vertices ------------------------------------------------------------------


def test_coincident_vertices_keep_the_first_ones_attributes_everywhere():
    # vertices 0 and 2 share a position; vertex 3 is unconnected
    skel = Skeleton(
        [[1, 0, 0], [0, 0, 0], [1, 0, 0], [9, 9, 9]], [[0, 1], [2, 1]], radii=[1, 2, 3, 4]
    )
    kept = skel.remove_disconnected_vertices()
    np.testing.assert_array_equal(kept.vertices, [[0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(kept.radius, [2, 1])  # osteoid keeps 3 (the last)
    np.testing.assert_array_equal(skel.consolidate().radius, [2, 1])
    np.testing.assert_array_equal(skel.crop([0, 0, 0, 1, 1, 1]).radius, [2, 1])
    # the first vertex at a position counts even when no edge names it
    unused_first = Skeleton([[1, 0, 0], [0, 0, 0], [1, 0, 0]], [[1, 2]], radii=[5, 6, 7])
    np.testing.assert_array_equal(unused_first.remove_disconnected_vertices().radius, [6, 5])
    np.testing.assert_array_equal(unused_first.consolidate().radius, [6, 5])


# --- components ---------------------------------------------------------------------------


def test_one_component_returns_without_splitting(monkeypatch):
    def no_splitting(*args, **kwargs):
        raise AssertionError("connected_components called for a single component")

    monkeypatch.setattr(skeleton_graph, "connected_components", no_splitting)
    skel = Skeleton([*PATH_V.tolist(), [7, 7, 7]], PATH_E, segid=3)
    (only,) = skel.components()
    assert only == skel and only is not skel
    assert len(skel.interjoint_paths()) == 1
    assert Skeleton(PATH_V).components() == []


# --- import_attributes --------------------------------------------------------------------


def test_import_attributes_matches_osteoid():
    rng = np.random.default_rng(1)
    vertices = rng.permutation(40)[:12, None] * np.float32([1, 2, 3])
    radius = rng.uniform(1, 5, 12).astype(np.float32)
    types = rng.integers(0, 5, 12).astype(np.uint8)
    color = rng.integers(0, 255, (12, 3)).astype(np.uint8)
    color_spec = {"id": "color", "data_type": "uint8", "num_components": 3}
    source = Skeleton(vertices, None, radius, types)
    source.add_vertex_attribute("color", color)
    order = rng.permutation(12)[:7]
    target = Skeleton(vertices[order], [[0, 1]], default_attributes=False)
    target.import_attributes(source)
    np.testing.assert_array_equal(target.radius, radius[order])
    np.testing.assert_array_equal(target.vertex_types, types[order])
    np.testing.assert_array_equal(target.color, color[order])
    assert [s["id"] for s in target.extra_attributes] == ["radius", "vertex_types", "color"]
    assert target.extra_attributes[2] == color_spec

    theirs_source = osteoid.Skeleton(vertices, None, radius, types)
    theirs = osteoid.Skeleton(vertices[order], [[0, 1]], default_attributes=False)
    theirs.import_attributes(theirs_source)
    np.testing.assert_array_equal(target.radius, theirs.radius)
    np.testing.assert_array_equal(target.vertex_types, theirs.vertex_types)


def test_import_attributes_leaves_unmatched_vertices_alone():
    source = Skeleton(PATH_V, PATH_E, radii=[1, 2, 3])
    target = Skeleton([[2, 0, 0], [8, 8, 8]], radii=[-1, -1])
    target.import_attributes(source)
    np.testing.assert_array_equal(target.radius, [3, -1])  # no partner: value kept
    np.testing.assert_array_equal(target.vertex_types, [0, 0])
    target.import_attributes(Skeleton([[50, 50, 50]], radii=[9]))  # nothing shared
    np.testing.assert_array_equal(target.radius, [3, -1])


# --- osteoid API extras -------------------------------------------------------------------


def test_sizeof_counts_the_arrays_like_osteoid():
    rng = np.random.default_rng(2)
    vertices = rng.random((50, 3)).astype(np.float32)
    edges = np.stack([np.arange(49), np.arange(1, 50)], axis=1).astype(np.uint32)
    ours, theirs = Skeleton(vertices, edges, segid=8), osteoid.Skeleton(vertices, edges, segid=8)
    arrays = 50 * 12 + 49 * 8 + 50 * 4 + 50 + 48  # vertices, edges, radius, types, transform
    assert ours.__sizeof__() >= arrays
    # the same but for how much spare room each attribute-spec list has allocated
    spare = sys.getsizeof(ours.extra_attributes) - sys.getsizeof(theirs.extra_attributes)
    assert ours.__sizeof__() - spare == theirs.__sizeof__()
    ours.add_vertex_attribute("weight", np.zeros(50, np.float64))
    assert ours.__sizeof__() - spare >= theirs.__sizeof__() + 400


def test_load_accepts_allow_mmap(tmp_path):
    skel = Skeleton(PATH_V, PATH_E, radii=[1, 2, 3], segid=None)
    path = tmp_path / "skel.bin"
    skel.save(path)
    assert Skeleton.load(path, allow_mmap=True) == skel
    assert Skeleton.load(str(path), allow_mmap=False) == skel


@pytest.mark.parametrize("name", ["a.swc", "a.swc.gz"])
def test_load_swc_with_a_byte_order_mark(tmp_path, name):
    text = "# from a Windows editor\n1 1 0 0 0 2.5 -1\n2 3 1 0 0 1 1\n"
    data = text.encode("utf-8-sig")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    skel = Skeleton.load(path)
    np.testing.assert_array_equal(skel.vertices, [[0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(skel.radius, [2.5, 1])
    assert Skeleton.from_swc("\ufeff" + text) == skel


def test_viewer_library_choice():
    pytest.importorskip("matplotlib")
    skel = Skeleton(PATH_V, PATH_E)
    for library in ("matplotlib", "auto"):
        assert skel.viewer(show=False, library=library).axes
    with pytest.raises(ValueError, match="'microviewer' is not supported; the only one is"):
        skel.viewer(show=False, library="microviewer")


def test_viewer_scales_the_axes_equally():
    pytest.importorskip("matplotlib")
    vertices = [[0, 0, 0], [100, 0, 0], [100, 20, 0], [100, 20, 5]]
    skel = Skeleton(vertices, [[0, 1], [1, 2], [2, 3]])
    ax = skel.viewer(show=False, color_by="none").axes[0]
    np.testing.assert_allclose(ax.get_xlim(), [0, 100])
    np.testing.assert_allclose(ax.get_zlim(), [0, 5])
    aspect = np.asarray(ax.get_box_aspect())
    np.testing.assert_allclose(aspect / aspect[0], [1, 0.2, 0.05])
    flat = Skeleton([[0, 0, 0], [4, 0, 0]], [[0, 1]]).viewer(show=False).axes[0]
    flat_aspect = np.asarray(flat.get_box_aspect())
    np.testing.assert_allclose(flat_aspect / flat_aspect[0], [1, 0.25, 0.25])
