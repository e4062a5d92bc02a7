"""The multi-resolution mesh format (``neuroglancer_multilod_draco``): the mesh
directory's ``info``, the binary manifest of one segment, the quantisation of
fragment vertices, and decoding one Draco fragment. Pure functions, no IO.

Coordinates are (x, y, z). Three spaces appear:

- *quantised* — the integer Draco positions of one fragment, ``[0, 2**bits)``;
- *stored model* — what the manifest's ``grid_origin``/``chunk_shape`` are in
  (Igneous: voxels of the meshing mip); a fragment's quantised position ``q`` of
  node ``p`` at LOD ``L`` is ``grid_origin + vertex_offsets[L] + chunk_shape * 2**L *
  (p + q / (2**bits - 1))``;
- *model* (physical, nm) — stored model through the info's 3x4 ``transform``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt

from cloudvol.exceptions import EncodingError, InvalidInfoError, MeshDecodeError, SpecViolation
from cloudvol.precomputed.sharding import ShardingSpecification

__all__ = [
    "MULTIRES_MESH_TYPE",
    "MultiLevelPrecomputedMeshManifest",
    "MultiresMeshInfo",
    "affine_3x4",
    "apply_transform",
    "decode_fragment",
    "from_stored_model_space",
    "to_stored_model_space",
    "validate_multires_info",
]

MULTIRES_MESH_TYPE = "neuroglancer_multilod_draco"
VERTEX_QUANTIZATION_BITS = (10, 16)

_FIXED_HEADER = 28  # chunk_shape (3 f32) + grid_origin (3 f32) + num_lods (u32)
_PER_LOD = 20  # lod_scale (f32) + vertex_offset (3 f32) + num_fragments (u32)
_PER_FRAGMENT = 16  # position (3 u32) + size (u32)


def _flat_sizes(value: Any) -> np.ndarray:
    """Fragment sizes given per LOD (list of arrays) or flat (Igneous appends ints
    one by one) as one flat int64 array."""
    if isinstance(value, np.ndarray):
        return value.astype(np.int64).reshape(-1)
    parts = [np.atleast_1d(np.asarray(v, dtype=np.int64)).reshape(-1) for v in value]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class MultiLevelPrecomputedMeshManifest:
    """The manifest (``{segid}.index``) of one segment's multi-resolution mesh.

    Attributes, normalised like CloudVolume's class: ``chunk_shape`` and
    ``grid_origin`` (float32, 3, stored model units), ``num_lods`` (int),
    ``lod_scales`` (float32, num_lods), ``vertex_offsets`` (float32, num_lods x 3),
    ``num_fragments_per_lod`` (uint32, num_lods), ``fragment_positions`` (per LOD a
    uint32 ``n x 3`` array of node grid positions), ``fragment_offsets`` (per LOD a
    uint32 array of fragment sizes in bytes — CloudVolume's name; a flat list of all
    sizes is accepted too), ``segment_id``, ``shard_offset`` (absolute byte offset
    of a sharded manifest in its shard file) and ``path`` (where it was read from).
    """

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __init__(
        self,
        segment_id: int,
        chunk_shape: npt.ArrayLike,
        grid_origin: npt.ArrayLike,
        num_lods: int,
        lod_scales: npt.ArrayLike,
        vertex_offsets: npt.ArrayLike,
        num_fragments_per_lod: npt.ArrayLike,
        fragment_positions: Sequence[npt.ArrayLike],
        fragment_offsets: Sequence[Any] | np.ndarray,
        shard_offset: int = 0,
        path: str | None = None,
    ) -> None:
        self.segment_id = int(segment_id)
        self.num_lods = int(num_lods)
        self.chunk_shape = np.asarray(chunk_shape, dtype=np.float32).reshape(3)
        self.grid_origin = np.asarray(grid_origin, dtype=np.float32).reshape(3)
        self.lod_scales = np.asarray(lod_scales, dtype=np.float32).reshape(self.num_lods)
        self.vertex_offsets = np.asarray(vertex_offsets, dtype=np.float32).reshape(self.num_lods, 3)
        self.num_fragments_per_lod = np.asarray(num_fragments_per_lod, dtype=np.uint32).reshape(
            self.num_lods
        )
        self.fragment_positions = [
            np.asarray(p, dtype=np.uint32).reshape(-1, 3) for p in fragment_positions
        ]
        self.shard_offset = int(shard_offset)
        self.path = path
        # Sizes per LOD when complete; a partial flat list (Igneous fills it after
        # construction, one ``append`` per encoded fragment) is kept as given.
        flat = _flat_sizes(fragment_offsets)
        if len(flat) == int(self.num_fragments_per_lod.sum(dtype=np.int64)):
            self.fragment_offsets: list[Any] = self._split_sizes(flat)
        else:
            self.fragment_offsets = list(fragment_offsets)

    # --- sizes --------------------------------------------------------------------

    def _split_sizes(self, flat: np.ndarray) -> list[np.ndarray]:
        if self.num_lods == 0:
            return []
        bounds = np.cumsum(self.num_fragments_per_lod.astype(np.int64))[:-1]
        return [part.astype(np.uint32) for part in np.split(flat, bounds)]

    def _sizes(self) -> list[np.ndarray]:
        flat = _flat_sizes(self.fragment_offsets)
        expected = int(self.num_fragments_per_lod.sum(dtype=np.int64))
        if len(flat) != expected:
            raise EncodingError(
                f"manifest of segment {self.segment_id}: {len(flat)} fragment sizes for "
                f"{expected} fragments (num_fragments_per_lod {self.num_fragments_per_lod.tolist()})"
            )
        return self._split_sizes(flat)

    def fragment_sizes(self, lod: int) -> np.ndarray:
        """Bytes of each fragment of ``lod`` (int64, manifest order)."""
        return self._sizes()[lod].astype(np.int64)

    def lod_sizes(self) -> np.ndarray:
        """Bytes of all fragments of each LOD (int64, num_lods)."""
        return np.asarray([int(s.sum(dtype=np.int64)) for s in self._sizes()], dtype=np.int64)

    @property
    def data_length(self) -> int:
        """Bytes of the fragment data (all LODs) this manifest describes."""
        return int(self.lod_sizes().sum())

    def lod_byte_range(self, lod: int) -> tuple[int, int]:
        """``[start, end)`` of ``lod``'s fragments, relative to the start of the data."""
        sizes = self.lod_sizes()
        start = int(sizes[:lod].sum())
        return start, start + int(sizes[lod])

    def fragment_byte_ranges(self, lod: int) -> np.ndarray:
        """``(n, 2)`` int64 ``[start, end)`` of each fragment of ``lod``, relative to
        the start of the data."""
        sizes = self.fragment_sizes(lod)
        ends = np.cumsum(sizes) + self.lod_byte_range(lod)[0]
        return np.stack([ends - sizes, ends], axis=1) if len(sizes) else np.zeros((0, 2), np.int64)

    def node_bounds(self, lod: int) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners (float64 ``n x 3``, stored model units) of each
        node of ``lod``: ``grid_origin + vertex_offsets[lod] + p * chunk_shape * 2**lod``
        plus one node extent."""
        extent = self.chunk_shape.astype(np.float64) * (2.0**lod)
        lo = (
            self.grid_origin.astype(np.float64)
            + self.vertex_offsets[lod].astype(np.float64)
            + self.fragment_positions[lod].astype(np.float64) * extent
        )
        return lo, lo + extent

    # --- binary -------------------------------------------------------------------

    @property
    def length(self) -> int:
        """Bytes of the binary manifest: ``28 + 20 * num_lods + 16 * fragments``."""
        return manifest_length(self.num_lods, int(self.num_fragments_per_lod.sum(dtype=np.int64)))

    def __len__(self) -> int:
        return self.length

    @classmethod
    def from_binary(
        cls,
        data: bytes | memoryview,
        segment_id: int,
        shard_offset: int = 0,
        path: str | None = None,
        where: str | None = None,
    ) -> MultiLevelPrecomputedMeshManifest:
        """Decode a binary manifest; ``where`` (default ``path``) names the file in
        errors. Raises :class:`MeshDecodeError` unless the length is exactly
        ``28 + 20 * num_lods + 16 * Σ num_fragments``."""
        place = where or path or "manifest"
        buf = memoryview(data).cast("B")

        def bad(problem: str) -> MeshDecodeError:
            return MeshDecodeError(
                f"{place}: multi-resolution mesh manifest of segment {segment_id} {problem}"
            )

        if len(buf) < _FIXED_HEADER:
            raise bad(f"is {len(buf)} bytes, shorter than the {_FIXED_HEADER}-byte header")
        (num_lods,) = struct.unpack_from("<I", buf, 24)
        if _FIXED_HEADER + _PER_LOD * num_lods > len(buf):
            raise bad(f"is {len(buf)} bytes, too short for its {num_lods} LODs")
        pos = _FIXED_HEADER
        lod_scales = np.frombuffer(buf, "<f4", num_lods, pos)
        pos += 4 * num_lods
        vertex_offsets = np.frombuffer(buf, "<f4", 3 * num_lods, pos).reshape(num_lods, 3)
        pos += 12 * num_lods
        counts = np.frombuffer(buf, "<u4", num_lods, pos)
        pos += 4 * num_lods
        expected = manifest_length(num_lods, int(counts.sum(dtype=np.int64)))
        if expected != len(buf):
            raise bad(
                f"is {len(buf)} bytes, expected {expected} (28 + 20 x {num_lods} LODs + "
                f"16 x {int(counts.sum(dtype=np.int64))} fragments)"
            )
        positions: list[np.ndarray] = []
        sizes: list[np.ndarray] = []
        for n in counts.tolist():
            # Positions are [3][n] C order on disk (all x, then all y, then all z).
            positions.append(np.frombuffer(buf, "<u4", 3 * n, pos).reshape(3, n).T.copy())
            pos += 12 * n
            sizes.append(np.frombuffer(buf, "<u4", n, pos).astype(np.uint32))
            pos += 4 * n
        return cls(
            segment_id,
            chunk_shape=np.frombuffer(buf, "<f4", 3, 0),
            grid_origin=np.frombuffer(buf, "<f4", 3, 12),
            num_lods=num_lods,
            lod_scales=lod_scales,
            vertex_offsets=vertex_offsets,
            num_fragments_per_lod=counts,
            fragment_positions=positions,
            fragment_offsets=sizes,
            shard_offset=shard_offset,
            path=path,
        )

    def to_binary(self) -> bytes:
        """The binary manifest (little-endian; node positions and sizes as stored,
        which must be in Z-curve order within each LOD)."""
        sizes = self._sizes()
        if len(self.fragment_positions) != self.num_lods:
            raise EncodingError(
                f"manifest of segment {self.segment_id}: {len(self.fragment_positions)} "
                f"position lists for {self.num_lods} LODs"
            )
        parts = [
            self.chunk_shape.astype("<f4").tobytes(),
            self.grid_origin.astype("<f4").tobytes(),
            struct.pack("<I", self.num_lods),
            self.lod_scales.astype("<f4").tobytes(),
            self.vertex_offsets.astype("<f4").tobytes(),
            self.num_fragments_per_lod.astype("<u4").tobytes(),
        ]
        for lod, (positions, lod_sizes) in enumerate(
            zip(self.fragment_positions, sizes, strict=True)
        ):
            n = int(self.num_fragments_per_lod[lod])
            if positions.shape != (n, 3):
                raise EncodingError(
                    f"manifest of segment {self.segment_id}: LOD {lod} has {positions.shape[0]} "
                    f"node positions for {n} fragments"
                )
            parts.append(np.ascontiguousarray(positions.T, dtype="<u4").tobytes())
            parts.append(lod_sizes.astype("<u4").tobytes())
        return b"".join(parts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultiLevelPrecomputedMeshManifest):
            return NotImplemented
        try:
            mine, theirs = self._sizes(), other._sizes()
        except EncodingError:
            return False
        return (
            self.segment_id == other.segment_id
            and self.num_lods == other.num_lods
            and np.array_equal(self.chunk_shape, other.chunk_shape, equal_nan=True)
            and np.array_equal(self.grid_origin, other.grid_origin, equal_nan=True)
            and np.array_equal(self.lod_scales, other.lod_scales, equal_nan=True)
            and np.array_equal(self.vertex_offsets, other.vertex_offsets, equal_nan=True)
            and np.array_equal(self.num_fragments_per_lod, other.num_fragments_per_lod)
            and all(
                np.array_equal(a, b)
                for a, b in zip(self.fragment_positions, other.fragment_positions, strict=True)
            )
            and all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
        )

    def __repr__(self) -> str:
        return (
            f"MultiLevelPrecomputedMeshManifest(segment_id={self.segment_id}, "
            f"num_lods={self.num_lods}, chunk_shape={self.chunk_shape.tolist()}, "
            f"grid_origin={self.grid_origin.tolist()}, "
            f"num_fragments_per_lod={self.num_fragments_per_lod.tolist()})"
        )


def manifest_length(num_lods: int, num_fragments: int) -> int:
    """Bytes of a manifest with ``num_lods`` LODs and ``num_fragments`` in all."""
    return _FIXED_HEADER + _PER_LOD * int(num_lods) + _PER_FRAGMENT * int(num_fragments)


# --- quantisation ----------------------------------------------------------------


def _quantization_dtype(limit: int) -> np.dtype[Any]:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if limit <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def from_stored_model_space(
    vertices: npt.ArrayLike,
    manifest: MultiLevelPrecomputedMeshManifest,
    lod: int,
    vertex_quantization_bits: int,
    frag: int,
) -> np.ndarray:
    """Quantised fragment positions (``N x 3``, units of ``1 / (2**bits - 1)`` of a
    node) of fragment ``frag`` of ``lod`` to stored model coordinates (float64).

    Node extent is ``chunk_shape * 2**lod`` (the format fixes it; ``lod_scales``
    only steer which LOD a viewer draws)."""
    q = np.asarray(vertices, dtype=np.float64)
    extent = manifest.chunk_shape.astype(np.float64) * (2.0**lod)
    origin = manifest.grid_origin.astype(np.float64) + manifest.vertex_offsets[lod]
    position = manifest.fragment_positions[lod][frag, :].astype(np.float64)
    return origin + extent * (position + q / (2.0**vertex_quantization_bits - 1))


def to_stored_model_space(
    vertices: npt.ArrayLike,
    manifest: MultiLevelPrecomputedMeshManifest,
    lod: int,
    vertex_quantization_bits: int,
    frag: int,
) -> np.ndarray:
    """Inverse of :func:`from_stored_model_space`: stored model coordinates of the
    vertices of fragment ``frag`` of ``lod`` to quantised integer positions, rounded
    and clipped to ``[0, 2**bits - 1]`` (smallest unsigned dtype that holds them,
    uint16 for 10 or 16 bits)."""
    limit = (1 << int(vertex_quantization_bits)) - 1
    v = np.asarray(vertices, dtype=np.float64)
    extent = manifest.chunk_shape.astype(np.float64) * (2.0**lod)
    origin = manifest.grid_origin.astype(np.float64) + manifest.vertex_offsets[lod]
    position = manifest.fragment_positions[lod][frag, :].astype(np.float64)
    q = ((v - origin) / extent - position) * limit
    q = np.clip(np.round(q), 0, limit)
    return q.astype(_quantization_dtype(limit))


def affine_3x4(transform: npt.ArrayLike) -> np.ndarray:
    """A transform given as 3x3 (linear), 3x4 / 12 numbers or 4x4 (affine,
    row-major) as a float64 3x4 matrix."""
    m = np.asarray(transform, dtype=np.float64)
    if m.size == 9:
        return np.hstack([m.reshape(3, 3), np.zeros((3, 1))])
    if m.size in (12, 16):
        return m.reshape(-1, 4)[:3]
    raise ValueError(f"a transform must be 3x3, 3x4 or 4x4, got shape {m.shape}")


def apply_transform(vertices: npt.ArrayLike, transform: npt.ArrayLike) -> np.ndarray:
    """Points (``... x 3``) through a transform (see :func:`affine_3x4`) in float64;
    returned unchanged (as float64) for the identity."""
    v = np.asarray(vertices, dtype=np.float64)
    m = affine_3x4(transform)
    if np.array_equal(m, np.eye(3, 4)):
        return v
    return v @ m[:, :3].T + m[:, 3]


def decode_fragment(
    data: bytes | memoryview,
    manifest: MultiLevelPrecomputedMeshManifest,
    lod: int,
    frag: int,
    vertex_quantization_bits: int,
    transform: npt.ArrayLike | None = None,
    where: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Decode one Draco fragment of ``lod`` to ``(vertices, faces)``: vertices
    float32 ``N x 3`` in stored model units, or in model units (nm) through
    ``transform`` (3x4 or 4x4) when given; faces uint32 ``M x 3``.

    The Draco-decoded positions are used as they come (dequantised by Draco, as
    CloudVolume does; they are the exact integers when the writer set the Draco
    quantisation range to ``2**bits - 1`` from origin 0)."""
    import DracoPy

    place = where or manifest.path or "fragment data"

    def bad(problem: str) -> MeshDecodeError:
        return MeshDecodeError(
            f"{place}: fragment {frag} of LOD {lod} of segment {manifest.segment_id} {problem}"
        )

    try:
        decoded = DracoPy.decode(bytes(data))
    except Exception as err:  # DracoPy raises its own FileTypeException, ValueError…
        raise bad(f"is not a valid Draco mesh ({err})") from None
    faces = getattr(decoded, "faces", None)
    if faces is None:
        raise bad("is a Draco point cloud, not a triangle mesh")
    points = np.asarray(decoded.points, dtype=np.float32).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.uint32).reshape(-1, 3)
    if len(faces) and int(faces.max()) >= len(points):
        raise bad(f"has a face index {int(faces.max())} past its {len(points)} vertices")
    stored = from_stored_model_space(points, manifest, lod, vertex_quantization_bits, frag)
    if transform is not None:
        stored = apply_transform(stored, transform)
    return stored.astype(np.float32), faces


# --- info ------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiresMeshInfo:
    """The checked members of a multi-resolution mesh directory's ``info``."""

    vertex_quantization_bits: int
    transform: tuple[float, ...]  # 12 numbers, 3x4 row-major, stored model -> nm
    lod_scale_multiplier: float
    sharding: ShardingSpecification | None

    @property
    def transform_matrix(self) -> np.ndarray:
        """The transform as a 4x4 float64 matrix (last row ``0 0 0 1``)."""
        return np.vstack([np.asarray(self.transform, dtype=np.float64).reshape(3, 4), [0, 0, 0, 1]])


def _is_number(value: Any) -> TypeGuard[float]:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def require_raw_fragments(spec: ShardingSpecification | None, where: str = "mesh/info") -> None:
    """Sharded multi-resolution meshes need ``data_encoding: raw``: the minishard
    index points at the manifest inside each item and fragments are read by byte
    range, which per-item gzip would make impossible (Neuroglancer never
    decompresses them). Raises :class:`InvalidInfoError` naming the field."""
    if spec is not None and spec.data_encoding != "raw":
        raise InvalidInfoError(
            f"{where}: info field 'sharding.data_encoding' must be 'raw' for "
            f"multi-resolution meshes, got {spec.data_encoding!r} (fragments are read by "
            "byte range inside each item and are never decompressed)"
        )


def validate_multires_info(info: Mapping[str, Any], where: str = "mesh/info") -> MultiresMeshInfo:
    """Check a ``neuroglancer_multilod_draco`` info (``where`` names the file) and
    return its members; raises :class:`InvalidInfoError` naming the field.

    A sharding spec's ``data_encoding`` is checked only when meshes are read
    (:func:`require_raw_fragments`), so a layer whose info says ``gzip`` still opens
    and can be switched back with ``to_unsharded``/``to_sharded``."""

    def fail(field: str, problem: str) -> InvalidInfoError:
        return InvalidInfoError(f"{where}: info field {field!r} {problem}")

    if not isinstance(info, Mapping):
        raise InvalidInfoError(f"{where}: the info file must hold a JSON object")
    kind = info.get("@type")
    if kind != MULTIRES_MESH_TYPE:
        raise fail("@type", f"must be {MULTIRES_MESH_TYPE!r}, got {kind!r}")
    bits = info.get("vertex_quantization_bits")
    if isinstance(bits, bool) or bits not in VERTEX_QUANTIZATION_BITS:
        raise fail("vertex_quantization_bits", f"must be 10 or 16, got {bits!r}")
    transform = info.get("transform")
    if (
        not isinstance(transform, list | tuple)
        or len(transform) != 12
        or not all(_is_number(v) for v in transform)
    ):
        raise fail("transform", f"must be a list of 12 finite numbers (3x4), got {transform!r}")
    multiplier = info.get("lod_scale_multiplier")
    if not _is_number(multiplier) or float(multiplier) <= 0:
        raise fail("lod_scale_multiplier", f"must be a positive number, got {multiplier!r}")
    spec: ShardingSpecification | None = None
    sharding = info.get("sharding")
    if sharding is not None:
        try:
            spec = ShardingSpecification.from_dict(sharding)
        except (SpecViolation, TypeError, ValueError) as err:
            raise fail("sharding", f"is not a valid sharding specification: {err}") from None
    return MultiresMeshInfo(
        vertex_quantization_bits=int(bits),
        transform=tuple(float(v) for v in transform),
        lod_scale_multiplier=float(multiplier),
        sharding=spec,
    )
