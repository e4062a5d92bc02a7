"""CloudVolume's ``cloudvolume.datasource.precomputed.mesh`` module path; the
multi-resolution names live in :mod:`.multilod`."""

from cloudvol.datasource.precomputed.mesh import multilod

__all__ = ["multilod"]
