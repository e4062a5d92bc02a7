"""Read-only http(s):// interop: a local layer served like nginx ``gzip_static`` (or
CloudVolume's viewer) answers ``name`` from ``name.gz``/``.br``/``.zstd`` with
``Content-Encoding``, so the ``.gz`` layers CloudVolume-style writers make become
readable by every tool over HTTP, tensorstore included."""

from __future__ import annotations

from pathlib import Path

import pytest
from interop_lib import (
    CASES_BY_ID,
    WRITERS,
    Location,
    arrays_for_info,
    check_reads,
    chunk_suffixes,
    file_location,
    new_info,
)

from servers import RangeHTTPServer

pytestmark = pytest.mark.interop


def http_location(server: RangeHTTPServer, directory: Path) -> Location:
    url = f"{server.url}/{directory.relative_to(server.root).as_posix()}"
    return Location(
        cloudvol=url, cloudvolume=url, kvstore={"driver": "http", "base_url": url + "/"}
    )


@pytest.mark.parametrize("compress", [None, "br", "zstd"], ids=["gzip", "br", "zstd"])
@pytest.mark.parametrize("writer", ["cloudvol", "cloudvolume"])
def test_compressed_local_layer_served_over_http_reads_everywhere(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str], writer: str, compress
):
    local, _ = http_dir
    case = CASES_BY_ID["u16-3c-pos-32x16x8"]
    info = new_info(writer, case)
    arrays = arrays_for_info(info, seed=51)
    WRITERS[writer](file_location(local / "layer"), info, arrays, compress=compress)
    assert chunk_suffixes(local / "layer", info) == {
        {None: ".gz", "br": ".br", "zstd": ".zstd"}[compress]
    }
    loc = http_location(http_server, local / "layer")
    for reader in ("cloudvol", "cloudvolume", "tensorstore"):
        check_reads(reader, loc, info, arrays)
