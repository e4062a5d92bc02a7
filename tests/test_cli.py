"""The command line and the Neuroglancer file server."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
import urllib.request

import numpy as np

from cloudvol import CloudVolume
from cloudvol.cli import main
from cloudvol.server import PrecomputedRequestHandler


def make_layer(tmp_path):
    info = CloudVolume.create_new_info(1, "image", "uint8", "raw", (4, 4, 40), (0, 0, 0), (64, 64, 16),
                                       chunk_size=(32, 32, 16), max_mip=1)  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/ds/layer", info=info)
    vol.commit_info()
    vol[:, :, :] = np.arange(64 * 64 * 16, dtype=np.uint32).reshape(64, 64, 16).astype(np.uint8)
    return vol


def test_info_command_describes_every_mip(tmp_path, capsys):
    vol = make_layer(tmp_path)
    assert main(["info", vol.cloudpath]) == 0
    out = capsys.readouterr().out
    assert "mip 0: key 4_4_40" in out and "mip 1: key 8_8_40" in out


def test_info_command_reports_errors_without_traceback(tmp_path, capsys):
    assert main(["info", f"file://{tmp_path}/missing/layer"]) == 1
    assert "InfoUnavailableError" in capsys.readouterr().err


def test_server_maps_gz_files_and_serves_ranges(tmp_path):
    make_layer(tmp_path)
    handler = functools.partial(PrecomputedRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/ds/layer"
        with urllib.request.urlopen(f"{base}/4_4_40/0-32_0-32_0-16") as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert len(gzip.decompress(resp.read())) == 32 * 32 * 16
        req = urllib.request.Request(f"{base}/info", headers={"Range": "bytes=2-5"})
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 206 and len(resp.read()) == 4
        remote = CloudVolume(base)
        np.testing.assert_array_equal(
            remote[:, :, :], CloudVolume(f"file://{tmp_path}/ds/layer")[:, :, :]
        )
    finally:
        server.shutdown()
        server.server_close()
