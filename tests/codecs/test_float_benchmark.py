"""The float codec benchmark (``benchmarks/codec_float.py``) still runs and verifies
every tool's output, so its code cannot rot between releases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.interop
def test_float_benchmark_runs_every_workload_and_checks_results() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.codec_float", "--size", "64", "--repeat", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = proc.stdout.split("## Summary", 1)[1]
    for name in ("fpzip", "kempressed", "zfpc", "zfpc-tolerance"):
        for direction in ("encode", "decode"):
            row = next(
                line for line in table.splitlines() if line.startswith(f"| {direction}-{name} |")
            )
            cells = [c.strip() for c in row.split("|")[2:6]]
            assert cells[2] == "n/a", row  # tensorstore
            assert all(float(c) > 0 for i, c in enumerate(cells) if i != 2), row
    assert "bytes equal cloud-volume's" in proc.stdout
