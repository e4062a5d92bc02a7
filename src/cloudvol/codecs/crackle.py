"""``crackle``: crack-code boundaries + label table (seung-lab's Crackle; CloudVolume only).

One channel of unsigned labels, written as CloudVolume writes it:
``crackle.compress(chunk[:, :, :, 0])`` with the library's defaults (flat labels,
no pins, no Markov model), from a Fortran-ordered array so the stream is marked
Fortran-ordered and decodes to one. The header records shape and dtype.

Library: ``crackle-codec`` (the only implementation). It releases the GIL inside
compress and decompress (measured: a pure-Python counter thread kept ~55% of its
speed on this busy 2-core machine, against ~5% for GIL-holding codecs), so chunks
decode in parallel on the volume layer's threads. ``parallel=1``: the volume layer
already runs one chunk per thread.

Integrity: format version 1 carries a CRC8 of the header and CRC32Cs of the grid
index, the label section and every z slice. The library checks the first three only
in some paths, and its decoder runs each slice as a task whose exceptions are
dropped, so a slice failing its CRC comes back uninitialised instead of raising
(cloud-volume returns such slices too). :func:`_validate` therefore checks the
header, the section sizes, the grid index and the label CRCs before decoding, and
:func:`_check_slice_crcs` the slice CRCs after (they cover the slices' component ids,
which exist only once decoded). Damaged crack codes can still make the library write
past a buffer (62 in 3000 fuzz trials under glibc's malloc debugging; see
docs/encodings/segmentation.md). Gzip at transport (CloudVolume's default for
crackle) guards the bytes too: payloads that passed its CRC-32 skip the slice check,
a third of the decode's CPU time.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cloudvol.codecs.base import ChunkSpec, require_shape
from cloudvol.codecs.labels import (
    as_layer_dtype,
    check_unsigned_labels,
    contains_in_labels,
    corrupt,
    sorted_label_table,
)
from cloudvol.exceptions import DecodingError, EncodingError

__all__ = ["CrackleCodec"]

NAME = "crackle"
_V0 = struct.Struct("<4sBH3IBI")  # 24 bytes
_V1 = struct.Struct("<4sBH3IBQB")  # 29 bytes


def _crc8_table() -> list[int]:
    """Crackle's header CRC8 (reflected polynomial 0xE7, init 0xFF), by byte."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xE7 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC8 = _crc8_table()


def _crc8(data: bytes) -> int:
    crc = 0xFF
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc32c(data: bytes | memoryview | np.ndarray) -> int:
    import google_crc32c  # crackle's own dependency, hardware-accelerated

    return int(google_crc32c.value(bytes(data)))


@dataclass(frozen=True, slots=True)
class _Header:
    version: int
    width: int  # bytes per decoded label
    signed: bool
    shape: tuple[int, int, int]
    label_bytes: int
    header_bytes: int
    markov_order: int
    fortran: bool  # the decoder's output order; crack codes do not depend on it
    flat: bool  # labels stored as one sorted list (not pins)
    stored_width: int  # bytes per label in the label section
    remapped: bool = False  # labels rewritten after encoding (remap, mask, renumber…)

    @property
    def markov_bytes(self) -> int:
        """The stored Markov model, between the labels and the crack codes: 5 bits
        per context, in whole bytes (rounded up: order 1 takes 3 bytes)."""
        return -(-(4**self.markov_order) * 5 // 8) if self.markov_order else 0

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(f"{'i' if self.signed else 'u'}{self.width}")

    @property
    def index_bytes(self) -> int:
        """The grid index: one uint32 per z slice, plus its CRC32C in version 1."""
        return 4 * (self.shape[2] + (self.version == 1))

    @property
    def crc_bytes(self) -> int:
        """Trailing CRC32Cs: labels, then one per z slice (version 1)."""
        return 4 * (self.shape[2] + 1) if self.version == 1 else 0


def _read_header(data: bytes | memoryview, spec: ChunkSpec) -> _Header:
    if len(data) < _V0.size:
        raise corrupt(spec, NAME, f"{len(data)} bytes is shorter than a header")
    head = bytes(data[: _V1.size])
    if head[:4] != b"crkl":
        raise corrupt(spec, NAME, f"magic {head[:4]!r} is not b'crkl'")
    version = head[4]
    if version == 0:
        _, _, fmt, sx, sy, sz, _, labels = _V0.unpack_from(head)
        size = _V0.size
    elif version == 1:
        if len(head) < _V1.size:
            raise corrupt(spec, NAME, f"{len(data)} bytes is shorter than a version 1 header")
        _, _, fmt, sx, sy, sz, _, labels, crc = _V1.unpack(head)
        if _crc8(head[5:28]) != crc:
            raise corrupt(spec, NAME, "header CRC8 mismatch")
        size = _V1.size
    else:
        raise corrupt(spec, NAME, f"format version {version} (known: 0, 1)")
    width = 1 << (fmt & 0b11)
    signed = bool(fmt >> 8 & 1)
    markov = fmt >> 9 & 0xF
    fortran = bool(fmt >> 7 & 1)
    flat = (fmt >> 5 & 0b11) == 0
    stored = 1 << (fmt >> 2 & 0b11)
    remapped = bool(fmt >> 14 & 1)
    return _Header(
        version, width, signed, (sx, sy, sz), labels, size, markov, fortran, flat, stored,
        remapped,
    )  # fmt: skip


def _check_boc_sizes(
    data: bytes | memoryview, spec: ChunkSpec, sizes: np.ndarray, start: int
) -> None:
    """Each non-empty slice's crack code opens with a uint32 giving the size of its
    beginning-of-chain index; the decoder reads that many bytes without checking them
    against the slice, so an oversized field makes it read past the slice (and, for the
    last slices, past the stream). One vectorized pass over the ``sz`` fields."""
    ends = start + np.cumsum(sizes, dtype=np.int64)
    starts = ends - sizes
    filled = np.flatnonzero(sizes)
    if filled.size == 0:
        return
    short = filled[sizes[filled] < 4]
    if short.size:
        z = int(short[0])
        raise corrupt(spec, NAME, f"z={z}: {int(sizes[z])}-byte crack code has no index size")
    # The four little-endian bytes at each slice's start, gathered at once.
    raw = np.frombuffer(data, dtype=np.uint8)
    at = starts[filled][:, np.newaxis] + np.arange(4)
    boc = raw[at].astype(np.int64) @ np.array([1, 1 << 8, 1 << 16, 1 << 24], dtype=np.int64)
    over = np.flatnonzero(4 + boc > sizes[filled])
    if over.size:
        z = int(filled[over[0]])
        raise corrupt(
            spec,
            NAME,
            f"z={z}: crack code index of {int(boc[over[0]])} bytes overruns its "
            f"{int(sizes[z])}-byte slice",
        )


def _validate(data: bytes | memoryview, spec: ChunkSpec, head: _Header, index: bool) -> None:
    """Section sizes, the label CRC and, with ``index``, the grid index (sum and CRC:
    reading only the labels does not need it)."""
    sz = head.shape[2]
    index_at = head.header_bytes
    labels_at = index_at + head.index_bytes
    cracks_at = labels_at + head.label_bytes
    cracks_end = len(data) - head.crc_bytes
    if cracks_end < cracks_at:
        raise corrupt(spec, NAME, f"{len(data)} bytes cannot hold the sections the header states")
    if index:
        sizes = np.frombuffer(data, dtype="<u4", count=sz, offset=index_at)
        if int(sizes.sum(dtype=np.uint64)) != cracks_end - cracks_at - head.markov_bytes:
            raise corrupt(spec, NAME, "the grid index does not add up to the crack code section")
        _check_boc_sizes(data, spec, sizes, cracks_at + head.markov_bytes)
    if head.version == 1:
        view = memoryview(data)
        if index:
            stored = np.frombuffer(data, dtype="<u4", count=1, offset=index_at + 4 * sz)[0]
            if _crc32c(view[index_at : index_at + 4 * sz]) != stored:
                raise corrupt(spec, NAME, "grid index CRC32C mismatch")
        stored = np.frombuffer(data, dtype="<u4", count=1, offset=cracks_end)[0]
        if _crc32c(view[labels_at:cracks_at]) != stored:
            raise corrupt(spec, NAME, "label section CRC32C mismatch")


def _checked(
    data: bytes | memoryview, spec: ChunkSpec, index: bool = True
) -> tuple[bytes, _Header]:
    """``data`` as bytes with its validated header, after checking it fits the chunk
    (``index``: see :func:`_validate`)."""
    head = _read_header(data, spec)
    if head.shape != tuple(spec.shape[:3]):
        raise corrupt(
            spec, NAME, f"the stream holds a {head.shape} chunk, expected {spec.shape[:3]}"
        )
    if head.width > spec.dtype.itemsize:
        raise DecodingError(
            f"chunk {spec.key}: crackle stream holds {head.width * 8}-bit labels, too wide "
            f"for the layer's {spec.dtype}"
        )
    _validate(data, spec, head, index)
    return (data if isinstance(data, bytes) else bytes(data)), head


def _flat_label_table(raw: bytes, head: _Header) -> np.ndarray | None:
    """A flat stream's label table as stored (count, then labels at their stored
    width), or ``None`` for pin streams or a count that overruns the section."""
    if not head.flat:
        return None
    at = head.header_bytes + head.index_bytes
    count = int.from_bytes(raw[at : at + 8], "little")
    if 8 + count * head.stored_width > head.label_bytes:
        return None
    return np.frombuffer(raw, dtype=f"<u{head.stored_width}", count=count, offset=at + 8)


def _labels_are_distinct(raw: bytes, head: _Header) -> bool:
    """Whether a flat stream's table lists each label once. Relabelling operations
    (``crackle.remap``, ``mask``, ``condense_unique``…) rewrite the table but keep the
    crack codes, so a merge leaves components its labels no longer imply; they set the
    header's remapped bit, which the caller checks too, and a merge that skipped it
    still shows as a repeated label here."""
    table = _flat_label_table(raw, head)
    return table is not None and sorted_label_table(table).size == table.size


def _slice_crcs_worth_checking(data: bytes | memoryview, raw: bytes, head: _Header) -> bool:
    """Whether :func:`_check_slice_crcs` applies to the stream and can find anything.

    It cannot for streams relabelled since encoding (see :func:`_labels_are_distinct`)
    and need not for bytes that passed gzip's CRC-32 on the way in
    (:class:`~cloudvol.storage.compression.ChecksummedBytes`, which layers stored
    with CloudVolume's default ``compress`` arrive as): they are the bytes that were
    gzipped, undamaged since (cloudvol's own layer conversions check chunks before
    gzipping them; see docs/encodings/segmentation.md). The check costs a third of
    the decode's CPU time."""
    from cloudvol.storage.compression import ChecksummedBytes

    if isinstance(data, ChecksummedBytes) or head.version != 1 or head.remapped:
        return False
    return _labels_are_distinct(raw, head)


def _check_slice_crcs(raw: bytes, head: _Header, labels: np.ndarray, spec: ChunkSpec) -> None:
    """Raise if a decoded z slice fails the stream's CRC32C for it.

    The CRC covers the slice's connected-component ids (4-connected, numbered from 0
    in x-fastest order), which the library's decoder computes from the crack codes
    and checks, but in a worker task whose exception is dropped: a failing slice
    comes back as whatever the output buffer held. The encoder takes the same ids
    from the labels, so for a stream not relabelled since (:func:`_labels_are_distinct`)
    recomputing them from the decoded labels (the library's own
    ``connected_components``) and hashing each slice tells whether the slice decoded
    as written. Costs ~0.6 ms on a 64³ chunk whose decode takes ~1.3 ms."""
    import fastcrackle
    import google_crc32c

    sx, sy, sz = head.shape
    plane = sx * sy
    if plane == 0 or sz == 0:
        return
    ids, per_slice, _ = fastcrackle.connected_components(np.asfortranarray(labels))
    firsts = np.zeros(sz, dtype=np.uint32)
    np.cumsum(per_slice[:-1], out=firsts[1:])
    local = ids.reshape(sz, plane) - firsts[:, np.newaxis]  # per-slice numbering
    stored = np.frombuffer(raw, dtype="<u4", count=sz, offset=len(raw) - 4 * sz)
    for z in range(sz):
        if google_crc32c.value(local[z].tobytes()) != stored[z]:
            raise corrupt(spec, NAME, f"z={z}: the slice fails its CRC32C (damaged crack code)")


def _as_fortran_stream(raw: bytes, head: _Header) -> bytes:
    """The stream with its order flag set to Fortran (and the header CRC8 redone).

    The flag only says in which order the decoder lays out its output (the encoder
    works on a Fortran copy either way). CloudVolume's volume writes pass chunk views
    that are not Fortran-contiguous, so its layers are flagged C order, and decoding
    them into a Fortran array wrote z fastest and then transposed: 4x slower than
    decoding the same stream flagged Fortran (measured, 64³ uint64 chunk)."""
    header = bytearray(raw[: head.header_bytes])
    header[5] |= 0x80
    if head.version == 1:
        header[28] = _crc8(bytes(header[5:28]))
    return bytes(header) + raw[head.header_bytes :]


def _library_errors() -> tuple[type[BaseException], ...]:
    """What the library raises on bad input (evaluated only when something is raised)."""
    import crackle

    return (RuntimeError, ValueError, IndexError, MemoryError, TypeError, crackle.FormatError)


class CrackleCodec:
    """One channel of uint8-uint64 labels."""

    name = NAME
    transport_compressed_by_default = True
    content_type = "image/x.crackle"
    #: decode skips part of its integrity check for ChecksummedBytes, so whoever
    #: gzips stored crackle bytes without decoding them must check them first
    trusts_transport_checksum = True

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_unsigned_labels(NAME, dtype, num_channels)

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        import crackle

        require_shape(array, spec)
        self.check(spec.dtype, spec.shape[3])
        labels = array[..., 0]
        if labels.dtype != spec.dtype or labels.dtype.byteorder == ">":
            labels = labels.astype(spec.dtype.newbyteorder("="), order="F")
        # The stream records the input's memory order; CloudVolume's chunks are
        # Fortran-ordered, and so are the arrays this stream then decodes to.
        labels = np.asfortranarray(labels)
        try:
            return bytes(crackle.compress(labels, parallel=1))
        except _library_errors() as err:
            raise EncodingError(f"chunk {spec.key}: crackle cannot encode it: {err}") from err

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        import crackle

        raw, head = _checked(data, spec)
        check_slices = _slice_crcs_worth_checking(data, raw, head)
        if not head.fortran:
            raw = _as_fortran_stream(raw, head)
        try:
            labels = crackle.decompress(raw, parallel=1)
        except _library_errors() as err:
            raise corrupt(spec, NAME, str(err)) from err
        if check_slices:
            _check_slice_crcs(raw, head, labels, spec)
        return as_layer_dtype(labels, spec.dtype)[..., np.newaxis]

    def describe(self, data: bytes | memoryview) -> tuple[tuple[int, int, int, int], np.dtype]:
        head = _read_header(data, _ANY)
        return (*head.shape, 1), head.dtype

    # --- label access without decoding -------------------------------------------

    def labels(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        import crackle

        raw, head = _checked(data, spec, index=False)
        if head.flat:
            stored = _flat_label_table(raw, head)
            if stored is None:
                raise corrupt(spec, NAME, "the label count overruns the label section")
            found = stored.astype(head.dtype)
        else:
            try:
                found = np.asarray(crackle.labels(raw))
            except _library_errors() as err:
                raise corrupt(spec, NAME, str(err)) from err
        # Flat streams list each label once, ascending; pin streams and streams
        # marked unsorted or remapped need sorting and deduplicating.
        return sorted_label_table(as_layer_dtype(found, spec.dtype))

    def contains(self, data: bytes | memoryview, spec: ChunkSpec, label: int) -> bool:
        return contains_in_labels(self, data, spec, label)

    def remap(
        self,
        data: bytes | memoryview,
        spec: ChunkSpec,
        mapping: Mapping[int, int],
        preserve_missing_labels: bool = False,
    ) -> bytes:
        import crackle

        raw, _ = _checked(data, spec)
        table = dict(mapping)
        present = self.labels(raw, spec).tolist()
        # The library neither raises for unmapped labels nor keeps the label width
        # (it widens the stream to fit), so both are checked here.
        if not preserve_missing_labels:
            for label in present:
                if label not in table:
                    raise KeyError(f"{label} was not in the remap table")
        new = [table.get(label, label) for label in present]
        top = int(np.iinfo(spec.dtype).max)
        if new and (min(new) < 0 or max(new) > top):
            raise ValueError(
                f"chunk {spec.key}: remapped labels span [{min(new)}, {max(new)}], "
                f"outside {spec.dtype}"
            )
        try:
            out = crackle.remap(raw, table, preserve_missing_labels=True, parallel=1)
        except _library_errors() as err:
            raise corrupt(spec, NAME, str(err)) from err
        return bytes(out)

    def read_voxel(
        self, data: bytes | memoryview, spec: ChunkSpec, xyz: tuple[int, int, int]
    ) -> np.ndarray:
        import crackle

        x, y, z = (int(v) for v in xyz)
        if any(not 0 <= p < s for p, s in zip((x, y, z), spec.shape[:3], strict=False)):
            raise IndexError(f"voxel {(x, y, z)} is outside the chunk {spec.shape[:3]}")
        raw, _ = _checked(data, spec)
        try:
            plane = crackle.CrackleArray(raw, parallel=1)[:, :, z]
        except _library_errors() as err:
            raise corrupt(spec, NAME, str(err)) from err
        return as_layer_dtype(np.asarray(plane)[x, y].reshape(1), spec.dtype)


#: a spec for messages about streams read without one (``describe``)
_ANY = ChunkSpec(shape=(0, 0, 0, 1), dtype=np.dtype("uint8"), key="<stream>")
