"""Reads paint into one preallocated array: peak memory stays near the cutout's size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from cloudvol import CloudVolume

MB = 1024 * 1024


@pytest.mark.parametrize("compress", [False, "gzip"])
def test_read_peak_memory_is_cutout_plus_a_few_chunks(tmp_path, compress):
    shape = (256, 256, 128)  # 8 MiB of uint8 in 32 chunks of 256 KiB
    info = CloudVolume.create_new_info(1, "image", "uint8", "raw", (4, 4, 40), (0, 0, 0), shape,
                                       chunk_size=(64, 64, 64))  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}/ds/layer", info=info, compress=compress)
    vol.commit_info()
    vol[:, :, :] = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    vol[0:64, 0:64, 0:64]  # warm up imports and thread pools outside the measurement
    tracemalloc.start()
    try:
        cutout = vol[:, :, :]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The output itself plus at most the in-flight window of chunks (8 × 256 KiB
    # compressed and decompressed), never a second copy of the cutout.
    assert peak < cutout.nbytes + 6 * MB, (
        f"peak {peak / MB:.1f} MiB for a {cutout.nbytes / MB:.0f} MiB cutout"
    )
