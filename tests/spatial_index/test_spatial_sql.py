"""The SQL mirror: shared with CloudVolume both ways, index searches, URL handling."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cloudvol.exceptions import CloudVolError, SpatialIndexGapError, UnsupportedProtocolError
from cloudvol.lib import Bbox
from cloudvol.precomputed.spatial_index import CellGrid, write_cells
from cloudvol.spatial_index import sql
from cloudvol.spatial_index.index import SpatialIndex
from cloudvol.spatial_index.sql import IndexDatabase, mask_url, parse_db_url
from cloudvol.storage import MemoryStore

from . import RecordingFileStore, brute_force, build_layer, cv_box, oracle_index, random_boxes

BOUNDS_NM = Bbox((24, 0, 80), (2024, 1040, 920), unit="nm")
CHUNK = [512, 384, 200]
QUERIES = [
    [24, 0, 80, 600, 500, 400],
    [1000, 300, 300, 1100, 700, 310],
    [536, 384, 280, 1048, 768, 480],
    [24, 0, 80, 1560, 768, 920],
]


@pytest.fixture
def layer(tmp_path: Path) -> tuple[Path, dict[int, list[int]], SpatialIndex]:
    boxes = random_boxes(np.random.default_rng(9), BOUNDS_NM, 40, (500, 400, 300))
    store, grid, _ = build_layer(tmp_path / "layer", boxes)
    return tmp_path, boxes, SpatialIndex(store, "mesh", grid.bounds, [8, 8, 40], CHUNK)


def _sorted(locations: dict) -> dict[int, list[str]]:
    return {int(k): sorted(v) for k, v in locations.items()}


def test_cloudvolume_reads_a_database_cloudvol_wrote(layer: tuple) -> None:
    root, _, index = layer
    db = root / "ours.db"
    index.to_sql(f"sqlite://{db}")
    oracle = oracle_index(root / "layer", sql_db=f"sqlite://{db}")
    everything = cv_box(BOUNDS_NM.to_list())
    assert set(int(x) for x in oracle.query(everything)) == index.query(BOUNDS_NM)
    assert _sorted(oracle.file_locations_per_label()) == _sorted(index.file_locations_per_label())
    label = sorted(index.file_locations_per_label())[0]
    assert [int(v) for v in oracle.get_bbox(label).to_list()] == index.get_bbox(label).to_list()


def test_cloudvol_reads_a_database_cloudvolume_wrote(
    layer: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    root, boxes, index = layer
    db = root / "theirs.db"
    oracle_index(root / "layer").to_sql(f"sqlite://{db}")
    capsys.readouterr()  # CloudVolume prints thread start/stop lines
    with_db = SpatialIndex(index.store, "mesh", index.physical_bounds, [8, 8, 40], CHUNK)
    with_db.sql_url = f"sqlite://{db}"
    for q in [*QUERIES, BOUNDS_NM.to_list()]:
        assert with_db.query(q) == index.query(q) == brute_force(boxes, BOUNDS_NM, q)
    assert _sorted(with_db.file_locations_per_label()) == _sorted(index.file_locations_per_label())
    for label in list(boxes)[:5]:
        assert with_db.get_bbox(label) == index.get_bbox(label)


def _schema(path: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    norm = [
        (t, n, re.sub(r"\s+", " ", s).replace("( ", "(").replace(" )", ")")) for t, n, s in rows
    ]
    return set(norm)


def test_schema_is_cloudvolumes(layer: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    root, _, index = layer
    index.to_sql(str(root / "ours.db"))
    oracle_index(root / "layer").to_sql(f"sqlite://{root / 'theirs.db'}")
    capsys.readouterr()
    ours, theirs = _schema(root / "ours.db"), _schema(root / "theirs.db")
    assert ours == theirs
    assert {name for _, name, _ in ours} == {
        "index_files", "idxfname", "file_lookup", "pk_label_fid", "fname"
    }  # fmt: skip


def test_lookups_are_index_searches(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    db = IndexDatabase(str(tmp_path / "plan.db"))
    cells = [
        (f"cell{i}.spatial", rng.integers(1, 50_000, 10).astype(np.uint64)) for i in range(512)
    ]
    db.write(cells)
    with sqlite3.connect(tmp_path / "plan.db") as conn:
        for template in (sql.SQL_LABELS_IN_FILES, sql.SQL_FILES_FOR_LABELS):
            statement = "EXPLAIN QUERY PLAN " + template.format(marks="?,?,?")
            plan = [row[3] for row in conn.execute(statement, ["a", "b", "c"]).fetchall()]
            tables = [step for step in plan if "file_lookup" in step or "index_files" in step]
            assert len(tables) == 2, plan
            assert all(step.startswith("SEARCH") for step in tables), plan


def test_database_answers_inner_cells_and_files_the_rest(layer: tuple) -> None:
    root, boxes, index = layer
    index.to_sql(str(root / "ours.db"))
    store = RecordingFileStore(str(root / "layer"))
    with_db = SpatialIndex(
        store, "mesh", index.physical_bounds, [8, 8, 40], CHUNK, sql_url=str(root / "ours.db")
    )
    aligned = [24, 0, 80, 1560, 384, 280]  # cells x 0-2, y 0, z 0 exactly
    assert with_db.query(aligned) == brute_force(boxes, BOUNDS_NM, aligned)
    assert store.requests == []
    partial = [24, 0, 80, 1300, 384, 280]  # x cell 2 only partly covered
    assert with_db.query(partial) == brute_force(boxes, BOUNDS_NM, partial)
    assert store.requests == [["mesh/1048-1560_0-384_80-280.spatial"]]
    store.requests.clear()
    assert with_db.query(BOUNDS_NM) == index.query(BOUNDS_NM)
    assert store.requests == []


def test_segment_ids_above_2_63_survive_sqlite(tmp_path: Path) -> None:
    bounds = Bbox((0, 0, 0), (20, 20, 20), unit="nm")
    grid = CellGrid.create(bounds, [10, 10, 10], [1, 1, 1])
    big = {2**64 - 1: [1, 1, 1, 15, 2, 2], 2**63: [12, 12, 12, 13, 13, 13], 5: [0, 0, 0, 1, 1, 1]}
    store = MemoryStore("spatial-big-ids", "layer")
    store.put_many({f"mesh/{k}": v for k, v in write_cells(grid, big).items()})
    index = SpatialIndex(store, "mesh", bounds, [1, 1, 1], [10, 10, 10])
    index.to_sql(str(tmp_path / "big.db"))
    with sqlite3.connect(tmp_path / "big.db") as conn:
        stored = {row[0] for row in conn.execute("SELECT label FROM file_lookup")}
    assert stored == {-1, -(2**63), 5}  # two's complement in SQLite's signed integers
    index.sql_url = str(tmp_path / "big.db")
    assert index.query(bounds) == set(big)
    assert index.query([0, 0, 0, 10, 10, 10]) == {2**64 - 1, 5}
    assert _sorted(index.file_locations_per_label([2**64 - 1, 2**63])) == {
        2**63: ["10-20_10-20_10-20.spatial"],
        2**64 - 1: ["0-10_0-10_0-10.spatial", "10-20_0-10_0-10.spatial"],
    }
    assert index.get_bbox(2**64 - 1) == Bbox((1, 1, 1), (15, 2, 2), dtype=np.int64, unit="nm")


def test_to_sql_stops_at_a_gap_unless_allowed(layer: tuple) -> None:
    root, _, index = layer
    next((root / "layer" / "mesh").glob("*.spatial*")).unlink()
    with pytest.raises(SpatialIndexGapError):
        index.to_sql(str(root / "gap.db"))
    index.to_sql(str(root / "gap.db"), allow_missing=True)
    index.sql_url = str(root / "gap.db")
    assert index.file_locations_per_label()
    with pytest.raises(ValueError, match="to_sql needs"):
        SpatialIndex(index.store, "mesh", BOUNDS_NM, [8, 8, 40], CHUNK).to_sql()


def test_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    index = SpatialIndex(MemoryStore("spatial-absent"), "mesh", BOUNDS_NM, [8, 8, 40], CHUNK)
    index.sql_url = f"sqlite://{path}"
    with pytest.raises(CloudVolError, match=r"absent\.db does not exist"):
        index.query([24, 0, 80, 600, 500, 400])
    assert not path.exists()
    (tmp_path / "empty.db").write_bytes(b"")
    index.sql_url = str(tmp_path / "empty.db")
    with pytest.raises(CloudVolError, match="no such table"):
        index.file_locations_per_label()


# --- URLs and credentials -------------------------------------------------------------------


def test_sqlite_url_forms() -> None:
    assert parse_db_url("sqlite:///abs/x.db") == sql.DatabaseURL("sqlite", "/abs/x.db")
    assert parse_db_url("sqlite://rel.db").path == "rel.db"
    assert parse_db_url("/abs/y.db").path == "/abs/y.db"
    assert parse_db_url("z.db").scheme == "sqlite"


def test_mysql_url_parts_and_masking() -> None:
    url = parse_db_url("mysql://alice:s3cr%40t@db.example:3307/meshes")
    assert (url.username, url.password, url.hostname, url.port, url.path) == (
        "alice", "s3cr@t", "db.example", 3307, "meshes"
    )  # fmt: skip
    for text in (str(url), repr(url), url.masked()):
        assert "s3cr" not in text
        assert "alice:***@db.example:3307/meshes" in text
    assert parse_db_url("mysql://bob:pw@host").path == "spatial_index"
    assert parse_db_url("mysql://host/db").username is None


@pytest.mark.parametrize(
    "url",
    [
        "mysql://alice:hunter2@db.example/si",
        "mysql://alice:hun/ter2@db.example/si",  # unescaped "/" in the password
        "mysql://alice:hunter@2@db.example:3306/si",  # unescaped "@"
    ],
)
def test_mask_url_hides_the_whole_password(url: str) -> None:
    masked = mask_url(url)
    assert "hunter" not in masked and "ter2" not in masked
    assert masked.startswith("mysql://alice:***@db.example")


def test_unsupported_scheme_names_it_and_masks(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedProtocolError) as info:
        parse_db_url("postgres://carol:topsecret@pg.example/si")
    assert "postgres://" in str(info.value) and "topsecret" not in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match="bad port") as bad:
        parse_db_url("mysql://carol:topsecret@pg.example:abc/si")
    assert "topsecret" not in str(bad.value)


_HAS_MYSQL_DRIVER = any(importlib.util.find_spec(name) is not None for name in ("mysql", "pymysql"))


@pytest.mark.skipif(_HAS_MYSQL_DRIVER, reason="a MySQL driver is installed")
def test_mysql_without_driver_says_what_to_install_on_first_use() -> None:
    index = SpatialIndex(
        MemoryStore("spatial-mysql"),
        "mesh",
        BOUNDS_NM,
        [8, 8, 40],
        CHUNK,
        sql_url="mysql://alice:hunter2@db.example/si",
    )  # opening needs no driver: meshes can be read without the database
    with pytest.raises(ImportError, match="mysql-connector-python") as info:
        index.query(BOUNDS_NM)
    assert "hunter2" not in str(info.value)


def test_query_string_options_never_reach_the_database_name_or_messages() -> None:
    url = parse_db_url("mysql://alice@db.example/si?password=hunter2")
    assert url.path == "si"
    assert "hunter2" not in url.masked() and "hunter2" not in repr(url)


def test_labels_at_or_above_2_63_survive_either_driver_representation() -> None:
    big = 2**63 + 1
    unsigned = IndexDatabase._labels_array([5, big])  # MySQL BIGINT UNSIGNED
    signed = IndexDatabase._labels_array([5, big - 2**64])  # SQLite two's complement
    assert unsigned.tolist() == signed.tolist() == [5, big]
    assert unsigned.dtype == np.uint64


def test_failed_rebuild_keeps_the_previous_database(tmp_path: Path) -> None:
    boxes = random_boxes(np.random.default_rng(3), BOUNDS_NM, 30, (500, 400, 300))
    store, grid, _ = build_layer(tmp_path / "layer", boxes)
    index = SpatialIndex(store, "mesh", grid.bounds, [8, 8, 40], CHUNK)
    db = tmp_path / "index.db"
    index.to_sql(str(db))
    index.sql_url = str(db)
    before = index.query(BOUNDS_NM)
    assert before
    next((tmp_path / "layer" / "mesh").glob("*.spatial*")).unlink()
    with pytest.raises(SpatialIndexGapError):
        index.to_sql(str(db))
    assert index.query(BOUNDS_NM) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("index.db")] == ["index.db"]


def test_mysql_credentials_come_from_the_secret_file(isolated_env: Path) -> None:
    secrets = isolated_env / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "db.example-mysql-secret.json").write_text(
        json.dumps({"username": "svc", "password": "from-file"})
    )
    assert sql._mysql_credentials(parse_db_url("mysql://db.example/si")) == ("svc", "from-file")
    assert sql._mysql_credentials(parse_db_url("mysql://me:mine@db.example/si")) == ("me", "mine")
    assert sql._mysql_credentials(parse_db_url("mysql://other.example/si")) == (None, None)


def test_spatial_index_repr_names_the_database(tmp_path: Path) -> None:
    index = SpatialIndex(MemoryStore("spatial-repr"), "mesh", BOUNDS_NM, [8, 8, 40], CHUNK)
    index.to_sql(str(tmp_path / "r.db"), allow_missing=True)
    index.sql_url = f"sqlite://{tmp_path / 'r.db'}"
    assert f"sqlite://{tmp_path / 'r.db'}" in repr(index)
    db = IndexDatabase(parse_db_url(f"sqlite://{tmp_path / 'r.db'}"))
    assert "r.db" in repr(db)
