"""Choosing sharding parameters, and the shape of image shards.

* :func:`compute_shard_params_for_hashed` and :func:`compute_shard_params_for_image`
  reproduce CloudVolume's heuristics value for value (scripts and Igneous-style task
  generators compare their outputs).
* :func:`choose_image_sharding` is cloudvol's own choice for volumes: identity hash,
  every shard an axis-aligned block of chunks of about the requested size, with the
  minishard split sized for small indexes.
* :func:`image_shard_shape_from_spec`: voxels per shard of an identity-hashed scale.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cloudvol.precomputed.morton import Triple, axis_bits
from cloudvol.precomputed.sharding import SHARDED_TYPE, ShardingSpecification

__all__ = [
    "UNCOMPRESSED_DATA_ENCODINGS",
    "block_bits",
    "choose_image_sharding",
    "compute_shard_params_for_hashed",
    "compute_shard_params_for_image",
    "image_shard_shape_from_spec",
]

#: encodings already compressed: gzip on top only costs time (CloudVolume's list)
UNCOMPRESSED_DATA_ENCODINGS = ("jpeg", "png", "kempressed", "fpzip", "zfpc", "jxl")


def compute_shard_params_for_hashed(
    num_labels: int,
    shard_index_bytes: int = 2**13,
    minishard_index_bytes: int = 2**15,
    min_shards: int = 1,
) -> tuple[int, int, int]:
    """``(shard_bits, minishard_bits, preshift_bits)`` for ``num_labels`` uniformly
    hashed keys (meshes, skeletons), sized so a shard index is about
    ``shard_index_bytes`` and a minishard index about ``minishard_index_bytes``.
    Same values as CloudVolume."""
    if min_shards < 1:
        raise ValueError(f"min_shards must be at least 1, got {min_shards}")
    if num_labels <= 0:
        return (0, 0, 0)
    minishards_per_shard = shard_index_bytes / 2 / 8
    labels_per_minishard = minishard_index_bytes / 3 / 8
    labels_per_shard = minishards_per_shard * labels_per_minishard
    if num_labels >= labels_per_shard:
        minishard_bits = float(np.ceil(np.log2(minishards_per_shard)))
        shard_bits = float(
            np.ceil(np.log2(num_labels / (labels_per_minishard * (2**minishard_bits))))
        )
    elif num_labels >= labels_per_minishard:
        minishard_bits = float(np.ceil(np.log2(num_labels / labels_per_minishard)))
        shard_bits = 0.0
    else:
        minishard_bits = shard_bits = 0.0
    capacity = labels_per_shard * (2**shard_bits)
    # Shards may run ~10% over capacity rather than be half empty.
    if num_labels / capacity <= 0.55:
        shard_bits -= 1
    shard_bits = max(shard_bits, 0.0)
    min_shard_bits = float(np.round(np.log2(min_shards)))
    delta = max(min_shard_bits - shard_bits, 0.0)
    shard_bits = max(shard_bits + delta, min_shard_bits)
    minishard_bits = max(minishard_bits - delta, 0.0)
    return (int(shard_bits), int(minishard_bits), 0)


def _byte_width(dtype: Any) -> int:
    if isinstance(dtype, int) and not isinstance(dtype, bool):
        return dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{dtype} must be an int, a dtype name or a numpy dtype") from None
    if dt.kind not in "iufb":
        raise ValueError(f"{dtype} must be an integer or floating dtype")
    return dt.itemsize


def compute_shard_params_for_image(
    dataset_size: Triple,
    chunk_size: Triple,
    encoding: str,
    dtype: Any,
    uncompressed_shard_bytesize: int = int(3.5e9),
    max_shard_index_bytes: int = 8192,
    max_minishard_index_bytes: int = 40000,
    max_labels_per_minishard: int = 4000,
    minishard_index_encoding: str = "gzip",
    data_encoding: str = "gzip",
) -> ShardingSpecification:
    """CloudVolume's recommended identity-hash sharding for an image scale of
    ``dataset_size`` voxels in ``chunk_size`` chunks: shards of at most about
    ``uncompressed_shard_bytesize`` bytes (channels not counted, as in
    CloudVolume), small shard and minishard indexes. Same values as CloudVolume."""
    byte_width = _byte_width(dtype)
    size = [int(s) for s in dataset_size]
    chunk = [int(c) for c in chunk_size]
    grid = [-(-s // c) for s, c in zip(size, chunk, strict=True)]
    num_chunks = math.prod(grid)
    max_bits = sum(math.ceil(math.log2(g)) for g in grid)
    chunks_per_shard = math.ceil(uncompressed_shard_bytesize / (math.prod(chunk) * byte_width))
    chunks_per_shard = 2 ** int(math.log2(chunks_per_shard))
    if num_chunks < chunks_per_shard:
        chunks_per_shard = 2 ** math.ceil(math.log2(num_chunks))
    num_shards = num_chunks / chunks_per_shard

    def update_bits() -> tuple[int, int]:
        shard = math.ceil(math.log2(num_shards))
        preshift = min(math.ceil(math.log2(chunks_per_shard)), max_bits - shard)
        return shard, preshift

    shard_bits, preshift_bits = update_bits()
    labels_per_minishard: float = chunks_per_shard
    minishard_bits = 0
    while labels_per_minishard > max_labels_per_minishard:
        labels_per_minishard /= 2
        minishard_bits += 1
        minishard_index_size = 3 * 8 * labels_per_minishard
        shard_index_size = 2 * 8 * (2**minishard_bits)
        too_big = (
            minishard_index_size > max_minishard_index_bytes and minishard_bits > preshift_bits
        )
        if too_big or shard_index_size > max_shard_index_bytes:
            minishard_bits -= 1
            num_shards *= 2
            shard_bits, preshift_bits = update_bits()

    # The chunks a shard indexes stay fixed: minishard bits come out of the preshift.
    preshift_bits -= minishard_bits
    if size[2] == chunk[2]:
        # CloudVolume's adjustment for single-chunk-deep volumes.
        additional = preshift_bits // 3
        i = 0
        while i < additional:
            max_bits += 1
            preshift_bits += 1
            if preshift_bits % 3 != 0:
                i += 1
    shard_bits = max(max_bits - preshift_bits - minishard_bits, 0)
    if max_bits > 64:
        raise ValueError(
            f"{max_bits} bits, more than a 64-bit integer, would be needed to number the "
            f"chunks of this scale. Use larger chunks or a smaller volume. Dataset size "
            f"{tuple(size)}, chunk size {tuple(chunk)}"
        )
    if preshift_bits < 0:
        raise ValueError(
            f"preshift_bits cannot be negative ({shard_bits}, {minishard_bits}, "
            f"{preshift_bits}); the grid has {max_bits} bits"
        )
    if preshift_bits + shard_bits + minishard_bits > max_bits:
        raise ValueError(
            f"preshift_bits {preshift_bits} + shard_bits {shard_bits} + minishard_bits "
            f"{minishard_bits} must be <= {max_bits}. Reduce the number of minishards."
        )
    if encoding in ("jpeg", "png", "kempressed", "fpzip", "zfpc"):
        data_encoding = "raw"
    return ShardingSpecification(
        SHARDED_TYPE,
        preshift_bits=preshift_bits,
        hash="identity",
        minishard_bits=minishard_bits,
        shard_bits=shard_bits,
        minishard_index_encoding=minishard_index_encoding,
        data_encoding=data_encoding,
    )


def block_bits(grid_size: Triple, prefix_bits: int) -> tuple[int, int, int]:
    """How many of the first ``prefix_bits`` Morton bits belong to x, y and z: with
    identity hashing the chunks sharing everything above those bits form a block of
    ``2**bits`` chunks per axis."""
    bits = axis_bits(grid_size)
    counts = [0, 0, 0]
    taken = 0
    for i in range(max(bits)):
        for d in range(3):
            if i < bits[d] and taken < prefix_bits:
                counts[d] += 1
                taken += 1
    return counts[0], counts[1], counts[2]


def image_shard_shape_from_spec(spec: Any, dataset_size: Triple, chunk_size: Triple) -> Any:
    """Voxels per shard (x, y, z) of an identity-hashed image scale: the chunk size
    times ``2**bits`` per axis, where the bits are the first ``preshift_bits +
    minishard_bits`` Morton bits (not clipped at the volume's end). A ``Vec`` of
    uint64, as CloudVolume returns."""
    from cloudvol.lib import Vec

    spec_dict = spec.to_dict() if isinstance(spec, ShardingSpecification) else spec
    prefix = int(spec_dict["preshift_bits"]) + int(spec_dict["minishard_bits"])
    if prefix >= 64:
        raise ValueError(
            f"preshift_bits ({spec_dict['preshift_bits']}) + minishard_bits "
            f"({spec_dict['minishard_bits']}) must be < 64. Sum: {prefix}"
        )
    chunk = [int(c) for c in chunk_size]
    grid = [-(-int(s) // c) for s, c in zip(dataset_size, chunk, strict=True)]
    counts = block_bits(grid, prefix)
    return Vec(*(c << b for c, b in zip(chunk, counts, strict=True)), dtype=np.uint64)


def choose_image_sharding(
    size: Triple,
    chunk_size: Triple,
    dtype: Any,
    num_channels: int = 1,
    encoding: str = "raw",
    *,
    shard_bytes: int = int(3.5e9),
    chunks_per_shard: int | None = None,
    max_chunks_per_minishard: int = 4000,
    max_shard_index_bytes: int = 8192,
    minishard_index_encoding: str = "gzip",
    data_encoding: str | None = None,
) -> ShardingSpecification:
    """An identity-hash sharding for an image scale whose shards are axis-aligned
    blocks of chunks (so any block-aligned box is writable).

    A shard holds the largest power of two of chunks not above ``chunks_per_shard``
    (default: as many whole chunks as fit in ``shard_bytes`` uncompressed bytes,
    channels counted), capped at the whole grid. Minishards split a shard so that
    each indexes at most ``max_chunks_per_minishard`` chunks while the shard index
    stays within ``max_shard_index_bytes``. ``data_encoding`` defaults to gzip, or raw
    for encodings that are already compressed (jpeg, png, jxl, fpzip, kempressed,
    zfpc). ``size`` and ``chunk_size`` are voxels (x, y, z)."""
    chunk = [int(c) for c in chunk_size]
    grid = [-(-int(s) // c) for s, c in zip(size, chunk, strict=True)]
    total = sum(axis_bits(grid))
    if total > 64:
        raise ValueError(
            f"a grid of {tuple(grid)} chunks needs {total} Morton bits; at most 64 fit"
        )
    if chunks_per_shard is None:
        chunk_bytes = math.prod(chunk) * _byte_width(dtype) * max(1, int(num_channels))
        chunks_per_shard = max(1, int(shard_bytes) // chunk_bytes)
    if chunks_per_shard < 1:
        raise ValueError(f"chunks_per_shard must be at least 1, got {chunks_per_shard}")
    shard_chunk_bits = min(int(chunks_per_shard).bit_length() - 1, total)
    max_minishard_bits = max(0, (max_shard_index_bytes // 16).bit_length() - 1)
    minishard_bits = 0
    while (
        (1 << (shard_chunk_bits - minishard_bits)) > max_chunks_per_minishard
        and minishard_bits < min(shard_chunk_bits, max_minishard_bits)
    ):  # fmt: skip
        minishard_bits += 1
    if data_encoding is None:
        data_encoding = "raw" if encoding in UNCOMPRESSED_DATA_ENCODINGS else "gzip"
    return ShardingSpecification(
        SHARDED_TYPE,
        preshift_bits=shard_chunk_bits - minishard_bits,
        hash="identity",
        minishard_bits=minishard_bits,
        shard_bits=total - shard_chunk_bits,
        minishard_index_encoding=minishard_index_encoding,
        data_encoding=data_encoding,
    )
