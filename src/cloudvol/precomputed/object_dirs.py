"""The mesh and skeleton directories of a segmentation layer: where they are, their
``info`` files, and the settings CloudVolume reads from them.

A layer names its mesh directory in ``info["mesh"]`` and its skeleton directory in
``info["skeletons"]`` (CloudVolume falls back to ``mesh`` and ``skeletons``). Each
directory may hold its own ``info``; without one, CloudVolume assumes a default
(legacy meshes; identity-transform skeletons with radius and vertex types).
"""

from __future__ import annotations

import abc
import copy
import json
import re
from typing import Any

import numpy as np

from cloudvol.exceptions import InvalidInfoError
from cloudvol.lib.helpers import jsonify
from cloudvol.precomputed.metadata import PrecomputedMetadata
from cloudvol.precomputed.shard_params import compute_shard_params_for_hashed
from cloudvol.precomputed.sharding import ShardingSpecification
from cloudvol.storage.base import PutOptions

__all__ = ["MeshDirMetadata", "ObjectDirMetadata", "SkeletonDirMetadata"]

_INFO_PUT = PutOptions(content_type="application/json", cache_control="no-cache")


class ObjectDirMetadata(abc.ABC):
    """Location, ``info`` and sharding of one object directory of a layer. The
    directory comes from the layer info (where ``mesh_dir=``/``skel_dir=`` write
    their override, as in CloudVolume)."""

    layer_key: str = ""
    default_dir: str = ""
    mip_pattern: re.Pattern[str] = re.compile(r"$^")

    def __init__(
        self,
        meta: PrecomputedMetadata,
        info: dict[str, Any] | None = None,
        readonly: bool = False,
    ) -> None:
        self.meta = meta
        self.readonly = readonly
        self.info: dict[str, Any] = info if info is not None else self.fetch_info()

    # --- where ----------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The directory, relative to the layer (``info[layer_key]`` or the default)."""
        return str(self.meta.info.get(self.layer_key) or self.default_dir).strip("/")

    @property
    def layerpath(self) -> str:
        """The directory as a cloudpath."""
        return f"{self.meta.path}/{self.path}"

    @property
    def store(self) -> Any:
        return self.meta.store

    def join(self, *parts: str) -> str:
        """A store key under this directory."""
        return "/".join([self.path, *(str(p).strip("/") for p in parts)])

    # --- info -------------------------------------------------------------------------

    @abc.abstractmethod
    def default_info(self) -> dict[str, Any]:
        """What CloudVolume assumes when the directory has no ``info``."""

    def fetch_info(self) -> dict[str, Any]:
        """The directory's ``info`` (the default when the file is missing)."""
        if not self.meta.info.get(self.layer_key):
            # CloudVolume reads the directory's info only when the layer names it.
            return self.default_info()
        key = self.join("info")
        data = self.store.get(key)
        if not data:
            return self.default_info()
        try:
            info = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidInfoError(f"{self.meta.path}/{key} is not valid JSON: {err}") from None
        if not isinstance(info, dict):
            raise InvalidInfoError(f"{self.meta.path}/{key} must hold a JSON object")
        return info

    def refresh_info(self) -> dict[str, Any]:
        self.info = self.fetch_info()
        return self.info

    def commit_info(self) -> None:
        """Write ``info`` (uncompressed, ``no-cache``), dropping ``"sharding": null``
        as CloudVolume does."""
        info = copy.deepcopy(self.info)
        if info.get("sharding", 0) is None:
            info.pop("sharding")
        self.store.put(self.join("info"), jsonify(info, indent=2).encode(), _INFO_PUT)

    # --- settings ---------------------------------------------------------------------

    @property
    def mip(self) -> int | None:
        """The mip the objects were made from: ``info["mip"]``, else the ``_mip_N``
        in the directory name (Igneous' ``mesh_mip_3_err_40``), else ``None``."""
        if "mip" in self.info:
            return int(self.info["mip"])
        match = self.mip_pattern.search(self.path)
        return int(match.group(1)) if match else None

    @mip.setter
    def mip(self, value: int) -> None:
        self.info["mip"] = int(value)

    @property
    def chunk_size(self) -> Any:
        return self.info.get("chunk_size")

    @property
    def spatial_index(self) -> dict[str, Any] | None:
        """The ``spatial_index`` member (``{"resolution", "chunk_size"}``) or ``None``."""
        return self.info.get("spatial_index")

    def is_sharded(self) -> bool:
        return bool(self.info.get("sharding"))

    def sharding(self) -> ShardingSpecification:
        return ShardingSpecification.from_dict(self.info["sharding"])

    def compute_sharding_specification(
        self,
        num_labels: int,
        shard_index_bytes: int = 2**13,
        minishard_index_bytes: int = 2**15,
        min_shards: int = 1,
        minishard_index_encoding: str = "gzip",
        data_encoding: str = "gzip",
        max_labels_per_shard: int | None = None,
    ) -> ShardingSpecification:
        """A hashed sharding spec sized for ``num_labels`` objects (Igneous' rule)."""
        if max_labels_per_shard is not None:
            if max_labels_per_shard < 1:
                raise ValueError(f"max_labels_per_shard must be >= 1, got {max_labels_per_shard}")
            min_shards = max(int(np.ceil(num_labels / max_labels_per_shard)), min_shards)
        shard_bits, minishard_bits, preshift_bits = compute_shard_params_for_hashed(
            num_labels=num_labels,
            shard_index_bytes=int(shard_index_bytes),
            minishard_index_bytes=int(minishard_index_bytes),
            min_shards=int(min_shards),
        )
        return ShardingSpecification(
            type="neuroglancer_uint64_sharded_v1",
            preshift_bits=preshift_bits,
            hash="murmurhash3_x86_128",
            minishard_bits=minishard_bits,
            shard_bits=shard_bits,
            minishard_index_encoding=minishard_index_encoding,
            data_encoding=data_encoding,
        )

    def to_sharded(self, num_labels: int, **params: Any) -> None:
        """Put a computed sharding spec into ``info`` (in memory; ``commit_info`` saves)."""
        self.info["sharding"] = self.compute_sharding_specification(num_labels, **params).to_dict()

    def to_unsharded(self) -> None:
        self.info.pop("sharding", None)


class MeshDirMetadata(ObjectDirMetadata):
    """The mesh directory (``info["mesh"]``)."""

    layer_key = "mesh"
    default_dir = "mesh"
    mip_pattern = re.compile(r"mesh_mip_(\d+)")

    def default_info(self) -> dict[str, Any]:
        return {"@type": "neuroglancer_legacy_mesh", "spatial_index": None}

    @property
    def mesh_path(self) -> str:
        return self.path

    def to_sharded(self, num_labels: int, **params: Any) -> None:
        """As for any directory, but multi-resolution meshes default to
        ``data_encoding: raw`` (Neuroglancer reads their fragments by byte range and
        never decompresses them; CloudVolume's default, gzip, would be unreadable)."""
        if self.is_multires():
            params.setdefault("data_encoding", "raw")
        super().to_sharded(num_labels, **params)

    def is_multires(self) -> bool:
        return self.info.get("@type") == "neuroglancer_multilod_draco"

    def is_legacy(self) -> bool:
        return not self.is_multires()

    def transform(self) -> np.ndarray:
        """4×4 affine from stored vertex coordinates to nm (identity if unset)."""
        numbers = self.info.get("transform")
        if numbers is None:
            return np.eye(4)
        if len(numbers) != 12:
            raise InvalidInfoError(
                f"{self.layerpath}/info: transform must have 12 numbers, got {len(numbers)}"
            )
        return np.array([*numbers, 0, 0, 0, 1], dtype=np.float64).reshape(4, 4)

    def to_multi_resolution(self, vertex_quantization_bits: int) -> None:
        """Switch ``info`` to multi-resolution (in memory), as CloudVolume does."""
        if vertex_quantization_bits not in (10, 16):
            raise ValueError(
                f"vertex_quantization_bits must be 10 or 16, got {vertex_quantization_bits}"
            )
        res = self.meta.resolution(self.mip or 0)
        self.info["@type"] = "neuroglancer_multilod_draco"
        self.info["vertex_quantization_bits"] = vertex_quantization_bits
        self.info["transform"] = [res[0], 0, 0, 0, 0, res[1], 0, 0, 0, 0, res[2], 0]
        self.info["lod_scale_multiplier"] = 1.0

    def to_single_resolution(self) -> None:
        self.info["@type"] = "neuroglancer_legacy_mesh"
        for key in ("vertex_quantization_bits", "transform", "lod_scale_multiplier"):
            self.info.pop(key, None)


class SkeletonDirMetadata(ObjectDirMetadata):
    """The skeleton directory (``info["skeletons"]``)."""

    layer_key = "skeletons"
    default_dir = "skeletons"
    mip_pattern = re.compile(r"skeletons_mip_(\d+)")

    def default_info(self) -> dict[str, Any]:
        from cloudvol.precomputed.skeleton_format import default_skeleton_info

        return default_skeleton_info()

    @property
    def skeleton_path(self) -> str:
        return self.path

    @property
    def transform(self) -> np.ndarray:
        """3×4 float32 affine from stored vertices to nm."""
        return np.asarray(self.info["transform"], dtype=np.float32).reshape(3, 4)

    @transform.setter
    def transform(self, value: Any) -> None:
        self.info["transform"] = np.asarray(value, dtype=np.float64).reshape(-1).tolist()

    @property
    def vertex_attributes(self) -> list[dict[str, Any]]:
        return list(self.info.get("vertex_attributes", []))
