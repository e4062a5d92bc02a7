"""Reading multi-resolution meshes (unsharded and sharded) written like Igneous, checked
against what was written and against CloudVolume reading the same files.

Tolerances: in "exact" Draco mode the integer positions survive, so vertices match the
written ones to float32 rounding (1e-3 nm on coordinates up to ~1.5 µm); against
CloudVolume (same bytes, float64 vs mixed float32 arithmetic) to 1e-3 nm too; in
"igneous" Draco mode positions are within half a Draco step (<= half a quantum).
"""

from __future__ import annotations

import builtins
import gzip
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cloudvolume import CloudVolume
from scipy.spatial import cKDTree

from cloudvol.exceptions import InvalidInfoError, MeshDecodeError, MeshMissingError
from cloudvol.geometry.mesh import Mesh
from cloudvol.lib import Bbox
from cloudvol.meshes.multires import MultiresMeshSource
from cloudvol.paths import parse
from cloudvol.precomputed.multires_mesh import MultiLevelPrecomputedMeshManifest
from cloudvol.storage import ByteRange, PutOptions, Store, open_store

from .multires_fixture import (
    BIG,
    BOX,
    RESOLUTION,
    SPHERE,
    FixtureSegment,
    MultiresDataset,
    write_multires_dataset,
)

ATOL_NM = 1e-3


@pytest.fixture(scope="module", params=[False, True], ids=["unsharded", "sharded"])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("multires") / "layer"
    return write_multires_dataset(root, sharded=request.param)


def source_for(ds: MultiresDataset, store: Store | None = None) -> MultiresMeshSource:
    store = store or open_store(parse(ds.url))
    return MultiresMeshSource(store, ds.mesh_dir, ds.info)


class RecordingStore(Store):
    """Delegates to a store and logs every read."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.get_calls: list[list[str]] = []
        self.range_calls: list[list[ByteRange]] = []

    @property
    def url(self) -> str:
        return self.inner.url

    def get_iter(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        keys = list(keys)
        self.get_calls.append(keys)
        return self.inner.get_iter(keys)

    def put_many(self, items: Any, options: PutOptions | None = None) -> None:
        self.inner.put_many(items, options or PutOptions())

    def delete_many(self, keys: Iterable[str]) -> None:
        self.inner.delete_many(keys)

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        return self.inner.exists_many(keys)

    def list(self, prefix: str = "", flat: bool = False) -> Iterator[str]:
        return self.inner.list(prefix, flat)

    def get_ranges(self, ranges: Sequence[ByteRange]) -> builtins.list[bytes]:
        self.range_calls.append(list(ranges))
        return self.inner.get_ranges(ranges)

    def size(self, key: str) -> int | None:
        return self.inner.size(key)


def assert_same_triangles(mesh: Mesh, expected: np.ndarray, atol: float = ATOL_NM) -> None:
    """``mesh`` holds exactly the triangles ``expected`` (``M x 3 x 3`` nm) with the
    same winding: every vertex within ``atol`` of an expected vertex, then the face
    multisets compared exactly on the matched vertex ids."""
    faces = mesh.faces.reshape(-1, 3)
    assert len(faces) == len(expected)
    if not len(faces):
        return
    unique, inverse = np.unique(expected.reshape(-1, 3), axis=0, return_inverse=True)
    distance, nearest = cKDTree(unique).query(mesh.vertices.astype(np.float64))
    assert distance.max() <= atol
    got = nearest[faces]
    want = inverse.reshape(-1, 3)

    def canonical(tris: np.ndarray) -> np.ndarray:
        # rotate each triangle so its smallest id comes first (keeps the winding)
        shift = np.argmin(tris, axis=1)
        rolled = np.stack([np.roll(t, -s) for t, s in zip(tris, shift, strict=True)])
        return rolled[np.lexsort(rolled.T[::-1])]

    assert np.array_equal(canonical(got), canonical(want))


# --- reading ------------------------------------------------------------------------


def test_every_lod_reads_back_what_was_written(dataset: MultiresDataset) -> None:
    source = source_for(dataset)
    for segid, segment in dataset.segments.items():
        for lod in range(segment.manifest.num_lods):
            meshes = source.get(segid, lod=lod)
            assert list(meshes) == [segid]
            mesh = meshes[segid]
            assert mesh.segid == segid and mesh.vertices.dtype == np.float32
            assert_same_triangles(mesh, segment.triangles(lod))


def test_several_segments_in_one_call(dataset: MultiresDataset) -> None:
    meshes = source_for(dataset).get([BOX, SPHERE, BIG], lod=0)
    assert list(meshes) == [BOX, SPHERE, BIG]
    for segid, mesh in meshes.items():
        assert_same_triangles(mesh, dataset.segments[segid].triangles(0))


def test_matches_cloudvolume(dataset: MultiresDataset) -> None:
    cv = CloudVolume(dataset.url, progress=False)
    source = source_for(dataset)
    for segid, segment in dataset.segments.items():
        for lod in range(segment.manifest.num_lods):
            ours = source.get(segid, lod=lod)[segid]
            theirs = cv.mesh.get(segid, lod=lod)[segid]
            # Same fragments decoded in the same order: same arrays.
            np.testing.assert_allclose(ours.vertices, theirs.vertices, atol=ATOL_NM, rtol=0)
            assert np.array_equal(ours.faces, theirs.faces.reshape(-1, 3))


@pytest.mark.parametrize(("bits", "mode"), [(10, "igneous"), (16, "exact"), (16, "igneous")])
def test_draco_quantisation_modes_match_cloudvolume(tmp_path: Path, bits: int, mode: str) -> None:
    ds = write_multires_dataset(
        tmp_path / "layer", sharded=True, vertex_quantization_bits=bits, draco_mode=mode
    )
    cv = CloudVolume(ds.url, progress=False)
    source = source_for(ds)
    for segid, segment in ds.segments.items():
        ours = source.get(segid, lod=0)[segid]
        theirs = cv.mesh.get(segid, lod=0)[segid]
        np.testing.assert_allclose(ours.vertices, theirs.vertices, atol=ATOL_NM, rtol=0)
        assert np.array_equal(ours.faces, theirs.faces.reshape(-1, 3))
        # Draco's own quantisation moves positions by at most half a node quantum.
        quantum = segment.manifest.chunk_shape * np.asarray(RESOLUTION) / (2**bits - 1)
        tree = cKDTree(segment.triangles(0).reshape(-1, 3) / quantum)
        distance, _ = tree.query(ours.vertices / quantum, p=np.inf)
        assert distance.max() <= 0.5 + 1e-3


def test_lod_minus_one_is_each_segments_coarsest(dataset: MultiresDataset) -> None:
    meshes = source_for(dataset).get([SPHERE, BOX, BIG], lod=-1)
    for segid, mesh in meshes.items():
        segment = dataset.segments[segid]
        assert_same_triangles(mesh, segment.triangles(segment.manifest.num_lods - 1))
    if dataset.sharded:  # CloudVolume takes lod=-1 only for sharded sources
        theirs = CloudVolume(dataset.url, progress=False).mesh.get(SPHERE, lod=-1)[SPHERE]
        np.testing.assert_allclose(meshes[SPHERE].vertices, theirs.vertices, atol=ATOL_NM)


@pytest.mark.parametrize(("lod", "top", "segid"), [(2, 1, BOX), (5, 2, SPHERE), (-2, 2, SPHERE)])
def test_out_of_range_lod_names_segment(
    dataset: MultiresDataset, lod: int, top: int, segid: int
) -> None:
    with pytest.raises(
        MeshDecodeError, match=rf"LOD {lod} is out of range \(-1 to {top}\) for segment {segid}"
    ):
        source_for(dataset).get([SPHERE, BOX], lod=lod)


def test_concat_false_gives_the_fragments_in_manifest_order(dataset: MultiresDataset) -> None:
    source = source_for(dataset)
    segment = dataset.segments[SPHERE]
    parts = source.get(SPHERE, lod=1, concat=False)[SPHERE]
    written = [i for i, item in enumerate(segment.expected[1]) if item is not None]
    assert len(parts) == len(written) == segment.manifest.num_fragments_per_lod[1] - 1
    for part, frag in zip(parts, written, strict=True):
        assert isinstance(part, Mesh) and part.segid == SPHERE
        assert_same_triangles(part, segment.triangles(1, [frag]))
    assert Mesh.concatenate(*parts, segid=SPHERE) == source.get(SPHERE, lod=1)[SPHERE]


def test_missing_segment(dataset: MultiresDataset) -> None:
    source = source_for(dataset)
    home = r"mesh/[01]\.shard" if dataset.sharded else r"mesh/12345\.index"
    with pytest.raises(MeshMissingError, match=rf"{home}: no .* manifest for segment 12345"):
        source.get([SPHERE, 12345])
    assert list(source.get([12345, BOX], allow_missing=True)) == [BOX]


def test_manifests_and_exists(dataset: MultiresDataset) -> None:
    source = source_for(dataset)
    manifests = source.get_manifests([SPHERE, 999, BIG])
    assert manifests[999] is None
    assert manifests[SPHERE] == dataset.segments[SPHERE].manifest
    assert source.get_manifest(BIG) == dataset.segments[BIG].manifest
    found = source.exists([BOX, 999])
    if dataset.sharded:
        assert isinstance(found, list) and found[1] is None
        assert found[0] == dataset.segments[BOX].manifest
        assert str(found[0].path).endswith(".shard")
    else:
        assert found == {str(BOX): f"mesh/{BOX}.index", "999": None}


# --- byte ranges and bbox -----------------------------------------------------------


def expected_fragments_in(segment: FixtureSegment, lod: int, lo: np.ndarray, hi: np.ndarray):
    m = segment.manifest
    extent = m.chunk_shape.astype(np.float64) * 2**lod
    node_lo = (m.grid_origin + m.fragment_positions[lod] * extent) * RESOLUTION
    node_hi = node_lo + extent * RESOLUTION
    touch = np.all((node_lo <= hi) & (node_hi >= lo), axis=1)
    return [i for i in np.flatnonzero(touch).tolist() if segment.expected[lod][i] is not None]


def test_reads_only_the_chosen_lod_in_two_rounds(dataset: MultiresDataset) -> None:
    store = RecordingStore(open_store(parse(dataset.url)))
    source = source_for(dataset, store)
    source.get([SPHERE, BOX], lod=1)
    sizes = {s: dataset.segments[s].manifest.lod_sizes() for s in (SPHERE, BOX)}
    fragment_calls = store.range_calls
    if dataset.sharded:
        # index rounds, the manifests, then one round of fragment bytes
        fragment_calls = store.range_calls[-1:]
        assert store.get_calls == []
    else:
        assert store.get_calls == [[f"mesh/{SPHERE}.index", f"mesh/{BOX}.index"]]
        assert len(store.range_calls) == 1
        starts = {r.key: r.start for r in fragment_calls[0]}
        assert starts == {
            f"mesh/{SPHERE}": int(sizes[SPHERE][0]),
            f"mesh/{BOX}": int(sizes[BOX][0]),
        }
    fetched = sum(r.length for call in fragment_calls for r in call)
    assert fetched == int(sizes[SPHERE][1] + sizes[BOX][1])


def test_bbox_keeps_only_fragments_touching_it(dataset: MultiresDataset) -> None:
    store = RecordingStore(open_store(parse(dataset.url)))
    source = source_for(dataset, store)
    segment = dataset.segments[SPHERE]
    lo = np.array([0.0, 0.0, 0.0])
    hi = np.array([13.0, 16.0, 12.0]) * RESOLUTION  # part of the sphere, in nm
    for lod in (0, 1, 2):
        store.range_calls.clear()
        frags = expected_fragments_in(segment, lod, lo, hi)
        got = source.get(SPHERE, lod=lod, bbox=Bbox(lo, hi))[SPHERE]
        assert_same_triangles(got, segment.triangles(lod, frags))
        sizes = segment.manifest.fragment_sizes(lod)
        assert sum(r.length for r in store.range_calls[-1]) == int(sizes[frags].sum())
        if lod == 0:
            assert 0 < len(frags) < segment.manifest.num_fragments_per_lod[0] - 1
    # a box as two corners; one outside every node gives an empty mesh, no reads
    store.range_calls.clear()
    far = source.get([SPHERE, BOX], bbox=[(-100, -100, -100), (-50, -50, -50)])
    assert all(mesh.empty() and mesh.segid == sid for sid, mesh in far.items())
    assert source.get(SPHERE, bbox=[(-100, -100, -100), (-50, -50, -50)], concat=False) == {
        SPHERE: []
    }


# --- damage -------------------------------------------------------------------------


def copy_dataset(ds: MultiresDataset, dest: Path) -> MultiresDataset:
    shutil.copytree(ds.root, dest)
    return MultiresDataset(dest, ds.mesh_dir, ds.info, ds.segments, ds.sharded)


def test_corrupt_manifest_names_segment_and_file(dataset: MultiresDataset, tmp_path: Path) -> None:
    ds = copy_dataset(dataset, tmp_path / "layer")
    if ds.sharded:
        manifest = source_for(ds).get_manifest(BOX)
        assert manifest is not None and manifest.path is not None
        shard = ds.root / manifest.path
        blob = bytearray(shard.read_bytes())
        # num_lods (bytes 24-28 of the manifest) no longer matches its length
        blob[manifest.shard_offset + 24 : manifest.shard_offset + 28] = np.uint32(1).tobytes()
        shard.write_bytes(bytes(blob))
        where = rf"{manifest.path} \(segment {BOX}\)"
    else:
        index = ds.root / "mesh" / f"{BOX}.index"
        index.write_bytes(index.read_bytes()[:-4])
        where = rf"mesh/{BOX}\.index"
    with pytest.raises(MeshDecodeError, match=rf"{where}: .*manifest of segment {BOX} is"):
        source_for(ds).get(BOX)


def test_corrupt_fragment_names_segment_and_file(dataset: MultiresDataset, tmp_path: Path) -> None:
    ds = copy_dataset(dataset, tmp_path / "layer")
    segment = ds.segments[BOX]
    start, _ = segment.manifest.lod_byte_range(1)
    if ds.sharded:
        shard = next(
            p for p in (ds.root / "mesh").glob("*.shard") if segment.data in p.read_bytes()
        )
        blob = bytearray(shard.read_bytes())
        at = bytes(blob).index(segment.data) + start
        blob[at : at + 16] = b"\xff" * 16
        shard.write_bytes(bytes(blob))
        name = shard.name
    else:
        path = ds.root / "mesh" / str(BOX)
        blob = bytearray(path.read_bytes())
        blob[start : start + 16] = b"\xff" * 16
        path.write_bytes(bytes(blob))
        name = f"mesh/{BOX}"
    source = source_for(ds)
    with pytest.raises(MeshDecodeError, match=rf"{name}.*fragment 0 of LOD 1 of segment {BOX}"):
        source.get(BOX, lod=1)
    assert len(source.get(BOX, lod=0)[BOX].faces)  # the other LOD is intact


def test_truncated_or_missing_fragment_data(tmp_path: Path) -> None:
    ds = write_multires_dataset(tmp_path / "layer")
    data = ds.root / "mesh" / str(BOX)
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(MeshDecodeError, match=rf"mesh/{BOX}: the fragment data of segment {BOX}"):
        source_for(ds).get(BOX, lod=1)
    data.unlink()
    with pytest.raises(
        MeshMissingError, match=rf"mesh/{BOX}: the fragment data of segment {BOX} is missing"
    ):
        source_for(ds).get([SPHERE, BOX])


def test_fragment_file_with_transport_compression_is_explained(tmp_path: Path) -> None:
    ds = write_multires_dataset(tmp_path / "layer")
    for segid in (BOX, BIG):
        data = ds.root / "mesh" / str(segid)
        data.with_name(f"{segid}.gz").write_bytes(gzip.compress(data.read_bytes()))
        data.unlink()
    for segid in (BOX, BIG):  # shorter than the manifest says, or not Draco
        with pytest.raises(MeshDecodeError, match=rf"segment {segid}.*transport compression"):
            source_for(ds).get(segid)


def test_truncated_shard_is_a_decode_error(tmp_path: Path) -> None:
    ds = write_multires_dataset(tmp_path / "layer", sharded=True)
    for shard in (ds.root / "mesh").glob("*.shard"):
        shard.write_bytes(shard.read_bytes()[:-30])
    with pytest.raises(MeshDecodeError, match=r"\.shard"):
        source_for(ds).get([SPHERE, BOX, BIG])


def test_manifest_claiming_more_data_than_precedes_it(tmp_path: Path) -> None:
    ds = write_multires_dataset(tmp_path / "layer", sharded=True)
    source = source_for(ds)
    manifest = source.get_manifest(BIG)
    assert isinstance(manifest, MultiLevelPrecomputedMeshManifest)
    assert manifest.path is not None
    shard = ds.root / manifest.path
    blob = bytearray(shard.read_bytes())
    # the last four bytes of the manifest are its only fragment's size
    size_at = manifest.shard_offset + len(manifest) - 4
    blob[size_at : size_at + 4] = np.uint32(10**6).tobytes()
    shard.write_bytes(bytes(blob))
    with pytest.raises(MeshDecodeError, match=rf"segment {BIG}.*promises 1000000 bytes"):
        source_for(ds).get(BIG)


def test_gzip_shard_data_encoding_is_refused(tmp_path: Path) -> None:
    ds = write_multires_dataset(tmp_path / "layer", sharded=True)
    info: Mapping[str, Any] = {
        **ds.info,
        "sharding": {**ds.info["sharding"], "data_encoding": "gzip"},
    }
    source = MultiresMeshSource(open_store(parse(ds.url)), "mesh", info)  # opens: fixable
    with pytest.raises(InvalidInfoError, match=r"mesh/info: info field 'sharding.data_encoding'"):
        source.get(min(ds.segments))


# --- HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("sharded", [False, True], ids=["unsharded", "sharded"])
def test_ranged_reads_over_http(
    http_server: Any, http_dir: tuple[Path, str], sharded: bool
) -> None:
    local, url_path = http_dir
    ds = write_multires_dataset(local / "layer", sharded=sharded)
    store = open_store(parse(f"{http_server.url}/{url_path}/layer"))
    source = MultiresMeshSource(store, "mesh", ds.info)
    meshes = source.get([SPHERE, BOX], lod=1)
    for segid, mesh in meshes.items():
        assert_same_triangles(mesh, ds.segments[segid].triangles(1))
    data_requests = [
        r for r in http_server.requests
        if r.path.endswith(".shard") or r.path.endswith((f"/{SPHERE}", f"/{BOX}"))
    ]  # fmt: skip
    assert data_requests and all(r.range for r in data_requests)
    assert all(r.status == 206 for r in data_requests)


def test_cloudvolume_module_path_and_extract_lod_meshes(dataset: MultiresDataset) -> None:
    from cloudvolume.datasource.precomputed.mesh import multilod as cv_multilod

    from cloudvol.datasource.precomputed.mesh import multilod

    segment = dataset.segments[SPHERE]
    assert multilod.MultiLevelPrecomputedMeshManifest is MultiLevelPrecomputedMeshManifest
    start, end = segment.manifest.lod_byte_range(1)
    transform = np.vstack([np.reshape(dataset.info["transform"], (3, 4)), [0, 0, 0, 1]])
    ours = multilod.extract_lod_meshes(segment.manifest, 1, segment.data[start:end], 10, transform)
    cv_manifest = cv_multilod.MultiLevelPrecomputedMeshManifest.from_binary(
        segment.manifest.to_binary(), SPHERE
    )
    theirs = cv_multilod.extract_lod_meshes(cv_manifest, 1, segment.data[start:end], 10, transform)
    assert len(ours[SPHERE]) == len(theirs[SPHERE]) == 8
    for a, b in zip(ours[SPHERE], theirs[SPHERE], strict=True):
        np.testing.assert_allclose(a.vertices, b.vertices, atol=ATOL_NM, rtol=0)
        assert np.array_equal(a.faces, b.faces.reshape(-1, 3))
