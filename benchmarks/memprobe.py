"""Peak extra memory of one full-volume read, one fresh process per tool.

``getrusage`` peak RSS is process-wide and never goes down, so the tools cannot share
a process. Each child opens the raw layer, does a one-chunk warm-up read (lazy imports,
thread pools), resets the kernel's peak-RSS counter (``echo 5 > /proc/self/clear_refs``),
notes its RSS, reads the whole volume and reports ``VmHWM - RSS before``: the largest
amount of memory the read held at once, the output array included. The child also
returns a CRC-32 of the result so the parent can check it read the right voxels.

Child usage: ``python -m benchmarks.memprobe TOOL LAYER_DIR SIZE CHUNK``.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import TOOLS, Geometry, MiB
from benchmarks.context import BenchContext
from benchmarks.http_server import REPO_ROOT


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(tool: str, layer: Path, size: int, chunk: int) -> dict[str, Any]:
    from benchmarks.tools import ADAPTERS

    geom = Geometry(size, chunk)
    read = ADAPTERS[tool].open_reader(layer, geom, False)
    read(((0, 0, 0), (chunk, chunk, chunk)))  # warm-up: lazy imports, pools
    gc.collect()
    if not _reset_peak():
        return {"status": "n/a", "note": "/proc/self/clear_refs is not writable"}
    before = _status_kib("VmRSS")
    out = read(((0, 0, 0), (size, size, size)))
    peak = _status_kib("VmHWM")
    arr = np.asfortranarray(np.asarray(out)).reshape(-1, order="F")
    return {
        "status": "ok",
        "extra_bytes": (peak - before) * 1024,
        "rss_before_bytes": before * 1024,
        "crc32": zlib.crc32(arr),
    }


def run_memory(ctx: BenchContext) -> dict[str, dict[str, Any]]:
    """Measure every tool in its own subprocess; returns {tool: record}."""
    g = ctx.geom
    layer = ctx.canonical_layer(gzip=False)
    expected_crc = zlib.crc32(ctx.vol.reshape(-1, order="F"))
    ctx.log(f"\n## memory: peak extra RSS of one full {g.size}³ raw read, fresh process per tool")
    out: dict[str, dict[str, Any]] = {}
    for tool in ctx.tools:
        cmd = [sys.executable, "-m", "benchmarks.memprobe", tool, str(layer), str(g.size)]
        proc = subprocess.run(
            [*cmd, str(g.chunk)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            rec: dict[str, Any] = {"status": "error", "note": last}
        else:
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            if rec["status"] == "ok" and rec.pop("crc32") != expected_crc:
                rec = {"status": "wrong", "note": "full read differs from the source (CRC-32)"}
        if rec["status"] == "ok":
            rec["extra_mib"] = rec["extra_bytes"] / MiB
            rec["times_output"] = rec["extra_bytes"] / g.nbytes
            shown = f"{rec['extra_mib']:8.1f} MiB  ({rec['times_output']:.2f}x the output)"
        else:
            shown = f"{rec['status']}  {rec.get('note', '')}"
        ctx.log(f"    {tool:<13} {shown}")
        out[tool] = rec
    return out


def memory_table(mem: dict[str, dict[str, Any]], nbytes: int) -> str:
    lines = ["| tool | peak extra MiB | x output size |", "|---|---:|---:|"]
    for tool in TOOLS:
        rec = mem.get(tool)
        if rec is None:
            continue
        if rec["status"] == "ok":
            lines.append(f"| {tool} | {rec['extra_mib']:.0f} | {rec['times_output']:.2f} |")
        else:
            lines.append(f"| {tool} | {rec['status']} | - |")
    lines.append(f"\n(output array: {nbytes / MiB:.0f} MiB)")
    return "\n".join(lines)


if __name__ == "__main__":
    tool_name, layer_dir, size_arg, chunk_arg = sys.argv[1:5]
    print(json.dumps(child(tool_name, Path(layer_dir), int(size_arg), int(chunk_arg))))
