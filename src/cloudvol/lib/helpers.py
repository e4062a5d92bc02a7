"""Small helpers CloudVolume users import from ``cloudvolume.lib``.

Vectors are in the volume's axis order (x, y, z); sizes and coordinates are in
voxels unless a function says otherwise.
"""

from __future__ import annotations

import json
import math
import operator
import os
import secrets
import string
import sys
import types
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from itertools import product
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import OutOfBoundsError
from cloudvol.lib.vec import Vec, floating

__all__ = [
    "COLORS",
    "MACHINE_EPSILON",
    "NumpyEncoder",
    "check_bounds",
    "clamp",
    "colorize",
    "divisors",
    "duplicates",
    "find_closest_divisor",
    "first",
    "generate_random_string",
    "getprecision",
    "green",
    "jsonify",
    "map2",
    "max2",
    "min2",
    "mkdir",
    "moving_average",
    "nvl",
    "red",
    "scatter",
    "sip",
    "toabs",
    "toiter",
    "touch",
    "xyzrange",
    "yellow",
]

T = TypeVar("T")

# The gap between 1.0 and the next float64 (2.22e-16).
MACHINE_EPSILON: float = sys.float_info.epsilon

COLORS: dict[str, str] = {
    "RESET": "\033[m",
    "YELLOW": "\033[1;93m",
    "RED": "\033[1;91m",
    "GREEN": "\033[1;92m",
}

_RANDOM_ALPHABET = string.ascii_lowercase + string.digits


# --- values and iterables ----------------------------------------------------


def nvl(*args: Any) -> Any:
    """The first argument that is not ``None`` (``None`` if all are)."""
    for arg in args:
        if arg is not None:
            return arg
    return None


def first(lst: Any) -> Any:
    """The first element of a sequence, iterator or other iterable; ``None`` if empty.

    Iterators (including generators) lose that one element, as with ``next()``.
    """
    if isinstance(lst, (types.GeneratorType, Iterator)):
        return next(lst, None)
    try:
        return lst[0]
    except IndexError:
        return None
    except (TypeError, KeyError):
        return next(iter(lst), None)


def sip(iterable: Iterable[T], block_size: int) -> Generator[list[T], None, None]:
    """Yield lists of ``block_size`` consecutive items (the last list may be shorter)."""
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}.")
    block: list[T] = []
    for item in iterable:
        block.append(item)
        if len(block) == block_size:
            yield block
            block = []
    if block:
        yield block


def scatter(sequence: Sequence[T], n: int) -> Generator[Sequence[T], None, None]:
    """Deal ``sequence`` into ``n`` strided parts: ``sequence[i::n]`` for ``i < n``."""
    for i in range(n):
        yield sequence[i::n]


def toiter(obj: Any, is_iter: bool = False) -> Any:
    """``obj`` if it is iterable, else ``[obj]``; strings and dicts count as scalars.

    With ``is_iter=True`` returns ``(iterable, was_already_iterable)``.
    """
    if isinstance(obj, (str, dict)):
        return ([obj], False) if is_iter else [obj]
    try:
        iter(obj)
    except TypeError:
        return ([obj], False) if is_iter else [obj]
    return (obj, True) if is_iter else obj


def duplicates(lst: Iterable[T]) -> set[T]:
    """The set of elements that occur more than once."""
    seen: set[T] = set()
    repeated: set[T] = set()
    for element in lst:
        if element in seen:
            repeated.add(element)
        seen.add(element)
    return repeated


def getprecision(num: Any) -> int:
    """The number of digits after the decimal point in ``str(num)`` (0 if none)."""
    _, dot, decimals = str(num).partition(".")
    return len(decimals) if dot else 0


def clamp(val: Any, low: Any, high: Any) -> Any:
    """``val`` limited to ``[low, high]``."""
    return min(max(val, low), high)


def check_bounds(val: Any, low: Any, high: Any, index: int) -> Any:
    """Return ``val`` if ``low <= val <= high``, else raise ``OutOfBoundsError``.

    ``index`` is the axis (0 = x, 1 = y, 2 = z, 3 = channel), named in the message.
    """
    if val > high or val < low:
        raise OutOfBoundsError(
            f"Value {val} (index={index}) cannot be outside of inclusive range {low} to {high}"
        )
    return val


# --- JSON, text and files ----------------------------------------------------


class NumpyEncoder(json.JSONEncoder):
    """A JSON encoder that writes numpy arrays as lists and numpy scalars as numbers."""

    def default(self, o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (np.integer, np.floating, np.bool_)):
            return o.item()
        return super().default(o)


def jsonify(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that also accepts numpy arrays and scalars; ``kwargs`` go to ``dumps``."""
    return json.dumps(obj, cls=NumpyEncoder, **kwargs)


def colorize(color: str, text: str) -> str:
    """``text`` wrapped in the ANSI escape for ``color`` (red, yellow or green)."""
    code = COLORS.get(color.upper())
    if code is None or color.upper() == "RESET":
        raise ValueError(f"Unknown color {color!r}; expected red, yellow or green.")
    return code + text + COLORS["RESET"]


def red(text: str) -> str:
    """``text`` in bold red for a terminal."""
    return colorize("red", text)


def yellow(text: str) -> str:
    """``text`` in bold yellow for a terminal."""
    return colorize("yellow", text)


def green(text: str) -> str:
    """``text`` in bold green for a terminal."""
    return colorize("green", text)


def generate_random_string(size: int = 6) -> str:
    """A random string of ``size`` lowercase letters and digits (from ``secrets``)."""
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(size))


def toabs(path: str) -> str:
    """``path`` with ``~`` expanded, made absolute."""
    return os.path.abspath(os.path.expanduser(path))


def mkdir(path: str) -> str:
    """Create directory ``path`` (and parents) unless something exists there.

    Returns the absolute path.
    """
    path = toabs(path)
    if not os.path.exists(path):
        os.makedirs(path, exist_ok=True)
    return path


def touch(path: str) -> None:
    """Create an empty file at ``path`` (and its parent directories) if it is missing."""
    mkdir(os.path.dirname(path))
    # Open for append and close: creates the file, leaves an existing one untouched.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666))


# --- integer arithmetic --------------------------------------------------------


def _as_count(n: Any) -> int:
    if isinstance(n, (float, np.floating)):
        if not float(n).is_integer():
            raise ValueError(f"Expected a whole number, got {n}.")
        return int(n)
    return operator.index(n)


def divisors(n: int) -> Generator[int, None, None]:
    """Yield the positive divisors of ``n`` as ints, in pairs: 1, n, 2, n/2, …

    ``sorted(divisors(12)) == [1, 2, 3, 4, 6, 12]``.
    """
    n = _as_count(n)
    if n < 0:
        raise ValueError(f"divisors() takes a non-negative number, got {n}.")
    for i in range(1, math.isqrt(n) + 1):
        if n % i == 0:
            yield i
            if i * i != n:
                yield n // i


def find_closest_divisor(to_divide: Iterable[int], closest_to: Iterable[int]) -> list[int]:
    """Per axis (x, y, z), the divisor of ``to_divide`` nearest ``closest_to``.

    Used to pick a chunk size that tiles a task size: ``find_closest_divisor((240, 73),
    (64, 64)) == [60, 73]``. Ties go to the divisor found first by ``divisors``.
    """
    result = []
    for total, target in zip(to_divide, closest_to, strict=False):
        total = _as_count(total)
        best = total
        best_distance = total
        for divisor in divisors(total):
            distance = abs(divisor - target)
            if distance < best_distance:
                best, best_distance = divisor, distance
        result.append(best)
    return result


def _axis_steps(start: Any, end: Any, stride: Any) -> list[Any]:
    # Repeated addition (not start + i*stride) so float strides land on the same values
    # CloudVolume produces.
    values = []
    value = start
    while value < end:
        values.append(value)
        value = value + stride
    return values


def xyzrange(
    start_vec: Sequence[Any],
    end_vec: Sequence[Any] | None = None,
    stride_vec: Sequence[Any] = (1, 1, 1),
) -> Generator[Vec, None, None]:
    """Yield the grid points ``start <= p < end`` stepping by ``stride``, x fastest.

    With one argument the range is ``(0, 0, 0)`` to ``start_vec``. Points are ``Vec``
    (int64, or float64 if any argument holds a Python float). Strides must be positive.
    """
    if end_vec is None:
        start_vec, end_vec = (0, 0, 0), start_vec
    dtype: type = (
        float if (floating(start_vec) or floating(end_vec) or floating(stride_vec)) else int
    )
    start: np.ndarray = np.array(start_vec, dtype=dtype)
    end: np.ndarray = np.array(end_vec, dtype=dtype)
    if len(start) != 3 or len(end) != 3 or len(stride_vec) != 3:
        raise ValueError("xyzrange takes 3-vectors (x, y, z).")
    if any(step <= 0 for step in stride_vec):
        raise ValueError(f"xyzrange strides must be positive, got {tuple(stride_vec)}.")
    xs, ys, zs = (_axis_steps(start[i], end[i], stride_vec[i]) for i in range(3))
    for z, y, x in product(zs, ys, xs):
        yield Vec(x, y, z, dtype=dtype)


# --- element-wise pairs ----------------------------------------------------------


def map2(fn: Callable[[Any, Any], Any], a: Sequence[Any], b: Sequence[Any]) -> npt.NDArray[Any]:
    """``[fn(a[i], b[i]) ...]`` as a float64 array (a ``Vec`` if ``a`` or ``b`` is one)."""
    if len(a) != len(b):
        raise ValueError(f"Vector lengths do not match: {a} (len {len(a)}), {b} (len {len(b)})")
    result = np.array([fn(ai, bi) for ai, bi in zip(a, b, strict=False)], dtype=np.float64)
    if isinstance(a, Vec) or isinstance(b, Vec):
        return result.view(Vec)
    return result


def _pairwise(ufunc: np.ufunc, a: npt.NDArray[Any], b: npt.ArrayLike) -> npt.NDArray[Any]:
    if len(a) != len(b):  # type: ignore[arg-type]
        raise ValueError(f"Vector lengths do not match: {a!r} (len {len(a)}), {b!r}")
    result = ufunc(np.asarray(a), np.asarray(b)).astype(a.dtype)
    if isinstance(a, Vec) or isinstance(b, Vec):
        return result.view(Vec)
    return result


def min2(a: npt.NDArray[Any], b: npt.ArrayLike) -> npt.NDArray[Any]:
    """Element-wise minimum, in ``a``'s dtype (a ``Vec`` if either input is one)."""
    return _pairwise(np.minimum, a, b)


def max2(a: npt.NDArray[Any], b: npt.ArrayLike) -> npt.NDArray[Any]:
    """Element-wise maximum, in ``a``'s dtype (a ``Vec`` if either input is one)."""
    return _pairwise(np.maximum, a, b)


# --- signals ------------------------------------------------------------------------


def moving_average(a: np.ndarray, n: int, mode: str = "symmetric") -> np.ndarray:
    """The running mean of ``a`` over the ``n`` samples ending at each position (axis 0).

    ``a`` is 1-D, or 2-D with samples along rows (e.g. skeleton vertices, N x 3). The
    first positions, which lack ``n - 1`` predecessors, average over values mirrored by
    ``numpy.pad(mode=mode)``. The output has ``a``'s length and is float (``a`` itself
    is returned for ``n == 1`` or an empty ``a``).
    """
    if n <= 0:
        raise ValueError(f"Window size ({n}), must be >= 1.")
    if n == 1 or len(a) == 0:
        return a
    pad_width: Any = [[n, n], [0, 0]] if a.ndim == 2 else [n, n]
    padded = np.pad(a, pad_width, mode=mode)  # type: ignore[call-overload]
    cumulative = np.cumsum(padded, dtype=float, axis=0)
    window_sums = (cumulative[n:] - cumulative[:-n])[:-n]
    return window_sums / float(n)
