"""Image codec workloads (png, jpeg, jxl): encode and decode every 64³ chunk of an
EM-like volume, cloudvol against cloud-volume, tensorstore and a plain reference.

How each tool runs (the same chunks, the same bytes, the same checks):

* cloudvol: ``cloudvol.codecs.get_codec(encoding)`` on each chunk in a 2-thread pool,
  as cloudvol's volume layer runs codecs; decoded chunks are painted into one
  Fortran-ordered output inside the workers, like a volume read;
* cloud-volume: ``cloudvolume.chunks.encode/decode`` per chunk in the same 2-thread
  pool, painted the same way;
* tensorstore (png and jpeg only): writes the whole array into, or reads it from, a
  ``memory://`` kvstore holding the chunks, its own threads, chunk cache off;
* reference: the image library cloudvol uses, called directly per chunk in one
  thread (the bar for per-chunk overhead).

Encode inputs are views of the source volume, as a volume write passes them. Every
encode is checked by decoding its bytes with the reference decoder (lossless: exact;
lossy: PSNR at least ``min_psnr``); every decode is compared with the reference
decode of the same bytes. MB/s is 10^6 uncompressed voxel bytes per second.

png and jxl run on a 256³ sub-volume (their encoders manage 7-30 MB/s per core, so
512³ would take minutes); jpeg on the full volume.

    uv run python -m benchmarks.codec_image --size 256
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
    make_volume,
    measure,
    summary_table,
    view,
)
from benchmarks.context import BenchContext

CHUNK = 64
POOL_THREADS = 2  # what cloudvol's volume layer uses on this 2-core machine
SLOW_CODEC_SIDE = 256
SLOW_ENCODE_REPEAT = 2  # png16 and jxl encoders run at 7-30 MB/s: best of 2 at most
Box = tuple[tuple[int, int, int], tuple[int, int, int]]


@dataclass(frozen=True)
class ImageCase:
    """One encoding and dtype with every tool's spelling of the same options."""

    encoding: str
    dtype: str
    max_side: int
    options: dict[str, Any]  # the scale fields (cloudvol ChunkSpec.options)
    cloudvolume_params: dict[str, Any] | None  # None: cloud-volume cannot do it
    tensorstore_scale: dict[str, Any] | None  # None: tensorstore has no such encoding
    min_psnr: float | None = None  # None: lossless, must be exact
    why_not_cloudvolume: str = ""
    notes: list[str] = field(default_factory=list)


CASES: dict[str, ImageCase] = {
    "png": ImageCase(
        "png", "uint8", SLOW_CODEC_SIDE, {"png_level": 9}, {"level": 9}, {"png_level": 9}
    ),
    "png16": ImageCase(
        "png",
        "uint16",
        SLOW_CODEC_SIDE,
        {"png_level": 9},
        None,
        {"png_level": 9},
        why_not_cloudvolume="cloud-volume (pyspng) cannot write or read 16-bit grayscale png",
        notes=["uint16 data: the EM volume ×16 plus 4 bits of noise (12-bit microscopy)"],
    ),
    "jpeg": ImageCase(
        "jpeg", "uint8", 1 << 30, {"jpeg_quality": 85}, {"level": 85}, {"jpeg_quality": 85}, 33.0
    ),
    "jxl": ImageCase(
        "jxl",
        "uint8",
        SLOW_CODEC_SIDE,
        {"jxl_quality": 85, "jxl_effort": 5, "jxl_decodingspeed": 0},
        {"level": 85, "jxl_effort": 5, "jxl_decodingspeed": 0},
        None,
        33.0,
    ),
}


# --------------------------------------------------------------------------- data


def case_volume(ctx: BenchContext, case: ImageCase) -> np.ndarray:
    """The source volume for ``case``: the EM volume (cut to ``max_side``), as uint16
    for 16-bit cases. Fortran-ordered ``(s, s, s, 1)``."""
    side = min(ctx.geom.size, case.max_side)
    vol = ctx.vol[:side, :side, :side]
    if case.dtype == "uint16":
        rng = np.random.default_rng(16)
        noise = rng.integers(0, 16, size=vol.shape, dtype=np.uint16)
        vol = vol.astype(np.uint16) * 16 + noise
    return np.asfortranarray(vol)


def psnr(actual: np.ndarray, expected: np.ndarray, peak: float) -> float:
    err = actual.astype(np.float64) - expected.astype(np.float64)
    mse = float(np.mean(err**2))
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


# --------------------------------------------------------------------------- reference


def reference_encode(case: ImageCase, chunk: np.ndarray) -> bytes:
    """The library call cloudvol makes, done by hand: image X wide and Y·Z high."""
    import imagecodecs
    import simplejpeg

    x, y, z, _ = chunk.shape
    image = np.ascontiguousarray(chunk[..., 0].transpose(2, 1, 0)).reshape(y * z, x)
    if case.encoding == "png":
        return bytes(imagecodecs.png_encode(image, level=case.options["png_level"], strategy=1))
    if case.encoding == "jpeg":
        return simplejpeg.encode_jpeg(
            image[..., np.newaxis],
            quality=case.options["jpeg_quality"],
            colorspace="GRAY",
            colorsubsampling="Gray",
        )
    return bytes(
        imagecodecs.jpegxl_encode(
            image,
            photometric="GRAY",
            level=case.options["jxl_quality"],
            effort=case.options["jxl_effort"],
            decodingspeed=case.options["jxl_decodingspeed"],
            numthreads=1,
        )
    )


def reference_decode(case: ImageCase, data: bytes, box: Box) -> np.ndarray:
    """The chunk in ``data`` as a ``(x, y, z, 1)`` view, decoded with the library."""
    import imagecodecs
    import simplejpeg

    if case.encoding == "png":
        image = imagecodecs.png_decode(data)
    elif case.encoding == "jpeg":
        image = simplejpeg.decode_jpeg(data, colorspace="GRAY")
    else:
        image = imagecodecs.jpegxl_decode(data, numthreads=1)
    (x0, y0, z0), (x1, y1, z1) = box
    return image.reshape(z1 - z0, y1 - y0, x1 - x0, 1).transpose(2, 1, 0, 3)


def decode_all(case: ImageCase, encoded: list[bytes], boxes: list[Box], side: int) -> np.ndarray:
    out = np.empty((side, side, side, 1), dtype=case.dtype, order="F")
    for data, box in zip(encoded, boxes, strict=True):
        view(out, box)[...] = reference_decode(case, data, box)
    return out


def check_encoded(
    case: ImageCase, tool: str, encoded: list[bytes], boxes: list[Box], source: np.ndarray
) -> None:
    """The bytes must decode (reference decoder) to the source, exactly or within PSNR."""
    got = decode_all(case, encoded, boxes, source.shape[0])
    if case.min_psnr is None:
        check_equal(f"{tool}'s {case.encoding} chunks", got, source)
        return
    value = psnr(got, source, float(np.iinfo(case.dtype).max))
    if value < case.min_psnr:
        raise WrongResult(f"{tool}'s {case.encoding} chunks: PSNR {value:.1f} dB < {case.min_psnr}")


# --------------------------------------------------------------------------- tools


def _pool_map(fn: Callable[[int], Any], n: int) -> list[Any]:
    with ThreadPoolExecutor(POOL_THREADS) as pool:
        return list(pool.map(fn, range(n)))


def _cloudvol_codec(case: ImageCase) -> tuple[Any, Callable[[Box], Any]]:
    from cloudvol.codecs import ChunkSpec, get_codec

    codec = get_codec(case.encoding)
    dtype = np.dtype(case.dtype)

    def spec(box: Box) -> Any:
        (x0, y0, z0), (x1, y1, z1) = box
        return ChunkSpec(
            (x1 - x0, y1 - y0, z1 - z0, 1), dtype, options=case.options, key=chunk_name(box)
        )

    return codec, spec


def encoder(tool: str, case: ImageCase, boxes: list[Box]) -> Callable[[np.ndarray], list[bytes]]:
    """``encode(volume) -> [bytes per box]`` for chunk-level tools."""
    if tool == "cloudvol":
        codec, spec = _cloudvol_codec(case)
        specs = [spec(b) for b in boxes]
        return lambda vol: _pool_map(
            lambda i: bytes(codec.encode(view(vol, boxes[i]), specs[i])), len(boxes)
        )
    if tool == "cloud-volume":
        if case.cloudvolume_params is None:
            raise NotApplicable(case.why_not_cloudvolume)
        from cloudvolume import chunks as cv_chunks

        params = case.cloudvolume_params
        return lambda vol: _pool_map(
            lambda i: cv_chunks.encode(
                view(vol, boxes[i]), case.encoding, compression_params=params
            ),
            len(boxes),
        )
    if tool == "reference":
        return lambda vol: [reference_encode(case, view(vol, b)) for b in boxes]
    raise AssertionError(tool)


def decoder(
    tool: str, case: ImageCase, boxes: list[Box], side: int
) -> Callable[[list[bytes]], np.ndarray]:
    """``decode(encoded) -> volume`` for chunk-level tools, painting each chunk."""
    dtype = np.dtype(case.dtype)
    if tool == "cloudvol":
        codec, spec = _cloudvol_codec(case)
        specs = [spec(b) for b in boxes]

        def one(i: int, encoded: list[bytes], out: np.ndarray) -> None:
            view(out, boxes[i])[...] = codec.decode(encoded[i], specs[i])

    elif tool == "cloud-volume":
        if case.cloudvolume_params is None:
            raise NotApplicable(case.why_not_cloudvolume)
        from cloudvolume import chunks as cv_chunks

        def one(i: int, encoded: list[bytes], out: np.ndarray) -> None:
            target = view(out, boxes[i])
            target[...] = cv_chunks.decode(encoded[i], case.encoding, target.shape, dtype)

    elif tool == "reference":

        def run(encoded: list[bytes]) -> np.ndarray:
            return decode_all(case, encoded, boxes, side)

        return run
    else:
        raise AssertionError(tool)

    def decode(encoded: list[bytes]) -> np.ndarray:
        out = np.empty((side, side, side, 1), dtype=dtype, order="F")
        _pool_map(lambda i: one(i, encoded, out), len(boxes))
        return out

    return decode


class TensorStoreMemory:
    """A neuroglancer_precomputed layer in a tensorstore ``memory://`` kvstore."""

    def __init__(self, case: ImageCase, side: int) -> None:
        if case.tensorstore_scale is None:
            raise NotApplicable(f"tensorstore has no {case.encoding} encoding")
        import tensorstore as ts

        self.ts, self.case, self.side = ts, case, side
        self.context = ts.Context({"cache_pool": {"total_bytes_limit": 0}})
        self.kvstore = ts.KvStore.open({"driver": "memory"}, context=self.context).result()

    def info(self) -> dict[str, Any]:
        scale = {
            "key": "1_1_1",
            "size": [self.side] * 3,
            "resolution": [1, 1, 1],
            "voxel_offset": [0, 0, 0],
            "chunk_sizes": [[CHUNK] * 3],
            "encoding": self.case.encoding,
            **(self.case.tensorstore_scale or {}),
        }
        return {
            "@type": "neuroglancer_multiscale_volume",
            "type": "image",
            "data_type": self.case.dtype,
            "num_channels": 1,
            "scales": [scale],
        }

    def create(self) -> Any:
        spec = {
            "driver": "neuroglancer_precomputed",
            "kvstore": {"driver": "memory"},
            "multiscale_metadata": {
                "type": "image",
                "data_type": self.case.dtype,
                "num_channels": 1,
            },
            "scale_metadata": {
                "size": [self.side] * 3,
                "resolution": [1, 1, 1],
                "chunk_size": [CHUNK] * 3,
                "encoding": self.case.encoding,
                **(self.case.tensorstore_scale or {}),
            },
            "create": True,
        }
        return self.ts.open(spec, context=self.context).result()

    def load(self, encoded: list[bytes], boxes: list[Box]) -> Any:
        self.kvstore.write("info", json.dumps(self.info()).encode()).result()
        for data, box in zip(encoded, boxes, strict=True):
            self.kvstore.write(chunk_name(box), data).result()
        spec = {"driver": "neuroglancer_precomputed", "kvstore": {"driver": "memory"}}
        return self.ts.open(spec, context=self.context).result()

    def stored(self, boxes: list[Box]) -> list[bytes]:
        return [bytes(self.kvstore.read(chunk_name(b)).result().value) for b in boxes]


# --------------------------------------------------------------------------- workloads


def _label(case: ImageCase, side: int) -> str:
    opts = ", ".join(f"{k}={v}" for k, v in case.options.items())
    return (
        f"{side}³ {case.dtype} EM-like, {CHUNK}³ chunks ({len(chunk_boxes(side))}), "
        f"{case.encoding} {opts}"
    )


def _encode_workload(ctx: BenchContext, name: str, case: ImageCase) -> WorkloadResult:
    source = case_volume(ctx, case)
    side = source.shape[0]
    boxes = chunk_boxes(side)
    slow = case.encoding == "jxl" or case.dtype == "uint16"
    repeat = min(ctx.repeat, SLOW_ENCODE_REPEAT) if slow else ctx.repeat
    result = WorkloadResult(name, f"encode {_label(case, side)}", source.nbytes)
    ctx.log(f"\n## {name}: {result.description}")
    sizes: dict[str, int] = {}
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            if tool == "tensorstore":
                state: dict[str, Any] = {}

                def setup() -> None:
                    state["mem"] = TensorStoreMemory(case, side)
                    state["store"] = state["mem"].create()

                def check_ts(_: Any) -> None:
                    encoded = state["mem"].stored(boxes)
                    sizes[tool] = sum(map(len, encoded))
                    check_encoded(case, tool, encoded, boxes, source)

                TensorStoreMemory(case, side)  # NotApplicable before any timing
                return best_of(
                    repeat,
                    lambda: state["store"].write(source).result(),
                    setup,
                    check_ts,
                )
            encode = encoder(tool, case, boxes)

            def check(encoded: list[bytes]) -> None:
                sizes[tool] = sum(map(len, encoded))
                check_encoded(case, tool, encoded, boxes, source)

            return best_of(repeat, lambda: encode(source), None, check)

        m = measure(tool, source.nbytes, timed, ctx.log)
        if m.status == "ok" and tool in sizes:
            m.note = f"compression ratio {source.nbytes / sizes[tool]:.3f}"
            ctx.log(f"    {'':<13} {m.note}")
        result.results[tool] = m
    result.notes += [
        f"cloudvol and cloud-volume encode chunks in a {POOL_THREADS}-thread pool; "
        "tensorstore writes the array to a memory:// kvstore with its own threads; "
        f"reference: the library called per chunk in one thread; best of {repeat}",
        *case.notes,
    ]
    return result


def _decode_workload(ctx: BenchContext, name: str, case: ImageCase) -> WorkloadResult:
    source = case_volume(ctx, case)
    side = source.shape[0]
    boxes = chunk_boxes(side)
    encoded = [reference_encode(case, view(source, b)) for b in boxes]
    expected = decode_all(case, encoded, boxes, side)
    result = WorkloadResult(name, f"decode {_label(case, side)}", source.nbytes)
    ctx.log(f"\n## {name}: {result.description}")
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            def check(got: Any) -> None:
                check_equal(f"{tool}'s decoded {case.encoding}", got, expected)

            if tool == "tensorstore":
                store = TensorStoreMemory(case, side).load(encoded, boxes)
                return best_of(ctx.repeat, lambda: store.read(order="F").result(), None, check)
            decode = decoder(tool, case, boxes, side)
            return best_of(ctx.repeat, lambda: decode(encoded), None, check)

        result.results[tool] = measure(tool, source.nbytes, timed, ctx.log)
    ratio = source.nbytes / sum(map(len, encoded))
    result.notes += [
        f"every tool decodes the same chunk bytes (ratio {ratio:.2f}) and paints a "
        f"Fortran-ordered volume; cloudvol and cloud-volume in a {POOL_THREADS}-thread pool, "
        "tensorstore from a memory:// kvstore with its own threads, chunk cache off; "
        "reference: the library per chunk in one thread",
        *case.notes,
    ]
    return result


def encode_png(ctx: BenchContext) -> WorkloadResult:
    return _encode_workload(ctx, "encode-png", CASES["png"])


def decode_png(ctx: BenchContext) -> WorkloadResult:
    return _decode_workload(ctx, "decode-png", CASES["png"])


def encode_png16(ctx: BenchContext) -> WorkloadResult:
    return _encode_workload(ctx, "encode-png16", CASES["png16"])


def decode_png16(ctx: BenchContext) -> WorkloadResult:
    return _decode_workload(ctx, "decode-png16", CASES["png16"])


def encode_jpeg(ctx: BenchContext) -> WorkloadResult:
    return _encode_workload(ctx, "encode-jpeg", CASES["jpeg"])


def decode_jpeg(ctx: BenchContext) -> WorkloadResult:
    return _decode_workload(ctx, "decode-jpeg", CASES["jpeg"])


def encode_jxl(ctx: BenchContext) -> WorkloadResult:
    return _encode_workload(ctx, "encode-jxl", CASES["jxl"])


def decode_jxl(ctx: BenchContext) -> WorkloadResult:
    return _decode_workload(ctx, "decode-jxl", CASES["jxl"])


WORKLOADS: dict[str, Callable[[BenchContext], WorkloadResult]] = {
    "encode-png": encode_png,
    "decode-png": decode_png,
    "encode-png16": encode_png16,
    "decode-png16": decode_png16,
    "encode-jpeg": encode_jpeg,
    "decode-jpeg": decode_jpeg,
    "encode-jxl": encode_jxl,
    "decode-jxl": decode_jxl,
}


def main(argv: list[str] | None = None) -> int:
    """Run the image codec workloads alone and print their summary table."""
    import tempfile
    from pathlib import Path

    from benchmarks.common import Geometry
    from benchmarks.tools import ADAPTERS

    ap = argparse.ArgumentParser(prog="python -m benchmarks.codec_image", description=__doc__)
    ap.add_argument("--size", type=int, default=512, help="volume side (default 512)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats; best is reported")
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    ap.add_argument(
        "--tools",
        default="cloudvol,cloud-volume,tensorstore,reference",
        help="comma-separated tools, run in this order",
    )
    args = ap.parse_args(argv)
    geom = Geometry(args.size, CHUNK)
    with tempfile.TemporaryDirectory() as scratch:
        ctx = BenchContext(
            geom=geom,
            vol=make_volume(args.size),
            scratch=Path(scratch),
            repeat=args.repeat,
            gzip_level=6,
            tools=[t.strip() for t in args.tools.split(",") if t.strip()],
            adapters=ADAPTERS,
            log=lambda s: print(s, flush=True),
        )
        results = [WORKLOADS[name.strip()](ctx) for name in args.only.split(",") if name.strip()]
    print(f"\n## Summary (MB/s = {MB:.0e} voxel bytes/s; {geom.nbytes / MiB:.0f} MiB volume)\n")
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
