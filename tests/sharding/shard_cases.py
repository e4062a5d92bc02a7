"""Shared helpers of the sharding tests: specifications, infos and data."""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudvol import CloudVolume

TYPE = "neuroglancer_uint64_sharded_v1"


def sharding(preshift: int, minishard: int, shard: int, hash: str = "identity",
             index: str = "gzip", data: str = "gzip") -> dict[str, Any]:  # fmt: skip
    return {"@type": TYPE, "preshift_bits": preshift, "hash": hash, "minishard_bits": minishard,
            "shard_bits": shard, "minishard_index_encoding": index, "data_encoding": data}  # fmt: skip


def sharded_info(spec: dict[str, Any], size=(100, 70, 30), chunk=(16, 16, 8), offset=(3, -5, 7),
                 dtype="uint16", channels=1, layer_type="image", encoding="raw") -> dict[str, Any]:  # fmt: skip
    return CloudVolume.create_new_info(
        channels, layer_type, dtype, encoding, (4, 4, 40), offset, size, chunk_size=chunk,
        sharding=spec,
    )  # fmt: skip


def random_image(shape, dtype="uint16", seed=0, channels=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    return np.asfortranarray(
        rng.integers(info.min, info.max, size=(*shape, channels), dtype=dtype, endpoint=True)
    )


def labels_image(shape, dtype="uint64", seed=0) -> np.ndarray:
    """Blocky labels (runs of equal values), as segmentation looks."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 40, size=tuple(-(-s // 4) for s in shape), dtype=dtype)
    big = small.repeat(4, 0).repeat(4, 1).repeat(4, 2)[: shape[0], : shape[1], : shape[2]]
    return np.asfortranarray(big[..., np.newaxis])
