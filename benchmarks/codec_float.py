"""Float codec workloads: ``fpzip``, ``kempressed`` and ``zfpc`` chunk encode and decode.

The data is a float32 volume that looks like a network's affinity output: a smooth
field squashed into (0, 1) (blurred noise through a logistic) plus per-voxel float
noise, so no two values repeat and the low mantissa bits are noisy. It is cut into
64³ chunks once (untimed); every timed run encodes (or decodes) all of them:

* cloudvol: the registered codec object (what the volume layer calls), chunks spread
  over a 2-thread pool, as the volume layer's workers spread them;
* cloud-volume: ``cloudvolume.chunks.encode/decode`` with the scale's parameters (as
  its volume code passes them), over the same 2-thread pool;
* reference: the bare library on one thread (``fpzip.compress``/``decompress``,
  numpy's +2 and axis swap around fpzip, the ``zfpc`` package);
* tensorstore: n/a (its precomputed driver has none of these encodings).

MB/s is 10^6 uncompressed voxel bytes per second. Every encode is checked by
decoding its bytes with the reference library and comparing with the source (exact
where the setting is lossless, within the tolerance otherwise); every decode is
compared with the source (or, for lossy bytes, with the reference decode).

The side defaults to min(--size, 256): at 512³ the slowest tool (zfpc's reversible
mode, ~25 MB/s per core) would take minutes. Run alone:

    uv run python -m benchmarks.codec_float [--size 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    Geometry,
    MiB,
    NotApplicable,
    Timing,
    WorkloadResult,
    WrongResult,
    best_of,
    measure,
    summary_table,
)
from benchmarks.context import BenchContext

MAX_SIDE = 256
POOL_THREADS = 2


@dataclass(frozen=True)
class Setting:
    """One encoding with the scale fields a layer would carry."""

    encoding: str
    scale_options: dict[str, Any] = field(default_factory=dict)
    #: largest absolute error the setting allows (0: lossless)
    tolerance: float = 0.0

    @property
    def label(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.scale_options.items())
        return f"{self.encoding}{f' ({opts})' if opts else ''}"

    def cloudvolume_params(self) -> dict[str, Any]:
        """``compression_params`` as cloud-volume's metadata builds them for the scale."""
        o = self.scale_options
        if self.encoding == "fpzip":
            return {"level": o.get("fpzip_precision")}
        if self.encoding == "zfpc":
            return {
                "rate": o.get("zfpc_rate", -1),
                "precision": o.get("zfpc_precision", -1),
                "tolerance": o.get("zfpc_tolerance", -1),
                "correlated_dims": o.get("zfpc_correlated_dims", [True] * 4),
            }
        return {}


SETTINGS = {
    "fpzip": Setting("fpzip"),
    "kempressed": Setting("kempressed"),
    "zfpc": Setting("zfpc"),
    "zfpc-tolerance": Setting(
        "zfpc",
        {"zfpc_tolerance": 1e-3, "zfpc_correlated_dims": [True, True, True, False]},
        tolerance=1e-3,
    ),
}


# --------------------------------------------------------------------------- data


def _blur(a: np.ndarray, axis: int) -> np.ndarray:
    return (
        np.roll(a, -2, axis) + np.roll(a, -1, axis) + a + np.roll(a, 1, axis) + np.roll(a, 2, axis)
    ) / 5


def float_volume(side: int, seed: int = 0) -> np.ndarray:
    """``(side, side, side, 1)`` float32 affinity-like data, Fortran-ordered."""
    rng = np.random.default_rng(seed)
    tile = min(side, 128)
    a = rng.standard_normal((tile, tile, tile), dtype=np.float32)
    for _ in range(3):
        for axis in range(3):
            a = _blur(a, axis)
    smooth = 1.0 / (1.0 + np.exp(-3.0 * a / a.std()))
    reps = -(-side // tile)
    vol = np.asfortranarray(np.tile(smooth, (reps,) * 3)[:side, :side, :side], dtype=np.float32)
    vol += rng.normal(0, 0.01, size=vol.shape).astype(np.float32)
    return vol[..., np.newaxis]


@dataclass
class FloatChunks:
    side: int
    chunk: int
    chunks: list[np.ndarray]  # F-contiguous (c, c, c, 1) float32, x fastest
    nbytes: int
    encoded: dict[str, list[bytes]] = field(default_factory=dict)


_CACHE: dict[tuple[int, int], FloatChunks] = {}


def float_chunks(ctx: BenchContext) -> FloatChunks:
    side, c = min(ctx.geom.size, MAX_SIDE), ctx.geom.chunk
    key = (side, c)
    if key not in _CACHE:
        _CACHE.clear()
        vol = float_volume(side)
        parts = [
            np.asfortranarray(vol[x : x + c, y : y + c, z : z + c])
            for z in range(0, side, c)
            for y in range(0, side, c)
            for x in range(0, side, c)
        ]
        _CACHE[key] = FloatChunks(side, c, parts, vol.nbytes)
    return _CACHE[key]


# --------------------------------------------------------------------------- tools


def _spec(setting: Setting, arr_shape: tuple[int, ...]) -> Any:
    from cloudvol.codecs import ChunkSpec

    return ChunkSpec(shape=arr_shape, dtype=np.dtype(np.float32), options=setting.scale_options)  # type: ignore[arg-type]


def _encoder(tool: str, setting: Setting) -> Callable[[np.ndarray], bytes]:
    if tool == "cloudvol":
        from cloudvol.codecs import get_codec

        codec = get_codec(setting.encoding)
        return lambda a: codec.encode(a, _spec(setting, a.shape))  # type: ignore[return-value]
    if tool == "cloud-volume":
        from cloudvolume import chunks as cv_chunks

        params = setting.cloudvolume_params()
        return lambda a: cv_chunks.encode(a, setting.encoding, compression_params=params)
    if tool == "reference":
        return _reference_encoder(setting)
    raise NotApplicable(f"{tool} has no {setting.encoding} encoding")


def _decoder(tool: str, setting: Setting, shape: tuple[int, ...]) -> Callable[[bytes], np.ndarray]:
    if tool == "cloudvol":
        from cloudvol.codecs import get_codec

        codec, spec = get_codec(setting.encoding), _spec(setting, shape)
        return lambda b: codec.decode(b, spec)
    if tool == "cloud-volume":
        from cloudvolume import chunks as cv_chunks

        return lambda b: cv_chunks.decode(b, setting.encoding, shape=shape, dtype=np.float32)
    if tool == "reference":
        return _reference_decoder(setting)
    raise NotApplicable(f"{tool} has no {setting.encoding} encoding")


def _reference_encoder(setting: Setting) -> Callable[[np.ndarray], bytes]:
    import fpzip

    if setting.encoding == "fpzip":
        prec = setting.scale_options.get("fpzip_precision") or 0
        return lambda a: fpzip.compress(a, precision=prec, order="F")
    if setting.encoding == "kempressed":
        return lambda a: fpzip.compress(np.swapaxes(a, 2, 3) + np.float32(2), order="F")
    import zfpc

    params = setting.cloudvolume_params()
    return lambda a: zfpc.compress(a, **params)


def _reference_decoder(setting: Setting) -> Callable[[bytes], np.ndarray]:
    import fpzip

    if setting.encoding == "fpzip":
        return lambda b: fpzip.decompress(b, order="F")
    if setting.encoding == "kempressed":
        return lambda b: np.swapaxes(fpzip.decompress(b, order="F"), 2, 3) - np.float32(2)
    import zfpc

    return zfpc.decompress


# --------------------------------------------------------------------------- checks


def _expected(setting: Setting, source: np.ndarray) -> np.ndarray:
    """What a lossless round trip of ``setting`` returns for ``source``."""
    if setting.encoding == "kempressed":
        two = np.float32(2)
        return (source + two) - two
    return source


def _compare(what: str, got: Any, expected: np.ndarray, tolerance: float) -> None:
    arr = np.asarray(got).reshape(expected.shape)
    if tolerance:
        err = float(np.max(np.abs(arr.astype(np.float64) - expected)))
        if not err <= tolerance:
            raise WrongResult(f"{what}: max error {err:g} > tolerance {tolerance:g}")
    elif not np.array_equal(arr, expected):
        bad = int(np.count_nonzero(arr != expected))
        raise WrongResult(f"{what}: {bad} of {expected.size} voxels differ")


def _check_encoded(setting: Setting, data: FloatChunks, tool: str, outputs: list[Any]) -> None:
    decode = _reference_decoder(setting)
    for i in range(0, len(outputs), max(1, len(outputs) // 8)):  # 8 chunks spread out
        source = data.chunks[i]
        _compare(
            f"{tool} chunk {i}",
            decode(bytes(outputs[i])),
            _expected(setting, source),
            setting.tolerance,
        )


def _reference_bytes(setting: Setting, data: FloatChunks, name: str) -> list[bytes]:
    if name not in data.encoded:
        encode = _reference_encoder(setting)
        data.encoded[name] = [encode(a) for a in data.chunks]
    return data.encoded[name]


# --------------------------------------------------------------------------- workloads


def _run(tool: str, fn: Callable[[Any], Any], items: list[Any], pool: ThreadPoolExecutor) -> Any:
    if tool == "reference":
        return lambda: [fn(item) for item in items]
    return lambda: list(pool.map(fn, items))


def _label(data: FloatChunks) -> str:
    n = len(data.chunks)
    return f"{data.side}³ float32 ({data.nbytes / MiB:.0f} MiB), {n} chunks of {data.chunk}³"


def encode_workload(ctx: BenchContext, name: str) -> WorkloadResult:
    setting = SETTINGS[name]
    data = float_chunks(ctx)
    result = WorkloadResult(
        f"encode-{name}", f"encode {_label(data)} as {setting.label}", data.nbytes
    )
    ctx.log(f"\n## {result.name}: {result.description}")
    with ThreadPoolExecutor(POOL_THREADS) as pool:
        for tool in ctx.tools:

            def timed(tool: str = tool) -> Timing:
                if tool == "tensorstore":
                    raise NotApplicable("tensorstore's precomputed driver has no float codecs")
                fn = _encoder(tool, setting)
                return best_of(
                    ctx.repeat,
                    _run(tool, fn, data.chunks, pool),
                    check=lambda out: _check_encoded(setting, data, tool, out),
                )

            result.results[tool] = measure(tool, data.nbytes, timed, ctx.log)
    ours, theirs = (_encoder(t, setting) for t in ("cloudvol", "cloud-volume"))
    same = all(bytes(ours(a)) == theirs(a) for a in data.chunks[:4])
    size = sum(len(b) for b in _reference_bytes(setting, data, name))
    result.notes += [
        f"cloudvol and cloud-volume on a {POOL_THREADS}-thread pool, reference on one thread",
        f"cloudvol's bytes {'equal' if same else 'DIFFER FROM'} cloud-volume's; "
        f"compression ratio {data.nbytes / size:.2f}",
    ]
    return result


def decode_workload(ctx: BenchContext, name: str) -> WorkloadResult:
    setting = SETTINGS[name]
    data = float_chunks(ctx)
    encoded = _reference_bytes(setting, data, name)
    result = WorkloadResult(
        f"decode-{name}", f"decode {_label(data)} from {setting.label}", data.nbytes
    )
    ctx.log(f"\n## {result.name}: {result.description}")
    shape = data.chunks[0].shape
    lossy = setting.tolerance > 0
    reference = _reference_decoder(setting)
    expected = [
        np.asarray(reference(encoded[i])).reshape(shape)
        if lossy
        else _expected(setting, data.chunks[i])
        for i in range(len(encoded))
    ]

    def check(tool: str, outputs: list[Any]) -> None:
        for i in range(0, len(outputs), max(1, len(outputs) // 8)):
            _compare(f"{tool} chunk {i}", outputs[i], expected[i], 0.0)

    with ThreadPoolExecutor(POOL_THREADS) as pool:
        for tool in ctx.tools:

            def timed(tool: str = tool) -> Timing:
                if tool == "tensorstore":
                    raise NotApplicable("tensorstore's precomputed driver has no float codecs")
                fn = _decoder(tool, setting, shape)
                return best_of(
                    ctx.repeat, _run(tool, fn, encoded, pool), check=lambda out: check(tool, out)
                )

            result.results[tool] = measure(tool, data.nbytes, timed, ctx.log)
    result.notes.append(
        f"cloudvol and cloud-volume on a {POOL_THREADS}-thread pool, reference on one thread"
    )
    data.encoded.pop(name, None)  # up to 3x the volume for zfpc's defaults
    return result


def encode_fpzip(ctx: BenchContext) -> WorkloadResult:
    return encode_workload(ctx, "fpzip")


def decode_fpzip(ctx: BenchContext) -> WorkloadResult:
    return decode_workload(ctx, "fpzip")


def encode_kempressed(ctx: BenchContext) -> WorkloadResult:
    return encode_workload(ctx, "kempressed")


def decode_kempressed(ctx: BenchContext) -> WorkloadResult:
    return decode_workload(ctx, "kempressed")


def encode_zfpc(ctx: BenchContext) -> WorkloadResult:
    return encode_workload(ctx, "zfpc")


def decode_zfpc(ctx: BenchContext) -> WorkloadResult:
    return decode_workload(ctx, "zfpc")


def encode_zfpc_tolerance(ctx: BenchContext) -> WorkloadResult:
    return encode_workload(ctx, "zfpc-tolerance")


def decode_zfpc_tolerance(ctx: BenchContext) -> WorkloadResult:
    return decode_workload(ctx, "zfpc-tolerance")


#: name -> workload, in the form benchmarks/run.py's WORKLOADS takes
WORKLOADS: dict[str, Callable[[BenchContext], WorkloadResult]] = {
    "encode-fpzip": encode_fpzip,
    "decode-fpzip": decode_fpzip,
    "encode-kempressed": encode_kempressed,
    "decode-kempressed": decode_kempressed,
    "encode-zfpc": encode_zfpc,
    "decode-zfpc": decode_zfpc,
    "encode-zfpc-tolerance": encode_zfpc_tolerance,
    "decode-zfpc-tolerance": decode_zfpc_tolerance,
}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.common import TOOLS

    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.codec_float",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    ap.add_argument(
        "--size", type=int, default=MAX_SIDE, help=f"volume side (at most {MAX_SIDE} is used)"
    )
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        ctx = BenchContext(
            geom=Geometry(args.size, args.chunk),
            vol=np.empty((0, 0, 0, 1), np.uint8),
            scratch=Path(scratch),
            repeat=args.repeat,
            gzip_level=6,
            tools=list(TOOLS),
            adapters={},
            log=lambda s: print(s, flush=True),
        )
        results = []
        for name in filter(None, (n.strip() for n in args.only.split(","))):
            results.append(WORKLOADS[name](ctx))
            for note in results[-1].notes:
                print(f"    note: {note}")
    print(
        f"\n## Summary (MB/s of float32 voxels, best of {args.repeat}; ratios: cloudvol ÷ other)\n"
    )
    print(summary_table(results))
    failed = [
        f"{w.name}/{t}"
        for w in results
        for t, m in w.results.items()
        if m.status in ("error", "wrong")
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
