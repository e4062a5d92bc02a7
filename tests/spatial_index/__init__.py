"""Tests of the mesh/skeleton spatial index; shared builders live here.

``build_layer`` writes a small segmentation layer whose ``mesh`` directory holds a
spatial index made with cloudvol's format helpers, so both cloudvol and the
CloudVolume oracle can open it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cloudvol.lib import Bbox
from cloudvol.precomputed.spatial_index import CellGrid, write_cells
from cloudvol.spatial_index.index import SpatialIndex
from cloudvol.storage import FileStore, PutOptions


class RecordingFileStore(FileStore):
    """A FileStore that remembers the keys of every batched read."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.requests: list[list[str]] = []

    def get_iter(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        keys = list(keys)
        self.requests.append(keys)
        yield from super().get_iter(keys)


def random_boxes(
    rng: np.random.Generator, bounds_nm: Bbox, count: int, max_size: Iterable[int]
) -> dict[int, list[int]]:
    """``count`` integer boxes (nm) with random 40-bit ids, some poking out of bounds."""
    lo = np.asarray(bounds_nm.minpt, dtype=np.int64)
    hi = np.asarray(bounds_nm.maxpt, dtype=np.int64)
    size = np.asarray(list(max_size), dtype=np.int64)
    boxes: dict[int, list[int]] = {}
    while len(boxes) < count:
        start = rng.integers(lo - size // 4, hi)
        stop = start + rng.integers(0, size + 1)
        boxes[int(rng.integers(1, 2**40))] = [*start.tolist(), *stop.tolist()]
    return boxes


def build_layer(
    root: Path,
    boxes: Mapping[int, list[int] | list[float]],
    *,
    voxel_offset: tuple[int, int, int] = (3, 0, 2),
    size: tuple[int, int, int] = (250, 130, 21),
    resolution: list[Any] | tuple[Any, ...] = (8, 8, 40),
    chunk_size: list[Any] | tuple[Any, ...] = (512, 384, 200),
    gzip_every: int = 2,
) -> tuple[FileStore, CellGrid, dict[str, bytes]]:
    """Write ``info``, ``mesh/info`` and every cell (every ``gzip_every``-th one as
    ``.spatial.gz``; 0: none) under ``root``. Returns the store, the grid and the cells."""
    res = list(resolution)
    info = {
        "type": "segmentation",
        "data_type": "uint64",
        "num_channels": 1,
        "mesh": "mesh",
        "scales": [
            {
                "key": "s0",
                "size": list(size),
                "resolution": res,
                "voxel_offset": list(voxel_offset),
                "chunk_sizes": [[64, 64, 16]],
                "encoding": "raw",
            }
        ],
    }
    (root / "mesh").mkdir(parents=True, exist_ok=True)
    (root / "info").write_text(json.dumps(info))
    mesh_info: dict[str, Any] = {
        "@type": "neuroglancer_legacy_mesh",
        "spatial_index": {"resolution": res, "chunk_size": list(chunk_size)},
    }
    (root / "mesh" / "info").write_text(json.dumps(mesh_info))
    store = FileStore(str(root))
    index = SpatialIndex.from_info(
        store, "mesh", mesh_info["spatial_index"], voxel_bounds(voxel_offset, size), res
    )
    cells = write_cells(index.grid, boxes)
    names = sorted(cells)
    packed_names = {n for i, n in enumerate(names) if gzip_every and i % gzip_every == 0}
    plain = {f"mesh/{n}": cells[n] for n in names if n not in packed_names}
    packed = {f"mesh/{n}": cells[n] for n in names if n in packed_names}
    store.put_many(plain)
    store.put_many(packed, PutOptions(compress="gzip"))
    return store, index.grid, cells


def voxel_bounds(offset: Iterable[int], size: Iterable[int]) -> Bbox:
    """The layer bounds in voxels."""
    lo = list(offset)
    return Bbox(lo, [a + b for a, b in zip(lo, size, strict=True)])


def oracle_index(root: Path, sql_db: str | None = None) -> Any:
    """CloudVolume's spatial index of the layer at ``root`` (its plain SpatialIndex
    cannot fetch with current cloud-files; the one CloudVolume builds can)."""
    from cloudvolume import CloudVolume

    vol = CloudVolume("file://" + str(root), spatial_index_db=sql_db, progress=False)
    return vol.mesh.spatial_index


def brute_force(boxes: Mapping[int, Any], bounds_nm: Bbox, query: Any) -> set[int]:
    """Ids whose box, cut to the bounds, overlaps the query cut to the bounds (an
    empty cut query selects nothing)."""
    blo = np.asarray(bounds_nm.minpt, dtype=np.float64)
    bhi = np.asarray(bounds_nm.maxpt, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    qlo, qhi = np.maximum(q[:3], blo), np.minimum(q[3:], bhi)
    if np.any(qhi <= qlo):
        return set()
    out = set()
    for label, box in boxes.items():
        b = np.asarray(box, dtype=np.float64)
        lo = np.maximum(np.minimum(b[:3], b[3:]), blo)
        hi = np.minimum(np.maximum(b[:3], b[3:]), bhi)
        # Overlap per axis: a < q1 and b > q0, or for a flat axis q0 <= a < q1.
        upper = all(h > q or (a == h and a >= q) for a, h, q in zip(lo, hi, qlo, strict=True))
        if np.all(lo < qhi) and upper:
            out.add(int(label))
    return out


def cv_box(values: list[int] | list[float]) -> Any:
    """A CloudVolume Bbox from ``[x0, y0, z0, x1, y1, z1]``."""
    from cloudvolume.lib import Bbox as CVBbox

    return CVBbox(values[:3], values[3:])
