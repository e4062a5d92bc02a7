"""Cell names, the cell grid and cell JSON (cloudvol.precomputed.spatial_index)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from cloudvol.exceptions import DecodingError
from cloudvol.lib import Bbox
from cloudvol.precomputed.spatial_index import (
    CellGrid,
    cell_filename,
    encode_cell,
    parse_cell,
    precision_of,
    write_cells,
)


def _oracle_names(bounds_vx: list[int], chunk_size: list, resolution: list) -> list[str]:
    from cloudvolume.datasource.precomputed.spatial_index import SpatialIndex as CVIndex
    from cloudvolume.lib import Bbox as CVBbox

    config = SimpleNamespace(spatial_index_db=None, progress=False)
    index = CVIndex(
        "file:///nonexistent",
        CVBbox(bounds_vx[:3], bounds_vx[3:]),
        chunk_size,
        config=config,
        resolution=resolution,
    )
    return list(index.index_file_paths_for_bbox(index.physical_bounds))


@pytest.mark.parametrize(
    ("bounds_vx", "chunk_size", "resolution"),
    [
        ([1, 0, 0, 100, 50, 7], [128, 64, 80], [4, 4, 40]),  # integers
        ([1, 0, 0, 100, 50, 7], [100.5, 64.0, 80.0], [4.5, 4.5, 40.0]),  # fractional
        ([0, 3, 1, 90, 40, 9], [256.0, 128.0, 120.0], [8.0, 8.0, 40.0]),  # "8.0" -> 1 decimal
        ([1, 0, 0, 100, 50, 7], [128.0, 64.0, 80.0], [4, 4, 40]),  # float chunks
        ([-7, 2, 5, 33, 20, 12], [10, 10, 30], [3, 3, 30]),  # negative offset
    ],
)
def test_cell_names_match_cloudvolume(bounds_vx: list, chunk_size: list, resolution: list) -> None:
    precision = precision_of(resolution)
    res = np.asarray(resolution, dtype=np.float64 if precision else np.int64)
    lo = np.asarray(bounds_vx[:3]) * res
    hi = np.asarray(bounds_vx[3:]) * res
    grid = CellGrid.create(Bbox(lo.tolist(), hi.tolist(), dtype=lo.dtype), chunk_size, resolution)
    assert grid.all_filenames() == _oracle_names(bounds_vx, chunk_size, resolution)


def _has_empty_axis(name: str) -> bool:
    spans = name.removesuffix(".spatial").split("_")
    return any(lo == hi for lo, hi in (span.split("-") for span in spans))


def test_non_representable_chunks_give_no_zero_width_cells() -> None:
    """CloudVolume steps by repeated float addition, so 10 x 6.6 stays below 66.0 and
    it lists extra "66.0-66.0" cells nobody writes (it then reports a gap). cloudvol
    lists the same cells without those."""
    bounds_vx, chunk_size, resolution = [0, 0, 0, 33, 20, 11], [7.7, 6.6, 33.3], [3.3, 3.3, 33.3]
    hi = (np.asarray(bounds_vx[3:]) * np.asarray(resolution)).tolist()
    grid = CellGrid.create(Bbox((0.0, 0.0, 0.0), hi, dtype=np.float64), chunk_size, resolution)
    oracle = _oracle_names(bounds_vx, chunk_size, resolution)
    assert "0.0-7.7_66.0-66.0_0.0-33.3.spatial" in oracle
    assert grid.all_filenames() == [n for n in oracle if not _has_empty_axis(n)]
    assert grid.shape == (15, 10, 11)


def test_precision_follows_str_of_resolution() -> None:
    assert precision_of([4, 4, 40]) == 0
    assert precision_of([4.0, 4, 40]) == 1
    assert precision_of([4.25, 4.5, 40]) == 2
    assert precision_of(np.asarray([4.1, 4, 40], dtype=np.float32)) == 1


def test_cell_filename_of_a_box() -> None:
    assert cell_filename(Bbox((0, 64, -8), (64, 128, 0))) == "0-64_64-128_-8-0.spatial"
    box = Bbox((4.5, 0, 0), (105.0, 64, 80), dtype=np.float64)
    assert cell_filename(box, 1) == "4.5-105.0_0.0-64.0_0.0-80.0.spatial"


def test_grid_clips_last_cell_and_orders_x_fastest() -> None:
    grid = CellGrid.create(Bbox((10, 0, 0), (30, 15, 5)), [8, 10, 5], [1, 1, 1])
    assert grid.shape == (3, 2, 1)
    assert grid.all_filenames() == [
        "10-18_0-10_0-5.spatial",
        "18-26_0-10_0-5.spatial",
        "26-30_0-10_0-5.spatial",
        "10-18_10-15_0-5.spatial",
        "18-26_10-15_0-5.spatial",
        "26-30_10-15_0-5.spatial",
    ]
    mins, maxs = grid.cell_boxes((0, 0, 0), grid.shape)
    assert mins[2].tolist() == [26, 0, 0] and maxs[2].tolist() == [30, 10, 5]
    assert maxs[5].tolist() == [30, 15, 5]


def test_cell_range_stops_at_grid_lines_and_bounds() -> None:
    grid = CellGrid.create(Bbox((0, 0, 0), (100, 100, 100)), [10, 10, 10], [1, 1, 1])
    lo, hi = grid.cell_range(Bbox((10, 0, 0), (20, 10, 10)))  # type: ignore[misc]
    assert lo.tolist() == [1, 0, 0] and hi.tolist() == [2, 1, 1]
    lo, hi = grid.cell_range(Bbox((-50, 95, 5), (15, 500, 6)))  # type: ignore[misc]
    assert lo.tolist() == [0, 9, 0] and hi.tolist() == [2, 10, 1]
    assert grid.cell_range(Bbox((200, 0, 0), (300, 10, 10))) is None
    lo, hi = grid.cell_range(Bbox((5, 5, 5), (5, 10, 10)))  # type: ignore[misc]  # an x plane
    assert lo.tolist() == [0, 0, 0] and hi.tolist() == [1, 1, 1]
    lo, hi = grid.cell_range(Bbox((100, 0, 0), (100, 10, 10)))  # type: ignore[misc]  # far face
    assert lo.tolist() == [9, 0, 0] and hi.tolist() == [10, 1, 1]


def test_parse_cell_reads_boxes_and_sorts_corners() -> None:
    cell = parse_cell(
        b'{"7": [0, 1, 2, 3, 4, 5], "18446744073709551615": [9, 8, 7, 1, 2, 3.5]}', "c"
    )
    assert cell.labels.tolist() == [7, 2**64 - 1]
    assert cell.labels.dtype == np.uint64
    assert cell.boxes.tolist() == [[0, 1, 2, 3, 4, 5], [1, 2, 3.5, 9, 8, 7]]
    empty = parse_cell(b"{}", "c")
    assert len(empty) == 0 and empty.boxes.shape == (0, 6)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"12": [1, 2, 3]}', "segid 12"),
        (b'{"12": [1, 2, 3, 4, 5, "6"]}', "segid 12"),
        (b'{"12": [1, 2, 3, 4, 5, 6], "13": [[1, 2, 3], [4, 5, 6]]}', "segid 13"),
        (b'{"12": [1, 2, 3, 4, 5, true]}', "segid 12"),
        (b'{"12": {"a": 1}}', "segid 12"),
        (b'{"abc": [1, 2, 3, 4, 5, 6]}', "'abc'"),
        (b'{"-4": [1, 2, 3, 4, 5, 6]}', "'-4'"),
        (b'{"18446744073709551616": [1, 2, 3, 4, 5, 6]}', "18446744073709551616"),
        (b'{"5": [1, 2, 3, NaN, 5, 6]}', "segid 5"),
    ],
)
def test_malformed_cell_names_the_file(payload: bytes, fragment: str) -> None:
    name = "mesh/0-512_0-512_0-400.spatial"
    with pytest.raises(DecodingError) as info:
        parse_cell(payload, name)
    assert name in str(info.value)
    assert fragment in str(info.value)


def test_encode_cell_round_trips_and_writes_whole_numbers_as_ints() -> None:
    data = encode_cell({5: [0.0, 1, 2, 3.5, 4, 5], 2**64 - 1: Bbox((0, 0, 0), (1, 1, 1))})
    assert json.loads(data) == {"5": [0, 1, 2, 3.5, 4, 5], str(2**64 - 1): [0, 0, 0, 1, 1, 1]}
    assert b"0.0" not in data
    cell = parse_cell(data, "x")
    assert sorted(cell.labels.tolist()) == [5, 2**64 - 1]


def test_write_cells_clips_each_part_to_its_cell() -> None:
    grid = CellGrid.create(Bbox((0, 0, 0), (20, 10, 10)), [10, 10, 10], [1, 1, 1])
    cells = write_cells(
        grid, {1: [5, 2, 2, 15, 8, 8], 2: [30, 0, 0, 40, 5, 5], 3: [10, 5, 5, 10, 5, 5]}
    )
    assert set(cells) == {"0-10_0-10_0-10.spatial", "10-20_0-10_0-10.spatial"}
    left = json.loads(cells["0-10_0-10_0-10.spatial"])
    right = json.loads(cells["10-20_0-10_0-10.spatial"])
    assert left == {"1": [5, 2, 2, 10, 8, 8]}
    # id 2 is outside the bounds; the flat box of id 3 on the grid line goes right.
    assert right == {"1": [10, 2, 2, 15, 8, 8], "3": [10, 5, 5, 10, 5, 5]}
    sparse = write_cells(grid, {1: [1, 1, 1, 2, 2, 2]}, include_empty=False)
    assert list(sparse) == ["0-10_0-10_0-10.spatial"]
