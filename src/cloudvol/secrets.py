"""Credentials for S3, GCS and HTTP(S), found the way CloudVolume finds them.

Order, first match wins:

1. the ``secrets=`` argument: a dict, a JSON string, a path to a JSON file, or a
   bare token string (a GCS or HTTP bearer token);
2. secret files in ``$CLOUD_VOLUME_DIR/secrets/`` (else ``~/.cloudvolume/secrets/``),
   then ``$CLOUD_FILES_DIR/secrets/`` (else ``~/.cloudfiles/secrets/``). A
   bucket-specific file beats the generic one: ``{bucket}-google-secret.json``
   before ``google-secret.json``, ``{bucket}-aws-secret.json`` before
   ``aws-secret.json``; ``matrix-secret.json``/``tigerdata-secret.json``/
   ``nokura-secret.json`` for the S3 aliases; ``http-secret.json`` (``user`` and
   ``password``: basic auth, or ``token``: bearer);
3. the environment: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
   ``AWS_SESSION_TOKEN``/``AWS_REGION``, the shared ``~/.aws/credentials`` file,
   web-identity and container credentials; ``GOOGLE_APPLICATION_CREDENTIALS``, the
   ``GOOGLE_SERVICE_ACCOUNT*`` and ``GOOGLE_BEARER_TOKEN`` variables, the gcloud
   application-default credentials file;
4. anonymous access (unsigned requests) for public data.

An S3 endpoint can come from the secret's ``AWS_ENDPOINT_URL`` (or ``endpoint``)
field (:attr:`Credentials.endpoint`) or from ``$AWS_ENDPOINT_URL_S3`` /
``$AWS_ENDPOINT_URL`` (:func:`aws_endpoint_from_environment`); the storage factory
decides precedence. A GCS endpoint comes from the secret's
``gcs_base_url``/``endpoint`` field, else ``$STORAGE_EMULATOR_HOST``.

The result, :class:`Credentials`, holds obstore configuration. Its ``repr`` and
``str`` mask every secret; :func:`redact` scrubs secrets from any text (error
messages) before it is shown.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudvol.exceptions import AuthenticationError

__all__ = [
    "S3_ALIASES",
    "Credentials",
    "aws_credentials",
    "aws_endpoint_from_environment",
    "find_secret_file",
    "google_credentials",
    "http_credentials",
    "parse_secrets",
    "redact",
    "resolve_credentials",
    "secret_dirs",
]

S3_ALIASES: tuple[str, ...] = ("matrix", "tigerdata", "nokura")
"""Protocols that are S3 at another endpoint, with their own ``{alias}-secret.json``."""

# Config keys that say where or how, never who: shown by repr, not redacted.
_PUBLIC_CONFIG = frozenset(
    {"region", "endpoint", "base_url", "skip_signature", "application_credentials",
     "service_account", "virtual_hosted_style_request"}
)  # fmt: skip


@dataclass(frozen=True, repr=False)
class Credentials:
    """Resolved credentials for one service, ready for obstore.

    Attributes:
      service: ``"s3"``, ``"gs"`` or ``"http"``.
      source: where they came from (``"secrets argument"``, a file path,
        ``"environment"``, ``"anonymous"``); never the secret itself.
      config: obstore store configuration (``S3Config``/``GCSConfig`` keys).
      headers: request headers to send (HTTP ``Authorization``).
      endpoint: service endpoint named by the credentials, if any.
    """

    service: str
    source: str
    config: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    endpoint: str | None = None

    @property
    def anonymous(self) -> bool:
        """True when requests go unsigned."""
        return bool(self.config.get("skip_signature")) or (
            self.service == "http" and not self.headers
        )

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string held (for :func:`redact`), longest first."""
        values: set[str] = set()
        for key, value in self.config.items():
            if key not in _PUBLIC_CONFIG and isinstance(value, str) and value:
                values.add(value)
                if key == "service_account_key":
                    values.update(_json_secret_strings(value))
        for value in self.headers.values():
            values.add(value)
            scheme, _, token = value.partition(" ")
            if token:
                values.add(token)
                if scheme.lower() == "basic":
                    values.update(_basic_parts(token))
        return tuple(sorted((v for v in values if len(v) >= 4), key=len, reverse=True))

    def fingerprint(self) -> str:
        """A stable digest of everything that identifies these credentials."""
        blob = json.dumps(
            [
                self.service,
                sorted(self.config.items()),
                sorted(self.headers.items()),
                self.endpoint,
            ],
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        shown = {k: (v if k in _PUBLIC_CONFIG else "***") for k, v in self.config.items()}
        headers = {k: "***" for k in self.headers}
        return (
            f"Credentials(service={self.service!r}, source={self.source!r}, "
            f"config={shown!r}, headers={headers!r}, endpoint={self.endpoint!r})"
        )

    __str__ = __repr__


def _json_secret_strings(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [v for k, v in data.items() if isinstance(v, str) and _looks_secret(k)]


def _basic_parts(token: str) -> list[str]:
    try:
        _user, _, password = base64.b64decode(token).decode().partition(":")
    except ValueError:
        return []
    return [password] if password else []


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("secret", "token", "password", "private", "key"))


_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_SIGNED_QUERY = re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token)|Signature|sig)=[^&\s]+")


def redact(text: str, secrets: Credentials | Iterable[str] = ()) -> str:
    """``text`` with every secret value, URL user-info and signed-URL query
    parameter replaced by ``***``."""
    values = secrets.secret_values() if isinstance(secrets, Credentials) else secrets
    for value in sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "***")
    text = _URL_USERINFO.sub("***@", text)
    return _SIGNED_QUERY.sub(lambda m: f"{m.group(1)}=***", text)


# --- where secret files live -------------------------------------------------------


def secret_dirs() -> list[Path]:
    """Directories searched for secret files, in order."""
    home = Path.home()
    cv_dir = os.environ.get("CLOUD_VOLUME_DIR")
    cf_dir = os.environ.get("CLOUD_FILES_DIR")
    return [
        Path(cv_dir) / "secrets" if cv_dir else home / ".cloudvolume" / "secrets",
        Path(cf_dir) / "secrets" if cf_dir else home / ".cloudfiles" / "secrets",
    ]


def find_secret_file(filename: str, bucket: str | None = None) -> Path | None:
    """The first existing ``{bucket}-{filename}``, else ``{filename}``, across
    :func:`secret_dirs` (a bucket-specific file anywhere beats a generic one)."""
    names = [f"{bucket}-{filename}", filename] if bucket else [filename]
    for name in names:
        for directory in secret_dirs():
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def _read_json(path: Path | str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise AuthenticationError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        # The content may be a secret: name the file only.
        raise AuthenticationError(f"{what} {path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise AuthenticationError(f"{what} {path} must hold a JSON object")
    return data


def parse_secrets(value: Any) -> dict[str, Any] | str | None:
    """Normalise CloudVolume's ``secrets=``: a dict, a JSON string, a path to a JSON
    file, or a bare token. Returns a dict, a token string, or ``None``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, os.PathLike):
        return _read_json(os.fsdecode(value), "secrets file")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                raise AuthenticationError("secrets= looks like JSON but does not parse") from None
            if not isinstance(data, dict):
                raise AuthenticationError("secrets= JSON must be an object")
            return data
        if len(text) < 4096 and os.path.isfile(os.path.expanduser(text)):
            return _read_json(os.path.expanduser(text), "secrets file")
        return text
    raise AuthenticationError(
        f"secrets= must be a dict, JSON string, file path or token, not {type(value).__name__}"
    )


# --- S3 and S3-compatible ---------------------------------------------------------


def _aws_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """Lower-case keys without the ``aws_`` prefix: ``AWS_ACCESS_KEY_ID`` -> ``access_key_id``."""
    return {
        str(k).lower().removeprefix("aws_"): str(v) for k, v in data.items() if v not in (None, "")
    }


def _aws_endpoint(fields: Mapping[str, str]) -> str | None:
    for name in ("endpoint_url_s3", "endpoint_url", "endpoint"):
        if fields.get(name):
            return fields[name]
    return None


def aws_endpoint_from_environment() -> str | None:
    """``$AWS_ENDPOINT_URL_S3``, else ``$AWS_ENDPOINT_URL`` (the AWS SDKs' variables)."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _aws_region(fields: Mapping[str, str]) -> str:
    for name in ("default_region", "region"):
        if fields.get(name):
            return fields[name]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _aws_from_fields(data: Mapping[str, Any], source: str) -> Credentials:
    fields = _aws_fields(data)
    config: dict[str, Any] = {"region": _aws_region(fields)}
    key_id, secret = fields.get("access_key_id"), fields.get("secret_access_key")
    if key_id and secret:
        config["access_key_id"] = key_id
        config["secret_access_key"] = secret
        token = fields.get("session_token") or fields.get("token")
        if token:
            config["session_token"] = token
    elif key_id or secret:
        missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
        raise AuthenticationError(f"S3 credentials from {source} lack {missing}")
    else:
        config["skip_signature"] = True
    return Credentials("s3", source, config, endpoint=_aws_endpoint(fields))


def _aws_shared_file() -> tuple[dict[str, str], str] | None:
    path = Path(
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials"
    )
    if not path.is_file():
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return None
    profile = os.environ.get("AWS_PROFILE") or "default"
    if not parser.has_section(profile):
        return None
    section = dict(parser.items(profile))
    if section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
        return section, str(path)
    return None


def aws_credentials(bucket: str = "", service: str = "aws", secrets: Any = None) -> Credentials:
    """Credentials for ``s3://`` (``service="aws"``) or an S3 alias (``"matrix"``…)."""
    service = "aws" if service == "s3" else service
    parsed = parse_secrets(secrets)
    if isinstance(parsed, str):
        raise AuthenticationError(
            "a bare token cannot sign S3 requests; pass a dict with AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY"
        )
    if parsed is not None:
        return _aws_from_fields(parsed, "secrets argument")
    path = find_secret_file(f"{service}-secret.json", bucket or None)
    if path is not None:
        return _aws_from_fields(_read_json(path, "secret file"), str(path))
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return _aws_from_fields(
            {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
             if env.get(k)},
            "environment",
        )  # fmt: skip
    shared = _aws_shared_file()
    if shared is not None:
        return _aws_from_fields(shared[0], shared[1])
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") \
            or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):  # fmt: skip
        # obstore resolves and refreshes these itself.
        return Credentials("s3", "environment", {"region": _aws_region({})})
    return Credentials("s3", "anonymous", {"region": _aws_region({}), "skip_signature": True})


# --- Google Cloud Storage -----------------------------------------------------------

_TOKEN_FIELDS = ("token", "access_token", "bearer_token")


def _gcs_endpoint(data: Mapping[str, Any]) -> str | None:
    for name in ("gcs_base_url", "endpoint", "base_url"):
        if data.get(name):
            return str(data[name])
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:
        return emulator if "://" in emulator else f"http://{emulator}"
    return None


def _gcs_from_dict(data: Mapping[str, Any], source: str, path: Path | None = None) -> Credentials:
    endpoint = _gcs_endpoint(data)
    for name in _TOKEN_FIELDS:
        if data.get(name):
            return Credentials("gs", source, {"bearer_token": str(data[name])}, endpoint=endpoint)
    kind = data.get("type")
    if kind == "service_account" or "private_key" in data:
        return Credentials(
            "gs", source, {"service_account_key": json.dumps(dict(data))}, endpoint=endpoint
        )
    if path is not None:
        # authorized_user and other ADC kinds: obstore reads these from a file.
        return Credentials("gs", source, {"application_credentials": str(path)}, endpoint=endpoint)
    raise AuthenticationError(
        f"GCS credentials from {source} are neither a service account nor a token; "
        "pass user (authorized_user) credentials as a file path"
    )


def _gcloud_adc_file() -> Path | None:
    config_dir = os.environ.get("CLOUDSDK_CONFIG")
    base = Path(config_dir) if config_dir else Path.home() / ".config" / "gcloud"
    candidate = base / "application_default_credentials.json"
    return candidate if candidate.is_file() else None


def google_credentials(bucket: str = "", secrets: Any = None) -> Credentials:
    """Credentials for ``gs://bucket``."""
    parsed = parse_secrets(secrets)
    if isinstance(parsed, str):
        return Credentials(
            "gs", "secrets argument", {"bearer_token": parsed}, endpoint=_gcs_endpoint({})
        )
    if parsed is not None:
        path = Path(os.path.expanduser(secrets)) if isinstance(secrets, (str, os.PathLike)) \
            and not str(secrets).lstrip().startswith("{") else None  # fmt: skip
        return _gcs_from_dict(parsed, "secrets argument", path)
    path = find_secret_file("google-secret.json", bucket or None)
    if path is not None:
        return _gcs_from_dict(_read_json(path, "secret file"), str(path), path)
    env = os.environ
    adc = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if adc:
        return Credentials(
            "gs", "environment", {"application_credentials": adc}, endpoint=_gcs_endpoint({})
        )
    if any(env.get(k) for k in ("GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH",
                                "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_BEARER_TOKEN")):  # fmt: skip
        return Credentials("gs", "environment", {}, endpoint=_gcs_endpoint({}))
    adc_file = _gcloud_adc_file()
    if adc_file is not None:
        return Credentials(
            "gs", str(adc_file), {"application_credentials": str(adc_file)},
            endpoint=_gcs_endpoint({}),
        )  # fmt: skip
    return Credentials("gs", "anonymous", {"skip_signature": True}, endpoint=_gcs_endpoint({}))


# --- HTTP(S) -------------------------------------------------------------------------


def _http_headers(data: Mapping[str, Any] | str) -> dict[str, str]:
    if isinstance(data, str):
        return {"Authorization": f"Bearer {data}"}
    user, password = data.get("user") or data.get("username"), data.get("password")
    if user is not None and password is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    for name in _TOKEN_FIELDS:
        if data.get(name):
            return {"Authorization": f"Bearer {data[name]}"}
    raise AuthenticationError("HTTP secrets need 'user' and 'password', or 'token'")


def http_credentials(host: str = "", secrets: Any = None, *, cave: bool = False) -> Credentials:
    """Credentials for ``http(s)://host`` (``cave=True``: ``middleauth+https`` with the
    CAVE token from ``cave-secret.json``)."""
    parsed = parse_secrets(secrets)
    if parsed is not None:
        return Credentials("http", "secrets argument", headers=_http_headers(parsed))
    names = ("cave-secret.json", "chunkedgraph-secret.json") if cave else ("http-secret.json",)
    for name in names:
        path = find_secret_file(name, host or None)
        if path is not None:
            return Credentials(
                "http", str(path), headers=_http_headers(_read_json(path, "secret file"))
            )
    return Credentials("http", "anonymous")


def resolve_credentials(protocol: str, bucket: str = "", secrets: Any = None) -> Credentials:
    """Credentials for a cloudpath's ``protocol`` and ``bucket`` (``host[:port]`` for HTTP)."""
    if protocol == "s3":
        return aws_credentials(bucket, "aws", secrets)
    if protocol in S3_ALIASES:
        return aws_credentials(bucket, protocol, secrets)
    if protocol == "gs":
        return google_credentials(bucket, secrets)
    if protocol in ("http", "https"):
        return http_credentials(bucket, secrets)
    if protocol.endswith("+https"):
        return http_credentials(bucket, secrets, cave=True)
    raise AuthenticationError(f"no credentials apply to protocol {protocol!r}")
