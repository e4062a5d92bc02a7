"""Benchmark cloudvol against cloud-volume and tensorstore, side by side.

All tools run in this one process on the same data (apart from the memory probe, one
fresh process per tool, and the HTTP server, its own process). Every result is
checked against the source volume, so a fast but wrong tool cannot score. MB/s is
10^6 uncompressed voxel bytes per second, best of ``--repeat``; a ratio a/b above 1
means a is faster.

    uv run python -m benchmarks.run                  # the full run (make bench)
    uv run python -m benchmarks.run --size 256       # quick smoke run
    uv run python -m benchmarks.run --only read-raw,cutouts --tools cloudvol,reference
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import (
    codec_float,
    codec_image,
    codec_segmentation,
    codec_volume,
    http_io,
    objects_io,
    sharded_io,
    volume_io,
)
from benchmarks.common import (
    TOOLS,
    Geometry,
    MachineLoad,
    MiB,
    WorkloadResult,
    make_volume,
    pick_scratch,
    summary_table,
)
from benchmarks.context import BenchContext
from benchmarks.memprobe import memory_table, run_memory
from benchmarks.tools import ADAPTERS

WORKLOADS: dict[str, Callable[[BenchContext], WorkloadResult]] = {
    "write-raw": volume_io.write_raw,
    "read-raw": volume_io.read_raw,
    "write-gzip": volume_io.write_gzip,
    "write-gzip-default": volume_io.write_gzip_default,
    "read-gzip": volume_io.read_gzip,
    "cutouts": volume_io.cutouts,
    "http-chunks": http_io.http_chunks,
    "sharded-write": sharded_io.sharded_write,
    "sharded-read": sharded_io.sharded_read,
    "sharded-cutouts": sharded_io.sharded_cutouts,
    **codec_image.WORKLOADS,
    **codec_segmentation.WORKLOADS,
    **codec_float.WORKLOADS,
    **codec_volume.WORKLOADS,
    **objects_io.WORKLOADS,
}
ALL = [*WORKLOADS, "memory"]


def _csv(choices: list[str] | tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {', '.join(choices)}")
        return items

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    ap.add_argument("--size", type=int, default=512, help="volume side in voxels (default 512)")
    ap.add_argument("--chunk", type=int, default=64, help="chunk side in voxels (default 64)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats; best is reported")
    ap.add_argument(
        "--only",
        type=_csv(ALL),
        default=ALL,
        metavar="WORKLOAD",
        help=f"comma-separated subset of: {', '.join(ALL)}",
    )
    ap.add_argument(
        "--tools", type=_csv(TOOLS), default=list(TOOLS), help=f"subset of: {', '.join(TOOLS)}"
    )
    ap.add_argument(
        "--gzip-level", type=int, default=6, help="gzip level every tool gets (default 6)"
    )
    ap.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    ap.add_argument("--data-dir", help="where to put the scratch layers (default /dev/shm)")
    ap.add_argument("--keep-data", action="store_true", help="keep the scratch layers")
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.size < 1 or args.chunk < 1:
        ap.error("--size, --chunk and --repeat must be positive")
    return args


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for tool in TOOLS:
        try:
            out[tool] = ADAPTERS[tool].version()
        except Exception as e:  # a tool that is not installed still gets reported
            out[tool] = f"unavailable ({type(e).__name__})"
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    geom = Geometry(args.size, args.chunk)
    # source + canonical raw and gzip layers + one tool's layer at a time, with margin
    scratch, why = pick_scratch(6 * geom.nbytes, args.data_dir)
    started = time.perf_counter()
    load = MachineLoad()
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs",
        "versions": _versions(),
        "size": args.size,
        "chunk": args.chunk,
        "repeat": args.repeat,
        "gzip_level": args.gzip_level,
        "data_dir": str(scratch),
        "data_dir_kind": why,
        "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
    }
    print(f"# cloudvol benchmarks, {meta['date']}, {meta['machine']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    print(f"data: {scratch} ({why})")
    load1 = os.getloadavg()[0]
    meta["loadavg_at_start"] = load1
    if load1 > 0.5:
        print(f"WARNING: load average {load1:.2f} at start: other processes share the CPUs")
    print(
        f"volume {args.size}³ uint8 ({geom.nbytes / MiB:.0f} MiB), chunks {args.chunk}³, "
        f"best of {args.repeat}, gzip level {args.gzip_level}; MB/s = 1e6 voxel bytes/s"
    )

    t0 = time.perf_counter()
    vol = make_volume(args.size)
    print(f"generated the source volume in {time.perf_counter() - t0:.1f} s", flush=True)
    ctx = BenchContext(
        geom=geom,
        vol=vol,
        scratch=scratch,
        repeat=args.repeat,
        gzip_level=args.gzip_level,
        tools=args.tools,
        adapters=ADAPTERS,
        log=lambda s: print(s, flush=True),
    )
    results: list[WorkloadResult] = []
    memory: dict[str, Any] = {}
    try:
        for name in args.only:
            if name == "memory":
                memory = run_memory(ctx)
            else:
                results.append(WORKLOADS[name](ctx))
                for note in results[-1].notes:
                    print(f"    note: {note}")
    finally:
        ctx.close()
        if not args.keep_data:
            shutil.rmtree(scratch, ignore_errors=True)

    meta["seconds"] = round(time.perf_counter() - started, 1)
    others = load.others()
    if others is not None:
        meta["other_processes_cpu_seconds"] = round(others[0], 1)
        meta["other_processes_cpu_share"] = round(others[1], 3)
    if results:
        print(f"\n## Summary (MB/s, best of {args.repeat}; ratios: cloudvol ÷ other)\n")
        print(summary_table(results))
    if memory:
        print(f"\n## Peak extra memory, full {args.size}³ raw read\n")
        print(memory_table(memory, geom.nbytes))
    print(f"\ntotal {meta['seconds']} s")
    if others is not None:
        print(
            f"other processes used {others[0]:.1f} CPU-s during the run "
            f"({100 * others[1]:.0f}% of the machine)"
            + ("  WARNING: busy machine, numbers are low and noisy" if others[1] > 0.05 else "")
        )

    if args.json:
        doc = {
            "meta": meta,
            "workloads": {w.name: w.to_json() for w in results},
            "memory": memory,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
    failed = [
        f"{w.name}/{t}"
        for w in results
        for t, m in w.results.items()
        if m.status in ("error", "wrong")
    ] + [f"memory/{t}" for t, rec in memory.items() if rec["status"] in ("error", "wrong")]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
