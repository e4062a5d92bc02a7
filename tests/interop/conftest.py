"""Fixtures of the interop suite: every test runs in an isolated environment (no
developer credentials or secret files), on a temp directory or a fresh bucket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from interop_lib import ACCESS_KEY, REGION, SECRET_KEY, Location, file_location, s3_location

from servers import MotoS3, unique_name


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture(scope="session")
def cloudvolume_s3_alias(moto_s3: MotoS3) -> str:
    """A cloud-files alias (``motoNNNN://bucket/path``) for the moto endpoint.

    cloud-volume's own path parser rejects ``s3://http://host:port/...`` (cloud-files
    accepts it), and reads secret files from directories fixed at import time, so an
    alias is the per-process way to point cloud-volume at a custom S3 endpoint.
    """
    import cloudfiles.paths

    alias = "moto" + moto_s3.url.rsplit(":", 1)[1]
    cloudfiles.paths.add_alias(alias, f"s3://{moto_s3.url}/")
    return alias


@pytest.fixture(scope="session")
def ts_s3_credentials(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """tensorstore ``aws_credentials`` from a profile file.

    Anonymous requests can't read objects other clients wrote (moto applies the
    private ACL), and ``"environment"`` credentials would put AWS_* variables in
    the environment, which makes cloud-files raise ``KeyError: 'AWS_SESSION_TOKEN'``.
    tensorstore's profile provider needs both the credentials and the config file.
    """
    directory = tmp_path_factory.mktemp("aws")
    credentials = directory / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    config = directory / "config"
    config.write_text(f"[default]\nregion = {REGION}\n")
    return {"type": "profile", "profile": "default", "credentials_file": str(credentials),
            "config_file": str(config)}  # fmt: skip


@pytest.fixture
def file_loc(tmp_path: Path) -> Location:
    """A layer directory under the test's temp dir."""
    return file_location(tmp_path / "ds" / "layer")


@pytest.fixture
def s3_loc(moto_s3: MotoS3, s3_bucket: str, cloudvolume_s3_alias: str,
           ts_s3_credentials: dict[str, Any]) -> Callable[[], Location]:  # fmt: skip
    """Makes layers in the test's fresh bucket, each under a new prefix."""

    def make() -> Location:
        prefix = f"ds/{unique_name('layer')}"
        return s3_location(moto_s3.url, s3_bucket, prefix, cloudvolume_s3_alias, ts_s3_credentials)

    return make
