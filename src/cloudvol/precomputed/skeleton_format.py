"""The Neuroglancer precomputed skeleton format: the directory ``info`` and the binary.

Binary layout (all little endian, no padding)::

    uint32 num_vertices · uint32 num_edges
    num_vertices × 3 float32   vertex positions (x, y, z)
    num_edges × 2 uint32       edges (vertex indices)
    per vertex attribute, in info order: num_vertices × num_components values
                                          of its data_type, C order [vertex][component]

Positions are in the skeleton's stored space; the info ``transform`` (3×4, row
major) maps them to nanometres. CloudVolume's reading rule is kept: a file that ends
right after the edges has no attributes at all, and an unknown attribute list means
``radius`` (float32) then ``vertex_types`` (uint8).

How much must follow the edges (:func:`decode_skeleton`): nothing, or every listed
attribute in full. One exception, osteoid's "vertex_types is optional": when the list
is unknown (``None``) or is exactly that default pair, a file holding only the radii
reads as radius plus ``vertex_types`` all 0 (osteoid would return an empty
vertex_types). Too few bytes for the attributes is an error, and so are bytes left
over after the last attribute (osteoid ignores them), each said in those words.

Pure functions over bytes and arrays; no IO.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import InvalidInfoError, SkeletonDecodeError, SkeletonEncodeError

__all__ = [
    "DEFAULT_VERTEX_ATTRIBUTES",
    "IDENTITY_TRANSFORM",
    "SKELETON_ATTRIBUTE_DATA_TYPES",
    "decode_skeleton",
    "default_skeleton_info",
    "encode_skeleton",
    "skeleton_transform",
    "validate_skeleton_info",
]

#: The per-vertex attributes CloudVolume assumes when it knows no better.
DEFAULT_VERTEX_ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {"id": "radius", "data_type": "float32", "num_components": 1},
    {"id": "vertex_types", "data_type": "uint8", "num_components": 1},
)

#: The attribute data types Neuroglancer's skeleton schema allows.
SKELETON_ATTRIBUTE_DATA_TYPES = frozenset(
    {"float32", "int8", "uint8", "int16", "uint16", "int32", "uint32"}
)

#: The identity as the info stores it: 12 numbers, a 3×4 matrix in row-major order.
IDENTITY_TRANSFORM: tuple[int, ...] = (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)

_HEADER_BYTES = 8


def default_skeleton_info() -> dict[str, Any]:
    """The info CloudVolume uses for a skeleton directory that has none: identity
    transform (vertices already in nm), radius + vertex_types, unsharded, no index."""
    return {
        "@type": "neuroglancer_skeletons",
        "transform": list(IDENTITY_TRANSFORM),
        "vertex_attributes": copy.deepcopy(list(DEFAULT_VERTEX_ATTRIBUTES)),
        "sharding": None,
        "spatial_index": None,
    }


def _fail(where: str, field: str, problem: str) -> InvalidInfoError:
    return InvalidInfoError(f"{where}: skeleton info field {field!r} {problem}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_skeleton_info(info: Any, where: str = "skeletons/info") -> None:
    """Check a skeleton directory info; raise :class:`InvalidInfoError` naming the field.

    ``@type`` (when present) must be ``neuroglancer_skeletons``; ``transform`` (when
    present) 12 finite numbers; each vertex attribute needs a unique string ``id``, a
    ``data_type`` Neuroglancer allows and an integer ``num_components >= 1``;
    ``sharding`` and ``spatial_index`` are ``None`` or objects. ``where`` names the
    file (e.g. its cloudpath).
    """
    if not isinstance(info, Mapping):
        raise InvalidInfoError(
            f"{where}: a skeleton info must be a JSON object, got {type(info).__name__}"
        )
    kind = info.get("@type", "neuroglancer_skeletons")
    if kind != "neuroglancer_skeletons":
        raise _fail(where, "@type", f"must be 'neuroglancer_skeletons', got {kind!r}")

    if "transform" in info:
        transform = info["transform"]
        if (
            not isinstance(transform, Sequence)
            or isinstance(transform, str)
            or len(transform) != 12
            or not all(_is_number(v) and math.isfinite(v) for v in transform)
        ):
            raise _fail(where, "transform", f"must be 12 finite numbers, got {transform!r}")

    attributes = info.get("vertex_attributes", [])
    if not isinstance(attributes, Sequence) or isinstance(attributes, str):
        raise _fail(where, "vertex_attributes", f"must be a list, got {attributes!r}")
    seen: set[str] = set()
    for i, attr in enumerate(attributes):
        field = f"vertex_attributes[{i}]"
        if not isinstance(attr, Mapping):
            raise _fail(where, field, f"must be an object, got {attr!r}")
        attr_id = attr.get("id")
        if not isinstance(attr_id, str) or not attr_id:
            raise _fail(where, f"{field}.id", f"must be a non-empty string, got {attr_id!r}")
        if attr_id in seen:
            raise _fail(where, f"{field}.id", f"repeats the id {attr_id!r}")
        seen.add(attr_id)
        data_type = attr.get("data_type")
        if data_type not in SKELETON_ATTRIBUTE_DATA_TYPES:
            allowed = ", ".join(sorted(SKELETON_ATTRIBUTE_DATA_TYPES))
            raise _fail(where, f"{field}.data_type", f"must be one of {allowed}, got {data_type!r}")
        components = attr.get("num_components")
        if isinstance(components, bool) or not isinstance(components, int) or components < 1:
            raise _fail(
                where, f"{field}.num_components", f"must be an integer >= 1, got {components!r}"
            )

    for field in ("sharding", "spatial_index"):
        value = info.get(field)
        if value is not None and not isinstance(value, Mapping):
            raise _fail(where, field, f"must be an object or null, got {value!r}")


def skeleton_transform(info: Mapping[str, Any]) -> npt.NDArray[np.float32]:
    """The info's ``transform`` as a 3×4 float32 matrix (identity when absent)."""
    return np.asarray(info.get("transform", IDENTITY_TRANSFORM), dtype=np.float32).reshape(3, 4)


def _attribute_dtype(spec: Mapping[str, Any]) -> np.dtype[Any]:
    return np.dtype(spec["data_type"]).newbyteorder("<")


def encode_skeleton(
    vertices: npt.ArrayLike,
    edges: npt.ArrayLike,
    attributes: Sequence[tuple[Mapping[str, Any], npt.ArrayLike]] = (),
    segid: int | None = None,
) -> bytes:
    """The precomputed binary of a skeleton.

    ``vertices`` is N×3 (x, y, z; written as float32), ``edges`` M×2 vertex indices
    (uint32) and ``attributes`` ``(spec, array)`` pairs in info order, each array
    holding ``N × spec["num_components"]`` values (cast to ``spec["data_type"]``).
    Raises :class:`SkeletonEncodeError` naming the segid for a wrong shape, an edge
    to a vertex that does not exist, or an attribute of the wrong length.
    """
    label = f"skeleton {segid}" if segid is not None else "skeleton"
    verts = np.asarray(vertices)
    if verts.size == 0:
        verts = verts.reshape(0, 3)
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise SkeletonEncodeError(f"{label}: vertices must be N×3, got shape {verts.shape}")
    nv = verts.shape[0]
    edge_arr = np.asarray(edges)
    if edge_arr.size == 0:
        edge_arr = edge_arr.reshape(0, 2)
    if edge_arr.ndim != 2 or edge_arr.shape[1] != 2:
        raise SkeletonEncodeError(f"{label}: edges must be M×2, got shape {edge_arr.shape}")
    if edge_arr.size and (edge_arr.min() < 0 or edge_arr.max() >= nv):
        flat = edge_arr.reshape(-1)
        bad = int(flat[np.flatnonzero((flat < 0) | (flat >= nv))[0]])
        raise SkeletonEncodeError(
            f"{label}: an edge refers to vertex {bad} but there are only {nv} vertices"
        )

    parts = [
        np.array([nv, edge_arr.shape[0]], dtype="<u4").tobytes(),
        np.ascontiguousarray(verts, dtype="<f4").tobytes(),
        np.ascontiguousarray(edge_arr, dtype="<u4").tobytes(),
    ]
    for spec, values in attributes:
        components = int(spec["num_components"])
        arr = np.asarray(values)
        if arr.ndim == 0 or arr.shape[0] != nv or arr.size != nv * components:
            raise SkeletonEncodeError(
                f"{label}: vertex attribute {spec['id']!r} has shape {arr.shape}; it needs "
                f"{nv} vertices × {components} component(s)"
            )
        parts.append(np.ascontiguousarray(arr, dtype=_attribute_dtype(spec)).tobytes())
    return b"".join(parts)


def decode_skeleton(
    buf: bytes | bytearray | memoryview,
    vertex_attributes: Sequence[Mapping[str, Any]] | None = None,
    segid: int | None = None,
    where: str | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32], dict[str, np.ndarray]]:
    """Parse a precomputed skeleton binary into ``(vertices, edges, {id: array})``.

    ``vertices`` is N×3 float32, ``edges`` M×2 uint32. Attribute arrays are 1-D for one
    component and N×C otherwise, in ``vertex_attributes`` order (``None`` means radius
    then vertex_types). A file ending right after the edges has no attributes (empty
    dict); with the default attributes, one ending after the radii gets vertex_types 0
    (see the module docstring). Every length is checked: a short header, vertices or
    edges past the end, an edge index >= N, attributes cut short or bytes left over
    after them raise :class:`SkeletonDecodeError` naming ``segid`` and ``where``.
    The arrays are writable and do not share memory with ``buf``.
    """
    label = "skeleton" + (f" {segid}" if segid is not None else "")
    if where:
        label += f" ({where})"
    data = bytearray(buf)  # one copy: the arrays below are writable views of it
    size = len(data)
    if size < _HEADER_BYTES:
        raise SkeletonDecodeError(
            f"{label}: {size} bytes is shorter than the 8-byte header (vertex and edge counts)"
        )
    nv, ne = (int(n) for n in np.frombuffer(data, dtype="<u4", count=2))
    vertices_end = _HEADER_BYTES + 12 * nv
    edges_end = vertices_end + 8 * ne
    if size < edges_end:
        raise SkeletonDecodeError(
            f"{label}: {nv} vertices and {ne} edges need {edges_end} bytes, the file has {size}"
        )
    vertices = np.frombuffer(data, dtype="<f4", count=3 * nv, offset=_HEADER_BYTES).reshape(nv, 3)
    edges = np.frombuffer(data, dtype="<u4", count=2 * ne, offset=vertices_end).reshape(ne, 2)
    if ne and int(edges.max()) >= nv:
        bad = int(np.argmax(edges.max(axis=1) >= nv))
        raise SkeletonDecodeError(
            f"{label}: edge {bad} {edges[bad].tolist()} refers to a vertex >= {nv} "
            "(the vertex count)"
        )
    vertices = vertices.astype(np.float32, copy=False)
    edges = edges.astype(np.uint32, copy=False)

    attributes: dict[str, np.ndarray] = {}
    if size == edges_end:
        return vertices, edges, attributes

    specs = DEFAULT_VERTEX_ATTRIBUTES if vertex_attributes is None else vertex_attributes
    sizes = [nv * int(spec["num_components"]) * _attribute_dtype(spec).itemsize for spec in specs]
    expected = edges_end + sum(sizes)
    radius_only = _is_default(specs) and size == edges_end + sizes[0]
    if radius_only:
        specs = specs[:1]
    elif expected != size:
        names = ", ".join(f"{s['id']}({s['data_type']}×{s['num_components']})" for s in specs)
        if size > expected:
            raise SkeletonDecodeError(
                f"{label}: trailing bytes after the last vertex attribute: the attributes "
                f"[{names}] of {nv} vertices end at byte {expected} but the file has {size} "
                f"({size - expected} more)"
            )
        raise SkeletonDecodeError(
            f"{label}: {size - edges_end} bytes follow the edges but the vertex attributes "
            f"[{names}] of {nv} vertices need {expected - edges_end}"
        )
    offset = edges_end
    for spec in specs:
        components = int(spec["num_components"])
        dtype = _attribute_dtype(spec)
        arr = np.frombuffer(data, dtype=dtype, count=nv * components, offset=offset)
        offset += arr.nbytes
        arr = arr.astype(dtype.newbyteorder("="), copy=False)
        attributes[str(spec["id"])] = arr.reshape(nv, components) if components > 1 else arr
    if radius_only:
        attributes["vertex_types"] = np.zeros(nv, dtype=np.uint8)
    return vertices, edges, attributes


def _is_default(specs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``specs`` are radius (float32) then vertex_types (uint8), one component
    each, however the data types are spelled."""
    if len(specs) != len(DEFAULT_VERTEX_ATTRIBUTES):
        return False
    try:
        return all(
            spec["id"] == default["id"]
            and np.dtype(spec["data_type"]) == np.dtype(default["data_type"])
            and int(spec["num_components"]) == 1
            for spec, default in zip(specs, DEFAULT_VERTEX_ATTRIBUTES, strict=True)
        )
    except (KeyError, TypeError, ValueError):
        return False
