"""``Vec``: a small 1-D numpy vector with named components.

Coordinates follow the volume's axis order: ``x, y, z`` and, for 4-D points, ``w``
(the channel axis). ``r, g, b, a`` are colour aliases for the same four components.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Vec", "floating"]

# Scale of "zero length" for Vec.null(): a few float32 epsilons.
_NULL_LENGTH = 10 * float(np.finfo(np.float32).eps)


def floating(values: Iterable[Any]) -> bool:
    """True if any element is a Python ``float`` (``np.float64`` counts, ``np.float32`` does not).

    This is the rule ``Vec`` and ``Bbox`` use to pick a floating dtype when none is given.
    """
    return any(isinstance(value, float) for value in values)


class Vec(np.ndarray):
    """A 1-D numpy array built from its components: ``Vec(x, y, z)``.

    ``dtype`` defaults to ``float64`` if any component is a Python float, else to
    ``int64``. Arithmetic behaves as for any ndarray and returns ``Vec``.
    Components are readable and writable as ``x y z w`` (or ``r g b a``).
    """

    def __new__(cls, *values: Any, dtype: npt.DTypeLike | None = None) -> Vec:
        if dtype is None:
            dtype = float if floating(values) else int
        data = np.array(values, dtype=dtype)
        if data.ndim != 1:
            raise ValueError(
                f"Vec takes scalar components, e.g. Vec(1, 2, 3); got {values!r}. "
                "To make a Vec from a sequence write Vec(*seq)."
            )
        return data.view(cls)

    @classmethod
    def clamp(cls, val: npt.ArrayLike, minvec: npt.ArrayLike, maxvec: npt.ArrayLike) -> Vec:
        """Clamp ``val`` component-wise into ``[minvec, maxvec]`` (both inclusive).

        The dtype of the result is re-inferred from the values as in ``Vec(*values)``.
        """
        clamped = np.minimum(np.maximum(val, minvec), maxvec)
        return Vec(*np.atleast_1d(clamped))

    def clone(self) -> Vec:
        """A copy with the same dtype."""
        return np.array(self, dtype=self.dtype).view(Vec)

    def null(self) -> bool:
        """True if the Euclidean length is within a few float32 epsilons of zero."""
        return self.length() <= _NULL_LENGTH

    def dot(self, vec: npt.ArrayLike) -> Any:  # type: ignore[override]
        """The dot product with ``vec`` (a numpy scalar of the promoted dtype)."""
        return sum(self * vec)

    def length2(self) -> Any:
        """The squared Euclidean length."""
        return self.dot(self)

    def length(self) -> float:
        """The Euclidean length as a Python float."""
        return math.sqrt(self.dot(self))

    def rectVolume(self) -> Any:
        """The product of the components (the volume of a box of this size)."""
        product: Any = 1
        for component in self:
            product = product * component
        return product

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.tolist()))

    def __repr__(self) -> str:
        values = ",".join(str(component) for component in self)
        return f"Vec({values}, dtype={self.dtype})"

    # Named components. Written out (not generated) so type checkers see them.
    @property
    def x(self) -> Any:
        """Component 0 (x)."""
        return self[0]

    @x.setter
    def x(self, value: Any) -> None:
        self[0] = value

    @property
    def y(self) -> Any:
        """Component 1 (y)."""
        return self[1]

    @y.setter
    def y(self, value: Any) -> None:
        self[1] = value

    @property
    def z(self) -> Any:
        """Component 2 (z)."""
        return self[2]

    @z.setter
    def z(self, value: Any) -> None:
        self[2] = value

    @property
    def w(self) -> Any:
        """Component 3 (w, the channel axis of a 4-D point)."""
        return self[3]

    @w.setter
    def w(self, value: Any) -> None:
        self[3] = value

    r = x
    g = y
    b = z
    a = w
