"""``cloudvolume.skeleton``'s names: the :class:`Skeleton` object (see
:mod:`cloudvol.geometry.skeleton`)."""

from cloudvol.geometry.skeleton import PrecomputedSkeleton, Skeleton

__all__ = ["PrecomputedSkeleton", "Skeleton"]
