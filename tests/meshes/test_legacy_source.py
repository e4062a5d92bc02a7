"""``vol.mesh`` for legacy meshes: writing, reading, deleting and saving, and
cross-reads with cloud-volume both ways, on local disk and over HTTP."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.exceptions import MeshDecodeError, ReadOnlyException
from cloudvol.geometry.mesh import Mesh


def make_layer(path: Path, mesh_dir: str | None = "mesh", mesh_info: dict | None = None) -> str:
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw",
        resolution=(4, 4, 40), voxel_offset=(0, 0, 0), volume_size=(256, 256, 64),
        chunk_size=(64, 64, 16), mesh=mesh_dir,
    )  # fmt: skip
    if mesh_dir is None:
        info.pop("mesh", None)
    url = f"file://{path}"
    CloudVolume(url, info=info).commit_info()
    if mesh_info is not None:
        (path / (mesh_dir or "mesh")).mkdir(parents=True, exist_ok=True)
        (path / (mesh_dir or "mesh") / "info").write_text(json.dumps(mesh_info))
    return url


def tetra(segid: int, shift: float = 0.0) -> Mesh:
    vertices = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], np.float32) + shift
    faces = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]], np.uint32)
    return Mesh(vertices, faces, segid=segid)


def random_mesh(rng: np.random.Generator, segid: int, nv: int = 300, nf: int = 500) -> Mesh:
    vertices = rng.uniform(0, 1000, (nv, 3)).astype(np.float32)
    faces = rng.integers(0, nv, (nf, 3)).astype(np.uint32)
    return Mesh(vertices, faces, segid=segid)


def test_put_then_get_returns_each_mesh(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    rng = np.random.default_rng(0)
    meshes = [random_mesh(rng, segid) for segid in (3, 18, 2**40 + 7)]
    vol.mesh.put(meshes)
    got = vol.mesh.get([m.segid for m in meshes], fuse=False)
    assert sorted(got) == sorted(m.segid for m in meshes)
    for mesh in meshes:
        assert np.array_equal(got[mesh.segid].vertices, mesh.vertices)
        assert np.array_equal(got[mesh.segid].faces, mesh.faces)
        assert got[mesh.segid].segid == mesh.segid
    # CloudVolume's layout: plain JSON manifest, gzipped fragment
    manifest = json.loads((tmp_path / "mesh" / "3:0").read_text())
    assert manifest == {"fragments": ["3:0:1"]}
    assert (
        gzip.decompress((tmp_path / "mesh" / "3:0:1.gz").read_bytes()) == meshes[0].to_precomputed()
    )


def test_fused_get_concatenates_in_id_order_and_merges_duplicates(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    a, b = tetra(5), tetra(9)  # identical geometry: fusing merges every vertex
    vol.mesh.put([a, b])
    fused = vol.mesh.get([9, 5])
    assert isinstance(fused, Mesh)
    assert len(fused.vertices) == 4
    raw = vol.mesh.get([5, 9], remove_duplicate_vertices=False)
    assert len(raw.vertices) == 8
    assert np.array_equal(raw.faces[:4], a.faces) and np.array_equal(raw.faces[4:], b.faces + 4)


def test_exists_has_string_keys_and_manifest_paths(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    vol.mesh.put(tetra(4))
    assert vol.mesh.exists([4, 5]) == {"4": "mesh/4:0", "5": None}


def test_missing_manifest_raises_value_error_naming_segids(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    vol.mesh.put(tetra(4))
    with pytest.raises(ValueError, match=r"77, 78"):
        vol.mesh.get([4, 77, 78])
    assert vol.mesh._get_manifests([4, 77], allow_missing=True) == {4: ["4:0:1"], 77: None}


def test_malformed_manifest_and_fragment_name_segid_and_file(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    (tmp_path / "mesh").mkdir(exist_ok=True)
    (tmp_path / "mesh" / "6:0").write_text("{not json")
    with pytest.raises(MeshDecodeError, match=r"segid 6.*mesh/6:0"):
        vol.mesh.get(6)
    (tmp_path / "mesh" / "6:0").write_text(json.dumps({"fragments": "6:0:1"}))
    with pytest.raises(MeshDecodeError, match=r"segid 6.*fragments"):
        vol.mesh.get(6)
    (tmp_path / "mesh" / "6:0").write_text(json.dumps({"fragments": ["6:0:1"]}))
    with pytest.raises(MeshDecodeError, match=r"segid 6.*6:0:1.*missing"):
        vol.mesh.get(6)
    (tmp_path / "mesh" / "6:0:1").write_bytes(b"\x05\x00\x00\x00" + b"\x00" * 7)
    with pytest.raises(MeshDecodeError, match=r"mesh/6:0:1"):
        vol.mesh.get(6)


def test_put_replaces_old_fragments_and_delete_removes_all(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    (tmp_path / "mesh").mkdir(exist_ok=True)
    old = tetra(8).to_precomputed()
    (tmp_path / "mesh" / "8:0:0-64_0-64_0-16").write_bytes(old)
    (tmp_path / "mesh" / "8:0").write_text(json.dumps({"fragments": ["8:0:0-64_0-64_0-16"]}))
    vol.mesh.put(tetra(8, shift=100))
    assert not (tmp_path / "mesh" / "8:0:0-64_0-64_0-16").exists()
    assert vol.mesh.get(8).vertices.min() == 100
    vol.mesh.delete([8, 999])
    assert sorted(p.name for p in (tmp_path / "mesh").iterdir()) == []


def test_transform_in_mesh_info_is_applied(tmp_path: Path) -> None:
    transform = [2, 0, 0, 1, 0, 3, 0, 0, 0, 0, 1, -5]
    url = make_layer(
        tmp_path, mesh_info={"@type": "neuroglancer_legacy_mesh", "transform": transform}
    )
    vol = CloudVolume(url)
    vol.mesh.put(tetra(1))
    got = vol.mesh.get(1, fuse=False)[1]
    expected = tetra(1).vertices * [2, 3, 1] + [1, 0, -5]
    assert np.allclose(got.vertices, expected)


def test_mesh_dir_override_and_default_info(tmp_path: Path) -> None:
    url = make_layer(tmp_path, mesh_dir=None)
    vol = CloudVolume(url, mesh_dir="mesh_mip_2_err_40")
    assert vol.mesh.meta.mesh_path == "mesh_mip_2_err_40"
    assert vol.mesh.meta.mip == 2
    assert vol.mesh.meta.info == {"@type": "neuroglancer_legacy_mesh", "spatial_index": None}
    vol.mesh.put(tetra(2))
    assert (tmp_path / "mesh_mip_2_err_40" / "2:0").exists()


def test_save_writes_ply_obj_and_precomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vol = CloudVolume(make_layer(tmp_path / "layer"))
    vol.mesh.put([tetra(1), tetra(2, shift=50)])
    monkeypatch.chdir(tmp_path)
    vol.mesh.save([1, 2])
    ply = Mesh.from_ply((tmp_path / "1_2.ply").read_bytes())
    assert len(ply.vertices) == 8
    vol.mesh.save(1, file_format="obj")
    assert Mesh.from_obj((tmp_path / "1.obj").read_bytes()) == vol.mesh.get(1)
    target = tmp_path / "one.bin"
    with open(target, "wb") as f:
        vol.mesh.save(1, filepath=f, file_format="precomputed")
    assert Mesh.from_precomputed(target.read_bytes()) == vol.mesh.get(1)
    with pytest.raises(ValueError, match="file_format"):
        vol.mesh.save(1, file_format="stl")


def test_chunk_size_merges_only_boundary_vertices_like_cloudvolume(tmp_path: Path) -> None:
    from cloudvolume import CloudVolume as CV

    url = make_layer(tmp_path, mesh_info={"@type": "neuroglancer_legacy_mesh", "mip": 0})
    vol = CloudVolume(url)
    # two fragments sharing vertices on the x = 64 voxel plane (256 nm)
    left = Mesh(np.array([[0, 0, 0], [256, 0, 0], [256, 40, 0]], np.float32),
                np.array([[0, 1, 2]], np.uint32), segid=3)  # fmt: skip
    right = Mesh(np.array([[256, 0, 0], [256, 40, 0], [300, 0, 0]], np.float32),
                 np.array([[0, 1, 2]], np.uint32), segid=3)  # fmt: skip
    (tmp_path / "mesh" / "3:0:a").write_bytes(left.to_precomputed())
    (tmp_path / "mesh" / "3:0:b").write_bytes(right.to_precomputed())
    (tmp_path / "mesh" / "3:0").write_text(json.dumps({"fragments": ["3:0:a", "3:0:b"]}))
    ours = vol.mesh.get(3, chunk_size=(64, 64, 16))
    theirs = CV(url).mesh.get(3, chunk_size=(64, 64, 16))
    assert len(ours.vertices) == 4
    assert np.allclose(ours.vertices, theirs.vertices)
    assert np.array_equal(ours.faces, theirs.faces)


def test_cloudvolume_reads_what_cloudvol_puts(tmp_path: Path) -> None:
    from cloudvolume import CloudVolume as CV

    url = make_layer(tmp_path)
    rng = np.random.default_rng(1)
    meshes = [random_mesh(rng, segid) for segid in (11, 12, 13)]
    CloudVolume(url).mesh.put(meshes)
    theirs = CV(url).mesh.get([11, 12, 13], fuse=False)
    for mesh in meshes:
        assert np.allclose(theirs[mesh.segid].vertices, mesh.vertices)
        assert np.array_equal(theirs[mesh.segid].faces.reshape(-1, 3), mesh.faces)
    assert np.allclose(
        CV(url).mesh.get([11, 12, 13]).vertices, CloudVolume(url).mesh.get([11, 12, 13]).vertices
    )


def test_cloudvol_reads_what_cloudvolume_puts(tmp_path: Path) -> None:
    from cloudvolume import CloudVolume as CV
    from cloudvolume import Mesh as CVMesh

    url = make_layer(tmp_path)
    rng = np.random.default_rng(2)
    theirs = [random_mesh(rng, segid) for segid in (21, 22)]
    CV(url).mesh.put([CVMesh(m.vertices, m.faces, segid=m.segid) for m in theirs])
    got = CloudVolume(url).mesh.get([21, 22], fuse=False)
    for mesh in theirs:
        assert np.array_equal(got[mesh.segid].vertices, mesh.vertices)
        assert np.array_equal(got[mesh.segid].faces, mesh.faces)
    fused_ours = CloudVolume(url).mesh.get([21, 22])
    fused_theirs = CV(url).mesh.get([21, 22])
    assert np.allclose(fused_ours.vertices, fused_theirs.vertices)
    assert np.array_equal(fused_ours.faces, fused_theirs.faces)


def test_large_mesh_round_trip(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    rng = np.random.default_rng(3)
    big = random_mesh(rng, 5, nv=500_000, nf=1_000_000)
    vol.mesh.put(big)
    got = vol.mesh.get(5, fuse=False)[5]
    assert np.array_equal(got.faces, big.faces) and np.array_equal(got.vertices, big.vertices)


def test_empty_mesh_round_trip(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    empty = Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), segid=4)
    vol.mesh.put(empty)
    got = vol.mesh.get(4, fuse=False)[4]
    assert len(got.vertices) == 0 and len(got.faces) == 0


def test_writes_refused_on_a_redirected_layer(tmp_path: Path) -> None:
    target = make_layer(tmp_path / "new")
    info = json.loads((tmp_path / "new" / "info").read_text())
    info["redirect"] = target
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "info").write_text(json.dumps(info))
    vol = CloudVolume(f"file://{tmp_path / 'old'}")
    with pytest.raises(ReadOnlyException):
        vol.mesh.put(tetra(1))
    assert not (tmp_path / "new" / "mesh").exists()


def test_meshes_over_http_with_gzip_content_encoding(http_server, http_dir) -> None:
    local, url_path = http_dir
    url = make_layer(local)
    rng = np.random.default_rng(4)
    meshes = [random_mesh(rng, segid) for segid in range(1, 30)]
    CloudVolume(url).mesh.put(meshes)  # fragments stored as name.gz, served gzip-encoded
    got = CloudVolume(f"{http_server.url}/{url_path}").mesh.get(list(range(1, 30)), fuse=False)
    for mesh in meshes:
        assert np.array_equal(got[mesh.segid].vertices, mesh.vertices)
        assert np.array_equal(got[mesh.segid].faces, mesh.faces)
    fragment_requests = http_server.requests_for(f"/{url_path}/mesh/1:0:1")
    assert fragment_requests and fragment_requests[0].status == 200


def test_failed_put_keeps_the_previous_meshes(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    vol.mesh.put([tetra(1), tetra(2)])
    bad = tetra(2, shift=5)
    bad.vertices = np.zeros((5, 2), np.float32)  # not x, y, z triples
    with pytest.raises(ValueError):
        vol.mesh.put([tetra(1, shift=7), bad], batch_size=1)
    assert vol.mesh.get(1).vertices.min() == 7  # the first batch landed whole
    assert np.array_equal(vol.mesh.get(2).vertices, tetra(2).consolidate().vertices)


def test_manifest_naming_files_outside_the_mesh_dir_is_refused(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    vol = CloudVolume(make_layer(layer))
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (layer / "mesh").mkdir(exist_ok=True)
    for name in ("../../victim.txt", "/etc/passwd", "gs://bucket/x", "a/../../b"):
        (layer / "mesh" / "5:0").write_text(json.dumps({"fragments": [name]}))
        with pytest.raises(MeshDecodeError, match="not a file inside the mesh directory"):
            vol.mesh.get(5)
        with pytest.raises(MeshDecodeError):
            vol.mesh.delete(5)
    vol.mesh.put(tetra(5))  # an unreadable old manifest is simply replaced
    assert victim.read_text() == "keep me"
    assert len(vol.mesh.get(5).vertices) == 4
