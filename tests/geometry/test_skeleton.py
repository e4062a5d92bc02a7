"""The Skeleton object, differentially against osteoid.Skeleton (CloudVolume's)."""

from __future__ import annotations

import sys

import numpy as np
import osteoid
import pytest

from cloudvol.exceptions import (
    SkeletonAttributeMixingError,
    SkeletonDecodeError,
    SkeletonEncodeError,
    SkeletonTransformError,
)
from cloudvol.geometry.skeleton import Skeleton
from cloudvol.lib import Bbox

SEEDS = range(6)
# A branched tree: 0-1-2-3 with a side branch 2-4-5 and a spur 1-6.
TREE_V = [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [2, 1, 0], [2, 2, 0], [1, -1, 0]]
TREE_E = [[0, 1], [1, 2], [2, 3], [2, 4], [4, 5], [1, 6]]


def random_forest(seed: int, size: int = 20, trees: int = 3):
    """Random trees with distinct vertex positions (osteoid identifies vertices by
    position in places), vertices shuffled, edges shuffled and randomly flipped."""
    rng = np.random.default_rng(seed)
    verts, edges = [], []
    for t in range(trees):
        n = int(rng.integers(2, size))
        cells = rng.choice(40**3, size=n, replace=False)
        pos = np.stack([cells % 40, cells // 40 % 40, cells // 1600], axis=1) + 100 * t
        parent = (rng.random(n - 1) * np.arange(1, n)).astype(int)
        edges.append(np.stack([np.arange(1, n), parent], axis=1) + sum(len(v) for v in verts))
        verts.append(pos.astype(np.float32))
    vertices, edge_arr = np.concatenate(verts), np.concatenate(edges)
    order = rng.permutation(len(vertices))
    vertices, edge_arr = vertices[order], np.argsort(order)[edge_arr]
    flip = rng.random(len(edge_arr)) < 0.5
    edge_arr[flip] = edge_arr[flip][:, ::-1]
    edge_arr = edge_arr[rng.permutation(len(edge_arr))].astype(np.uint32)
    radii = rng.uniform(0.5, 5, len(vertices)).astype(np.float32)
    types = rng.integers(0, 5, len(vertices)).astype(np.uint8)
    return vertices, edge_arr, radii, types


def both(seed: int, **kwargs):
    v, e, r, t = random_forest(seed, **kwargs)
    return Skeleton(v, e, r, t, segid=9), osteoid.Skeleton(v, e, r, t, segid=9)


def assert_same(ours: Skeleton, theirs: osteoid.Skeleton, attributes=True) -> None:
    np.testing.assert_array_equal(ours.vertices, theirs.vertices)
    np.testing.assert_array_equal(ours.edges, theirs.edges)
    assert ours.vertices.dtype == np.float32 and ours.edges.dtype == np.uint32
    if attributes:
        # osteoid sometimes returns N×1 attribute arrays where it means N
        np.testing.assert_array_equal(ours.radius, np.ravel(theirs.radius))
        np.testing.assert_array_equal(ours.vertex_types, np.ravel(theirs.vertex_types))


def path_set(paths):
    return sorted(repr(np.asarray(p).tolist()) for p in paths)


# --- construction and attributes --------------------------------------------------------


def test_defaults_match_osteoid():
    ours, theirs = (
        Skeleton([[0, 0, 0], [1, 1, 1]], [[0, 1]]),
        osteoid.Skeleton([[0, 0, 0], [1, 1, 1]], [[0, 1]]),
    )
    assert_same(ours, theirs)
    assert ours.extra_attributes == theirs.extra_attributes
    np.testing.assert_array_equal(ours.transform, theirs.transform)
    assert ours.transform.dtype == np.float32 and ours.space == "voxel"
    assert Skeleton().vertices.shape == (0, 3) and Skeleton().edges.shape == (0, 2)


def test_radii_alias_id_alias_and_listed_attributes_start_as_zeros():
    spec = {"id": "color", "data_type": "uint8", "num_components": 3}
    skel = Skeleton(TREE_V, TREE_E, segid=4, extra_attributes=[spec])
    assert skel.color.shape == (7, 3) and skel.color.dtype == np.uint8
    assert skel.id == skel.segid == 4
    skel.radii = np.arange(7)
    np.testing.assert_array_equal(skel.radius, np.arange(7))
    skel.add_vertex_attribute("area", np.ones(7, np.float32))
    assert skel.extra_attributes[-1] == {"id": "area", "data_type": "float32", "num_components": 1}
    with pytest.raises(ValueError, match="already"):
        skel.add_vertex_attribute("area", np.ones(7))
    with pytest.raises(ValueError, match="'vertices'"):
        Skeleton(extra_attributes=[{"id": "vertices", "data_type": "uint8", "num_components": 1}])


def test_transform_accepts_4x4_and_rejects_other_shapes():
    skel = Skeleton(transform=np.diag([2, 3, 4, 1]))
    np.testing.assert_array_equal(skel.transform, np.diag([2, 3, 4, 1])[:3])
    with pytest.raises(SkeletonTransformError, match="12 numbers"):
        skel.transform = np.eye(3)


def test_physical_space_matches_osteoid_and_voxel_space_inverts_it():
    v, e, r, t = random_forest(1)
    transform = [[4, 0, 0, 100], [0, 5, 0, -30], [0, 0, 40, 7]]
    ours = Skeleton(v, e, r, t, transform=transform)
    phys = ours.physical_space()
    np.testing.assert_allclose(
        phys.vertices, osteoid.Skeleton(v, e, transform=transform).physical_space().vertices
    )
    assert phys.space == "physical" and ours.space == "voxel"  # copy by default
    # osteoid's inverse subtracts the translation after un-scaling; ours inverts the affine
    np.testing.assert_allclose(phys.voxel_space().vertices, v, atol=1e-4)
    in_place = ours.physical_space(copy=False)
    assert in_place is ours and ours.space == "physical"
    ours.space = "warped"
    with pytest.raises(SkeletonTransformError, match="warped"):
        ours.voxel_space()


def test_empty_needs_vertices_and_edges():
    assert Skeleton().empty()
    assert Skeleton([[0, 0, 0], [1, 1, 1]]).empty()  # CloudVolume's test_no_edges
    assert not Skeleton([[0, 0, 0], [1, 1, 1]], [[0, 1]]).empty()


def test_clone_is_deep():
    skel = Skeleton(TREE_V, TREE_E, segid=3, transform=np.diag([2, 2, 2, 1]))
    copy = skel.clone()
    assert copy == skel and copy is not skel
    copy.vertices[0, 0] = 50
    copy.radius[0] = 50
    copy.extra_attributes[0]["id"] = "changed"
    assert skel.vertices[0, 0] == 0 and skel.radius[0] == -1
    assert skel.extra_attributes[0]["id"] == "radius"
    np.testing.assert_array_equal(copy.transform, skel.transform)


def test_eq_compares_id_geometry_and_every_attribute():
    a = Skeleton(TREE_V, TREE_E, segid=1)
    assert a == a.clone()
    b = a.clone()
    b.radius[3] = 2
    assert a != b
    c = a.clone()
    c.id = 2
    assert a != c
    d = a.clone()
    d.edges = d.edges[::-1].copy()
    assert a != d


def test_repr_names_segid_counts_and_attributes():
    text = repr(Skeleton(TREE_V, TREE_E, segid=12))
    assert "segid=12" in text and "shape=7" in text and "radius=(7, float32)" in text


def test_empty_skeleton_operations():
    empty = Skeleton(segid=3)
    assert Skeleton.from_precomputed(empty.to_precomputed(), segid=3) == empty
    assert empty.consolidate().vertices.shape == (0, 3)
    assert empty.components() == [] and empty.paths() == [] and empty.interjoint_paths() == []
    assert empty.downsample(2).vertices.shape == (0, 3)
    assert empty.average_smoothing(3).vertices.shape == (0, 3)
    assert empty.crop(Bbox((0, 0, 0), (1, 1, 1))).vertices.shape == (0, 3)
    assert empty.cable_length() == 0.0
    assert empty.terminals().size == 0 and empty.branches().size == 0
    assert Skeleton.equivalent(empty, Skeleton())


def test_derived_skeletons_carry_multi_component_attributes():
    spec = {"id": "color", "data_type": "uint8", "num_components": 3}
    skel = Skeleton(
        np.concatenate([TREE_V, [[50, 50, 50], [51, 50, 50]]]),
        np.concatenate([TREE_E, [[7, 8]]]),
        extra_attributes=[spec],
    )
    skel.color = np.arange(27, dtype=np.uint8).reshape(9, 3)
    first, second = skel.components()
    np.testing.assert_array_equal(second.color, [[21, 22, 23], [24, 25, 26]])
    assert first.color.shape == (7, 3)
    moved = skel.consolidate()
    lookup = {tuple(v): c for v, c in zip(skel.vertices.tolist(), skel.color.tolist(), strict=True)}
    assert moved.color.tolist() == [lookup[tuple(v)] for v in moved.vertices.tolist()]
    assert Skeleton.from_precomputed(skel.to_precomputed(), vertex_attributes=[spec]) == skel


# --- differential: algorithms ------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_consolidate_matches_osteoid(seed):
    ours, theirs = both(seed)
    # duplicate a few vertices and edges so there is something to consolidate
    dup = Skeleton(
        np.concatenate([ours.vertices, ours.vertices[:3]]),
        np.concatenate([ours.edges, ours.edges[:2], [[0, 0]]]),
        np.concatenate([ours.radius, ours.radius[:3]]),
        np.concatenate([ours.vertex_types, ours.vertex_types[:3]]),
    )
    theirs = osteoid.Skeleton(dup.vertices, dup.edges, dup.radius, dup.vertex_types)
    assert_same(dup.consolidate(), theirs.consolidate())
    assert_same(dup.consolidate(False), theirs.consolidate(remove_disconnected_vertices=False))


@pytest.mark.parametrize("seed", SEEDS)
def test_remove_disconnected_vertices_matches_osteoid(seed):
    v, e, r, t = random_forest(seed)
    lonely = np.array([[500, 500, 500], [-5, 0, 0]], np.float32)
    args = (np.concatenate([lonely[:1], v, lonely[1:]]), e + 1)
    args += (np.concatenate([[7], r, [8]]), np.concatenate([[1], t, [2]]))
    ours, theirs = Skeleton(*args), osteoid.Skeleton(*args)
    assert_same(ours.remove_disconnected_vertices(), theirs.remove_disconnected_vertices())
    assert ours.remove_disconnected_vertices().vertices.shape[0] == len(v)


def test_remove_disconnected_vertices_keeps_edges_of_duplicate_positions():
    # vertices 0 and 2 share a position; osteoid would point vertex 0's edges at index 0
    skel = Skeleton([[1, 0, 0], [0, 0, 0], [1, 0, 0], [9, 9, 9]], [[0, 1], [2, 1]])
    kept = skel.remove_disconnected_vertices()
    np.testing.assert_array_equal(kept.vertices, [[0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(kept.edges, [[0, 1], [0, 1]])


def test_consolidate_edge_cases_match_osteoid():
    no_edges = np.zeros((0, 2), np.uint32)
    for v in [[], [[1, 2, 3]], [[1, 2, 3], [4, 5, 6]]]:
        v = np.array(v, np.float32).reshape(-1, 3)
        ours, theirs = (
            Skeleton(v, no_edges).consolidate(),
            osteoid.Skeleton(v, no_edges).consolidate(),
        )
        assert_same(ours, theirs, attributes=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_measurements_match_osteoid(seed):
    ours, theirs = both(seed)
    ours.transform = theirs.transform = [[4, 0, 0, 1], [0, 4, 0, 2], [0, 0, 40, 3]]
    assert ours.cable_length() == pytest.approx(theirs.cable_length(), rel=1e-5)
    assert ours.space == "voxel"  # osteoid moves itself to physical space here
    np.testing.assert_array_equal(ours.terminals(), theirs.terminals())
    np.testing.assert_array_equal(ours.branches(), theirs.branches())


@pytest.mark.parametrize("seed", SEEDS)
def test_components_match_osteoid(seed):
    ours, theirs = both(seed)
    mine, other = ours.components(), theirs.components()
    assert len(mine) == len(other) == 3
    for a, b in zip(mine, other, strict=True):
        assert_same(a, b)
        assert a.id == 9
    single = Skeleton(TREE_V, TREE_E)
    assert single.components()[0] == single
    assert Skeleton([[0, 0, 0]]).components() == []


@pytest.mark.parametrize("seed", SEEDS)
def test_paths_match_osteoid_exactly(seed):
    ours, theirs = both(seed)
    for mine, other in [
        (ours.paths(), theirs.paths()),
        (ours.paths(return_indices=True), theirs.paths(return_indices=True)),
    ]:
        assert len(mine) == len(other)
        for a, b in zip(mine, other, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_interjoint_paths_match_osteoid_as_a_set(seed):
    ours, theirs = both(seed)
    assert path_set(ours.interjoint_paths()) == path_set(theirs.interjoint_paths())
    assert path_set(ours.interjoint_paths(True)) == path_set(theirs.interjoint_paths(True))


def test_interjoint_paths_split_at_branches():
    skel = Skeleton(TREE_V, TREE_E)
    paths = sorted(p.tolist() for p in skel.interjoint_paths(return_indices=True))
    assert paths == [[0, 1], [1, 2], [1, 6], [2, 3], [2, 4, 5]]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("factor", [2, 3, 5])
def test_downsample_matches_osteoid(seed, factor):
    ours, theirs = both(seed, size=30)
    ours.transform = np.diag([2, 2, 2, 1])
    down = ours.downsample(factor)
    assert_same(down, theirs.downsample(factor))
    assert down.id == 9 and down.extra_attributes == ours.extra_attributes
    np.testing.assert_array_equal(down.transform, ours.transform)  # osteoid drops it
    # path ends (terminals and branch points) survive
    kept = {tuple(v) for v in down.vertices.tolist()}
    critical = np.concatenate([ours.terminals(), ours.branches()])
    assert {tuple(v) for v in ours.vertices[critical].tolist()} <= kept


@pytest.mark.parametrize("factor", [0, -1, 1.5, "2", None, True])
def test_downsample_rejects_bad_factors(factor):
    with pytest.raises(ValueError, match="factor"):
        Skeleton(TREE_V, TREE_E).downsample(factor)


def test_downsample_by_one_is_a_copy():
    skel = Skeleton(TREE_V, TREE_E, segid=1)
    assert skel.downsample(1) == skel


@pytest.mark.parametrize("seed", SEEDS)
def test_crop_matches_osteoid(seed):
    ours, theirs = both(seed)
    box = ((5, 5, 5), (130, 30, 40))
    cropped = ours.crop(Bbox(*box))
    # osteoid may give a kept vertex the radius of a cropped-away one; compare geometry
    assert_same(cropped, theirs.crop(osteoid.Bbox(*box)), attributes=False)
    assert cropped == ours.crop(list(box[0]) + list(box[1]))
    radius_at = {tuple(v): r for v, r in zip(ours.vertices.tolist(), ours.radius, strict=True)}
    assert cropped.radius.tolist() == [radius_at[tuple(v)] for v in cropped.vertices.tolist()]


def test_crop_is_inclusive_and_handles_nothing_inside():
    skel = Skeleton(TREE_V, TREE_E, segid=2)
    cropped = skel.crop(Bbox((1, 0, 0), (2, 0, 0)))
    np.testing.assert_array_equal(cropped.vertices, [[1, 0, 0], [2, 0, 0]])
    np.testing.assert_array_equal(cropped.edges, [[0, 1]])
    outside = skel.crop(Bbox((50, 50, 50), (60, 60, 60)))
    assert outside.vertices.shape == (0, 3) and outside.radius.shape == (0,)
    assert outside.id == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_merge_and_simple_merge_match_osteoid(seed):
    a, oa = both(seed)
    b, ob = both(seed + 100)
    assert_same(a.merge(b), oa.merge(ob))
    assert_same(Skeleton.simple_merge([a, b]), osteoid.Skeleton.simple_merge([oa, ob]))


def test_simple_merge_skips_empties_and_converts_space():
    a = Skeleton([[0, 0, 0], [1, 0, 0]], [[0, 1]], transform=np.diag([2, 2, 2, 1]), segid=1)
    b = Skeleton([[0, 0, 0], [10, 0, 0]], [[0, 1]], space="physical")
    b.transform = np.diag([2, 2, 2, 1])
    merged = Skeleton.simple_merge([Skeleton(), a, Skeleton([[5, 5, 5]]), b])
    np.testing.assert_array_equal(merged.vertices[:, 0], [0, 1, 5, 0, 5])
    np.testing.assert_array_equal(merged.edges, [[0, 1], [3, 4]])
    assert merged.id == 1 and merged.radius.shape == (5,)
    assert Skeleton.simple_merge([]).empty()


def test_simple_merge_rejects_mismatched_attribute_definitions():
    a = Skeleton(TREE_V, TREE_E)
    b = Skeleton(TREE_V, TREE_E)
    b.extra_attributes = [
        {"id": "radius", "data_type": "float32", "num_components": 1},
        {"id": "vertex_types", "data_type": np.uint8, "num_components": 1},
    ]
    with pytest.raises(SkeletonAttributeMixingError, match="different vertex attributes"):
        Skeleton.simple_merge([a, b])
    with pytest.raises(osteoid.exceptions.SkeletonAttributeMixingError):
        osteoid.Skeleton.simple_merge(
            [osteoid.Skeleton(TREE_V, TREE_E), _osteoid_with(b.extra_attributes)]
        )


def _osteoid_with(specs):
    skel = osteoid.Skeleton(TREE_V, TREE_E)
    skel.extra_attributes = specs
    return skel


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("window", [2, 3, 4])
def test_average_smoothing_matches_osteoid(seed, window):
    ours, theirs = both(seed, size=30)
    for shrink in (False, True):
        mine = ours.average_smoothing(window, check_boundary=False, shrink_radii=shrink)
        other = theirs.average_smoothing(window, check_boundary=False, shrink_radii=shrink)
        # osteoid keeps float64 vertices; consolidating them as float32 orders them as ours
        other = Skeleton(
            other.vertices, other.edges, np.ravel(other.radius), np.ravel(other.vertex_types)
        ).consolidate()
        np.testing.assert_array_equal(mine.edges, other.edges)
        np.testing.assert_allclose(mine.vertices, other.vertices, atol=1e-4)
        np.testing.assert_allclose(mine.radius, other.radius, atol=1e-4)
        np.testing.assert_array_equal(mine.vertex_types, other.vertex_types)


def test_average_smoothing_boundary_check_and_trivial_window():
    skel = Skeleton(
        [[0, 0, 0], [1, 5, 0], [2, 0, 0], [3, 5, 0], [4, 0, 0]], [[0, 1], [1, 2], [2, 3], [3, 4]]
    )
    with pytest.raises(ValueError, match="radius"):
        skel.average_smoothing(3)  # default radius -1: anything is outside
    skel.radius[:] = 100
    smooth = skel.average_smoothing(3, shrink_radii=True)
    assert smooth.vertices.shape == (5, 3)
    assert np.all(smooth.radius <= 100) and np.any(smooth.radius < 100)
    assert skel.average_smoothing(1) == skel


@pytest.mark.parametrize("seed", SEEDS)
def test_equivalent_matches_osteoid(seed):
    v, e, r, t = random_forest(seed)
    order = np.random.default_rng(seed).permutation(len(v))
    inverse = np.argsort(order)
    ours = Skeleton(v, e, r, t)
    shuffled = Skeleton(v[order], inverse[e][:, ::-1], r[order], t[order])
    assert Skeleton.equivalent(ours, shuffled)
    assert osteoid.Skeleton.equivalent(
        osteoid.Skeleton(v, e, r, t),
        osteoid.Skeleton(v[order], inverse[e][:, ::-1], r[order], t[order]),
    )
    changed = shuffled.clone()
    changed.radius[0] += 1
    assert not Skeleton.equivalent(ours, changed)
    rewired = ours.clone()
    rewired.edges = rewired.edges[1:]
    assert not Skeleton.equivalent(ours, rewired)
    assert Skeleton.equivalent(Skeleton(), Skeleton())


def test_equivalent_tolerates_a_vertex_moved_by_less_than_1e_7():
    skel = Skeleton([[0.01, 0, 0], [0.5, 0, 0], [0.5, 0.25, 0]], [[0, 1], [1, 2]], segid=1)
    skel.radius[:] = [1, 2, 3]
    nudged = skel.clone()
    nudged.vertices[0, 0] += np.float32(6e-8)
    assert nudged.vertices[0, 0] != skel.vertices[0, 0]
    # osteoid accepts the positions within 1e-7 but then looks attributes up by exact
    # position and raises KeyError here
    assert Skeleton.equivalent(skel, nudged)
    nudged.vertices[0, 0] += np.float32(1e-7)
    assert not Skeleton.equivalent(skel, nudged)


def test_equivalent_compares_edge_positions_not_just_graph_shape():
    line = Skeleton([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1], [1, 2]])
    bent = Skeleton([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 2], [2, 1]])
    assert not Skeleton.equivalent(line, bent)


def test_from_path_matches_osteoid():
    points = np.array([[0, 0, 0], [1, 2, 3], [4, 5, 6]], np.float32)
    assert_same(Skeleton.from_path(points), osteoid.Skeleton.from_path(points))
    assert Skeleton.from_path(np.zeros((0, 3))).vertices.shape == (0, 3)


# --- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_to_precomputed_bytes_identical_to_osteoid(seed):
    ours, theirs = both(seed)
    assert ours.to_precomputed() == theirs.to_precomputed() == ours.encode()


def test_custom_attributes_round_trip_and_match_osteoid():
    specs = [
        {"id": "radius", "data_type": "float32", "num_components": 1},
        {"id": "cross_sectional_area", "data_type": "float32", "num_components": 1},
        {"id": "color", "data_type": "uint8", "num_components": 3},
    ]
    rng = np.random.default_rng(0)
    ours = Skeleton(TREE_V, TREE_E, segid=5, extra_attributes=specs)
    theirs = osteoid.Skeleton(TREE_V, TREE_E, segid=5, extra_attributes=specs)
    for name, values in [
        ("radius", rng.random(7).astype(np.float32)),
        ("cross_sectional_area", rng.random(7).astype(np.float32)),
        ("color", rng.integers(0, 255, (7, 3)).astype(np.uint8)),
    ]:
        setattr(ours, name, values)
        setattr(theirs, name, values)
    buf = ours.to_precomputed()
    assert buf == theirs.to_precomputed()
    back = Skeleton.from_precomputed(buf, segid=5, vertex_attributes=specs)
    assert back == ours and back.color.shape == (7, 3)
    assert Skeleton.decode(buf, segid=5, vertex_attributes=specs) == ours
    oracle = osteoid.Skeleton.from_precomputed(buf, segid=5, vertex_attributes=specs)
    np.testing.assert_array_equal(back.cross_sectional_area, oracle.cross_sectional_area)


@pytest.mark.parametrize("seed", SEEDS)
def test_from_precomputed_of_osteoid_bytes(seed):
    _, theirs = both(seed)
    buf = theirs.to_precomputed()
    ours = Skeleton.from_precomputed(buf, segid=9)
    assert_same(ours, osteoid.Skeleton.from_precomputed(buf, segid=9))
    assert ours.id == 9


def test_from_precomputed_without_attribute_bytes_uses_defaults():
    bare = Skeleton(TREE_V, TREE_E, extra_attributes=[], default_attributes=False)
    skel = Skeleton.from_precomputed(bare.to_precomputed(), vertex_attributes=[])
    assert skel.extra_attributes == Skeleton().extra_attributes
    np.testing.assert_array_equal(skel.radius, -np.ones(7))


def test_from_precomputed_errors_name_the_segid():
    with pytest.raises(SkeletonDecodeError, match="skeleton 31"):
        Skeleton.from_precomputed(b"\x00\x01", segid=31)


def test_to_precomputed_needs_declared_attribute_data():
    skel = Skeleton(TREE_V, TREE_E, segid=8)
    del skel.vertex_types
    with pytest.raises(SkeletonEncodeError, match="vertex_types"):
        skel.to_precomputed()


@pytest.mark.parametrize("name", ["a.swc", "a.swc.gz", "a.bin", "a.gz", "a.xz"])
def test_save_and_load_round_trip(tmp_path, name):
    v, e, r, t = random_forest(2)
    skel = Skeleton(v, e, np.round(r * 4) / 4, t)  # SWC keeps 6 decimals
    path = tmp_path / name
    skel.save(path)
    back = Skeleton.load(str(path))
    if ".swc" in name:
        assert Skeleton.equivalent(back, skel)
    else:
        assert back == skel
        assert osteoid.Skeleton.load(str(path)).vertices.shape == skel.vertices.shape


def test_to_networkx_matches_osteoid():
    v, e, _, _ = random_forest(3)
    ours = Skeleton(v, e).to_networkx()
    theirs = osteoid.Skeleton(v, e).to_networkx()
    assert set(ours.nodes) == set(int(n) for n in theirs.nodes)
    assert {frozenset(x) for x in ours.edges} == {frozenset(map(int, x)) for x in theirs.edges}


# --- viewer -------------------------------------------------------------------------------


@pytest.mark.parametrize("color_by", ["radius", "component", "cross_section", "none"])
def test_viewer_builds_a_figure_without_showing(color_by):
    from matplotlib.figure import Figure

    v, e, r, t = random_forest(4)
    skel = Skeleton(v, e, r, t)
    skel.add_vertex_attribute("cross_sectional_area", r * 2)
    fig = skel.viewer(color_by=color_by, show=False)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "nm"
    assert len(ax.collections) >= 2  # edge lines and vertex points
    if color_by in ("radius", "cross_section"):
        assert len(fig.axes) == 2  # the colour bar


def test_viewer_without_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'cloudvol\[viewer\]'"):
        Skeleton(TREE_V, TREE_E).viewer(show=False)


# --- a real skeletonizer's output ---------------------------------------------------------


@pytest.fixture(scope="module")
def kimimaro_skeleton():
    """A TEASAR skeleton of three crossing bars (many branch points, real radii)."""
    kimimaro = pytest.importorskip("kimimaro")
    labels = np.zeros((96, 96, 24), np.uint32)
    labels[4:92, 44:52, 8:16] = 1
    labels[20:28, 4:92, 8:16] = 1
    labels[64:72, 48:92, 8:16] = 1
    found = kimimaro.skeletonize(
        labels,
        anisotropy=(4, 4, 4),
        teasar_params={"scale": 1.5, "const": 5},
        dust_threshold=0,
        parallel=1,
        progress=False,
    )
    return found[1]


def test_kimimaro_skeleton_matches_osteoid(kimimaro_skeleton):
    theirs = kimimaro_skeleton
    ours = Skeleton(
        theirs.vertices, theirs.edges, theirs.radius, theirs.vertex_types,
        segid=1, space=theirs.space, transform=theirs.transform,
    )  # fmt: skip
    assert len(ours.branches()) > 5
    assert ours.to_precomputed() == theirs.to_precomputed()
    for a, b in zip(ours.paths(), theirs.paths(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert path_set(ours.interjoint_paths()) == path_set(theirs.interjoint_paths())
    assert_same(ours.downsample(4), theirs.downsample(4))
    smooth = ours.average_smoothing(2)
    other = theirs.average_smoothing(2)
    np.testing.assert_allclose(
        np.sort(smooth.vertices, axis=0), np.sort(other.vertices, axis=0), atol=1e-4
    )
    with pytest.raises(ValueError, match="beyond its radius"):
        ours.average_smoothing(5)  # osteoid raises here too
    with pytest.raises(ValueError):
        theirs.average_smoothing(5)
    assert body_rows(ours.to_swc()) == body_rows(theirs.to_swc())
    assert ours.cable_length() == pytest.approx(theirs.cable_length(), rel=1e-5)


def body_rows(swc: str) -> list[str]:
    return [line for line in swc.splitlines() if line and not line.startswith("#")]


# --- scale -------------------------------------------------------------------------------


def test_hundred_thousand_vertex_skeleton_paths_and_components():
    n = 100_000
    chain = Skeleton.from_path(np.stack([np.arange(n), np.zeros(n), np.zeros(n)], axis=1))
    # a second, separate chain with one branch
    extra = Skeleton([[0, 5, 0], [1, 5, 0], [2, 5, 0], [1, 6, 0]], [[0, 1], [1, 2], [1, 3]])
    skel = Skeleton.simple_merge([chain, extra])
    components = skel.components()
    assert [c.vertices.shape[0] for c in components] == [n, 4]
    paths = skel.paths()
    assert [len(p) for p in paths] == [n, 3, 3]  # star: root leaf to each other leaf
    assert {paths[0][0][0], paths[0][-1][0]} == {0, n - 1}
    interjoint = skel.interjoint_paths()
    assert sorted(len(p) for p in interjoint) == [2, 2, 2, n]
    assert skel.downsample(10).vertices.shape[0] == (n - 1) // 10 + 1 + 1 + 4
