"""Cloudpath parsing: the only place in cloudvol that takes cloudpath strings apart.

A cloudpath is ``[FORMAT://]PROTOCOL://PATH``, ``PROTOCOL://PATH|FORMAT:`` or a local
path. :func:`parse` turns one into a frozen :class:`CloudPath`, which the rest of cloudvol
uses. Formats: ``precomputed`` (default), ``graphene``, ``boss``, ``n5``, ``zarr``,
``zarr2``, ``zarr3`` (suffix ``|neuroglancer-precomputed:`` = precomputed). Protocols:
``gs``, ``s3`` (also ``s3://https://ENDPOINT/BUCKET/...``), ``file``, ``mem``, ``http``,
``https``, ``middleauth+https``, ``ngauth+https``, the S3 aliases ``matrix``,
``tigerdata``, ``nokura``, and user aliases ``{"name": {"host": "s3://https://host/"}}``
from ``$CLOUD_FILES_DIR/aliases.json`` (default ``~/.cloudfiles``).

Credentials never belong in a cloudpath: userinfo (``https://user:pw@host``) is refused
with a message pointing to ``secrets=`` / ``http-secret.json``, and error messages
redact userinfo and query strings.

:func:`extract`, :func:`strict_extract`, :func:`to_https_protocol`, :func:`ascloudpath`
and :class:`ExtractedPath` reproduce ``cloudvolume.paths`` (12.x) tuple for tuple, with
these deliberate differences:

1. An unknown scheme (``s4://b/x``, ``HTTPS://h``, ``middleauth+http://h``) raises
   :class:`UnsupportedProtocolError`, also in ``to_https_protocol``; CloudVolume
   silently treats the string as a local path under the current directory.
2. Misplaced schemes always raise: a repeated protocol (``gs://gs://x``), a format after
   the protocol (``gs://precomputed://x``), two formats (``precomputed://graphene://``, or
   a prefix plus a ``|format:`` suffix) and ``://`` inside the path (``gs://b/x://y``,
   ``gs://s4://x``), where CloudVolume returns odd tuples.
3. A format cloudvol cannot open (``nifti://``, ``|foo:``) raises
   :class:`UnsupportedFormatError`; CloudVolume yields format ``None`` or a local path.
4. ``user:pw@`` before a host or bucket is refused (CloudVolume reads the user name as
   the bucket); so is an empty bucket or host (``gs:///b/x``, ``https:///x``).
5. ``to_https_protocol`` on an ``ExtractedPath`` converts every S3 alias (CloudVolume
   skips ``nokura``); ``extract``'s memo is also keyed on the working and home
   directories, so a ``chdir`` never yields stale relative paths.

As in CloudVolume, ``extract`` refuses ``s3://https://ENDPOINT/...`` (seven fields cannot
carry the endpoint); :func:`parse` accepts it. :func:`parse` is also stricter about the
path part: no empty, ``.`` or ``..`` components below a bucket or host, no query string
or fragment in URLs, valid host/port and bucket names, no empty local path or ``/``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple, overload

from cloudvol.exceptions import CloudVolError, UnsupportedFormatError, UnsupportedProtocolError

ALLOWED_FORMATS: list[str] = ["graphene", "precomputed", "boss", "n5", "zarr", "zarr2", "zarr3"]
ALLOWED_PROTOCOLS: list[str] = ["gs", "file", "s3", "http", "https", "mem", "middleauth+https", "ngauth+https", "nokura", "matrix", "tigerdata"]  # fmt: skip
#: Endpoints of the built-in S3 aliases (storage treats them as S3 at this host).
ALIAS_ENDPOINTS: dict[str, str] = {
    "nokura": "https://c10s.pni.princeton.edu",
    "matrix": "https://s3-hpcrc.rc.princeton.edu",
    "tigerdata": "https://td.princeton.edu",
}
#: Public HTTPS endpoints that ``use_https`` maps ``gs://`` and ``s3://`` to.
HTTPS_ENDPOINTS: dict[str, str] = {
    "gs": "https://storage.googleapis.com",
    "s3": "https://s3.amazonaws.com",
}

_HTTP_PROTOCOLS = ("http", "https", "middleauth+https", "ngauth+https")
# Neuroglancer data sources cloudvol cannot open: a clearer error than "unknown protocol".
_FOREIGN_FORMATS = ("brainmaps", "deepzoom", "nggraph", "render", "vtk", "nifti", "dvid", "obj", "zip", "ocdbt", "python")  # fmt: skip
_PRECOMPUTED_SUFFIX = "|neuroglancer-precomputed:"

_SCHEME_RE = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.+-]*)://")
_SUFFIX_RE = re.compile(r"\|([A-Za-z0-9_-]+):$")
_HOST_RE = re.compile(r"[A-Za-z0-9_.-]+(?::(\d{1,5}))?")
_BUCKET_NAME_RE = re.compile(r"[A-Za-z0-9_.~-]+")
_ALIAS_TARGET_RE = re.compile(r"s3://(https?://[A-Za-z0-9_.-]+(?::\d{1,5})?)/?")
# CloudVolume's notion of the first component: [/]word-ish[:port] up to a word boundary.
_CV_BUCKET_RE = re.compile(r"(/?[\w.~-]+(?::\d+)?)(?:\b|$)")
_CV_WINDOWS_BUCKET_RE = re.compile(r"(\w:\\[\w.-]+)")
# userinfo: up to the first "/" in general; up to the last "@" after an http(s) scheme,
# so that a password holding a raw "/" is hidden too.
_USERINFO_RE = re.compile(r"((?:https?|[a-z]+\+https)://)[^@\s]*@|(://)[^/?#@\s]*@")
_QUERY_RE = re.compile(r"\?\S*")

_FORMS = (
    "Accepted: [FORMAT://]PROTOCOL://PATH, PROTOCOL://PATH|FORMAT: or a local path; "
    f"formats: {', '.join(ALLOWED_FORMATS)} (default precomputed); "
    f"protocols: {', '.join(ALLOWED_PROTOCOLS)}, s3://https://ENDPOINT/BUCKET/PATH "
    "and S3 aliases from aliases.json."
)
_SECRET_HINT = (
    "pass credentials with secrets= or in ~/.cloudvolume/secrets/http-secret.json instead"
)


def _redact(text: str) -> str:
    """``text`` without URL userinfo or query strings, for error messages."""
    text = _USERINFO_RE.sub(lambda m: f"{m.group(1) or m.group(2)}<redacted>@", text)
    return _QUERY_RE.sub("?<redacted>", text)


def _error(cloudpath: str, problem: str, kind: type[CloudVolError] = UnsupportedProtocolError):
    return kind(_redact(f"{problem} in cloudpath {cloudpath!r}. {_FORMS}"))


@dataclass(frozen=True, slots=True)
class CloudPath:
    """A parsed cloudpath.

    Fields:
      format:   ``precomputed`` (default), ``graphene``, ``n5``, ``zarr``, ``zarr2``,
                ``zarr3``, ``boss``.
      protocol: ``file``, ``mem``, ``gs``, ``s3``, ``http``, ``https``, or an S3 alias
                (``matrix``, ``tigerdata``, ``nokura``, user aliases) which storage treats
                as S3 at ``host``; graphene also uses ``middleauth+https`` and
                ``ngauth+https`` (HTTPS with a token; bucket and host as for https).
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
        """The path one level up (``..``)."""
        return self.join("..")

    @property
    def basename(self) -> str:
        """The last component of ``path`` (``""`` at a bucket root)."""
        return posixpath.basename(self.path.rstrip("/"))

    def to_https(self) -> CloudPath:
        """This location over plain HTTPS, as ``use_https=True`` reads it.

        ``gs``/``s3`` map to the public Google/AWS endpoints; custom S3 endpoints and
        aliases to their own host (whose scheme may be ``http``). Other protocols are
        returned unchanged. The format is kept.
        """
        if self.protocol in HTTPS_ENDPOINTS and not self.host:
            endpoint = HTTPS_ENDPOINTS[self.protocol]
        elif self.host and self.protocol not in (*_HTTP_PROTOCOLS, "file", "mem"):
            endpoint = self.host
        else:
            return self
        scheme, _, netloc = endpoint.partition("://")
        key = f"{self.bucket}/{self.path}" if self.path else self.bucket
        return CloudPath(self.format, scheme, netloc, key, endpoint)

    @property
    def extracted(self) -> ExtractedPath:
        """CloudVolume's seven-field view of this path (as ``extract(str(self))``).

        A custom S3 endpoint cannot be expressed in those fields: the tuple then reads
        like plain ``s3`` — use ``str(self)`` to keep the endpoint.
        """
        if self.protocol == "file":
            rest = self.path
        else:
            rest = f"{self.bucket}/{self.path}" if self.path else self.bucket
        return _cv_split(self.format, self.protocol, rest, False, str(self))

    @property
    def dataset(self) -> str:
        """CloudVolume's ``dataset``: the component before the layer (or the bucket)."""
        return self.extracted.dataset

    @property
    def layer(self) -> str:
        """CloudVolume's ``layer``: the last component (the bucket at a bucket root)."""
        return self.extracted.layer


class ExtractedPath(NamedTuple):
    """CloudVolume's ``cloudvolume.paths.ExtractedPath`` (compares equal to it)."""

    format: str
    protocol: str
    bucket: str
    basepath: str
    no_bucket_basepath: str
    dataset: str
    layer: str


@dataclass(frozen=True, slots=True)
class _Head:
    """The scheme part of a cloudpath: what came before the bucket / local path."""

    format: str | None
    protocol: str | None  # None: a local path
    endpoint: str | None  # s3 custom endpoint or alias host
    rest: str  # everything after the protocol (and endpoint)
    span: tuple[int, int]  # where "PROTOCOL://" sits in the input


def _alias_file() -> str:
    base = os.environ.get("CLOUD_FILES_DIR") or os.path.join(os.path.expanduser("~"), ".cloudfiles")
    return os.path.join(base, "aliases.json")


def _user_alias(name: str) -> str | None:
    """The S3 endpoint of user alias ``name`` in ``aliases.json``, or None if undefined."""
    filename = _alias_file()
    try:
        with open(filename, "rb") as f:
            aliases = json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise UnsupportedProtocolError(f"cannot read cloudpath aliases {filename}: {err}") from err
    entry = aliases.get(name) if isinstance(aliases, dict) else None
    if entry is None:
        return None
    host = entry.get("host") if isinstance(entry, dict) else None
    match = _ALIAS_TARGET_RE.fullmatch(host) if isinstance(host, str) else None
    if match is None:
        raise UnsupportedProtocolError(
            f"alias {name!r} in {filename} maps to {_redact(str(host))!r}; cloudvol "
            "supports aliases of the form s3://https://ENDPOINT/ only"
        )
    return match.group(1)


def _unknown_scheme(word: str, cloudpath: str) -> CloudVolError:
    lower = word.lower()
    if lower in _FOREIGN_FORMATS:
        return _error(
            cloudpath, f"format '{word}://' is not one cloudvol can open", UnsupportedFormatError
        )
    hint = ""
    if lower != word and (lower in ALLOWED_PROTOCOLS or lower in ALLOWED_FORMATS):
        hint = f" (schemes are lower case: '{lower}://')"
    return _error(cloudpath, f"unknown protocol '{word}://'{hint}")


def _protocol_endpoint(word: str, cloudpath: str) -> str | None:
    """The S3 host behind protocol ``word`` if it is an alias, else None; raise if unknown."""
    if word in ALIAS_ENDPOINTS:
        return ALIAS_ENDPOINTS[word]
    if word in ALLOWED_PROTOCOLS:
        return None
    host = _user_alias(word)
    if host is None:
        raise _unknown_scheme(word, cloudpath)
    return host


def _strip_suffix(cloudpath: str) -> tuple[str, str | None]:
    """Remove a ``|FORMAT:`` suffix; return the rest and the format it named."""
    if cloudpath.endswith(_PRECOMPUTED_SUFFIX):
        text, fmt = cloudpath[: -len(_PRECOMPUTED_SUFFIX)], "precomputed"
    else:
        match = _SUFFIX_RE.search(cloudpath)
        if match is None:
            return cloudpath, None
        text, fmt = cloudpath[: match.start()], match.group(1)
        if fmt not in ALLOWED_FORMATS:
            raise _error(cloudpath, f"unknown format suffix '|{fmt}:'", UnsupportedFormatError)
    extra = _SUFFIX_RE.search(text)
    if extra is not None:
        raise _error(cloudpath, f"second format suffix '|{extra.group(1)}:'")
    return text, fmt


def _split(cloudpath: str) -> _Head:
    """Peel the optional format and the protocol off ``cloudpath``, checking their order."""
    text, suffix = _strip_suffix(cloudpath)
    fmt = suffix
    protocol: str | None = None
    endpoint: str | None = None
    span = (0, 0)
    pos = 0
    while (match := _SCHEME_RE.match(text, pos)) is not None:
        word = match.group(1)
        if protocol == "s3" and endpoint is None and word in ("http", "https"):
            netloc = text[match.end() :].split("/", 1)[0]
            _check_host(netloc, cloudpath, "S3 endpoint")
            endpoint = f"{word}://{netloc}"
            pos = match.end() + len(netloc)
            pos += text.startswith("/", pos)
            break
        if word in ALLOWED_FORMATS:
            if protocol is not None:
                raise _error(
                    cloudpath,
                    f"format '{word}://' after protocol '{protocol}://' "
                    "(write FORMAT://PROTOCOL://...)",
                )
            if fmt is not None:
                first = f"'{fmt}://'" if suffix is None else f"suffix '|{suffix}:'"
                raise _error(cloudpath, f"second format '{word}://' (already {first})")
            fmt = word
        else:
            alias_host = _protocol_endpoint(word, cloudpath)
            if protocol is not None:
                raise _error(cloudpath, f"repeated protocol '{word}://' after '{protocol}://'")
            protocol, endpoint, span = word, alias_host, (match.start(), match.end())
        pos = match.end()
    rest = text[pos:]
    if protocol not in (None, "file") and "@" in rest.split("/", 1)[0]:
        raise _error(cloudpath, f"credentials in the {protocol}:// URL ('...@'); {_SECRET_HINT}")
    if "://" in rest:
        raise _error(
            cloudpath,
            f"'://' inside the path {rest!r} (a protocol may appear once, after the format)",
        )
    return _Head(fmt, protocol, endpoint, rest, span)


def _check_host(netloc: str, cloudpath: str, what: str) -> None:
    """Require ``host[:port]``: no userinfo, no IPv6 brackets, a port that fits."""
    if "@" in netloc:
        raise _error(cloudpath, f"credentials in the {what} URL ('...@'); {_SECRET_HINT}")
    if not netloc:
        raise _error(cloudpath, f"missing {what} host (expected host[:port])")
    match = _HOST_RE.fullmatch(netloc)
    if match is None or (match.group(1) and int(match.group(1)) > 65535):
        raise _error(cloudpath, f"invalid {what} host {netloc!r} (expected host[:port])")


def _key_path(parts: list[str], cloudpath: str) -> str:
    """Join the components below the bucket, refusing empty, ``.`` and ``..`` ones."""
    for part in parts:
        if part in ("", ".", ".."):
            raise _error(cloudpath, f"path component {part!r} (empty, '.' and '..' not allowed)")
    return "/".join(parts)


def _toabs(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _local_path(rest: str, cloudpath: str) -> str:
    if not rest:
        raise _error(cloudpath, "empty local path")
    path = _toabs(rest)
    if path == os.path.abspath(os.sep):
        raise _error(cloudpath, f"local path {rest!r} is the filesystem root")
    return path


def parse(cloudpath: str | os.PathLike[str], use_https: bool = False) -> CloudPath:
    """Parse a cloudpath (or a local path) into a :class:`CloudPath`.

    Local paths (no ``://``, or ``file://``) have ``~`` expanded and are made absolute
    against the current directory. ``use_https=True`` returns :meth:`CloudPath.to_https`.

    Raises :class:`UnsupportedProtocolError` for an unknown, repeated or misplaced
    scheme and for a malformed path; :class:`UnsupportedFormatError` for a format
    cloudvol cannot open. Messages name the offending part and list what is accepted.
    """
    if isinstance(cloudpath, os.PathLike):
        cloudpath = os.fspath(cloudpath)
    if not isinstance(cloudpath, str):
        raise TypeError(f"a cloudpath is a str, not {type(cloudpath).__name__}")
    head = _split(cloudpath)
    fmt = head.format or "precomputed"
    protocol = head.protocol
    if protocol is None or protocol == "file":
        return CloudPath(fmt, "file", "", _local_path(head.rest, cloudpath))
    if protocol in _HTTP_PROTOCOLS:
        if "?" in head.rest or "#" in head.rest:
            raise _error(cloudpath, "query string or fragment ('?', '#') in a URL")
        netloc, *parts = head.rest.rstrip("/").split("/")
        _check_host(netloc, cloudpath, protocol)
        scheme = "http" if protocol == "http" else "https"
        cp = CloudPath(fmt, protocol, netloc, _key_path(parts, cloudpath), f"{scheme}://{netloc}")
    else:
        body = head.rest.rstrip("/")
        if not body:
            raise _error(cloudpath, f"missing bucket after '{protocol}://'")
        bucket, *parts = body.split("/")
        if not bucket:
            raise _error(cloudpath, f"empty bucket after '{protocol}://'")
        if _BUCKET_NAME_RE.fullmatch(bucket) is None or bucket in (".", ".."):
            raise _error(cloudpath, f"invalid bucket name {bucket!r}")
        cp = CloudPath(fmt, protocol, bucket, _key_path(parts, cloudpath), head.endpoint)
    return cp.to_https() if use_https else cp


def normalize(cloudpath: str, use_https: bool = False) -> str:
    """The canonical spelling ``FORMAT://PROTOCOL://...`` of ``cloudpath``."""
    return str(parse(cloudpath, use_https=use_https))


def _cv_split(fmt: str, protocol: str, rest: str, windows: bool, cloudpath: str) -> ExtractedPath:
    """CloudVolume's bucket / basepath / dataset / layer split of ``rest``."""
    sep, bucket_re = ("\\", _CV_WINDOWS_BUCKET_RE) if windows else ("/", _CV_BUCKET_RE)
    match = bucket_re.match(rest)
    if match is None:
        raise _error(cloudpath, f"no bucket or first directory in {rest!r}")
    bucket = match.group(1)
    body = rest[1:] if rest.startswith(sep) else rest
    body = body[:-1] if body.endswith(sep) else body
    parts = body.split(sep)
    if len(parts) == 1:
        return ExtractedPath(fmt, protocol, bucket, "", "", bucket, parts[0])
    # A Windows bucket ("C:\\first") spans two components.
    middle = parts[2 if windows else 1 : -1]
    return ExtractedPath(
        fmt, protocol, bucket, sep.join([bucket, *middle]), sep.join(middle), *parts[-2:]
    )


def extract(
    cloudpath: str, windows: bool | None = None, disable_toabs: bool = False
) -> ExtractedPath:
    """CloudVolume's ``extract``: split a cloudpath into an :class:`ExtractedPath`.

    ``''`` gives all-empty fields. File paths are made absolute unless
    ``disable_toabs``; ``windows`` (default: running on Windows) splits them on ``\\``.
    Memoized. Raises like :func:`parse` for bad schemes (see the module docstring for
    where that differs from CloudVolume).
    """
    if windows is None:
        windows = sys.platform == "win32"
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    home = os.environ.get("HOME", "")
    return _extract_cached(cloudpath, bool(windows), bool(disable_toabs), cwd, home)


@lru_cache(maxsize=256)
def _extract_cached(
    cloudpath: str, windows: bool, disable_toabs: bool, cwd: str, home: str
) -> ExtractedPath:
    # cwd and home only key the cache: relative and ~ paths depend on them.
    if cloudpath == "":
        return ExtractedPath("", "", "", "", "", "", "")
    head = _split(cloudpath)
    fmt = head.format or "precomputed"
    rest = head.rest
    if head.protocol is None:
        # A bare path is made absolute even with disable_toabs, as CloudVolume does.
        protocol, rest = "file", _toabs(rest)
    elif head.protocol == "file":
        protocol = "file"
        rest = rest if disable_toabs else _toabs(rest)
    else:
        protocol = head.protocol
        if protocol == "s3" and head.endpoint is not None:
            raise _error(
                cloudpath,
                "custom S3 endpoint: CloudVolume's ExtractedPath cannot hold it "
                "(cloudvol.paths.parse accepts it)",
            )
        if rest.startswith("/"):
            raise _error(cloudpath, f"empty bucket or host after '{protocol}://'")
    return _cv_split(fmt, protocol, rest, windows and protocol == "file", cloudpath)


extract.cache_clear = _extract_cached.cache_clear  # type: ignore[attr-defined]


def strict_extract(
    cloudpath: str, windows: bool | None = None, disable_toabs: bool = False
) -> ExtractedPath:
    """:func:`extract`, also requiring non-empty ``dataset`` and ``layer``."""
    path = extract(cloudpath, windows, disable_toabs)
    if not path.dataset or not path.layer:
        raise _error(
            cloudpath,
            f"empty dataset or layer (dataset={path.dataset!r}, layer={path.layer!r})",
        )
    return path


def ascloudpath(extracted: ExtractedPath) -> str:
    """Rebuild ``FORMAT://PROTOCOL://BASEPATH/LAYER`` from an :class:`ExtractedPath`."""
    location = posixpath.join(extracted.basepath, extracted.layer)
    return f"{extracted.format}://{extracted.protocol}://{location}"


@overload
def to_https_protocol(cloudpath: str) -> str: ...
@overload
def to_https_protocol(cloudpath: ExtractedPath) -> ExtractedPath: ...
def to_https_protocol(cloudpath: str | ExtractedPath) -> str | ExtractedPath:
    """Rewrite ``gs://``, ``s3://`` and S3 aliases as their HTTPS URLs.

    ``gs://b/p`` -> ``https://storage.googleapis.com/b/p``, ``s3://b/p`` ->
    ``https://s3.amazonaws.com/b/p``, ``s3://https://endpoint/b/p`` ->
    ``https://endpoint/b/p``, ``matrix://b/p`` -> ``https://s3-hpcrc.rc.princeton.edu/b/p``.
    The format prefix or suffix is kept; other paths come back unchanged. An
    :class:`ExtractedPath` (or any seven-tuple) is converted and re-extracted.
    """
    if isinstance(cloudpath, tuple):
        extracted = ExtractedPath(*cloudpath)
        protocol = extracted.protocol
        converts = protocol in HTTPS_ENDPOINTS or protocol in ALIAS_ENDPOINTS
        if not converts and protocol and protocol not in ALLOWED_PROTOCOLS:
            converts = _user_alias(protocol) is not None
        return extract(to_https_protocol(ascloudpath(extracted))) if converts else extracted
    head = _split(cloudpath)
    if head.protocol in HTTPS_ENDPOINTS and head.endpoint is None:
        endpoint = HTTPS_ENDPOINTS[head.protocol] + "/"
    elif head.protocol == "s3":
        endpoint = ""  # s3://https://endpoint/... -> https://endpoint/...
    elif head.endpoint is not None:
        endpoint = head.endpoint + "/"
    else:
        return cloudpath
    start, end = head.span
    return cloudpath[:start] + endpoint + cloudpath[end:]
