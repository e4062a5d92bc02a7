"""Sharded reads and writes on S3 (moto), GCS (moto for writes, fake-gcs-server for
reads as GCS serves them) and HTTP (local Range server), and how many requests a
cutout costs: one shard index read per shard (then cached), one batch of minishard
indexes, and coalesced chunk ranges."""

from __future__ import annotations

import boto3
import numpy as np
import pytest
from shard_cases import random_image, sharded_info, sharding

from cloudvol import CloudVolume
from cloudvol.exceptions import DecodingError

SPEC = sharding(2, 1, 5)  # blocks of 2×2×2 chunks of 16×16×8 voxels


def s3_secrets(moto_s3):
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": moto_s3.url}  # fmt: skip


def round_trip(path: str, secrets) -> np.ndarray:
    vol = CloudVolume(path, info=sharded_info(SPEC), secrets=secrets, compress="gzip")
    vol.commit_info()
    data = random_image((100, 70, 30))
    vol[:, :, :] = data
    again = CloudVolume(path, secrets=secrets)
    np.testing.assert_array_equal(again[:, :, :], data)
    np.testing.assert_array_equal(again[20:61, 0:33, 9:30], data[17:58, 5:38, 2:23])
    return data


def test_s3_round_trip_without_content_encoding(moto_s3, s3_bucket):
    round_trip(f"s3://{s3_bucket}/ds/layer", s3_secrets(moto_s3))
    client = boto3.client("s3", endpoint_url=moto_s3.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")  # fmt: skip
    listing = client.list_objects_v2(Bucket=s3_bucket, Prefix="ds/layer/4_4_40/")["Contents"]
    assert len(listing) == 24
    for obj in listing:
        head = client.head_object(Bucket=s3_bucket, Key=obj["Key"])
        assert obj["Key"].endswith(".shard") and "ContentEncoding" not in head


def test_gcs_round_trip_through_xml_api_on_moto(moto_s3, gcs_moto_bucket):
    round_trip(f"gs://{gcs_moto_bucket}/ds/layer", {"token": "x", "gcs_base_url": moto_s3.url})


def test_gcs_reads_from_fake_gcs_server(tmp_path, fake_gcs, fake_gcs_bucket):
    local = CloudVolume(f"file://{tmp_path}/layer", info=sharded_info(SPEC))
    local.commit_info()
    data = random_image((100, 70, 30))
    local[:, :, :] = data
    for f in (tmp_path / "layer").rglob("*"):
        if f.is_file():
            fake_gcs.upload(
                fake_gcs_bucket,
                "ds/layer/" + str(f.relative_to(tmp_path / "layer")),
                f.read_bytes(),
            )
    vol = CloudVolume(
        f"gs://{fake_gcs_bucket}/ds/layer", secrets={"token": "x", "gcs_base_url": fake_gcs.url}
    )
    np.testing.assert_array_equal(vol[:, :, :], data)
    np.testing.assert_array_equal(vol[30:50, 20:40, 10:20], data[27:47, 25:45, 3:13])


def served_layer(http_server, http_dir, spec=SPEC):
    local_dir, url_path = http_dir
    vol = CloudVolume(f"file://{local_dir}/layer", info=sharded_info(spec))
    vol.commit_info()
    data = random_image((100, 70, 30))
    vol[:, :, :] = data
    remote = CloudVolume(f"{http_server.url}/{url_path}/layer")
    return local_dir / "layer", remote, data


def shard_requests(http_server):
    return [r for r in http_server.requests if r.path.endswith(".shard")]


def test_http_cutout_requests_index_once_then_only_data(http_server, http_dir):
    _, remote, data = served_layer(http_server, http_dir)
    http_server.requests.clear()
    # 8 chunks, all in shard 00 (voxels 3-35, -5-27, 7-23): one index, one minishard
    # batch (2 minishards, coalesced), one coalesced data range.
    np.testing.assert_array_equal(remote[5:33, -3:25, 8:22], data[2:30, 2:30, 1:15])
    cold = shard_requests(http_server)
    assert len(cold) == 3 and all(r.range and r.status == 206 for r in cold)
    assert cold[0].range == "bytes=0-31"  # 2 minishards × 16 bytes
    http_server.requests.clear()
    np.testing.assert_array_equal(remote[4:30, 0:20, 10:20], data[1:27, 5:25, 3:13])
    assert len(shard_requests(http_server)) == 1  # indexes cached: one coalesced read
    http_server.requests.clear()
    # 2 × 2 × 2 shards cold: per shard one index read, one minishard read, one data read
    remote[30:40, 20:30, 20:25]
    reqs = shard_requests(http_server)
    assert len({r.path for r in reqs}) == 8 and len(reqs) <= 3 * 8


def test_http_whole_volume_coalesces_into_few_requests(http_server, http_dir):
    _, remote, data = served_layer(http_server, http_dir)
    http_server.requests.clear()
    np.testing.assert_array_equal(remote[:, :, :], data)
    per_shard = {}
    for r in shard_requests(http_server):
        per_shard[r.path] = per_shard.get(r.path, 0) + 1
    assert len(per_shard) == 24 and max(per_shard.values()) <= 3


def test_http_truncated_shard_is_a_decoding_error(http_server, http_dir):
    layer, remote, _ = served_layer(
        http_server, http_dir, sharding(2, 1, 5, index="raw", data="raw")
    )
    shard = layer / "4_4_40" / "00.shard"
    raw = shard.read_bytes()
    start, _ = np.frombuffer(raw[:16], dtype="<u8").tolist()
    shard.write_bytes(raw[: 32 + start // 2])  # inside the chunk data
    with pytest.raises(DecodingError, match=r"00\.shard.*chunk \d+ .*past the end"):
        remote[3:35, -5:27, 7:23]
    shard.write_bytes(raw[:20])
    fresh = CloudVolume(remote.cloudpath, fill_missing=True)
    with pytest.raises(DecodingError, match=r"00\.shard.*truncated"):
        fresh[3:35, -5:27, 7:23]
