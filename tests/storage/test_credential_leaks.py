"""Credentials must never appear in exception messages, tracebacks, reprs or logs."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudvol.exceptions import StorageError
from cloudvol.paths import CloudPath
from cloudvol.storage import ByteRange, StorageOptions, open_store
from servers import MotoS3, RangeHTTPServer

KEY_ID = "AKIDLEAKCANARY0001"
SECRET = "LEAK-CANARY-s3cr3t-9f8e7d"
TOKEN = "LEAK-CANARY-session-token-42"
PASSWORD = "LEAK-CANARY-password-77"
FAST = {"max_retries": 0, "connect_timeout": 2.0, "request_timeout": 10.0}


def _everything(exc: BaseException) -> str:
    """Every text a person could see: message, repr, the full traceback with its
    chained causes and contexts."""
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


def _assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"secret {secret[:6]}… leaked"


def _s3_secrets(endpoint: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN, "AWS_ENDPOINT_URL": endpoint}  # fmt: skip


def _failures(store) -> list[Callable[[], object]]:
    return [
        lambda: store.get("k"),
        lambda: store.put("k", b"v"),
        lambda: store.get_ranges([ByteRange("k", 0, 1)]),
        lambda: store.exists_many(["k"]),
        lambda: list(store.list()),
        lambda: store.delete_many(["k"]),
    ]


def test_s3_errors_reprs_and_logs_hold_no_secret(
    moto_s3: MotoS3, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = (KEY_ID, SECRET, TOKEN)
    options = StorageOptions(secrets=_s3_secrets(moto_s3.url), **FAST)
    # A bucket that does not exist: every operation fails on the server side.
    missing = open_store(CloudPath("precomputed", "s3", "no-such-bucket-xyz", "layer"), options)
    # A closed port: every operation fails to connect.
    refused = open_store(
        CloudPath("precomputed", "s3", "bkt", "layer"),
        StorageOptions(secrets=_s3_secrets("http://127.0.0.1:1"), **FAST),
    )
    raised = 0
    for store in (missing, refused):
        _assert_clean(repr(store) + str(store) + store.url, *secrets)
        for action in _failures(store):
            try:
                action()
            except Exception as exc:
                raised += 1
                _assert_clean(_everything(exc), *secrets)
    assert raised >= 8
    _assert_clean(repr(options) + str(options), *secrets)
    _assert_clean(caplog.text, *secrets)


def test_credentials_in_an_endpoint_url_are_redacted(moto_s3: MotoS3) -> None:
    host = f"http://user:{PASSWORD}@127.0.0.1:1"
    store = open_store(
        CloudPath("precomputed", "s3", "bkt", "layer", host=host),
        StorageOptions(secrets=_s3_secrets(moto_s3.url), **FAST),
    )
    _assert_clean(repr(store) + store.url, PASSWORD)
    with pytest.raises(Exception) as err:
        store.get("k")
    _assert_clean(_everything(err.value), PASSWORD, SECRET)


def test_http_basic_auth_never_leaks(
    http_server: RangeHTTPServer, http_dir: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _local, url_path = http_dir
    http_server.force_status(f"{url_path}/locked", 401)
    port = http_server.url.rsplit(":", 1)[1]
    options = StorageOptions(secrets={"user": "ana", "password": PASSWORD}, **FAST)
    store = open_store(
        CloudPath("precomputed", "http", f"127.0.0.1:{port}", url_path, host=http_server.url),
        options,
    )
    encoded = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    with pytest.raises(Exception) as err:
        store.get("locked")
    _assert_clean(_everything(err.value), PASSWORD, encoded)
    _assert_clean(repr(store) + repr(options) + caplog.text, PASSWORD, encoded)


def _service_account(private_key: str) -> dict[str, str]:
    return {
        "type": "service_account", "project_id": "p", "private_key_id": "LEAK-CANARY-kid",
        "private_key": private_key, "client_email": "sa@p.iam.gserviceaccount.com",
        "token_uri": "http://127.0.0.1:1/token",
    }  # fmt: skip


def test_malformed_service_account_key_fails_cleanly_at_open() -> None:
    material = "LEAK-CANARY-PRIVATE-KEY-MATERIAL"
    account = _service_account(
        f"-----BEGIN PRIVATE KEY-----\n{material}\n-----END PRIVATE KEY-----\n"
    )
    options = StorageOptions(secrets=account, endpoint="http://127.0.0.1:1", **FAST)
    with pytest.raises(StorageError) as err:
        open_store(CloudPath("precomputed", "gs", "bkt", "layer"), options)
    assert "gs://bkt/layer" in str(err.value)
    _assert_clean(_everything(err.value) + repr(options), material, "LEAK-CANARY-kid")


def test_gcs_service_account_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    """A well-formed key whose token exchange fails (token_uri is a closed port)."""
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    caplog.set_level(logging.DEBUG)
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    body = "".join(pem.splitlines()[1:-1])
    options = StorageOptions(secrets=_service_account(pem), endpoint="http://127.0.0.1:1", **FAST)
    store = open_store(CloudPath("precomputed", "gs", "bkt", "layer"), options)
    _assert_clean(repr(store) + repr(options), body[:40], "LEAK-CANARY-kid")
    for action in _failures(store):
        with pytest.raises(Exception) as err:
            action()
        _assert_clean(_everything(err.value), body[:40], body[-40:], "LEAK-CANARY-kid")
    _assert_clean(caplog.text, body[:40], "LEAK-CANARY-kid")


def test_gcs_bearer_token_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "LEAK-CANARY-bearer-token-0099"
    options = StorageOptions(secrets=token, endpoint="http://127.0.0.1:1", **FAST)
    store = open_store(CloudPath("precomputed", "gs", "bkt", "layer"), options)
    for action in _failures(store):
        with pytest.raises(Exception) as err:
            action()
        _assert_clean(_everything(err.value), token)
    _assert_clean(repr(store) + repr(options) + caplog.text, token)
