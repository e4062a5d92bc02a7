"""Opening a :class:`~cloudvol.storage.base.Store` for a cloudpath.

=================  ============================================================
protocol           store
=================  ============================================================
``file``           :class:`~cloudvol.storage.file.FileStore`
``mem``            :class:`~cloudvol.storage.memory.MemoryStore`
``s3``             S3 (AWS, or ``cloudpath.host`` / ``endpoint`` when set)
``matrix`` …       S3 at ``cloudpath.host`` (the alias's endpoint), secrets from
                   ``{alias}-secret.json``
``gs``             Google Cloud Storage
``http(s)``        read-only HTTP server
=================  ============================================================

obstore clients are cached per (service, bucket, endpoint, credentials, client
settings), so every store of a bucket shares one connection pool.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from obstore.store import GCSStore, HTTPStore, S3Store

if TYPE_CHECKING:
    from obstore.store import ClientConfig, GCSConfig, RetryConfig, S3Config

from cloudvol.exceptions import StorageError, UnsupportedProtocolError
from cloudvol.paths import ALIAS_ENDPOINTS, CloudPath
from cloudvol.secrets import (
    S3_ALIASES,
    Credentials,
    aws_credentials,
    aws_endpoint_from_environment,
    redact,
    resolve_credentials,
)
from cloudvol.storage.base import Store
from cloudvol.storage.errors import summarize
from cloudvol.storage.file import FileStore
from cloudvol.storage.memory import MemoryStore
from cloudvol.storage.object_store import ObjectStore, ServiceKind
from cloudvol.storage.options import StorageOptions

__all__ = ["StorageOptions", "clear_client_cache", "open_store"]

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def open_store(cloudpath: CloudPath, options: StorageOptions | None = None) -> Store:
    """The store for the directory ``cloudpath`` names (keys are relative to it)."""
    options = options or StorageOptions()
    protocol = cloudpath.protocol
    if protocol == "file":
        return FileStore(
            cloudpath.path, local_suffixes=options.local_suffixes, threads=options.file_threads
        )
    if protocol == "mem":
        return MemoryStore(cloudpath.bucket, cloudpath.path, local_suffixes=options.local_suffixes)
    if protocol in ("http", "https") or protocol.endswith("+https"):
        return _http_store(cloudpath, options)
    if protocol == "gs":
        return _gcs_store(cloudpath, options)
    if protocol == "s3" or protocol in S3_ALIASES or cloudpath.host:
        # Unknown protocols with a host are user-defined S3 aliases (aliases.json).
        return _s3_store(cloudpath, options)
    raise UnsupportedProtocolError(f"no storage backend for protocol {protocol!r} ({cloudpath})")


def clear_client_cache() -> None:
    """Forget cached obstore clients (their connections close when unused)."""
    with _clients_lock:
        _clients.clear()


def _retry_config(options: StorageOptions) -> RetryConfig:
    return {
        "max_retries": options.max_retries,
        "retry_timeout": timedelta(seconds=options.retry_timeout),
        "backoff": {
            "init_backoff": timedelta(seconds=options.retry_backoff),
            "max_backoff": timedelta(seconds=max(options.max_backoff, options.retry_backoff)),
            "base": 2,
        },
    }


def _client_options(
    options: StorageOptions, endpoint: str | None, headers: dict[str, str]
) -> ClientConfig:
    client: ClientConfig = {"connect_timeout": timedelta(seconds=options.connect_timeout)}
    if options.request_timeout is not None:
        client["timeout"] = timedelta(seconds=options.request_timeout)
    if endpoint is not None and endpoint.startswith("http://"):
        client["allow_http"] = True
    if headers:
        client["default_headers"] = headers
    return client


def _cached_client(
    key: tuple[Any, ...], build: Any, cloudpath: CloudPath, credentials: Credentials
) -> Any:
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            try:
                client = build()
            except Exception as exc:
                # e.g. a malformed service-account key; the reason never holds it.
                reason = summarize(exc, credentials)
                raise StorageError(
                    f"cannot set up a client for {redact(cloudpath.url, credentials)} "
                    f"(credentials from {credentials.source}): {reason}"
                ) from None
            _clients[key] = client
        return client


def _settings_key(options: StorageOptions) -> tuple[Any, ...]:
    return (
        options.max_retries, options.retry_backoff, options.max_backoff, options.retry_timeout,
        options.connect_timeout, options.request_timeout,
    )  # fmt: skip


def _s3_store(cloudpath: CloudPath, options: StorageOptions) -> ObjectStore:
    protocol = cloudpath.protocol
    service = "aws" if protocol == "s3" else protocol
    if protocol == "s3" or protocol in S3_ALIASES:
        credentials = resolve_credentials(protocol, cloudpath.bucket, options.secrets)
    else:
        credentials = aws_credentials(cloudpath.bucket, service, options.secrets)
    # Most specific first: the path itself, the caller's option, the secret's own
    # field, the alias's built-in host, then the SDK environment variables.
    endpoint = (
        cloudpath.host
        or options.endpoint
        or credentials.endpoint
        or (ALIAS_ENDPOINTS.get(protocol) if protocol != "s3" else None)
        or aws_endpoint_from_environment()
    )
    config = dict(credentials.config)
    if options.anonymous:
        config = {"region": config.get("region", "us-east-1"), "skip_signature": True}
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
    key = ("s3", cloudpath.bucket, endpoint, credentials.fingerprint(), options.anonymous,
           _settings_key(options))  # fmt: skip
    client = _cached_client(
        key,
        lambda: S3Store(
            cloudpath.bucket,
            config=cast("S3Config", config),
            client_options=_client_options(options, endpoint, {}),
            retry_config=_retry_config(options),
        ),
        cloudpath,
        credentials,
    )
    return _object_store(client, "s3", cloudpath, credentials, options)


def _gcs_store(cloudpath: CloudPath, options: StorageOptions) -> ObjectStore:
    credentials = resolve_credentials("gs", cloudpath.bucket, options.secrets)
    endpoint = options.endpoint or cloudpath.host or credentials.endpoint
    config = dict(credentials.config)
    if options.anonymous:
        config = {"skip_signature": True}
    if endpoint:
        config["base_url"] = endpoint.rstrip("/")
    # Without Accept-Encoding: gzip, GCS decompresses gzip objects on the fly
    # ("decompressive transcoding"): whole reads lose the Content-Encoding marker
    # and ranged reads fail. Asking for gzip returns the stored bytes.
    headers = {"Accept-Encoding": "gzip"}
    key = ("gs", cloudpath.bucket, endpoint, credentials.fingerprint(), options.anonymous,
           _settings_key(options))  # fmt: skip
    client = _cached_client(
        key,
        lambda: GCSStore(
            cloudpath.bucket,
            config=cast("GCSConfig", config),
            client_options=_client_options(options, endpoint, headers),
            retry_config=_retry_config(options),
        ),
        cloudpath,
        credentials,
    )
    return _object_store(client, "gs", cloudpath, credentials, options)


def _http_store(cloudpath: CloudPath, options: StorageOptions) -> ObjectStore:
    scheme = "http" if cloudpath.protocol == "http" else "https"
    base = cloudpath.host or f"{scheme}://{cloudpath.bucket}"
    if "://" not in base:
        base = f"{scheme}://{base}"
    credentials = resolve_credentials(cloudpath.protocol, cloudpath.bucket, options.secrets)
    if options.anonymous:
        credentials = Credentials("http", "anonymous")
    headers = dict(credentials.headers)
    key = ("http", base, credentials.fingerprint(), _settings_key(options))
    client = _cached_client(
        key,
        lambda: HTTPStore.from_url(
            base.rstrip("/") + "/",
            client_options=_client_options(options, base, headers),
            retry_config=_retry_config(options),
        ),
        cloudpath,
        credentials,
    )
    return ObjectStore(
        client,
        kind="http",
        url=f"{base.rstrip('/')}/{cloudpath.path}" if cloudpath.path else base,
        root=cloudpath.path,
        credentials=credentials,
        options=options,
    )


def _object_store(
    client: Any, kind: ServiceKind, cloudpath: CloudPath, credentials: Credentials,
    options: StorageOptions,
) -> ObjectStore:  # fmt: skip
    return ObjectStore(
        client,
        kind=kind,
        url=cloudpath.url,
        root=cloudpath.path,
        credentials=credentials,
        options=options,
    )


def _forget_clients_after_fork() -> None:
    global _clients_lock
    _clients.clear()
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_clients_after_fork)
