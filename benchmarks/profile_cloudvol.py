"""Profile cloudvol on one benchmark workload with pyinstrument.

pyinstrument samples only the calling thread, and cloudvol does its file IO and
(de)compression in worker threads, so ``--inline`` forces cloudvol's local file store
to run that work in the calling thread: the profile then shows where all the CPU
goes (though not the overlap threads would give). Without it, the profile shows what
the main thread does and how long it waits.

    uv run python -m benchmarks.profile_cloudvol cutouts
    uv run python -m benchmarks.profile_cloudvol write-gzip --inline --size 256
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Geometry, make_volume, pick_scratch, write_reference_layer
from benchmarks.http_io import chunk_region
from benchmarks.tools import ADAPTERS
from benchmarks.volume_io import cutout_boxes

WORKLOADS = ("write-raw", "write-gzip", "read-raw", "read-gzip", "cutouts", "http-chunks")


def _force_inline() -> None:
    """Make cloudvol's file store run its per-file work in the calling thread (by
    giving every FileStore one thread; its pool helpers run inline then)."""
    from cloudvol.storage.file import FileStore

    original = FileStore.__init__

    def one_thread(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["threads"] = 1
        original(self, *args, **kwargs)

    FileStore.__init__ = one_thread  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", choices=WORKLOADS)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3, help="runs inside the profile")
    ap.add_argument("--gzip-level", type=int, default=6)
    ap.add_argument("--inline", action="store_true", help="no cloudvol worker threads")
    ap.add_argument("--interval", type=float, default=0.0005, help="sampling interval, s")
    ap.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = ap.parse_args()

    from pyinstrument import Profiler

    if args.inline:
        _force_inline()
    geom = Geometry(args.size)
    vol = make_volume(args.size)
    scratch, _ = pick_scratch(4 * geom.nbytes)
    cloudvol = ADAPTERS["cloudvol"]
    gzip = "gzip" in args.workload
    stack = contextlib.ExitStack()
    try:
        if args.workload.startswith("write"):
            layers = [scratch / f"w{i}" for i in range(args.repeat)]
            writers = [cloudvol.prepare_write(p, geom, gzip, args.gzip_level) for p in layers]
            jobs = [lambda w=w: w(vol) for w in writers]
        else:
            layer = scratch / "canon" / "raw"
            write_reference_layer(layer, geom, vol, args.gzip_level if gzip else None)
            where: Path | str = layer
            full = ((0, 0, 0), (args.size,) * 3)
            if args.workload == "http-chunks":
                from benchmarks.http_server import serve

                where = f"{stack.enter_context(serve(scratch / 'canon'))}/raw"
            read = cloudvol.open_reader(where, geom, gzip)
            if args.workload == "cutouts":
                boxes = cutout_boxes(args.size)
                jobs = [lambda: [read(b) for b in boxes]] * args.repeat
            elif args.workload == "http-chunks":
                box = chunk_region(geom)
                jobs = [lambda: read(box)] * args.repeat
            else:
                jobs = [lambda: read(full)] * args.repeat
        profiler = Profiler(interval=args.interval, async_mode="disabled")
        wall = []
        with profiler:
            for job in jobs:
                t0 = time.perf_counter()
                job()
                wall.append(time.perf_counter() - t0)
        print(f"{args.workload}, size {args.size}, inline={args.inline}: wall per run "
              + ", ".join(f"{w:.3f}" for w in wall) + " s")  # fmt: skip
        print(profiler.output_text(unicode=True, color=False))
        if args.html:
            Path(args.html).write_text(profiler.output_html())
    finally:
        stack.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
