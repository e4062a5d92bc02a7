"""Segmentation codec workloads (compressed_segmentation, compresso, crackle): encode,
decode and list the labels of every 64³ chunk of a uint64 segmentation, cloudvol
against cloud-volume, tensorstore and a plain reference.

How each tool runs (the same chunks, the same bytes, the same checks):

* cloudvol: ``cloudvol.codecs.get_codec(encoding)`` on each chunk in a 2-thread pool,
  called as cloudvol's volume layer calls it (``cloudvol.volume.offload``: chunks of
  codecs whose binding holds the GIL, compresso, go to helper processes, whose CPU
  time is counted); decoded chunks are painted into one Fortran-ordered output inside
  the workers, like a volume read. Helpers are started before timing, and every
  chunk-level tool runs once untimed first;
* cloud-volume: ``cloudvolume.chunks.encode/decode/labels`` per chunk in the same
  2-thread pool, painted the same way;
* tensorstore (compressed_segmentation only): writes the whole array into, or reads
  it from, a ``memory://`` kvstore holding the chunks, its own threads, cache off;
* reference: the codec library called directly per chunk in one thread (the bar
  for per-chunk overhead).

The volume is Voronoi-like cells (elongated, with warped walls, ~70 labels and ~7%
boundary voxels per 64³ chunk; random uint64 ids, some 0), built on a periodic 128³
tile and repeated with fresh ids per tile. Encode inputs are views of the source
volume, as a volume write passes them; every encode is checked by decoding its bytes
with the reference decoder. Every decode must equal the source, every label list
``np.unique`` of its chunk. ``decode-crackle-cv`` decodes the streams cloud-volume's
volume writer stores (flagged C order, because its chunk views are not
Fortran-contiguous). ``decode-cseg-into`` is ``decode-cseg`` with cloudvol decoding
each chunk straight into its window of the output (``decode_into``), which the
volume layer can use for chunks a read covers whole. MB/s is 10^6 uncompressed voxel bytes per second.

Default side 256 (128 MiB of uint64): 512³ (1 GiB) would take minutes.

    uv run python -m benchmarks.codec_segmentation --size 256
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.common import (
    MB,
    Measurement,
    MiB,
    NotApplicable,
    Timing,
    WorkloadResult,
    WrongResult,
    best_of,
    check_equal,
    chunk_boxes,
    chunk_name,
    measure,
    summary_table,
    view,
)
from benchmarks.context import BenchContext

CHUNK = 64
POOL_THREADS = 2  # what cloudvol's volume layer uses on this 2-core machine
MAX_SIDE = 256
TILE = 128
DTYPE = np.dtype("uint64")
BLOCK = (8, 8, 8)
CSEG = "compressed_segmentation"
Box = tuple[tuple[int, int, int], tuple[int, int, int]]


# --------------------------------------------------------------------------- data


def _smooth_noise(rng: np.random.Generator, tile: int, coarse: int) -> np.ndarray:
    """Periodic smooth noise: a coarse random grid, trilinearly upsampled to ``tile``."""
    out = rng.standard_normal((coarse,) * 3).astype(np.float32)
    x = (np.arange(tile, dtype=np.float32) + 0.5) * coarse / tile - 0.5
    i0 = np.floor(x).astype(np.int64)
    w = (x - i0).astype(np.float32)
    i0 %= coarse
    i1 = (i0 + 1) % coarse
    for axis in range(3):
        shape = [1, 1, 1]
        shape[axis] = tile
        a, b = np.take(out, i0, axis=axis), np.take(out, i1, axis=axis)
        out = a + (b - a) * w.reshape(shape)
    return out


def _cells(tile: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """A periodic ``tile``³ partition into ``cells`` elongated Voronoi cells with
    warped walls: nearest seed under a per-seed anisotropic metric, each seed
    scanned only within ``reach`` voxels of itself."""
    reach = min(36, tile // 2)
    warp = [5 * _smooth_noise(rng, tile, max(tile // 16, 2)) for _ in range(3)]
    best = np.full((tile,) * 3, np.inf, dtype=np.float32)
    label = np.zeros((tile,) * 3, dtype=np.int64)
    for i, seed in enumerate(rng.uniform(0, tile, (cells, 3)).astype(np.float32)):
        scale = np.ones(3, dtype=np.float32)
        scale[rng.integers(3)] = 0.25  # one long axis: neurite-like
        index = [np.arange(int(c) - reach, int(c) + reach) for c in seed]
        window = np.ix_(*[j % tile for j in index])
        dist = np.zeros((2 * reach,) * 3, dtype=np.float32)
        for axis in range(3):
            shape = [1, 1, 1]
            shape[axis] = 2 * reach
            diff = index[axis].astype(np.float32).reshape(shape) + warp[axis][window] - seed[axis]
            dist += scale[axis] * diff * diff
        old = best[window]
        closer = dist < old
        best[window] = np.where(closer, dist, old)
        label[window] = np.where(closer, i, label[window])
    return label


@functools.cache
def make_segmentation(size: int, seed: int = 0) -> np.ndarray:
    """A ``(size, size, size, 1)`` uint64 Fortran-ordered segmentation (see module doc)."""
    rng = np.random.default_rng(seed)
    tile = min(size, TILE)
    cells = max(8, 160 * tile**3 // TILE**3)
    base = _cells(tile, cells, rng)
    reps = -(-size // tile)
    tiles = np.arange(size) // tile
    tile_index = tiles[:, None, None] + reps * (tiles[None, :, None] + reps * tiles[None, None, :])
    index = np.tile(base, (reps,) * 3)[:size, :size, :size] + tile_index * cells
    ids = rng.integers(1, 2**63, size=reps**3 * cells, dtype=np.uint64)
    ids[::20] = 0  # some background
    return np.asfortranarray(ids[index])[..., np.newaxis]


# --------------------------------------------------------------------------- reference


def reference_encode(encoding: str, chunk: np.ndarray) -> bytes:
    """The library call, done by hand on a Fortran copy of the chunk (CloudVolume's
    arguments)."""
    import compressed_segmentation
    import compresso
    import crackle

    labels = np.asfortranarray(chunk[..., 0])
    if encoding == CSEG:
        return compressed_segmentation.compress(labels, block_size=BLOCK, order="F")
    if encoding == "compresso":
        return compresso.compress(labels)
    return crackle.compress(labels, parallel=1)


def reference_decode(encoding: str, data: bytes, box: Box) -> np.ndarray:
    """The chunk in ``data`` as ``(x, y, z, 1)``, decoded with the library."""
    import compressed_segmentation
    import compresso
    import crackle

    (x0, y0, z0), (x1, y1, z1) = box
    shape = (x1 - x0, y1 - y0, z1 - z0)
    if encoding == CSEG:
        out = compressed_segmentation.decompress(data, shape, DTYPE, BLOCK, order="F")
    elif encoding == "compresso":
        out = compresso.decompress(data)
    else:
        out = crackle.decompress(data, parallel=1)
    return out[..., np.newaxis]


def decode_all(encoding: str, encoded: list[bytes], boxes: list[Box], side: int) -> np.ndarray:
    out = np.empty((side, side, side, 1), dtype=DTYPE, order="F")
    for data, box in zip(encoded, boxes, strict=True):
        view(out, box)[...] = reference_decode(encoding, data, box)
    return out


def _unique(chunk: np.ndarray) -> np.ndarray:
    import fastremap

    return np.asarray(fastremap.unique(chunk))


# --------------------------------------------------------------------------- tools


def _pool_map(fn: Callable[[int], Any], n: int) -> list[Any]:
    with ThreadPoolExecutor(POOL_THREADS) as pool:
        return list(pool.map(fn, range(n)))


def _cloudvol(encoding: str, boxes: list[Box]) -> tuple[Any, list[Any]]:
    from cloudvol.codecs import ChunkSpec, get_codec

    codec = get_codec(encoding)
    block = BLOCK if encoding == CSEG else None
    specs = []
    for box in boxes:
        (x0, y0, z0), (x1, y1, z1) = box
        shape = (x1 - x0, y1 - y0, z1 - z0, 1)
        specs.append(ChunkSpec(shape, DTYPE, block, key=chunk_name(box)))
    return codec, specs


def _ready_helpers(codec: Any, encoding: bool) -> None:
    """Start all of cloudvol's helper processes, as the volume layer does for a
    request of this codec's chunks, and wait until they answer. Where helpers cannot
    run, the codec runs in this process, as it would in a volume read."""
    from cloudvol.codecs.worker_pool import WorkerUnavailable, shared_pool
    from cloudvol.volume import offload

    pool = shared_pool()
    if pool is None or not offload.holds_gil(codec, encoding):
        return
    pool.start()  # every helper, as offload.warm_up starts them

    def answer(_: int) -> None:
        pool.run("cloudvol.codecs.worker_pool:in_worker")

    try:
        _pool_map(answer, pool.size)
    except WorkerUnavailable:
        return


def _cloudvolume_chunks() -> Any:
    from cloudvolume import chunks

    return chunks


def encoder(tool: str, encoding: str, boxes: list[Box]) -> Callable[[np.ndarray], list[bytes]]:
    """``encode(volume) -> [bytes per box]`` for chunk-level tools."""
    if tool == "cloudvol":
        from cloudvol.volume import offload

        codec, specs = _cloudvol(encoding, boxes)
        _ready_helpers(codec, encoding=True)
        return lambda vol: _pool_map(
            lambda i: bytes(offload.encode(codec, view(vol, boxes[i]), specs[i])), len(boxes)
        )
    if tool == "cloud-volume":
        cv = _cloudvolume_chunks()
        return lambda vol: _pool_map(
            lambda i: bytes(cv.encode(view(vol, boxes[i]), encoding, block_size=BLOCK)), len(boxes)
        )
    if tool == "reference":
        return lambda vol: [bytes(reference_encode(encoding, view(vol, b))) for b in boxes]
    raise AssertionError(tool)


def decoder(
    tool: str, encoding: str, boxes: list[Box], side: int, into: bool = False
) -> Callable[[list[bytes]], np.ndarray]:
    """``decode(encoded) -> volume`` for chunk-level tools, painting each chunk
    (``into``: cloudvol decodes straight into the chunk's window of the output)."""
    if tool == "reference":
        return lambda encoded: decode_all(encoding, encoded, boxes, side)
    if tool == "cloudvol" and into:
        codec, specs = _cloudvol(encoding, boxes)

        def one(i: int, encoded: list[bytes], out: np.ndarray) -> None:
            codec.decode_into(encoded[i], specs[i], view(out, boxes[i]))

    elif tool == "cloudvol":
        from cloudvol.volume import offload

        codec, specs = _cloudvol(encoding, boxes)
        _ready_helpers(codec, encoding=False)

        def one(i: int, encoded: list[bytes], out: np.ndarray) -> None:
            target = view(out, boxes[i])

            def paint(chunk: np.ndarray) -> None:
                target[...] = chunk

            offload.decode_to(codec, encoded[i], specs[i], paint)

    elif tool == "cloud-volume":
        cv = _cloudvolume_chunks()

        def one(i: int, encoded: list[bytes], out: np.ndarray) -> None:
            target = view(out, boxes[i])
            target[...] = cv.decode(encoded[i], encoding, target.shape, DTYPE, block_size=BLOCK)

    else:
        raise AssertionError(tool)

    def decode(encoded: list[bytes]) -> np.ndarray:
        out = np.empty((side, side, side, 1), dtype=DTYPE, order="F")
        _pool_map(lambda i: one(i, encoded, out), len(boxes))
        return out

    return decode


def labeler(
    tool: str, encoding: str, boxes: list[Box]
) -> Callable[[list[bytes]], list[np.ndarray]]:
    """``labels(encoded) -> [sorted unique labels per chunk]`` for chunk-level tools."""
    if tool == "cloudvol":
        codec, specs = _cloudvol(encoding, boxes)
        return lambda encoded: _pool_map(lambda i: codec.labels(encoded[i], specs[i]), len(boxes))
    if tool == "cloud-volume":
        cv = _cloudvolume_chunks()

        def one(i: int, encoded: list[bytes]) -> np.ndarray:
            (x0, y0, z0), (x1, y1, z1) = boxes[i]
            shape = (x1 - x0, y1 - y0, z1 - z0)
            return np.asarray(cv.labels(encoded[i], encoding, shape, DTYPE, BLOCK))

        return lambda encoded: _pool_map(lambda i: one(i, encoded), len(boxes))
    if tool == "reference":
        # decode and unique: what a codec without a label table has to do
        return lambda encoded: [
            _unique(reference_decode(encoding, data, box))
            for data, box in zip(encoded, boxes, strict=True)
        ]
    raise NotApplicable(f"{tool} has no label listing")


class TensorStoreMemory:
    """A compressed_segmentation layer in a tensorstore ``memory://`` kvstore."""

    def __init__(self, encoding: str, side: int) -> None:
        if encoding != CSEG:
            raise NotApplicable(f"tensorstore has no {encoding} encoding")
        import tensorstore as ts

        self.ts, self.side = ts, side
        self.context = ts.Context({"cache_pool": {"total_bytes_limit": 0}})
        self.kvstore = ts.KvStore.open({"driver": "memory"}, context=self.context).result()

    def scale(self) -> dict[str, Any]:
        return {
            "size": [self.side] * 3,
            "resolution": [1, 1, 1],
            "voxel_offset": [0, 0, 0],
            "chunk_size": [CHUNK] * 3,
            "encoding": CSEG,
            "compressed_segmentation_block_size": list(BLOCK),
        }

    def create(self) -> Any:
        spec = {
            "driver": "neuroglancer_precomputed",
            "kvstore": {"driver": "memory"},
            "multiscale_metadata": {
                "type": "segmentation",
                "data_type": "uint64",
                "num_channels": 1,
            },
            "scale_metadata": self.scale(),
            "create": True,
        }
        return self.ts.open(spec, context=self.context).result()

    def load(self, encoded: list[bytes], boxes: list[Box]) -> Any:
        scale = {**self.scale(), "key": "1_1_1", "chunk_sizes": [[CHUNK] * 3]}
        del scale["chunk_size"]
        info = {
            "@type": "neuroglancer_multiscale_volume",
            "type": "segmentation",
            "data_type": "uint64",
            "num_channels": 1,
            "scales": [scale],
        }
        self.kvstore.write("info", json.dumps(info).encode()).result()
        for data, box in zip(encoded, boxes, strict=True):
            self.kvstore.write(chunk_name(box), data).result()
        spec = {"driver": "neuroglancer_precomputed", "kvstore": {"driver": "memory"}}
        return self.ts.open(spec, context=self.context).result()

    def stored(self, boxes: list[Box]) -> list[bytes]:
        return [bytes(self.kvstore.read(chunk_name(b)).result().value) for b in boxes]


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Source:
    vol: np.ndarray
    side: int
    boxes: list[Box]


def source(ctx: BenchContext) -> Source:
    side = min(ctx.geom.size, MAX_SIDE)
    return Source(make_segmentation(side), side, chunk_boxes(side))


def _label(encoding: str, src: Source) -> str:
    opts = f", block {'×'.join(map(str, BLOCK))}" if encoding == CSEG else ""
    return f"{src.side}³ uint64 segmentation, {CHUNK}³ chunks ({len(src.boxes)}), {encoding}{opts}"


def _encode_workload(ctx: BenchContext, name: str, encoding: str) -> WorkloadResult:
    src = source(ctx)
    result = WorkloadResult(name, f"encode {_label(encoding, src)}", src.vol.nbytes)
    ctx.log(f"\n## {name}: {result.description}")
    sizes: dict[str, int] = {}

    def check_encoded(tool: str, encoded: list[bytes]) -> None:
        sizes[tool] = sum(map(len, encoded))
        check_equal(
            f"{tool}'s {encoding} chunks",
            decode_all(encoding, encoded, src.boxes, src.side),
            src.vol,
        )

    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            if tool == "tensorstore":
                state: dict[str, Any] = {}

                def setup() -> None:
                    state["mem"] = TensorStoreMemory(encoding, src.side)
                    state["store"] = state["mem"].create()

                TensorStoreMemory(encoding, src.side)  # NotApplicable before any timing
                return best_of(
                    ctx.repeat,
                    lambda: state["store"].write(src.vol).result(),
                    setup,
                    lambda _: check_encoded(tool, state["mem"].stored(src.boxes)),
                )
            encode = encoder(tool, encoding, src.boxes)
            encode(src.vol)  # untimed, like the decode warm-up below
            return best_of(
                ctx.repeat, lambda: encode(src.vol), None, lambda e: check_encoded(tool, e)
            )

        m = measure(tool, src.vol.nbytes, timed, ctx.log)
        if m.status == "ok" and tool in sizes:
            m.note = f"ratio {src.vol.nbytes / sizes[tool]:.1f}"
        result.results[tool] = m
    result.notes.append(
        f"cloudvol and cloud-volume encode chunks in a {POOL_THREADS}-thread pool; "
        "tensorstore writes the array to a memory:// kvstore with its own threads; "
        "reference: the library called per chunk in one thread"
    )
    return result


def _decode_workload(
    ctx: BenchContext, name: str, encoding: str, c_flagged: bool = False, into: bool = False
) -> WorkloadResult:
    src = source(ctx)
    if c_flagged:  # as cloud-volume's volume writer stores crackle: from chunk views
        import crackle

        encoded = [bytes(crackle.compress(view(src.vol, b)[..., 0], parallel=1)) for b in src.boxes]
    else:
        encoded = [bytes(reference_encode(encoding, view(src.vol, b))) for b in src.boxes]
    what = (
        " (C-order-flagged streams, as cloud-volume's volume writer stores them)"
        if c_flagged
        else ""
    )
    result = WorkloadResult(name, f"decode {_label(encoding, src)}{what}", src.vol.nbytes)
    ctx.log(f"\n## {name}: {result.description}")
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            def check(got: Any) -> None:
                check_equal(f"{tool}'s decoded {encoding}", got, src.vol)

            if tool == "tensorstore":
                store = TensorStoreMemory(encoding, src.side).load(encoded, src.boxes)
                return best_of(ctx.repeat, lambda: store.read(order="F").result(), None, check)
            decode = decoder(tool, encoding, src.boxes, src.side, into)
            decode(encoded)  # untimed: first-call costs (imports, page faults) for all
            return best_of(ctx.repeat, lambda: decode(encoded), None, check)

        result.results[tool] = measure(tool, src.vol.nbytes, timed, ctx.log)
    ratio = src.vol.nbytes / sum(map(len, encoded))
    result.notes.append(
        f"every tool decodes the same chunk bytes (ratio {ratio:.1f}) and paints a "
        f"Fortran-ordered volume; cloudvol and cloud-volume in a {POOL_THREADS}-thread pool, "
        "tensorstore from a memory:// kvstore with its own threads, chunk cache off; "
        "reference: the library per chunk in one thread"
    )
    return result


def _labels_workload(ctx: BenchContext, name: str, encoding: str) -> WorkloadResult:
    src = source(ctx)
    encoded = [bytes(reference_encode(encoding, view(src.vol, b))) for b in src.boxes]
    expected = [_unique(view(src.vol, b)) for b in src.boxes]
    result = WorkloadResult(name, f"labels of each chunk, {_label(encoding, src)}", src.vol.nbytes)
    ctx.log(f"\n## {name}: {result.description}")
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            if tool == "tensorstore":
                raise NotApplicable("tensorstore has no label listing")
            run = labeler(tool, encoding, src.boxes)

            def check(got: list[np.ndarray]) -> None:
                for i, (g, e) in enumerate(zip(got, expected, strict=True)):
                    if not np.array_equal(np.asarray(g), e):
                        raise WrongResult(f"{tool}: labels of chunk {i} differ")

            return best_of(ctx.repeat, lambda: run(encoded), None, check)

        result.results[tool] = measure(tool, src.vol.nbytes, timed, ctx.log)
    result.notes.append(
        "MB/s of the chunks' voxel bytes; cloudvol and cloud-volume read the label "
        f"tables in a {POOL_THREADS}-thread pool; reference: decode + fastremap.unique per chunk"
    )
    return result


def _unique_workload(ctx: BenchContext, name: str, encoding: str) -> WorkloadResult:
    """``vol.unique()`` of the whole layer, the volume-level path users call: each
    tool schedules the per-chunk label listing its own way."""
    src = source(ctx)
    layer = ctx.scratch / f"unique-{encoding}"
    if not (layer / "info").exists():
        from cloudvol import CloudVolume as Writer

        info = Writer.create_new_info(
            1, "segmentation", "uint64", encoding, (8, 8, 8), (0, 0, 0), (src.side,) * 3,
            chunk_size=(CHUNK,) * 3, compressed_segmentation_block_size=BLOCK,
        )  # fmt: skip
        writer = Writer(f"file://{layer}", info=info, compress=False)
        writer.commit_info()
        writer[:, :, :] = src.vol
    expected = set(np.unique(src.vol).tolist())
    result = WorkloadResult(name, f"vol.unique() of the whole layer, {_label(encoding, src)}",
                            src.vol.nbytes)  # fmt: skip
    ctx.log(f"\n## {name}: {result.description}")
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            if tool == "cloudvol":
                from cloudvol import CloudVolume
            elif tool == "cloud-volume":
                from cloudvolume import CloudVolume  # type: ignore[no-redef]
            else:
                raise NotApplicable(f"{tool} has no vol.unique()")
            vol = CloudVolume(f"file://{layer}", progress=False)

            def check(got: Any) -> None:
                if {int(v) for v in got} != expected:
                    raise WrongResult(f"{tool}: unique() differs from np.unique")

            return best_of(ctx.repeat, lambda: vol.unique(np.s_[:, :, :]), None, check)

        result.results[tool] = measure(tool, src.vol.nbytes, timed, ctx.log)
    result.notes.append("layer written uncompressed on the scratch dir; MB/s of voxel bytes")
    return result


def _workloads() -> dict[str, Callable[[BenchContext], WorkloadResult]]:
    out: dict[str, Callable[[BenchContext], WorkloadResult]] = {}
    for short, encoding in (("cseg", CSEG), ("compresso", "compresso"), ("crackle", "crackle")):
        out[f"encode-{short}"] = functools.partial(
            _encode_workload, name=f"encode-{short}", encoding=encoding
        )
        out[f"decode-{short}"] = functools.partial(
            _decode_workload, name=f"decode-{short}", encoding=encoding
        )
        if short == "cseg":
            out["decode-cseg-into"] = functools.partial(
                _decode_workload, name="decode-cseg-into", encoding=encoding, into=True
            )
        if short == "crackle":
            out["decode-crackle-cv"] = functools.partial(
                _decode_workload, name="decode-crackle-cv", encoding=encoding, c_flagged=True
            )
        out[f"labels-{short}"] = functools.partial(
            _labels_workload, name=f"labels-{short}", encoding=encoding
        )
        out[f"unique-{short}"] = functools.partial(
            _unique_workload, name=f"unique-{short}", encoding=encoding
        )
    return out


WORKLOADS: dict[str, Callable[[BenchContext], WorkloadResult]] = _workloads()


def main(argv: list[str] | None = None) -> int:
    """Run the segmentation codec workloads alone and print their summary table."""
    import tempfile
    from pathlib import Path

    from benchmarks.common import Geometry
    from benchmarks.tools import ADAPTERS

    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.codec_segmentation", description=__doc__
    )
    ap.add_argument("--size", type=int, default=MAX_SIDE, help=f"volume side (default {MAX_SIDE})")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats; best is reported")
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    args = ap.parse_args(argv)
    geom = Geometry(args.size, CHUNK)
    with tempfile.TemporaryDirectory() as scratch:
        ctx = BenchContext(
            geom=geom,
            vol=np.zeros((0, 0, 0, 1), dtype=np.uint8),  # the EM volume is not used here
            scratch=Path(scratch),
            repeat=args.repeat,
            gzip_level=6,
            tools=["cloudvol", "cloud-volume", "tensorstore", "reference"],
            adapters=ADAPTERS,
            log=lambda s: print(s, flush=True),
        )
        results = [WORKLOADS[name.strip()](ctx) for name in args.only.split(",") if name.strip()]
    side = min(args.size, MAX_SIDE)
    print(f"\n## Summary (MB/s = {MB:.0e} voxel bytes/s; {side**3 * 8 / MiB:.0f} MiB volume)\n")
    print(summary_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"workloads": {w.name: w.to_json() for w in results}}, f, indent=2)
    failed = [
        f"{w.name}/{t}"
        for w in results
        for t, m in w.results.items()
        if isinstance(m, Measurement) and m.status in ("error", "wrong")
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
