"""Byte-level format checks against cloud-volume, and info interop with tensorstore
and cloud-volume: the same array must give the same files, and each tool must open
the others' ``info``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import pytest
from interop_lib import (
    CASES,
    CASES_BY_ID,
    READERS,
    Case,
    Location,
    arrays_for_info,
    assert_same,
    case_params,
    file_location,
    local_files,
    new_info,
    open_tensorstore,
    read_cloudvol,
    read_cloudvolume,
    read_tensorstore,
    s3_client,
    s3_objects,
    write_cloudvol,
    write_cloudvolume,
    write_tensorstore,
)

pytestmark = pytest.mark.interop

BYTE_CASES = [CASES_BY_ID[i] for i in ("u16-3c-pos-32x16x8", "u64-1c-neg-100x70x1-seg")]
DECOMPRESS = {".gz": gzip.decompress, ".br": brotli.decompress}


def write_both(tmp_path: Path, case: Case, **cloudvol_kwargs) -> tuple[dict, dict]:
    """The same array written by cloudvol and by cloud-volume: their file maps."""
    info = new_info("cloudvol", case)
    arrays = arrays_for_info(info, seed=41)
    ours, theirs = file_location(tmp_path / "cloudvol"), file_location(tmp_path / "cloudvolume")
    write_cloudvol(ours, info, arrays, **cloudvol_kwargs)
    write_cloudvolume(theirs, info, arrays, compress=cloudvol_kwargs.get("compress"))
    assert ours.local is not None and theirs.local is not None
    return local_files(ours.local), local_files(theirs.local)


@pytest.mark.parametrize("case", case_params(BYTE_CASES))
def test_uncompressed_files_are_byte_identical_to_cloudvolume(tmp_path: Path, case: Case):
    ours, theirs = write_both(tmp_path, case, compress=False)
    assert sorted(ours) == sorted(theirs)
    assert "info" in ours and len(ours) > 10
    differing = [name for name in ours if ours[name] != theirs[name]]
    assert differing == []
    text = ours["info"].decode()
    assert json.loads(text) == json.loads(theirs["info"])
    # CloudVolume's formatting: sorted keys, 2-space indent, ": " after keys
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, separators=(",", ": "))


@pytest.mark.parametrize("suffix", [".gz", ".br"])
def test_compressed_files_have_cloudvolume_names_and_payloads(tmp_path: Path, suffix: str):
    """Compressed bytes may differ (cloudvol's default gzip level is 6, cloud-volume's
    9); names and decompressed payloads may not."""
    compress = {".gz": None, ".br": "br"}[suffix]
    ours, theirs = write_both(tmp_path, CASES_BY_ID["u64-1c-neg-100x70x1-seg"], compress=compress)
    assert sorted(ours) == sorted(theirs)
    chunks = [name for name in ours if name != "info"]
    assert chunks and all(name.endswith(suffix) for name in chunks)
    unpack = DECOMPRESS[suffix]
    assert [n for n in chunks if unpack(ours[n]) != unpack(theirs[n])] == []
    assert ours["info"] == theirs["info"]  # info is never compressed


@pytest.mark.parametrize(
    ("compress", "level"), [pytest.param(None, 9, id="gzip-9"), pytest.param("br", None, id="br")]
)
def test_compressed_bytes_match_cloudvolume_at_its_levels(tmp_path: Path, compress, level):
    """Stronger than the format needs: at cloud-volume's levels (gzip 9 through
    libdeflate, brotli quality 5) the compressed files are identical too, so
    content hashes of re-written layers don't churn."""
    ours, theirs = write_both(tmp_path, CASES_BY_ID["u16-3c-pos-32x16x8"], compress=compress,
                              compress_level=level)  # fmt: skip
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []


@pytest.mark.parametrize("case", case_params(CASES))
def test_create_new_info_matches_cloudvolume(case: Case):
    assert new_info("cloudvol", case) == new_info("cloudvolume", case)


# --- info interop -------------------------------------------------------------------


def tensorstore_layer(file_loc: Location, case: Case) -> tuple[dict, list]:
    """A layer created and written by tensorstore; returns (its info, the arrays)."""
    arrays = arrays_for_info(new_info("cloudvol", case), seed=42)
    write_tensorstore(file_loc, new_info("cloudvol", case), arrays)
    assert file_loc.local is not None
    return json.loads((file_loc.local / "info").read_text()), arrays


def test_tensorstore_info_opens_in_cloudvol(file_loc: Location):
    from cloudvol import CloudVolume

    case = CASES_BY_ID["u32-1c-neg-32x16x8-seg"]
    ts_info, _ = tensorstore_layer(file_loc, case)
    # what tensorstore writes: compact JSON with "@type", float resolutions, no sharding
    assert ts_info["@type"] == "neuroglancer_multiscale_volume"
    assert all("sharding" not in scale for scale in ts_info["scales"])
    vol = CloudVolume(file_loc.cloudvol)
    assert vol.info["@type"] == "neuroglancer_multiscale_volume"
    assert vol.dtype == case.dtype and vol.num_channels == 1
    assert vol.layer_type == "segmentation"
    assert list(vol.available_mips) == [0, 1]
    for mip, scale in enumerate(ts_info["scales"]):
        assert vol.mip_key(mip) == scale["key"]
        assert list(vol.mip_voxel_offset(mip)) == scale["voxel_offset"]
        assert list(vol.mip_volume_size(mip)) == scale["size"]
        assert list(vol.mip_chunk_size(mip)) == scale["chunk_sizes"][0]
        assert list(vol.mip_resolution(mip)) == scale["resolution"]


def test_cloudvol_commit_info_keeps_tensorstore_members(file_loc: Location):
    """Read-modify-write of a tensorstore info keeps ``@type`` (and every other
    member); tensorstore opens the rewritten info and reads the same data."""
    from cloudvol import CloudVolume

    ts_info, arrays = tensorstore_layer(file_loc, CASES_BY_ID["f32-1c-neg-32x16x8"])
    CloudVolume(file_loc.cloudvol).commit_info()
    assert file_loc.local is not None
    rewritten = json.loads((file_loc.local / "info").read_text())
    assert rewritten == ts_info
    for mip, expected in enumerate(arrays):
        assert_same(read_tensorstore(file_loc, mip), expected)


def test_sharding_null_means_unsharded_for_both(file_loc: Location):
    """tensorstore accepts ``"sharding": null`` as unsharded; so must cloudvol."""
    ts_info, arrays = tensorstore_layer(file_loc, CASES_BY_ID["u8-1c-zero-64cube"])
    for scale in ts_info["scales"]:
        scale["sharding"] = None
    assert file_loc.local is not None
    (file_loc.local / "info").write_text(json.dumps(ts_info))
    for mip, expected in enumerate(arrays):
        assert_same(read_tensorstore(file_loc, mip), expected)
        assert_same(read_cloudvol(file_loc, mip), expected)


def test_info_without_voxel_offset_reads_everywhere(file_loc: Location):
    """``voxel_offset`` is optional (default zero); tensorstore always writes it."""
    ts_info, arrays = tensorstore_layer(file_loc, CASES_BY_ID["u8-1c-zero-64cube"])
    for scale in ts_info["scales"]:
        assert scale.pop("voxel_offset") == [0, 0, 0]
    assert file_loc.local is not None
    (file_loc.local / "info").write_text(json.dumps(ts_info))
    for reader in ("cloudvol", "cloudvolume", "tensorstore"):
        for mip, expected in enumerate(arrays):
            assert_same(READERS[reader](file_loc, mip), expected)


@pytest.mark.parametrize("keys", [("s0/raw", "s1/raw"), ("../shared/4_4_40", "../shared/8_8_40")],
                         ids=["subdirectories", "parent"])  # fmt: skip
def test_scale_keys_are_relative_paths(file_loc: Location, keys: tuple[str, str]):
    """A scale ``key`` may be a ``/``-separated path with ``..``, resolved against
    the info's directory; every tool must follow it, not recompute it."""
    ts_info, arrays = tensorstore_layer(file_loc, CASES_BY_ID["u8-1c-zero-64cube"])
    assert file_loc.local is not None
    for scale, key in zip(ts_info["scales"], keys, strict=True):
        target = (file_loc.local / key).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        (file_loc.local / scale["key"]).rename(target)
        scale["key"] = key
    (file_loc.local / "info").write_text(json.dumps(ts_info))
    for reader in ("cloudvol", "cloudvolume", "tensorstore"):
        for mip, expected in enumerate(arrays):
            assert_same(READERS[reader](file_loc, mip), expected)


def test_tensorstore_volume_reads_in_cloudvolume(file_loc: Location):
    _, arrays = tensorstore_layer(file_loc, CASES_BY_ID["i8-3c-pos-64cube"])
    for mip, expected in enumerate(arrays):
        assert_same(read_cloudvolume(file_loc, mip), expected)


def test_cloudvolume_opens_cloudvol_info(file_loc: Location):
    from cloudvolume import CloudVolume

    case = CASES_BY_ID["u64-1c-neg-100x70x1-seg"]
    info = new_info("cloudvol", case)
    info["extra_member"] = {"kept": True}
    write_cloudvol(file_loc, info, arrays_for_info(info, seed=43))
    vol = CloudVolume(file_loc.cloudvolume, progress=False)
    assert vol.info == info
    assert vol.dtype == case.dtype and vol.layer_type == "segmentation"
    assert list(vol.available_mips) == [0, 1]
    for mip, scale in enumerate(info["scales"]):
        assert list(vol.meta.voxel_offset(mip)) == scale["voxel_offset"]
        assert list(vol.meta.volume_size(mip)) == scale["size"]
        assert list(vol.meta.chunk_size(mip)) == scale["chunk_sizes"][0]
        assert vol.meta.key(mip) == scale["key"]
    # and tensorstore tolerates the unknown member
    assert list(open_tensorstore(file_loc, scale_index=1).domain.inclusive_min)[:3] == list(
        info["scales"][1]["voxel_offset"]
    )


# --- S3 object metadata -------------------------------------------------------------

S3_HEADERS = ("ContentType", "ContentEncoding", "CacheControl", "ContentLength")


@pytest.mark.parametrize("compress", [pytest.param(False, id="none"), pytest.param("br", id="br")])
def test_s3_objects_match_cloudvolume(s3_loc, compress):
    """Same keys, same Content-Type/-Encoding/Cache-Control, same bytes (uncompressed,
    and brotli at the shared default quality) as cloud-volume on S3."""
    case = CASES_BY_ID["u64-1c-neg-100x70x1-seg"]
    info = new_info("cloudvol", case)
    arrays = arrays_for_info(info, seed=44)
    ours, theirs = s3_loc(), s3_loc()
    write_cloudvol(ours, info, arrays, compress=compress)
    write_cloudvolume(theirs, info, arrays, compress=compress)
    our_objects, their_objects = s3_objects(ours), s3_objects(theirs)
    assert sorted(our_objects) == sorted(their_objects)

    def headers(objects: dict, key: str) -> dict:
        return {name: objects[key].get(name) for name in S3_HEADERS}

    assert [k for k in our_objects if headers(our_objects, k) != headers(their_objects, k)] == []
    assert headers(our_objects, "info")["ContentType"] == "application/json"
    assert headers(our_objects, "info")["ContentEncoding"] is None
    assert s3_bytes(ours) == s3_bytes(theirs)


def s3_bytes(loc: Location) -> dict[str, bytes]:
    assert loc.s3 is not None
    endpoint, bucket, prefix = loc.s3
    client = s3_client(endpoint)
    return {
        key: client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read()
        for key in s3_objects(loc)
    }


# --- provenance ---------------------------------------------------------------------


def test_provenance_files_are_identical_and_read_both_ways(tmp_path: Path):
    from cloudvolume import CloudVolume as Theirs

    from cloudvol import CloudVolume as Ours

    info = new_info("cloudvol", CASES_BY_ID["u8-1c-zero-64cube"])
    written = {}
    for name, tool, options in (("ours", Ours, {}), ("theirs", Theirs, {"progress": False})):
        vol = tool(f"file://{tmp_path / name}", info=info, **options)
        vol.commit_info()
        vol.provenance.description = "interop ✓"
        vol.provenance.owners = ["someone@example.org"]
        vol.provenance.processing.append({"method": {"task": "x"}, "by": "me"})
        vol.commit_provenance()
        written[name] = (tmp_path / name / "provenance").read_bytes()
    assert written["ours"] == written["theirs"]
    for reader, name in ((Ours, "theirs"), (Theirs, "ours")):
        prov = reader(f"file://{tmp_path / name}").provenance
        assert prov.description == "interop ✓"
        assert prov.owners == ["someone@example.org"]
        assert prov.processing == [{"method": {"task": "x"}, "by": "me"}]
