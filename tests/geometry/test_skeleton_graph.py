"""Graph algorithms over skeleton edge arrays."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.geometry import skeleton_graph as graph


def random_edges(seed: int, n: int, m: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(m, 2)).astype(np.uint32)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), m=st.integers(0, 40))
def test_component_labels_agree_with_networkx(seed, n, m):
    edges = random_edges(seed, n, m)
    labels = graph.component_labels(edges, n)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges.tolist())
    for members in nx.connected_components(g):
        assert {int(labels[v]) for v in members} == {min(members)}
    np.testing.assert_array_equal(graph._components_by_traversal(edges.astype(np.int64), n), labels)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), m=st.integers(1, 40))
def test_connected_components_match_osteoid_order_and_edges(seed, n, m):
    fastosteoid = pytest.importorskip("fastosteoid")  # osteoid's compiled helper
    edges = random_edges(seed, n, m)
    edges = edges[edges[:, 0] != edges[:, 1]]  # osteoid's helper yields nothing for loops
    ours = graph.connected_components(edges, n)
    theirs = fastosteoid.compute_components(edges, n)
    assert len(ours) == len(theirs)
    for comp, expected in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(comp.edges, np.asarray(expected).reshape(-1, 2))
        np.testing.assert_array_equal(comp.vertices, np.unique(comp.edges))


def test_self_loop_only_vertex_is_a_component_without_edges():
    comps = graph.connected_components([[0, 1], [3, 3]], 4)
    assert [c.vertices.tolist() for c in comps] == [[0, 1], [3]]
    assert comps[1].edges.shape == (0, 2)
    assert graph.connected_components(np.zeros((0, 2)), 3) == []


def test_terminals_and_branches_count_edge_ends():
    edges = [[0, 1], [1, 2], [1, 3], [3, 4], [3, 4]]
    assert graph.terminal_vertices(edges).tolist() == [0, 2]
    assert graph.branch_vertices(edges).tolist() == [1, 3]


def test_tree_paths_root_at_the_farthest_leaf():
    # 0-1-2-3-4 with a spur 2-5: breadth-first from 0 the farthest leaf is 4
    edges = [[0, 1], [1, 2], [2, 3], [3, 4], [2, 5]]
    paths = [p.tolist() for p in graph.tree_paths(edges, 6)]
    assert paths == [[5, 2, 3, 4], [0, 1, 2, 3, 4]]


def test_interjoint_paths_cover_every_edge_once():
    rng = np.random.default_rng(5)
    n = 300
    parent = (rng.random(n - 1) * np.arange(1, n)).astype(int)
    edges = np.stack([np.arange(1, n), parent], axis=1)
    paths = graph.interjoint_paths(edges, n)
    walked = sorted(tuple(sorted(pair)) for p in paths for pair in itertools.pairwise(p))
    assert walked == sorted(tuple(sorted(e)) for e in edges.tolist())
    critical = set(graph.terminal_vertices(edges)) | set(graph.branch_vertices(edges))
    for p in paths:
        assert p[0] in critical and p[-1] in critical
        assert not critical & set(p[1:-1].tolist())


def test_interjoint_paths_on_a_cycle_do_not_fail():
    paths = graph.interjoint_paths([[0, 1], [1, 2], [2, 0]], 3)
    assert [p.tolist() for p in paths] in ([[0, 1, 2]], [[0, 2, 1]])


def test_dfs_parent_pairs_put_parents_first():
    edges = [[3, 1], [1, 0], [1, 2], [2, 4]]
    pairs = graph.dfs_parent_pairs(edges, 0)
    assert pairs[0] == (0, -1)
    seen = set()
    for node, parent in pairs:
        assert parent == -1 or parent in seen
        seen.add(node)
    assert seen == {0, 1, 2, 3, 4}


def test_chain_edges_and_canonical_positions():
    np.testing.assert_array_equal(graph.chain_edges([3, 2]), [[0, 1], [1, 2], [3, 4]])
    assert graph.chain_edges([]).shape == (0, 2)
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    a = graph.canonical_edge_positions(v, [[0, 1], [2, 0]])
    b = graph.canonical_edge_positions(v[[2, 0, 1]], [[2, 1], [1, 0]])
    np.testing.assert_array_equal(a, b)


def test_same_form_ignores_vertex_order_only():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    e = np.array([[0, 1], [1, 2]])
    r = np.array([1, 2, 3], np.float32)
    order = [2, 0, 1]
    inverse = np.argsort(order)
    assert graph.same_form((v, e, [r]), (v[order], inverse[e], [r[order]]))
    assert not graph.same_form((v, e, [r]), (v[order], inverse[e], [r]))
    assert not graph.same_form((v, e, [r]), (v, [[0, 1], [0, 2]], [r]))


def test_same_form_matches_positions_within_the_tolerance():
    # two vertices share x; moving one along x by 5e-8 swaps their (x, y, z) order
    v = np.array([[0, 0, 0.25], [0, 0.5, 0], [0.125, 0.125, 0]], np.float32)
    e = np.array([[0, 1], [1, 2]])
    r = np.array([1, 2, 3], np.float32)
    moved = v.copy()
    moved[0, 0] += np.float32(5e-8)
    assert graph.same_form((v, e, [r]), (moved, e, [r]))
    order = [2, 0, 1]
    inverse = np.argsort(order)
    assert graph.same_form((v, e, [r]), (moved[order], inverse[e][:, ::-1], [r[order]]))
    # edges and attributes still go through the matching
    assert not graph.same_form((v, e, [r]), (moved, [[0, 1], [0, 2]], [r]))
    assert not graph.same_form((v, e, [r]), (moved, e, [r[[1, 0, 2]]]))
    far = v.copy()
    far[0, 0] += np.float32(2e-7)
    assert not graph.same_form((v, e, [r]), (far, e, [r]))


def test_same_form_with_repeated_positions_and_match_positions():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0]], np.float32)
    e = np.array([[0, 1], [1, 2]])
    assert graph.same_form((v, e, []), (v[[2, 1, 0]], e, []))
    assert not graph.same_form((v, e, []), (v[[0, 1, 1]], e, []))
    rows = np.array([[0.1, 0, 0], [0.2, 0, 0]], np.float32)
    others = rows[::-1] + np.float32(3e-8)
    np.testing.assert_array_equal(graph.match_positions(rows, others, 1e-7), [1, 0])
    assert graph.match_positions(rows, others, 1e-8) is None
    assert graph.match_positions(rows, rows[[0, 0]], 1e-7) is None
    np.testing.assert_array_equal(graph.exact_partners(rows, others - np.float32(3e-8)), [1, 0])


def test_hundred_thousand_vertices_shuffled_chain():
    n = 100_000
    order = np.random.default_rng(0).permutation(n)
    edges = np.stack([order[:-1], order[1:]], axis=1)
    labels = graph.component_labels(edges, n)
    assert np.all(labels == 0)
    (comp,) = graph.connected_components(edges, n)
    assert comp.vertices.size == n and comp.edges.shape == (n - 1, 2)
    (path,) = graph.tree_paths(edges, n)
    assert sorted([int(path[0]), int(path[-1])]) == sorted([int(order[0]), int(order[-1])])
    np.testing.assert_array_equal(np.sort(path), np.arange(n))
    (joint,) = graph.interjoint_paths(edges, n)
    assert joint.size == n and int(joint[0]) == min(int(order[0]), int(order[-1]))
