"""The side-by-side benchmark (``make bench``) still runs end to end and reports a number
for every workload, so its code cannot rot between releases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

WORKLOADS = (
    "write-raw",
    "read-raw",
    "write-gzip",
    "write-gzip-default",
    "read-gzip",
    "cutouts",
    "http-chunks",
)
TOOLS = ("cloudvol", "cloud-volume", "tensorstore", "reference")
# benchmarks/codec_volume.py's CASES (the benchmarks are not an importable package here)
VOLUME_CODEC_CASES = ("jpeg", "png", "cseg", "compresso", "crackle", "fpzip", "kempressed", "zfpc")
VOLUME_CASES_TENSORSTORE_HAS = ("jpeg", "png", "cseg")
# tensorstore has no transport gzip for local files; the reference has no default level.
NOT_APPLICABLE = {
    ("write-gzip", "tensorstore"),
    ("write-gzip-default", "tensorstore"),
    ("write-gzip-default", "reference"),
    ("read-gzip", "tensorstore"),
}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_benchmark_runs_every_workload_with_numeric_results(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [
        "--size",
        "128",
        "--repeat",
        "1",
        "--json",
        str(out),
        "--only",
        ",".join([*WORKLOADS, "memory"]),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args, "--data-dir", str(tmp_path / "data")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())

    assert set(doc["workloads"]) == set(WORKLOADS)
    for name in WORKLOADS:
        w = doc["workloads"][name]
        assert w["bytes"] > 0
        for tool in TOOLS:
            m = w["results"][tool]
            if (name, tool) in NOT_APPLICABLE:
                assert m["status"] == "n/a", (name, tool, m)
                assert m["note"], "an n/a result must say why"
                continue
            assert m["status"] == "ok", (name, tool, m)
            assert isinstance(m["mbps"], float) and m["mbps"] > 0, (name, tool, m)
            assert m["seconds"] > 0
        ratio = w["ratios"]["cloudvol/cloud-volume"]
        assert isinstance(ratio, float) and ratio > 0

    for tool in TOOLS:
        rec = doc["memory"][tool]
        assert rec["status"] in ("ok", "n/a"), (tool, rec)
        if rec["status"] == "ok":
            assert rec["extra_bytes"] >= 0
    assert doc["meta"]["size"] == 128
    # The scratch layers are removed afterwards.
    assert not any((tmp_path / "data").iterdir())


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sharded_and_codec_workloads_run_with_numeric_results(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks import codec_float, codec_image, codec_segmentation

    names = [
        "sharded-write",
        "sharded-read",
        *codec_image.WORKLOADS,
        *codec_segmentation.WORKLOADS,
        *codec_float.WORKLOADS,
    ]
    out = tmp_path / "bench.json"
    args = ["--size", "128", "--repeat", "1", "--json", str(out), "--only", ",".join(names)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args, "--data-dir", str(tmp_path / "data")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert set(doc["workloads"]) == set(names)
    for name in names:
        results = doc["workloads"][name]["results"]
        assert results["cloudvol"]["status"] == "ok" and results["cloudvol"]["mbps"] > 0, name
        for tool, m in results.items():
            assert m["status"] in ("ok", "n/a"), (name, tool, m)
            if m["status"] == "n/a":
                assert m["note"], "an n/a result must say why"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_mesh_and_skeleton_workloads_report_both_tools(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--size", "64", "--repeat", "1",
         "--json", str(out), "--only", "mesh-http,skeleton-http",
         "--data-dir", str(tmp_path / "data")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    for name in ("mesh-http", "skeleton-http"):
        results = doc["workloads"][name]["results"]
        for tool in ("cloudvol", "cloud-volume"):
            assert results[tool]["status"] == "ok", (name, tool, results[tool])
            assert results[tool]["mbps"] > 0
        for tool in ("tensorstore", "reference"):
            assert results[tool]["status"] == "n/a" and results[tool]["note"]


def test_spatial_index_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "spatial.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_spatial_index", "--quick", "--json", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert json.loads(out.read_text())


@pytest.mark.timeout(120)
def test_volume_codec_workloads_check_every_tool_that_has_the_encoding(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    names = [f"vol-{short}" for short in VOLUME_CODEC_CASES]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--size", "64", "--repeat", "1",
         "--json", str(out), "--only", ",".join(names), "--data-dir", str(tmp_path / "data")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    for short, name in zip(VOLUME_CODEC_CASES, names, strict=True):
        results = doc["workloads"][name]["results"]
        for tool in ("cloudvol", "cloud-volume"):
            assert results[tool]["status"] == "ok", (name, tool, results[tool])
        ts = results["tensorstore"]
        if short in VOLUME_CASES_TENSORSTORE_HAS:
            assert ts["status"] == "ok" and ts["mbps"] > 0, (name, ts)
        else:
            assert ts["status"] == "n/a" and "no" in ts["note"], (name, ts)
