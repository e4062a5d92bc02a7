"""Bad input gets a clear error from cloudvol's hierarchy, and nothing stored is lost."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.exceptions import (
    CloudVolError,
    CyclicRedirect,
    InfoUnavailableError,
    InvalidInfoError,
    ReadOnlyException,
    SpecViolation,
    StorageError,
    TooManyRedirects,
    UnsupportedCompressionType,
    UnsupportedFormatError,
    UnsupportedProtocolError,
)


def make(tmp_path, name="layer", **kwargs):
    info = CloudVolume.create_new_info(1, "image", "uint8", "raw", (4, 4, 40), (0, 0, 0), (64, 64, 16),
                                       chunk_size=(32, 32, 16))  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/ds/{name}", info=info, **kwargs)
    vol.commit_info()
    return vol


@pytest.mark.parametrize(
    "path", ["s4://bucket/ds/layer", "gs://gs://b/ds/l", "gs://precomputed://b/l", "gs://///"]
)
def test_malformed_cloudpaths_raise_unsupported_protocol(path):
    with pytest.raises(UnsupportedProtocolError):
        CloudVolume(path)


def test_unavailable_format_says_so(tmp_path):
    with pytest.raises(UnsupportedFormatError, match="'n5' datasource is not available"):
        CloudVolume(f"n5://file://{tmp_path}/ds/layer")


def test_missing_info_names_the_path(tmp_path):
    with pytest.raises(InfoUnavailableError, match=str(tmp_path)):
        CloudVolume(f"file://{tmp_path}/ds/layer")


def test_malformed_info_json_and_fields(tmp_path):
    layer = tmp_path / "ds/layer"
    layer.mkdir(parents=True)
    (layer / "info").write_text("{not json")
    with pytest.raises(InvalidInfoError, match="not valid JSON"):
        CloudVolume(f"file://{layer}")
    vol = make(tmp_path)
    info = json.loads((layer / "info").read_text())
    del info["scales"][0]["chunk_sizes"]
    (layer / "info").write_text(json.dumps(info))
    with pytest.raises(InvalidInfoError, match="chunk_sizes"):
        CloudVolume(vol.cloudpath)


def test_bad_compress_value_is_refused_before_io(tmp_path):
    with pytest.raises(UnsupportedCompressionType, match="lz4"):
        make(tmp_path, compress="lz4")


def test_unknown_encoding_and_incomplete_sharding_spec_are_explicit(tmp_path):
    vol = make(tmp_path)
    vol.info["scales"][0]["encoding"] = "bogus_codec"
    with pytest.raises(UnsupportedFormatError, match="bogus_codec"):
        vol[:, :, :]
    vol.info["scales"][0]["encoding"] = "raw"
    vol.info["scales"][0]["sharding"] = {"@type": "neuroglancer_uint64_sharded_v1"}
    with pytest.raises(SpecViolation, match="lacks"):
        vol[:, :, :]


def test_redirects_are_followed_and_make_the_volume_read_only(tmp_path):
    target = make(tmp_path, name="target")
    target[:, :, :] = 8
    hop = make(tmp_path, name="hop")
    hop.info["redirect"] = target.cloudpath
    hop.commit_info()
    vol = CloudVolume(hop.cloudpath)
    assert vol.cloudpath == target.cloudpath and np.all(vol[:, :, :] == 8)
    with pytest.raises(ReadOnlyException, match="read-only"):
        vol[:, :, :] = 1
    vol.image.readonly = False
    vol[:, :, :] = 1
    assert np.all(CloudVolume(target.cloudpath)[:, :, :] == 1)


def test_cyclic_and_excessive_redirects(tmp_path):
    a, b = make(tmp_path, name="a"), make(tmp_path, name="b")
    a.info["redirect"], b.info["redirect"] = b.cloudpath, a.cloudpath
    a.commit_info()
    b.commit_info()
    with pytest.raises(CyclicRedirect):
        CloudVolume(a.cloudpath)
    chain = [make(tmp_path, name=f"c{i}") for i in range(4)]
    for here, there in itertools.pairwise(chain):
        here.info["redirect"] = there.cloudpath
        here.commit_info()
    with pytest.raises(TooManyRedirects):
        CloudVolume(chain[0].cloudpath, max_redirects=2)
    assert CloudVolume(chain[0].cloudpath, max_redirects=0).cloudpath == chain[0].cloudpath


def test_locked_mip_refuses_writes(tmp_path):
    vol = make(tmp_path)
    vol.meta.lock_mips(0)
    with pytest.raises(ReadOnlyException, match="locked"):
        CloudVolume(vol.cloudpath)[:, :, :] = 1
    vol.meta.unlock_mips(0)
    CloudVolume(vol.cloudpath)[:, :, :] = 1


def test_failed_write_leaves_no_partial_or_temp_files(tmp_path):
    vol = make(tmp_path)
    vol[:, :, :] = 3
    layer = tmp_path / "ds/layer/4_4_40"
    before = {p.name: p.read_bytes() for p in layer.iterdir()}
    blocker = layer / "32-64_32-64_0-16.gz"
    blocker.unlink()
    blocker.mkdir()  # a directory where a chunk file must go: the write fails there
    with pytest.raises(CloudVolError):
        vol[:, :, :] = 4
    names = {p.name for p in layer.iterdir()}
    assert names == set(before)  # no temp files left behind
    for name in names - {blocker.name}:
        assert (layer / name).read_bytes() in (before[name], (layer / name).read_bytes())
        assert (layer / name).stat().st_size > 0
    assert not any(n.startswith(".") or "tmp" in n for n in os.listdir(layer))


def test_storage_errors_derive_from_the_hierarchy():
    assert issubclass(StorageError, CloudVolError)
