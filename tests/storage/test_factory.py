"""open_store: protocol dispatch, aliases, endpoints, client reuse, options."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cloudvol.exceptions import AuthenticationError, UnsupportedProtocolError
from cloudvol.paths import CloudPath
from cloudvol.storage import (
    FileStore,
    MemoryStore,
    ObjectStore,
    PutOptions,
    StorageOptions,
    open_store,
)
from servers import FakeGCS, MotoS3

MOTO_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_dispatch_by_protocol(tmp_path: Path) -> None:
    assert isinstance(open_store(CloudPath("precomputed", "file", "", str(tmp_path))), FileStore)
    assert isinstance(open_store(CloudPath("precomputed", "mem", "b", "p")), MemoryStore)
    for protocol in ("s3", "gs", "matrix", "tigerdata", "nokura"):
        store = open_store(CloudPath("precomputed", protocol, "bkt", "ds/layer"))
        assert isinstance(store, ObjectStore) and store.capabilities.supports_writes
    http = open_store(
        CloudPath("precomputed", "https", "example.org", "ds", host="https://example.org")
    )
    assert isinstance(http, ObjectStore) and not http.capabilities.supports_writes
    assert http.url == "https://example.org/ds"
    with pytest.raises(UnsupportedProtocolError, match="ftp"):
        open_store(CloudPath("precomputed", "ftp", "x", "y"))


def test_store_urls_name_the_layer_without_credentials() -> None:
    assert open_store(CloudPath("precomputed", "gs", "bkt", "ds/layer")).url == "gs://bkt/ds/layer"
    assert open_store(CloudPath("precomputed", "mem", "bkt", "ds")).url == "mem://bkt/ds"


def test_stores_of_one_bucket_share_one_client() -> None:
    a = open_store(CloudPath("precomputed", "gs", "shared", "ds/one"))
    b = open_store(CloudPath("precomputed", "gs", "shared", "ds/two"))
    c = open_store(CloudPath("precomputed", "gs", "other", "ds/one"))
    d = open_store(
        CloudPath("precomputed", "gs", "shared", "ds/one"), StorageOptions(secrets="tok")
    )
    assert a._client is b._client
    assert a._client is not c._client and a._client is not d._client


def test_alias_uses_its_host_and_its_own_secret_file(
    isolated_env: Path, moto_s3: MotoS3, s3_bucket: str
) -> None:
    secrets = isolated_env / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "matrix-secret.json").write_text(json.dumps(MOTO_KEYS))
    store = open_store(
        CloudPath("precomputed", "matrix", s3_bucket, "ds", host=moto_s3.url),
        StorageOptions(max_retries=0),
    )
    store.put("info", b"{}", PutOptions(compress="gzip"))
    assert store.get("info") == b"{}"
    assert "matrix-secret.json" in repr(store)


def test_user_alias_with_host_is_s3(moto_s3: MotoS3, s3_bucket: str) -> None:
    store = open_store(
        CloudPath("precomputed", "mylab", s3_bucket, "ds", host=moto_s3.url),
        StorageOptions(secrets=MOTO_KEYS, max_retries=0),
    )
    store.put("k", b"v")
    assert store.get("k") == b"v"


def test_cloudpath_host_beats_option_and_secret_endpoints(moto_s3: MotoS3, s3_bucket: str) -> None:
    secrets = {**MOTO_KEYS, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    store = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "ds", host=moto_s3.url),
        StorageOptions(secrets=secrets, endpoint="http://127.0.0.1:2", max_retries=0),
    )
    store.put("k", b"v")
    option_wins = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "ds"),
        StorageOptions(secrets=secrets, endpoint=moto_s3.url, max_retries=0),
    )
    assert option_wins.get("k") == b"v"


def test_secret_endpoint_beats_environment_endpoint(
    moto_s3: MotoS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    store = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "ds"),
        StorageOptions(secrets={**MOTO_KEYS, "endpoint": moto_s3.url}, max_retries=0),
    )
    store.put("k", b"v")
    assert store.get("k") == b"v"


def test_gcs_anonymous_read_of_public_data(fake_gcs: FakeGCS, fake_gcs_bucket: str) -> None:
    fake_gcs.upload(fake_gcs_bucket, "ds/info", gzip.compress(b'{"a": 1}'), content_encoding="gzip")
    store = open_store(
        CloudPath("precomputed", "gs", fake_gcs_bucket, "ds"),
        StorageOptions(endpoint=fake_gcs.url, max_retries=0),
    )
    assert "anonymous" in repr(store)
    assert store.get("info") == b'{"a": 1}'
    assert list(store.list()) == ["info"]


def test_gcs_endpoint_from_emulator_variable(
    fake_gcs: FakeGCS, fake_gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gcs.upload(fake_gcs_bucket, "ds/k", b"emulated")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    store = open_store(
        CloudPath("precomputed", "gs", fake_gcs_bucket, "ds"), StorageOptions(max_retries=0)
    )
    assert store.get("k") == b"emulated"


def test_anonymous_option_drops_credentials(moto_s3: MotoS3, s3_bucket: str) -> None:
    cloudpath = CloudPath("precomputed", "s3", s3_bucket, "ds", host=moto_s3.url)
    signed = open_store(cloudpath, StorageOptions(secrets=MOTO_KEYS, max_retries=0))
    signed.put("private", b"v")
    unsigned = open_store(
        cloudpath, StorageOptions(secrets=MOTO_KEYS, anonymous=True, max_retries=0)
    )
    assert signed._client is not unsigned._client
    with pytest.raises(AuthenticationError, match="private"):
        unsigned.get("private")


def test_multipart_upload_keeps_content_encoding(moto_s3: MotoS3, s3_bucket: str) -> None:
    store = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "ds", host=moto_s3.url),
        StorageOptions(secrets=MOTO_KEYS, max_retries=0, multipart_threshold=5 * 1024 * 1024),
    )
    import numpy as np

    value = np.random.default_rng(3).bytes(12 * 1024 * 1024)
    store.put("big", value, PutOptions(compress="gzip", level=1))
    assert store.get("big") == value
