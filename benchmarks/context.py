"""What every workload shares in one benchmark run: the source volume, the scratch
directory, the canonical layers the read workloads use, and the HTTP server."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import http_server
from benchmarks.common import Geometry, write_reference_layer


@dataclass
class BenchContext:
    geom: Geometry
    vol: np.ndarray  # (size, size, size, 1) uint8, Fortran order
    scratch: Path
    repeat: int
    gzip_level: int
    tools: list[str]
    adapters: dict[str, Any]
    log: Callable[[str], None] = print
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _http_url: str | None = None

    @property
    def canon(self) -> Path:
        return self.scratch / "canon"

    def canonical_layer(self, gzip: bool) -> Path:
        """The layer every tool reads: written once by the reference writer (plain
        names, or ``name.gz`` at ``gzip_level`` with libdeflate)."""
        layer = self.canon / ("gzip" if gzip else "raw")
        if not (layer / "info").exists():
            write_reference_layer(layer, self.geom, self.vol, self.gzip_level if gzip else None)
        return layer

    def http_url(self) -> str:
        """Base URL of the canonical raw layer on the local HTTP server (started once)."""
        if self._http_url is None:
            self.canonical_layer(gzip=False)
            base = self._stack.enter_context(http_server.serve(self.canon))
            self._http_url = f"{base}/raw"
        return self._http_url

    def serve_gzip_mapped(self, root: Path) -> tuple[str, str]:
        """``(base URL, server description)`` of ``root`` on a second local server
        that answers ``name`` from ``name.gz`` with Content-Encoding: gzip (stopped by
        :meth:`close`)."""
        return self._stack.enter_context(http_server.serve_gzip_mapped(root))

    def close(self) -> None:
        self._stack.close()
