"""``compresso``: boundary windows + connected-component ids (seung-lab's Compresso).

One channel of unsigned labels, written exactly as CloudVolume writes it:
``compresso.compress(chunk[:, :, :, 0])`` with the library's defaults (4×4×1 windows,
4-connectivity, z index, i.e. format version 1; the library itself retries with
8×8×1 windows when 4×4×1 ones overflow). The 36-byte header records the shape
(uint16 per axis, so chunks must be under 65536 voxels along each axis) and the
label width, so a stream also tells its own shape and dtype.

Library: ``compresso`` (the only implementation). Its binding holds the GIL for the
whole call (measured: a pure-Python counter thread kept ~5% of its speed during
``compress`` and ``decompress``), so chunks on several threads take turns. Its C++
decoder throws on some bad input, and a ctypes call cannot survive a C++ exception,
so unlike compressed_segmentation it is not called around the binding.

The decoder trusts the header's section sizes and the run-length window stream:
a truncated stream makes it allocate absurd sizes, and a bad window run writes past
its buffer. Both are checked here first (:func:`_validate`). The format has no
checksum: damage inside the id, location or window values still decodes, to wrong
labels. Gzip at transport (CloudVolume's default for compresso) guards the bytes.
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
    sorted_unique,
)
from cloudvol.exceptions import DecodingError, EncodingError

__all__ = ["CompressoCodec"]

NAME = "compresso"
_HEADER = struct.Struct("<4sBB3H3BQIQB")  # 36 bytes
_MAX_SIDE = 0xFFFF


@dataclass(frozen=True, slots=True)
class _Header:
    version: int
    width: int  # bytes per label
    shape: tuple[int, int, int]
    steps: tuple[int, int, int]
    id_size: int
    value_size: int
    location_size: int
    connectivity: int

    @property
    def window_width(self) -> int:
        """Bytes per boundary window (the decoder's choice, by window volume)."""
        volume = self.steps[0] * self.steps[1] * self.steps[2]
        return 1 if volume <= 8 else 2 if volume <= 16 else 4 if volume <= 32 else 8

    @property
    def index_width(self) -> int:
        """Bytes per z-index entry (version 1)."""
        worst = 2 * self.shape[0] * self.shape[1]
        return 1 if worst < 0xFF else 2 if worst < 0xFFFF else 4 if worst < 0xFFFFFFFF else 8

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(f"<u{self.width}")


def _read_header(data: bytes | memoryview, spec: ChunkSpec) -> _Header:
    if len(data) < _HEADER.size:
        raise corrupt(spec, NAME, f"{len(data)} bytes is shorter than the 36-byte header")
    magic, version, width, sx, sy, sz, xs, ys, zs, ids, values, locations, conn = (
        _HEADER.unpack_from(data)
    )
    if magic != b"cpso":
        raise corrupt(spec, NAME, f"magic {magic!r} is not b'cpso'")
    if version not in (0, 1):
        raise corrupt(spec, NAME, f"format version {version} (known: 0, 1)")
    if width not in (1, 2, 4, 8):
        raise corrupt(spec, NAME, f"label width {width} bytes")
    if conn not in (4, 6):
        raise corrupt(spec, NAME, f"connectivity {conn} (allowed: 4, 6)")
    if min(xs, ys, zs) < 1 or xs * ys * zs > 64:
        raise corrupt(spec, NAME, f"window {xs}×{ys}×{zs} (1 to 64 voxels allowed)")
    return _Header(version, width, (sx, sy, sz), (xs, ys, zs), ids, values, locations, conn)


def _validate(data: bytes | memoryview, spec: ChunkSpec, head: _Header, windows: bool) -> None:
    """Check the section sizes against the stream length and the z index against the
    ids and, with ``windows``, the window runs against the block grid and the window
    table, so the C++ decoder stays inside its buffers (reading the label sections
    does not need the windows)."""
    ww = head.window_width
    fixed = (
        _HEADER.size
        + (head.id_size + head.location_size) * head.width
        + head.value_size * ww
        + (2 * head.shape[2] * head.index_width if head.version == 1 else 0)
    )
    windows_bytes = len(data) - fixed
    if windows_bytes < 0 or windows_bytes % ww:
        raise corrupt(
            spec,
            NAME,
            f"{len(data)} bytes do not match the header's section sizes ({fixed} bytes "
            f"before the windows, {ww}-byte windows)",
        )
    if head.version == 1:
        tail = np.frombuffer(
            data,
            dtype=f"<u{head.index_width}",
            offset=len(data) - 2 * head.shape[2] * head.index_width,
        )
        if int(tail[: head.shape[2]].sum(dtype=np.uint64)) != head.id_size:
            raise corrupt(spec, NAME, "the z index's component counts do not add up to the ids")
    if not windows or head.shape[0] * head.shape[1] * head.shape[2] == 0:
        return
    start = _HEADER.size + head.id_size * head.width + head.value_size * ww
    start += head.location_size * head.width
    runs = np.frombuffer(data, dtype=f"<u{ww}", count=windows_bytes // ww, offset=start)
    if runs.size == 0:
        return
    blocks = 1
    for side, step in zip(head.shape, head.steps, strict=True):
        blocks *= -(-side // step)
    # An odd entry skips (entry >> 1) zero windows, an even one is one window whose
    # value index is entry >> 1. Done in the stream's width: a few passes, no masks.
    odd = runs & 1
    payload = runs >> 1
    skipped = payload * odd
    literals = runs.size - int(np.count_nonzero(odd))
    covered = literals + int(skipped.sum(dtype=np.uint64))
    if int(skipped.max()) > blocks or covered > blocks:
        raise corrupt(spec, NAME, f"the window runs cover more than the {blocks} windows")
    if literals and int((payload * (odd ^ 1)).max()) >= head.value_size:
        raise corrupt(spec, NAME, f"a window refers to a value beyond the {head.value_size} stored")


def _checked(
    data: bytes | memoryview, spec: ChunkSpec, windows: bool = True
) -> tuple[bytes, _Header]:
    """``data`` as exactly ``bytes`` (the binding's argument type, which refuses
    subclasses such as :class:`~cloudvol.storage.compression.ChecksummedBytes`) with its
    validated header, after checking it matches the chunk (``windows``: see
    :func:`_validate`)."""
    head = _read_header(data, spec)
    if head.shape != tuple(spec.shape[:3]):
        raise corrupt(
            spec, NAME, f"the stream holds a {head.shape} chunk, expected {spec.shape[:3]}"
        )
    if head.width > spec.dtype.itemsize:
        raise DecodingError(
            f"chunk {spec.key}: compresso stream holds {head.width * 8}-bit labels, too wide "
            f"for the layer's {spec.dtype}"
        )
    _validate(data, spec, head, windows)
    return (data if type(data) is bytes else bytes(data)), head


@dataclass(frozen=True, slots=True)
class _LabelSections:
    """The two places a stream stores labels: the component ids and the
    indeterminate-voxel locations (a code per voxel: 0-5 copy a neighbour, 6 takes
    the next entry as a literal label, 7+ is label + 7)."""

    ids_at: int
    ids: np.ndarray
    locations_at: int
    locations: np.ndarray
    literal: np.ndarray  # bool per location entry: a label after a 6
    shifted: np.ndarray  # bool per location entry: a code 7+ (label + 7)


def _label_sections(data: bytes | memoryview, spec: ChunkSpec, head: _Header) -> _LabelSections:
    """Locate both label sections. The binding's own ``labels``/``remap`` size the
    window section by a different rule than its decoder (wrong for windows of 8
    voxels or fewer), so they are read here."""
    dtype = f"<u{head.width}"
    ids_at = _HEADER.size
    ids = np.frombuffer(data, dtype=dtype, count=head.id_size, offset=ids_at)
    at = ids_at + head.id_size * head.width + head.value_size * head.window_width
    locations = np.frombuffer(data, dtype=dtype, count=head.location_size, offset=at)
    # Which entries are literals: in a run of 6s the codes and literals alternate,
    # starting with a code (the entry before a run is not a 6, so not a code 6).
    is6 = locations == 6
    starts = is6.copy()
    starts[1:] &= ~is6[:-1]
    run_start = np.flatnonzero(starts)
    runs_before = np.cumsum(starts) - 1
    position = (
        np.arange(locations.size) - run_start[np.maximum(runs_before, 0)]
        if run_start.size
        else None
    )
    code6 = is6 & (position % 2 == 0) if position is not None else is6
    if code6.size and code6[-1]:
        raise corrupt(spec, NAME, "the last location entry announces a label that is missing")
    literal = np.zeros_like(code6)
    literal[1:] = code6[:-1]
    shifted = ~literal & (locations > 6)
    return _LabelSections(ids_at, ids, at, locations, literal, shifted)


def _stored_labels(sections: _LabelSections) -> np.ndarray:
    """Every label the stream stores (with repeats)."""
    loc = sections.locations
    return np.concatenate(
        [sections.ids, loc[sections.literal], loc[sections.shifted] - loc.dtype.type(7)]
    )


class CompressoCodec:
    """One channel of uint8-uint64 labels."""

    name = NAME
    transport_compressed_by_default = True
    content_type = "image/x.compresso"
    #: the binding holds the GIL both ways: the volume layer codes chunks of large
    #: requests in helper processes (:mod:`cloudvol.volume.offload`)
    decode_holds_gil = True
    encode_holds_gil = True

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        check_unsigned_labels(NAME, dtype, num_channels)

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        import compresso

        require_shape(array, spec)
        self.check(spec.dtype, spec.shape[3])
        if max(spec.shape[:3]) > _MAX_SIDE:
            raise EncodingError(
                f"chunk {spec.key}: compresso stores sides below 65536 voxels, chunk is "
                f"{spec.shape[:3]}"
            )
        labels = array[..., 0]
        if labels.dtype != spec.dtype or labels.dtype.byteorder == ">":
            labels = labels.astype(spec.dtype.newbyteorder("="))
        if not labels.flags.writeable:
            labels = np.array(labels, order="F")  # the binding takes writable buffers only
        try:
            return bytes(compresso.compress(labels))
        except (compresso.EncodeError, RuntimeError, TypeError, ValueError) as err:
            raise EncodingError(f"chunk {spec.key}: compresso cannot encode it: {err}") from err

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        import compresso

        raw, _ = _checked(data, spec)
        try:
            labels = compresso.decompress(raw)
        except (compresso.DecodeError, RuntimeError, ValueError, MemoryError) as err:
            raise corrupt(spec, NAME, str(err)) from err
        return as_layer_dtype(labels, spec.dtype)[..., np.newaxis]

    def describe(self, data: bytes | memoryview) -> tuple[tuple[int, int, int, int], np.dtype]:
        head = _read_header(data, _ANY)
        return (*head.shape, 1), head.dtype.newbyteorder("=")

    # --- label access without decoding -------------------------------------------

    def labels(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        raw, head = _checked(data, spec, windows=False)
        if head.steps[0] * head.steps[1] * head.steps[2] > 8:
            # The binding sizes the window section right for windows over 8 voxels
            # (the default is 4×4×1), and lists the labels in one call holding the
            # GIL: ~35 µs per 64³ chunk from two threads, where the numpy path below
            # (~32 µs alone) took 74 µs, its many small calls trading the GIL.
            import compresso

            try:
                found = as_layer_dtype(np.asarray(compresso.labels(raw)), spec.dtype)
            except (compresso.DecodeError, RuntimeError, ValueError) as err:
                raise corrupt(spec, NAME, str(err)) from err
            return sorted_label_table(found)  # it lists them sorted; this is a guard
        stored = _stored_labels(_label_sections(data, spec, head))
        return sorted_unique(
            as_layer_dtype(stored.astype(head.dtype.newbyteorder("=")), spec.dtype)
        )

    def contains(self, data: bytes | memoryview, spec: ChunkSpec, label: int) -> bool:
        return contains_in_labels(self, data, spec, label)

    def remap(
        self,
        data: bytes | memoryview,
        spec: ChunkSpec,
        mapping: Mapping[int, int],
        preserve_missing_labels: bool = False,
    ) -> bytes:
        import fastremap

        _, head = _checked(data, spec)
        sections = _label_sections(data, spec, head)
        native = head.dtype.newbyteorder("=")
        table = dict(mapping)

        def relabel(values: np.ndarray) -> np.ndarray:
            if values.size == 0:
                return values.astype(native)
            new = fastremap.remap(
                values.astype(native), table, preserve_missing_labels=preserve_missing_labels
            )
            return np.asarray(new)

        locations = np.array(sections.locations, dtype=native)
        ids = relabel(np.asarray(sections.ids))
        literal = relabel(locations[sections.literal])
        shifted = relabel(locations[sections.shifted] - native.type(7))
        top = int(np.iinfo(native).max)
        if _fits(ids, top) and _fits(literal, top) and _fits(shifted, top - 7):
            locations[sections.literal] = literal
            locations[sections.shifted] = shifted.astype(native) + native.type(7)
            out = np.frombuffer(data, dtype=np.uint8).copy()
            wire = head.dtype
            out[sections.ids_at : sections.ids_at + ids.nbytes] = ids.astype(wire).view(np.uint8)
            end = sections.locations_at + locations.nbytes
            out[sections.locations_at : end] = locations.astype(wire).view(np.uint8)
            return out.tobytes()
        # New labels too wide for the stream's label width, or for its label + 7
        # codes: the stream's layout changes, so re-encode the relabelled chunk.
        decoded = np.array(self.decode(data, spec)[..., 0], dtype=spec.dtype, order="F")
        new = np.asarray(
            fastremap.remap(decoded, table, preserve_missing_labels=preserve_missing_labels)
        )
        if not _fits(new, int(np.iinfo(spec.dtype).max)):
            raise ValueError(
                f"chunk {spec.key}: remapped labels span [{int(new.min())}, {int(new.max())}], "
                f"outside {spec.dtype}"
            )
        return self.encode(new.astype(spec.dtype)[..., np.newaxis], spec)

    def read_voxel(
        self, data: bytes | memoryview, spec: ChunkSpec, xyz: tuple[int, int, int]
    ) -> np.ndarray:
        import compresso

        x, y, z = (int(v) for v in xyz)
        if any(not 0 <= p < s for p, s in zip((x, y, z), spec.shape[:3], strict=False)):
            raise IndexError(f"voxel {(x, y, z)} is outside the chunk {spec.shape[:3]}")
        raw, head = _checked(data, spec)
        try:
            # Version 1 streams decode one z slice through their index.
            plane = (
                compresso.decompress(raw, z=z)
                if head.version == 1
                else compresso.decompress(raw)[:, :, z : z + 1]
            )
        except (compresso.DecodeError, RuntimeError, ValueError, MemoryError) as err:
            raise corrupt(spec, NAME, str(err)) from err
        return as_layer_dtype(plane[x, y, :1], spec.dtype)


def _fits(values: np.ndarray, top: int) -> bool:
    """Whether every value lies in ``[0, top]``."""
    return values.size == 0 or (int(values.min()) >= 0 and int(values.max()) <= top)


#: a spec for messages about streams read without one (``describe``)
_ANY = ChunkSpec(shape=(0, 0, 0, 1), dtype=np.dtype("uint8"), key="<stream>")
