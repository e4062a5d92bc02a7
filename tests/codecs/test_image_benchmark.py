"""benchmarks/codec_image.py still runs every workload and checks every tool's
result, on a tiny volume (one 64³ chunk), so the benchmark cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = (
    "encode-png", "decode-png", "encode-png16", "decode-png16",
    "encode-jpeg", "decode-jpeg", "encode-jxl", "decode-jxl",
)  # fmt: skip
TOOLS = ("cloudvol", "cloud-volume", "tensorstore", "reference")
# The tools that cannot run a workload at all, and must say why.
NOT_APPLICABLE = {
    ("encode-png16", "cloud-volume"),
    ("decode-png16", "cloud-volume"),
    ("encode-jxl", "tensorstore"),
    ("decode-jxl", "tensorstore"),
}


@pytest.mark.interop
@pytest.mark.timeout(120)
def test_every_image_codec_workload_runs_and_checks_every_tool(tmp_path: Path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.codec_image", "--size", "64", "--repeat", "1",
         "--json", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    workloads = json.loads(out.read_text())["workloads"]
    assert tuple(workloads) == WORKLOADS
    for name, w in workloads.items():
        for tool in TOOLS:
            m = w["results"][tool]
            if (name, tool) in NOT_APPLICABLE:
                assert m["status"] == "n/a" and m["note"], (name, tool, m)
            else:
                assert m["status"] == "ok", (name, tool, m)
                assert m["mbps"] > 0, (name, tool, m)
