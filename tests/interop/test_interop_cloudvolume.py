"""cloudvol <-> cloud-volume, raw encoding, both directions, on file:// (``.gz``/``.br``
suffixes or plain names) and on S3 (moto; ``Content-Encoding`` on the objects):
arrays must match bit for bit at every mip."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from interop_lib import (
    CASES,
    CASES_BY_ID,
    WRITERS,
    Case,
    Location,
    arrays_for_info,
    assert_same,
    case_params,
    check_reads,
    chunk_suffixes,
    new_info,
    read_cloudvol,
    read_cloudvolume,
    s3_chunk_encodings,
    write_cloudvol,
)

pytestmark = pytest.mark.interop

COMPRESS = [pytest.param(None, id="gzip"), pytest.param(False, id="none"),
            pytest.param("br", id="br"), pytest.param("zstd", id="zstd")]  # fmt: skip
LOCAL_SUFFIX = {None: ".gz", False: "", "br": ".br", "zstd": ".zstd"}
CONTENT_ENCODING = {None: "gzip", False: None, "br": "br", "zstd": "zstd"}
DIRECTIONS = [pytest.param(("cloudvol", "cloudvolume"), id="cloudvol-to-cv"),
              pytest.param(("cloudvolume", "cloudvol"), id="cv-to-cloudvol")]  # fmt: skip
S3_CASES = [CASES_BY_ID[i] for i in ("u16-3c-pos-32x16x8", "u64-1c-neg-100x70x1-seg",
                                     "f64-2c-mixed-100x70x1")]  # fmt: skip


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("compress", COMPRESS)
@pytest.mark.parametrize("case", case_params(CASES))
def test_local_volume_round_trip(file_loc: Location, case: Case, compress, direction):
    writer, reader = direction
    info = new_info(writer, case)
    arrays = arrays_for_info(info, seed=31)
    WRITERS[writer](file_loc, info, arrays, compress=compress)
    assert file_loc.local is not None
    assert chunk_suffixes(file_loc.local, info) == {LOCAL_SUFFIX[compress]}
    check_reads(reader, file_loc, info, arrays)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("compress", COMPRESS)
@pytest.mark.parametrize("case", case_params(S3_CASES))
def test_s3_volume_round_trip(s3_loc: Callable[[], Location], case: Case, compress, direction):
    writer, reader = direction
    loc = s3_loc()
    info = new_info(writer, case)
    arrays = arrays_for_info(info, seed=32)
    WRITERS[writer](loc, info, arrays, compress=compress)
    # names never carry a suffix on S3; the compression is in the object metadata
    assert s3_chunk_encodings(loc) == {CONTENT_ENCODING[compress]}
    check_reads(reader, loc, info, arrays)


# --- the other ways cloudvol finds the S3 endpoint ---------------------------------


def _s3_case() -> tuple[dict, list]:
    info = new_info("cloudvol", CASES_BY_ID["u32-1c-neg-32x16x8-seg"])
    return info, arrays_for_info(info, seed=33)


def test_cloudvol_endpoint_in_the_cloudpath(s3_loc: Callable[[], Location]):
    """``s3://http://host:port/bucket/path`` (cloud-files' spelling)."""
    loc = s3_loc()
    assert loc.s3 is not None
    endpoint, bucket, prefix = loc.s3
    path = f"s3://{endpoint}/{bucket}/{prefix}"
    keys_only = {k: v for k, v in (loc.cloudvol_secrets or {}).items() if k != "AWS_ENDPOINT_URL"}
    loc = replace(loc, cloudvol_secrets=keys_only)
    info, arrays = _s3_case()
    write_cloudvol(loc, info, arrays, path=path)
    for mip, expected in enumerate(arrays):
        assert_same(read_cloudvolume(loc, mip), expected)
        assert_same(read_cloudvol(loc, mip, path=path), expected)


def test_cloudvol_endpoint_from_environment(s3_loc: Callable[[], Location],
                                           monkeypatch: pytest.MonkeyPatch):  # fmt: skip
    loc = s3_loc()
    assert loc.s3 is not None and loc.cloudvol_secrets is not None
    no_secrets = replace(loc, cloudvol_secrets=None)
    info, arrays = _s3_case()
    with monkeypatch.context() as env:
        for name, value in loc.cloudvol_secrets.items():
            env.setenv(name, value)
        write_cloudvol(no_secrets, info, arrays)
    # Peer quirk: with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set but no
    # AWS_SESSION_TOKEN, cloud-files' aws_credentials() raises KeyError, so
    # cloud-volume reads after the variables are gone.
    for mip, expected in enumerate(arrays):
        assert_same(read_cloudvolume(loc, mip), expected)


def test_cloudvol_endpoint_from_secret_file(s3_loc: Callable[[], Location], isolated_env: Path):
    """``$CLOUD_VOLUME_DIR/secrets/aws-secret.json`` with an ``AWS_ENDPOINT_URL`` field.
    (cloud-files fixes its secrets directory at import, so cloud-volume gets its
    credentials from the ``secrets=`` argument instead.)"""
    loc = s3_loc()
    secrets_dir = isolated_env / ".cloudvolume" / "secrets"
    secrets_dir.mkdir(parents=True)
    (secrets_dir / "aws-secret.json").write_text(json.dumps(loc.cloudvol_secrets))
    no_secrets = replace(loc, cloudvol_secrets=None)
    info, arrays = _s3_case()
    write_cloudvol(no_secrets, info, arrays)
    for mip, expected in enumerate(arrays):
        assert_same(read_cloudvolume(loc, mip), expected)
