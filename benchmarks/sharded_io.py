"""Sharded workloads: the source volume as one sharded scale (identity hash, shards of
4×4×4 chunks = 256³ voxels at the defaults, 8 minishards of 8 chunks each, gzip
minishard indexes, raw data), written, read whole, and read as 100 random 64³
cutouts, by every tool; plus how many requests each tool makes per cutout over HTTP.

Every written layer is read back and compared with the source (by tensorstore when
it is installed, else by cloudvol); every read is compared voxel for voxel.
cloud-volume writes one whole shard per call, so its write loops over the shards.
The reference is the plainest correct code: numpy index parsing, ``os.pread`` per
chunk painted into a Fortran array, one thread; for writes one ``tobytes`` per chunk
and one ``open().write`` per shard file.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    Box,
    Geometry,
    Measurement,
    NotApplicable,
    Timing,
    WorkloadResult,
    best_of,
    box_shape,
    check_equal,
    chunk_view,
    measure,
    paint,
)
from benchmarks.context import BenchContext
from benchmarks.http_server import QuietRangeHandler
from benchmarks.volume_io import CUTOUT_SEED, cutout_boxes

CUTOUTS = 100
CUTOUT_SIDE = 64
SHARD_CHUNK_BITS = 6  # 2**6 = 4×4×4 chunks per shard
MINISHARD_BITS = 3

Writer = Callable[[np.ndarray], None]
Reader = Callable[[Box], Any]


def sharding_spec(geom: Geometry) -> dict[str, Any]:
    """The benchmark's sharding: identity hash, every shard a block of chunks."""
    total = 3 * max(0, geom.grid - 1).bit_length()
    prefix = min(SHARD_CHUNK_BITS, total)
    mini = min(MINISHARD_BITS, prefix)
    return {
        "@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": prefix - mini,
        "hash": "identity", "minishard_bits": mini, "shard_bits": total - prefix,
        "minishard_index_encoding": "gzip", "data_encoding": "raw",
    }  # fmt: skip


def sharded_info(geom: Geometry) -> dict[str, Any]:
    info = geom.info()
    info["scales"][0]["sharding"] = sharding_spec(geom)
    return info


def _slices(box: Box) -> tuple[slice, slice, slice]:
    (x0, y0, z0), (x1, y1, z1) = box
    return slice(x0, x1), slice(y0, y1), slice(z0, z1)


def _url(where: Path | str) -> str:
    return f"file://{Path(where).resolve()}" if isinstance(where, Path) else where


def shard_boxes(geom: Geometry) -> Iterator[Box]:
    """Voxel boxes of the shards (blocks of 2**(SHARD_CHUNK_BITS/3) chunks per axis)."""
    spec = sharding_spec(geom)
    per_axis_bits = (spec["preshift_bits"] + spec["minishard_bits"]) // 3
    side = min(geom.chunk << per_axis_bits, geom.size)
    for z, y, x in itertools.product(range(0, geom.size, side), repeat=3):
        yield (
            (x, y, z),
            (min(x + side, geom.size), min(y + side, geom.size), min(z + side, geom.size)),
        )


# --------------------------------------------------------------------------- adapters


class CloudVolumeLike:
    """cloudvol and cloud-volume through the same CloudVolume API."""

    def __init__(self, module: str, shard_per_call: bool) -> None:
        self.module, self.shard_per_call = module, shard_per_call

    def _cls(self) -> Any:
        import importlib

        return importlib.import_module(self.module).CloudVolume

    def prepare_write(self, layer: Path, geom: Geometry) -> Writer:
        vol = self._cls()(_url(layer), info=sharded_info(geom), progress=False)
        vol.commit_info()
        boxes = list(shard_boxes(geom)) if self.shard_per_call else [((0, 0, 0), (geom.size,) * 3)]

        def write(arr: np.ndarray) -> None:
            for box in boxes:
                vol[_slices(box)] = arr[_slices(box)]

        return write

    def open_reader(self, where: Path | str, geom: Geometry) -> Reader:
        vol = self._cls()(_url(where), progress=False)
        return lambda box: vol[_slices(box)]


class TensorStore:
    """tensorstore's neuroglancer_precomputed driver, ``order='F'``, with no cache
    pool as in the unsharded workloads: a pool would also cache chunks, and repeated
    cutouts would then be served from memory. (tensorstore keeps no shard indexes
    between reads without one; its request counts below show what that costs.)"""

    CACHE_BYTES = 0

    def _ts(self) -> Any:
        import tensorstore

        return tensorstore

    def _kvstore(self, where: Path | str) -> dict[str, str]:
        if isinstance(where, Path):
            return {"driver": "file", "path": f"{where.resolve()}/"}
        return {"driver": "http", "base_url": where}

    def prepare_write(self, layer: Path, geom: Geometry) -> Writer:
        ts = self._ts()
        scale = geom.info()["scales"][0]
        store = ts.open({
            "driver": "neuroglancer_precomputed", "kvstore": self._kvstore(layer),
            "multiscale_metadata": {"type": "image", "data_type": "uint8", "num_channels": 1},
            "scale_metadata": {"size": scale["size"], "encoding": "raw",
                               "chunk_size": scale["chunk_sizes"][0], "resolution": [1, 1, 1],
                               "voxel_offset": [0, 0, 0], "sharding": sharding_spec(geom)},
        }, create=True, context=ts.Context({"cache_pool": {"total_bytes_limit": 0}})).result()  # fmt: skip
        return lambda arr: store.write(arr).result()

    def open_reader(self, where: Path | str, geom: Geometry) -> Reader:
        ts = self._ts()
        context = ts.Context({"cache_pool": {"total_bytes_limit": self.CACHE_BYTES}})
        spec = {"driver": "neuroglancer_precomputed", "kvstore": self._kvstore(where)}
        store = ts.open(spec, read=True, context=context).result()
        return lambda box: store[_slices(box)].read(order="F").result()


class Reference:
    """Plain numpy and ``os.pread``: the physical bar (identity hash, raw data)."""

    def prepare_write(self, layer: Path, geom: Geometry) -> Writer:
        (layer / geom.key).mkdir(parents=True, exist_ok=True)
        (layer / "info").write_text(json.dumps(sharded_info(geom)))
        spec = sharding_spec(geom)

        def write(arr: np.ndarray) -> None:
            for box in shard_boxes(geom):
                items = {}
                for lo, hi in geom.chunks_in(*box):
                    cell = tuple(v // geom.chunk for v in lo)
                    items[_morton(cell, geom.grid)] = arr[_slices((lo, hi))].tobytes(order="F")
                name = _shard_name(min(items) >> (spec["preshift_bits"] + MINISHARD_BITS), spec)
                (layer / geom.key / name).write_bytes(_reference_shard(items, spec))

        return write

    def open_reader(self, where: Path | str, geom: Geometry) -> Reader:
        if not isinstance(where, Path):
            raise NotApplicable("the reference reads local files only")
        spec = sharding_spec(geom)
        index_cache: dict[tuple[str, int], dict[int, tuple[int, int]]] = {}
        fds: dict[str, int] = {}

        def locate(code: int) -> tuple[int, int, int]:
            name = _shard_name(code >> (spec["preshift_bits"] + MINISHARD_BITS), spec)
            mini = (code >> spec["preshift_bits"]) & ((1 << MINISHARD_BITS) - 1)
            fd = fds.get(name)
            if fd is None:
                fd = fds[name] = os.open(where / geom.key / name, os.O_RDONLY)
            entries = index_cache.get((name, mini))
            if entries is None:
                head = 16 << MINISHARD_BITS
                start, end = np.frombuffer(os.pread(fd, 16, 16 * mini), dtype="<u8").tolist()
                rows = np.frombuffer(
                    gzip.decompress(os.pread(fd, end - start, head + start)), "<u8"
                )
                ids, gaps, sizes = rows.reshape(3, -1)
                ids = np.cumsum(ids)
                before = np.concatenate([np.zeros(1, np.uint64), np.cumsum(sizes)[:-1]])
                starts = head + np.cumsum(gaps) + before
                pairs = zip(starts.tolist(), sizes.tolist(), strict=True)
                entries = dict(zip(ids.tolist(), pairs, strict=True))
                index_cache[(name, mini)] = entries
            start, size = entries[code]
            return fd, start, size

        def read(req: Box) -> np.ndarray:
            out = np.empty(box_shape(req), dtype=np.uint8, order="F")
            for lo, hi in geom.chunks_in(*req):
                fd, start, size = locate(_morton(tuple(v // geom.chunk for v in lo), geom.grid))
                paint(out, req, chunk_view(os.pread(fd, size, start), (lo, hi)), (lo, hi))
            return out

        return read


def _morton(cell: tuple[int, ...], grid: int) -> int:
    """Compressed Morton code of a cell of a cubic grid of ``grid`` chunks per axis."""
    code, j = 0, 0
    for i in range(max(0, grid - 1).bit_length()):
        for d in range(3):
            code |= ((cell[d] >> i) & 1) << j
            j += 1
    return code


def _shard_name(shard: int, spec: dict[str, Any]) -> str:
    return format(shard, "x").zfill(-(-spec["shard_bits"] // 4)) + ".shard"


def _reference_shard(items: dict[int, bytes], spec: dict[str, Any]) -> bytes:
    minis: dict[int, list[int]] = {}
    for code in sorted(items):
        minis.setdefault((code >> spec["preshift_bits"]) & ((1 << MINISHARD_BITS) - 1), []).append(
            code
        )
    data, indexes, entries = bytearray(), bytearray(), np.zeros((1 << MINISHARD_BITS, 2), "<u8")
    encoded: dict[int, bytes] = {}
    for mini, codes in minis.items():
        first = len(data)
        sizes = [len(items[c]) for c in codes]
        for c in codes:
            data += items[c]
        deltas = np.diff(np.asarray([0, *codes], dtype=np.uint64))
        gaps = [first] + [0] * (len(codes) - 1)
        encoded[mini] = gzip.compress(np.asarray([deltas, gaps, sizes], dtype="<u8").tobytes(), 6)
    for mini, blob in encoded.items():
        entries[mini] = (len(data) + len(indexes), len(data) + len(indexes) + len(blob))
        indexes += blob
    return entries.tobytes() + bytes(data) + bytes(indexes)


ADAPTERS: dict[str, Any] = {
    "cloudvol": CloudVolumeLike("cloudvol", shard_per_call=False),
    "cloud-volume": CloudVolumeLike("cloudvolume", shard_per_call=True),
    "tensorstore": TensorStore(),
    "reference": Reference(),
}


# --------------------------------------------------------------------------- workloads


def canonical_layer(ctx: BenchContext) -> Path:
    """The sharded layer every reader reads, written once by the reference writer."""
    layer = ctx.scratch / "canon-sharded"
    if not (layer / "info").exists():
        ADAPTERS["reference"].prepare_write(layer, ctx.geom)(ctx.vol)
    return layer


def _label(ctx: BenchContext) -> str:
    g, spec = ctx.geom, sharding_spec(ctx.geom)
    shards = 1 << spec["shard_bits"]
    return (
        f"{g.size}³ uint8, {g.chunk}³ chunks in {shards} shard file(s) "
        f"(preshift {spec['preshift_bits']}, minishard {spec['minishard_bits']}, shard "
        f"{spec['shard_bits']} bits; gzip minishard index, raw data)"
    )


def _verify(ctx: BenchContext, tool: str, layer: Path) -> None:
    try:
        import tensorstore  # noqa: F401
    except ImportError:
        checker = "cloudvol"
    else:
        checker = "tensorstore" if tool != "tensorstore" else "cloudvol"
    got = ADAPTERS[checker].open_reader(layer, ctx.geom)(((0, 0, 0), (ctx.geom.size,) * 3))
    check_equal(f"{tool}'s sharded layer (read by {checker})", got, ctx.vol)
    files = list((layer / ctx.geom.key).iterdir())
    if not files or not all(f.name.endswith(".shard") for f in files):
        raise AssertionError(f"{tool} wrote {[f.name for f in files]}, expected only .shard files")


def sharded_write(ctx: BenchContext) -> WorkloadResult:
    description = f"write {_label(ctx)}"
    result = WorkloadResult("sharded-write", description, ctx.geom.nbytes)
    ctx.log(f"\n## sharded-write: {description}")
    for tool in ctx.tools:
        result.results[tool] = _write_one(ctx, tool)
    result.notes.append("cloud-volume writes one whole shard per call: its write loops over shards")
    return result


def _write_one(ctx: BenchContext, tool: str) -> Measurement:
    counter = itertools.count()
    state: dict[str, Any] = {}

    def setup() -> None:
        layer = ctx.scratch / f"sharded-write-{tool}-{next(counter)}"
        state["layer"] = layer
        state["write"] = ADAPTERS[tool].prepare_write(layer, ctx.geom)

    def check(_: Any) -> None:
        try:
            _verify(ctx, tool, state["layer"])
        finally:
            shutil.rmtree(state["layer"], ignore_errors=True)

    def timed() -> Timing:
        try:
            return best_of(ctx.repeat, lambda: state["write"](ctx.vol), setup, check)
        finally:
            if "layer" in state:
                shutil.rmtree(state["layer"], ignore_errors=True)

    return measure(tool, ctx.geom.nbytes, timed, ctx.log)


def _reads(
    ctx: BenchContext, tool: str, layer: Path | str, boxes: list[Box], nbytes: int, repeat: int
) -> Measurement:
    """Time ``tool`` reading ``boxes`` with a reader opened afresh (untimed) per
    repeat, so index caches start cold every time; each result is checked."""
    state: dict[str, Any] = {}

    def setup() -> None:
        state["read"] = ADAPTERS[tool].open_reader(layer, ctx.geom)

    def check(got: list[Any]) -> None:
        for box, arr in zip(boxes, got, strict=True):
            check_equal(f"{tool} {box}", arr, ctx.vol[_slices(box)])

    def timed() -> Timing:
        return best_of(repeat, lambda: [state["read"](b) for b in boxes], setup, check)

    return measure(tool, nbytes, timed, ctx.log)


def sharded_read(ctx: BenchContext) -> WorkloadResult:
    description = f"read {_label(ctx)}, whole volume"
    result = WorkloadResult("sharded-read", description, ctx.geom.nbytes)
    ctx.log(f"\n## sharded-read: {description}")
    layer = canonical_layer(ctx)
    full = [((0, 0, 0), (ctx.geom.size,) * 3)]
    for tool in ctx.tools:
        result.results[tool] = _reads(ctx, tool, layer, full, ctx.geom.nbytes, ctx.repeat)
    result.notes.append(
        "a fresh reader per repeat (cold index caches); tensorstore without a cache pool"
    )
    return result


def sharded_cutouts(ctx: BenchContext) -> WorkloadResult:
    boxes = cutout_boxes(ctx.geom.size, CUTOUTS, CUTOUT_SIDE)
    side = boxes[0][1][0] - boxes[0][0][0]
    nbytes = len(boxes) * side**3
    chunks = sum(len(list(ctx.geom.chunks_in(*b))) for b in boxes)
    description = (
        f"{len(boxes)} random unaligned {side}³ cutouts (seed {CUTOUT_SEED}) from the sharded "
        f"{ctx.geom.size}³ layer, {chunks} chunk reads in all"
    )
    result = WorkloadResult("sharded-cutouts", description, nbytes)
    ctx.log(f"\n## sharded-cutouts: {description}")
    layer = canonical_layer(ctx)
    for tool in ctx.tools:
        # cloud-volume needs ~0.1-0.2 s per cutout, most of it cloudfiles' 50 ms polling
        # sleeps (low CPU, little variance): one repeat keeps the run short.
        repeat = 1 if tool == "cloud-volume" else ctx.repeat
        result.results[tool] = _reads(ctx, tool, layer, boxes, nbytes, repeat)
    result.notes.append("MB/s counts the cutouts' voxels; a fresh reader per repeat")
    if "cloud-volume" in ctx.tools:
        result.notes.append(
            "cloud-volume: one repeat (each takes 10-25 s, mostly cloudfiles' polling sleeps)"
        )
    for tool in ctx.tools:
        try:
            counts = count_requests(ctx, tool, boxes)
        except NotApplicable:
            continue
        except Exception as exc:  # the count is informative; a failure must not hide timings
            result.notes.append(f"requests over HTTP, {tool}: failed ({type(exc).__name__}: {exc})")
            continue
        note = (
            f"requests over HTTP, {tool}: {counts['total'] / len(boxes):.2f} per cutout "
            f"({counts['total']} for {len(boxes)} cutouts touching {counts['shards']} shard "
            f"files: {counts['header']} shard-index reads, {counts['total'] - counts['header']} "
            f"minishard-index and chunk reads)"
        )
        result.notes.append(note)
        ctx.log(f"    {note}")
    return result


# --------------------------------------------------------------------------- request counts


class _CountingHandler(QuietRangeHandler):
    def send_head(self) -> Any:
        server: Any = self.server
        with server.lock:
            server.log.append((self.path, self.headers.get("Range")))
        return super().send_head()


def count_requests(ctx: BenchContext, tool: str, boxes: list[Box]) -> dict[str, int]:
    """Requests for shard files while ``tool`` reads ``boxes`` over HTTP from a fresh
    reader (untimed; a counting server in a thread)."""
    if tool == "reference":
        raise NotApplicable("the reference reads local files only")
    layer = canonical_layer(ctx)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_CountingHandler, directory=str(layer.parent))
    )
    server.daemon_threads = True
    server.log, server.lock = [], threading.Lock()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{layer.name}"
        read = ADAPTERS[tool].open_reader(url, ctx.geom)
        server.log.clear()  # type: ignore[attr-defined]
        for box in boxes:
            read(box)
        log = [entry for entry in server.log if entry[0].endswith(".shard")]  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
    index_bytes = 16 << sharding_spec(ctx.geom)["minishard_bits"]
    return {
        "total": len(log),
        "header": sum(1 for _, rng in log if _range_end(rng) < index_bytes),
        "shards": len({path for path, _ in log}),
    }


def _range_end(header: str | None) -> float:
    """Last byte of a ``bytes=a-b`` request (infinite for whole-file reads)."""
    if not header or "-" not in header:
        return float("inf")
    last = header.split("=", 1)[-1].split("-", 1)[1]
    return int(last) if last.isdigit() else float("inf")
