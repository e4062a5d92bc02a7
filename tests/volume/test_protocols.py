"""The CloudVolume facade on every protocol: S3 (moto), GCS (moto for writes,
fake-gcs-server for reads as GCS serves them) and HTTP (local Range server)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.exceptions import EmptyVolumeException, InfoUnavailableError, ReadOnlyException


@pytest.fixture(autouse=True)
def _isolated(isolated_env):
    return isolated_env


def new_info(shape=(70, 50, 20), chunk=(32, 32, 8), dtype="uint16", channels=1):
    return CloudVolume.create_new_info(
        channels, "image", dtype, "raw", (4, 4, 40), (3, 0, -2), shape, chunk_size=chunk, max_mip=1,
    )  # fmt: skip


def sample(shape, dtype="uint16", seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)


def roundtrip(path: str, secrets=None, compress=None):
    vol = CloudVolume(path, info=new_info(), secrets=secrets, compress=compress)
    vol.commit_info()
    vol.commit_provenance()
    data = sample((70, 50, 20))
    vol[:, :, :] = data
    vol.mip = 1
    small = sample(vol.shape[:3], seed=1)
    vol[:, :, :] = small
    again = CloudVolume(path, secrets=secrets)
    np.testing.assert_array_equal(again[:, :, :][..., 0], data)
    np.testing.assert_array_equal(again[10:40, 5:45, 0:7][..., 0], data[7:37, 5:45, 2:9])
    np.testing.assert_array_equal(CloudVolume(path, mip=1, secrets=secrets)[:, :, :][..., 0], small)
    return again


def test_s3_roundtrip_with_endpoint_from_secrets(moto_s3, s3_bucket):
    secrets = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_ENDPOINT_URL": moto_s3.url}  # fmt: skip
    vol = roundtrip(f"s3://{s3_bucket}/ds/layer", secrets=secrets)
    keys = set(vol.image.store.list("4_4_40/"))
    assert "4_4_40/3-35_0-32_-2-6" in keys  # no suffix on object stores


def test_s3_endpoint_from_environment(moto_s3, s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.url)
    roundtrip(f"s3://{s3_bucket}/ds/layer", compress="br")


def test_s3_missing_chunk_and_info(moto_s3, s3_bucket):
    secrets = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_ENDPOINT_URL": moto_s3.url}  # fmt: skip
    with pytest.raises(InfoUnavailableError, match=s3_bucket):
        CloudVolume(f"s3://{s3_bucket}/nothing/here", secrets=secrets)
    vol = CloudVolume(f"s3://{s3_bucket}/ds/layer", info=new_info(), secrets=secrets)
    with pytest.raises(EmptyVolumeException):
        vol[:, :, :]


def test_gcs_roundtrip_through_xml_api_on_moto(moto_s3, gcs_moto_bucket):
    secrets = {"token": "x", "gcs_base_url": moto_s3.url}
    roundtrip(f"gs://{gcs_moto_bucket}/ds/layer", secrets=secrets)


def test_gcs_reads_gzip_objects_as_real_gcs_serves_them(tmp_path, fake_gcs, fake_gcs_bucket):
    """fake-gcs-server applies GCS's decompressive transcoding unless the client asks
    for the stored bytes; cloudvol must get identical arrays either way."""
    local = CloudVolume(f"file://{tmp_path}/ds/layer", info=new_info())
    local.commit_info()
    data = sample((70, 50, 20))
    local[:, :, :] = data
    for f in (tmp_path / "ds/layer").rglob("*"):
        if f.is_file():
            key = "ds/layer/" + str(f.relative_to(tmp_path / "ds/layer"))
            if key.endswith(".gz"):
                fake_gcs.upload(fake_gcs_bucket, key[:-3], f.read_bytes(), content_encoding="gzip")
            else:
                fake_gcs.upload(fake_gcs_bucket, key, f.read_bytes())
    vol = CloudVolume(
        f"gs://{fake_gcs_bucket}/ds/layer", secrets={"token": "x", "gcs_base_url": fake_gcs.url}
    )
    np.testing.assert_array_equal(vol[:, :, :][..., 0], data)


def test_http_reads_plain_and_content_encoded_chunks(http_server, http_dir):
    local_dir, url_path = http_dir
    vol = CloudVolume(f"file://{local_dir}/layer", info=new_info())
    vol.commit_info()
    data = sample((70, 50, 20))
    vol[:, :, :] = data  # gzip: files are name.gz, served as name + Content-Encoding
    remote = CloudVolume(f"{http_server.url}/{url_path}/layer")
    np.testing.assert_array_equal(remote[:, :, :][..., 0], data)
    encoded = [r for r in http_server.requests if r.path.endswith("3-35_0-32_-2-6")]
    assert encoded and encoded[0].status == 200


def test_http_is_read_only(http_server, http_dir):
    local_dir, url_path = http_dir
    vol = CloudVolume(f"file://{local_dir}/layer", info=new_info())
    vol.commit_info()
    remote = CloudVolume(f"{http_server.url}/{url_path}/layer", fill_missing=True)
    with pytest.raises(ReadOnlyException, match="read-only"):
        remote[:, :, :] = np.zeros((70, 50, 20), dtype=np.uint16)


def test_http_retries_server_errors(http_server, http_dir):
    local_dir, url_path = http_dir
    vol = CloudVolume(f"file://{local_dir}/layer", info=new_info(), compress=False)
    vol.commit_info()
    vol[:, :, :] = 5
    http_server.fail_next(2, status=503)
    remote = CloudVolume(f"{http_server.url}/{url_path}/layer")
    assert np.all(remote[3:13, 0:10, -2:3] == 5)


def test_http_missing_info_is_info_unavailable(http_server, http_dir):
    _, url_path = http_dir
    with pytest.raises(InfoUnavailableError, match="info"):
        CloudVolume(f"{http_server.url}/{url_path}/absent")


def test_gzip_written_by_cloudvol_is_standard_gzip(tmp_path):
    vol = CloudVolume(f"file://{tmp_path}/ds/layer", info=new_info())
    vol.commit_info()
    vol[:, :, :] = sample((70, 50, 20))
    chunk = tmp_path / "ds/layer/4_4_40/3-35_0-32_-2-6.gz"
    assert len(gzip.decompress(chunk.read_bytes())) == 32 * 32 * 8 * 2
