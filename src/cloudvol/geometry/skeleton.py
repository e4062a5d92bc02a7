"""``Skeleton``: a stick figure of one object, as osteoid (CloudVolume's) models it.

Vertices are N×3 float32 (x, y, z) in ``space`` ('voxel' or 'physical'); ``transform``
(3×4 float32) maps voxel to physical (nm) coordinates. Edges are M×2 uint32 vertex
indices. Per-vertex attributes are arrays named by the ids in ``extra_attributes``
(by default ``radius`` float32, -1 when unknown, and ``vertex_types`` uint8 SWC
codes) and are readable as plain attributes (``skel.radius``; ``skel.radii`` is an
alias). An attribute with one component is a 1-D array, else N×C.

Deviations from osteoid 0.7.4, all fixes: ``voxel_space`` inverts the affine
correctly (osteoid subtracts the translation after un-scaling); ``cable_length``
does not move the skeleton into physical space as a side effect; derived skeletons
(components, downsample, smoothing, crop) keep transform, space and 1-D attribute
shapes; ``empty()`` is true without vertices *or* without edges (CloudVolume's test
suite expects this), yet ``simple_merge`` skips only skeletons without vertices, as
osteoid does; ``equivalent`` matches vertices by position within 1e-7 and compares
edges and attributes through that matching instead of plain graph isomorphism;
``to_swc`` also writes vertices no edge touches; where vertices share a position,
``consolidate``, ``crop`` and ``remove_disconnected_vertices`` all keep the first
one's attributes (osteoid's ``remove_disconnected_vertices`` keeps the last); the
constructor rejects arrays of the wrong shape and edges naming a vertex that does not
exist (osteoid stores them as given).
"""

from __future__ import annotations

import gzip
import lzma
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import (
    SkeletonAttributeMixingError,
    SkeletonEncodeError,
    SkeletonTransformError,
)
from cloudvol.geometry import skeleton_graph as graph
from cloudvol.geometry import swc as swc_format
from cloudvol.geometry.mesh import crop_bounds
from cloudvol.lib import moving_average
from cloudvol.precomputed.skeleton_format import (
    DEFAULT_VERTEX_ATTRIBUTES,
    decode_skeleton,
    encode_skeleton,
)

__all__ = ["IDENTITY", "PrecomputedSkeleton", "Skeleton"]

IDENTITY = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32)
_CORE_FIELDS = {"vertices", "edges", "id", "space", "default_attributes"}


class Skeleton:
    """A skeleton: vertices (N×3 float32), edges (M×2 uint32) and per-vertex attributes.

    ``radii``/``vertex_types`` fill ``radius``/``vertex_types`` (defaults -1 and 0 when
    ``default_attributes``); ``segid`` becomes ``id``; ``transform`` is 3×4 (a 4×4
    affine is accepted) voxel → nm; ``extra_attributes`` lists the attribute specs
    ``{"id", "data_type", "num_components"}`` in file order (default radius and
    vertex_types); listed attributes without data start as zeros. ``ValueError``
    (naming the shapes) for vertices that are not N×3, edges that are not M×2 (empty
    ones of any shape are fine) or not whole numbers, and edge indices that are
    negative, >= 2**32 or >= the number of vertices.
    """

    radius: np.ndarray
    vertex_types: np.ndarray

    def __init__(
        self,
        vertices: npt.ArrayLike | None = None,
        edges: npt.ArrayLike | None = None,
        radii: npt.ArrayLike | None = None,
        vertex_types: npt.ArrayLike | None = None,
        segid: int | None = None,
        transform: npt.ArrayLike | None = None,
        space: str = "voxel",
        extra_attributes: Sequence[Mapping[str, Any]] | None = None,
        default_attributes: bool = True,
    ) -> None:
        self.id = segid
        self.space = space
        self.vertices: npt.NDArray[np.float32] = _vertex_array(vertices, segid)
        n = self.vertices.shape[0]
        self.edges: npt.NDArray[np.uint32] = _edge_array(edges, n, segid)
        if radii is not None:
            self.radius = np.asarray(radii, dtype=np.float32)
        elif default_attributes:
            self.radius = np.full(n, -1, dtype=np.float32)
        if vertex_types is not None:
            self.vertex_types = np.asarray(vertex_types, dtype=np.uint8)
        elif default_attributes:
            self.vertex_types = np.zeros(n, dtype=np.uint8)
        self.default_attributes = bool(default_attributes)
        if extra_attributes is None:
            extra_attributes = self._default_attributes() if default_attributes else []
        self.extra_attributes = extra_attributes
        self._materialize_extra_attributes()
        self.transform = IDENTITY if transform is None else transform

    # --- attributes ---------------------------------------------------------------

    @classmethod
    def _default_attributes(cls) -> list[dict[str, Any]]:
        """radius (float32×1) then vertex_types (uint8×1): CloudVolume's defaults."""
        return [dict(spec) for spec in DEFAULT_VERTEX_ATTRIBUTES]

    @property
    def extra_attributes(self) -> list[dict[str, Any]]:
        """The per-vertex attribute specs, in precomputed file order."""
        return self._extra_attributes

    @extra_attributes.setter
    def extra_attributes(self, specs: Iterable[Mapping[str, Any]]) -> None:
        copied = [dict(spec) for spec in specs]
        ids = [spec.get("id") for spec in copied]
        for attr_id in ids:
            if (
                not isinstance(attr_id, str)
                or attr_id in _CORE_FIELDS
                or (hasattr(Skeleton, attr_id) and attr_id != "radii")
            ):
                raise ValueError(f"{attr_id!r} cannot name a vertex attribute")
        if len(set(ids)) != len(ids):
            raise ValueError(f"vertex attribute ids repeat: {ids}")
        self._extra_attributes = copied

    def _materialize_extra_attributes(self) -> None:
        n = self.vertices.shape[0]
        for spec in self._extra_attributes:
            name = "radius" if spec["id"] == "radii" else spec["id"]
            if not hasattr(self, name):
                components = int(spec["num_components"])
                shape = (n,) if components == 1 else (n, components)
                setattr(self, name, np.zeros(shape, dtype=np.dtype(spec["data_type"])))

    def add_extra_attributes(self, specs: Iterable[Mapping[str, Any]]) -> None:
        """Declare more attributes (those already present are skipped); new ones
        start as zeros."""
        new = [dict(s) for s in specs if not hasattr(self, s["id"])]
        self.extra_attributes = self._extra_attributes + new
        self._materialize_extra_attributes()

    def add_vertex_attribute(self, name: str, values: npt.ArrayLike) -> None:
        """Add a per-vertex attribute ``name`` (1-D or N×C array) and its spec."""
        arr = np.asarray(values)
        if hasattr(self, name):
            raise ValueError(f"the skeleton already has an attribute named {name!r}")
        components = 1 if arr.ndim == 1 else int(arr.shape[1])
        spec = {"id": name, "data_type": arr.dtype.name, "num_components": components}
        self.extra_attributes = [*self._extra_attributes, spec]
        setattr(self, name, arr)

    def _carried_attributes(self) -> list[str]:
        """Attribute arrays derived skeletons carry: the listed ones, plus radius and
        vertex_types when present but unlisted (osteoid keeps those too)."""
        names = [spec["id"] for spec in self._extra_attributes]
        names += [n for n in ("radius", "vertex_types") if n not in names]
        return [name for name in names if hasattr(self, name)]

    def _derive(self, vertices: np.ndarray, edges: np.ndarray, take: Any) -> Skeleton:
        """A skeleton with this one's id, space, transform and attribute specs over new
        geometry; attribute rows are ``attr[take]``."""
        skel = Skeleton(
            vertices,
            edges,
            segid=self.id,
            space=self.space,
            transform=self._transform,
            extra_attributes=[],
            default_attributes=False,
        )
        for name in self._carried_attributes():
            setattr(skel, name, np.asarray(getattr(self, name))[take].copy())
        skel._extra_attributes = [dict(spec) for spec in self._extra_attributes]
        skel.default_attributes = self.default_attributes
        return skel

    @property
    def radii(self) -> np.ndarray:
        """Alias of ``radius`` (distance from each vertex to the object's boundary)."""
        return self.radius

    @radii.setter
    def radii(self, value: npt.ArrayLike) -> None:
        self.radius = np.asarray(value)

    @property
    def segid(self) -> int | None:
        """Alias of ``id``."""
        return self.id

    @segid.setter
    def segid(self, value: int | None) -> None:
        self.id = value

    # --- coordinate spaces ----------------------------------------------------------

    @property
    def transform(self) -> npt.NDArray[np.float32]:
        """The 3×4 voxel → physical (nm) affine, float32."""
        return self._transform

    @transform.setter
    def transform(self, value: npt.ArrayLike) -> None:
        arr = np.array(value, dtype=np.float32)
        if arr.size == 16:
            arr = arr.reshape(4, 4)[:3]
        if arr.size != 12:
            raise SkeletonTransformError(
                f"skeleton {self.id}: a transform needs 12 numbers (3×4), got shape {arr.shape}"
            )
        self._transform = arr.reshape(3, 4)

    def _check_space(self) -> None:
        if self.space not in ("physical", "voxel"):
            raise SkeletonTransformError(
                f"skeleton {self.id}: space is {self.space!r}, not 'voxel' or 'physical', "
                "so what the transform means is unknown"
            )

    @staticmethod
    def transform_vertices(vertices: npt.ArrayLike, transform: npt.ArrayLike) -> np.ndarray:
        """``vertices`` (N×3) mapped by a 3×4 affine, as float32."""
        matrix = np.asarray(transform, dtype=np.float64).reshape(3, 4)
        verts = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        return (verts @ matrix[:, :3].T + matrix[:, 3]).astype(np.float32)

    def apply_transform(self) -> None:
        """Map the vertices through ``transform`` in place (space is not changed)."""
        self.vertices = self.transform_vertices(self.vertices, self._transform)

    def apply_inverse_transform(self, transform: npt.ArrayLike | None = None) -> None:
        """Map the vertices through the inverse of ``transform`` (default the
        skeleton's) in place (space is not changed)."""
        matrix = np.asarray(self._transform if transform is None else transform, np.float64)
        matrix = matrix.reshape(3, 4)
        try:
            inverse = np.linalg.inv(matrix[:, :3])
        except np.linalg.LinAlgError:
            raise SkeletonTransformError(
                f"skeleton {self.id}: the transform {matrix.tolist()} is not invertible"
            ) from None
        shifted = self.vertices.astype(np.float64) - matrix[:, 3]
        self.vertices = (shifted @ inverse.T).astype(np.float32)

    def physical_space(self, copy: bool = True) -> Skeleton:
        """This skeleton in physical coordinates (nm); a copy unless ``copy=False``."""
        self._check_space()
        skel = self.clone() if copy else self
        if skel.space != "physical":
            skel.apply_transform()
            skel.space = "physical"
        return skel

    def voxel_space(self, copy: bool = True) -> Skeleton:
        """This skeleton in voxel coordinates; a copy unless ``copy=False``."""
        self._check_space()
        skel = self.clone() if copy else self
        if skel.space != "voxel":
            skel.apply_inverse_transform()
            skel.space = "voxel"
        return skel

    # --- construction and combination ------------------------------------------------

    @classmethod
    def from_path(cls, vertices: npt.ArrayLike) -> Skeleton:
        """A skeleton joining N×3 ``vertices`` in order (edges i → i+1)."""
        verts = np.asarray(vertices, dtype=np.float32).reshape(-1, 3)
        n = verts.shape[0]
        edges = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1) if n else None
        return cls(verts, edges)

    def _chain_paths(
        self,
        paths: Sequence[np.ndarray],
        vertices: Sequence[np.ndarray],
        overrides: Mapping[str, np.ndarray] | None = None,
    ) -> Skeleton:
        """Join each index path's ``vertices`` in order into one skeleton whose
        attributes are the path vertices' own (or ``overrides``), then consolidate."""
        if not paths:
            return self._derive(self.vertices[:0], np.zeros((0, 2)), slice(0, 0))
        edges = graph.chain_edges([len(p) for p in paths])
        skel = self._derive(np.concatenate(vertices), edges, np.concatenate(paths))
        for name, values in (overrides or {}).items():
            setattr(skel, name, values)
        return skel.consolidate()

    @classmethod
    def simple_merge(cls, skeletons: Iterable[Skeleton]) -> Skeleton:
        """Concatenate skeletons without joining them; those without vertices are
        skipped (vertices without edges are kept, as in osteoid). Vertices are brought
        into the first's space; the first's id, transform and attribute
        specs are kept. Raises :class:`SkeletonAttributeMixingError` unless every
        skeleton's ``extra_attributes`` equals the first's exactly."""
        skels = [skel for skel in skeletons if skel.vertices.size]
        if not skels:
            return cls()
        first = skels[0]
        for other in skels[1:]:
            if other.extra_attributes != first.extra_attributes:
                raise SkeletonAttributeMixingError(
                    f"skeletons {first.id} and {other.id} define different vertex "
                    f"attributes: {first.extra_attributes} vs {other.extra_attributes}"
                )
        offsets = np.cumsum([0] + [s.vertices.shape[0] for s in skels[:-1]])
        edges = np.concatenate(
            [s.edges.astype(np.int64) + off for s, off in zip(skels, offsets, strict=True)]
        )
        to_space = (
            (lambda s: s.voxel_space())
            if first.space == "voxel"
            else (lambda s: s.physical_space())
        )
        moved = [to_space(s) for s in skels]
        merged = first._derive(np.concatenate([s.vertices for s in moved]), edges, slice(0, 0))
        for name in first._carried_attributes():
            if all(hasattr(s, name) for s in skels):
                setattr(merged, name, np.concatenate([getattr(s, name) for s in skels], axis=0))
            else:  # an unlisted radius/vertex_types only some of them have
                delattr(merged, name)
        return merged

    def merge(self, other: Skeleton) -> Skeleton:
        """``simple_merge`` of the two, consolidated (coincident vertices fuse)."""
        return Skeleton.simple_merge((self, other)).consolidate()

    def clone(self) -> Skeleton:
        """A deep copy."""
        return self._derive(self.vertices.copy(), self.edges.copy(), slice(None))

    def empty(self) -> bool:
        """True without vertices or without edges (CloudVolume's rule)."""
        return self.vertices.size == 0 or self.edges.size == 0

    # --- cleaning ------------------------------------------------------------------------

    def consolidate(self, remove_disconnected_vertices: bool = True) -> Skeleton:
        """Fuse vertices with equal coordinates (result sorted by x, then y, then z),
        remap edges, sort each edge and the edge list, drop duplicate edges and
        self-loops; attributes come from the first vertex at each position. Then
        (by default) drop vertices no edge touches. Returns a new skeleton."""
        n = self.vertices.shape[0]
        no_edges = np.zeros((0, 2), np.uint32)
        if n <= 1:  # osteoid keeps a lone vertex
            return self._derive(self.vertices.copy(), no_edges, slice(None))
        unique, edges, first = graph.consolidate_arrays(self.vertices, self.edges)
        skel = self._derive(unique, edges, first)
        return skel.remove_disconnected_vertices() if remove_disconnected_vertices else skel

    def remove_disconnected_vertices(self) -> Skeleton:
        """Drop vertices no edge touches; a copy if every vertex is used. When some are
        dropped, the survivors are also fused by position, as in osteoid: one vertex per
        distinct position, sorted by x, then y, then z (index order is not kept), with
        the attributes of the first vertex at that position (as :meth:`consolidate`);
        edges are remapped and each sorted, but duplicates and self-loops stay."""
        dropped = graph.drop_unconnected_arrays(self.vertices, self.edges)
        if dropped is None:
            return self.clone()
        return self._derive(*dropped)

    def crop(self, bbox: Any) -> Skeleton:
        """The part inside ``bbox`` (same space as the vertices; both corners
        inclusive): vertices outside and edges touching them go, then consolidate.
        ``bbox`` is a Bbox, six numbers ``(x0, y0, z0, x1, y1, z1)`` (floats allowed),
        a pair ``(min, max)`` or anything ``Bbox.create`` takes."""
        lo, hi = crop_bounds(bbox)
        n = self.vertices.shape[0]
        if n == 0:
            return self.clone()
        inside = np.all((self.vertices >= lo) & (self.vertices <= hi), axis=1)
        keep_edges = inside[self.edges].all(axis=1) if self.edges.size else np.zeros(0, bool)
        if not inside.any() or (n > 1 and not keep_edges.any()):
            return self._derive(self.vertices[:0], np.zeros((0, 2)), slice(0, 0))
        new_index = np.cumsum(inside) - 1
        return self._derive(
            self.vertices[inside], new_index[self.edges[keep_edges]], inside
        ).consolidate()

    # --- measurements and graph structure ---------------------------------------------

    def cable_length(self) -> float:
        """Total edge length in physical units (nm), whatever the current space."""
        self._check_space()
        verts = self.vertices
        if self.space == "voxel":
            verts = self.transform_vertices(verts, self._transform)
        delta = verts[self.edges[:, 1]].astype(np.float64) - verts[self.edges[:, 0]]
        return float(np.sqrt((delta * delta).sum(axis=1)).sum())

    def terminals(self) -> np.ndarray:
        """Indices of vertices ending exactly one edge."""
        return graph.terminal_vertices(self.edges)

    def branches(self) -> np.ndarray:
        """Indices of vertices ending three or more edges."""
        return graph.branch_vertices(self.edges)

    def components(self) -> list[Skeleton]:
        """The connected components as skeletons, ordered by first appearance in the
        edge list. One component: a clone of the whole skeleton (unconnected vertices
        included); none: ``[]``."""
        n = self.vertices.shape[0]
        single, labels = graph.single_component(self.edges, n)
        if labels is None or single:  # no edges, or one component: no splitting needed
            return [self.clone()] if single else []
        found = graph.connected_components(self.edges, n, labels)
        return [
            self._derive(
                self.vertices[comp.vertices],
                np.searchsorted(comp.vertices, comp.edges),
                comp.vertices,
            )
            for comp in found
        ]

    def paths(self, return_indices: bool = False) -> list[np.ndarray]:
        """Every leaf-to-root path of every component (each component consolidated,
        rooted at a vertex farthest in hops from its first edge), as K×3 vertex
        arrays, or with ``return_indices`` index arrays into the consolidated
        component. Assumes trees; on cycles a breadth-first spanning tree is used."""
        out: list[np.ndarray] = []
        for component in self.components():
            tree = component.consolidate()
            for path in graph.tree_paths(tree.edges, tree.vertices.shape[0]):
                out.append(path if return_indices else tree.vertices[path])
        return out

    def _interjoint_index_paths(self) -> list[tuple[np.ndarray | None, np.ndarray]]:
        """``(component vertex indices or None, path of global indices)`` per path."""
        n = self.vertices.shape[0]
        single, labels = graph.single_component(self.edges, n)
        if labels is None or single:
            return [(None, p) for p in graph.interjoint_paths(self.edges, n)]
        found = graph.connected_components(self.edges, n, labels)
        return [(c.vertices, p) for c in found for p in graph.interjoint_paths(c.edges, n)]

    def interjoint_paths(self, return_indices: bool = False) -> list[np.ndarray]:
        """Paths between adjacent critical points (terminals and branch points) of each
        component, as K×3 vertex arrays or (``return_indices``) index arrays into the
        component (see :meth:`components`)."""
        if not return_indices:
            return [self.vertices[p] for _, p in self._interjoint_index_paths()]
        return [
            p if c is None else np.searchsorted(c, p) for c, p in self._interjoint_index_paths()
        ]

    def downsample(self, factor: int) -> Skeleton:
        """Keep every ``factor``-th vertex along each interjoint path plus both path
        ends, so branch points and terminals survive. ``factor`` must be an integer
        >= 1 (``ValueError`` otherwise). Keeps id, attributes, transform and space."""
        try:
            valid = int(factor) == factor and factor >= 1 and not isinstance(factor, bool)
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(f"downsample factor must be an integer >= 1, got {factor!r}")
        if factor == 1:
            return self.clone()
        step = int(factor)
        paths = [np.concatenate([p[::step], p[-1:]]) for _, p in self._interjoint_index_paths()]
        return self._chain_paths(paths, [self.vertices[p] for p in paths])

    def average_smoothing(
        self, n: int, check_boundary: bool = True, shrink_radii: bool = False
    ) -> Skeleton:
        """Smooth every interjoint path with an ``n``-vertex moving average, run forward
        then backward (no lag), path ends fixed. ``check_boundary`` raises
        ``ValueError`` if a vertex moves further than its radius (so with the default
        radius -1 any smoothing fails unless it is off); ``shrink_radii`` reduces each
        radius by the distance its vertex moved. ``n <= 1`` returns a copy."""
        if n <= 1:
            return self.clone()
        has_radius = hasattr(self, "radius")
        if shrink_radii and not has_radius:
            raise ValueError(f"skeleton {self.id} has no radius to shrink")
        paths: list[np.ndarray] = []
        smoothed: list[np.ndarray] = []
        shrink: list[np.ndarray] = []
        for _, path in self._interjoint_index_paths():
            original = self.vertices[path]
            smooth = moving_average(original, n)
            smooth = moving_average(smooth[::-1], n)[::-1].copy()
            smooth[0], smooth[-1] = original[0], original[-1]
            moved = np.linalg.norm(original - smooth, axis=1)
            if check_boundary and has_radius:
                allowed = np.asarray(self.radius)[path]
                outside = np.flatnonzero(moved > allowed)
                if outside.size:
                    i = outside[0]
                    raise ValueError(
                        f"skeleton {self.id}: smoothing moves vertex {int(path[i])} "
                        f"{original[i].tolist()} by {moved[i]:.3f}, beyond its radius "
                        f"{float(allowed[i]):.3f} (outside the object)"
                    )
            paths.append(path)
            smoothed.append(smooth.astype(np.float32))
            shrink.append(moved)
        overrides = None
        if shrink_radii and paths:
            radius = np.asarray(self.radius)[np.concatenate(paths)]
            overrides = {"radius": radius - np.concatenate(shrink).astype(radius.dtype)}
        return self._chain_paths(paths, smoothed, overrides)

    # --- comparison -------------------------------------------------------------------

    @classmethod
    def equivalent(cls, first: Skeleton, second: Skeleton) -> bool:
        """Same form regardless of vertex order: the vertices match one to one by
        position within 1e-7 on every axis (osteoid's tolerance), and through that
        matching the edges (as unordered pairs, either direction) and, for each of
        ``first``'s attributes, the values at each position are the same multisets
        (see :func:`cloudvol.geometry.skeleton_graph.same_form`)."""
        if first.vertices.size == 0 and second.vertices.size == 0:
            return True
        names = [spec["id"] for spec in first.extra_attributes]
        if not all(hasattr(second, name) for name in names):
            return False
        return graph.same_form(
            (first.vertices, first.edges, [getattr(first, name) for name in names]),
            (second.vertices, second.edges, [getattr(second, name) for name in names]),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Skeleton):
            return NotImplemented
        if self.id != other.id or self.extra_attributes != other.extra_attributes:
            return False
        if not (
            np.array_equal(self.vertices, other.vertices)
            and np.array_equal(self.edges, other.edges)
        ):
            return False
        names = set(self._carried_attributes()) | set(other._carried_attributes())
        return all(
            hasattr(self, name)
            and hasattr(other, name)
            and np.array_equal(getattr(self, name), getattr(other, name))
            for name in names
        )

    __hash__ = None  # type: ignore[assignment]

    # --- formats ------------------------------------------------------------------------

    def to_precomputed(self) -> bytes:
        """The Neuroglancer precomputed binary: vertices, edges, then each attribute of
        ``extra_attributes`` in order (see :mod:`cloudvol.precomputed.skeleton_format`)."""
        attributes = []
        for spec in self.extra_attributes:
            name = spec["id"]
            if not hasattr(self, name):
                raise SkeletonEncodeError(
                    f"skeleton {self.id}: vertex attribute {name!r} is declared but has no data"
                )
            attributes.append((spec, getattr(self, name)))
        return encode_skeleton(self.vertices, self.edges, attributes, segid=self.id)

    def encode(self) -> bytes:
        """Same as :meth:`to_precomputed`."""
        return self.to_precomputed()

    @classmethod
    def from_precomputed(
        cls,
        skelbuf: bytes | bytearray | memoryview,
        segid: int | None = None,
        vertex_attributes: Sequence[Mapping[str, Any]] | None = None,
    ) -> Skeleton:
        """Decode a precomputed binary. ``vertex_attributes`` is the directory info's
        list (``None``: radius then vertex_types). A file with nothing after its edges
        gets default attributes. Raises :class:`SkeletonDecodeError` naming ``segid``."""
        vertices, edges, attributes = decode_skeleton(skelbuf, vertex_attributes, segid)
        skel = cls(vertices, edges, segid=segid)
        if not attributes:
            return skel
        specs = DEFAULT_VERTEX_ATTRIBUTES if vertex_attributes is None else vertex_attributes
        skel.extra_attributes = specs
        for name, values in attributes.items():
            setattr(skel, name, values)
        return skel

    @classmethod
    def decode(
        cls,
        skelbuf: bytes | bytearray | memoryview,
        segid: int | None = None,
        vertex_attributes: Sequence[Mapping[str, Any]] | None = None,
    ) -> Skeleton:
        """Same as :meth:`from_precomputed`."""
        return cls.from_precomputed(skelbuf, segid=segid, vertex_attributes=vertex_attributes)

    @classmethod
    def from_swc(cls, swcstr: str | bytes, segid: int | None = None) -> Skeleton:
        """Read SWC text (see :mod:`cloudvol.geometry.swc`): vertices in file order,
        radii and SWC structure types as attributes, identity transform."""
        data = swc_format.parse_swc(swcstr, segid=segid)
        return cls(data.vertices, data.edges, data.radii, data.vertex_types, segid=segid)

    def to_swc(self, contributors: str = "", soma_threshold: float = math.inf) -> str:
        """SWC text: a NeuroMorpho-style header (SCALE = transform diagonal) then one
        row per vertex in the current space, each component depth-first from its first
        edge, or, when some radius reaches ``soma_threshold``, from the component's
        largest-radius vertex. Unconnected vertices follow as roots of their own."""
        header = swc_format.swc_header(self._transform, contributors)
        return swc_format.skeleton_to_swc(self, header, soma_threshold)

    def to_networkx(self) -> Any:
        """A ``networkx.Graph`` of the edges (nodes are vertex indices)."""
        try:
            import networkx as nx
        except ImportError as err:
            raise ImportError("Skeleton.to_networkx needs networkx: pip install networkx") from err
        g = nx.Graph()
        g.add_edges_from(self.edges.tolist())
        return g

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write to a file: SWC for ``*.swc``, else the precomputed binary; a further
        ``.gz``/``.xz``/``.lzma`` suffix compresses it."""
        path = os.fspath(filename)
        stem, compression = _split_compression(path)
        data = self.to_swc().encode("utf8") if stem.endswith(".swc") else self.to_precomputed()
        with _open_file(path, compression, "wb") as f:
            f.write(data)

    @classmethod
    def load(cls, filename: str | os.PathLike[str], allow_mmap: bool = False) -> Skeleton:
        """Read a file written by :meth:`save` (format and compression by suffix; SWC
        may start with a UTF-8 byte order mark). ``allow_mmap`` is accepted for
        osteoid compatibility and changes nothing: decoding copies every array out of
        the file's bytes, so mapping the file instead of reading it saves no memory."""
        path = os.fspath(filename)
        stem, compression = _split_compression(path)
        with _open_file(path, compression, "rb") as f:
            data = f.read()
        if stem.endswith(".swc"):
            return cls.from_swc(data)  # bytes: parse_swc decodes them, BOM and all
        return cls.from_precomputed(data)

    def viewer(
        self,
        units: str = "nm",
        draw_edges: bool = True,
        draw_vertices: bool = True,
        color_by: str = "radius",
        show: bool = True,
        ax: Any = None,
        library: str = "auto",
    ) -> Any:
        """Draw with matplotlib 3-D axes and return the figure; ``color_by`` is
        'radius', 'component', 'cross_section' or anything else for black;
        ``show=False`` only builds the figure. ``library`` is osteoid's choice of
        viewer: only 'matplotlib' is supported ('auto', the default, means it), other
        values raise ``ValueError``. Needs ``pip install 'cloudvol[viewer]'``."""
        from cloudvol.geometry.skeleton_viewer import plot_skeleton

        if library not in ("auto", "matplotlib"):
            raise ValueError(
                f"skeleton viewer library {library!r} is not supported; the only one is "
                "'matplotlib' ('auto' selects it)"
            )
        return plot_skeleton(self, units, draw_edges, draw_vertices, color_by, show, ax)

    def import_attributes(self, other: Skeleton) -> None:
        """Copy ``other``'s attributes (those its ``extra_attributes`` list) onto this
        skeleton's vertices at exactly the same positions, in place; specs this
        skeleton lacks are appended, those it has are replaced by ``other``'s.

        Each vertex takes the value of the first of ``other``'s vertices at its
        position. A vertex with no counterpart keeps its current value, or gets 0 for
        an attribute it did not have (osteoid would return arrays shorter than the
        vertex list). Nothing changes if no position is shared.
        """
        n = self.vertices.shape[0]
        if n == 0 or other.vertices.shape[0] == 0:
            return
        partner = graph.exact_partners(self.vertices, other.vertices)
        found = partner >= 0
        if not found.any():
            return
        specs = {spec["id"]: dict(spec) for spec in self._extra_attributes}
        for spec in other.extra_attributes:
            name = spec["id"]
            source = np.asarray(getattr(other, name))
            current = getattr(self, name, None)
            if current is not None and np.shape(current) == (n, *source.shape[1:]):
                values = np.array(current, dtype=source.dtype)
            else:
                values = np.zeros((n, *source.shape[1:]), dtype=source.dtype)
            values[found] = source[partner[found]]
            specs[name] = dict(spec)
            setattr(self, name, values)
        self.extra_attributes = list(specs.values())

    def __sizeof__(self) -> int:
        """Bytes held: the vertex, edge, transform and attribute arrays plus the id,
        space and attribute specs (as osteoid counts them)."""
        arrays = [self.vertices, self.edges, self._transform]
        arrays += [np.asarray(getattr(self, name)) for name in self._carried_attributes()]
        others = (self.id, self.space, self._extra_attributes)
        return sum(a.nbytes for a in arrays) + sum(sys.getsizeof(x) for x in others)

    def __repr__(self) -> str:
        attrs = ", ".join(
            f"{name}=({np.shape(getattr(self, name))[0]}, {np.asarray(getattr(self, name)).dtype})"
            for name in self._carried_attributes()
        )
        return (
            f"Skeleton(segid={self.id}, vertices=(shape={self.vertices.shape[0]}, "
            f"{self.vertices.dtype}), edges=(shape={self.edges.shape[0]}, {self.edges.dtype}), "
            f"{attrs}, space={self.space!r} transform={self._transform.tolist()})"
        )

    __str__ = __repr__


PrecomputedSkeleton = Skeleton


def _vertex_array(vertices: npt.ArrayLike | None, segid: int | None) -> npt.NDArray[np.float32]:
    """``vertices`` as N×3 float32 (not copied when already so); empty gives 0×3."""
    arr = np.asarray(np.zeros((0, 3)) if vertices is None else vertices, dtype=np.float32)
    if arr.size == 0:
        return arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"skeleton {segid}: vertices must be N×3 (x, y, z), got shape {arr.shape}")
    return arr


def _edge_array(edges: npt.ArrayLike | None, num_vertices: int, segid: int | None) -> np.ndarray:
    """``edges`` as M×2 uint32 (not copied when already so), checked to name existing
    vertices: a cast alone would wrap -1 to 4294967295; empty gives 0×2."""
    arr = np.asarray(np.zeros((0, 2)) if edges is None else edges)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.uint32)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"skeleton {segid}: edges must be M×2, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not np.all(arr % 1 == 0)):
        raise ValueError(f"skeleton {segid}: edges must be whole vertex indices, got {arr.dtype}")
    limit = min(num_vertices, 2**32)  # uint32 holds indices below 2**32
    if arr.min() < 0 or arr.max() >= limit:
        bad = int(np.flatnonzero(((arr < 0) | (arr >= limit)).any(axis=1))[0])
        raise ValueError(
            f"skeleton {segid}: edge {bad} {arr[bad].tolist()} names a vertex outside "
            f"0..{limit - 1}; vertices have shape ({num_vertices}, 3), edges {arr.shape}"
        )
    return arr.astype(np.uint32, copy=False)


def _split_compression(path: str) -> tuple[str, str | None]:
    for suffix, kind in ((".gz", "gzip"), (".xz", "lzma"), (".lzma", "lzma")):
        if path.endswith(suffix):
            return path[: -len(suffix)], kind
    return path, None


def _open_file(path: str, compression: str | None, mode: str) -> Any:
    if compression == "gzip":
        return gzip.open(path, mode)
    if compression == "lzma":
        return lzma.open(path, mode)
    return open(path, mode)
