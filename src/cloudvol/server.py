"""Serve a local precomputed directory to Neuroglancer: ``python -m cloudvol.server DIR``.

CloudVolume-style local data stores gzip chunks as ``name.gz``; Neuroglancer asks
for ``name``. This server answers ``name`` from ``name.gz`` (or ``.br``) with the
matching ``Content-Encoding``, adds CORS headers, and honours ``Range`` on plain
files (sharded data). It binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import posixpath
import re
from pathlib import Path

__all__ = ["PrecomputedRequestHandler", "serve"]

ENCODED_SUFFIXES = ((".gz", "gzip"), (".br", "br"))
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


class PrecomputedRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with CORS, ``.gz``/``.br`` mapping and single byte ranges."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "Range")
        self.send_header(
            "Access-Control-Expose-Headers", "Content-Range, Content-Length, Content-Encoding"
        )
        super().end_headers()

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.end_headers()

    def _resolve(self) -> tuple[Path, str | None] | None:
        local = Path(self.translate_path(self.path))
        if local.is_file():
            return local, None
        for suffix, encoding in ENCODED_SUFFIXES:
            candidate = local.with_name(local.name + suffix)
            if candidate.is_file():
                return candidate, encoding
        return None

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        found = self._resolve()
        if found is None:
            self.send_error(404, f"{posixpath.normpath(self.path)} not found")
            return
        path, encoding = found
        size = path.stat().st_size
        start, end = 0, size
        match = RANGE_RE.match(self.headers.get("Range", "")) if encoding is None else None
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)) + 1, size) if match.group(2) else size
            else:
                start = max(size - int(match.group(2)), 0)
            if start >= end:
                self.send_error(416, "Requested range not satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        if body:
            with open(path, "rb") as f:
                f.seek(start)
                self.wfile.write(f.read(end - start))

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("CLOUDVOL_SERVER_LOG"):
            super().log_message(format, *args)


def serve(directory: str, port: int = 1337, host: str = "127.0.0.1") -> None:
    """Serve ``directory`` until interrupted."""
    handler = functools.partial(PrecomputedRequestHandler, directory=str(Path(directory).resolve()))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"Serving {directory} at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=1337)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    serve(args.directory, args.port, args.host)


if __name__ == "__main__":
    main()
