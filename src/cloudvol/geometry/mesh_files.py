"""Byte formats of triangle meshes: legacy precomputed fragments, PLY, Wavefront OBJ, Draco.

Every decoder returns :class:`MeshArrays` (vertices ``float32 (N, 3)`` in x, y, z order and
whatever unit the file uses — nanometres for precomputed fragments — and 0-based ``uint32
(M, 3)`` triangles) and raises :class:`~cloudvol.exceptions.MeshDecodeError` naming the
segment id and what was wrong. Every encoder takes the same arrays. :class:`Mesh` wraps
these functions; they are separate so that sources can decode without building objects.

All parsing is vectorised with numpy: a fragment with a million triangles decodes with
``np.frombuffer`` and a handful of whole-array checks, never a Python loop per vertex.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import EncodingError, MeshDecodeError

__all__ = [
    "MeshArrays",
    "decode_draco",
    "decode_obj",
    "decode_ply",
    "decode_precomputed",
    "encode_draco",
    "encode_obj",
    "encode_ply",
    "encode_precomputed",
    "fan_triangulate",
]

BytesLike = bytes | bytearray | memoryview


class MeshArrays(NamedTuple):
    """Decoded mesh arrays: ``vertices`` float32 (N, 3), ``faces`` uint32 (M, 3), ``normals``."""

    vertices: npt.NDArray[np.float32]
    faces: npt.NDArray[np.uint32]
    normals: npt.NDArray[np.float32] | None


def _who(segid: Any, fmt: str) -> str:
    """The subject of an error message: format and, when known, the segment id."""
    return f"{fmt} mesh for segid {segid}" if segid is not None else f"{fmt} mesh"


def _faces_2d(faces: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Faces as (M, 3); a flat index list (kept by Mesh as given) is regrouped in triples."""
    if faces.ndim == 2 and faces.shape[1] == 3:
        return faces
    if faces.size % 3:
        raise EncodingError(f"faces hold {faces.size} indices, which is not a multiple of 3.")
    return faces.reshape(-1, 3)


def fan_triangulate(
    flat: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Triangles (M, 3) of polygons given as concatenated vertex indices and per-polygon sizes.

    Polygon ``(a, b, c, d, …)`` becomes ``(a, b, c), (a, c, d), …`` in order; sizes must be
    at least 3 (checked by the callers, which know the line or row to name).
    """
    if flat.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if np.all(lengths == 3):
        return flat.reshape(-1, 3)
    starts = np.cumsum(lengths) - lengths
    per_poly = lengths - 2
    poly = np.repeat(np.arange(lengths.size), per_poly)
    # k-th triangle of a polygon uses its corners 0, k+1, k+2
    k = np.arange(poly.size) - np.repeat(np.cumsum(per_poly) - per_poly, per_poly)
    first = starts[poly]
    return np.stack([flat[first], flat[first + k + 1], flat[first + k + 2]], axis=1)


# --- legacy precomputed fragment ---------------------------------------------------------


def decode_precomputed(buf: BytesLike, segid: Any = None) -> MeshArrays:
    """Decode a legacy precomputed fragment.

    Layout (little endian): ``uint32 nv`` · ``nv × 3 float32`` vertex positions (x, y, z,
    model-space nanometres) · ``uint32`` triangle indices in triples up to the end.
    The returned arrays are read-only views of ``buf``.
    """
    who = _who(segid, "precomputed")
    size = len(buf)
    if size < 4:
        raise MeshDecodeError(
            f"{who}: fragment is {size} bytes, shorter than its 4-byte vertex count."
        )
    nv = int(np.frombuffer(buf, dtype="<u4", count=1)[0])
    vertex_end = 4 + 12 * nv
    if vertex_end > size:
        raise MeshDecodeError(
            f"{who}: header says {nv} vertices ({12 * nv} bytes) but only {size - 4} bytes follow."
        )
    face_bytes = size - vertex_end
    if face_bytes % 12:
        raise MeshDecodeError(
            f"{who}: {face_bytes} bytes of triangle indices is not a multiple of 12 "
            "(three uint32 per triangle)."
        )
    vertices = np.frombuffer(buf, dtype="<f4", count=3 * nv, offset=4).reshape(nv, 3)
    faces = np.frombuffer(buf, dtype="<u4", offset=vertex_end).reshape(-1, 3)
    _check_indices(faces.reshape(-1), nv, who, "triangle")
    return MeshArrays(vertices, faces, None)


def _check_indices(
    flat: npt.NDArray[Any], nv: int, who: str, what: str, lengths: Any = None
) -> None:
    """Raise naming the first index outside ``[0, nv)`` and its ``what`` (triangle, face);
    ``lengths`` are polygon sizes (triangles when None)."""
    if flat.size == 0 or (int(flat.max()) < nv and int(flat.min()) >= 0):
        return
    bad = int(np.flatnonzero((flat < 0) | (flat >= nv))[0])
    row = bad // 3 if lengths is None else int(np.searchsorted(np.cumsum(lengths), bad, "right"))
    raise MeshDecodeError(
        f"{who}: {what} {row} refers to vertex {int(flat[bad])} but there are only {nv} vertices."
    )


def encode_precomputed(
    vertices: npt.NDArray[Any], faces: npt.NDArray[Any], segid: Any = None
) -> bytes:
    """Encode a legacy precomputed fragment (normals are not part of the format).

    Raises :class:`EncodingError` naming ``segid`` when the face indices are not whole
    triangles or refer to a vertex that does not exist, which would make a fragment
    no reader accepts.
    """
    nv = vertices.reshape(-1, 3).shape[0] if vertices.size else 0
    if faces.size % 3:
        raise EncodingError(
            f"{_who(segid, 'precomputed')}: {faces.size} face indices is not a multiple of 3."
        )
    if faces.size and (int(faces.max()) >= nv or int(faces.min()) < 0):
        flat = np.asarray(faces).reshape(-1)
        bad = int(np.flatnonzero((flat < 0) | (flat >= nv))[0])
        raise EncodingError(
            f"{_who(segid, 'precomputed')}: triangle {bad // 3} refers to vertex "
            f"{int(flat[bad])} but there are only {nv} vertices."
        )
    return b"".join(
        [
            np.uint32(nv).astype("<u4").tobytes(),
            np.ascontiguousarray(vertices, dtype="<f4").tobytes(),
            np.ascontiguousarray(faces, dtype="<u4").tobytes(),
        ]
    )


# --- Wavefront OBJ -------------------------------------------------------------------------

# Lines are formatted in blocks so that a big mesh never needs one giant format string.
_OBJ_BLOCK = 65536


def encode_obj(vertices: npt.NDArray[Any], faces: npt.NDArray[Any]) -> bytes:
    """Encode as Wavefront OBJ text: ``v x y z`` with 5 decimals, then 1-based ``f a b c``.

    Normals are not written (as CloudVolume). An empty mesh encodes as a single newline.
    """
    flat_v = np.asarray(vertices, dtype=np.float32).reshape(-1).tolist()
    flat_f = (_faces_2d(np.asarray(faces)).astype(np.int64) + 1).reshape(-1).tolist()
    parts: list[str] = []
    for flat, template in ((flat_v, "v %.5f %.5f %.5f\n"), (flat_f, "f %d %d %d\n")):
        step = 3 * _OBJ_BLOCK
        for start in range(0, len(flat), step):
            block = flat[start : start + step]
            parts.append((template * (len(block) // 3)) % tuple(block))
    return ("".join(parts) or "\n").encode("utf8")


def decode_obj(text: str | BytesLike, segid: Any = None) -> MeshArrays:
    """Decode Wavefront OBJ text.

    Reads ``v`` (first three numbers), ``vn`` and ``f`` lines (a leading UTF-8 byte order
    mark is skipped); faces take the vertex part of
    ``a``, ``a/b``, ``a//c`` or ``a/b/c`` tokens, accept negative (relative) indices, and
    polygons are fan-triangulated. Comments and other statements are ignored. Normals are
    returned as listed (their count need not match the vertices').
    """
    who = _who(segid, "OBJ")
    # Editors on Windows start UTF-8 files with a byte order mark; it is not content.
    if isinstance(text, str):
        text = text.removeprefix("\ufeff")
    else:
        text = bytes(text).removeprefix(b"\xef\xbb\xbf")
    fast = _decode_obj_fast(text.encode("utf8") if isinstance(text, str) else text)
    if fast is not None:
        return fast
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf8")
        except UnicodeDecodeError as exc:
            raise MeshDecodeError(f"{who}: not UTF-8 text ({exc}).") from exc
    return _decode_obj_lines(text, who)


def _decode_obj_lines(text: str, who: str) -> MeshArrays:
    """The line-by-line OBJ parser: any layout :func:`decode_obj` accepts, precise errors."""
    rows: dict[str, list[list[float]]] = {"v": [], "vn": []}
    corners: list[int] = []  # 0-based vertex indices of all face corners, in order
    corner_where: list[tuple[int, str]] = []  # line and text of each corner, for errors
    lengths: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        keyword = tokens[0] if tokens else ""
        where = f"{who}: line {lineno}"
        if keyword in rows:
            if len(tokens) < 4:
                raise MeshDecodeError(f"{where}: '{keyword}' needs three numbers, got {line!r}.")
            try:
                rows[keyword].append([float(t) for t in tokens[1:4]])
            except ValueError:
                token = next(t for t in tokens[1:4] if not _is_number(t))
                what = "vertex" if keyword == "v" else "normal"
                raise MeshDecodeError(
                    f"{where}: {what} coordinate {token!r} is not a number."
                ) from None
        elif keyword == "f":
            if len(tokens) < 4:
                raise MeshDecodeError(
                    f"{where}: a face needs at least three vertices, got {line!r}."
                )
            for token in tokens[1:]:
                vertex = token.split("/", 1)[0]
                try:
                    number = int(vertex)
                except ValueError:
                    raise MeshDecodeError(
                        f"{where}: face vertex {vertex!r} is not an integer index."
                    ) from None
                # OBJ counts from 1; negative indices count back from the last vertex so far
                corners.append(len(rows["v"]) + number if number < 0 else number - 1)
                corner_where.append((lineno, vertex))
            lengths.append(len(tokens) - 1)
    vertices = np.array(rows["v"], dtype=np.float64).astype(np.float32).reshape(-1, 3)
    normals = np.array(rows["vn"], dtype=np.float64).astype(np.float32).reshape(-1, 3)
    index = np.array(corners, dtype=np.int64)
    bad_mask = (index < 0) | (index >= len(vertices))
    if bad_mask.any():
        bad = int(np.flatnonzero(bad_mask)[0])
        raise MeshDecodeError(
            f"{who}: line {corner_where[bad][0]}: face vertex {corner_where[bad][1]} is "
            f"outside the {len(vertices)} vertices."
        )
    faces = fan_triangulate(index, np.array(lengths, dtype=np.int64)).astype(np.uint32)
    return MeshArrays(vertices, faces, normals if len(normals) else None)


# OBJ statements are located with whole-buffer numpy operations on the bytes: classify
# each line by its first bytes, count tokens per line, and hand each statement kind's
# bytes to np.fromstring. Lines this cannot take (leading blanks, bad numbers, short
# statements) send the whole file to the line-by-line parser, which words the errors.
_SPACE, _NEWLINE = 32, 10
_OBJ_COMMENT = re.compile(rb"#[^\n]*")
_OBJ_SLASHED = re.compile(rb"/[^ \n]*")


def _numbers(text: bytes, count: int | None, dtype: type) -> npt.NDArray[Any] | None:
    """Whitespace-separated numbers parsed in C (exactly ``count`` of them unless None),
    or None if the text holds anything else."""
    with warnings.catch_warnings():
        # numpy warns (and will raise) when the text does not parse to its end
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values: npt.NDArray[Any] = np.fromstring(text.decode("ascii"), dtype=dtype, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    return values if count is None or values.size == count else None


def _decode_obj_fast(data: bytes) -> MeshArrays | None:
    """Decode OBJ bytes without a Python loop over lines, or None to use the line parser."""
    if b"#" in data:
        data = _OBJ_COMMENT.sub(b"", data)
    work = np.frombuffer(data, dtype=np.uint8).copy()
    work[(work == 9) | (work == 13)] = _SPACE  # tabs and CR separate like spaces
    breaks = np.flatnonzero(work == _NEWLINE)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [work.size]])
    n_lines = starts.size

    def byte_at(k: int) -> npt.NDArray[np.uint8]:
        out = np.zeros(n_lines, dtype=np.uint8)
        ok = starts + k < ends
        out[ok] = work[starts[ok] + k]
        return out

    c0, c1, c2 = byte_at(0), byte_at(1), byte_at(2)
    bare_keyword = ((c0 == ord("v")) | (c0 == ord("f"))) & (c1 == 0)
    bare_keyword |= (c0 == ord("v")) & (c1 == ord("n")) & (c2 == 0)
    if np.any(bare_keyword):
        return None
    is_v = (c0 == ord("v")) & (c1 == _SPACE)
    is_vn = (c0 == ord("v")) & (c1 == ord("n")) & (c2 == _SPACE)
    is_f = (c0 == ord("f")) & (c1 == _SPACE)
    work[starts[is_v | is_f]] = _SPACE  # blank the keywords, leaving only numbers
    work[starts[is_vn]] = _SPACE
    work[starts[is_vn] + 1] = _SPACE

    filled = (work != _SPACE) & (work != _NEWLINE)
    token_start = filled.copy()
    token_start[1:] &= ~filled[:-1]
    token_line = np.searchsorted(starts, np.flatnonzero(token_start), side="right") - 1
    tokens = np.bincount(token_line, minlength=n_lines)
    if np.any(tokens[is_v | is_vn] != 3) or np.any(tokens[is_f] < 3):
        return None
    if np.any((c0 == _SPACE) & (tokens > 0)):
        return None  # an indented statement: the line parser decides what it is

    kind = np.zeros(n_lines, dtype=np.uint8)
    kind[is_v], kind[is_vn], kind[is_f] = 1, 2, 3
    byte_kind = np.repeat(kind, ends - starts + 1)[: work.size]
    face_bytes = work[byte_kind == 3].tobytes()
    if b"/" in face_bytes:
        face_bytes = _OBJ_SLASHED.sub(b"", face_bytes)  # 'a/b/c' -> 'a'
    try:
        vertices = _numbers(work[byte_kind == 1].tobytes(), 3 * int(is_v.sum()), np.float64)
        normals = _numbers(work[byte_kind == 2].tobytes(), 3 * int(is_vn.sum()), np.float64)
        lengths = tokens[is_f].astype(np.int64)
        index = _numbers(face_bytes, int(lengths.sum()), np.int64)
    except UnicodeDecodeError:
        return None
    if vertices is None or normals is None or index is None:
        return None
    nv = vertices.size // 3
    # negative indices count back from the vertices read before the face's line
    nv_before = np.repeat(np.cumsum(is_v)[is_f], lengths)
    index = np.where(index < 0, nv_before + index, index - 1)
    if index.size and (int(index.min()) < 0 or int(index.max()) >= nv):
        return None
    return MeshArrays(
        vertices.astype(np.float32).reshape(-1, 3),
        fan_triangulate(index, lengths).astype(np.uint32),
        normals.astype(np.float32).reshape(-1, 3) if normals.size else None,
    )


# --- PLY -----------------------------------------------------------------------------------

_PLY_HEADER = (
    "ply\nformat binary_little_endian 1.0\nelement vertex {}\nproperty float x\n"
    "property float y\nproperty float z\nelement face {}\n"
    "property list int int vertex_indices\nend_header\n"
)

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip

_PLY_FORMATS = {"ascii": "", "binary_little_endian": "<", "binary_big_endian": ">"}


def encode_ply(vertices: npt.NDArray[Any], faces: npt.NDArray[Any]) -> bytearray:
    """Encode as binary little-endian PLY: float x y z vertices, ``list int int`` faces."""
    verts = np.ascontiguousarray(vertices, dtype="<f4").reshape(-1, 3)
    tris = _faces_2d(np.asarray(faces))
    rows = np.empty((tris.shape[0], 4), dtype="<u4")
    rows[:, 0] = 3
    rows[:, 1:] = tris
    out = bytearray(_PLY_HEADER.format(verts.shape[0], tris.shape[0]).encode("ascii"))
    out += verts.tobytes()
    out += rows.tobytes()
    return out


@dataclass(frozen=True)
class _PlyProperty:
    name: str
    dtype: str  # numpy type code without byte order (the item type for lists)
    count_dtype: str | None  # the list length type; None for a scalar property


@dataclass
class _PlyElement:
    name: str
    count: int
    properties: list[_PlyProperty]


# One decoded element: scalar columns by name, and lists as (concatenated items, lengths).
_Columns = dict[str, npt.NDArray[Any]]
_Lists = dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.int64]]]


def decode_ply(buf: BytesLike, segid: Any = None) -> MeshArrays:
    """Decode a PLY file (ASCII, binary little or big endian).

    Needs a ``vertex`` element with ``x y z`` (any numeric type; ``nx ny nz`` become
    normals). The ``face`` element's ``vertex_indices`` (or ``vertex_index``, or its first
    list) gives polygons, fan-triangulated. Other elements and properties are skipped.
    """
    who = _who(segid, "PLY")
    data = bytes(buf)
    fmt, elements, body = _parse_ply_header(data, who)
    reader: _BinaryBody | _AsciiBody
    if fmt == "ascii":
        reader, offset = _ascii_values(data[body:], data[:body].count(b"\n"), who), 0
    else:
        reader, offset = _BinaryBody(data, body, _PLY_FORMATS[fmt]), body
    columns: dict[str, tuple[_Columns, _Lists]] = {}
    for element in elements:
        scalars, lists, offset = _read_ply_element(reader, offset, element, who)
        columns[element.name] = (scalars, lists)

    if "vertex" not in columns:
        raise MeshDecodeError(f"{who}: the header has no 'vertex' element.")
    scalars = columns["vertex"][0]
    missing = [axis for axis in "xyz" if axis not in scalars]
    if missing:
        raise MeshDecodeError(f"{who}: element 'vertex' lacks properties {missing}.")
    vertices = np.stack([scalars[a] for a in "xyz"], axis=1).astype(np.float32)
    normals = None
    if all(n in scalars for n in ("nx", "ny", "nz")):
        normals = np.stack([scalars[n] for n in ("nx", "ny", "nz")], axis=1).astype(np.float32)

    faces = np.zeros((0, 3), dtype=np.uint32)
    if "face" in columns and columns["face"][1]:
        lists = columns["face"][1]
        key = next((k for k in ("vertex_indices", "vertex_index") if k in lists), next(iter(lists)))
        flat, lengths = lists[key]
        if lengths.size and int(lengths.min()) < 3:
            row = int(np.flatnonzero(lengths < 3)[0])
            raise MeshDecodeError(
                f"{who}: face {row} has {int(lengths[row])} vertices; a polygon needs 3 or more."
            )
        flat = flat.astype(np.int64)
        _check_indices(flat, vertices.shape[0], who, "face", lengths)
        faces = fan_triangulate(flat, lengths).astype(np.uint32)
    return MeshArrays(vertices, faces, normals)


def _parse_ply_header(data: bytes, who: str) -> tuple[str, list[_PlyElement], int]:
    """The format name, the elements, and the byte offset where the body starts."""
    if data[:4].rstrip(b"\r\n") != b"ply":
        raise MeshDecodeError(f"{who}: does not start with the 'ply' magic line.")
    match = re.search(rb"^end_header[ \t]*\r?\n", data, flags=re.MULTILINE)
    if match is None:
        raise MeshDecodeError(f"{who}: header has no 'end_header' line.")
    try:
        lines = data[: match.start()].decode("ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise MeshDecodeError(f"{who}: header is not ASCII ({exc}).") from exc
    fmt = None
    elements: list[_PlyElement] = []
    for lineno, line in enumerate(lines[1:], start=2):
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        bad = f"{who}: header line {lineno} ({line!r})"
        if words[0] == "format":
            if len(words) < 2 or words[1] not in _PLY_FORMATS:
                raise MeshDecodeError(f"{bad}: unknown format.")
            fmt = words[1]
        elif words[0] == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise MeshDecodeError(f"{bad}: expected 'element <name> <count>'.")
            elements.append(_PlyElement(words[1], int(words[2]), []))
        elif words[0] == "property":
            if not elements:
                raise MeshDecodeError(f"{bad}: property before any element.")
            if len(words) == 5 and words[1] == "list":
                types, name = words[2:4], words[4]
            elif len(words) == 3:
                types, name = words[1:2], words[2]
            else:
                raise MeshDecodeError(f"{bad}: expected 'property <type> <name>' or a list.")
            unknown = [t for t in types if t not in _PLY_TYPES]
            if unknown:
                raise MeshDecodeError(f"{bad}: unknown property type {unknown[0]!r}.")
            codes = [_PLY_TYPES[t] for t in types]
            prop = _PlyProperty(name, codes[-1], codes[0] if len(codes) == 2 else None)
            elements[-1].properties.append(prop)
        else:
            raise MeshDecodeError(f"{bad}: unknown header keyword {words[0]!r}.")
    if fmt is None:
        raise MeshDecodeError(f"{who}: header has no 'format' line.")
    return fmt, elements, match.end()


class _Truncated(Exception):
    """A PLY body ends inside an element row (turned into a MeshDecodeError naming it)."""


class _BinaryBody:
    """A binary PLY body: items are read at byte offsets with the file's byte order."""

    def __init__(self, data: bytes, start: int, endian: str) -> None:
        self.data, self.start, self.endian = data, start, endian

    def items(self, pos: int, n: int, code: str) -> tuple[npt.NDArray[Any], int]:
        dtype = np.dtype(self.endian + code)
        end = pos + n * dtype.itemsize
        if end > len(self.data):
            raise _Truncated
        return np.frombuffer(self.data, dtype=dtype, count=n, offset=pos), end

    def table(
        self, pos: int, count: int, props: list[_PlyProperty], lengths: dict[int, int]
    ) -> tuple[dict[str, npt.NDArray[Any]], int] | None:
        fields: list[tuple[Any, ...]] = []
        for i, prop in enumerate(props):
            if prop.count_dtype is not None:
                fields.append((f"c{i}", self.endian + prop.count_dtype))
                fields.append((f"p{i}", self.endian + prop.dtype, (lengths[i],)))
            else:
                fields.append((f"p{i}", self.endian + prop.dtype))
        row = np.dtype(fields)
        end = pos + row.itemsize * count
        if end > len(self.data):
            return None
        table = np.frombuffer(self.data, dtype=row, count=count, offset=pos)
        return {name: table[name] for name in row.names or ()}, end


class _AsciiBody:
    """An ASCII PLY body as one stream of numbers; line breaks are only separators."""

    def __init__(self, values: npt.NDArray[np.float64]) -> None:
        self.values = values

    def items(self, pos: int, n: int, code: str) -> tuple[npt.NDArray[Any], int]:
        if pos + n > self.values.size:
            raise _Truncated
        return self.values[pos : pos + n], pos + n

    def table(
        self, pos: int, count: int, props: list[_PlyProperty], lengths: dict[int, int]
    ) -> tuple[dict[str, npt.NDArray[Any]], int] | None:
        width = sum(1 if p.count_dtype is None else 1 + lengths[i] for i, p in enumerate(props))
        end = pos + width * count
        if end > self.values.size:
            return None
        table = self.values[pos:end].reshape(count, width)
        out, col = {}, 0
        for i, prop in enumerate(props):
            if prop.count_dtype is not None:
                out[f"c{i}"] = table[:, col]
                out[f"p{i}"] = table[:, col + 1 : col + 1 + lengths[i]]
                col += 1 + lengths[i]
            else:
                out[f"p{i}"] = table[:, col]
                col += 1
        return out, end


def _ascii_values(body: bytes, header_lines: int, who: str) -> _AsciiBody:
    """All numbers of an ASCII body, or an error naming the line of the first non-number."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MeshDecodeError(f"{who}: ASCII body is not ASCII ({exc}).") from exc
    values = _numbers(body, None, np.float64)
    if values is None:
        for lineno, line in enumerate(text.splitlines(), start=header_lines + 1):
            bad = next((t for t in line.split() if not _is_number(t)), None)
            if bad is not None:
                raise MeshDecodeError(f"{who}: line {lineno}: {bad!r} is not a number.")
        raise MeshDecodeError(f"{who}: the ASCII body does not parse as numbers.")
    return _AsciiBody(values)


def _read_ply_element(
    body: _BinaryBody | _AsciiBody, pos: int, element: _PlyElement, who: str
) -> tuple[_Columns, _Lists, int]:
    """Decode one element starting at ``pos``; returns its columns and where it ends.

    Every list is first assumed to have the length of the first row's; the whole element
    is then one table, and checking each row's length field proves the guess (a row
    whose lengths match ends exactly where the next row begins). Elements whose lists
    vary (mixed polygons) are read row by row.
    """
    props, count = element.properties, element.count
    row, lengths, cursor = 0, {}, pos
    try:
        for i, prop in enumerate(props if count else []):
            if prop.count_dtype is None:
                cursor = body.items(cursor, 1, prop.dtype)[1]
                continue
            first, cursor = body.items(cursor, 1, prop.count_dtype)
            lengths[i] = int(first[0])
            cursor = body.items(cursor, max(lengths[i], 0), prop.dtype)[1]
        lengths = {i: lengths.get(i, 0) for i, p in enumerate(props) if p.count_dtype}
        fast = (
            body.table(pos, count, props, lengths)
            if min(lengths.values(), default=0) >= 0
            else None
        )
        if fast is not None and all(np.all(fast[0][f"c{i}"] == n) for i, n in lengths.items()):
            table, end = fast
            scalars = {p.name: table[f"p{i}"] for i, p in enumerate(props) if p.count_dtype is None}
            lists = {
                p.name: (table[f"p{i}"].reshape(-1), np.full(count, lengths[i], dtype=np.int64))
                for i, p in enumerate(props)
                if p.count_dtype is not None
            }
            return scalars, lists, end

        values: dict[str, list[Any]] = {p.name: [] for p in props}
        sizes: dict[str, list[int]] = {p.name: [] for p in props if p.count_dtype}
        cursor = pos
        for row in range(count):
            for prop in props:
                if prop.count_dtype is None:
                    item, cursor = body.items(cursor, 1, prop.dtype)
                    values[prop.name].append(item)
                    continue
                size_item, cursor = body.items(cursor, 1, prop.count_dtype)
                size = int(size_item[0])
                if size < 0:
                    raise MeshDecodeError(
                        f"{who}: element '{element.name}' row {row}: list {prop.name!r} "
                        f"has negative length {size}."
                    )
                item, cursor = body.items(cursor, size, prop.dtype)
                values[prop.name].append(item)
                sizes[prop.name].append(size)
    except _Truncated:
        raise MeshDecodeError(
            f"{who}: element '{element.name}' row {row} runs past the end of the file."
        ) from None
    joined = {name: np.concatenate(v) if v else np.zeros(0) for name, v in values.items()}
    scalars = {p.name: joined[p.name] for p in props if p.count_dtype is None}
    lists = {name: (joined[name], np.array(n, dtype=np.int64)) for name, n in sizes.items()}
    return scalars, lists, cursor


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


# --- Draco ---------------------------------------------------------------------------------


def decode_draco(buf: BytesLike, segid: Any = None) -> tuple[MeshArrays, Any]:
    """Decode a Draco mesh with DracoPy; returns the arrays and DracoPy's encoding options.

    An empty buffer decodes to an empty mesh (multi-resolution manifests use zero-length
    fragments for empty cells). A Draco point cloud, or anything not Draco, is an error.
    """
    who = _who(segid, "Draco")
    if len(buf) == 0:
        return MeshArrays(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), None), None
    import DracoPy

    try:
        decoded = DracoPy.decode(bytes(buf))
    except Exception as exc:  # DracoPy raises its own FileTypeException, or ValueError
        raise MeshDecodeError(f"{who}: not a valid Draco buffer ({exc}).") from exc
    faces = getattr(decoded, "faces", None)
    if faces is None:
        raise MeshDecodeError(f"{who}: the Draco buffer holds a point cloud, not a mesh.")
    vertices = np.asarray(decoded.points, dtype=np.float32).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.uint32).reshape(-1, 3)
    _check_indices(faces.reshape(-1), vertices.shape[0], who, "triangle")
    return MeshArrays(vertices, faces, None), getattr(decoded, "encoding_options", None)


def encode_draco(vertices: npt.NDArray[Any], faces: npt.NDArray[Any], **options: Any) -> bytes:
    """Encode with ``DracoPy.encode``; ``options`` (``quantization_bits``,
    ``quantization_range``, ``quantization_origin``, ``compression_level``,
    ``preserve_order``, …) pass through. An empty mesh encodes to ``b""``.
    """
    verts = np.asarray(vertices, dtype=np.float32).reshape(-1, 3)
    tris = _faces_2d(np.asarray(faces, dtype=np.uint32))
    if verts.shape[0] == 0 or tris.shape[0] == 0:
        return b""
    import DracoPy

    try:
        return bytes(DracoPy.encode(verts, tris, **options))
    except Exception as exc:  # EncodingFailedException, AssertionError on bad options
        raise EncodingError(f"Draco encoding failed: {exc}") from exc
