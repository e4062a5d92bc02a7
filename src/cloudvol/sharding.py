"""Sharded precomputed data (``neuroglancer_uint64_sharded_v1``): the public names.

``from cloudvol.sharding import ShardingSpecification, ShardReader`` and friends, as
CloudVolume users import them from ``cloudvolume.datasource.precomputed.sharding``.
The implementation lives in :mod:`cloudvol.precomputed.sharding` (specification and
key locations), :mod:`cloudvol.precomputed.shard_files` (index and shard file
bytes), :mod:`cloudvol.precomputed.morton`, :mod:`cloudvol.precomputed.shard_params`,
:mod:`cloudvol.precomputed.image_shards` and :mod:`cloudvol.volume.sharded`.
"""

from cloudvol.precomputed.image_shards import ImageShardLayout, ShardAlignment
from cloudvol.precomputed.morton import (
    MortonCoder,
    compressed_morton_code,
    morton_code_to_bbox,
    morton_code_to_gridpt,
)
from cloudvol.precomputed.shard_files import (
    MinishardIndex,
    assemble_shard,
    decode_minishard_index,
    decode_shard_index,
    disassemble_shard,
    encode_minishard_index,
    iter_shard_items,
)
from cloudvol.precomputed.shard_params import (
    choose_image_sharding,
    compute_shard_params_for_hashed,
    compute_shard_params_for_image,
    image_shard_shape_from_spec,
)
from cloudvol.precomputed.sharding import (
    SHARDED_TYPE,
    ShardingSpecification,
    ShardLocation,
    synthesize_shard_files,
)
from cloudvol.volume.shard_compat import ShardReader
from cloudvol.volume.shard_reader import ShardedKeyReader, ShardIndexCache

__all__ = [
    "SHARDED_TYPE",
    "ImageShardLayout",
    "MinishardIndex",
    "MortonCoder",
    "ShardAlignment",
    "ShardIndexCache",
    "ShardLocation",
    "ShardReader",
    "ShardedKeyReader",
    "ShardingSpecification",
    "assemble_shard",
    "choose_image_sharding",
    "compressed_morton_code",
    "compute_shard_params_for_hashed",
    "compute_shard_params_for_image",
    "decode_minishard_index",
    "decode_shard_index",
    "disassemble_shard",
    "encode_minishard_index",
    "image_shard_shape_from_spec",
    "iter_shard_items",
    "morton_code_to_bbox",
    "morton_code_to_gridpt",
    "synthesize_shard_files",
]
