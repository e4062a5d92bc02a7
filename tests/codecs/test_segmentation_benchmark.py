"""benchmarks/codec_segmentation.py still runs every workload and checks every tool's
result, on a tiny volume (one 64³ chunk), so the benchmark cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = (
    "encode-cseg", "decode-cseg", "decode-cseg-into", "labels-cseg", "unique-cseg",
    "encode-compresso", "decode-compresso", "labels-compresso", "unique-compresso",
    "encode-crackle", "decode-crackle", "decode-crackle-cv", "labels-crackle", "unique-crackle",
)  # fmt: skip
TOOLS = ("cloudvol", "cloud-volume", "tensorstore", "reference")


def not_applicable(workload: str, tool: str) -> bool:
    """tensorstore knows compressed_segmentation only, and lists no labels; no tool but
    cloudvol and cloud-volume has vol.unique()."""
    if workload.startswith("unique"):
        return tool in ("tensorstore", "reference")
    return tool == "tensorstore" and (workload.startswith("labels") or "cseg" not in workload)


@pytest.mark.interop
@pytest.mark.timeout(120)
def test_every_segmentation_codec_workload_runs_and_checks_every_tool(tmp_path: Path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.codec_segmentation", "--size", "64", "--repeat", "1",
         "--json", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    workloads = json.loads(out.read_text())["workloads"]
    assert tuple(workloads) == WORKLOADS
    for name, w in workloads.items():
        for tool in TOOLS:
            m = w["results"][tool]
            if not_applicable(name, tool):
                assert m["status"] == "n/a" and m["note"], (name, tool, m)
            else:
                assert m["status"] == "ok", (name, tool, m)
                assert m["mbps"] > 0, (name, tool, m)
