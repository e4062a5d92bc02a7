"""Local (file://) workloads: whole-volume writes and reads, raw and gzip, and random
unaligned cutouts. Every write is checked by reading the layer back with the
reference reader; every read is compared voxel for voxel with the source."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    GZIP_LIBRARY,
    Box,
    Measurement,
    MiB,
    Timing,
    WorkloadResult,
    WrongResult,
    best_of,
    check_equal,
    layer_stats,
    measure,
    read_reference_region,
)
from benchmarks.context import BenchContext

CUTOUTS = 100
CUTOUT_SIDE = 100
CUTOUT_SEED = 42


def _volume_label(ctx: BenchContext) -> str:
    g = ctx.geom
    return f"{g.size}³ uint8, {g.chunk}³ chunks ({g.grid**3} chunks, {g.nbytes / MiB:.0f} MiB)"


def _full_box(ctx: BenchContext) -> Box:
    return (0, 0, 0), (ctx.geom.size,) * 3


def _verify_layer(ctx: BenchContext, tool: str, layer: Path, gzip: bool, sizes: list[int]) -> None:
    """The written layer must hold exactly the source volume, with every chunk
    gzip-compressed (``.gz`` names) when ``gzip`` and none otherwise."""
    if not (layer / "info").exists():
        raise WrongResult(f"{tool} wrote no info file")
    got = read_reference_region(layer, ctx.geom, _full_box(ctx))
    check_equal(f"{tool}'s written layer", got, ctx.vol)
    files, gz, nbytes = layer_stats(layer, ctx.geom)
    expected_gz = files if gzip else 0
    if files != ctx.geom.grid**3 or gz != expected_gz:
        raise WrongResult(
            f"{tool} wrote {files} chunk files ({gz} .gz), expected "
            f"{ctx.geom.grid**3} ({expected_gz} .gz)"
        )
    sizes.append(nbytes)


def _write_one(
    ctx: BenchContext, name: str, tool: str, gzip: bool, level: int | None
) -> Measurement:
    adapter = ctx.adapters[tool]
    counter = itertools.count()
    state: dict[str, Any] = {}
    sizes: list[int] = []

    def setup() -> None:
        layer = ctx.scratch / f"{name}-{tool}-{next(counter)}"
        state["layer"] = layer
        state["write"] = adapter.prepare_write(layer, ctx.geom, gzip, level)

    def check(_: Any) -> None:
        try:
            _verify_layer(ctx, tool, state["layer"], gzip, sizes)
        finally:
            shutil.rmtree(state["layer"], ignore_errors=True)

    def timed() -> Timing:
        try:
            return best_of(ctx.repeat, lambda: state["write"](ctx.vol), setup, check)
        finally:
            if "layer" in state:
                shutil.rmtree(state["layer"], ignore_errors=True)

    m = measure(tool, ctx.geom.nbytes, timed, ctx.log)
    if m.status == "ok" and gzip and sizes:
        m.note = f"on disk {sizes[-1] / MiB:.1f} MiB (ratio {ctx.geom.nbytes / sizes[-1]:.3f})"
        ctx.log(f"    {'':<13} {m.note}")
    return m


def _write(
    ctx: BenchContext, name: str, description: str, gzip: bool, level: int | None
) -> WorkloadResult:
    result = WorkloadResult(name, description, ctx.geom.nbytes)
    ctx.log(f"\n## {name}: {description}")
    for tool in ctx.tools:
        result.results[tool] = _write_one(ctx, name, tool, gzip, level)
    return result


def write_raw(ctx: BenchContext) -> WorkloadResult:
    r = _write(ctx, "write-raw", f"write {_volume_label(ctx)}, uncompressed", False, None)
    r.notes.append("reference: tobytes(order='F') + open().write per chunk, one thread")
    return r


def write_gzip(ctx: BenchContext) -> WorkloadResult:
    lvl = ctx.gzip_level
    r = _write(
        ctx, "write-gzip", f"write {_volume_label(ctx)}, gzip level {lvl} for every tool", True, lvl
    )
    r.notes += [
        f"every tool is given compress_level={lvl}; cloud-volume compresses with libdeflate "
        "(cloudfiles); reference: libdeflate at the same level, one thread",
        "gzip levels are not comparable across libraries: compare the on-disk ratios too",
    ]
    return r


def write_gzip_default(ctx: BenchContext) -> WorkloadResult:
    r = _write(
        ctx,
        "write-gzip-default",
        f"write {_volume_label(ctx)}, gzip at each tool's own default level",
        True,
        None,
    )
    r.notes.append(
        "default gzip levels: cloud-volume 9 (libdeflate, cloudfiles' gzip_compress); "
        f"cloudvol {_cloudvol_default_gzip_level()} (cloudvol.storage.compression.DEFAULT_LEVELS)"
    )
    return r


def _cloudvol_default_gzip_level() -> str:
    try:
        from cloudvol.storage.compression import DEFAULT_LEVELS

        return str(DEFAULT_LEVELS["gzip"])
    except Exception:  # an internal name; only used to label the report
        return "?"


def read_one(
    ctx: BenchContext, name: str, tool: str, where: Path | str, box: Box, gzip: bool
) -> Measurement:
    """Time ``tool`` reading ``box`` from the layer at ``where`` (best of the repeats,
    each result checked against the source)."""
    (x0, y0, z0), (x1, y1, z1) = box
    expected = ctx.vol[x0:x1, y0:y1, z0:z1]

    def timed() -> Timing:
        read = ctx.adapters[tool].open_reader(where, ctx.geom, gzip)
        return best_of(
            ctx.repeat,
            lambda: read(box),
            check=lambda got: check_equal(f"{tool} {name}", got, expected),
        )

    return measure(tool, expected.size, timed, ctx.log)


def _read(ctx: BenchContext, name: str, description: str, gzip: bool) -> WorkloadResult:
    result = WorkloadResult(name, description, ctx.geom.nbytes)
    ctx.log(f"\n## {name}: {description}")
    layer = ctx.canonical_layer(gzip)
    for tool in ctx.tools:
        result.results[tool] = read_one(ctx, name, tool, layer, _full_box(ctx), gzip)
    return result


def read_raw(ctx: BenchContext) -> WorkloadResult:
    r = _read(ctx, "read-raw", f"read {_volume_label(ctx)}, uncompressed", False)
    r.notes.append("reference: np.fromfile per chunk painted into an F-order array, one thread")
    return r


def read_gzip(ctx: BenchContext) -> WorkloadResult:
    r = _read(
        ctx,
        "read-gzip",
        f"read {_volume_label(ctx)}, gzip level {ctx.gzip_level} (`name.gz` files)",
        True,
    )
    r.notes.append(
        f"layer written by the reference writer with {GZIP_LIBRARY}; reference: read + "
        "libdeflate gzip_decompress + paint, one thread"
    )
    return r


def cutout_boxes(size: int, n: int = CUTOUTS, side: int = CUTOUT_SIDE) -> list[Box]:
    """``n`` random ``side``³ boxes inside the volume, the same for every tool."""
    side = min(side, size)
    rng = np.random.default_rng(CUTOUT_SEED)
    starts = rng.integers(0, size - side + 1, size=(n, 3))
    return [(tuple(s), tuple(v + side for v in s)) for s in starts.tolist()]  # type: ignore[misc]


def cutouts(ctx: BenchContext) -> WorkloadResult:
    boxes = cutout_boxes(ctx.geom.size)
    side = boxes[0][1][0] - boxes[0][0][0]
    nbytes = len(boxes) * side**3
    chunks = sum(len(list(ctx.geom.chunks_in(*b))) for b in boxes)
    description = (
        f"{len(boxes)} random unaligned {side}³ cutouts (seed {CUTOUT_SEED}) from the raw "
        f"{ctx.geom.size}³ layer, {chunks} chunk reads in all"
    )
    result = WorkloadResult("cutouts", description, nbytes)
    ctx.log(f"\n## cutouts: {description}")
    layer = ctx.canonical_layer(gzip=False)

    for tool in ctx.tools:
        result.results[tool] = _cutouts_one(ctx, tool, layer, boxes, nbytes)
    result.notes.append("MB/s counts the cutouts' voxels, not the chunk bytes read")
    return result


def _cutouts_one(
    ctx: BenchContext, tool: str, layer: Path, boxes: list[Box], nbytes: int
) -> Measurement:
    def check(got: list[Any]) -> None:
        for i, (box, arr) in enumerate(zip(boxes, got, strict=True)):
            (x0, y0, z0), (x1, y1, z1) = box
            check_equal(f"{tool} cutout {i} {box}", arr, ctx.vol[x0:x1, y0:y1, z0:z1])

    def timed() -> Timing:
        read = ctx.adapters[tool].open_reader(layer, ctx.geom, False)
        return best_of(ctx.repeat, lambda: [read(b) for b in boxes], check=check)

    return measure(tool, nbytes, timed, ctx.log)
