"""Cloudpath parsing: the only place in cloudvol that takes cloudpath strings apart.

(Contract written first; the parser is being filled in.)
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class CloudPath:
    """A parsed cloudpath.

    Fields:
      format:   ``precomputed`` (default), ``graphene``, ``n5``, ``zarr``, ``zarr2``,
                ``zarr3``, ``boss``.
      protocol: ``file``, ``mem``, ``gs``, ``s3``, ``http``, ``https``, or an S3 alias
                (``matrix``, ``tigerdata``, ``nokura``) which storage treats as S3 at ``host``.
      bucket:   gs/s3/aliases/mem: the bucket; http(s): ``host[:port]``; file: ``""``.
      path:     the key prefix inside the bucket, no leading or trailing ``/``;
                for ``file`` the absolute local directory (leading ``/`` kept).
      host:     the endpoint URL for http(s) (``http://host:port``) and for
                S3-compatible endpoints (``s3://https://endpoint/bucket/…`` and the
                aliases); ``None`` for the default AWS / GCS endpoints, file and mem.
    """

    format: str
    protocol: str
    bucket: str
    path: str
    host: str | None = None

    @property
    def url(self) -> str:
        """The location without the format prefix, e.g. ``gs://bucket/ds/layer``."""
        if self.protocol == "file":
            return "file://" + self.path
        if self.protocol in ("http", "https"):
            base = self.host or f"{self.protocol}://{self.bucket}"
            return f"{base}/{self.path}" if self.path else base
        if self.protocol == "s3" and self.host:
            head = f"s3://{self.host}/{self.bucket}"
        else:
            head = f"{self.protocol}://{self.bucket}"
        return f"{head}/{self.path}" if self.path else head

    def __str__(self) -> str:
        return f"{self.format}://{self.url}"

    def join(self, *parts: str) -> CloudPath:
        """A path below this one (``..`` is resolved, as in an info ``key``)."""
        if not parts:
            return self
        joined = posixpath.normpath(posixpath.join(self.path or ".", *parts))
        if self.protocol != "file":
            joined = joined.lstrip("/")
            if joined == ".":
                joined = ""
        return replace(self, path=joined)

    @property
    def parent(self) -> CloudPath:
        return self.join("..")

    @property
    def basename(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))
