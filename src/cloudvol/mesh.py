"""``cloudvolume.mesh``'s names: the :class:`Mesh` object (see
:mod:`cloudvol.geometry.mesh`)."""

from cloudvol.geometry.mesh import Mesh

__all__ = ["Mesh"]
