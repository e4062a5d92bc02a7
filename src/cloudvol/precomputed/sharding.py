"""The ``neuroglancer_uint64_sharded_v1`` format: the sharding specification, where
a uint64 key lives (hashing, shard and minishard numbers, file names), the shard
and minishard indexes, and assembling or taking apart whole shard files.

Pure functions over bytes and numpy arrays, no IO. Every integer on disk is a
little-endian uint64. A shard file is::

    shard index      2**minishard_bits × (start, end): byte range of each minishard's
                     (encoded) index, relative to the end of the shard index
    the rest         item data and minishard indexes, in any order

A decoded minishard index is ``[3, n]`` uint64 in C order: delta-coded keys, delta-
coded gaps before each item, and item sizes. Items are per-item gzip when
``data_encoding`` is ``gzip``; the shard file itself is never compressed (it is read
by byte range). Building and reading the bytes of shard files is :mod:`cloudvol.precomputed.shard_files`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, NamedTuple

import mmh3
import numpy as np

from cloudvol.exceptions import SpecViolation
from cloudvol.precomputed.shard_files import (
    INDEX_ENTRY_BYTES,
    MinishardIndex,
    assemble_shard,
    decode_item,
    decode_minishard_index,
    decode_shard_index,
    disassemble_shard,
    encode_item,
    encode_minishard_index,
    iter_shard_items,
)

__all__ = [
    "DATA_ENCODINGS",
    "HASHES",
    "INDEX_ENTRY_BYTES",
    "SHARDED_TYPE",
    "MinishardIndex",
    "ShardLocation",
    "ShardingSpecification",
    "assemble_shard",
    "decode_item",
    "decode_minishard_index",
    "decode_shard_index",
    "disassemble_shard",
    "encode_item",
    "encode_minishard_index",
    "iter_shard_items",
    "synthesize_shard_files",
]

SHARDED_TYPE = "neuroglancer_uint64_sharded_v1"
HASHES = ("identity", "murmurhash3_x86_128")
DATA_ENCODINGS = ("raw", "gzip")
UINT64_MAX = (1 << 64) - 1


class ShardLocation(NamedTuple):
    """Where a key lives: shard number as the padded lowercase hex of its file name,
    minishard number, and the hash bits above both."""

    shard_number: str
    minishard_number: int
    remainder: int


def _murmur(key: int) -> int:
    """murmurhash3_x86_128, seed 0, of the 8 little-endian bytes of ``key``: the first
    8 digest bytes as a little-endian uint64."""
    return int(mmh3.hash64(key.to_bytes(8, "little"), 0, False, False)[0])


def _bits(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SpecViolation(f"sharding {name} must be an integer, got {value!r}")
    return int(value)


class ShardingSpecification:
    """A ``neuroglancer_uint64_sharded_v1`` specification (CloudVolume's class).

    Checked at construction and by :meth:`validate`; assigning an unknown ``hash``
    raises :class:`~cloudvol.exceptions.SpecViolation`.
    """

    def __init__(
        self,
        type: str,
        preshift_bits: int,
        hash: str,
        minishard_bits: int,
        shard_bits: int,
        minishard_index_encoding: str = "raw",
        data_encoding: str = "raw",
    ) -> None:
        self.type = type
        self.preshift_bits = _bits("preshift_bits", preshift_bits)
        self.hash = hash
        self.minishard_bits = _bits("minishard_bits", minishard_bits)
        self.shard_bits = _bits("shard_bits", shard_bits)
        self.minishard_index_encoding = minishard_index_encoding
        self.data_encoding = data_encoding
        self.validate()

    # --- construction and serialisation --------------------------------------

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ShardingSpecification:
        """From the info's ``sharding`` object (``@type`` and all fields)."""
        if not isinstance(spec, Mapping):
            raise SpecViolation(f"a sharding specification must be an object, got {spec!r}")
        fields = dict(spec)
        if "@type" not in fields:
            raise SpecViolation(f"sharding specification {spec!r} has no '@type'")
        fields["type"] = fields.pop("@type")
        unknown = set(fields) - {
            "type", "preshift_bits", "hash", "minishard_bits", "shard_bits",
            "minishard_index_encoding", "data_encoding",
        }  # fmt: skip
        if unknown:
            raise SpecViolation(f"sharding specification has unknown fields {sorted(unknown)}")
        missing = {"preshift_bits", "hash", "minishard_bits", "shard_bits"} - set(fields)
        if missing:
            raise SpecViolation(f"sharding specification lacks {sorted(missing)}: {spec!r}")
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str | bytes) -> ShardingSpecification:
        return cls.from_dict(json.loads(text))

    @classmethod
    def coerce(cls, spec: ShardingSpecification | Mapping[str, Any]) -> ShardingSpecification:
        """A specification from itself or from its dict form."""
        return spec if isinstance(spec, ShardingSpecification) else cls.from_dict(spec)

    def to_dict(self) -> dict[str, Any]:
        """The info ``sharding`` object (every field written, as the schema requires)."""
        return {
            "@type": self.type,
            "preshift_bits": self.preshift_bits,
            "hash": self.hash,
            "minishard_bits": self.minishard_bits,
            "shard_bits": self.shard_bits,
            "minishard_index_encoding": self.minishard_index_encoding,
            "data_encoding": self.data_encoding,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def clone(self) -> ShardingSpecification:
        return ShardingSpecification.from_dict(self.to_dict())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShardingSpecification) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))

    def __repr__(self) -> str:
        return f"ShardingSpecification({self.to_dict()})"

    __str__ = __repr__

    # --- validation --------------------------------------------------------------

    @property
    def hash(self) -> str:
        return self._hash

    @hash.setter
    def hash(self, value: str) -> None:
        if value not in HASHES:
            raise SpecViolation(
                f"sharding hash {value!r} must be 'identity' or 'murmurhash3_x86_128'"
            )
        self._hash = value

    def validate(self) -> None:
        """Raise :class:`~cloudvol.exceptions.SpecViolation` unless every field is legal."""
        if self.type != SHARDED_TYPE:
            raise SpecViolation(f"sharding @type {self.type!r} must be {SHARDED_TYPE!r}")
        if not 0 <= self.preshift_bits < 64:
            raise SpecViolation(f"preshift_bits must be in [0, 64), got {self.preshift_bits}")
        for name in ("minishard_bits", "shard_bits"):
            if not 0 <= getattr(self, name) <= 64:
                raise SpecViolation(f"{name} must be in [0, 64], got {getattr(self, name)}")
        if self.minishard_bits + self.shard_bits > 64:
            raise SpecViolation(
                f"minishard_bits + shard_bits must be at most 64, got "
                f"{self.minishard_bits} + {self.shard_bits}"
            )
        if self.hash not in HASHES:
            raise SpecViolation(f"sharding hash {self.hash!r} must be one of {HASHES}")
        for name in ("minishard_index_encoding", "data_encoding"):
            if getattr(self, name) not in DATA_ENCODINGS:
                raise SpecViolation(f"{name} must be 'raw' or 'gzip', got {getattr(self, name)!r}")

    # --- geometry of keys ------------------------------------------------------------

    def index_length(self) -> int:
        """Bytes of the shard index at the start of every shard file."""
        return INDEX_ENTRY_BYTES << self.minishard_bits

    @property
    def minishard_mask(self) -> int:
        return (1 << self.minishard_bits) - 1

    @property
    def shard_mask(self) -> int:
        """Mask of the shard-number bits of a hashed key (above the minishard bits)."""
        return ((1 << self.shard_bits) - 1) << self.minishard_bits

    def hash_key(self, key: int) -> int:
        """The hashed key (after the preshift) that the minishard and shard come from."""
        shifted = (int(key) & UINT64_MAX) >> self.preshift_bits
        return shifted if self._hash == "identity" else _murmur(shifted)

    def locate(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(shard numbers, minishard numbers)`` (uint64 arrays) of an array of keys."""
        keys = np.asarray(keys, dtype=np.uint64)
        hashed = keys >> np.uint64(self.preshift_bits)
        if self._hash != "identity":
            hashed = np.fromiter(
                (_murmur(k) for k in hashed.tolist()), dtype=np.uint64, count=len(hashed)
            )
        mini = hashed & np.uint64(self.minishard_mask)
        if self.minishard_bits >= 64:
            shard = np.zeros_like(hashed)
        else:
            shard = (hashed >> np.uint64(self.minishard_bits)) & np.uint64(
                (1 << self.shard_bits) - 1
            )
        return shard, mini

    def locate_one(self, key: int) -> tuple[int, int]:
        """``(shard number, minishard number)`` of one key."""
        hashed = self.hash_key(key)
        return (hashed >> self.minishard_bits) & ((1 << self.shard_bits) - 1), (
            hashed & self.minishard_mask
        )

    def shard_filename(self, shard_number: int) -> str:
        """``{shard:x}`` zero-padded to ``ceil(shard_bits / 4)`` digits, plus ``.shard``."""
        return format(int(shard_number), "x").zfill(math.ceil(self.shard_bits / 4)) + ".shard"

    def compute_shard_location(self, key: int) -> ShardLocation:
        """CloudVolume's location triple of ``key``."""
        hashed = self.hash_key(key)
        shard, mini = self.locate_one(key)
        number = format(shard, "x").zfill(math.ceil(self.shard_bits / 4))
        return ShardLocation(number, mini, hashed >> (self.minishard_bits + self.shard_bits))

    # --- CloudVolume conveniences ------------------------------------------------------

    def synthesize_shard(
        self,
        labels: Mapping[int, bytes] | Mapping[int, Mapping[int, bytes]],
        data_offset: Mapping[int, int] | None = None,
        progress: bool = False,
        presorted: bool = False,
    ) -> bytes:
        """One shard file from ``{key: payload}`` (every key in the same shard), or
        from ``{minishard: {key: payload}}`` when ``presorted``. Payloads are encoded
        with ``data_encoding`` here."""
        flat: dict[int, bytes] = {}
        if presorted:
            for group in labels.values():
                flat.update(group)  # type: ignore[arg-type]
        else:
            flat = dict(labels)  # type: ignore[arg-type]
        items = [(int(k), encode_item(self, v)) for k, v in flat.items()]
        return bytes(assemble_shard(self, items, data_offset=data_offset))

    def synthesize_shards(
        self,
        data: Mapping[int, bytes],
        data_offset: Mapping[int, int] | None = None,
        progress: bool = False,
    ) -> dict[str, bytes]:
        """``{filename: shard file}`` for a complete set of keys (meshes, skeletons)."""
        return synthesize_shard_files(self, data, data_offset)

    def image_shard_shape(self, dataset_size: Any, chunk_size: Any) -> Any:
        """Voxel shape of an image shard (chunk size × 2**bits per axis)."""
        from cloudvol.precomputed.shard_params import image_shard_shape_from_spec

        return image_shard_shape_from_spec(self.to_dict(), dataset_size, chunk_size)


def synthesize_shard_files(
    spec: ShardingSpecification,
    data: Mapping[int, bytes],
    data_offset: Mapping[int, int] | None = None,
) -> dict[str, bytes]:
    """Group ``{key: payload}`` by shard and assemble every shard file."""
    groups: dict[int, list[tuple[int, bytes | memoryview]]] = defaultdict(list)
    for key, payload in data.items():
        shard, _ = spec.locate_one(int(key))
        groups[shard].append((int(key), encode_item(spec, payload)))
    return {
        spec.shard_filename(shard): bytes(assemble_shard(spec, items, data_offset=data_offset))
        for shard, items in groups.items()
    }
