"""Meshes and skeletons through the ``CloudVolume`` facade: the mesh source follows
the mesh info's type and sharding, spatial-index lookups (JSON cells and the SQLite
mirror given as ``spatial_index_db=``), and the public module names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.geometry.mesh import Mesh
from cloudvol.geometry.skeleton import Skeleton
from cloudvol.meshes.legacy import LegacyMeshSource
from cloudvol.meshes.multires import MultiresMeshSource
from cloudvol.precomputed.spatial_index import CellGrid, write_cells
from cloudvol.storage.base import PutOptions

from .multires_fixture import write_multires_dataset


@pytest.mark.parametrize("sharded", [False, True])
def test_vol_mesh_reads_multires_meshes_with_lod_and_bbox(tmp_path: Path, sharded: bool) -> None:
    from cloudvolume import CloudVolume as CV

    dataset = write_multires_dataset(tmp_path / "layer", sharded=sharded)
    vol = CloudVolume(dataset.url)
    assert isinstance(vol.mesh, MultiresMeshSource)
    assert vol.mesh.meta.is_multires() and vol.mesh.meta.is_sharded() == sharded
    segid = min(dataset.segments)
    lods = dataset.segments[segid].manifest.num_lods
    for lod in range(lods):
        ours = vol.mesh.get(segid, lod=lod)[segid]
        theirs = CV(dataset.url).mesh.get(segid, lod=lod)[segid]
        assert isinstance(ours, Mesh) and len(ours.faces) > 0
        assert np.allclose(ours.vertices, theirs.vertices, atol=1e-3)
        assert np.array_equal(ours.faces, np.asarray(theirs.faces).reshape(-1, 3))
    coarsest = vol.mesh.get(segid, lod=-1)[segid]
    assert np.array_equal(coarsest.faces, vol.mesh.get(segid, lod=lods - 1)[segid].faces)
    whole = vol.mesh.get(segid, lod=0)[segid]
    lo = whole.vertices.min(axis=0)
    corner = vol.mesh.get(segid, lod=0, bbox=(lo, lo + 1))[segid]
    assert 0 < len(corner.faces) < len(whole.faces)


def test_mesh_source_is_rebuilt_when_the_info_changes_type(tmp_path: Path) -> None:
    dataset = write_multires_dataset(tmp_path / "layer")
    vol = CloudVolume(dataset.url)
    first = vol.mesh
    assert vol.mesh is first  # cached while the info keeps its layout
    vol.mesh.meta.to_single_resolution()
    assert isinstance(vol.mesh, LegacyMeshSource)
    vol.mesh.meta.to_multi_resolution(16)
    assert isinstance(vol.mesh, MultiresMeshSource) and vol.mesh.vertex_quantization_bits == 16


def layer_with_index(tmp_path: Path) -> tuple[str, dict[int, Mesh], dict[int, Skeleton]]:
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw",
        resolution=(8, 8, 40), voxel_offset=(0, 0, 0), volume_size=(512, 512, 64),
        chunk_size=(64, 64, 16), mesh="mesh", skeletons="skeletons",
    )  # fmt: skip
    url = f"file://{tmp_path}"
    vol = CloudVolume(url, info=info)
    vol.commit_info()
    rng = np.random.default_rng(7)
    meshes, skels = {}, {}
    for segid in range(1, 41):
        center = rng.uniform([0, 0, 0], [4096, 4096, 2560])
        vertices = (center + rng.uniform(-50, 50, (12, 3))).astype(np.float32)
        meshes[segid] = Mesh(vertices, rng.integers(0, 12, (20, 3)).astype(np.uint32), segid=segid)
        skels[segid] = Skeleton(
            vertices[:4], [[0, 1], [1, 2], [2, 3]], segid=segid, space="physical"
        )
    spec = {"resolution": [8, 8, 40], "chunk_size": [1024, 1024, 640]}
    grid = CellGrid.create(vol.bounds * vol.resolution, spec["chunk_size"], spec["resolution"])
    boxes = {
        s: [*m.vertices.min(0).tolist(), *m.vertices.max(0).tolist()] for s, m in meshes.items()
    }
    for directory, source in (("mesh", vol.mesh), ("skeletons", vol.skeleton)):
        source.meta.info["spatial_index"] = spec
        source.meta.commit_info()
        cells = write_cells(grid, boxes)
        vol.meta.store.put_many(
            {f"{directory}/{name}": data for name, data in cells.items()},
            PutOptions(compress="gzip"),
        )
    reopened = CloudVolume(url)
    reopened.mesh.put(list(meshes.values()))
    reopened.skeleton.upload(list(skels.values()))
    return url, meshes, skels


def inside(mesh_or_skel, box: tuple[np.ndarray, np.ndarray]) -> bool:
    lo, hi = mesh_or_skel.vertices.min(0), mesh_or_skel.vertices.max(0)
    return bool(np.all(lo <= box[1]) and np.all(hi >= box[0]))


def test_get_bbox_returns_the_objects_the_index_finds(tmp_path: Path) -> None:
    url, meshes, skels = layer_with_index(tmp_path)
    vol = CloudVolume(url)
    box = (np.array([0, 0, 0]), np.array([2048, 2048, 1280]))
    expected = sorted(s for s, m in meshes.items() if inside(m, box))
    assert expected, "the random layout should put some objects in the box"
    from cloudvol.lib import Bbox

    found = vol.mesh.get_by_bbox(Bbox(box[0], box[1]))
    assert sorted(found) == expected
    assert all(np.array_equal(found[s].vertices, meshes[s].vertices) for s in expected)
    assert sorted(int(s.id) for s in vol.skeleton.get_bbox(Bbox(box[0], box[1]))) == expected
    assert vol.skeleton.list().tolist() == sorted(skels)


def test_spatial_index_db_answers_queries(tmp_path: Path) -> None:
    url, meshes, _ = layer_with_index(tmp_path / "layer")
    db = tmp_path / "mesh-index.db"
    CloudVolume(url).mesh.spatial_index.to_sql(str(db))
    vol = CloudVolume(url, spatial_index_db=str(db))
    assert vol.mesh.spatial_index.sql_url is not None
    everything = vol.bounds * vol.resolution
    assert vol.mesh.spatial_index.query(everything) == set(meshes)
    # the database answers alone: with the cells gone, a whole-layer query still works
    for cell in (tmp_path / "layer" / "mesh").glob("*.spatial*"):
        cell.unlink()
    assert CloudVolume(url, spatial_index_db=str(db)).mesh.spatial_index.query(everything) == set(
        meshes
    )


def test_get_bbox_without_index_raises_index_error(tmp_path: Path) -> None:
    info = CloudVolume.create_new_info(1, "segmentation", "uint64", "raw", (8, 8, 40), (0, 0, 0),
                                       (64, 64, 64), mesh="mesh")  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}", info=info)
    with pytest.raises(IndexError):
        vol.mesh.get_bbox(vol.bounds)
    with pytest.raises(IndexError):
        vol.skeleton.get_bbox(vol.bounds)


def test_public_module_names() -> None:
    import cloudvol
    from cloudvol.datasource.precomputed.mesh.multilod import MultiLevelPrecomputedMeshManifest
    from cloudvol.mesh import Mesh as MeshAlias
    from cloudvol.skeleton import PrecomputedSkeleton
    from cloudvol.skeleton import Skeleton as SkeletonAlias

    assert cloudvol.Mesh is MeshAlias is Mesh
    assert cloudvol.Skeleton is SkeletonAlias is PrecomputedSkeleton is Skeleton
    assert MultiLevelPrecomputedMeshManifest.__name__ == "MultiLevelPrecomputedMeshManifest"


def test_multires_info_with_gzip_sharding_still_opens_and_can_be_fixed(tmp_path: Path) -> None:
    from cloudvol.exceptions import InvalidInfoError

    dataset = write_multires_dataset(tmp_path / "layer", sharded=True)
    vol = CloudVolume(dataset.url)
    vol.mesh.meta.info["sharding"]["data_encoding"] = "gzip"
    vol.mesh.meta.info = dict(vol.mesh.meta.info)  # an edited info rebuilds vol.mesh
    with pytest.raises(InvalidInfoError, match="data_encoding"):
        vol.mesh.get(min(dataset.segments))
    vol.mesh.meta.info["sharding"]["data_encoding"] = "raw"
    assert vol.mesh.get(min(dataset.segments))


def test_multires_to_sharded_defaults_to_raw_fragments(tmp_path: Path) -> None:
    dataset = write_multires_dataset(tmp_path / "layer")
    vol = CloudVolume(dataset.url)
    vol.mesh.to_sharded(100)
    assert vol.mesh.meta.info["sharding"]["data_encoding"] == "raw"
    assert vol.mesh.is_sharded()  # a sharded source now
    vol.mesh.to_unsharded()
    assert not vol.mesh.is_sharded()


def test_multires_save_delete_and_put(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudvol.exceptions import UnsupportedFormatError

    dataset = write_multires_dataset(tmp_path / "layer")
    vol = CloudVolume(dataset.url)
    segid = min(dataset.segments)
    monkeypatch.chdir(tmp_path)
    vol.mesh.save(segid, file_format="obj", lod=1)
    assert Mesh.from_obj((tmp_path / f"{segid}.obj").read_bytes()).faces.shape[0] > 0
    with pytest.raises(UnsupportedFormatError, match="multi-resolution"):
        vol.mesh.put(Mesh([[0, 0, 0]], [[0, 0, 0]], segid=1))
    vol.mesh.delete(segid)
    assert vol.mesh.exists([segid]) == {str(segid): None}


def test_mysql_index_url_without_a_driver_does_not_block_mesh_reads(tmp_path: Path) -> None:
    url, meshes, _ = layer_with_index(tmp_path)
    vol = CloudVolume(url, spatial_index_db="mysql://alice:hunter2@db.invalid/si")
    assert np.array_equal(vol.mesh.get(1, fuse=False)[1].vertices, meshes[1].vertices)


def test_pickled_volume_keeps_mesh_dir_and_spatial_index_db(tmp_path: Path) -> None:
    import pickle

    url, meshes, _ = layer_with_index(tmp_path / "layer")
    db = tmp_path / "index.db"
    CloudVolume(url).mesh.spatial_index.to_sql(str(db))
    vol = CloudVolume(url, spatial_index_db=str(db), mesh_dir="mesh")
    clone = pickle.loads(pickle.dumps(vol))
    assert clone.spatial_index_db == str(db)
    assert clone.mesh.spatial_index.query(clone.bounds * clone.resolution) == set(meshes)
