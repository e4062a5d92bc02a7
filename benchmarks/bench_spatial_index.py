"""Spatial index queries cost what the box reaches, not what the dataset holds.

Builds synthetic mesh spatial indexes (``*.spatial`` cells, as Igneous writes them)
of ``N^3`` cells for a large and a small ``N``, each cell listing a few segments
(some spanning into the next cell), then times ``SpatialIndex.query`` for cubic
boxes of 1, 2, 4, ... cells per side placed at random (not grid aligned, so the
box reaches one more cell per axis). With ``--sql`` it also times the same
queries through the SQLite mirror (inner cells from the database, boundary
cells from files). Prints, per dataset and box size: cells reached, ids found,
best time of ``--reps`` runs (after a warm-up) and time per cell reached. Run:

    uv run python benchmarks/bench_spatial_index.py [--cells 64] [--small 16]
        [--store mem|file] [--sql] [--reps 5] [--quick] [--json out.json]

Query time should follow the "cells read" column and be the same for both
dataset sizes at equal box size.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from cloudvol.lib import Bbox
from cloudvol.precomputed.spatial_index import CellGrid, encode_cell
from cloudvol.spatial_index.index import SpatialIndex
from cloudvol.storage import FileStore, MemoryStore, Store
from cloudvol.storage.memory import free_memory

CHUNK_NM = (512, 512, 400)
RESOLUTION = (8, 8, 40)


def build_cells(grid: CellGrid, per_cell: int, rng: np.random.Generator) -> dict[str, bytes]:
    """``per_cell`` segments per cell with boxes inside it, plus one segment per cell
    whose box runs on into the next cell along x (listed in both, clipped)."""
    nx = grid.shape[0]
    names = grid.all_filenames()
    mins, maxs = grid.cell_boxes((0, 0, 0), grid.shape)
    chunk = np.asarray(CHUNK_NM)
    cells: dict[str, dict[int, list[float]]] = {name: {} for name in names}
    next_id = 1
    for flat, name in enumerate(names):
        lo, hi = mins[flat], maxs[flat]
        starts = lo + rng.integers(0, chunk // 2, size=(per_cell, 3))
        stops = np.minimum(starts + rng.integers(1, chunk // 2, size=(per_cell, 3)), hi)
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            cells[name][next_id] = a + b
            next_id += 1
        # A segment crossing the +x face: its part here and its part next door.
        i = flat % nx
        if i + 1 < nx:
            y0, z0 = int(lo[1]) + 10, int(lo[2]) + 10
            x_face = int(hi[0])
            cells[name][next_id] = [x_face - 50, y0, z0, x_face, y0 + 60, z0 + 20]
            cells[names[flat + 1]][next_id] = [x_face, y0, z0, x_face + 70, y0 + 60, z0 + 20]
            next_id += 1
    return {name: encode_cell(content) for name, content in cells.items()}


def make_index(
    n: int, per_cell: int, store_kind: str, workdir: Path, rng: np.random.Generator
) -> tuple[SpatialIndex, int, float]:
    bounds = Bbox((0, 0, 0), [n * c for c in CHUNK_NM], dtype=np.int64, unit="nm")
    grid = CellGrid.create(bounds, CHUNK_NM, RESOLUTION)
    start = time.perf_counter()
    cells = build_cells(grid, per_cell, rng)
    store: Store
    if store_kind == "mem":
        store = MemoryStore("bench-spatial-" + uuid.uuid4().hex)
    else:
        root = workdir / f"index-{n}"
        root.mkdir()
        store = FileStore(str(root))
    store.put_many({f"mesh/{name}": data for name, data in cells.items()})
    built = time.perf_counter() - start
    return SpatialIndex(store, "mesh", bounds, RESOLUTION, CHUNK_NM), len(cells), built


def time_queries(
    index: SpatialIndex, sides: list[int], reps: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    n = index.grid.shape[0]
    chunk = np.asarray(CHUNK_NM, dtype=np.float64)
    rows = []
    for side in sides:
        if side >= n:
            continue
        # A random box of side x chunk nm, off the grid by a random fraction.
        corner = (rng.integers(0, n - side, size=3) + rng.uniform(0.1, 0.9, size=3)) * chunk
        box = Bbox(corner.tolist(), (corner + side * chunk).tolist(), dtype=np.float64)
        cells_read = len(index.index_file_paths_for_bbox(box))
        found = len(index.query(box))  # warm-up
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            index.query(box)
            best = min(best, time.perf_counter() - start)
        rows.append(
            {
                "side_cells": side,
                "cells_read": cells_read,
                "labels": found,
                "ms": best * 1e3,
                "us_per_cell": best * 1e6 / cells_read,
            }
        )
    return rows


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    print(title)
    print(f"  {'box (cells/side)':>16} {'cells reached':>13} {'ids':>7} {'ms':>9} {'us/cell':>8}")
    for r in rows:
        print(
            f"  {r['side_cells']:>16} {r['cells_read']:>13} {r['labels']:>7} "
            f"{r['ms']:>9.2f} {r['us_per_cell']:>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=64, help="large index: N^3 cells")
    parser.add_argument("--small", type=int, default=16, help="small index: N^3 cells")
    parser.add_argument("--per-cell", type=int, default=4, help="segments inside each cell")
    parser.add_argument("--store", choices=("mem", "file"), default="mem")
    parser.add_argument("--sql", action="store_true", help="also time the SQLite mirror")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="24^3 and 8^3 cells, 2 reps")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if args.quick:
        args.cells, args.small, args.reps = 24, 8, 2

    sides = [1, 2, 4, 8, 16, 32]
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {"store": args.store, "chunk_nm": CHUNK_NM, "datasets": []}
    with tempfile.TemporaryDirectory(prefix="bench-spatial-") as tmp:
        for n in (args.small, args.cells):
            index, count, built = make_index(n, args.per_cell, args.store, Path(tmp), rng)
            print(f"index {n}^3 = {count} cells ({args.store} store), built in {built:.1f} s")
            entry: dict[str, Any] = {
                "cells": count,
                "files": time_queries(index, sides, args.reps, rng),
            }
            print_rows(f" files, {n}^3 cells:", entry["files"])
            if args.sql:
                db = Path(tmp) / f"index-{n}.db"
                start = time.perf_counter()
                index.to_sql(str(db))
                entry["to_sql_s"] = time.perf_counter() - start
                index.sql_url = str(db)
                entry["sql"] = time_queries(index, sides, args.reps, rng)
                print(f" to_sql: {entry['to_sql_s']:.1f} s")
                print_rows(f" SQLite mirror, {n}^3 cells:", entry["sql"])
            results["datasets"].append(entry)
            if args.store == "mem":
                free_memory(index.store.url.removeprefix("mem://").split("/")[0])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
