"""HTTP(S) specifics against the test server: retries, errors, auth, coalescing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cloudvol.exceptions import AuthenticationError, StorageError
from cloudvol.paths import CloudPath
from cloudvol.storage import ByteRange, StorageOptions, open_store
from servers import RangeHTTPServer

MiB = 1024 * 1024


def _store(server: RangeHTTPServer, url_path: str, **options: object):
    port = server.url.rsplit(":", 1)[1]
    cloudpath = CloudPath("precomputed", "http", f"127.0.0.1:{port}", url_path, host=server.url)
    base = {"max_retries": 0, "retry_backoff": 0.01, "max_backoff": 0.05, "retry_timeout": 10.0}
    return open_store(cloudpath, StorageOptions(**{**base, **options}))  # type: ignore[arg-type]


def test_5xx_then_success_is_retried(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    (local / "chunk").write_bytes(b"data")
    store = _store(http_server, url_path, max_retries=3)
    http_server.fail_next(2, status=503)
    assert store.get("chunk") == b"data"
    statuses = [r.status for r in http_server.requests_for(f"{url_path}/chunk")]
    assert statuses == [503, 503, 200]


def test_persistent_5xx_becomes_storage_error_naming_url(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    (local / "chunk").write_bytes(b"data")
    store = _store(http_server, url_path, max_retries=2)
    http_server.fail_next(100, status=500)
    with pytest.raises(StorageError) as err:
        store.get("chunk")
    assert f"{url_path}/chunk" in str(err.value)
    assert not isinstance(err.value, AuthenticationError)
    assert len(http_server.requests_for(f"{url_path}/chunk")) == 3  # first try + 2 retries


def test_5xx_on_ranges_and_exists_also_raise(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    (local / "shard").write_bytes(b"x" * 100)
    store = _store(http_server, url_path)
    http_server.fail_next(100, status=502)
    with pytest.raises(StorageError, match="shard"):
        store.get_ranges([ByteRange("shard", 0, 10)])
    with pytest.raises(StorageError, match="shard"):
        store.exists_many(["shard"])


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_authentication_errors(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str], status: int
) -> None:
    _local, url_path = http_dir
    http_server.force_status(f"{url_path}/private", status)
    store = _store(http_server, url_path)
    with pytest.raises(AuthenticationError, match="private"):
        store.get("private")


def test_forced_404_is_missing(http_server: RangeHTTPServer, http_dir: tuple[Path, str]) -> None:
    local, url_path = http_dir
    (local / "hidden").write_bytes(b"x")
    http_server.force_status(f"{url_path}/hidden", 404)
    assert _store(http_server, url_path).get("hidden") is None


def test_content_encoding_gzip_from_server_is_decoded(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    (local / "0-64_0-64_0-64.gz").write_bytes(gzip.compress(b"voxels" * 100))
    store = _store(http_server, url_path)
    assert store.get("0-64_0-64_0-64") == b"voxels" * 100
    assert store.exists_many(["0-64_0-64_0-64"]) == {"0-64_0-64_0-64": True}
    http_server.gzip_fallback = False
    assert store.get("0-64_0-64_0-64") is None


def test_no_accept_encoding_is_sent_to_http_servers(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    """Only GCS gets Accept-Encoding: gzip; a web server might gzip on the fly and
    break ranged reads."""
    local, url_path = http_dir
    (local / "f").write_bytes(b"x")
    assert _store(http_server, url_path).get("f") == b"x"
    assert http_server.requests_for(f"{url_path}/f")[-1].accept_encoding is None


def test_nearby_ranges_are_coalesced_into_few_requests(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    data = bytes(range(256)) * (20 * MiB // 256)
    (local / "shard").write_bytes(data)
    store = _store(http_server, url_path)
    # 100 pieces 100 KiB apart (gaps < 1 MiB): merged requests stay <= 16 MiB.
    ranges = [ByteRange("shard", i * 200 * 1024, i * 200 * 1024 + 1000) for i in range(100)]
    # Two far-apart pieces (gap > 1 MiB) cannot merge with the rest.
    ranges += [ByteRange("shard", 19 * MiB + 10, 19 * MiB + 20)]
    got = store.get_ranges(ranges)
    assert got == [data[r.start : r.end] for r in ranges]
    requests = http_server.requests_for(f"{url_path}/shard")
    assert 2 <= len(requests) <= 3
    assert all(r.range and r.status == 206 for r in requests)


def test_coalescing_respects_gap_and_size_options(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    (local / "shard").write_bytes(b"z" * 100_000)
    ranges = [ByteRange("shard", i * 10_000, i * 10_000 + 100) for i in range(10)]
    _store(http_server, url_path, coalesce_gap=0).get_ranges(ranges)
    assert len(http_server.requests_for(f"{url_path}/shard")) == 10
    http_server.reset()
    _store(http_server, url_path).get_ranges(ranges)
    assert len(http_server.requests_for(f"{url_path}/shard")) == 1


def test_basic_auth_from_http_secret_file(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str], isolated_env: Path
) -> None:
    import base64
    import json

    secrets = isolated_env / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "http-secret.json").write_text(json.dumps({"user": "ana", "password": "pw-x1"}))
    local, url_path = http_dir
    (local / "f").write_bytes(b"x")
    assert _store(http_server, url_path).get("f") == b"x"
    expected = "Basic " + base64.b64encode(b"ana:pw-x1").decode()
    assert http_server.requests_for(f"{url_path}/f")[-1].authorization == expected


def test_bearer_token_from_secrets_argument(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str]
) -> None:
    local, url_path = http_dir
    (local / "f").write_bytes(b"x")
    assert _store(http_server, url_path, secrets="tok-123456").get("f") == b"x"
    assert http_server.requests_for(f"{url_path}/f")[-1].authorization == "Bearer tok-123456"


def test_many_concurrent_gets(http_server: RangeHTTPServer, http_dir: tuple[Path, str]) -> None:
    local, url_path = http_dir
    for i in range(200):
        (local / f"c{i}").write_bytes(i.to_bytes(2, "little") * 100)
    store = _store(http_server, url_path, concurrency=16)
    got = store.get_many([f"c{i}" for i in range(200)])
    assert all(got[f"c{i}"] == i.to_bytes(2, "little") * 100 for i in range(200))
