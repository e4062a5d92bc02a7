"""The conformance backends: one store per backend, each on a real server.

=========  ==================================================================
file       FileStore on a temp directory
mem        MemoryStore on a fresh bucket
s3         S3 on moto
gcs-read   GCS on fake-gcs-server (real GCS behaviour incl. gzip transcoding;
           the server cannot take XML-API uploads, so data is seeded through
           its JSON API and the store is used read/delete only)
gcs-write  GCS client against moto's XML API (GCS write path; S3 semantics)
http       read-only HTTP(S) store over the Range-capable test server
=========  ==================================================================

``Backend.put`` writes through the store when the server allows it and seeds the
stored form otherwise, so read tests run everywhere; ``seed_raw`` always writes
the stored form directly, in the backend's own convention (``key.gz`` files,
``Content-Encoding`` metadata), bypassing cloudvol.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import obstore as obs
import pytest
from obstore.store import S3Store

from cloudvol.paths import CloudPath
from cloudvol.storage import PutOptions, StorageOptions, Store, open_store
from cloudvol.storage import memory as memory_module
from cloudvol.storage.compression import compress, suffix_for
from servers import FakeGCS, MotoS3, RangeHTTPServer, unique_name

BACKENDS = ["file", "mem", "s3", "gcs-read", "gcs-write", "http"]

S3_SECRETS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Tests want failures fast: few retries, short backoff.
FAST = {"max_retries": 1, "retry_backoff": 0.01, "max_backoff": 0.05, "retry_timeout": 10.0}


@dataclass
class Backend:
    """A store under test plus raw access to what it stored."""

    name: str
    store: Store
    writable: bool
    seed_raw: Callable[[str, bytes, str | None], None]
    stored_names: Callable[[], list[str]]
    stored_encoding: Callable[[str], str | None]
    reopen: Callable[..., Store]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def local_naming(self) -> bool:
        """Compression shows as a name suffix (file, mem) rather than metadata."""
        return self.name in ("file", "mem")

    def put(self, key: str, value: bytes, compress_method: str | None = None) -> None:
        """Store ``value`` under ``key``: through cloudvol when the server takes
        writes, else by seeding the stored form."""
        if self.writable:
            self.store.put(key, value, PutOptions(compress=compress_method))
        else:
            self.seed_raw(key, compress(value, compress_method), compress_method)

    def require_writes(self) -> None:
        if not self.writable:
            pytest.skip(f"{self.name}: the test server does not accept writes")


def make_file_backend(tmp_path: Path) -> Backend:
    root = tmp_path / "layer"
    root.mkdir()
    cloudpath = CloudPath("precomputed", "file", "", str(root))

    def seed(key: str, data: bytes, encoding: str | None) -> None:
        path = root / (key + suffix_for(encoding))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def names() -> list[str]:
        return sorted(
            str(p.relative_to(root)).replace(os.sep, "/") for p in root.rglob("*") if p.is_file()
        )

    def encoding(key: str) -> str | None:
        for method in ("gzip", "br", "zstd"):
            if (root / (key + suffix_for(method))).exists():
                return method
        return None

    return Backend(
        "file", open_store(cloudpath), True, seed, names, encoding,
        lambda **kw: open_store(cloudpath, StorageOptions(**kw)),
    )  # fmt: skip


def make_mem_backend() -> Backend:
    bucket = unique_name("mem")
    cloudpath = CloudPath("precomputed", "mem", bucket, "ds/layer")

    def seed(key: str, data: bytes, encoding: str | None) -> None:
        memory_module._bucket(bucket)[f"ds/layer/{key}{suffix_for(encoding)}"] = data

    def names() -> list[str]:
        return sorted(k.removeprefix("ds/layer/") for k in memory_module._bucket(bucket))

    def encoding(key: str) -> str | None:
        stored = memory_module._bucket(bucket)
        for method in ("gzip", "br", "zstd"):
            if f"ds/layer/{key}{suffix_for(method)}" in stored:
                return method
        return None

    backend = Backend(
        "mem", open_store(cloudpath), True, seed, names, encoding,
        lambda **kw: open_store(cloudpath, StorageOptions(**kw)),
    )  # fmt: skip
    backend.extra["bucket"] = bucket
    return backend


def _raw_s3_client(moto: MotoS3, bucket: str) -> S3Store:
    return S3Store(
        bucket,
        config={"endpoint": moto.url, "region": "us-east-1", "access_key_id": "testing",
                "secret_access_key": "testing"},
        client_options={"allow_http": True},
        retry_config={"max_retries": 0},
    )  # fmt: skip


def _object_backend(name: str, cloudpath: CloudPath, options: dict[str, Any], raw: Any) -> Backend:
    prefix = cloudpath.path

    def seed(key: str, data: bytes, encoding: str | None) -> None:
        attributes = {"Content-Type": "application/octet-stream"}
        if encoding:
            attributes["Content-Encoding"] = encoding
        obs.put(raw, f"{prefix}/{key}", data, attributes=attributes)

    def names() -> list[str]:
        return sorted(m["path"].removeprefix(prefix + "/") for m in obs.list(raw, prefix).collect())

    def encoding(key: str) -> str | None:
        return obs.get(raw, f"{prefix}/{key}").attributes.get("Content-Encoding")

    return Backend(
        name, open_store(cloudpath, StorageOptions(**options)), True, seed, names, encoding,
        lambda **kw: open_store(cloudpath, StorageOptions(**{**options, **kw})),
    )  # fmt: skip


def make_s3_backend(moto: MotoS3) -> Backend:
    bucket = moto.create_bucket()
    cloudpath = CloudPath("precomputed", "s3", bucket, "ds/layer")
    options = {"secrets": {**S3_SECRETS, "AWS_ENDPOINT_URL": moto.url}, **FAST}
    return _object_backend("s3", cloudpath, options, _raw_s3_client(moto, bucket))


def make_gcs_write_backend(moto: MotoS3) -> Backend:
    bucket = moto.create_bucket(alphanumeric=True)
    cloudpath = CloudPath("precomputed", "gs", bucket, "ds/layer")
    options = {"secrets": "test-token", "endpoint": moto.url, **FAST}
    return _object_backend("gcs-write", cloudpath, options, _raw_s3_client(moto, bucket))


def make_gcs_read_backend(fake: FakeGCS) -> Backend:
    bucket = fake.create_bucket()
    cloudpath = CloudPath("precomputed", "gs", bucket, "ds/layer")
    options = {"secrets": "test-token", "endpoint": fake.url, **FAST}

    def seed(key: str, data: bytes, encoding: str | None) -> None:
        fake.upload(bucket, f"ds/layer/{key}", data, content_encoding=encoding)

    def names() -> list[str]:
        return [n.removeprefix("ds/layer/") for n in fake.object_names(bucket)]

    def encoding(key: str) -> str | None:
        import json
        import urllib.parse
        import urllib.request

        quoted = urllib.parse.quote(f"ds/layer/{key}", safe="")
        with urllib.request.urlopen(f"{fake.url}/storage/v1/b/{bucket}/o/{quoted}") as resp:
            return json.loads(resp.read()).get("contentEncoding") or None

    return Backend(
        "gcs-read", open_store(cloudpath, StorageOptions(**options)), False, seed, names,
        encoding, lambda **kw: open_store(cloudpath, StorageOptions(**{**options, **kw})),
    )  # fmt: skip


def make_http_backend(server: RangeHTTPServer, local: Path, url_path: str) -> Backend:
    port = server.url.rsplit(":", 1)[1]
    cloudpath = CloudPath("precomputed", "http", f"127.0.0.1:{port}", url_path, host=server.url)

    def seed(key: str, data: bytes, encoding: str | None) -> None:
        path = local / (key + suffix_for(encoding))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def names() -> list[str]:
        return sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())

    def encoding(key: str) -> str | None:
        for method in ("gzip", "br", "zstd"):
            if (local / (key + suffix_for(method))).exists():
                return method
        return None

    backend = Backend(
        "http", open_store(cloudpath, StorageOptions(**FAST)), False, seed, names, encoding,
        lambda **kw: open_store(cloudpath, StorageOptions(**{**FAST, **kw})),
    )  # fmt: skip
    backend.extra["server"] = server
    backend.extra["url_path"] = url_path
    return backend
