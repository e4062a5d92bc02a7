"""Shared fixtures: real storage servers on 127.0.0.1 and environment isolation.

Servers are session-scoped (one set per pytest-xdist worker); "fresh bucket"
fixtures give each test its own bucket or directory so tests never share state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from servers import FakeGCS, MotoS3, RangeHTTPServer, clean_cloud_env, unique_name

# CI replays the same examples every run, so a red build always means a change broke
# something; local runs keep drawing new examples to find new bugs.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No AWS_*/GOOGLE_* variables, and HOME, ``$CLOUD_VOLUME_DIR`` and
    ``$CLOUD_FILES_DIR`` in an empty temp directory (returned), so neither a
    developer's credentials nor their secret files reach the test."""
    home = tmp_path_factory.mktemp("home")
    with clean_cloud_env(home):
        yield home


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server (S3 API; also GCS's XML API)."""
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGCS]:
    """fake-gcs-server (GCS reads, deletes and gzip transcoding; not uploads via XML)."""
    server = FakeGCS()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _http_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RangeHTTPServer]:
    server = RangeHTTPServer(tmp_path_factory.mktemp("http-root"))
    yield server
    server.stop()


@pytest.fixture
def http_server(_http_server_session: RangeHTTPServer) -> RangeHTTPServer:
    """The Range-capable HTTP server with its switches and request log reset."""
    _http_server_session.reset()
    return _http_server_session


@pytest.fixture
def http_dir(http_server: RangeHTTPServer) -> tuple[Path, str]:
    """A fresh directory served by :func:`http_server`: ``(local path, URL path)``."""
    name = unique_name("d")
    local = http_server.root / name
    local.mkdir()
    return local, name


@pytest.fixture
def s3_bucket(moto_s3: MotoS3) -> str:
    """A new, empty S3 bucket on moto."""
    return moto_s3.create_bucket()


@pytest.fixture
def gcs_moto_bucket(moto_s3: MotoS3) -> str:
    """A new bucket on moto for the GCS client (names must be alphanumeric there)."""
    return moto_s3.create_bucket(alphanumeric=True)


@pytest.fixture
def fake_gcs_bucket(fake_gcs: FakeGCS) -> str:
    """A new, empty bucket on fake-gcs-server."""
    return fake_gcs.create_bucket()
