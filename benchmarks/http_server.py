"""A local, threaded, Range-capable static file server for the HTTP workload.

Run as its own process (``python -m benchmarks.http_server ROOT``) so its CPU work
does not contend for the benchmark client's GIL; it prints the port it bound on
127.0.0.1 and serves until terminated. It speaks HTTP/1.1 with keep-alive, answers
``Range`` requests with rangehttpserver's handler, sends whole files with
``sendfile`` and logs nothing.

``serve(root)`` is the context manager the benchmark uses to start and stop it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from RangeHTTPServer import RangeRequestHandler

REPO_ROOT = Path(__file__).resolve().parents[1]


class QuietRangeHandler(RangeRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many chunks

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def copyfile(self, source: Any, outputfile: Any) -> None:
        if getattr(self, "range", None):
            super().copyfile(source, outputfile)
            return
        outputfile.flush()
        self.connection.sendfile(source)


class GzipMappedRangeHandler(QuietRangeHandler):
    """Answers ``name`` from ``name.gz`` with ``Content-Encoding: gzip``, the way GCS
    serves objects CloudVolume uploaded gzipped."""

    def send_head(self) -> Any:
        self._gzip_mapped = False
        path = self.translate_path(self.path)
        if not os.path.exists(path) and os.path.exists(path + ".gz"):
            self._gzip_mapped = True
            self.path = self.path.split("?", 1)[0] + ".gz"
        return super().send_head()

    def end_headers(self) -> None:
        if getattr(self, "_gzip_mapped", False):
            self.send_header("Content-Encoding", "gzip")
        super().end_headers()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # clients open many connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            super().handle_error(request, client_address)


def main() -> None:
    root = sys.argv[1]
    handler = GzipMappedRangeHandler if "--gzip-mapped" in sys.argv[2:] else QuietRangeHandler
    server = QuietServer(("127.0.0.1", 0), partial(handler, directory=root))
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextlib.contextmanager
def serve(root: Path, gzip_mapped: bool = False) -> Iterator[str]:
    """Serve ``root`` from a separate process; yields ``http://127.0.0.1:PORT``.
    ``gzip_mapped``: answer ``name`` from ``name.gz`` with Content-Encoding."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.http_server", str(root)]
        + (["--gzip-mapped"] if gzip_mapped else []),
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"HTTP server did not start (exit code {proc.poll()})")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{
    listen 127.0.0.1:{port};
    root {root};
    gzip_static always;  # name -> name.gz with Content-Encoding: gzip
  }}
}}
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_gzip_mapped(root: Path) -> Iterator[tuple[str, str]]:
    """Serve ``root`` answering ``name`` from ``name.gz`` with Content-Encoding: gzip.

    nginx (one worker, ``gzip_static always``) when it is installed: the Python
    server handles only ~700 small requests/s, which would cap every client on
    many-object workloads. Yields ``(base URL, server description)``."""
    import shutil
    import tempfile
    import time
    import urllib.request

    nginx = shutil.which("nginx")
    if nginx is None:
        with serve(root, gzip_mapped=True) as url:
            yield url, "Python ThreadingHTTPServer (nginx not installed)"
        return
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        # As root, nginx's workers would drop to "nobody", who cannot enter the
        # private scratch directory; as anyone else they keep the caller's user.
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, root=root))
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(url + "/", timeout=1).close()
                    break
                except urllib.error.HTTPError:
                    break  # it answers (403/404 for the bare root)
                except OSError:
                    time.sleep(0.05)
            yield url, "nginx, 1 worker, gzip_static"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
