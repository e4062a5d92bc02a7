"""``cloudvolume.datasource.precomputed.sharding``'s names, from
:mod:`cloudvol.sharding`."""

from cloudvol.sharding import (
    ShardingSpecification,
    ShardLocation,
    ShardReader,
    compute_shard_params_for_hashed,
    compute_shard_params_for_image,
    image_shard_shape_from_spec,
    synthesize_shard_files,
)

__all__ = [
    "ShardLocation",
    "ShardReader",
    "ShardingSpecification",
    "compute_shard_params_for_hashed",
    "compute_shard_params_for_image",
    "image_shard_shape_from_spec",
    "synthesize_shard_files",
]
