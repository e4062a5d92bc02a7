"""The spatial index of meshes and skeletons: CloudVolume / Igneous ``*.spatial`` cells.

A mesh or skeleton directory whose ``info`` has ``"spatial_index": {"chunk_size": [sx,
sy, sz], "resolution": [rx, ry, rz]}`` (chunk size in nanometres; resolution optional,
defaulting to the layer's) holds one JSON file per cell of a grid over the layer's
physical bounds::

    {x0}-{x1}_{y0}-{y1}_{z0}-{z1}.spatial   ->   {"segid": [x0, y0, z0, x1, y1, z1], ...}

Grid lines run through the low corner of the layer bounds (in nm); the last cell on
each axis is clipped to the high corner. Every number is in nanometres, axis order
x, y, z. A cell maps each segment id present in it to the bounding box of that
segment's part in the cell (``{}`` for an empty cell).

Names are rendered the way CloudVolume renders them, so both find the same files:
with an integral resolution and integer chunk sizes numbers print as integers; when
any resolution component prints with decimals (``4.5``, but also ``4.0``) every
number is rounded to that many decimals (``4.5-105.0``); integral resolution with
float chunk sizes prints float32 reprs (``0.0-2048.0``).

This module is the format only (names, grid arithmetic, cell JSON); IO lives in
:mod:`cloudvol.spatial_index`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import DecodingError
from cloudvol.lib.bbox import Bbox
from cloudvol.lib.helpers import getprecision

__all__ = [
    "SPATIAL_SUFFIX",
    "CellContents",
    "CellGrid",
    "cell_filename",
    "encode_cell",
    "overlaps",
    "parse_cell",
    "parse_cells",
    "precision_of",
    "write_cells",
]

SPATIAL_SUFFIX = ".spatial"

_UINT64_LIMIT = 2**64
_SEGID = re.compile(r"[0-9]+")


# Cell indices (i, j, k) along x, y, z: a tuple or an int array.
CellIndex = Sequence[int] | np.ndarray


def precision_of(resolution: Iterable[Any]) -> int:
    """Decimals used in cell names: the most digits after the point in ``str(r)`` of
    any resolution component (0 for integers, 1 for ``4.0`` or ``4.5``)."""
    return max((getprecision(r) for r in resolution), default=0)


def _render(value: Any, precision: int, float_grid: bool) -> str:
    """One coordinate (nm) as CloudVolume prints it in a cell name."""
    if precision:
        # CloudVolume builds cell boxes as float32 before rounding; doing the same
        # keeps names identical when float64 and float32 round differently.
        return f"{round(np.float32(value), precision):.{precision}f}"
    if float_grid:
        return str(np.float32(value))
    return str(int(value))


def cell_filename(cell: Bbox, precision: int = 0) -> str:
    """``"{x0}-{x1}_{y0}-{y1}_{z0}-{z1}.spatial"`` for a cell box in nm.

    ``precision`` is :func:`precision_of` the index resolution. An integer-typed box
    prints integers; a float box with ``precision`` 0 prints float32 reprs.
    """
    float_grid = bool(np.issubdtype(cell.dtype, np.floating))
    parts = (
        _render(lo, precision, float_grid) + "-" + _render(hi, precision, float_grid)
        for lo, hi in zip(cell.minpt.tolist(), cell.maxpt.tolist(), strict=True)
    )
    return "_".join(parts) + SPATIAL_SUFFIX


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(np.floor(values) == values))


@dataclass(frozen=True)
class CellGrid:
    """The cells of one spatial index.

    ``origin`` and ``limit`` are the layer's physical bounds (nm, x, y, z) and
    ``chunk_size`` the cell size (nm). Arrays are int64 for an integer grid and
    float64 when ``float_grid`` (see the module docstring for how names differ).
    """

    origin: np.ndarray
    limit: np.ndarray
    chunk_size: np.ndarray
    precision: int
    float_grid: bool

    @classmethod
    def create(
        cls,
        bounds_nm: Bbox | Sequence[float],
        chunk_size: Sequence[float] | npt.ArrayLike,
        resolution: Sequence[float] | npt.ArrayLike,
    ) -> CellGrid:
        """The grid over ``bounds_nm`` (a Bbox or ``[x0, y0, z0, x1, y1, z1]``, nm) with
        cells of ``chunk_size`` nm; ``resolution`` (nm/voxel) decides how names print."""
        box = bounds_nm if isinstance(bounds_nm, Bbox) else Bbox.from_list(list(bounds_nm))
        # Elements as given (not .tolist()): str(np.float32(4.1)) is "4.1" but
        # str(float(np.float32(4.1))) has 16 decimals.
        precision = precision_of(list(resolution))  # type: ignore[arg-type]
        chunk = np.asarray(chunk_size)
        lo = np.asarray(box.minpt, dtype=np.float64)
        hi = np.asarray(box.maxpt, dtype=np.float64)
        if chunk.shape != (3,) or lo.shape != (3,):
            raise ValueError(
                f"spatial index needs 3-D bounds and chunk_size, got {box} and {chunk_size!r}"
            )
        if not np.all(chunk.astype(np.float64) > 0):
            raise ValueError(f"spatial index chunk_size must be positive, got {chunk_size!r}")
        float_grid = bool(
            precision > 0
            or chunk.dtype.kind == "f"
            or not (_whole(lo) and _whole(hi) and _whole(chunk.astype(np.float64)))
        )
        dtype = np.float64 if float_grid else np.int64
        return cls(
            origin=lo.astype(dtype),
            limit=hi.astype(dtype),
            chunk_size=chunk.astype(np.float64).astype(dtype),
            precision=precision,
            float_grid=float_grid,
        )

    # --- geometry -------------------------------------------------------------------

    @property
    def bounds(self) -> Bbox:
        """The layer bounds in nm."""
        return Bbox(self.origin.tolist(), self.limit.tolist(), dtype=self.origin.dtype, unit="nm")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Cells per axis (x, y, z)."""
        extent = np.maximum(self.limit - self.origin, 0)
        counts = np.ceil(extent / self.chunk_size).astype(np.int64)
        return (int(counts[0]), int(counts[1]), int(counts[2]))

    def crop(self, bbox_nm: Bbox) -> Bbox | None:
        """``bbox_nm`` cut to the layer bounds (float64, nm), or ``None`` if it lies
        outside them. A box flat on an axis (a plane, a line, a point) is kept: it
        selects what crosses it, as in CloudVolume."""
        lo = np.maximum(np.asarray(bbox_nm.minpt, dtype=np.float64), self.origin)
        hi = np.minimum(np.asarray(bbox_nm.maxpt, dtype=np.float64), self.limit)
        if not np.all(hi >= lo):
            return None
        return Bbox(lo.tolist(), hi.tolist(), dtype=np.float64, unit="nm")

    def cell_range(self, bbox_nm: Bbox) -> tuple[np.ndarray, np.ndarray] | None:
        """Cell indices ``[lo, hi)`` per axis of the cells that ``bbox_nm`` (cut to the
        bounds) reaches into; ``None`` if it selects nothing. Like CloudVolume, a box
        face on a grid line does not reach into the next cell."""
        box = self.crop(bbox_nm)
        if box is None:
            return None
        qlo = np.asarray(box.minpt) - self.origin
        qhi = np.asarray(box.maxpt) - self.origin
        chunk = self.chunk_size.astype(np.float64)
        shape = np.asarray(self.shape)
        lo = np.clip(np.floor(qlo / chunk).astype(np.int64), 0, np.maximum(shape - 1, 0))
        hi = np.clip(np.ceil(qhi / chunk).astype(np.int64), 0, shape)
        # A flat axis reaches the one cell holding it (the last one at the far bound).
        hi = np.where(qhi == qlo, np.minimum(lo + 1, shape), hi)
        if not np.all(hi > lo):
            return None
        return lo, hi

    def _axis_edges(self, axis: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        index = np.arange(lo, hi, dtype=np.int64)
        starts = self.origin[axis] + index * self.chunk_size[axis]
        stops = np.minimum(starts + self.chunk_size[axis], self.limit[axis])
        return starts, stops

    def cell_boxes(self, lo: CellIndex, hi: CellIndex) -> tuple[np.ndarray, np.ndarray]:
        """Corners ``(mins, maxs)``, each ``(n, 3)`` nm, of the cells with indices in
        ``[lo, hi)``, x fastest then y then z (CloudVolume's order)."""
        edges = [self._axis_edges(a, int(lo[a]), int(hi[a])) for a in range(3)]
        mins = np.stack(
            [g.ravel(order="F") for g in np.meshgrid(*(e[0] for e in edges), indexing="ij")],
            axis=1,
        )
        maxs = np.stack(
            [g.ravel(order="F") for g in np.meshgrid(*(e[1] for e in edges), indexing="ij")],
            axis=1,
        )
        return mins, maxs

    def filenames(self, lo: CellIndex, hi: CellIndex) -> list[str]:
        """Names of the cells with indices in ``[lo, hi)``, x fastest (see :meth:`cell_boxes`)."""
        axes: list[list[str]] = []
        for a in range(3):
            starts, stops = self._axis_edges(a, int(lo[a]), int(hi[a]))
            axes.append(
                [
                    _render(s, self.precision, self.float_grid)
                    + "-"
                    + _render(e, self.precision, self.float_grid)
                    for s, e in zip(starts.tolist(), stops.tolist(), strict=True)
                ]
            )
        xs, ys, zs = axes
        return [f"{x}_{y}_{z}{SPATIAL_SUFFIX}" for z in zs for y in ys for x in xs]

    def all_filenames(self) -> list[str]:
        """Every cell name of the index, x fastest."""
        return self.filenames((0, 0, 0), self.shape)

    def cell_filename(self, index: CellIndex) -> str:
        """The name of the cell with index ``(i, j, k)``."""
        i, j, k = (int(v) for v in index)
        return self.filenames((i, j, k), (i + 1, j + 1, k + 1))[0]


# --- cell contents -----------------------------------------------------------------


@dataclass(frozen=True)
class CellContents:
    """One decoded cell: ``labels`` (uint64, n) and ``boxes`` (float64, n x 6,
    ``[x0, y0, z0, x1, y1, z1]`` nm with ``x0 <= x1`` etc.)."""

    labels: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def intersecting(self, bbox_nm: Bbox) -> np.ndarray:
        """Labels whose box overlaps ``bbox_nm`` (see :func:`overlaps`)."""
        return self.labels[overlaps(self.boxes, bbox_nm)]


def overlaps(boxes: np.ndarray, bbox_nm: Bbox) -> np.ndarray:
    """Which of ``boxes`` (n x 6, sorted corners, nm) overlap ``bbox_nm``.

    On each axis a box ``[a, b]`` overlaps ``[q0, q1)`` when ``a < q1`` and ``b > q0``
    (a shared face is not enough, as in ``Bbox.intersects``), except that a flat box
    (``a == b``) overlaps when ``q0 <= a < q1``: the half-open rule the cell grid
    itself uses, so a flat box belongs to exactly the boxes whose cells hold it.
    """
    qlo = np.asarray(bbox_nm.minpt, dtype=np.float64)
    qhi = np.asarray(bbox_nm.maxpt, dtype=np.float64)
    lo, hi = boxes[:, :3], boxes[:, 3:]
    upper = (hi > qlo) | ((lo == hi) & (lo >= qlo))
    return np.all((lo < qhi) & upper, axis=1)


def _decode_error(filename: str, why: str) -> DecodingError:
    return DecodingError(f"spatial index cell {filename}: {why}")


def _parse_segids(keys: list[str], filename: str) -> np.ndarray:
    # One check over all keys first; the per-key loop only runs to name a bad key.
    joined = "".join(keys)
    if joined.isascii() and joined.isdigit() and all(keys):
        try:
            return np.fromiter(map(int, keys), dtype=np.uint64, count=len(keys))
        except OverflowError:
            pass
    for key in keys:
        if not _SEGID.fullmatch(key) or int(key) >= _UINT64_LIMIT:
            raise _decode_error(filename, f"key {key!r} is not a segment id (decimal uint64)")
    raise AssertionError("unreachable: every key checked")


_NO_LABELS = np.zeros(0, dtype=np.uint64)
_NO_BOXES = np.zeros((0, 6), dtype=np.float64)


def _decode(data: bytes | str, filename: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and float64 boxes of one cell as written (corners unsorted, finiteness
    unchecked); every other check of :func:`parse_cell` is done here."""
    if data == b"{}" or data == "{}":  # most cells of a sparse index
        return _NO_LABELS, _NO_BOXES
    try:
        content = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _decode_error(filename, f"invalid JSON ({exc})") from None
    if not isinstance(content, dict):
        raise _decode_error(filename, f"expected a JSON object, got {type(content).__name__}")
    if not content:
        return _NO_LABELS, _NO_BOXES

    keys = list(content)
    labels = _parse_segids(keys, filename)
    values = list(content.values())
    try:
        raw = np.array(values)
    except ValueError:
        raw = None  # ragged lists
    # numpy silently turns true/false into 1/0 next to numbers; keys are digits and
    # values numbers, so the words can only come from a bad value.
    if isinstance(data, str):
        suspicious = "true" in data or "false" in data
    else:
        suspicious = b"true" in data or b"false" in data
    if suspicious or raw is None or raw.shape != (len(keys), 6) or raw.dtype.kind not in "iuf":
        for key, value in zip(keys, values, strict=True):
            ok = (
                isinstance(value, list)
                and len(value) == 6
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            )
            if not ok:
                raise _decode_error(
                    filename, f"segid {key}: expected 6 numbers [x0,y0,z0,x1,y1,z1], got {value!r}"
                )
        raise _decode_error(filename, "bounding boxes must be 6 numbers within float64 range")
    return labels, raw.astype(np.float64)


def _finished(
    labels: np.ndarray, boxes: np.ndarray, filenames: list[str], counts: list[int]
) -> CellContents:
    """Check finiteness (naming the cell and segid at fault) and sort corners."""
    finite = np.all(np.isfinite(boxes), axis=1)
    if not np.all(finite):
        row = int(np.flatnonzero(~finite)[0])
        cell = int(np.searchsorted(np.cumsum(counts), row, side="right"))
        raise _decode_error(
            filenames[cell], f"segid {labels[row]}: bounding box has non-finite numbers"
        )
    lo = np.minimum(boxes[:, :3], boxes[:, 3:])
    hi = np.maximum(boxes[:, :3], boxes[:, 3:])
    return CellContents(labels, np.concatenate([lo, hi], axis=1))


def parse_cell(data: bytes | str, filename: str) -> CellContents:
    """Decode one cell's JSON ``{"segid": [x0, y0, z0, x1, y1, z1], ...}`` (nm).

    ``{}`` is an empty cell. Raises :class:`DecodingError` naming ``filename`` when
    the text is not JSON, not an object, a key is not a decimal uint64, or a value is
    not six finite numbers. Corners are sorted per axis, as CloudVolume's
    ``Bbox.from_list`` does.
    """
    labels, boxes = _decode(data, filename)
    return _finished(labels, boxes, [filename], [len(labels)])


def parse_cells(cells: Iterable[tuple[str, bytes | str]]) -> CellContents:
    """Decode many ``(filename, data)`` cells into one :class:`CellContents` (a
    segment listed in several cells appears once per cell). Same checks and errors
    as :func:`parse_cell`; cheaper than one call per cell for small cells."""
    labels: list[np.ndarray] = []
    boxes: list[np.ndarray] = []
    names: list[str] = []
    counts: list[int] = []
    for filename, data in cells:
        cell_labels, cell_boxes = _decode(data, filename)
        if len(cell_labels):
            labels.append(cell_labels)
            boxes.append(cell_boxes)
            names.append(filename)
            counts.append(len(cell_labels))
    if not labels:
        return CellContents(_NO_LABELS, _NO_BOXES)
    return _finished(np.concatenate(labels), np.concatenate(boxes), names, counts)


def _number(value: float) -> int | float:
    # Integral coordinates are written as JSON integers: CloudVolume's get_bbox
    # reads them as int64 and fails on "2048.0".
    return int(value) if float(value).is_integer() else float(value)


def encode_cell(boxes: Mapping[int, Sequence[float] | Bbox]) -> bytes:
    """The JSON of one cell from ``{segid: box}`` (box: Bbox or 6 numbers, nm),
    segment ids ascending."""
    out: dict[str, list[int | float]] = {}
    for label in sorted(int(k) for k in boxes):
        box = boxes[label]
        values = box.to_list() if isinstance(box, Bbox) else list(box)
        if len(values) != 6:
            raise ValueError(f"segid {label}: a box needs 6 numbers, got {values!r}")
        out[str(label)] = [_number(v) for v in values]
    return json.dumps(out, separators=(",", ":")).encode("utf8")


def _as_row(box: Bbox | Sequence[float]) -> np.ndarray:
    values = box.to_list() if isinstance(box, Bbox) else list(box)
    if len(values) != 6:
        raise ValueError(f"a box needs 6 numbers [x0,y0,z0,x1,y1,z1], got {values!r}")
    row = np.asarray(values, dtype=np.float64)
    return np.concatenate([np.minimum(row[:3], row[3:]), np.maximum(row[:3], row[3:])])


def write_cells(
    grid: CellGrid,
    boxes: Mapping[int, Bbox | Sequence[float]],
    include_empty: bool = True,
) -> dict[str, bytes]:
    """Build every cell of an index from whole-object boxes ``{segid: box}`` (nm).

    A segment is listed in each cell its box overlaps (a zero-thickness box counts in
    the cell holding it), with the box clipped to that cell, which is what Igneous
    records (the part of the object in each task). Parts outside the bounds are
    dropped. Returns ``{filename: json bytes}``; with ``include_empty`` every cell of
    the grid is present (``{}`` when empty), so queries find no gaps.
    """
    shape = np.asarray(grid.shape)
    chunk = grid.chunk_size.astype(np.float64)
    origin = grid.origin.astype(np.float64)
    limit = grid.limit.astype(np.float64)
    per_cell: dict[tuple[int, int, int], dict[int, list[float]]] = {}
    for label, box in boxes.items():
        row = _as_row(box)
        lo, hi = np.maximum(row[:3], origin), np.minimum(row[3:], limit)
        if np.any(lo > hi) or np.any(lo >= limit):
            continue
        first = np.floor((lo - origin) / chunk).astype(np.int64)
        # Cells are half open: a face on a grid line does not reach the next cell,
        # but a flat box lying on that line belongs to it.
        last = np.ceil((hi - origin) / chunk).astype(np.int64) - 1
        last = np.maximum(last, first)
        first = np.clip(first, 0, shape - 1)
        last = np.clip(last, 0, shape - 1)
        for k in range(first[2], last[2] + 1):
            for j in range(first[1], last[1] + 1):
                for i in range(first[0], last[0] + 1):
                    cmin = origin + np.array([i, j, k]) * chunk
                    cmax = np.minimum(cmin + chunk, limit)
                    part = np.concatenate([np.maximum(lo, cmin), np.minimum(hi, cmax)])
                    per_cell.setdefault((i, j, k), {})[int(label)] = part.tolist()

    out: dict[str, bytes] = {}
    if include_empty:
        for name in grid.all_filenames():
            out[name] = b"{}"
    for cell_index, content in per_cell.items():
        out[grid.cell_filename(cell_index)] = encode_cell(content)
    return out
