"""SpatialIndex queries over cell files, against CloudVolume and brute force."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import DecodingError, SpatialIndexGapError
from cloudvol.lib import Bbox
from cloudvol.precomputed.spatial_index import CellGrid, write_cells
from cloudvol.spatial_index.index import SpatialIndex
from cloudvol.storage import MemoryStore

from . import RecordingFileStore, brute_force, build_layer, cv_box, oracle_index, random_boxes

BOUNDS_NM = Bbox((24, 0, 80), (2024, 1040, 920), unit="nm")  # (3,0,2)+(250,130,21) x (8,8,40)


@pytest.fixture
def layer(tmp_path: Path) -> tuple[Path, dict[int, list[int]], SpatialIndex]:
    rng = np.random.default_rng(6)
    boxes = random_boxes(rng, BOUNDS_NM, 40, (500, 400, 300))
    store, grid, _ = build_layer(tmp_path, boxes)
    index = SpatialIndex(store, "mesh", grid.bounds, [8, 8, 40], [512, 384, 200])
    return tmp_path, boxes, index


QUERIES = [
    [24, 0, 80, 600, 500, 400],
    [1000, 300, 300, 1100, 700, 310],
    [0, 0, 0, 3000, 3000, 3000],  # everything
    [536, 384, 280, 1048, 768, 480],  # exactly one cell
    [100, 100, 100, 101, 101, 101],
    [1900, 1000, 900, 5000, 5000, 5000],  # pokes out of bounds
]


def test_query_matches_cloudvolume_and_brute_force(layer: tuple) -> None:
    root, boxes, index = layer
    oracle = oracle_index(root)
    for q in QUERIES:
        expected = brute_force(boxes, BOUNDS_NM, q)
        got = index.query(Bbox(q[:3], q[3:], unit="nm"))
        assert got == expected, q
        assert got == set(int(x) for x in oracle.query(cv_box(q))), q
        assert index.query(q) == expected  # six numbers work too


def test_query_is_exact_where_cloudvolume_takes_its_fast_path(layer: tuple) -> None:
    """A box whose grid-expanded form covers the bounds makes CloudVolume return every
    id without testing boxes; cloudvol still tests them."""
    root, boxes, index = layer
    q = [30, 5, 85, 2020, 1035, 915]
    expected = brute_force(boxes, BOUNDS_NM, q)
    assert index.query(q) == expected
    assert expected <= set(int(x) for x in oracle_index(root).query(cv_box(q)))


def test_index_file_paths_match_cloudvolume(layer: tuple) -> None:
    root, _, index = layer
    oracle = oracle_index(root)
    for q in QUERIES[:2] + QUERIES[3:5]:
        expected = list(oracle.index_file_paths_for_bbox(cv_box(q)))
        assert index.index_file_paths_for_bbox(Bbox(q[:3], q[3:])) == expected
    assert index.index_file_paths_for_bbox([0, 0, 0, 5, 5, 5]) == []  # outside the bounds


def test_file_locations_and_bboxes_match_cloudvolume(layer: tuple) -> None:
    root, boxes, index = layer
    oracle = oracle_index(root)
    ours = index.file_locations_per_label()
    theirs = oracle.file_locations_per_label()
    assert {k: sorted(v) for k, v in ours.items()} == {int(k): sorted(v) for k, v in theirs.items()}
    some = sorted(boxes)[:5]
    subset = index.file_locations_per_label(some)
    assert set(subset) == {k for k in some if k in ours}
    assert index.file_locations_per_label(some[0]) == {some[0]: ours[some[0]]}
    for label in some[:2]:  # each CloudVolume get_bbox scans the whole index
        theirs_box = oracle.get_bbox(label)
        got = index.get_bbox(label)
        assert got is not None and got.to_list() == [int(v) for v in theirs_box.to_list()]
    assert index.get_bbox(123) is None and oracle.get_bbox(123) is None


def test_get_bbox_is_the_box_cut_to_the_bounds(layer: tuple) -> None:
    _, boxes, index = layer
    blo, bhi = np.asarray(BOUNDS_NM.minpt), np.asarray(BOUNDS_NM.maxpt)
    for label, box in boxes.items():
        b = np.asarray(box)
        lo, hi = np.maximum(b[:3], blo), np.minimum(b[3:], bhi)
        got = index.get_bbox(label)
        if np.any(lo > hi) or np.any(lo >= bhi):
            assert got is None
        else:
            assert got == Bbox(lo.tolist(), hi.tolist(), dtype=np.int64, unit="nm")


def test_query_reads_only_the_cells_it_reaches(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    boxes = random_boxes(rng, BOUNDS_NM, 20, (300, 300, 300))
    _, grid, _ = build_layer(tmp_path, boxes)
    store = RecordingFileStore(str(tmp_path))
    index = SpatialIndex(store, "mesh", grid.bounds, [8, 8, 40], [512, 384, 200])
    q = Bbox((600, 10, 100), (1100, 300, 200), unit="nm")  # x cells 1-2, y 0, z 0
    index.query(q)
    assert store.requests == [
        ["mesh/536-1048_0-384_80-280.spatial", "mesh/1048-1560_0-384_80-280.spatial"]
    ]
    store.requests.clear()
    assert index.query([0, 0, 0, 10, 10, 10]) == set()  # outside the bounds
    assert store.requests == []


def test_gzipped_and_plain_cells_read_alike(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    boxes = random_boxes(rng, BOUNDS_NM, 30, (600, 600, 400))
    store_a, grid, _ = build_layer(tmp_path / "a", boxes, gzip_every=1)  # all gzip
    store_b, _, _ = build_layer(tmp_path / "b", boxes, gzip_every=0)  # none
    assert list((tmp_path / "a" / "mesh").glob("*.spatial")) == []
    assert list((tmp_path / "b" / "mesh").glob("*.spatial.gz")) == []
    a = SpatialIndex(store_a, "mesh", grid.bounds, [8, 8, 40], [512, 384, 200])
    b = SpatialIndex(store_b, "mesh", grid.bounds, [8, 8, 40], [512, 384, 200])
    for q in QUERIES:
        assert a.query(q) == b.query(q) == brute_force(boxes, BOUNDS_NM, q)


def test_missing_cell_is_a_gap_unless_allowed(layer: tuple) -> None:
    root, boxes, index = layer
    victim = "1048-1560_384-768_280-480.spatial"
    for path in (root / "mesh").glob(victim + "*"):
        path.unlink()
    q = [1100, 400, 300, 1200, 500, 400]
    with pytest.raises(SpatialIndexGapError, match=victim):
        index.query(q)
    from cloudvolume.exceptions import SpatialIndexGapError as CVGap

    with pytest.raises(CVGap):
        oracle_index(root).query(cv_box(q))
    assert index.query(q, allow_missing=True) == set()
    with pytest.raises(SpatialIndexGapError):
        index.file_locations_per_label()
    assert index.file_locations_per_label(allow_missing=True)
    wide = [24, 0, 80, 2024, 1040, 920]
    assert index.query(wide, allow_missing=True) < brute_force(boxes, BOUNDS_NM, wide) | {0}


def test_malformed_cell_raises_naming_the_file(layer: tuple) -> None:
    root, _, index = layer
    name = "536-1048_0-384_80-280.spatial"
    for path in (root / "mesh").glob(name + "*"):
        path.unlink()
    (root / "mesh" / name).write_text('{"12": [1, 2, 3]}')
    with pytest.raises(DecodingError, match=f"mesh/{name}.*segid 12"):
        index.query([600, 10, 100, 700, 20, 110])


def test_from_info_uses_voxel_bounds_times_resolution(tmp_path: Path) -> None:
    store = MemoryStore("spatial-" + uuid.uuid4().hex)
    index = SpatialIndex.from_info(
        store,
        "skeletons",
        {"chunk_size": [45, 45, 80]},
        Bbox((1, 0, 0), (21, 10, 4)),
        [4.5, 4.5, 40],
    )
    assert index.physical_bounds == Bbox((4.5, 0, 0), (94.5, 45, 160), unit="nm")
    assert index.precision == 1
    assert index.index_file_paths_for_bbox([0, 0, 0, 10, 10, 10]) == [
        "4.5-49.5_0.0-45.0_0.0-80.0.spatial"
    ]


# --- brute force over random indexes ----------------------------------------------------

coords = st.integers(-30, 60)


@st.composite
def index_cases(draw: st.DrawFn) -> tuple:
    origin = [draw(st.integers(-20, 20)) for _ in range(3)]
    extent = [draw(st.integers(1, 40)) for _ in range(3)]
    # At most 6 cells per axis keeps each example fast; partial last cells included.
    chunk = [draw(st.integers(max(1, -(-e // 6)), e + 3)) for e in extent]
    labels = draw(st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=12))
    boxes = {}
    for label in labels:
        a = [draw(coords) for _ in range(3)]
        b = [v + draw(st.integers(0, 25)) for v in a]
        boxes[label] = a + b
    queries = []
    for _ in range(4):
        a = [draw(coords) for _ in range(3)]
        b = [v + draw(st.integers(0, 50)) for v in a]
        queries.append(a + b)
    return origin, extent, chunk, boxes, queries


@settings(max_examples=60, deadline=None)
@given(case=index_cases())
def test_query_equals_brute_force(case: tuple, tmp_path_factory: pytest.TempPathFactory) -> None:
    origin, extent, chunk, boxes, queries = case
    bounds = Bbox(origin, [o + e for o, e in zip(origin, extent, strict=True)], unit="nm")
    grid = CellGrid.create(bounds, chunk, [1, 1, 1])
    store = MemoryStore("spatial-" + uuid.uuid4().hex, "layer")
    store.put_many({f"mesh/{k}": v for k, v in write_cells(grid, boxes).items()})
    index = SpatialIndex(store, "mesh", bounds, [1, 1, 1], chunk)
    db = tmp_path_factory.mktemp("db") / "index.db"
    index.to_sql(str(db))
    with_db = SpatialIndex(store, "mesh", bounds, [1, 1, 1], chunk, sql_url=f"sqlite://{db}")
    for q in [*queries, bounds.to_list()]:
        expected = brute_force(boxes, bounds, q)
        assert index.query(q) == expected, q
        assert with_db.query(q) == expected, q
    locations = index.file_locations_per_label()
    assert with_db.file_locations_per_label() == locations
    for label in list(boxes)[:3]:
        assert with_db.get_bbox(label) == index.get_bbox(label)


def test_flat_query_box_selects_what_crosses_the_plane(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    boxes = random_boxes(rng, BOUNDS_NM, 60, (500, 400, 300))
    store, grid, _ = build_layer(tmp_path, boxes)
    index = SpatialIndex(store, "mesh", grid.bounds, [8, 8, 40], [512, 384, 200])
    z = 410  # inside a cell, not on a grid line
    plane = Bbox((24, 0, z), (2024, 1040, z), dtype=np.float64, unit="nm")
    got = index.query(plane)
    crossing = {s for s, b in boxes.items() if b[2] < z < b[5] and b[0] < 2024 and b[3] > 24}
    assert got and crossing <= got
    theirs = oracle_index(tmp_path).query(cv_box([24, 0, z, 2024, 1040, z]))
    assert got == {int(x) for x in theirs}
