"""Corrupt crackle streams are refused before the native decoder sees them.

crackle-codec's decoder reads each slice's crack-code index size without checking it
against the slice and can then run past its buffers; ``_validate`` checks those sizes.
Crashes that remain (chains stepping out of the slice, libfpzip's range decoder) are
measured with ``python -m benchmarks.fuzz_decoders`` and described in
docs/encodings/; they are not tests, because a heap overrun crashes or not depending
on memory layout.
"""

from __future__ import annotations

import numpy as np
import pytest

from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.exceptions import DecodingError

SHAPE = (32, 32, 16, 1)

# --- crackle: crack-code index sizes ----------------------------------------------


def _crackle_stream() -> tuple[bytes, ChunkSpec, np.ndarray, np.ndarray, int]:
    """A valid stream, its spec, the array, the per-slice crack code sizes and the
    offset of the first crack code."""
    from cloudvol.codecs.crackle import _read_header

    rng = np.random.default_rng(3)
    arr = np.asfortranarray(rng.integers(0, 4, SHAPE).astype(np.uint32))
    spec = ChunkSpec(SHAPE, np.dtype(np.uint32), None, key="1_2_3")
    data = bytes(get_codec("crackle").encode(arr, spec))
    head = _read_header(data, spec)
    assert head.version == 1 and head.markov_order == 0
    sizes = np.frombuffer(data, "<u4", count=SHAPE[2], offset=head.header_bytes).copy()
    start = head.header_bytes + head.index_bytes + head.label_bytes
    return data, spec, arr, sizes, start


def test_crackle_valid_stream_passes_the_index_checks() -> None:
    data, spec, arr, _, _ = _crackle_stream()
    np.testing.assert_array_equal(get_codec("crackle").decode(data, spec), arr)


def test_crackle_oversized_chain_index_raises_naming_the_slice() -> None:
    data, spec, _, sizes, start = _crackle_stream()
    z = 5
    at = start + int(sizes[:z].sum())
    bad = bytearray(data)
    bad[at : at + 4] = int(sizes[z]).to_bytes(4, "little")  # 4 + size > slice size
    with pytest.raises(DecodingError, match=r"1_2_3.*crackle.*z=5: crack code index of"):
        get_codec("crackle").decode(bytes(bad), spec)


def test_crackle_slice_too_short_for_its_index_size_raises() -> None:
    import google_crc32c

    from cloudvol.codecs.crackle import _read_header

    data, spec, _, sizes, _ = _crackle_stream()
    head = _read_header(data, spec)
    # Move all but 2 bytes of slice 0 into slice 1: the index still sums to the
    # section and its CRC32C is redone, so only the new check can object.
    new = sizes.copy()
    new[1] += new[0] - 2
    new[0] = 2
    index = new.astype("<u4").tobytes()
    crc = google_crc32c.value(index).to_bytes(4, "little")
    at = head.header_bytes
    bad = data[:at] + index + crc + data[at + len(index) + 4 :]
    with pytest.raises(DecodingError, match=r"z=0: 2-byte crack code has no index size"):
        get_codec("crackle").decode(bad, spec)
