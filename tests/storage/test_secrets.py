"""Credential resolution: order, file names, environment, endpoints, masking."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cloudvol.exceptions import AuthenticationError
from cloudvol.paths import CloudPath
from cloudvol.secrets import (
    Credentials,
    aws_credentials,
    aws_endpoint_from_environment,
    find_secret_file,
    google_credentials,
    http_credentials,
    parse_secrets,
    redact,
    resolve_credentials,
    secret_dirs,
)
from cloudvol.storage import StorageOptions, open_store
from servers import MotoS3


def _write(directory: Path, name: str, data: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def cv_secrets(isolated_env: Path) -> Path:
    return isolated_env / ".cloudvolume" / "secrets"


@pytest.fixture
def cf_secrets(isolated_env: Path) -> Path:
    return isolated_env / ".cloudfiles" / "secrets"


# --- parse_secrets ---------------------------------------------------------------


def test_parse_secrets_forms(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.json", {"a": 1})
    assert parse_secrets(None) is None
    assert parse_secrets({"a": 1}) == {"a": 1}
    assert parse_secrets('{"a": 1}') == {"a": 1}
    assert parse_secrets(str(path)) == {"a": 1}
    assert parse_secrets(path) == {"a": 1}
    assert parse_secrets("ya29.token-value") == "ya29.token-value"
    assert parse_secrets(b" tok ") == "tok"


def test_parse_secrets_bad_json_hides_the_content(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError) as err:
        parse_secrets('{"AWS_SECRET_ACCESS_KEY": "hunter2-abc" ')
    assert "hunter2" not in str(err.value)
    bad = tmp_path / "bad.json"
    bad.write_text("not json hunter2-abc")
    with pytest.raises(AuthenticationError) as err:
        parse_secrets(bad)
    assert "hunter2" not in str(err.value) and "bad.json" in str(err.value)
    with pytest.raises(AuthenticationError):
        parse_secrets(12345)


# --- where files are found ---------------------------------------------------------


def test_secret_dirs_follow_environment(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert secret_dirs() == [isolated_env / ".cloudvolume" / "secrets",
                             isolated_env / ".cloudfiles" / "secrets"]  # fmt: skip
    monkeypatch.delenv("CLOUD_VOLUME_DIR")
    monkeypatch.delenv("CLOUD_FILES_DIR")
    assert secret_dirs() == [Path.home() / ".cloudvolume" / "secrets",
                             Path.home() / ".cloudfiles" / "secrets"]  # fmt: skip


def test_bucket_specific_file_beats_generic_in_any_directory(
    cv_secrets: Path, cf_secrets: Path
) -> None:
    _write(cv_secrets, "google-secret.json", {"token": "generic"})
    specific = _write(cf_secrets, "mybucket-google-secret.json", {"token": "specific"})
    assert find_secret_file("google-secret.json", "mybucket") == specific
    assert find_secret_file("google-secret.json", "other") == cv_secrets / "google-secret.json"
    assert find_secret_file("aws-secret.json") is None


def test_cloudvolume_dir_beats_cloudfiles_dir(cv_secrets: Path, cf_secrets: Path) -> None:
    _write(
        cf_secrets, "aws-secret.json", {"AWS_ACCESS_KEY_ID": "cf", "AWS_SECRET_ACCESS_KEY": "x1234"}
    )
    assert aws_credentials().config["access_key_id"] == "cf"
    _write(
        cv_secrets, "aws-secret.json", {"AWS_ACCESS_KEY_ID": "cv", "AWS_SECRET_ACCESS_KEY": "x1234"}
    )
    assert aws_credentials().config["access_key_id"] == "cv"


# --- S3 ----------------------------------------------------------------------------


def test_aws_resolution_order(
    cv_secrets: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    assert aws_credentials().source == "anonymous"
    assert aws_credentials().config == {"region": "us-east-1", "skip_signature": True}

    aws_dir = isolated_env / ".aws"
    aws_dir.mkdir()
    (aws_dir / "credentials").write_text(
        "[default]\naws_access_key_id = shared\naws_secret_access_key = s-1234\n"
    )
    assert aws_credentials().config["access_key_id"] == "shared"

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "e-1234")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    creds = aws_credentials()
    assert (creds.source, creds.config["access_key_id"], creds.config["region"]) == (
        "environment",
        "env",
        "eu-west-1",
    )

    _write(cv_secrets, "aws-secret.json", {"AWS_ACCESS_KEY_ID": "file", "AWS_SECRET_ACCESS_KEY": "f-1234",
                                           "AWS_SESSION_TOKEN": "sess-1234", "AWS_DEFAULT_REGION": "us-west-2"})  # fmt: skip
    creds = aws_credentials()
    assert creds.config == {"access_key_id": "file", "secret_access_key": "f-1234",
                            "session_token": "sess-1234", "region": "us-west-2"}  # fmt: skip

    _write(
        cv_secrets,
        "b1-aws-secret.json",
        {"AWS_ACCESS_KEY_ID": "bucket", "AWS_SECRET_ACCESS_KEY": "b-1234"},
    )
    assert aws_credentials("b1").config["access_key_id"] == "bucket"
    assert aws_credentials("b2").config["access_key_id"] == "file"

    arg = aws_credentials(
        "b1", secrets={"aws_access_key_id": "arg", "aws_secret_access_key": "a-1234"}
    )
    assert (arg.source, arg.config["access_key_id"]) == ("secrets argument", "arg")


def test_aws_endpoint_from_secret_fields_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s-1234"}
    assert (
        aws_credentials(secrets={**keys, "AWS_ENDPOINT_URL": "http://a:1"}).endpoint == "http://a:1"
    )
    assert aws_credentials(secrets={**keys, "endpoint": "http://b:2"}).endpoint == "http://b:2"
    assert aws_credentials(secrets=keys).endpoint is None
    assert aws_endpoint_from_environment() is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://c:3")
    assert aws_endpoint_from_environment() == "http://c:3"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://d:4")
    assert aws_endpoint_from_environment() == "http://d:4"


def test_aws_incomplete_keys_and_bare_token_are_refused() -> None:
    with pytest.raises(AuthenticationError, match="AWS_SECRET_ACCESS_KEY"):
        aws_credentials(secrets={"AWS_ACCESS_KEY_ID": "only-id"})
    with pytest.raises(AuthenticationError, match="bare token"):
        aws_credentials(secrets="some-token")


def test_alias_secret_files(cv_secrets: Path) -> None:
    _write(
        cv_secrets,
        "aws-secret.json",
        {"AWS_ACCESS_KEY_ID": "aws", "AWS_SECRET_ACCESS_KEY": "a-1234"},
    )
    _write(
        cv_secrets,
        "matrix-secret.json",
        {"AWS_ACCESS_KEY_ID": "mx", "AWS_SECRET_ACCESS_KEY": "m-1234"},
    )
    assert resolve_credentials("matrix", "bkt").config["access_key_id"] == "mx"
    assert resolve_credentials("s3", "bkt").config["access_key_id"] == "aws"
    assert resolve_credentials("tigerdata", "bkt").source == "anonymous"


def test_s3_endpoint_from_secret_file_reaches_moto(
    cv_secrets: Path, moto_s3: MotoS3, s3_bucket: str
) -> None:
    _write(cv_secrets, "aws-secret.json", {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                           "AWS_ENDPOINT_URL": moto_s3.url})  # fmt: skip
    store = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "layer"), StorageOptions(max_retries=0)
    )
    store.put("k", b"via secret file")
    assert store.get("k") == b"via secret file"


def test_s3_endpoint_from_environment_reaches_moto(
    monkeypatch: pytest.MonkeyPatch, moto_s3: MotoS3, s3_bucket: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.url)
    store = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "layer"), StorageOptions(max_retries=0)
    )
    store.put("k", b"via env")
    assert store.get("k") == b"via env"


def test_anonymous_s3_reads_public_data(moto_s3: MotoS3, s3_bucket: str) -> None:
    """No credentials anywhere: requests go unsigned, which a public object allows."""
    import urllib.request

    request = urllib.request.Request(
        f"{moto_s3.url}/{s3_bucket}/pub/info", data=b"{}", method="PUT",
        headers={"x-amz-acl": "public-read", "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    urllib.request.urlopen(request).close()
    reader = open_store(
        CloudPath("precomputed", "s3", s3_bucket, "pub", host=moto_s3.url),
        StorageOptions(max_retries=0),
    )
    assert reader.get("info") == b"{}"
    assert "anonymous" in repr(reader)


# --- GCS ---------------------------------------------------------------------------

SERVICE_ACCOUNT = {
    "type": "service_account", "project_id": "p", "private_key_id": "kid-SECRET-77",
    "private_key": "-----BEGIN PRIVATE KEY-----\nSECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n",
    "client_email": "sa@p.iam.gserviceaccount.com", "token_uri": "http://127.0.0.1:1/token",
}  # fmt: skip


def test_google_resolution_order(
    cv_secrets: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    assert google_credentials("b").config == {"skip_signature": True}
    adc = _write(isolated_env / ".config" / "gcloud", "application_default_credentials.json",
                 {"type": "authorized_user"})  # fmt: skip
    assert google_credentials("b").config == {"application_credentials": str(adc)}
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/somewhere/creds.json")
    assert google_credentials("b").config == {"application_credentials": "/somewhere/creds.json"}
    _write(cv_secrets, "google-secret.json", SERVICE_ACCOUNT)
    assert json.loads(google_credentials("b").config["service_account_key"]) == SERVICE_ACCOUNT
    _write(cv_secrets, "b-google-secret.json", {"token": "bucket-token"})
    assert google_credentials("b").config == {"bearer_token": "bucket-token"}
    assert google_credentials("b", secrets="arg-token").config == {"bearer_token": "arg-token"}


def test_google_endpoint_from_secret_or_emulator_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        google_credentials(secrets={"token": "t", "gcs_base_url": "http://x:1"}).endpoint
        == "http://x:1"
    )
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:4443")
    assert google_credentials(secrets="t").endpoint == "http://127.0.0.1:4443"


# --- HTTP ----------------------------------------------------------------------------


def test_http_credentials_forms(cv_secrets: Path) -> None:
    assert http_credentials().headers == {}
    assert http_credentials().anonymous
    assert http_credentials(secrets="tok").headers == {"Authorization": "Bearer tok"}
    _write(cv_secrets, "http-secret.json", {"user": "u", "password": "p"})
    assert http_credentials().headers == {"Authorization": "Basic dTpw"}
    with pytest.raises(AuthenticationError):
        http_credentials(secrets={"nothing": "useful"})


# --- masking -------------------------------------------------------------------------


def test_credentials_repr_masks_every_secret() -> None:
    creds = aws_credentials(secrets={"AWS_ACCESS_KEY_ID": "AKIDSECRETID", "AWS_SECRET_ACCESS_KEY": "SHHH-1234",
                                     "AWS_SESSION_TOKEN": "SESSIONSECRET"})  # fmt: skip
    for text in (repr(creds), str(creds)):
        assert (
            "AKIDSECRETID" not in text and "SHHH-1234" not in text and "SESSIONSECRET" not in text
        )
        assert "us-east-1" in text
    gcs = google_credentials(secrets=SERVICE_ACCOUNT)
    assert "SECRET-KEY-MATERIAL" not in repr(gcs) and "kid-SECRET-77" not in repr(gcs)
    assert "SECRET-KEY-MATERIAL" in gcs.secret_values()[0] or any(
        "SECRET-KEY-MATERIAL" in v for v in gcs.secret_values()
    )
    basic = http_credentials(secrets={"user": "u", "password": "pw-SECRET"})
    assert "pw-SECRET" not in repr(basic) and "pw-SECRET" in basic.secret_values()


def test_redact_scrubs_values_userinfo_and_signatures() -> None:
    creds = Credentials("s3", "x", {"secret_access_key": "TOPSECRET"})
    text = "failed at http://user:pw@host/b?X-Amz-Signature=abc123&x=1 with TOPSECRET"
    out = redact(text, creds)
    assert "TOPSECRET" not in out and "pw@" not in out and "abc123" not in out
    assert "x=1" in out


def test_storage_options_repr_never_shows_secrets() -> None:
    options = StorageOptions(secrets={"AWS_SECRET_ACCESS_KEY": "NEVER-SHOW-1"}, concurrency=8)
    assert "NEVER-SHOW-1" not in repr(options) and "NEVER-SHOW-1" not in str(options)
    assert "secrets=<hidden>" in repr(options) and "concurrency=8" in repr(options)
    assert "secrets" not in repr(StorageOptions())


def test_storage_options_validation() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        StorageOptions(concurrency=0)
    with pytest.raises(ValueError, match="5 MiB"):
        StorageOptions(multipart_chunk_size=1024)
    with pytest.raises(ValueError, match="max_retries"):
        StorageOptions(max_retries=-1)


def test_environment_is_isolated_by_fixture() -> None:
    assert not [k for k in os.environ if k.startswith(("AWS_", "GOOGLE_"))]
