"""``Bbox``: an axis-aligned box ``[minpt, maxpt)`` in voxels or physical units.

Axis order is x, y, z (a fourth axis, when present, is the channel). ``unit`` is
``"vx"`` for voxels or a metric length (``"nm"``, ``"um"``…, see ``UNIT_SCALES``).
Voxel boxes are half open: ``maxpt`` is one past the last voxel, so the size is
``maxpt - minpt``. ``contains`` is the exception and treats ``maxpt`` as inside.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import OutOfBoundsError
from cloudvol.lib import chunkgrid, slicing
from cloudvol.lib.helpers import MACHINE_EPSILON
from cloudvol.lib.units import unit_ratio
from cloudvol.lib.vec import Vec, floating

__all__ = ["FILENAME_RE", "Bbox", "BboxLikeType"]

_NUMBER = r"(-?\d+(?:\.\d+)?)"
# A chunk file name: "x0-x1_y0-y1_z0-z1", numbers may be negative or decimal, with an
# optional transport-compression suffix. Matched at the end of the base name.
FILENAME_RE = re.compile(
    rf"{_NUMBER}-{_NUMBER}_{_NUMBER}-{_NUMBER}_{_NUMBER}-{_NUMBER}(?:\.gz|\.br|\.zstd)?$"
)

_DEFAULT_OFFSET = (0, 0, 0)


def _as_point(value: npt.ArrayLike) -> Vec:
    if isinstance(value, Vec):
        return value
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"A Bbox corner must be a 1-D vector, got {value!r}.")
    return array.view(Vec)


def _ordered(lo: npt.ArrayLike, hi: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.asarray(lo), np.asarray(hi)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def _parse_number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


class Bbox:
    """An axis-aligned bounding box from ``minpt`` (inclusive) to ``maxpt`` (exclusive).

    ``Bbox(a, b)`` takes any two opposite corners (x, y, z order) and sorts them per
    axis. ``dtype`` defaults to ``float32`` if any coordinate is a Python float, else
    ``int32``. ``unit`` is ``"vx"`` (voxels) or a metric length such as ``"nm"``.
    """

    __slots__ = ("_dtype", "_maxpt", "_minpt", "unit")

    # Make numpy hand mixed expressions (``array + bbox``) to Bbox's own operators.
    __array_ufunc__ = None

    def __init__(
        self,
        a: Iterable[Any],
        b: Iterable[Any],
        dtype: npt.DTypeLike | None = None,
        unit: str = "vx",
    ) -> None:
        a = tuple(a)
        b = tuple(b)
        if dtype is None:
            dtype = np.float32 if (floating(a) or floating(b)) else np.int32
        pairs = list(zip(a, b, strict=False))
        self._minpt = Vec(*[min(lo, hi) for lo, hi in pairs], dtype=dtype)
        self._maxpt = Vec(*[max(lo, hi) for lo, hi in pairs], dtype=dtype)
        self._dtype = np.dtype(dtype)
        self.unit = unit

    # --- corners and basic properties ---------------------------------------------

    @property
    def minpt(self) -> Vec:
        """The low corner (x, y, z), inclusive."""
        return self._minpt

    @minpt.setter
    def minpt(self, value: npt.ArrayLike) -> None:
        self._minpt = _as_point(value)

    @property
    def maxpt(self) -> Vec:
        """The high corner (x, y, z), exclusive for voxel extents."""
        return self._maxpt

    @maxpt.setter
    def maxpt(self, value: npt.ArrayLike) -> None:
        self._maxpt = _as_point(value)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the corners."""
        return self._dtype

    @property
    def ndim(self) -> int:
        """The number of axes (3 for x, y, z)."""
        return len(self._minpt)

    @property
    def is_physical(self) -> bool:
        """True if the unit is a length (nm, um…) rather than voxels."""
        return self.unit != "vx"

    @property
    def dx(self) -> Any:
        """Extent along x."""
        return self._maxpt.x - self._minpt.x

    @property
    def dy(self) -> Any:
        """Extent along y."""
        return self._maxpt.y - self._minpt.y

    @property
    def dz(self) -> Any:
        """Extent along z."""
        return self._maxpt.z - self._minpt.z

    def _replace(self, minpt: npt.ArrayLike, maxpt: npt.ArrayLike, dtype: Any = None) -> Bbox:
        """A new Bbox with this unit and the given corners (no re-sorting)."""
        result = type(self).__new__(type(self))
        dtype = np.dtype(dtype) if dtype is not None else self._dtype
        result._minpt = np.array(minpt, dtype=dtype).view(Vec)
        result._maxpt = np.array(maxpt, dtype=dtype).view(Vec)
        result._dtype = dtype
        result.unit = self.unit
        return result

    # --- construction ------------------------------------------------------------

    @classmethod
    def create(
        cls,
        obj: Any,
        context: Bbox | None = None,
        bounded: bool = False,
        autocrop: bool = False,
    ) -> Bbox:
        """Make a Bbox from anything CloudVolume accepts as a region.

        ``obj`` may be a Bbox (returned as is), six integers ``(x0, y0, z0, x1, y1, z1)``,
        a list/tuple of slices or a slice, a ``Vec`` (size from the origin), a chunk file
        name, or a dict from ``to_dict``. With ``context`` (the volume bounds, voxels)
        slices are reified against it; ``autocrop`` crops the result to ``context`` and
        ``bounded`` raises ``OutOfBoundsError`` if it reaches outside.
        """
        if isinstance(obj, Bbox):
            bbox = obj
        elif (
            isinstance(obj, (list, tuple))
            and len(obj) == 6
            and all(isinstance(value, (int, np.integer)) for value in obj)
        ):
            bbox = cls.from_list(obj)
        elif isinstance(obj, (list, tuple, slice)):
            bbox = cls.from_slices(obj, context, bounded, autocrop)
        elif isinstance(obj, Vec):
            bbox = cls.from_vec(obj)
        elif isinstance(obj, str):
            bbox = cls.from_filename(obj)
        elif isinstance(obj, Mapping):
            bbox = cls.from_dict(obj)
        else:
            raise TypeError(
                f"{type(obj).__name__} is not a Bbox convertible type: expected a Bbox, "
                "six integers, slices, a Vec, a chunk file name or a dict."
            )

        if context is not None and autocrop:
            bbox = Bbox.intersection(bbox, context)
        if context is not None and bounded and not context.contains_bbox(bbox):
            raise OutOfBoundsError(
                f"{context} did not fully contain the specified bounding box {bbox}."
            )
        return bbox

    @classmethod
    def from_delta(cls, minpt: Sequence[Any], plus: npt.ArrayLike) -> Bbox:
        """The box from ``minpt`` to ``minpt + plus`` (``plus`` is a size or offset)."""
        return Bbox(minpt, Vec(*minpt) + plus)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bbox:
        """From ``{"minpt": [...], "maxpt": [...], "dtype": "int32"}`` (dtype defaults to float32)."""
        return Bbox(
            data["minpt"],
            data["maxpt"],
            dtype=data.get("dtype", np.float32),
            unit=data.get("unit", "vx"),
        )

    @classmethod
    def from_vec(cls, vec: Iterable[Any], dtype: npt.DTypeLike = int) -> Bbox:
        """The box from the origin to ``vec`` (x, y, z), int64 by default."""
        return Bbox((0, 0, 0), vec, dtype=dtype)

    @classmethod
    def from_filename(cls, filename: str, dtype: npt.DTypeLike = int) -> Bbox:
        """Parse a chunk name ``x0-x1_y0-y1_z0-z1`` (any directory or ``.gz/.br/.zstd`` ok).

        Numbers may be negative or decimal; the result is int64 unless ``dtype`` says
        otherwise. Raises ``ValueError`` if the name has no such pattern at its end.
        """
        name = os.path.basename(filename)
        match = FILENAME_RE.search(name)
        if match is None:
            raise ValueError(f"Unable to decode bounding box from: {filename}")
        x0, x1, y0, y1, z0, z1 = (_parse_number(group) for group in match.groups())
        return Bbox((x0, y0, z0), (x1, y1, z1), dtype=dtype)

    @classmethod
    def from_slices(
        cls,
        slices: Any,
        context: Bbox | None = None,
        bounded: bool = False,
        autocrop: bool = False,
    ) -> Bbox:
        """The box a tuple of slices selects (x, y, z order).

        With ``context``, open ends and scalars are filled in from it (see
        ``reify_slices``) and the unit is the context's. A slice whose stop is before
        its start gives an empty axis at the start. Steps other than 1 raise ``ValueError``.
        """
        unit = "vx"
        if context is not None:
            slices = context.reify_slices(slices, bounded=bounded, autocrop=autocrop)
            unit = context.unit
        else:
            slices = [
                slice(int(item), int(item) + 1) if slicing.is_scalar_index(item) else item
                for item in slicing.to_index_list(slices)
            ]

        starts, stops = [], []
        for slc in slices:
            if not isinstance(slc, slice):
                raise TypeError(f"Expected slices, got {slc!r}.")
            if slc.step not in (None, 1):
                raise ValueError("Non-unitary steps are unsupported. Got: " + str(slc.step))
            if slc.start is None or slc.stop is None:
                raise ValueError(
                    f"Open slice {slc} needs a context (the volume bounds) to fill it in."
                )
            starts.append(slc.start)
            stops.append(slc.start if slc.stop < slc.start else slc.stop)
        return Bbox(starts, stops, unit=unit)

    @classmethod
    def from_list(cls, lst: Sequence[Any]) -> Bbox:
        """From ``[*minpt, *maxpt]``, e.g. ``[x0, y0, z0, x1, y1, z1]``."""
        half = len(lst) // 2
        return Bbox(lst[:half], lst[half:])

    @classmethod
    def from_points(cls, arr: npt.ArrayLike) -> Bbox:
        """The int64 voxel box holding every point of an (N, 3) x, y, z array.

        ``maxpt`` is the largest coordinate plus one, so each point's voxel is inside.
        Float coordinates are truncated toward zero.
        """
        points = np.asarray(arr)
        if not np.issubdtype(points.dtype, np.integer):
            points = points.astype(np.float64)
        mins = np.min(points, axis=0)
        maxes = np.max(points, axis=0) + 1
        return Bbox(mins, maxes, dtype=np.int64)

    @classmethod
    def deserialize(cls, bbx_data: str | bytes) -> Bbox:
        """The inverse of ``serialize``: a Bbox from its JSON text."""
        return cls.from_dict(json.loads(bbx_data))

    # --- combining boxes ----------------------------------------------------------

    @classmethod
    def intersection(cls, bbx1: Bbox, bbx2: Bbox) -> Bbox:
        """The common part of two boxes, or an all-zero box if they do not ``intersect``.

        The result has the promoted dtype of both and ``bbx1``'s unit.
        """
        dtype = np.result_type(bbx1.minpt.dtype, bbx2.minpt.dtype)
        if not Bbox.intersects(bbx1, bbx2):
            zeros = np.zeros(bbx1.ndim, dtype=dtype)
            return bbx1._replace(zeros, zeros, dtype)
        return bbx1._replace(
            np.maximum(bbx1.minpt, bbx2.minpt),
            np.minimum(bbx1.maxpt, bbx2.maxpt),
            dtype,
        )

    @classmethod
    def intersects(cls, bbx1: Bbox, bbx2: Bbox) -> bool:
        """True if on every axis each box starts strictly before the other ends.

        Boxes that only share a face do not intersect (unlike ``overlaps_bbox``).
        """
        return bool(np.all((bbx1.minpt < bbx2.maxpt) & (bbx1.maxpt > bbx2.minpt)))

    @classmethod
    def near_edge(cls, bbx1: Bbox, bbx2: Bbox, distance: Any = 0) -> bool:
        """True if any face of ``bbx1`` is within ``distance`` of the matching face of ``bbx2``."""
        return bool(
            np.any(np.abs(bbx1.minpt - bbx2.minpt) <= distance)
            or np.any(np.abs(bbx1.maxpt - bbx2.maxpt) <= distance)
        )

    @classmethod
    def expand(cls, *args: Bbox) -> Bbox:
        """The smallest box containing all arguments (dtype and unit of the first)."""
        if not args:
            raise ValueError("Bbox.expand needs at least one Bbox.")
        lo = np.minimum.reduce([np.asarray(bbx.minpt) for bbx in args])
        hi = np.maximum.reduce([np.asarray(bbx.maxpt) for bbx in args])
        return args[0]._replace(lo, hi)

    @classmethod
    def clamp(cls, bbx0: Bbox, bbx1: Bbox) -> Bbox:
        """``bbx0`` with each corner clamped into ``bbx1`` (dtype and unit of ``bbx0``)."""
        lo, hi = np.asarray(bbx1.minpt), np.asarray(bbx1.maxpt)
        return bbx0._replace(
            np.minimum(np.maximum(bbx0.minpt, lo), hi),
            np.minimum(np.maximum(bbx0.maxpt, lo), hi),
        )

    # --- measures -----------------------------------------------------------------

    def size(self) -> Vec:
        """``maxpt - minpt`` per axis, in this box's dtype."""
        return (self._maxpt - self._minpt).astype(self._dtype).view(Vec)

    def size3(self) -> Vec:
        """The x, y, z part of ``size()``."""
        return (self._maxpt[:3] - self._minpt[:3]).astype(self._dtype).view(Vec)

    def volume(self) -> Any:
        """The x·y·z volume: an exact Python int for integer boxes, else a float64."""
        extent = self.size3()
        if np.issubdtype(extent.dtype, np.integer):
            total = 1
            for length in extent.tolist():
                total *= length
            return total
        return np.prod(extent.astype(np.float64))

    def center(self) -> Vec:
        """The midpoint (float64), x, y, z."""
        return ((self._minpt + self._maxpt) / 2.0).view(Vec)

    def valid(self) -> bool:
        """True if ``minpt <= maxpt`` on every axis."""
        return bool(np.all(self._minpt <= self._maxpt))

    def subvoxel(self) -> bool:
        """True if the box is inverted or holds less than one voxel of volume."""
        return (not self.valid()) or self.volume() < 1

    def empty(self) -> bool:
        """True if the box is inverted or its volume is zero (within float error)."""
        return (not self.valid()) or (self.volume() < (20 * MACHINE_EPSILON))

    def contains(self, point: npt.ArrayLike) -> bool:
        """True if ``point`` is inside or on the surface (``maxpt`` included)."""
        return bool(np.all(point >= self._minpt) and np.all(point <= self._maxpt))

    def contains_bbox(self, bbox: Bbox) -> bool:
        """True if both corners of ``bbox`` are ``contains``-ed by this box."""
        return self.contains(bbox.maxpt) and self.contains(bbox.minpt)

    def overlaps_bbox(self, bbox: Bbox) -> bool:
        """True if the boxes overlap or touch (a shared face counts)."""
        return not (np.any(self._maxpt < bbox.minpt) or np.any(self._minpt > bbox.maxpt))

    # --- the chunk grid -----------------------------------------------------------

    def expand_to_chunk_size(
        self, chunk_size: npt.ArrayLike, offset: npt.ArrayLike = _DEFAULT_OFFSET
    ) -> Bbox:
        """The smallest grid-aligned box containing this one.

        The grid has cells of ``chunk_size`` (x, y, z voxels) with lines through
        ``offset`` (usually the volume's ``voxel_offset``).
        """
        lo = chunkgrid.align(self._minpt, chunk_size, offset, "floor")
        hi = chunkgrid.align(self._maxpt, chunk_size, offset, "ceil")
        return self._replace(lo, hi)

    def shrink_to_chunk_size(
        self, chunk_size: npt.ArrayLike, offset: npt.ArrayLike = _DEFAULT_OFFSET
    ) -> Bbox:
        """The largest grid-aligned box inside this one (see ``expand_to_chunk_size``).

        If no whole cell fits on some axis the result collapses to the point at its
        aligned ``minpt``.
        """
        lo = chunkgrid.align(self._minpt, chunk_size, offset, "ceil")
        hi = chunkgrid.align(self._maxpt, chunk_size, offset, "floor")
        if np.any(lo > hi):
            hi = lo.copy()
        return self._replace(lo, hi)

    def round_to_chunk_size(
        self, chunk_size: npt.ArrayLike, offset: npt.ArrayLike = _DEFAULT_OFFSET
    ) -> Bbox:
        """Each face moved to the nearest grid line (halfway rounds to the even cell)."""
        lo = chunkgrid.align(self._minpt, chunk_size, offset, "round")
        hi = chunkgrid.align(self._maxpt, chunk_size, offset, "round")
        return self._replace(lo, hi)

    def is_chunk_aligned(
        self, chunk_size: npt.ArrayLike, offset: npt.ArrayLike = _DEFAULT_OFFSET
    ) -> bool:
        """True if every face lies on the grid (``expand_to_chunk_size`` changes nothing)."""
        return self.expand_to_chunk_size(chunk_size, offset) == self

    def num_chunks(self, chunk_size: Sequence[Any]) -> int:
        """How many ``chunk_size`` cells tile this box's extent (rounded up per axis)."""
        total = 1
        for lo, hi, cs in zip(self._minpt.tolist(), self._maxpt.tolist(), chunk_size, strict=False):
            extent = hi - lo
            if isinstance(extent, int) and isinstance(cs, (int, np.integer)):
                total *= -(-extent // int(cs))
            else:
                total *= math.ceil(extent / cs)
        return total

    # --- in-place resizing ------------------------------------------------------

    def adjust(self, amt: Any) -> Bbox:
        """Move every face outward by ``amt`` (negative moves inward), in place.

        ``amt`` is a scalar or one value per axis. Raises ``ValueError`` (leaving the box
        unchanged) if the result would be inverted. Returns ``self``.
        """
        if isinstance(amt, (tuple, list)):
            if len(amt) != self.ndim:
                raise ValueError(f"Expected {self.ndim} amounts (one per axis), got {amt}.")
            amt = np.asarray(amt)
        lo = np.subtract(self._minpt, amt, dtype=self._minpt.dtype, casting="same_kind")
        hi = np.add(self._maxpt, amt, dtype=self._maxpt.dtype, casting="same_kind")
        if not np.all(lo <= hi):
            raise ValueError("Cannot shrink bbox below zero volume.")
        self._minpt[...] = lo
        self._maxpt[...] = hi
        return self

    def grow(self, amt: Any) -> Bbox:
        """Move every face outward by ``amt`` in place; returns ``self``."""
        return self.adjust(amt)

    def shrink(self, amt: Any) -> Bbox:
        """Move every face inward by ``amt`` (>= 0) in place; returns ``self``."""
        amount = np.asarray(amt)
        if np.any(amount < 0):
            raise ValueError(f"shrink takes non-negative amounts, got {amt}; use grow.")
        if isinstance(amt, (tuple, list)) and len(amt) != self.ndim:
            raise ValueError(f"Expected {self.ndim} amounts (one per axis), got {amt}.")
        return self.adjust(-amount)

    # --- slices and serialisation ------------------------------------------------

    def reify_slices(
        self, slices: Any, bounded: bool = True, autocrop: bool = False
    ) -> list[slice]:
        """Resolve an index expression into one concrete slice per axis of this box.

        Scalars select one position (axes are kept), open ends take this box's bounds,
        ``...`` expands, negative numbers are coordinates. ``autocrop`` clamps to the
        box; otherwise ``bounded`` raises ``OutOfBoundsError`` for any start or stop
        outside ``[minpt, maxpt]``. See ``cloudvol.lib.slicing``.
        """
        if isinstance(slices, Bbox):
            slices = slices.to_slices()
        return slicing.reify(
            slices,
            self._minpt.tolist(),
            self._maxpt.tolist(),
            bounded=bounded,
            autocrop=autocrop,
            context_repr=repr(self),
        )

    def to_slices(self) -> tuple[slice, ...]:
        """``(slice(x0, x1), slice(y0, y1), slice(z0, z1))`` with int bounds."""
        return tuple(
            slice(int(lo), int(hi)) for lo, hi in zip(self._minpt, self._maxpt, strict=False)
        )

    def to_list(self) -> list[Any]:
        """``[*minpt, *maxpt]`` as Python numbers."""
        return self._minpt.tolist() + self._maxpt.tolist()

    def to_dict(self) -> dict[str, Any]:
        """``{"minpt": [...], "maxpt": [...], "dtype": "int32"}``."""
        return {
            "minpt": self._minpt.tolist(),
            "maxpt": self._maxpt.tolist(),
            "dtype": np.dtype(self._dtype).name,
        }

    def serialize(self) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict())

    def to_filename(self, precision: int | None = None) -> str:
        """The chunk-name form ``"x0-x1_y0-y1_z0-z1"``.

        With ``precision`` p > 0 each number is rounded and printed with p decimals.
        """

        def render(value: Any) -> str:
            if precision:
                return f"{round(value, precision):.{precision}f}"
            return str(value)

        return "_".join(
            render(lo) + "-" + render(hi) for lo, hi in zip(self._minpt, self._maxpt, strict=False)
        )

    # --- units and copies ---------------------------------------------------------

    def convert_units(
        self,
        unit: str,
        resolution: npt.ArrayLike = (1, 1, 1),
        resolution_unit: str = "nm",
    ) -> Bbox:
        """This box in another unit.

        Between voxels (``"vx"``) and a length, ``resolution`` is the voxel size (x, y, z)
        in ``resolution_unit``. To voxels the result is int64 and each face is floored.
        Between two lengths the result is float32 and ``resolution`` is unused.
        """
        if self.unit == "vx" and unit == "vx":
            return self.clone()

        if self.unit == "vx":
            scaled = self * np.asarray(resolution)
            num, den = unit_ratio(resolution_unit, unit)
            if den != 1:
                scaled = scaled / den
            elif num != 1:
                scaled = scaled * num
            scaled.unit = unit
            return scaled

        num, den = unit_ratio(self.unit, resolution_unit if unit == "vx" else unit)
        lo = self._minpt.astype(np.float64 if unit == "vx" else np.float32).astype(np.float64)
        hi = self._maxpt.astype(np.float64 if unit == "vx" else np.float32).astype(np.float64)
        lo, hi = lo * num / den, hi * num / den
        if unit == "vx":
            res = np.asarray(resolution)
            result = self._replace(lo // res, hi // res, np.int64)
        else:
            result = self._replace(lo, hi, np.float32)
        result.unit = unit
        return result

    def clone(self) -> Bbox:
        """An independent copy (same corners, dtype and unit)."""
        return self._replace(self._minpt, self._maxpt)

    def astype(self, typ: npt.DTypeLike) -> Bbox:
        """A copy with corners cast to ``typ`` (floats are truncated toward zero)."""
        return self._replace(self._minpt.astype(typ), self._maxpt.astype(typ), np.dtype(typ))

    def transpose(self) -> Bbox:
        """A copy with the axis order reversed (x, y, z -> z, y, x)."""
        return self._replace(self._minpt[::-1], self._maxpt[::-1])

    # --- arithmetic ---------------------------------------------------------------
    # With a scalar or per-axis vector the operation applies to both corners; adding
    # or subtracting a Bbox combines minpt with minpt and maxpt with maxpt. Corners are
    # re-sorted afterwards, so scaling by a negative number reflects the box.

    def _set_corners(self, lo: Any, hi: Any) -> Bbox:
        lo, hi = _ordered(lo, hi)
        self._minpt = _as_point(lo)
        self._maxpt = _as_point(hi)
        self._dtype = self._minpt.dtype
        return self

    @staticmethod
    def _operands(operand: Any) -> tuple[Any, Any]:
        if isinstance(operand, Bbox):
            return operand.minpt, operand.maxpt
        return operand, operand

    @staticmethod
    def _no_bbox(operand: Any, symbol: str) -> None:
        if isinstance(operand, Bbox):
            raise TypeError(f"Bbox {symbol} Bbox is not defined; use a scalar or a vector.")

    def __iadd__(self, operand: Any) -> Bbox:
        lo, hi = self._operands(operand)
        return self._set_corners(np.add(self._minpt, lo), np.add(self._maxpt, hi))

    def __add__(self, operand: Any) -> Bbox:
        return self.clone().__iadd__(operand)

    __radd__ = __add__

    def __isub__(self, operand: Any) -> Bbox:
        lo, hi = self._operands(operand)
        return self._set_corners(np.subtract(self._minpt, lo), np.subtract(self._maxpt, hi))

    def __sub__(self, operand: Any) -> Bbox:
        return self.clone().__isub__(operand)

    def __imul__(self, operand: Any) -> Bbox:
        self._no_bbox(operand, "*")
        return self._set_corners(
            np.multiply(self._minpt, operand), np.multiply(self._maxpt, operand)
        )

    def __mul__(self, operand: Any) -> Bbox:
        return self.clone().__imul__(operand)

    __rmul__ = __mul__

    def __truediv__(self, operand: Any) -> Bbox:
        """Division always gives a float64 box."""
        self._no_bbox(operand, "/")
        lo, hi = _ordered(
            self._minpt.astype(np.float64) / operand, self._maxpt.astype(np.float64) / operand
        )
        return self._replace(lo, hi, np.float64)

    def __itruediv__(self, operand: Any) -> Bbox:
        """Divide in place, keeping the dtype: integer boxes truncate toward zero."""
        result = self.__truediv__(operand)
        self._minpt[...] = result.minpt
        self._maxpt[...] = result.maxpt
        return self

    def __floordiv__(self, operand: Any) -> Bbox:
        """Floor division always gives an int64 box."""
        self._no_bbox(operand, "//")
        lo, hi = _ordered(
            np.floor_divide(self._minpt.astype(np.float64), operand),
            np.floor_divide(self._maxpt.astype(np.float64), operand),
        )
        return self._replace(lo, hi, np.int64)

    def __ifloordiv__(self, operand: Any) -> Bbox:
        """Floor-divide in place, keeping the dtype (numpy's in-place casting rules)."""
        self._no_bbox(operand, "//")
        self._minpt //= operand
        self._maxpt //= operand
        lo, hi = _ordered(self._minpt, self._maxpt)
        self._minpt[...] = lo
        self._maxpt[...] = hi
        return self

    # --- comparison and display --------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Same corners (by value, any dtype) and same unit."""
        if not isinstance(other, Bbox):
            return NotImplemented
        return (
            np.array_equal(self._minpt, other.minpt)
            and np.array_equal(self._maxpt, other.maxpt)
            and self.unit == other.unit
        )

    def __hash__(self) -> int:
        return hash((tuple(self._minpt.tolist()), tuple(self._maxpt.tolist())))

    def __repr__(self) -> str:
        if np.issubdtype(self._dtype, np.floating):
            lo, hi = [float(v) for v in self._minpt], [float(v) for v in self._maxpt]
        else:
            lo, hi = [int(v) for v in self._minpt], [int(v) for v in self._maxpt]
        return f"Bbox({lo},{hi}, dtype=np.{self._dtype}, unit='{self.unit}')"


# What functions taking "a region" accept: a Bbox, slices, a chunk name or a size Vec.
BboxLikeType = Bbox | Sequence[slice] | str | Vec
