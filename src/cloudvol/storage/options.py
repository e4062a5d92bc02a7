"""How stores are opened: credentials, concurrency, retries, timeouts, local naming."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from cloudvol.storage.aio import DEFAULT_CONCURRENCY
from cloudvol.storage.threads import DEFAULT_FILE_THREADS

__all__ = ["StorageOptions"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class StorageOptions:
    """Options for :func:`cloudvol.storage.open_store`, parsed once and passed down.

    Attributes:
      secrets: CloudVolume's ``secrets=``: a dict, a JSON string, a path to a JSON
        file, or a bare token (GCS / HTTP bearer). ``None`` looks in the secrets
        directories and the environment (see :mod:`cloudvol.secrets`). Never shown
        by ``repr``.
      concurrency: requests in flight per batch call on S3 / GCS / HTTP.
      max_retries: retries of a request after 5xx, 429, connection errors and
        timeouts (exponential backoff with jitter, from ``retry_backoff`` seconds up
        to ``max_backoff``, giving up after ``retry_timeout`` seconds in all).
      connect_timeout, request_timeout: seconds for the TCP/TLS connect and for a
        whole request (``None``: no limit on the request).
      endpoint: service URL for ``s3://`` and ``gs://`` (S3-compatible servers, GCS
        emulators). A cloudpath's own host (``s3://https://host/bucket``, the S3
        aliases) takes precedence; otherwise this beats secrets and environment.
      anonymous: never sign requests (public buckets), even when credentials exist.
      local_suffixes: ``file://`` and ``mem://`` store compressed objects as
        ``key.gz``/``key.br``/``key.zstd`` like CloudVolume (``True``), or store
        plain bytes under ``key`` as Neuroglancer/TensorStore read them (``False``).
        Reads find every variant either way.
      file_threads: worker threads for local file IO.
      multipart_threshold, multipart_chunk_size: objects larger than the threshold
        (bytes) are uploaded in parts of this size.
      coalesce_gap, coalesce_max: ranged reads of one object closer than
        ``coalesce_gap`` bytes are merged into requests of at most ``coalesce_max``.
    """

    secrets: Any = field(default=None, repr=False)
    concurrency: int = DEFAULT_CONCURRENCY
    max_retries: int = 10
    retry_backoff: float = 0.1
    max_backoff: float = 15.0
    retry_timeout: float = 180.0
    connect_timeout: float = 5.0
    request_timeout: float | None = 300.0
    endpoint: str | None = None
    anonymous: bool = False
    local_suffixes: bool = True
    file_threads: int = DEFAULT_FILE_THREADS
    multipart_threshold: int = 16 * MiB
    multipart_chunk_size: int = 8 * MiB
    coalesce_gap: int = 1 * MiB
    coalesce_max: int = 16 * MiB

    def __post_init__(self) -> None:
        for name in ("concurrency", "file_threads", "multipart_chunk_size", "coalesce_max"):
            if getattr(self, name) < 1:
                raise ValueError(f"StorageOptions.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("max_retries", "retry_backoff", "max_backoff", "retry_timeout",
                     "connect_timeout", "multipart_threshold", "coalesce_gap"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"StorageOptions.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.multipart_chunk_size < 5 * MiB:
            # S3 (and GCS's XML API) reject parts under 5 MiB except the last.
            raise ValueError("StorageOptions.multipart_chunk_size must be at least 5 MiB")

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.name != "secrets" and getattr(self, f.name) != f.default
        ]
        if self.secrets is not None:
            shown.insert(0, "secrets=<hidden>")
        return f"StorageOptions({', '.join(shown)})"

    __str__ = __repr__
