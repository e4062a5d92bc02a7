"""``vol.to_sharded(dest)`` / ``vol.to_unsharded(dest)``: copy one scale of a layer
into the other layout, at another cloudpath or in place.

The destination's info is the source's (or the destination's own, if it has one)
with the scale's ``sharding`` (and optionally ``encoding``) changed; it is
committed only after every shard or chunk is written, so readers never see a
sharded scale without its shards. Data moves shard by shard
(:mod:`cloudvol.volume.sharded_convert`), with memory bounded by the shards in
flight.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from cloudvol import paths
from cloudvol.exceptions import InfoUnavailableError
from cloudvol.precomputed import info as infomod
from cloudvol.precomputed.shard_params import choose_image_sharding
from cloudvol.precomputed.sharding import ShardingSpecification
from cloudvol.volume.sharded_convert import sharded_to_unsharded, unsharded_to_sharded

if TYPE_CHECKING:
    from cloudvol.frontends.precomputed import CloudVolumePrecomputed

__all__ = ["convert_layer"]


def _open_destination(
    vol: CloudVolumePrecomputed, dest: str | None, compress: Any, compress_level: int | None
) -> CloudVolumePrecomputed:
    cls = type(vol)
    kwargs: dict[str, Any] = {
        "secrets": vol.config.secrets, "compress": compress, "compress_level": compress_level,
        "cdn_cache": vol.config.cdn_cache, "background_color": vol.background_color,
    }  # fmt: skip
    if dest is None:
        return cls(vol.meta.path, info=copy.deepcopy(vol.info),
                   provenance=dict(vol.provenance), **kwargs)  # fmt: skip
    target = paths.parse(dest)
    try:
        return cls(target, **kwargs)
    except InfoUnavailableError:
        return cls(target, info=copy.deepcopy(vol.info), provenance=dict(vol.provenance),
                   **kwargs)  # fmt: skip


def _destination_mip(dst: CloudVolumePrecomputed, scale: dict[str, Any]) -> int:
    """The destination scale of equal resolution, added as a copy if missing."""
    want = np.asarray(scale["resolution"], dtype=float)
    for i, existing in enumerate(dst.info["scales"]):
        if np.array_equal(np.asarray(existing["resolution"], dtype=float), want):
            return i
    dst.info["scales"].append(copy.deepcopy(scale))
    return len(dst.info["scales"]) - 1


def convert_layer(
    vol: CloudVolumePrecomputed,
    dest: str | None,
    mip: Any,
    *,
    sharded: bool,
    sharding: Any = None,
    encoding: str | None = None,
    shard_bytes: int = int(3.5e9),
    chunks_per_shard: int | None = None,
    compress: Any = None,
    compress_level: int | None = None,
    parallel: int = 1,
    progress: bool | None = None,
) -> CloudVolumePrecomputed:
    """Copy scale ``mip`` of ``vol`` into the sharded (``sharded=True``) or unsharded
    layout at ``dest`` (``None``: the same layer) and return the destination volume.

    ``sharding``: a specification (dict or ShardingSpecification); by default
    :func:`~cloudvol.precomputed.shard_params.choose_image_sharding` with
    ``shard_bytes`` / ``chunks_per_shard``. ``encoding`` re-encodes every chunk.
    ``compress``/``compress_level``: transport compression of unsharded chunks
    (the level also applies to ``data_encoding`` gzip in shards). ``parallel``:
    shards converted at once (memory grows with it)."""
    mip = vol.meta.to_mip(mip)
    if vol.image.is_sharded(mip) == sharded:
        state = "already sharded" if sharded else "not sharded"
        raise ValueError(f"{vol.meta.path} mip {mip} is {state}")
    source_scale = vol.meta.scale(mip)
    dst = _open_destination(vol, dest, compress, compress_level)
    if dst.meta.dtype != vol.meta.dtype or dst.meta.num_channels != vol.meta.num_channels:
        raise ValueError(
            f"{dst.meta.path} holds {dst.meta.num_channels} × {dst.meta.data_type}, the source "
            f"{vol.meta.num_channels} × {vol.meta.data_type}"
        )
    dst_mip = _destination_mip(dst, source_scale)
    scale = copy.deepcopy(source_scale)
    scale["key"] = dst.info["scales"][dst_mip]["key"]
    if encoding is not None:
        scale["encoding"] = encoding
        if encoding == "compressed_segmentation":
            scale.setdefault("compressed_segmentation_block_size", [8, 8, 8])
        else:
            scale.pop("compressed_segmentation_block_size", None)
    if sharded:
        if sharding is None or sharding is True:
            spec = choose_image_sharding(
                scale["size"], scale["chunk_sizes"][0], vol.meta.dtype, vol.meta.num_channels,
                scale["encoding"], shard_bytes=shard_bytes, chunks_per_shard=chunks_per_shard,
            )  # fmt: skip
        else:
            spec = ShardingSpecification.coerce(sharding)
        scale["sharding"] = spec.to_dict()
    else:
        scale.pop("sharding", None)
    dst.info["scales"][dst_mip] = scale
    infomod.validate_info(dst.info, where=dst.meta.infopath)
    src_layer = vol.image.layer_format(mip)
    dst_layer = dst.image.layer_format(dst_mip)
    dst_layer.codec.check(dst_layer.dtype, dst_layer.num_channels)
    dst.image._check_writable(dst_mip)
    options = dst.image.write_options()
    if progress is not None:
        options = dataclasses.replace(options, progress=bool(progress))
    if sharded:
        unsharded_to_sharded(vol.meta.store, vol.meta.grid(mip), src_layer,
                             dst.image.sharded_scale(dst_mip), dst_layer, options, parallel)  # fmt: skip
    else:
        sharded_to_unsharded(vol.image.sharded_scale(mip), src_layer, dst.meta.store,
                             dst.meta.grid(dst_mip), dst_layer, options, parallel)  # fmt: skip
    dst.provenance.processing.append({
        "method": {"task": "to_sharded" if sharded else "to_unsharded", "source": str(vol.meta.path),
                   "mip": mip, "encoding": scale["encoding"], "sharding": scale.get("sharding")},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    })  # fmt: skip
    dst.commit_info()
    dst.commit_provenance()
    if dest is None:
        vol.meta.info = copy.deepcopy(dst.info)
    return dst
