"""Graph algorithms over skeleton edge arrays (M×2 vertex indices).

Everything here is iterative (no recursion, so 10⁶-vertex paths do not hit Python's
stack limit) and works on plain numpy arrays; the :class:`Skeleton` methods are thin
wrappers. Orders follow osteoid's where a caller can observe them (component order,
path order of :func:`tree_paths`, SWC row order of :func:`dfs_parent_pairs`), so
results can be compared with CloudVolume's output element by element.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from cloudvol.geometry.mesh import unique_row_index, unique_rows

__all__ = [
    "Component",
    "branch_vertices",
    "canonical_edge_positions",
    "chain_edges",
    "component_labels",
    "connected_components",
    "consolidate_arrays",
    "dfs_parent_pairs",
    "drop_unconnected_arrays",
    "exact_partners",
    "interjoint_paths",
    "match_positions",
    "same_form",
    "single_component",
    "terminal_vertices",
    "tree_paths",
]


def _as_edges(edges: npt.ArrayLike) -> npt.NDArray[np.int64]:
    arr = np.asarray(edges, dtype=np.int64)
    return arr.reshape(-1, 2)


def _used_vertices(edges: npt.NDArray[np.int64], num_vertices: int) -> npt.NDArray[np.int64]:
    """The vertex indices some edge names, ascending. (A bincount: on numpy 2.4 a plain
    ``np.unique`` of 400k indices takes ~100× longer.)"""
    counts = np.bincount(edges.reshape(-1), minlength=num_vertices)
    return np.flatnonzero(counts).astype(np.int64)


def _degree_counts(edges: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices named by an edge and how many edge ends name each (a duplicate edge
    counts twice, a self-loop counts two ends)."""
    arr = np.asarray(edges)
    return np.unique(arr, return_counts=True)


def terminal_vertices(edges: npt.ArrayLike) -> np.ndarray:
    """Vertex indices that end exactly one edge, ascending."""
    nodes, counts = _degree_counts(edges)
    return nodes[counts == 1]


def branch_vertices(edges: npt.ArrayLike) -> np.ndarray:
    """Vertex indices that end three or more edges, ascending."""
    nodes, counts = _degree_counts(edges)
    return nodes[counts >= 3]


def _components_by_traversal(edges: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Component labels (smallest member index) by breadth-first search; the slow
    but always linear fallback of :func:`component_labels`."""
    labels = np.arange(n, dtype=np.int64)
    indptr, indices = _csr(edges, n)
    ptr = indptr.tolist()
    nbr = indices.tolist()
    seen = bytearray(n)
    for start in np.unique(edges).tolist():
        if seen[start]:
            continue
        seen[start] = 1
        queue = [start]
        members = [start]
        while queue:
            node = queue.pop()
            for child in nbr[ptr[node] : ptr[node + 1]]:
                if not seen[child]:
                    seen[child] = 1
                    queue.append(child)
                    members.append(child)
        labels[members] = start  # start is the smallest: np.unique is ascending
    return labels


def component_labels(edges: npt.ArrayLike, num_vertices: int) -> npt.NDArray[np.int64]:
    """For each of ``num_vertices`` vertices, the smallest vertex index of its
    connected component (a vertex without edges labels itself).

    Vectorised union-find: every round hooks each root onto the smallest root it
    shares an edge with, then compresses paths fully. Rounds are logarithmic in
    practice; a pathological input falls back to a linear traversal.
    """
    edge_arr = _as_edges(edges)
    edge_arr = edge_arr[edge_arr[:, 0] != edge_arr[:, 1]]
    parent = np.arange(num_vertices, dtype=np.int64)
    u, v = edge_arr[:, 0], edge_arr[:, 1]
    max_rounds = 2 * max(1, int(num_vertices).bit_length()) + 8
    for _ in range(max_rounds):
        ru, rv = parent[u], parent[v]
        differ = ru != rv
        if not differ.any():
            return parent
        ru, rv = ru[differ], rv[differ]
        # Hooking only ever points a root at a smaller index, so no cycles form.
        np.minimum.at(parent, np.maximum(ru, rv), np.minimum(ru, rv))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return _components_by_traversal(edge_arr, num_vertices)


class Component(NamedTuple):
    """One connected component: its vertex indices (ascending) and its edges
    (global indices; each row sorted, rows sorted and unique, no self-loops)."""

    vertices: npt.NDArray[np.int64]
    edges: npt.NDArray[np.int64]


def single_component(
    edges: npt.ArrayLike, num_vertices: int
) -> tuple[bool, npt.NDArray[np.int64] | None]:
    """Whether every edge lies in one connected component, and the component labels
    (see :func:`component_labels`) to hand to :func:`connected_components` when not;
    ``(False, None)`` without edges."""
    edge_arr = _as_edges(edges)
    if edge_arr.shape[0] == 0:
        return False, None
    labels = component_labels(edge_arr, num_vertices)
    ends = labels[edge_arr[:, 0]]  # an edge's two ends always share a label
    return bool(np.all(ends == ends[0])), labels


def connected_components(
    edges: npt.ArrayLike,
    num_vertices: int,
    labels: npt.NDArray[np.int64] | None = None,
) -> list[Component]:
    """The connected components that have at least one edge end, ordered by where
    each first appears in ``edges`` read row by row (osteoid's order). Vertices no
    edge names are not part of any component; a vertex that only has self-loops is
    a component of one vertex and no edges. ``labels`` are this graph's
    :func:`component_labels` if already known."""
    edge_arr = _as_edges(edges)
    if edge_arr.shape[0] == 0:
        return []
    if labels is None:
        labels = component_labels(edge_arr, num_vertices)

    flat_labels = labels[edge_arr.ravel()]
    found, first_seen = np.unique(flat_labels, return_index=True)
    order = found[np.argsort(first_seen, kind="stable")]
    rank = np.empty(num_vertices, dtype=np.int64)
    rank[order] = np.arange(order.size)

    clean = np.sort(edge_arr, axis=1)
    clean = unique_rows(clean[clean[:, 0] != clean[:, 1]])[0].reshape(-1, 2)
    edge_rank = rank[labels[clean[:, 0]]]
    by_rank = np.argsort(edge_rank, kind="stable")  # keeps rows sorted inside a group
    clean, edge_rank = clean[by_rank], edge_rank[by_rank]
    edge_bounds = np.searchsorted(edge_rank, np.arange(order.size + 1))

    members = _used_vertices(edge_arr, num_vertices)
    member_rank = rank[labels[members]]
    by_member = np.argsort(member_rank, kind="stable")
    members, member_rank = members[by_member], member_rank[by_member]
    vertex_bounds = np.searchsorted(member_rank, np.arange(order.size + 1))

    return [
        Component(
            members[vertex_bounds[i] : vertex_bounds[i + 1]],
            clean[edge_bounds[i] : edge_bounds[i + 1]],
        )
        for i in range(order.size)
    ]


def _csr(edges: npt.NDArray[np.int64], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency as (indptr, indices); each vertex's neighbours are listed in the
    order of the edge rows that name it (as appending row by row would)."""
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    row = np.concatenate([np.arange(edges.shape[0])] * 2)
    order = np.lexsort((row, src))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order]


def _bfs_tree(
    ptr: list[int], nbr: list[int], root: int, n: int
) -> tuple[list[int], list[int], list[int]]:
    """Breadth-first from ``root``: ``(parent per vertex or -1, hop depth per vertex,
    leaves in the order they leave the queue)``."""
    parent = [-1] * n
    depth = [0] * n
    seen = bytearray(n)
    seen[root] = 1
    queue = [root]
    head = 0
    leaves: list[int] = []
    while head < len(queue):
        node = queue[head]
        head += 1
        has_child = False
        for child in nbr[ptr[node] : ptr[node + 1]]:
            if not seen[child]:
                seen[child] = 1
                parent[child] = node
                depth[child] = depth[node] + 1
                queue.append(child)
                has_child = True
        if not has_child:
            leaves.append(node)
    return parent, depth, leaves


def _root_paths(parent: list[int], root: int, n: int) -> dict[int, np.ndarray]:
    """For every leaf of the tree given by ``parent``, its path leaf → root. A
    depth-first walk keeps the current root → vertex path in one array, so each
    leaf's path is a slice copy rather than a walk up its ancestors."""
    children: list[list[int]] = [[] for _ in range(n)]
    for child, up in enumerate(parent):
        if up >= 0:
            children[up].append(child)
    trail = np.empty(n, dtype=np.int64)
    paths: dict[int, np.ndarray] = {}
    depth = 0
    work = [root]
    while work:
        node = work.pop()
        if node < 0:  # leaving a vertex
            depth -= 1
            continue
        trail[depth] = node
        depth += 1
        kids = children[node]
        if kids:
            work.append(-1)
            work.extend(kids)
        else:
            paths[node] = trail[depth - 1 :: -1].copy()
            depth -= 1
    return paths


def tree_paths(edges: npt.ArrayLike, num_vertices: int) -> list[npt.NDArray[np.int64]]:
    """Every leaf-to-root path of one connected tree, as vertex index arrays.

    The root is found as osteoid does: breadth-first from ``edges[0, 0]``, the first
    leaf at the greatest hop distance becomes the root; then one path per leaf of a
    breadth-first traversal from that root, each ordered leaf → root. Neighbours are
    visited in edge-row order. On a graph with cycles the breadth-first spanning tree
    is used (osteoid enumerates every simple path instead).
    """
    edge_arr = _as_edges(edges)
    if edge_arr.shape[0] == 0:
        return []
    indptr, indices = _csr(edge_arr, num_vertices)
    ptr, nbr = indptr.tolist(), indices.tolist()
    _, depth, leaves = _bfs_tree(ptr, nbr, int(edge_arr[0, 0]), num_vertices)
    deepest = max(depth[leaf] for leaf in leaves)
    root = next(leaf for leaf in leaves if depth[leaf] == deepest)
    parent, _, leaves = _bfs_tree(ptr, nbr, root, num_vertices)
    paths = _root_paths(parent, root, num_vertices)
    return [paths[leaf] for leaf in leaves]


def _adjacency_sets(edges: npt.NDArray[np.int64]) -> dict[int, set[int]]:
    """Neighbour sets built row by row. Which order a set yields is CPython's, a
    function of its insertion sequence only; building them exactly as osteoid does
    makes traversals (and so SWC row order) come out identical."""
    adjacency: dict[int, set[int]] = {}
    for a, b in edges.tolist():
        adjacency.setdefault(a, set()).add(b)
        adjacency.setdefault(b, set()).add(a)
    return adjacency


def interjoint_paths(edges: npt.ArrayLike, num_vertices: int) -> list[npt.NDArray[np.int64]]:
    """Paths between adjacent critical vertices (terminals and branch points, counted
    by edge ends) of one connected component, as vertex index arrays.

    Depth-first from the smallest terminal vertex; each path runs from the critical
    vertex nearer the start to the next one, so on a tree every edge lies in exactly
    one path and path directions match osteoid's (the list order may differ).
    Without terminals (a cycle) the start is the smallest branch point or vertex, and
    a traversal that runs into visited vertices ends its path there.
    """
    edge_arr = _as_edges(edges)
    if edge_arr.shape[0] == 0:
        return []
    nodes, counts = _degree_counts(edge_arr)
    terminals = nodes[counts == 1]
    branches = nodes[counts >= 3]
    critical = set(terminals.tolist()) | set(branches.tolist())
    if terminals.size:
        start = int(terminals[0])
    elif branches.size:
        start = int(branches[0])
    else:
        start = int(nodes[0])

    adjacency = _adjacency_sets(edge_arr)
    visited = bytearray(num_vertices)
    paths: list[list[int]] = []
    stack: list[tuple[int, int, list[int]]] = [(start, start, [])]
    while stack:
        node, root, path = stack.pop()
        if visited[node]:
            continue
        visited[node] = 1
        path.append(node)
        if node != root and node in critical:
            paths.append(path)
            path, root = [node], node
        children = [child for child in adjacency[node] if not visited[child]]
        if not children:
            if len(path) > 1:  # a dead end that is not critical: only on cycles
                paths.append(path)
        elif len(children) == 1:
            stack.append((children[0], root, path))  # sole owner: no copy needed
        else:
            stack.extend((child, root, list(path)) for child in children)
    return [np.array(p, dtype=np.int64) for p in paths]


def dfs_parent_pairs(edges: npt.ArrayLike, root: int) -> list[tuple[int, int]]:
    """``(vertex, parent)`` pairs of a depth-first traversal from ``root`` over the
    component containing it (``parent`` is -1 for the root). Parents always precede
    their children, as SWC requires; the order is osteoid's."""
    edge_arr = _as_edges(edges)
    adjacency = _adjacency_sets(edge_arr)
    visited: set[int] = set()
    pairs: list[tuple[int, int]] = []
    stack = [(int(root), -1)]
    while stack:
        node, parent = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        pairs.append((node, parent))
        stack.extend((child, node) for child in adjacency.get(node, ()) if child not in visited)
    return pairs


# --- whole-skeleton array operations ------------------------------------------------------


def consolidate_arrays(
    vertices: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Fuse vertices at equal positions: ``(unique vertices sorted by x, y, z, edges
    remapped with each row sorted, rows sorted and unique and self-loops dropped,
    index of the first original vertex at each unique position)``."""
    first, inverse, _ = unique_row_index(vertices)
    remapped = np.sort(inverse[np.asarray(edges, dtype=np.int64)], axis=1).reshape(-1, 2)
    remapped = unique_rows(remapped)[0].reshape(-1, 2)
    return vertices[first], remapped[remapped[:, 0] != remapped[:, 1]], first.astype(np.int64)


def drop_unconnected_arrays(
    vertices: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Remove vertices no edge names; ``None`` when every vertex is used. Otherwise
    ``(used positions, sorted and unique, edges remapped with each row sorted,
    index of the first original vertex at each kept position)``.

    As in osteoid, vertices sharing a position are fused along the way (an edge
    between two of them becomes a self-loop; duplicate edges stay); the attributes
    come from the first vertex at the position, used or not, as in
    :func:`consolidate_arrays` (osteoid takes the last).
    """
    edge_arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    used = _used_vertices(edge_arr, vertices.shape[0])
    if used.size == vertices.shape[0]:
        return None
    first, inverse, counts = unique_row_index(vertices)
    kept_groups = np.flatnonzero(np.bincount(inverse[used], minlength=counts.size))
    group_index = np.zeros(counts.size, dtype=np.int64)
    group_index[kept_groups] = np.arange(kept_groups.size)
    source = first[kept_groups].astype(np.int64)
    new_edges = np.sort(group_index[inverse[edge_arr]], axis=1)
    return vertices[source], new_edges, source


def chain_edges(lengths: Sequence[int]) -> npt.NDArray[np.int64]:
    """Edges joining consecutive vertices of paths of these lengths laid end to end
    (path k's vertices start after those of paths 0..k-1); no edge joins two paths."""
    starts = np.cumsum([0, *lengths])[:-1]
    pieces = [
        np.stack([np.arange(n - 1), np.arange(1, n)], axis=1) + start
        for n, start in zip(lengths, starts, strict=True)
    ]
    return np.concatenate(pieces).astype(np.int64) if pieces else np.zeros((0, 2), np.int64)


def canonical_edge_positions(vertices: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Edges as rows ``x1 y1 z1 x2 y2 z2`` with the lexicographically smaller end first,
    rows sorted: equal for two skeletons with the same edges up to vertex order."""
    ends = vertices[np.asarray(edges, dtype=np.int64)].reshape(-1, 2, 3)
    rows = np.concatenate([ends[:, 0], ends[:, 1]], axis=1)
    flipped = np.concatenate([ends[:, 1], ends[:, 0]], axis=1)
    differs = rows != flipped
    column = np.argmax(differs, axis=1)
    row = np.arange(rows.shape[0])
    keep = ~differs.any(axis=1) | (rows[row, column] < flipped[row, column])
    canon = np.where(keep[:, None], rows, flipped)
    return canon[np.lexsort(canon.T[::-1])]


def exact_partners(rows: np.ndarray, others: np.ndarray) -> npt.NDArray[np.int64]:
    """For each of ``rows`` (N×3 positions), the index of the first of ``others`` at
    exactly the same position, or -1."""
    both = np.concatenate([others, rows]).reshape(-1, 3)
    first, inverse, _ = unique_row_index(both)
    partner = first[inverse[len(others) :]].astype(np.int64)
    partner[partner >= len(others)] = -1  # the first at that position is one of rows
    return partner


_NEIGHBOUR_CELLS = np.array(
    [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=np.int64
)
_HASH = np.array([73856093, 19349663, 83492791], dtype=np.uint64)


def _cell_hash(cells: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash per row of integer cell coordinates (collisions are allowed: every
    candidate is checked by distance)."""
    mixed = cells.view(np.uint64) * _HASH  # wraps modulo 2**64, as intended
    return mixed[:, 0] ^ mixed[:, 1] ^ mixed[:, 2]


def match_positions(
    rows: np.ndarray, others: np.ndarray, tolerance: float
) -> npt.NDArray[np.int64] | None:
    """A one-to-one matching of ``rows`` onto ``others`` (both N×3, each without repeated
    positions): for each row the index of its partner, a position differing by less
    than ``tolerance`` on every axis (exact partners first, then the nearest free one).
    ``None`` if some row has no partner or two rows want the same one.

    Inexact candidates are found by hashing each position's ``tolerance``-sized grid
    cell and looking in the 27 cells around it, so the cost is a few sorts, not N².
    """
    if rows.shape != others.shape:
        return None
    partner = exact_partners(rows, others)
    loose = np.flatnonzero(partner < 0)
    if loose.size == 0:
        return partner
    free = np.ones(len(others), dtype=bool)
    free[partner[partner >= 0]] = False
    free_idx = np.flatnonzero(free)
    a = rows[loose].astype(np.float64)
    b = others[free_idx].astype(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None  # NaN or infinity is near nothing
    scale = max(float(np.abs(a).max(initial=0)), float(np.abs(b).max(initial=0)))
    if tolerance <= 0 or scale / tolerance > 2.0**52:  # cells beyond exact integers
        return None
    cells_a = np.floor(a / tolerance).astype(np.int64)
    hash_b = _cell_hash(np.floor(b / tolerance).astype(np.int64))
    order = np.argsort(hash_b, kind="stable")
    sorted_b = hash_b[order]
    cand_a, cand_b = [], []
    for offset in _NEIGHBOUR_CELLS:
        wanted = _cell_hash(cells_a + offset)
        lo = np.searchsorted(sorted_b, wanted, side="left")
        count = np.searchsorted(sorted_b, wanted, side="right") - lo
        total = int(count.sum())
        if total == 0:
            continue
        starts = np.repeat(lo - (np.cumsum(count) - count), count)
        cand_a.append(np.repeat(np.arange(len(a)), count))
        cand_b.append(order[starts + np.arange(total)])
    if not cand_a:
        return None
    ia, ib = np.concatenate(cand_a), np.concatenate(cand_b)
    distance = np.abs(a[ia] - b[ib]).max(axis=1)
    close = distance < tolerance
    ia, ib, distance = ia[close], ib[close], distance[close]
    nearest = np.lexsort((distance, ia))
    ia, ib = ia[nearest], ib[nearest]
    is_first = np.ones(ia.size, dtype=bool)
    is_first[1:] = ia[1:] != ia[:-1]
    if int(is_first.sum()) != len(a):
        return None  # some row has no partner within the tolerance
    chosen = free_idx[ib[is_first]]
    if np.bincount(chosen, minlength=len(others)).max(initial=0) > 1:
        return None
    partner[loose] = chosen
    return partner


def _same_rows(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two 2-D arrays hold the same multiset of rows."""
    if first.shape != second.shape:
        return False
    return np.array_equal(first[np.lexsort(first.T[::-1])], second[np.lexsort(second.T[::-1])])


def same_form(
    first: tuple[np.ndarray, np.ndarray, Sequence[np.ndarray]],
    second: tuple[np.ndarray, np.ndarray, Sequence[np.ndarray]],
    tolerance: float = 1e-7,
) -> bool:
    """Whether two ``(vertices, edges, attribute arrays)`` describe the same skeleton
    up to vertex order.

    Positions are matched one to one within ``tolerance`` on every axis (see
    :func:`match_positions`; repeated positions must repeat equally often); through
    that matching the edges, as unordered pairs of positions, must be the same
    multiset, and so must the (position, value) pairs of each attribute. Positions of
    one skeleton closer than ``tolerance`` to each other may fail to match.
    """
    (v1, e1, attrs1), (v2, e2, attrs2) = first, second
    v1, v2 = np.asarray(v1).reshape(-1, 3), np.asarray(v2).reshape(-1, 3)
    e1, e2 = _as_edges(e1), _as_edges(e2)
    if v1.shape != v2.shape or e1.shape != e2.shape or len(attrs1) != len(attrs2):
        return False
    first1, group1, counts1 = unique_row_index(v1)
    first2, group2, counts2 = unique_row_index(v2)
    partner = match_positions(v2[first2], v1[first1], tolerance)
    if partner is None or not np.array_equal(counts1[partner], counts2):
        return False
    group2 = partner[group2]  # second's vertices named by first's position groups
    if not _same_rows(np.sort(group1[e1], axis=1), np.sort(group2[e2], axis=1)):
        return False
    for a1, a2 in zip(attrs1, attrs2, strict=True):
        a1, a2 = np.asarray(a1), np.asarray(a2)
        if a1.shape != a2.shape or a1.shape[:1] != (len(v1),):
            return False
        # (position group, value) rows: vertices sharing a position compare as a set
        keyed1 = np.column_stack([group1, a1.reshape(len(a1), -1)])
        keyed2 = np.column_stack([group2, a2.reshape(len(a2), -1)])
        if not _same_rows(keyed1, keyed2):
            return False
    return True
