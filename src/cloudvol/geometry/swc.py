"""SWC, the text format of neuron tracings (Cannon et al. 1998, J Neurosci Methods 84).

One sample per line: ``id type x y z radius parent`` separated by any whitespace;
``parent`` is -1 (any negative number) for a root. Lines starting with ``#`` are
comments (the NeuroMorpho header lives there). Real files have blank lines, CRLF
endings, several roots, ids that are neither sequential nor sorted, parents listed
after their children, ``NA`` radii and extra columns (Vaa3D's ESWC); all are read.
A radius that is not a number (``NA``, ``N/A``, ``NaN``, ``none``, ``-``, any case)
reads as -1, the value cloudvol and osteoid use for "unknown". A leading UTF-8 byte
order mark is skipped.
Coordinates are whatever space the tracer used (often µm or voxels): nothing is
scaled on reading.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import SkeletonDecodeError
from cloudvol.geometry.skeleton_graph import dfs_parent_pairs

__all__ = [
    "SWC_VERTEX_TYPES",
    "SwcData",
    "SwcTree",
    "format_swc",
    "parse_swc",
    "skeleton_to_swc",
    "swc_header",
]

#: The standard SWC structure identifiers (tracers use other values up to 255 too).
SWC_VERTEX_TYPES = {
    0: "undefined",
    1: "soma",
    2: "axon",
    3: "basal dendrite",
    4: "apical dendrite",
    5: "custom",
    6: "unspecified neurite",
    7: "glia processes",
}


class SwcData(NamedTuple):
    """The arrays of a parsed SWC file, vertices in file order."""

    vertices: npt.NDArray[np.float32]  # N×3, x y z as written
    edges: npt.NDArray[np.uint32]  # M×2 indices into vertices
    radii: npt.NDArray[np.float32]  # N; -1 where the file says NA or NaN
    vertex_types: npt.NDArray[np.uint8]  # N; SWC structure identifiers


def _label(segid: int | None) -> str:
    return f"SWC of skeleton {segid}" if segid is not None else "SWC"


def _parse_radius(text: str) -> float:
    """A radius, or -1 for the tracers' ways of writing "not measured"."""
    if text.upper() in ("NA", "N/A", "NONE", "-"):
        return -1.0
    value = float(text)
    return -1.0 if math.isnan(value) else value  # float() reads "nan" itself


def _parse_type(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        as_float = float(text)  # "3.0" from tools that write every column as a float
        if not as_float.is_integer():
            raise
        value = int(as_float)
    if not 0 <= value <= 255:
        raise ValueError(f"structure type {value} is outside 0..255")
    return value


def parse_swc(text: str | bytes, segid: int | None = None) -> SwcData:
    """Parse SWC text (or UTF-8 bytes) into arrays.

    Each edge joins a sample and its parent and is stored as (smaller SWC id, larger
    SWC id) mapped to vertex indices, as osteoid stores them. A line that cannot be
    read, a repeated id or a parent id that never appears raises
    :class:`SkeletonDecodeError` naming the line number and its content.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig")
    text = text.removeprefix("\ufeff")  # a byte order mark decoded as plain UTF-8
    label = _label(segid)

    ids: list[int] = []
    types: list[int] = []
    coords: list[tuple[float, float, float]] = []
    radii: list[float] = []
    parents: list[tuple[int, int, int, str]] = []  # (id, parent id, line no, line)
    index: dict[int, int] = {}

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        try:
            if len(fields) < 7:
                raise ValueError(f"expected 7 columns, found {len(fields)}")
            sample = int(fields[0])
            vertex_type = _parse_type(fields[1])
            x, y, z = (float(v) for v in fields[2:5])
            radius = _parse_radius(fields[5])
            parent = int(float(fields[6])) if "." in fields[6] else int(fields[6])
            if not all(math.isfinite(v) for v in (x, y, z)):
                raise ValueError("coordinates must be finite")
        except ValueError as err:
            raise SkeletonDecodeError(f"{label}: line {lineno} {raw.strip()!r}: {err}") from None
        if sample in index:
            raise SkeletonDecodeError(
                f"{label}: line {lineno} {raw.strip()!r}: sample id {sample} appears twice"
            )
        index[sample] = len(ids)
        ids.append(sample)
        types.append(vertex_type)
        coords.append((x, y, z))
        radii.append(radius)
        if parent >= 0:
            parents.append((sample, parent, lineno, raw.strip()))

    edges = np.zeros((len(parents), 2), dtype=np.uint32)
    for row, (sample, parent, lineno, raw_line) in enumerate(parents):
        if parent not in index:
            raise SkeletonDecodeError(
                f"{label}: line {lineno} {raw_line!r}: parent {parent} is not a sample id "
                "in this file"
            )
        low, high = (sample, parent) if sample < parent else (parent, sample)
        edges[row] = (index[low], index[high])

    return SwcData(
        vertices=np.array(coords, dtype=np.float32).reshape(-1, 3),
        edges=edges,
        radii=np.array(radii, dtype=np.float32),
        vertex_types=np.array(types, dtype=np.uint8),
    )


def swc_header(transform: npt.ArrayLike, contributors: str = "") -> str:
    """The NeuroMorpho-style comment block cloudvol writes; ``SCALE`` is the diagonal
    of the 3×4 ``transform`` (voxel → nm) and says nothing about the rows' space."""
    from cloudvol import __version__

    sx, sy, sz = np.diag(np.asarray(transform, dtype=np.float64).reshape(3, 4))[:3]
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    fields = [
        ("ORIGINAL_SOURCE", f"cloudvol {__version__}"),
        ("CREATURE", ""),
        ("REGION", ""),
        ("FIELD/LAYER", ""),
        ("TYPE", ""),
        ("CONTRIBUTOR", contributors),
        ("REFERENCE", ""),
        ("RAW", ""),
        ("EXTRAS", ""),
        ("SOMA_AREA", ""),
        ("SHINKAGE_CORRECTION", ""),  # sic: the key NeuroMorpho's header uses
        ("VERSION_NUMBER", __version__),
        ("VERSION_DATE", now),
        ("SCALE", f"{sx:.6f} {sy:.6f} {sz:.6f}"),
    ]
    return "".join(f"# {key} {value}".rstrip() + "\n" for key, value in fields)


class SwcTree(NamedTuple):
    """One connected piece to write: traversal ``pairs`` of (vertex, parent or -1)
    over the piece's own ``vertices``/``radii``/``vertex_types`` arrays."""

    pairs: Sequence[tuple[int, int]]
    vertices: np.ndarray
    radii: np.ndarray
    vertex_types: np.ndarray


def format_swc(trees: Sequence[SwcTree], header: str) -> str:
    """SWC text: ``header``, a blank line, then one row per pair of every tree in
    order, numbered 1, 2, 3… in row order (parents precede children)."""
    rows: list[str] = []
    for tree in trees:
        numbers: dict[int, int] = {}
        xyz = tree.vertices.tolist()
        radii = np.asarray(tree.radii, dtype=np.float64).tolist()
        types = np.asarray(tree.vertex_types).astype(np.int64).tolist()
        for node, parent in tree.pairs:
            number = len(rows) + 1
            numbers[node] = number
            x, y, z = xyz[node]
            parent_number = -1 if parent < 0 else numbers[parent]
            rows.append(
                f"{number} {types[node]} {x:0.6f} {y:0.6f} {z:0.6f} {radii[node]:0.6f} "
                f"{parent_number}"
            )
    return header + "\n" + "\n".join(rows)


def _per_vertex(skel: Any, name: str, fill: float, dtype: Any) -> np.ndarray:
    """A 1-D per-vertex attribute, or ``fill`` everywhere if absent or multi-component."""
    values = getattr(skel, name, None)
    if values is None or np.ndim(values) != 1:
        return np.full(skel.vertices.shape[0], fill, dtype=dtype)
    return np.asarray(values)


def skeleton_to_swc(skel: Any, header: str, soma_threshold: float = math.inf) -> str:
    """SWC text of a :class:`~cloudvol.geometry.skeleton.Skeleton` in its current
    space. Each component (``skel.components()`` order) is written depth-first from
    its first edge's first vertex, or from its largest-radius vertex when some radius
    reaches ``soma_threshold``; vertices no edge touches follow as single roots."""
    trees = []
    for comp in skel.components():
        comp_edges = comp.edges[comp.edges[:, 0] != comp.edges[:, 1]]
        if comp_edges.size == 0:
            continue
        radius = _per_vertex(comp, "radius", -1.0, np.float32)
        root = int(comp.edges[0, 0])
        if soma_threshold < math.inf:
            connected = np.unique(comp_edges)
            if np.any(radius[connected] >= soma_threshold):
                root = int(connected[np.argmax(radius[connected])])
        types = _per_vertex(comp, "vertex_types", 0, np.uint8)
        pairs = dfs_parent_pairs(comp.edges, root)
        trees.append(SwcTree(pairs, comp.vertices, radius, types))
    proper = skel.edges[skel.edges[:, 0] != skel.edges[:, 1]]  # self-loops join nothing
    lonely = np.setdiff1d(np.arange(skel.vertices.shape[0]), proper.ravel())
    if lonely.size:
        trees.append(
            SwcTree(
                [(i, -1) for i in lonely.tolist()],
                skel.vertices,
                _per_vertex(skel, "radius", -1.0, np.float32),
                _per_vertex(skel, "vertex_types", 0, np.uint8),
            )
        )
    return format_swc(trees, header)
