"""``cloudvolume.datasource.precomputed.mesh.multilod``'s names, from
:mod:`cloudvol.precomputed.multires_mesh` and :mod:`cloudvol.meshes.multires`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt

from cloudvol.geometry.mesh import Mesh
from cloudvol.meshes.multires import MultiresMeshSource
from cloudvol.precomputed.multires_mesh import (
    MultiLevelPrecomputedMeshManifest,
    decode_fragment,
    from_stored_model_space,
    to_stored_model_space,
)

__all__ = [
    "MultiLevelPrecomputedMeshManifest",
    "MultiresMeshSource",
    "extract_lod_meshes",
    "from_stored_model_space",
    "to_stored_model_space",
]


def extract_lod_meshes(
    manifest: MultiLevelPrecomputedMeshManifest,
    lod: int,
    lod_binary: bytes,
    vertex_quantization_bits: int,
    transform: npt.ArrayLike,
) -> Mapping[int, list[Any]]:
    """Decode the fragments of ``lod`` from ``lod_binary`` (that LOD's bytes, manifest
    order) to ``{segment_id: [Mesh, ...]}``, vertices in nm through ``transform``
    (4x4 or 3x4); empty fragments are skipped."""
    sizes = manifest.fragment_sizes(lod)
    meshes = []
    start = 0
    for frag, size in enumerate(sizes.tolist()):
        end = start + size
        if size:
            vertices, faces = decode_fragment(
                lod_binary[start:end], manifest, lod, frag, vertex_quantization_bits, transform
            )
            meshes.append(Mesh(vertices, faces, segid=manifest.segment_id, encoding_type="draco"))
        start = end
    return {manifest.segment_id: meshes} if meshes else {}
