"""``Mesh``: a triangle mesh held as numpy arrays, with CloudVolume's methods.

Vertices are ``float32 (N, 3)`` in x, y, z order; for meshes read from a precomputed
layer they are model-space nanometres. Faces are ``uint32`` vertex indices, ``(M, 3)``
when given 2-D. The byte formats live in :mod:`cloudvol.geometry.mesh_files`.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cloudvol.geometry import mesh_files
from cloudvol.lib import Bbox, Vec

if TYPE_CHECKING:
    import trimesh as trimesh_module
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Mesh", "crop_bounds", "is_draco_chunk_aligned", "unique_row_index", "unique_rows"]

_VIEWER_HINT = "pip install 'cloudvol[viewer]'"


def is_draco_chunk_aligned(
    verts: npt.ArrayLike, chunk_size: npt.ArrayLike, draco_grid_size: float
) -> npt.NDArray[np.bool_]:
    """Per vertex, True if some coordinate lies within half a Draco grid step of a chunk plane.

    Draco snaps positions to a grid of ``draco_grid_size`` (same unit as ``verts``), so a
    vertex that was on a chunk plane may have moved by up to half a step; rounding goes up,
    hence the strict test behind the plane and the inclusive one ahead of it.
    """
    behind = np.mod(verts, chunk_size)
    ahead = np.asarray(chunk_size) - behind
    half = draco_grid_size / 2
    return np.any(behind < half, axis=1) | np.any(ahead <= half, axis=1)


def _sortable_key(column: npt.NDArray[Any]) -> npt.NDArray[np.uint64] | None:
    """A uint64 (< 2**32) per value, ordered and equal exactly as the values, or None.

    float32 bits are flipped so that unsigned order is numeric order (-0.0 is first
    turned into +0.0, which compares equal to it); integers are shifted by their minimum.
    """
    if column.dtype == np.float32:
        bits = (column + np.float32(0)).view(np.uint32)
        flipped = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(0x80000000))
        return flipped.astype(np.uint64)
    if column.dtype.kind in "iu":
        low, high = int(column.min()), int(column.max())
        if high - low < 2**32:
            if column.dtype.kind == "u":
                return column.astype(np.uint64) - np.uint64(low)
            return (column.astype(np.int64) - low).astype(np.uint64)
    return None


def _unique_rows_full(
    rows: npt.NDArray[Any],
) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``(unique rows, first occurrence of each, inverse, counts)``; see
    :func:`unique_row_index`."""
    keys = [_sortable_key(rows[:, j]) for j in range(rows.shape[1])] if rows.size else []
    known = [key for key in keys if key is not None]
    if not known or len(known) < len(keys) or (rows.dtype.kind == "f" and np.isnan(rows).any()):
        # np.unique itself (without return_index, whose stable sort would order NaN rows
        # differently); the first occurrences then come from the inverse.
        unique, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        first = np.argsort(inverse, kind="stable")[np.cumsum(counts) - counts]
        return unique, first, inverse, counts
    group = known[0]
    for key in known[1:]:
        # rank of the columns so far (< 2**32 rows), then the next column in the low bits
        rank = np.unique(group, return_inverse=True)[1].astype(np.uint64)
        group = (rank << np.uint64(32)) | key
    # return_index makes np.unique sort stably, so ``first`` is the first occurrence
    _, first, inverse, counts = np.unique(
        group, return_index=True, return_inverse=True, return_counts=True
    )
    return rows[first], first, inverse.reshape(-1), counts


def unique_row_index(
    rows: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """For the sorted unique rows: the index of each one's first occurrence, the inverse
    (row -> unique index) and the counts.

    The same as ``np.unique(rows, axis=0, return_index=True, return_inverse=True,
    return_counts=True)`` without the rows themselves (``rows[first]`` are they), for
    float32 and integer rows many times faster: each column becomes a 32-bit
    order-preserving key and columns are folded pairwise into 64-bit keys, so every step
    is a fast 1-D sort instead of a sort of a structured view. Other dtypes and rows with
    NaN (whose order np.unique leaves to chance) go to np.unique.
    """
    _, first, inverse, counts = _unique_rows_full(rows)
    return first, inverse, counts


def unique_rows(
    rows: npt.NDArray[Any],
) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Sorted unique rows, the inverse (row -> unique index) and the counts.

    The same as ``np.unique(rows, axis=0, return_inverse=True, return_counts=True)``
    (what CloudVolume uses), many times faster; see :func:`unique_row_index`.
    """
    unique, _, inverse, counts = _unique_rows_full(rows)
    return unique, inverse, counts


def crop_bounds(bbox: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The ``(min, max)`` corners (float64 x, y, z; both inclusive) of a crop region.

    ``bbox`` is a Bbox (anything with ``minpt``/``maxpt``), six numbers ``(x0, y0, z0,
    x1, y1, z1)`` as a list, tuple or array (floats allowed), a pair ``(min, max)`` of
    three numbers each, or anything else ``Bbox.create`` takes (slices, a Vec, a dict…).
    ``ValueError`` for numbers in any other arrangement.
    """
    numbers = None
    if isinstance(bbox, list | tuple | np.ndarray) and not isinstance(bbox, Vec):
        try:
            numbers = np.asarray(bbox, dtype=np.float64)
        except (TypeError, ValueError):  # slices, or a ragged nesting Bbox.create may take
            numbers = None
    if hasattr(bbox, "minpt") and hasattr(bbox, "maxpt"):
        lo, hi = bbox.minpt, bbox.maxpt
    elif numbers is None:
        box = Bbox.create(bbox)
        lo, hi = box.minpt, box.maxpt
    elif numbers.shape == (6,):
        lo, hi = numbers[:3], numbers[3:]
    elif numbers.shape == (2, 3):
        lo, hi = numbers
    else:
        raise ValueError(
            "a crop region of numbers needs six (x0, y0, z0, x1, y1, z1) or a pair of "
            f"three (min, max), got shape {numbers.shape}"
        )
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    if lo.shape != (3,) or hi.shape != (3,):
        raise ValueError(
            f"a crop region needs 3-D corners (x, y, z), got {lo.tolist()} and {hi.tolist()}"
        )
    return lo, hi


class Mesh:
    """A triangle mesh: ``vertices`` float32 (N, 3) x, y, z; ``faces`` uint32; ``normals``.

    The arrays are copied on construction. A 1-D ``faces`` is kept 1-D (CloudVolume does
    the same) and regrouped into triples only when serialised; empty inputs become
    ``(0, 3)`` arrays so that empty meshes serialise like any other. ``normals`` are per
    vertex and ``(0, 3)`` when absent.
    """

    def __init__(
        self,
        vertices: npt.ArrayLike,
        faces: npt.ArrayLike,
        normals: npt.ArrayLike | None = None,
        segid: Any = None,
        encoding_type: Any = None,
        encoding_options: Any = None,
    ) -> None:
        self.vertices: npt.NDArray[np.float32] = np.array(vertices, dtype=np.float32)
        if self.vertices.size == 0:
            self.vertices = self.vertices.reshape(0, 3)
        self.faces: npt.NDArray[np.uint32] = np.array(faces, dtype=np.uint32)
        if self.faces.size == 0:
            self.faces = self.faces.reshape(0, 3)
        if normals is None:
            self.normals: npt.NDArray[np.float32] = np.zeros((0, 3), dtype=np.float32)
        else:
            self.normals = np.array(normals, dtype=np.float32)
            if self.normals.size == 0:
                self.normals = self.normals.reshape(0, 3)
        self.segid = segid
        self.encoding_type = encoding_type
        self.encoding_options = encoding_options

    # --- basics ---------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of vertices."""
        return int(self.vertices.shape[0])

    def __eq__(self, other: object) -> bool:
        """Exact equality of vertices and faces, and of normals when either has them."""
        if not isinstance(other, Mesh):
            return NotImplemented
        if (self.normals.size == 0) != (other.normals.size == 0):
            return False
        same = np.array_equal(self.vertices, other.vertices) and np.array_equal(
            self.faces, other.faces
        )
        if self.normals.size == 0:
            return bool(same)
        return bool(same and np.array_equal(self.normals, other.normals))

    __hash__ = None  # type: ignore[assignment]  # mutable arrays: not hashable

    def __sizeof__(self) -> int:
        arrays = self.vertices.nbytes + self.faces.nbytes + self.normals.nbytes
        others = sum(
            sys.getsizeof(x) for x in (self.segid, self.encoding_type, self.encoding_options)
        )
        return arrays + others

    def __repr__(self) -> str:
        return (
            f"Mesh(vertices<{self.vertices.shape[0]}>, faces<{self.faces.shape[0]}>, "
            f"normals<{self.normals.shape[0]}>, segid={self.segid}, "
            f"encoding_type=<{self.encoding_type}>)"
        )

    def empty(self) -> bool:
        """True if the mesh has no vertices or no faces."""
        return self.vertices.size == 0 or self.faces.size == 0

    def clone(self) -> Mesh:
        """A deep copy (arrays, segid, encoding type and options)."""
        return Mesh(
            self.vertices,
            self.faces,
            self.normals,
            segid=self.segid,
            encoding_type=copy.deepcopy(self.encoding_type),
            encoding_options=copy.deepcopy(self.encoding_options),
        )

    def _with(
        self,
        vertices: npt.ArrayLike,
        faces: npt.ArrayLike,
        normals: npt.ArrayLike | None = None,
    ) -> Mesh:
        """A new mesh with these arrays and this mesh's segid and encoding."""
        return Mesh(
            vertices,
            faces,
            normals,
            segid=self.segid,
            encoding_type=copy.deepcopy(self.encoding_type),
            encoding_options=copy.deepcopy(self.encoding_options),
        )

    def _faces_2d(self) -> npt.NDArray[np.uint32]:
        """The faces as (M, 3) triangles; a flat index list is regrouped in triples."""
        if self.faces.ndim != 2 and self.faces.size % 3:
            raise ValueError(
                f"mesh {self.segid}: its {self.faces.size} face indices are not a multiple "
                "of 3, so they do not form triangles"
            )
        return self.faces.reshape(-1, 3)

    def _has_vertex_normals(self) -> bool:
        return self.normals.shape[0] == self.vertices.shape[0] and self.normals.size > 0

    def edges(self) -> Iterator[tuple[int, int]]:
        """Each face's three edges as ``(low, high)`` vertex index pairs; repeats included.

        Per face the order is (0, 1), (1, 2), (0, 2), as CloudVolume yields them.
        """
        tris = self._faces_2d().astype(np.int64)
        pairs = np.stack([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [0, 2]]], axis=1).reshape(-1, 2)
        pairs.sort(axis=1)
        return zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True)

    def triangles(self) -> npt.NDArray[np.float32]:
        """The faces as coordinates: float32 (M, 3 corners, 3 axes x, y, z)."""
        return self.vertices[self._faces_2d()]

    def bbox(self) -> Bbox:
        """The smallest box holding every vertex, in the vertices' unit.

        ``maxpt`` is the largest coordinate itself, so ``crop(mesh.bbox())`` (inclusive)
        keeps the whole mesh. An empty mesh gives a zero box at the origin.
        """
        if self.vertices.shape[0] == 0:
            return Bbox((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), dtype=np.float32)
        return Bbox(self.vertices.min(axis=0), self.vertices.max(axis=0), dtype=np.float32)

    # --- combining and cleaning -----------------------------------------------------------

    @classmethod
    def concatenate(cls, *meshes: Mesh, segid: Any = None) -> Mesh:
        """One mesh holding all of ``meshes``, their faces offset to the joint vertex list.

        Normals are kept only if every mesh has one per vertex. ``encoding_type`` is the
        shared type, or a list of the distinct types in first-seen order (an input whose
        type is already such a list contributes its members). No meshes give an empty mesh.
        """
        if not meshes:
            return cls([], [], segid=segid)
        counts = np.array([len(m) for m in meshes], dtype=np.int64)
        offsets = np.cumsum(counts) - counts
        vertices = np.concatenate([m.vertices.reshape(-1, 3) for m in meshes])
        shifted = [m.faces.astype(np.int64) + off for m, off in zip(meshes, offsets, strict=True)]
        if any(f.ndim != 1 for f in shifted):
            shifted = [f.reshape(-1, 3) for f in shifted]
        faces = np.concatenate(shifted)
        normals = None
        if all(m._has_vertex_normals() for m in meshes):
            normals = np.concatenate([m.normals for m in meshes])
        kinds: list[Any] = []
        for m in meshes:  # a list is what an earlier concatenate of mixed types made
            kind = m.encoding_type
            kinds.extend(kind if isinstance(kind, list) else [kind])
        types = list(dict.fromkeys(kinds))
        encoding_type = types[0] if len(types) == 1 else types
        return cls(vertices, faces, normals, segid=segid, encoding_type=encoding_type)

    def consolidate(self) -> Mesh:
        """Merge identical vertices and identical faces; returns a new mesh without normals.

        Vertices come out sorted (x, then y, then z) as by ``np.unique(axis=0)``; faces
        are remapped, then made unique and sorted as rows (``np.unique(axis=0)``), so a
        face that repeats another with a different winding is kept. Flat (1-D) faces are
        read as triples and come out (M, 3); CloudVolume would instead reduce them to
        their sorted unique indices, destroying the triangles.
        """
        if self.empty():
            return self._with([], [])
        vertices, inverse, _ = unique_rows(self.vertices)
        faces = unique_rows(inverse[self._faces_2d()])[0]
        return self._with(vertices, faces)

    def deduplicate_chunk_boundaries(
        self,
        chunk_size: npt.ArrayLike,
        is_draco: bool = False,
        draco_grid_size: float | None = None,
        offset: npt.ArrayLike = (0, 0, 0),
    ) -> Mesh:
        """Weld the seams of a mesh assembled from per-chunk fragments.

        A vertex is merged with its twin when its position occurs exactly twice and it
        lies on a chunk plane: some coordinate minus ``offset`` is a multiple of
        ``chunk_size`` (same unit as the vertices, x, y, z), or, for Draco-quantised
        fragments, within half of ``draco_grid_size`` of one. Vertices no face uses are
        dropped; the result is sorted like ``np.unique(axis=0)`` and has no normals.
        """
        verts = self.vertices.astype(np.float64) - np.asarray(offset, dtype=np.float64)
        if is_draco:
            if draco_grid_size is None:
                raise ValueError("deduplicating a Draco mesh needs draco_grid_size.")
            aligned = is_draco_chunk_aligned(verts, chunk_size, draco_grid_size)
        else:
            aligned = np.any(np.mod(verts, chunk_size) == 0, axis=1)
        return self.deduplicate_vertices(aligned)

    def deduplicate_vertices(self, is_chunk_aligned: npt.ArrayLike) -> Mesh:
        """Merge each vertex flagged in ``is_chunk_aligned`` (bool per vertex) with its twin
        if its position occurs exactly twice; see :meth:`deduplicate_chunk_boundaries`.
        """
        positions, position_id, counts = unique_rows(self.vertices)
        merge = np.asarray(is_chunk_aligned, dtype=bool) & (counts[position_id] == 2)
        used, face_slot = np.unique(self.faces.reshape(-1), return_inverse=True)
        # Rows (position, tiebreak) keep every used vertex apart except merged twins,
        # whose tiebreak is 0; the order is (x, y, z, then -1 for merged or the index).
        keyed = np.stack([position_id[used], np.where(merge[used], 0, used + 1)], axis=1)
        unique_keyed, slot_vertex, _ = unique_rows(keyed)
        vertices = positions[unique_keyed[:, 0]]
        faces = slot_vertex[face_slot.reshape(-1)].reshape(-1, 3)
        return Mesh(
            vertices,
            faces,
            None,
            segid=self.segid,
            encoding_type=self.encoding_type,
            encoding_options=self.encoding_options,
        )

    def crop(self, bbox: Any) -> Mesh:
        """The part of the mesh inside ``bbox`` (inclusive of both corners; vertex units).

        Every vertex inside is kept (used or not); a face is kept if all three of its
        vertices are. ``bbox`` is a Bbox, six numbers ``(x0, y0, z0, x1, y1, z1)``
        (floats allowed), a pair ``(min, max)`` or anything ``Bbox.create`` takes.
        """
        if self.empty():
            return self._with([], [])
        lo, hi = crop_bounds(bbox)
        # "not outside" rather than "inside" so NaN coordinates count as inside, as in
        # CloudVolume's point test.
        inside = ~(np.any(self.vertices < lo, axis=1) | np.any(self.vertices > hi, axis=1))
        new_index = np.cumsum(inside, dtype=np.int64) - 1
        tris = self._faces_2d()
        kept = tris[np.all(inside[tris], axis=1)]
        normals = self.normals[inside] if self._has_vertex_normals() else None
        return self._with(self.vertices[inside], new_index[kept], normals)

    # --- formats --------------------------------------------------------------------------

    @classmethod
    def from_precomputed(cls, binary: mesh_files.BytesLike, segid: Any = None) -> Mesh:
        """Decode a legacy precomputed fragment (see :func:`mesh_files.decode_precomputed`)."""
        arrays = mesh_files.decode_precomputed(binary, segid=segid)
        return cls(arrays.vertices, arrays.faces, segid=segid, encoding_type="precomputed")

    def to_precomputed(self) -> bytes:
        """Encode as a legacy precomputed fragment (normals are not stored)."""
        return mesh_files.encode_precomputed(self.vertices, self.faces, segid=self.segid)

    @classmethod
    def from_obj(cls, text: str | mesh_files.BytesLike, segid: Any = None) -> Mesh:
        """Decode Wavefront OBJ text or bytes (see :func:`mesh_files.decode_obj`)."""
        arrays = mesh_files.decode_obj(text, segid=segid)
        # CloudVolume labels OBJ-decoded meshes 'precomputed'; kept for compatibility.
        return cls(*arrays, segid=segid, encoding_type="precomputed")

    def to_obj(self) -> bytes:
        """Encode as Wavefront OBJ (UTF-8 bytes, 1-based faces, no normals)."""
        return mesh_files.encode_obj(self.vertices, self.faces)

    @classmethod
    def from_ply(cls, binary: mesh_files.BytesLike, segid: Any = None) -> Mesh:
        """Decode an ASCII or binary PLY file (see :func:`mesh_files.decode_ply`)."""
        arrays = mesh_files.decode_ply(binary, segid=segid)
        return cls(*arrays, segid=segid, encoding_type="ply")

    def to_ply(self) -> bytearray:
        """Encode as binary little-endian PLY (float vertices, ``list int int`` faces)."""
        return mesh_files.encode_ply(self.vertices, self.faces)

    @classmethod
    def from_draco(cls, binary: mesh_files.BytesLike, segid: Any = None) -> Mesh:
        """Decode a Draco mesh; ``encoding_options`` keeps DracoPy's options."""
        arrays, options = mesh_files.decode_draco(binary, segid=segid)
        return cls(
            arrays.vertices,
            arrays.faces,
            segid=segid,
            encoding_type="draco",
            encoding_options=options,
        )

    def to_draco(self, **options: Any) -> bytes:
        """Encode with Draco; ``options`` (``quantization_bits``, ``quantization_range``,
        ``quantization_origin``, ``compression_level``, ``preserve_order``…) go to
        ``DracoPy.encode``. Lossy unless the quantisation grid holds every vertex.
        """
        return mesh_files.encode_draco(self.vertices, self.faces, **options)

    _SAVERS = {
        "ply": "to_ply",
        "obj": "to_obj",
        "precomputed": "to_precomputed",
        "drc": "to_draco",
        "draco": "to_draco",
    }

    def save(self, filename: str | os.PathLike[str], file_format: str | None = None) -> None:
        """Write the mesh to a file; the format is ``file_format`` or the file's extension.

        ``ply``, ``obj``, ``precomputed`` and ``drc``/``draco`` are known; any other
        extension is written as OBJ, as CloudVolume does.
        """
        fmt = file_format or os.path.splitext(os.fspath(filename))[1].lstrip(".").lower()
        if file_format is not None and fmt not in self._SAVERS:
            raise ValueError(f"unknown mesh file format {fmt!r}; use one of {list(self._SAVERS)}.")
        data = getattr(self, self._SAVERS.get(fmt, "to_obj"))()
        with open(filename, "wb") as f:
            f.write(data)

    _LOADERS = {
        "ply": "from_ply",
        "obj": "from_obj",
        "precomputed": "from_precomputed",
        "drc": "from_draco",
        "draco": "from_draco",
    }

    @classmethod
    def load(
        cls, filename: str | os.PathLike[str], file_format: str | None = None, segid: Any = None
    ) -> Mesh:
        """Read a mesh file written by :meth:`save` (format from ``file_format`` or extension;
        unknown extensions are read as OBJ).

        CloudVolume's ``load`` is an instance method whose PLY branch calls a missing
        ``from_ply``; this one is a classmethod (still callable on an instance) that works.
        """
        fmt = file_format or os.path.splitext(os.fspath(filename))[1].lstrip(".").lower()
        if file_format is not None and fmt not in cls._LOADERS:
            raise ValueError(f"unknown mesh file format {fmt!r}; use one of {list(cls._LOADERS)}.")
        with open(filename, "rb") as f:
            data = f.read()
        mesh: Mesh = getattr(cls, cls._LOADERS.get(fmt, "from_obj"))(data, segid=segid)
        return mesh

    # --- other libraries ------------------------------------------------------------------

    def trimesh(self, process: bool = False, validate: bool = False) -> trimesh_module.Trimesh:
        """This mesh as a ``trimesh.Trimesh`` (needs the optional ``trimesh`` package)."""
        try:
            import trimesh
        except ImportError as exc:
            raise ImportError("Mesh.trimesh() needs trimesh: pip install trimesh") from exc
        return trimesh.Trimesh(
            vertices=self.vertices,
            faces=self._faces_2d(),
            vertex_normals=self.normals if self._has_vertex_normals() else None,
            process=process,
            validate=validate,
        )

    @classmethod
    def from_trimesh(cls, tmesh: trimesh_module.Trimesh, segid: Any = None) -> Mesh:
        """A Mesh from a ``trimesh.Trimesh`` (its vertex normals included)."""
        return cls(tmesh.vertices, tmesh.faces, tmesh.vertex_normals, segid=segid)

    def viewer(
        self,
        show: bool = True,
        ax: Axes | None = None,
        color: Any = "lightsteelblue",
        edgecolor: Any = "none",
        alpha: float = 1.0,
    ) -> Figure:
        """Draw the mesh with matplotlib's 3-D axes and return the figure.

        ``show=True`` opens a pyplot window; ``show=False`` builds the figure without
        pyplot (no display needed), e.g. to ``savefig``. ``ax`` draws into existing 3-D
        axes instead. Needs matplotlib (``pip install 'cloudvol[viewer]'``).
        CloudVolume's viewer uses VTK; this one needs only matplotlib.
        """
        try:
            from matplotlib.figure import Figure
            from mpl_toolkits.mplot3d.art3d import Poly3DCollection
        except ImportError as exc:
            raise ImportError(f"Mesh.viewer() needs matplotlib: {_VIEWER_HINT}") from exc

        # 3-D axes methods (set_zlim, add_collection3d…) are not on the Axes type.
        axes: Any = ax
        if axes is None:
            if show:
                import matplotlib.pyplot as plt

                axes = plt.figure().add_subplot(projection="3d")
            else:
                axes = Figure().add_subplot(projection="3d")
        figure: Figure = axes.figure

        collection = Poly3DCollection(
            self.triangles(), facecolors=color, edgecolors=edgecolor, alpha=alpha
        )
        axes.add_collection3d(collection)
        if len(self):
            lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
            # a flat mesh still needs a non-zero extent on its thin axis
            flat = hi - lo == 0
            lo, hi = lo - 0.5 * flat, hi + 0.5 * flat
            axes.set_xlim(lo[0], hi[0])
            axes.set_ylim(lo[1], hi[1])
            axes.set_zlim(lo[2], hi[2])
            axes.set_box_aspect(hi - lo)
        axes.set_xlabel("x")
        axes.set_ylabel("y")
        axes.set_zlabel("z")
        title = "Mesh" if self.segid is None else f"Mesh {self.segid}"
        axes.set_title(f"{title} ({len(self)} vertices, {self._faces_2d().shape[0]} faces)")
        if show:
            import matplotlib.pyplot as plt

            plt.show()
        return figure
