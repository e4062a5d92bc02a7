"""Sharded image scales: reads of any box, and the per-scale state (layout, index
caches) that reads, writes and conversions share.

A read plans the chunks of the box like an unsharded read, turns their grid cells
into Morton keys, locates them through the cached shard and minishard indexes
(:mod:`cloudvol.volume.shard_reader`) and fetches only their byte ranges, which the
store coalesces. Chunks are decoded and painted into one preallocated Fortran
array as for unsharded scales; fetched bytes are held one batch at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import fastremap
import numpy as np

from cloudvol.exceptions import EmptyVolumeException
from cloudvol.precomputed.grid import ChunkGrid, ChunkPlan, PlanWindow, Slices3, chunk_name
from cloudvol.precomputed.image_shards import ImageShardLayout
from cloudvol.precomputed.info import ScaleGeometry
from cloudvol.storage.base import Store
from cloudvol.storage.threads import get_pool, run_all
from cloudvol.volume import offload
from cloudvol.volume.options import ReadOptions
from cloudvol.volume.progress import chunk_progress
from cloudvol.volume.read import BYTES_PER_THREAD, VOLUME_THREADS, LayerFormat, run_per_chunk
from cloudvol.volume.shard_reader import ItemLocation, ShardedKeyReader, ShardIndexCache

__all__ = ["ShardedScale"]

BATCH_BYTES = 64 * 1024 * 1024
"""Stored bytes fetched per batch from network stores (bounds memory of a read)."""

SMALL_PLAN = 64
"""Plans of at most this many chunks are located with Python ints, not numpy."""

LOCAL_TASK_CHUNKS = 8
"""Chunks per task on in-process stores: a task opens its shard file once for all
its chunks (a small cutout is one or two tasks on the calling thread; a 512³ read of
64³ chunks is 64 tasks for the workers)."""


@dataclass(frozen=True, slots=True)
class _ChunkRefs:
    """The chunks of a plan as sharded items: keys and where each one is."""

    codes: list[int]
    locations: list[ItemLocation | None]


class ShardedScale:
    """One sharded scale of one layer: its layout and its index cache."""

    def __init__(
        self, store: Store, geometry: ScaleGeometry, cache: ShardIndexCache | None = None
    ) -> None:
        self.store = store
        self.geometry = geometry
        self.grid = ChunkGrid(geometry)
        self.layout = ImageShardLayout(geometry)
        self.spec = self.layout.spec
        self.reader = ShardedKeyReader(store, geometry.key, self.spec, cache)

    @property
    def cache(self) -> ShardIndexCache:
        return self.reader.cache

    def describe(self, code: int) -> str:
        """``chunk {code} (grid cell …, voxels …)``, for error messages."""
        return self.layout.describe_chunk(code)

    def item_name(self, location: ItemLocation, code: int) -> str:
        """What codecs call a chunk in their errors: its shard file and key."""
        return f"{self.reader.where(location.shard_key)} chunk {code}"

    def shard_url(self, code: int) -> str:
        shard, _ = self.spec.locate_one(code)
        return self.reader.where(self.layout.shard_key(shard))

    # --- locating chunks -----------------------------------------------------------

    def refs(self, plan: ChunkPlan) -> _ChunkRefs:
        """Keys and item locations of every chunk of ``plan``."""
        if len(plan) <= SMALL_PLAN:
            # numpy's per-call overhead dominates a cutout's few chunks.
            (ox, oy, oz), (cx, cy, cz) = (
                self.layout.offset.tolist(),
                self.layout.chunk_size.tolist(),
            )
            encode, locate_one = self.layout.coder.encode, self.spec.locate_one
            codes = [
                encode((x - ox) // cx, (y - oy) // cy, (z - oz) // cz)
                for x, y, z in plan.starts.tolist()
            ]
            places = [locate_one(code) for code in codes]
            shards, minis = [p[0] for p in places], [p[1] for p in places]
        else:
            codes_arr = self.layout.codes(self.layout.cells_of(plan.starts))
            shards_arr, minis_arr = self.layout.locate(codes_arr)
            codes, shards, minis = codes_arr.tolist(), shards_arr.tolist(), minis_arr.tolist()
        return _ChunkRefs(codes, self.reader.locate(codes, shards, minis, self.describe))

    def missing(self, code: int) -> EmptyVolumeException:
        return EmptyVolumeException(
            f"{self.shard_url(code)}: {self.describe(code)} is missing (no such shard file, "
            f"or the chunk is not in its minishard index). Pass fill_missing=True to read "
            f"missing chunks as background_color."
        )

    # --- reads ---------------------------------------------------------------------------

    def read_region(
        self,
        layer: LayerFormat,
        start: np.ndarray,
        stop: np.ndarray,
        options: ReadOptions,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Voxels ``[start, stop)`` (x, y, z at this scale, may reach outside the
        bounds) as a ``(x, y, z, channels)`` Fortran array; outside the bounds, and in
        missing chunks with ``options.fill_missing``, ``background_color``."""
        start = np.asarray(start, dtype=np.int64)
        stop = np.asarray(stop, dtype=np.int64)
        shape = (*(int(s) for s in stop - start), layer.num_channels)
        inside = bool(np.all(start >= self.grid.offset) and np.all(stop <= self.grid.bounds_max))
        if out is None:
            if inside:
                out = np.empty(shape, dtype=layer.dtype, order="F")
            else:
                out = np.full(shape, options.background_color, dtype=layer.dtype, order="F")
        plan = self.grid.plan(start, stop)
        if len(plan) == 0:
            return out
        window = PlanWindow(plan, start, stop)
        views = [window.overlap(i) for i in range(len(plan))]
        shapes = [window.chunk_shape(i) for i in range(len(plan))]
        refs = self._z_trimmed(layer, self.refs(plan), views, shapes)
        background = options.background_color
        offload.warm_up(layer.codec, len(plan))
        with chunk_progress(options.progress, len(plan), "Downloading") as tick:

            def paint(i: int, stored: bytes | None) -> None:
                dst, src = views[i]
                location = refs.locations[i]
                if not stored or location is None:
                    if not options.fill_missing:
                        raise self.missing(refs.codes[i])
                    out[dst] = background
                else:
                    code = refs.codes[i]
                    data = self.reader.decode(stored, location, code, self.describe)
                    name = self.item_name(location, code)
                    layer.paint(data, shapes[i], name, background, out[dst], src)
                tick()

            # Raw chunks cost only a copy: small reads never pay a hand-off to workers.
            cheap = layer.codec.name == "raw" and self.spec.data_encoding == "raw"
            self.visit(plan, refs, paint, out.nbytes, inline_small=cheap)
        return out

    def _z_trimmed(
        self,
        layer: LayerFormat,
        refs: _ChunkRefs,
        views: list[tuple[Slices3, Slices3]],
        shapes: list[tuple[int, int, int]],
    ) -> _ChunkRefs:
        """Raw single-channel chunks stored without gzip are Fortran-ordered bytes, so
        the z-slices a box needs are one contiguous byte range: fetch only those.
        Returns the refs to fetch, and narrows ``shapes`` and the chunk-side slices
        of ``views`` of those chunks to the fetched slices. Items of the wrong size
        are fetched whole, so the codec reports them."""
        if layer.codec.name != "raw" or self.spec.data_encoding != "raw" or layer.num_channels != 1:
            return refs
        itemsize = layer.dtype.itemsize
        locations = list(refs.locations)
        for i, location in enumerate(locations):
            if location is None:
                continue
            cx, cy, cz = shapes[i]
            plane = cx * cy * itemsize
            dst, (sx, sy, sz) = views[i]
            if (sz.start == 0 and sz.stop == cz) or location.size != plane * cz:
                continue
            depth = sz.stop - sz.start
            locations[i] = ItemLocation(
                location.shard_key, location.start + sz.start * plane, depth * plane
            )
            shapes[i] = (cx, cy, depth)
            views[i] = (dst, (sx, sy, slice(0, depth)))
        return _ChunkRefs(refs.codes, locations)

    def visit(
        self,
        plan: ChunkPlan,
        refs: _ChunkRefs,
        visit: Callable[[int, bytes | None], None],
        nbytes: int,
        inline_small: bool = False,
    ) -> None:
        """Call ``visit(i, stored item bytes or None if absent)`` for every chunk of
        ``plan``, from worker threads. In-process stores: tasks of up to
        ``LOCAL_TASK_CHUNKS`` chunks of one shard file, each read and visited by one
        worker (scheduled like unsharded chunks). Network stores: batches of ranges,
        coalesced by the store, the next batch fetched while the current one is
        visited. ``inline_small``: requests under ``BYTES_PER_THREAD`` run on the
        calling thread (else the unsharded rule applies: workers once the first
        tasks prove CPU-heavy)."""
        present = [i for i, loc in enumerate(refs.locations) if loc is not None]
        absent = [i for i, loc in enumerate(refs.locations) if loc is None]
        for i in absent:
            visit(i, None)
        if not present:
            return
        if self.store.capabilities.in_process:
            tasks = self._local_tasks(refs, present)

            def one(k: int) -> None:
                task = tasks[k]
                locations = [refs.locations[i] for i in task]
                stored = self.reader.read(locations, [refs.codes[i] for i in task], self.describe)  # type: ignore[arg-type]
                for i, data in zip(task, stored, strict=True):
                    visit(i, data)

            if inline_small and nbytes < BYTES_PER_THREAD:
                for k in range(len(tasks)):
                    one(k)
            else:
                run_per_chunk(one, len(tasks), nbytes)
            return
        threads = min(VOLUME_THREADS, len(present))
        for batch, datas in self._prefetched(refs, present):
            run_all(
                lambda pair: visit(pair[0], pair[1]),
                zip(batch, datas, strict=True),
                threads=threads,
                kind="volume",
            )

    @staticmethod
    def _local_tasks(refs: _ChunkRefs, present: list[int]) -> list[list[int]]:
        """Chunks of in-process stores in tasks of up to ``LOCAL_TASK_CHUNKS`` of one
        shard file each, in file order: a task opens its file once."""
        by_shard: dict[str, list[int]] = {}
        for i in present:
            location = refs.locations[i]
            assert location is not None
            by_shard.setdefault(location.shard_key, []).append(i)
        tasks: list[list[int]] = []
        for members in by_shard.values():
            members.sort(key=lambda i: refs.locations[i].start)  # type: ignore[union-attr]
            tasks.extend(
                members[k : k + LOCAL_TASK_CHUNKS]
                for k in range(0, len(members), LOCAL_TASK_CHUNKS)
            )
        return tasks

    def _prefetched(
        self, refs: _ChunkRefs, present: list[int]
    ) -> Iterator[tuple[list[int], list[bytes]]]:
        """Batches of chunk indexes with their stored bytes; batch k+1 is in flight
        while the caller works on batch k."""
        batches: list[list[int]] = [[]]
        size = 0
        for i in present:
            location = refs.locations[i]
            assert location is not None
            if batches[-1] and size + location.size > BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(i)
            size += location.size

        def fetch(batch: list[int]) -> list[bytes]:
            locs = [refs.locations[i] for i in batch]
            return self.reader.read(locs, [refs.codes[i] for i in batch], self.describe)  # type: ignore[arg-type]

        if len(batches) == 1:
            yield batches[0], fetch(batches[0])
            return
        pool = get_pool(1, "shard-prefetch")
        pending: Future[list[bytes]] = pool.submit(fetch, batches[0])
        for k, batch in enumerate(batches):
            datas = pending.result()
            if k + 1 < len(batches):
                pending = pool.submit(fetch, batches[k + 1])
            yield batch, datas

    def read_points(
        self, layer: LayerFormat, points: np.ndarray, options: ReadOptions
    ) -> dict[tuple[int, int, int], object]:
        """Value at each ``(x, y, z)`` point (voxels at this scale); each chunk read once."""
        pts = np.asarray(points, dtype=np.int64).reshape(-1, 3)
        result: dict[tuple[int, int, int], object] = {}
        cells = (pts - self.grid.offset) // self.grid.chunk_size
        for cell in np.unique(cells, axis=0):
            lo = self.grid.offset + cell * self.grid.chunk_size
            hi = np.minimum(lo + self.grid.chunk_size, self.grid.bounds_max)
            chunk = self.read_region(layer, lo, hi, options)
            for pt in pts[np.all(cells == cell, axis=1)]:
                value = chunk[tuple(pt - lo)]
                x, y, z = (int(v) for v in pt)
                result[(x, y, z)] = value[0] if value.size == 1 else value
        return result

    # --- chunk-level queries -----------------------------------------------------------------

    def exists(self, start: np.ndarray, stop: np.ndarray) -> dict[str, bool]:
        """``{"{key}/{x0-x1_y0-y1_z0-z1}": present}`` for every chunk of the box, named
        as the chunk would be in an unsharded scale."""
        plan = self.grid.plan(start, stop)
        if len(plan) == 0:
            return {}
        refs = self.refs(plan)
        return {key: loc is not None for key, loc in zip(plan.keys, refs.locations, strict=True)}

    def download_files(
        self, start: np.ndarray, stop: np.ndarray, decompress: bool = True
    ) -> dict[int, bytes]:
        """``{morton code: item bytes}`` of the present chunks of the box
        (``data_encoding`` undone unless ``decompress=False``)."""
        plan = self.grid.plan(start, stop)
        if len(plan) == 0:
            return {}
        refs = self.refs(plan)
        present = [i for i, loc in enumerate(refs.locations) if loc is not None]
        locations = [refs.locations[i] for i in present]
        codes = [refs.codes[i] for i in present]
        stored = self.reader.read(locations, codes, self.describe)  # type: ignore[arg-type]
        out: dict[int, bytes] = {}
        for code, loc, data in zip(codes, locations, stored, strict=True):
            assert loc is not None
            out[code] = bytes(
                self.reader.decode(data, loc, code, self.describe) if decompress else data
            )
        return out

    def unique(
        self, layer: LayerFormat, start: np.ndarray, stop: np.ndarray, options: ReadOptions
    ) -> set[int | float]:
        """Labels of voxels ``[start, stop)``, as
        :func:`cloudvol.volume.segmentation.unique_labels` computes them for unsharded
        scales: label lists of whole chunks where the codec has them, decoded crops
        elsewhere, background for missing chunks (``fill_missing``) and outside."""
        start = np.asarray(start, dtype=np.int64)
        stop = np.asarray(stop, dtype=np.int64)
        background = options.background_color
        found: list[np.ndarray] = []
        if np.any(start < self.grid.offset) or np.any(stop > self.grid.bounds_max):
            found.append(np.asarray([background]))
        plan = self.grid.plan(start, stop)
        if len(plan):
            refs = self.refs(plan)
            window = PlanWindow(plan, start, stop)
            list_labels = getattr(layer.codec, "labels", None)
            lock = threading.Lock()

            def visit(i: int, stored: bytes | None) -> None:
                location = refs.locations[i]
                if not stored or location is None:
                    if not options.fill_missing:
                        raise self.missing(refs.codes[i])
                    labels = np.asarray([background])
                else:
                    code = refs.codes[i]
                    data = self.reader.decode(stored, location, code, self.describe)
                    name = self.item_name(location, code)
                    spec = layer.spec(window.chunk_shape(i), name, background)
                    if list_labels is not None and not window.is_partial(i):
                        labels = np.asarray(list_labels(data, spec))
                    else:
                        _, in_chunk = window.overlap(i)
                        chunk = layer.codec.decode(data, spec)
                        labels = fastremap.unique(np.ascontiguousarray(chunk[in_chunk]))
                with lock:
                    found.append(labels)

            nbytes = int(np.prod(stop - start)) * layer.dtype.itemsize
            self.visit(plan, refs, visit, nbytes)
        if not found:
            return set()
        merged = fastremap.unique(np.concatenate([np.asarray(f).ravel() for f in found]))
        return {v.item() for v in merged}

    def chunk_names(self, cells: Sequence[Sequence[int]]) -> list[str]:
        """Unsharded chunk keys (``{key}/{x0-x1_…}``) of grid cells."""
        names = []
        for cell in cells:
            lo, hi = self.layout.chunk_box(np.asarray(cell))
            names.append(f"{self.geometry.key}/{chunk_name(lo.tolist(), hi.tolist())}")
        return names
