"""Which gzip implementation should cloudvol's storage layer use?

Compares, on chunk-sized buffers of realistic data, the gzip (RFC 1952) codecs
importable here: stdlib zlib, isal (``isal_zlib`` and ``igzip``), zlib-ng
(``zlib_ng``, optional) and libdeflate (``deflate``). Prints ratio and raw MB/s
(uncompressed bytes per second, both directions) for:

* ``em``:  smooth, noisy uint8 "electron microscopy" (barely compressible);
* ``seg``: uint64 label volume of Voronoi-like cells with random 40-bit ids.

at 256 KiB and 2 MiB per chunk (8 distinct chunks per set). Every compressed
stream is checked with Python's ``gzip.decompress``. Run:

    uv run python benchmarks/bench_gzip.py [--reps 5] [--quick]

The result and the choice are recorded in ``docs/compression.md``.
"""

from __future__ import annotations

import argparse
import gzip
import time
import zlib
from collections.abc import Callable

import numpy as np

try:
    from isal import igzip, isal_zlib
except ImportError:  # pragma: no cover - optional in the benchmark
    isal_zlib = igzip = None
try:
    import deflate
except ImportError:  # pragma: no cover
    deflate = None
try:
    from zlib_ng import gzip_ng, zlib_ng
except ImportError:  # pragma: no cover
    zlib_ng = gzip_ng = None

Codec = Callable[[bytes], bytes]


def _box_blur(a: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Running mean of ``width`` along ``axis`` (edges wrap; fine for test data)."""
    c = np.cumsum(np.concatenate([a, a.take(range(width), axis=axis)], axis=axis), axis=axis)
    lead = c.take(range(width, width + a.shape[axis]), axis=axis)
    lag = c.take(range(a.shape[axis]), axis=axis)
    return (lead - lag) / width


def em_chunk(side: int, rng: np.random.Generator) -> bytes:
    """Smooth structure (blurred noise, std ~40) plus fine noise (sigma 4), uint8."""
    a = rng.normal(size=(side, side, side))
    for _ in range(3):  # three box passes approximate a gaussian of sigma ~3
        for axis in range(3):
            a = _box_blur(a, 5, axis)
    a = 128 + 40 * a / a.std() + rng.normal(scale=4, size=a.shape)
    return np.clip(a, 0, 255).astype(np.uint8).tobytes(order="F")


def seg_chunk(side: int, rng: np.random.Generator, cell: int = 9) -> bytes:
    """Nearest-seed (Voronoi) cells about ``cell`` voxels wide, random 40-bit ids."""
    n = max(2, round(side / cell) ** 3)
    seeds = rng.uniform(0, side, size=(n, 3))
    ids = rng.integers(1, 2**40, size=n, dtype=np.uint64)
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    best = np.empty(len(grid), dtype=np.int64)
    step = 32768
    for i in range(0, len(grid), step):
        d = ((grid[i : i + step, None, :] - seeds[None, :, :]) ** 2).sum(-1)
        best[i : i + step] = d.argmin(1)
    return ids[best].reshape(side, side, side).tobytes(order="F")


def compressors() -> dict[str, Codec]:
    out: dict[str, Codec] = {}
    for lvl in (1, 6, 9):
        out[f"zlib L{lvl}"] = lambda d, lvl=lvl: _zlib_gzip(zlib, d, lvl)
    if isal_zlib is not None:
        for lvl in (0, 1, 2, 3):
            out[f"isal_zlib L{lvl}"] = lambda d, lvl=lvl: isal_zlib.compress(d, lvl, 31)
        out["igzip L2"] = lambda d: igzip.compress(d, 2)
    if zlib_ng is not None:
        for lvl in (1, 6, 9):
            out[f"zlib_ng L{lvl}"] = lambda d, lvl=lvl: _zlib_gzip(zlib_ng, d, lvl)
    if deflate is not None:
        for lvl in (1, 4, 6, 9, 12):
            out[f"libdeflate L{lvl}"] = lambda d, lvl=lvl: bytes(deflate.gzip_compress(d, lvl))
    return out


def _zlib_gzip(mod, data: bytes, level: int) -> bytes:
    c = mod.compressobj(level, mod.DEFLATED, 31)
    return c.compress(data) + c.flush()


def decompressors() -> dict[str, Codec]:
    out: dict[str, Codec] = {
        "zlib": lambda s: zlib.decompress(s, 31),
        "gzip.decompress": gzip.decompress,
    }
    if isal_zlib is not None:
        out["isal_zlib"] = lambda s: isal_zlib.decompress(s, 31)
        out["igzip"] = igzip.decompress
    if zlib_ng is not None:
        out["zlib_ng"] = lambda s: zlib_ng.decompress(s, 31)
    if deflate is not None:
        out["libdeflate (bytearray)"] = deflate.gzip_decompress
    try:
        from cloudvol.storage.compression import decompress
    except ImportError:  # pragma: no cover - run outside the project
        return out
    # What cloudvol ships: libdeflate, result checked against the gzip trailer,
    # copied to bytes (falls back to igzip when the check fails).
    out["cloudvol decompress"] = lambda s: decompress(s, "gzip")
    return out


def best_time(fn: Codec, inputs: list[bytes], reps: int) -> float:
    fn(inputs[0])  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for x in inputs:
            fn(x)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="256 KiB chunks only")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    sets = {
        "em 256K": [em_chunk(64, rng) for _ in range(args.chunks)],
        "seg 256K": [seg_chunk(32, rng) for _ in range(args.chunks)],
    }
    if not args.quick:
        sets["em 2M"] = [em_chunk(128, rng) for _ in range(args.chunks)]
        sets["seg 2M"] = [seg_chunk(64, rng) for _ in range(args.chunks)]
    names = list(sets)

    print("## compress: ratio / MB/s (raw bytes per second)\n")
    print("| codec | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for cname, comp in compressors().items():
        cells = []
        for sname in names:
            data = sets[sname]
            streams = [comp(d) for d in data]
            for d, s in zip(data, streams, strict=True):
                assert gzip.decompress(s) == d, f"{cname} output is not standard gzip"
            ratio = sum(map(len, data)) / sum(map(len, streams))
            t = best_time(comp, data, args.reps)
            cells.append(f"{ratio:.2f} / {sum(map(len, data)) / t / 1e6:.0f}")
        print(f"| {cname} | " + " | ".join(cells) + " |", flush=True)

    print("\n## decompress: MB/s of output, for streams from zlib L9 and isal L2\n")
    sources = {"zlib L9": lambda d: _zlib_gzip(zlib, d, 9)}
    if isal_zlib is not None:
        sources["isal L2"] = lambda d: isal_zlib.compress(d, 2, 31)
    cols = [f"{s} ({src})" for src in sources for s in names]
    print("| decoder | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    streams = {(src, s): [enc(d) for d in sets[s]] for src, enc in sources.items() for s in names}
    for dname, dec in decompressors().items():
        cells = []
        for src in sources:
            for sname in names:
                ins = streams[(src, sname)]
                for s, d in zip(ins, sets[sname], strict=True):
                    assert bytes(dec(s)) == d, f"{dname} decoded wrongly"
                t = best_time(dec, ins, args.reps)
                cells.append(f"{sum(map(len, sets[sname])) / t / 1e6:.0f}")
        print(f"| {dname} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
