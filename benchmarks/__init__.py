"""Side-by-side benchmarks: cloudvol against cloud-volume and tensorstore.

Run with ``make bench`` or ``uv run python -m benchmarks.run --help``; the workloads
and the latest results are described in ``docs/benchmarks.md``.
"""
