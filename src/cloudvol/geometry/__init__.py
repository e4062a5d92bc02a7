"""Mesh and skeleton objects: in-memory geometry and its file formats."""

from cloudvol.geometry.mesh import Mesh
from cloudvol.geometry.skeleton import PrecomputedSkeleton, Skeleton

__all__ = ["Mesh", "PrecomputedSkeleton", "Skeleton"]
