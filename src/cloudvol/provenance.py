"""Provenance documents (CloudVolume's ``cloudvolume.provenance`` module path)."""

from cloudvol.precomputed.provenance import DataLayerProvenance, DatasetProvenance

__all__ = ["DataLayerProvenance", "DatasetProvenance"]
