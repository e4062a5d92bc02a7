"""Query the spatial index of a mesh or skeleton directory (``*.spatial`` cells).

:class:`SpatialIndex` answers "which segments are in this box?" by reading only
the cells the box reaches, in one batched ``store.get_many``; gzip-compressed
cells (``.spatial.gz`` on disk, ``Content-Encoding: gzip`` remotely) are undone by
the store. With a SQL mirror (``sql_url``, built by :meth:`SpatialIndex.to_sql`
or by CloudVolume) cells wholly inside the box are answered by the database and
only the cells on the box's surface are read.

All boxes are in nanometres, axis order x, y, z. The cell format is in
:mod:`cloudvol.precomputed.spatial_index`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from cloudvol.exceptions import SpatialIndexGapError
from cloudvol.lib.bbox import Bbox
from cloudvol.precomputed.spatial_index import (
    CellContents,
    CellGrid,
    parse_cell,
    parse_cells,
    precision_of,
)
from cloudvol.spatial_index.sql import IndexDatabase
from cloudvol.storage.base import Store

__all__ = ["SpatialIndex"]

_QUERY_BATCH = 10_000  # cells per get_many in query(); bounds memory on huge boxes
_SCAN_BATCH = 1_000  # cells per get_many when reading the whole index


def _labels_of(labels: int | Iterable[int]) -> list[int]:
    if isinstance(labels, (int, np.integer)):
        return [int(labels)]
    return [int(label) for label in labels]


class SpatialIndex:
    """The spatial index stored under ``prefix`` of ``store`` (e.g. ``"mesh"``).

    ``bounds_nm`` are the layer's physical bounds (Bbox or ``[x0, y0, z0, x1, y1,
    z1]``, nm), ``chunk_size`` the cell size (nm) and ``resolution`` the index's
    voxel size (nm; it decides how fractional coordinates print in cell names).
    ``sql_url`` (``sqlite://…``, a path, or ``mysql://…``) makes queries use that
    database where it can. ``progress`` shows tqdm bars on whole-index scans.

    A cell that should exist but does not raises :class:`SpatialIndexGapError`
    unless the method is called with ``allow_missing=True`` (CloudVolume's rule).
    """

    def __init__(
        self,
        store: Store,
        prefix: str,
        bounds_nm: Bbox | Sequence[float],
        resolution: Sequence[float],
        chunk_size: Sequence[float],
        sql_url: str | None = None,
        progress: bool = False,
    ) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self.resolution = tuple(resolution)
        self.grid = CellGrid.create(bounds_nm, chunk_size, resolution)
        self.progress = progress
        self._db: IndexDatabase | None = None
        self.sql_url = sql_url

    @classmethod
    def from_info(
        cls,
        store: Store,
        prefix: str,
        spatial_index: Mapping[str, Any],
        bounds_vx: Bbox,
        resolution: Sequence[float],
        sql_url: str | None = None,
        progress: bool = False,
    ) -> SpatialIndex:
        """The index described by a mesh/skeleton info's ``spatial_index`` member.

        ``bounds_vx`` and ``resolution`` are the layer's bounds (voxels) and voxel
        size (nm) at the mesh/skeleton mip; the member's own ``resolution``, when
        present, wins, as in CloudVolume. Physical bounds = voxel bounds x resolution.
        """
        res = list(spatial_index.get("resolution") or resolution)
        res_array = np.asarray([float(r) for r in res])
        integral = precision_of(res) == 0 and bool(np.all(np.floor(res_array) == res_array))
        lo = np.asarray(bounds_vx.minpt[:3], dtype=np.int64)
        hi = np.asarray(bounds_vx.maxpt[:3], dtype=np.int64)
        if integral:
            ints = res_array.astype(np.int64)
            bounds = Bbox((lo * ints).tolist(), (hi * ints).tolist(), dtype=np.int64, unit="nm")
        else:
            bounds = Bbox(
                (lo * res_array).tolist(), (hi * res_array).tolist(), dtype=np.float64, unit="nm"
            )
        return cls(
            store,
            prefix,
            bounds,
            res,
            spatial_index["chunk_size"],
            sql_url=sql_url,
            progress=progress,
        )

    # --- properties -------------------------------------------------------------------

    @property
    def sql_url(self) -> str | None:
        """The database URL with its password masked (``None`` without a database).
        Assigning a URL (or ``None``) switches queries to (or off) that database."""
        return None if self._db is None else self._db.url.masked()

    @sql_url.setter
    def sql_url(self, url: str | None) -> None:
        self._db = None if url is None else IndexDatabase(url)

    @property
    def physical_bounds(self) -> Bbox:
        """The layer bounds in nm (x, y, z)."""
        return self.grid.bounds

    @property
    def chunk_size(self) -> np.ndarray:
        """The cell size in nm (x, y, z)."""
        return self.grid.chunk_size.copy()

    @property
    def precision(self) -> int:
        """Decimals printed in cell names (from the resolution)."""
        return self.grid.precision

    def __repr__(self) -> str:
        return (
            f"SpatialIndex({self.store.url!r}, prefix={self.prefix!r}, "
            f"bounds={self.physical_bounds!r}, chunk_size={self.grid.chunk_size.tolist()}, "
            f"sql_url={self.sql_url!r})"
        )

    # --- cells ------------------------------------------------------------------------

    def _key(self, filename: str) -> str:
        return f"{self.prefix}/{filename}" if self.prefix else filename

    def _as_nm(self, bbox: Any) -> Bbox:
        if isinstance(bbox, Bbox):
            # A "vx" box here holds physical numbers, e.g. vol.bounds * vol.resolution.
            if bbox.unit not in ("vx", "nm"):
                return bbox.convert_units("nm")
            return bbox
        if (
            isinstance(bbox, (list, tuple, np.ndarray))
            and len(bbox) == 6
            and all(isinstance(v, (int, float, np.integer, np.floating)) for v in bbox)
        ):
            values = [float(v) for v in bbox]
            return Bbox(values[:3], values[3:], dtype=np.float64, unit="nm")
        return Bbox.create(bbox, context=self.physical_bounds)

    def index_file_paths_for_bbox(self, bbox_nm: Any) -> list[str]:
        """Names (relative to the index directory) of the cells ``bbox_nm`` reaches,
        x fastest. The box is cut to the layer bounds first; a box with no extent
        left reaches no cell."""
        box = self.grid.crop(self._as_nm(bbox_nm))
        rng = None if box is None else self.grid.cell_range(box)
        return [] if rng is None else self.grid.filenames(*rng)

    def fetch_index_files(
        self, filenames: Sequence[str], allow_missing: bool = False
    ) -> dict[str, bytes | None]:
        """``{filename: bytes}`` of cells (decompressed), one ``get_many`` call.
        Missing cells raise :class:`SpatialIndexGapError` unless ``allow_missing``
        (then they map to ``None``)."""
        keys = [self._key(name) for name in filenames]
        found = self.store.get_many(keys)
        out: dict[str, bytes | None] = {}
        for name, key in zip(filenames, keys, strict=True):
            data = found.get(key)
            if data is None and not allow_missing:
                raise SpatialIndexGapError(
                    f"spatial index cell {self.store.url}/{key} was not found "
                    "(allow_missing=True skips missing cells)"
                )
            out[name] = data
        return out

    def _cells(
        self,
        filenames: Sequence[str],
        allow_missing: bool,
        batch: int,
        progress: bool = False,
        needle: bytes | None = None,
    ) -> Iterator[tuple[str, CellContents]]:
        """Decoded cells, in ``filenames`` order, fetched ``batch`` at a time.
        With ``needle`` cells whose bytes lack it are skipped without parsing."""
        with tqdm(total=len(filenames), disable=not progress, desc="Spatial index") as bar:
            for start in range(0, len(filenames), batch):
                names = filenames[start : start + batch]
                for name, data in self.fetch_index_files(names, allow_missing).items():
                    if data is None or (needle is not None and needle not in data):
                        continue
                    yield name, parse_cell(data, self._key(name))
                bar.update(len(names))

    # --- queries ------------------------------------------------------------------------

    def query(self, bbox_nm: Any, allow_missing: bool = False) -> set[int]:
        """Segment ids whose recorded box overlaps ``bbox_nm`` (nm, x, y, z).

        The box is cut to the layer bounds; a flat box (e.g. one z plane) selects
        what crosses it. "Overlaps" is ``Bbox.intersects`` (boxes that only share a
        face do not count) except that a recorded box flat on an axis counts when it
        lies on the query's low face (see
        :func:`cloudvol.precomputed.spatial_index.overlaps`). Only the cells the box
        reaches are read, in one batched fetch (per 10 000 cells). With a database,
        cells wholly inside the box come from the database (each id a cell lists is
        taken to overlap that cell, true of indexes Igneous or ``write_cells``
        make) and only the boundary cells are read.
        """
        box = self.grid.crop(self._as_nm(bbox_nm))
        rng = None if box is None else self.grid.cell_range(box)
        if box is None or rng is None:
            return set()
        lo, hi = rng
        names = self.grid.filenames(lo, hi)
        found: list[np.ndarray] = []
        if self._db is not None:
            if box.contains_bbox(self.physical_bounds):
                return set(self._db.all_labels().tolist())
            mins, maxs = self.grid.cell_boxes(lo, hi)
            inside = np.all(mins >= np.asarray(box.minpt), axis=1) & np.all(
                maxs <= np.asarray(box.maxpt), axis=1
            )
            interior = [n for n, keep in zip(names, inside.tolist(), strict=True) if keep]
            if interior:
                found.append(self._db.labels_in_files(interior))
            names = [n for n, keep in zip(names, inside.tolist(), strict=True) if not keep]
        for start in range(0, len(names), _QUERY_BATCH):
            fetched = self.fetch_index_files(names[start : start + _QUERY_BATCH], allow_missing)
            cells = parse_cells(
                (self._key(name), data) for name, data in fetched.items() if data is not None
            )
            found.append(cells.intersecting(box))
        if not found:
            return set()
        return set(np.unique(np.concatenate(found)).tolist())

    def file_locations_per_label(
        self, labels: int | Iterable[int] | None = None, allow_missing: bool = False
    ) -> dict[int, list[str]]:
        """``{segid: [cell filenames]}`` for ``labels`` (all segments when ``None``).

        Uses the database when there is one; otherwise reads every cell (expensive:
        the whole index). Filenames are relative to the index directory.
        """
        wanted = None if labels is None else _labels_of(labels)
        if self._db is not None:
            return self._db.files_for_labels(wanted)
        wanted_set = None if wanted is None else np.asarray(sorted(set(wanted)), dtype=np.uint64)
        out: dict[int, list[str]] = {}
        names = self.grid.all_filenames()
        for name, cell in self._cells(names, allow_missing, _SCAN_BATCH, self.progress):
            present = cell.labels
            if wanted_set is not None:
                present = present[np.isin(present, wanted_set)]
            for label in present.tolist():
                out.setdefault(label, []).append(name)
        return out

    def get_bbox(self, label: int, allow_missing: bool = False) -> Bbox | None:
        """The union of the boxes recorded for ``label`` (nm), or ``None`` if no cell
        lists it. With a database only the cells it names are read; otherwise the
        whole index is. int64 when every coordinate is whole, else float64."""
        label = int(label)
        if self._db is not None:
            names = self._db.files_for_labels([label]).get(label, [])
        else:
            names = self.grid.all_filenames()
        # A segment id appears quoted only as a key, so cells without the quoted id
        # are skipped unparsed.
        needle = f'"{label}"'.encode()
        lo: np.ndarray | None = None
        hi: np.ndarray | None = None
        for _, cell in self._cells(names, allow_missing, _SCAN_BATCH, self.progress, needle):
            rows = cell.boxes[cell.labels == np.uint64(label)]
            if len(rows) == 0:
                continue
            row_lo, row_hi = rows[:, :3].min(axis=0), rows[:, 3:].max(axis=0)
            lo = row_lo if lo is None else np.minimum(lo, row_lo)
            hi = row_hi if hi is None else np.maximum(hi, row_hi)
        if lo is None or hi is None:
            return None
        whole = bool(np.all(np.floor(lo) == lo) and np.all(np.floor(hi) == hi))
        dtype = np.int64 if whole else np.float64
        return Bbox(lo.astype(dtype).tolist(), hi.astype(dtype).tolist(), dtype=dtype, unit="nm")

    # --- SQL mirror -----------------------------------------------------------------------

    def to_sql(
        self,
        path: str | None = None,
        create_indices: bool = True,
        allow_missing: bool = False,
        progress: bool | None = None,
    ) -> None:
        """Write the SQL mirror of this index to ``path`` (default: ``sql_url``).

        ``path`` is ``sqlite://file``, a bare path, or ``mysql://…``; existing
        ``index_files``/``file_lookup`` tables are replaced. Reads every cell;
        missing cells raise unless ``allow_missing``. The schema is CloudVolume's,
        so ``CloudVolume(..., spatial_index_db=path)`` can use the result. The index
        does not switch to the new database; assign :attr:`sql_url` for that.
        """
        if path is None:
            if self._db is None:
                raise ValueError("to_sql needs a database path or URL (no sql_url set)")
            db = self._db
        else:
            db = IndexDatabase(path)
        show = self.progress if progress is None else progress
        names = self.grid.all_filenames()
        cells = (
            (name, cell.labels)
            for name, cell in self._cells(names, allow_missing, _SCAN_BATCH, show)
        )
        db.write(cells, create_indices=create_indices)
