"""The meshes and skeletons part of ``make demo``.

Meshes: marching cubes with ``zmesh`` on a downsampled mip of the demo segmentation
(one legacy fragment per label, gzipped like CloudVolume's uploads). Skeletons:
TEASAR with ``kimimaro`` on the same mip. Both directories get a spatial index, so
``vol.mesh.get_bbox``/``vol.skeleton.get_bbox`` work. Everything is read back
through ``vol.mesh.get`` and ``vol.skeleton.get`` and checked against what was
written. ``zmesh`` and ``kimimaro`` come with ``pip install 'cloudvol[meshing]'``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cloudvol import CloudVolume
from cloudvol.geometry.mesh import Mesh
from cloudvol.geometry.skeleton import Skeleton
from cloudvol.lib import Bbox
from cloudvol.precomputed.spatial_index import CellGrid, write_cells
from cloudvol.storage.base import PutOptions

__all__ = ["build_meshes_and_skeletons"]

#: spatial index cells, in voxels of the mip the objects were made from
INDEX_CELL = (64, 64, 16)


def write_index(vol: Any, directory: str, objects: dict[int, np.ndarray], cell_nm: Any) -> int:
    """Write the ``.spatial`` cells (gzipped, as Igneous does) of ``{segid: points
    in nm}`` under ``directory``; returns how many cells were written."""
    resolution = [int(r) for r in vol.resolution]
    grid = CellGrid.create(vol.bounds * resolution, cell_nm, resolution)
    boxes = {
        segid: [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]
        for segid, points in objects.items()
        if len(points)
    }
    cells = write_cells(grid, boxes)
    vol.meta.store.put_many(
        {f"{directory}/{name}": data for name, data in cells.items()}, PutOptions(compress="gzip")
    )
    return len(cells)


def _mesh_labels(labels: np.ndarray, resolution: Any) -> dict[int, Mesh]:
    import zmesh

    mesher = zmesh.Mesher(tuple(float(r) for r in resolution))
    mesher.mesh(labels)
    meshes = {}
    for segid in mesher.ids():
        if segid == 0:
            continue
        zm = mesher.get(segid, normals=False, reduction_factor=0, max_error=0)
        meshes[int(segid)] = Mesh(zm.vertices, zm.faces, segid=int(segid))
    mesher.clear()
    return meshes


def _skeletonize_labels(labels: np.ndarray, resolution: Any) -> dict[int, Skeleton]:
    import kimimaro

    found = kimimaro.skeletonize(
        labels,
        anisotropy=tuple(float(r) for r in resolution),
        teasar_params={"scale": 1.5, "const": 300},
        dust_threshold=20,
        parallel=1,
        progress=False,
    )
    return {
        int(segid): Skeleton(
            s.vertices, s.edges, s.radius, s.vertex_types, segid=int(segid), space="physical"
        )
        for segid, s in found.items()
    }


def build_meshes_and_skeletons(path: str, labels: np.ndarray, mip: int) -> None:
    """Mesh and skeletonize ``labels`` (the layer's segmentation at ``mip``, x,y,z),
    write both with a spatial index into the layer at ``path``, read them back,
    verify, and print what happened."""
    vol = CloudVolume(path, mip=mip)
    resolution = vol.resolution
    vol.meta.info["mesh"] = "mesh"
    vol.meta.info["skeletons"] = "skeletons"
    vol.commit_info()
    # The index's resolution also decides how cell names print ("0-2048" vs "0.0-2048.0"),
    # so the writer below uses the very same numbers.
    cell_nm = [int(c * r) for c, r in zip(INDEX_CELL, resolution, strict=True)]
    index_spec = {"resolution": [int(r) for r in resolution], "chunk_size": cell_nm}
    bounds_nm = vol.bounds * resolution

    start = time.perf_counter()
    meshes = _mesh_labels(labels, resolution)
    mesh_seconds = time.perf_counter() - start
    vol.mesh.meta.info.update({"mip": mip, "spatial_index": index_spec})
    vol.mesh.meta.commit_info()
    start = time.perf_counter()
    vol.mesh.put(list(meshes.values()), skip_delete=True)
    write_index(vol, "mesh", {s: m.vertices for s, m in meshes.items()}, cell_nm)
    put_seconds = time.perf_counter() - start
    faces = sum(len(m.faces) for m in meshes.values())
    print(f"meshes (zmesh marching cubes on mip {mip}, {labels.shape}): {len(meshes)} labels, "
          f"{faces / 1e6:.2f} M triangles in {mesh_seconds:.2f} s; written in {put_seconds:.2f} s")  # fmt: skip

    start = time.perf_counter()
    skeletons = _skeletonize_labels(labels, resolution)
    skel_seconds = time.perf_counter() - start
    vol.skeleton.meta.info.update({"mip": mip, "spatial_index": index_spec})
    vol.skeleton.meta.commit_info()
    vol.skeleton.upload(list(skeletons.values()))
    write_index(vol, "skeletons", {s: k.vertices for s, k in skeletons.items()}, cell_nm)
    vertices = sum(len(s.vertices) for s in skeletons.values())
    print(f"skeletons (kimimaro TEASAR on mip {mip}): {len(skeletons)} labels, {vertices} "
          f"vertices in {skel_seconds:.2f} s")  # fmt: skip

    reader = CloudVolume(path)
    ids = sorted(meshes)
    start = time.perf_counter()
    got = reader.mesh.get(ids, fuse=False)
    seconds = time.perf_counter() - start
    for segid in ids:
        if not (np.array_equal(got[segid].vertices, meshes[segid].vertices)
                and np.array_equal(got[segid].faces, meshes[segid].faces)):  # fmt: skip
            raise SystemExit(f"MISMATCH: mesh {segid} read back differs")
    print(f"  read {len(ids)} meshes back in {seconds:.2f} s, all identical")
    ids = sorted(skeletons)
    start = time.perf_counter()
    skels = reader.skeleton.get(ids)
    seconds = time.perf_counter() - start
    for skel in skels:
        if not Skeleton.equivalent(skel, skeletons[int(skel.id)]):
            raise SystemExit(f"MISMATCH: skeleton {skel.id} read back differs")
    print(f"  read {len(ids)} skeletons back in {seconds:.2f} s, all equivalent")
    quarter = Bbox(bounds_nm.minpt, bounds_nm.minpt + (bounds_nm.maxpt - bounds_nm.minpt) // 4)
    start = time.perf_counter()
    found = reader.mesh.spatial_index.query(quarter)
    seconds = time.perf_counter() - start
    print(f"  spatial index: {len(found)} labels have meshes in the box "
          f"{quarter.minpt.tolist()}-{quarter.maxpt.tolist()} nm "
          f"(query {1000 * seconds:.1f} ms)")  # fmt: skip
