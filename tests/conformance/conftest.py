"""Fixtures of the conformance suite: ``backend`` runs each test on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import (
    BACKENDS,
    Backend,
    make_file_backend,
    make_gcs_read_backend,
    make_gcs_write_backend,
    make_http_backend,
    make_mem_backend,
    make_s3_backend,
)

from cloudvol.storage import free_memory


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn, on a fresh bucket or directory."""
    name = request.param
    if name == "file":
        made = make_file_backend(tmp_path)
    elif name == "mem":
        made = make_mem_backend()
    elif name == "s3":
        made = make_s3_backend(request.getfixturevalue("moto_s3"))
    elif name == "gcs-write":
        made = make_gcs_write_backend(request.getfixturevalue("moto_s3"))
    elif name == "gcs-read":
        made = make_gcs_read_backend(request.getfixturevalue("fake_gcs"))
    else:
        server = request.getfixturevalue("http_server")
        local, url_path = request.getfixturevalue("http_dir")
        made = make_http_backend(server, local, url_path)
    yield made
    if name == "mem":
        free_memory(made.extra["bucket"])
