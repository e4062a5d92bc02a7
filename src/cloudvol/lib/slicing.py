"""Turning user index expressions into concrete slices against a bounding box.

Semantics (CloudVolume's, see the API reference §5), axis order x, y, z[, channel]:

- a scalar ``i`` (int or float, numpy or Python) means ``i:i+1``; axes are never dropped;
- open slice ends take the box's bounds; missing trailing axes are ``:``; one
  ``Ellipsis`` expands to as many ``:`` as needed, a second one is an error;
- extra trailing axes are accepted only if they are ``:`` or select one element;
- step ``None`` means 1; steps must be positive;
- negative numbers are coordinates, never counted from the end;
- ``autocrop=True`` clamps each start/stop into ``[min, max]``; otherwise
  ``bounded=True`` requires each start/stop to lie in ``[min, max]`` (inclusive) and
  raises ``OutOfBoundsError`` if not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cloudvol.lib.helpers import check_bounds, clamp

__all__ = ["is_scalar_index", "reify", "to_index_list"]


def is_scalar_index(value: Any) -> bool:
    """True for a number that indexes one position (Python or numpy int/float)."""
    return isinstance(value, (int, float, np.integer, np.floating))


def to_index_list(slices: Any) -> list[Any]:
    """The index expression as a flat list of scalars, slices and Ellipsis."""
    if is_scalar_index(slices) or isinstance(slices, slice):
        return [slices]
    if slices is Ellipsis:
        return [Ellipsis]
    if isinstance(slices, (str, bytes)):
        raise TypeError(f"Cannot index a bounding box with a string: {slices!r}")
    try:
        items = list(slices)
    except TypeError:
        raise TypeError(
            f"Cannot index a bounding box with {type(slices).__name__}: {slices!r}. "
            "Use integers, slices and at most one Ellipsis."
        ) from None
    for item in items:
        if not (is_scalar_index(item) or isinstance(item, slice) or item is Ellipsis):
            raise TypeError(
                f"Unsupported index element {item!r} ({type(item).__name__}); "
                "use integers, slices and at most one Ellipsis."
            )
    return items


def _expand_ellipsis(items: list[Any], ndim: int) -> list[Any]:
    positions = [i for i, item in enumerate(items) if item is Ellipsis]
    if len(positions) > 1:
        raise ValueError("More than one Ellipsis operator used at once.")
    if positions:
        at = positions[0]
        fill = max(ndim - len(items) + 1, 0)
        items = items[:at] + [slice(None)] * fill + items[at + 1 :]
    return items


def _selects_one(item: Any) -> bool:
    if is_scalar_index(item):
        return True
    if item.start is None and item.stop is None:
        return True
    if item.start is None or item.stop is None:
        return False
    return bool(abs(item.stop - item.start) == 1)


def reify(
    slices: Any,
    minpt: Sequence[Any],
    maxpt: Sequence[Any],
    bounded: bool = True,
    autocrop: bool = False,
    context_repr: str = "",
) -> list[slice]:
    """Concrete ``slice(start, stop, step)`` per axis of the box ``[minpt, maxpt]``.

    ``minpt``/``maxpt`` are the box's corners (Python scalars, x, y, z[, channel]);
    ``context_repr`` names the box in error messages.
    """
    ndim = len(minpt)
    items = _expand_ellipsis(to_index_list(slices), ndim)
    items += [slice(None)] * (ndim - len(items))

    while len(items) > ndim:
        if not _selects_one(items[-1]):
            raise ValueError(f"Too many slices {items} for this context {context_repr}")
        items.pop()

    result = []
    for axis, item in enumerate(items):
        if is_scalar_index(item):
            start: Any = int(item)
            stop: Any = start + 1
            step: Any = 1
        else:
            start = minpt[axis] if item.start is None else item.start
            stop = maxpt[axis] if item.stop is None else item.stop
            step = 1 if item.step is None else item.step
            if step <= 0:
                raise ValueError(f"Step sizes must be positive. Got: {step}")

        if autocrop:
            start = clamp(start, minpt[axis], maxpt[axis])
            stop = clamp(stop, minpt[axis], maxpt[axis])
        elif bounded:
            check_bounds(start, minpt[axis], maxpt[axis], axis)
            check_bounds(stop, minpt[axis], maxpt[axis], axis)

        result.append(slice(start, stop, step))
    return result
