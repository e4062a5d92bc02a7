"""``vol.skeleton``: unsharded and sharded skeletons written and read by cloudvol and
by cloud-volume, both ways; missing and corrupt skeletons; listing."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.exceptions import EmptyFileException, SkeletonDecodeError
from cloudvol.geometry.skeleton import Skeleton


def make_layer(path: Path, skel_info: dict | None = None, skel_dir: str = "skeletons") -> str:
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw",
        resolution=(4, 4, 40), voxel_offset=(0, 0, 0), volume_size=(256, 256, 64),
        chunk_size=(64, 64, 16), skeletons=skel_dir,
    )  # fmt: skip
    url = f"file://{path}"
    CloudVolume(url, info=info).commit_info()
    if skel_info is not None:
        (path / skel_dir).mkdir(parents=True, exist_ok=True)
        (path / skel_dir / "info").write_text(json.dumps(skel_info))
    return url


def random_skeleton(rng: np.random.Generator, segid: int, n: int = 50) -> Skeleton:
    vertices = rng.uniform(0, 1000, (n, 3)).astype(np.float32)
    parents = [int(rng.integers(0, k)) for k in range(1, n)]
    edges = np.array([[k, p] for k, p in zip(range(1, n), parents, strict=True)], np.uint32)
    radii = rng.uniform(1, 20, n).astype(np.float32)
    types = rng.integers(0, 7, n).astype(np.uint8)
    return Skeleton(vertices, edges, radii, types, segid=segid)


def same(a, b) -> bool:
    return (
        np.allclose(a.vertices, b.vertices)
        and np.array_equal(a.edges, b.edges)
        and np.allclose(a.radius, b.radius)
        and np.array_equal(a.vertex_types, b.vertex_types)
    )


def by_id(skels: list) -> list:
    """cloud-volume returns skeletons in download order; cloudvol in request order."""
    return sorted(skels, key=lambda s: int(s.id))


def test_upload_then_get_round_trips(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    rng = np.random.default_rng(0)
    skels = [random_skeleton(rng, segid) for segid in (5, 6, 2**41)]
    vol.skeleton.upload(skels)
    one = vol.skeleton.get(5)
    assert isinstance(one, Skeleton) and one.id == 5 and same(one, skels[0])
    many = vol.skeleton.get([6, 2**41])
    assert [s.id for s in many] == [6, 2**41]
    assert all(same(a, b) for a, b in zip(many, skels[1:], strict=True))
    assert (
        gzip.decompress((tmp_path / "skeletons" / "5.gz").read_bytes()) == skels[0].to_precomputed()
    )


def test_get_returns_physical_space_through_the_info_transform(tmp_path: Path) -> None:
    info = {
        "@type": "neuroglancer_skeletons",
        "transform": [4, 0, 0, 100, 0, 4, 0, 0, 0, 0, 40, 0],
        "vertex_attributes": [{"id": "radius", "data_type": "float32", "num_components": 1}],
    }
    vol = CloudVolume(make_layer(tmp_path, info))
    vertices = np.array([[0, 0, 0], [1, 2, 3]], np.float32)
    blob = struct.pack("<II", 2, 1) + vertices.tobytes() + np.array([0, 1], "<u4").tobytes()
    blob += np.array([1.5, 2.5], "<f4").tobytes()
    (tmp_path / "skeletons" / "9").write_bytes(blob)
    skel = vol.skeleton.get(9)
    assert np.allclose(skel.vertices, [[100, 0, 0], [104, 8, 120]])
    assert np.allclose(skel.radius, [1.5, 2.5])


def test_missing_skeleton_raises_unless_allowed(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    vol.skeleton.upload(random_skeleton(np.random.default_rng(1), 3))
    with pytest.raises(SkeletonDecodeError, match=r"skeletons/4"):
        vol.skeleton.get([3, 4])
    assert [s.id for s in vol.skeleton.get([3, 4], allow_missing=True)] == [3]


def test_corrupt_skeleton_names_segid_and_file(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    (tmp_path / "skeletons").mkdir()
    (tmp_path / "skeletons" / "12").write_bytes(struct.pack("<II", 10, 3) + b"\x00" * 20)
    with pytest.raises(SkeletonDecodeError, match=r"skeletons/12"):
        vol.skeleton.get(12)


def test_upload_raw_and_list(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    vol.skeleton.upload_raw(30, [[0, 0, 0], [1, 1, 1]], [[0, 1]], radii=[1, 2], vertex_types=[1, 3])
    vol.skeleton.upload_raw(7, [[0, 0, 0], [2, 2, 2]], [[0, 1]])
    assert vol.skeleton.list().tolist() == [7, 30]
    assert vol.skeleton.list().dtype == np.uint64
    assert np.allclose(vol.skeleton.get(30).radius, [1, 2])


def test_skel_dir_override(tmp_path: Path) -> None:
    url = make_layer(tmp_path)
    vol = CloudVolume(url, skel_dir="skeletons_mip_2")
    assert vol.skeleton.meta.skeleton_path == "skeletons_mip_2"
    assert vol.skeleton.meta.mip == 2
    vol.skeleton.upload(random_skeleton(np.random.default_rng(2), 1))
    assert (tmp_path / "skeletons_mip_2" / "1.gz").exists()


def test_cloudvolume_reads_cloudvol_skeletons_and_back(tmp_path: Path) -> None:
    from cloudvolume import CloudVolume as CV
    from cloudvolume import Skeleton as CVSkeleton

    url = make_layer(tmp_path)
    rng = np.random.default_rng(3)
    ours = [random_skeleton(rng, segid) for segid in (1, 2)]
    CloudVolume(url).skeleton.upload(ours)
    for theirs, mine in zip(by_id(CV(url).skeleton.get([1, 2])), ours, strict=True):
        assert same(theirs, mine)
    theirs_written = CVSkeleton(ours[0].vertices + 5, ours[0].edges, ours[0].radius,
                                ours[0].vertex_types, segid=77)  # fmt: skip
    CV(url).skeleton.upload(theirs_written)
    got = CloudVolume(url).skeleton.get(77)
    assert same(got, theirs_written)


def sharded_layer(tmp_path: Path) -> str:
    url = make_layer(tmp_path, {
        "@type": "neuroglancer_skeletons",
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        "vertex_attributes": [
            {"id": "radius", "data_type": "float32", "num_components": 1},
            {"id": "vertex_types", "data_type": "uint8", "num_components": 1},
        ],
    })  # fmt: skip
    vol = CloudVolume(url)
    vol.skeleton.to_sharded(num_labels=10)
    vol.skeleton.meta.commit_info()
    return url


def test_sharded_upload_get_and_list(tmp_path: Path) -> None:
    url = sharded_layer(tmp_path)
    vol = CloudVolume(url)
    assert vol.skeleton.meta.is_sharded() and vol.skeleton.reader is not None
    rng = np.random.default_rng(4)
    skels = [random_skeleton(rng, segid) for segid in (10, 11, 12)]
    vol.skeleton.upload(skels)
    assert list((tmp_path / "skeletons").glob("*.shard"))
    got = vol.skeleton.get([12, 10])
    assert [s.id for s in got] == [12, 10]
    assert same(got[0], skels[2]) and same(got[1], skels[0])
    assert vol.skeleton.list().tolist() == [10, 11, 12]
    with pytest.raises(EmptyFileException, match="13"):
        vol.skeleton.get(13)


def test_sharded_skeletons_cross_read_with_cloudvolume(tmp_path: Path) -> None:
    from cloudvolume import CloudVolume as CV
    from cloudvolume import Skeleton as CVSkeleton

    url = sharded_layer(tmp_path / "a")
    rng = np.random.default_rng(5)
    skels = [random_skeleton(rng, segid) for segid in (1, 2, 3)]
    CloudVolume(url).skeleton.upload(skels)
    for theirs, mine in zip(by_id(CV(url).skeleton.get([1, 2, 3])), skels, strict=True):
        assert same(theirs, mine)

    url = sharded_layer(tmp_path / "b")
    CV(url).skeleton.upload([CVSkeleton(s.vertices, s.edges, s.radius, s.vertex_types,
                                        segid=s.id) for s in skels])  # fmt: skip
    for got, mine in zip(CloudVolume(url).skeleton.get([1, 2, 3]), skels, strict=True):
        assert same(got, mine)


def test_to_sharded_switches_the_source(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    assert vol.skeleton.reader is None
    vol.skeleton.to_sharded(num_labels=100)
    assert vol.skeleton.reader is not None
    vol.skeleton.to_unsharded()
    assert vol.skeleton.reader is None


def test_empty_skeleton_round_trip(tmp_path: Path) -> None:
    vol = CloudVolume(make_layer(tmp_path))
    vol.skeleton.upload(Skeleton(segid=8))
    got = vol.skeleton.get(8)
    assert len(got.vertices) == 0 and len(got.edges) == 0


def test_resharding_twice_writes_with_the_new_spec(tmp_path: Path) -> None:
    url = make_layer(tmp_path)
    vol = CloudVolume(url)
    vol.skeleton.to_sharded(num_labels=1)
    first = vol.skeleton.reader.spec
    vol.skeleton.to_sharded(num_labels=10**6, shard_index_bytes=2**10)
    assert vol.skeleton.reader.spec != first  # rebuilt on any change of the info
    vol.skeleton.meta.commit_info()
    skel = random_skeleton(np.random.default_rng(6), 42)
    vol.skeleton.upload(skel)
    assert same(CloudVolume(url).skeleton.get(42), skel)


def test_sharded_missing_names_the_shard_file_and_allow_missing_skips(tmp_path: Path) -> None:
    vol = CloudVolume(sharded_layer(tmp_path))
    vol.skeleton.upload(random_skeleton(np.random.default_rng(7), 10))
    with pytest.raises(EmptyFileException, match=r"\.shard \(segid 77\)"):
        vol.skeleton.get([10, 77])
    assert [s.id for s in vol.skeleton.get([10, 77], allow_missing=True)] == [10]


def test_bad_vertex_attributes_name_the_info_file(tmp_path: Path) -> None:
    from cloudvol.exceptions import InvalidInfoError

    info = {"@type": "neuroglancer_skeletons", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
            "vertex_attributes": [{"id": "radius", "data_type": "float32"}]}  # fmt: skip
    vol = CloudVolume(make_layer(tmp_path, info))
    (tmp_path / "skeletons" / "3").write_bytes(struct.pack("<II", 0, 0))
    with pytest.raises(InvalidInfoError, match=r"skeletons/info.*num_components"):
        vol.skeleton.get(3)


def test_sharded_list_prefers_igneous_labels_files(tmp_path: Path) -> None:
    vol = CloudVolume(sharded_layer(tmp_path))
    vol.skeleton.upload([random_skeleton(np.random.default_rng(8), s) for s in (4, 5)])
    assert vol.skeleton.list().tolist() == [4, 5]
    (tmp_path / "skeletons" / "0.labels").write_text(json.dumps([9, 4, 5]))
    assert vol.skeleton.list().tolist() == [4, 5, 9]


def test_progress_bars_for_skeletons_and_meshes(tmp_path: Path, capsys) -> None:
    from cloudvol.geometry.mesh import Mesh

    url = make_layer(tmp_path)
    CloudVolume(url).skeleton.upload([random_skeleton(np.random.default_rng(9), s) for s in (1, 2)])
    CloudVolume(url).mesh.put(Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], segid=1))
    vol = CloudVolume(url, progress=True)
    vol.skeleton.get([1, 2])
    vol.mesh.get(1)
    err = capsys.readouterr().err
    assert "Decoding skeletons" in err and "Decoding mesh fragments" in err
