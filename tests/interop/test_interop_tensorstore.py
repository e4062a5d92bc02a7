"""cloudvol <-> tensorstore (``neuroglancer_precomputed`` driver), raw encoding, on
file:// and on S3 (moto): arrays must match bit for bit at every mip.

tensorstore reads only unsuffixed local chunk files, so cloudvol writes local data
for it with ``compress=False``; on S3 tensorstore's HTTP client (libcurl) decodes the
``Content-Encoding`` (gzip, br, zstd) that cloudvol sets, so compressed objects work
there.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from interop_lib import (
    CASES_BY_ID,
    TS_CASES,
    Case,
    Location,
    arrays_for_info,
    assert_same,
    case_params,
    check_reads,
    chunk_suffixes,
    new_info,
    open_tensorstore,
    read_tensorstore,
    s3_chunk_encodings,
    write_cloudvol,
    write_cloudvolume,
    write_tensorstore,
)

pytestmark = pytest.mark.interop

S3_CASES = [CASES_BY_ID[i] for i in ("u16-3c-pos-32x16x8", "u64-1c-neg-100x70x1-seg",
                                     "f32-1c-neg-32x16x8")]  # fmt: skip


def check_tensorstore_reads(loc: Location, info: dict, arrays: list[np.ndarray]) -> None:
    for mip, scale in enumerate(info["scales"]):
        store = open_tensorstore(loc, scale_index=mip)
        # tensorstore's domain is x, y, z, channel with the voxel offset as origin
        assert list(store.domain.inclusive_min) == [*scale["voxel_offset"], 0]
        assert list(store.domain.shape) == [*scale["size"], info["num_channels"]]
    check_reads("tensorstore", loc, info, arrays)


# --- file:// ------------------------------------------------------------------------


@pytest.mark.parametrize("case", case_params(TS_CASES))
def test_cloudvol_uncompressed_local_volume_reads_in_tensorstore(file_loc: Location, case: Case):
    info = new_info("cloudvol", case)
    arrays = arrays_for_info(info, seed=11)
    write_cloudvol(file_loc, info, arrays, compress=False)
    assert file_loc.local is not None and chunk_suffixes(file_loc.local, info) == {""}
    check_tensorstore_reads(file_loc, info, arrays)


@pytest.mark.parametrize("case", case_params(TS_CASES))
def test_tensorstore_local_volume_reads_in_cloudvol(file_loc: Location, case: Case):
    arrays = arrays_for_info(new_info("cloudvol", case), seed=12)
    write_tensorstore(file_loc, new_info("cloudvol", case), arrays)
    assert file_loc.local is not None
    ts_info = read_info(file_loc)
    assert ts_info.get("@type") == "neuroglancer_multiscale_volume"
    assert chunk_suffixes(file_loc.local, ts_info) == {""}
    check_reads("cloudvol", file_loc, ts_info, arrays)


@pytest.mark.parametrize("case", case_params([c for c in TS_CASES if min(c.offset) < 0]))
def test_cloudvolume_uncompressed_local_volume_reads_in_tensorstore(file_loc: Location, case: Case):
    """The peer-to-peer baseline the cloudvol rows are compared with."""
    info = new_info("cloudvolume", case)
    arrays = arrays_for_info(info, seed=15)
    write_cloudvolume(file_loc, info, arrays, compress=False)
    check_tensorstore_reads(file_loc, info, arrays)


def test_gzipped_local_chunks_are_invisible_to_tensorstore(file_loc: Location):
    """Peer limitation (format ref. §10.1): tensorstore never probes ``.gz`` names, so
    cloudvol's default local output reads as fill value (0), without an error."""
    case = CASES_BY_ID["u8-1c-zero-64cube"]
    info = new_info("cloudvol", case)
    arrays = [a | 1 for a in arrays_for_info(info, seed=13)]  # no zeros anywhere
    write_cloudvol(file_loc, info, arrays)  # default: gzip, `.gz` names
    assert file_loc.local is not None and chunk_suffixes(file_loc.local, info) == {".gz"}
    assert not read_tensorstore(file_loc, 0).any()


def test_cloudvol_overwrites_part_of_a_tensorstore_volume(file_loc: Location):
    """A mixed-writer layer: tensorstore creates and fills it, cloudvol replaces one
    aligned block of chunks, tensorstore sees exactly that change."""
    from cloudvol import CloudVolume

    case = CASES_BY_ID["u32-1c-neg-32x16x8-seg"]
    arrays = arrays_for_info(new_info("cloudvol", case), seed=14)
    write_tensorstore(file_loc, new_info("cloudvol", case), arrays)
    vol = CloudVolume(file_loc.cloudvol, compress=False)
    (x0, y0, z0), chunk = case.offset, case.chunk
    block = np.full((chunk[0], 2 * chunk[1], chunk[2], 1), 7, dtype=vol.dtype)
    vol[x0 : x0 + chunk[0], y0 : y0 + 2 * chunk[1], z0 : z0 + chunk[2]] = block
    expected = arrays[0].copy()
    expected[: chunk[0], : 2 * chunk[1], : chunk[2]] = 7
    assert_same(read_tensorstore(file_loc, 0), expected)
    assert_same(read_tensorstore(file_loc, 1), arrays[1])


# --- S3 (moto) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "compress", [False, None, "br", "zstd"], ids=["none", "gzip", "br", "zstd"]
)
@pytest.mark.parametrize("case", case_params(S3_CASES))
def test_cloudvol_s3_volume_reads_in_tensorstore(s3_loc: Callable[[], Location], case: Case,
                                                 compress):  # fmt: skip
    loc = s3_loc()
    info = new_info("cloudvol", case)
    arrays = arrays_for_info(info, seed=21)
    write_cloudvol(loc, info, arrays, compress=compress)
    assert s3_chunk_encodings(loc) == {
        {False: None, None: "gzip", "br": "br", "zstd": "zstd"}[compress]
    }
    check_tensorstore_reads(loc, info, arrays)


@pytest.mark.parametrize("case", case_params(S3_CASES))
def test_tensorstore_s3_volume_reads_in_cloudvol(s3_loc: Callable[[], Location], case: Case):
    loc = s3_loc()
    arrays = arrays_for_info(new_info("cloudvol", case), seed=22)
    write_tensorstore(loc, new_info("cloudvol", case), arrays)
    assert s3_chunk_encodings(loc) == {None}
    check_reads("cloudvol", loc, new_info("cloudvol", case), arrays)


def read_info(loc: Location) -> dict:
    assert loc.local is not None
    return json.loads((loc.local / "info").read_text())
