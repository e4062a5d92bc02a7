"""A layer's metadata: the live ``info`` dict and provenance, how to fetch and commit
them, and per-mip accessors (``vol.meta`` in CloudVolume terms)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from cloudvol import paths
from cloudvol.codecs import get_codec
from cloudvol.exceptions import (
    CyclicRedirect,
    EncodingError,
    InfoUnavailableError,
    InvalidInfoError,
    ScaleUnavailableError,
    TooManyRedirects,
    UnsupportedFormatError,
    WriteLockAcquisitionError,
)
from cloudvol.lib import Bbox, Vec
from cloudvol.precomputed import info as infomod
from cloudvol.precomputed.grid import ChunkGrid
from cloudvol.precomputed.info import ScaleGeometry
from cloudvol.precomputed.provenance import DataLayerProvenance, parse_provenance
from cloudvol.storage.base import PutOptions, Store

__all__ = ["PrecomputedMetadata"]

JSON_PUT = PutOptions(content_type="application/json", cache_control="no-cache")


class PrecomputedMetadata:
    """Info and provenance of one precomputed layer, with per-mip geometry.

    ``open_store`` maps a :class:`~cloudvol.paths.CloudPath` to a store; it is used
    again when a redirect moves the layer.
    """

    def __init__(
        self,
        cloudpath: paths.CloudPath,
        open_store: Callable[[paths.CloudPath], Store],
        info: dict[str, Any] | None = None,
        provenance: Any = None,
        max_redirects: int = 10,
        use_https: bool = False,
    ) -> None:
        self.path = cloudpath
        self._open_store = open_store
        self.store = open_store(cloudpath)
        self.use_https = use_https
        self.redirected_from: list[paths.CloudPath] = []
        if info is None:
            self.info = self.redirectable_fetch_info(max_redirects)
        else:
            infomod.validate_info(info, where=f"info given for {self.path}")
            self.info = info
        if provenance is None:
            self.provenance = self.fetch_provenance()
        else:
            self.provenance = parse_provenance(provenance)

    # --- info IO ---------------------------------------------------------

    @property
    def infopath(self) -> str:
        return f"{self.path}/info"

    def fetch_info(self) -> dict[str, Any]:
        """Fetch and validate ``info`` from storage (no redirects)."""
        data = self.store.get("info")
        if data is None:
            raise InfoUnavailableError(f"No info file was found at {self.infopath}")
        try:
            info = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidInfoError(f"{self.infopath} is not valid JSON: {err}") from None
        infomod.validate_info(info, where=self.infopath)
        return info

    def redirectable_fetch_info(self, max_redirects: int = 10) -> dict[str, Any]:
        """Fetch ``info``, following ``info['redirect']`` up to ``max_redirects`` hops."""
        if max_redirects <= 0:
            return self.fetch_info()
        visited: list[paths.CloudPath] = []
        start = self.path
        for _ in range(max_redirects):
            info = self.fetch_info()
            target = info.get("redirect")
            if not target:
                break
            dest = paths.parse(str(target), use_https=self.use_https)
            if dest == self.path:
                break
            if dest in visited or dest == start:
                hops = "\n".join(f"  {i + 1}. {v}" for i, v in enumerate(visited))
                raise CyclicRedirect(f"Redirects from {start} loop back to {dest}:\n{hops}")
            visited.append(dest)
            self.path = dest
            self.store = self._open_store(dest)
        else:
            raise TooManyRedirects(f"{start}: followed more than {max_redirects} redirects")
        self.redirected_from = [start, *visited[:-1]] if visited else []
        return info

    def refresh_info(self, max_redirects: int = 10) -> dict[str, Any]:
        self.info = self.redirectable_fetch_info(max_redirects)
        return self.info

    def commit_info(self) -> None:
        """Validate and write ``info`` (sorted keys, indent 2, ``no-cache``)."""
        infomod.validate_info(self.info, where=self.infopath)
        for i, scale in enumerate(self.scales):
            encoding = scale.get("encoding")
            if (
                encoding == "compressed_segmentation"
                and "compressed_segmentation_block_size" not in scale
            ):
                raise KeyError(
                    f"scales[{i}]: 'compressed_segmentation_block_size' must be set when "
                    f"the encoding is compressed_segmentation (typically [8, 8, 8])"
                )
            self._check_encoding(i, encoding)
        self.store.put("info", infomod.dumps_info(self.info), JSON_PUT)

    def _check_encoding(self, i: int, encoding: Any) -> None:
        """``InvalidInfoError`` if scale ``i``'s encoding cannot hold the layer's dtype
        and channels (float32 as jpeg…), so a layer no write could fill is never
        committed. Encodings cloudvol does not know are left to their readers."""
        try:
            codec = get_codec(str(encoding))
        except UnsupportedFormatError:
            return
        try:
            codec.check(np.dtype(self.data_type), self.num_channels)
        except EncodingError as err:
            raise InvalidInfoError(f"{self.infopath}: scales[{i}]: {err}") from None

    def fetch_provenance(self) -> DataLayerProvenance:
        data = self.store.get("provenance")
        if not data:
            return parse_provenance({})
        return parse_provenance(data)

    def refresh_provenance(self) -> DataLayerProvenance:
        self.provenance = self.fetch_provenance()
        return self.provenance

    def commit_provenance(self) -> None:
        prov = json.loads(self.provenance.serialize())
        self.store.put("provenance", infomod.dumps_info(prov), JSON_PUT)

    # --- layer-wide properties --------------------------------------------

    @property
    def scales(self) -> list[dict[str, Any]]:
        return self.info["scales"]

    @property
    def available_mips(self) -> range:
        return range(len(self.scales))

    @property
    def available_resolutions(self) -> Iterable[Vec]:
        return (self.resolution(mip) for mip in self.available_mips)

    @property
    def num_channels(self) -> int:
        return int(self.info["num_channels"])

    @property
    def layer_type(self) -> str:
        return self.info.get("type", "image")

    @property
    def data_type(self) -> str:
        return self.info["data_type"]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data_type)

    def to_mip(self, mip: Any) -> int:
        """A mip index from an int (negative counts from the end) or a resolution."""
        try:
            if isinstance(mip, Iterable) and not isinstance(mip, str):
                target = [float(r) for r in mip]
                return next(
                    i for i, s in enumerate(self.scales)
                    if [float(r) for r in s["resolution"]] == target
                )  # fmt: skip
            return self.available_mips[int(mip)]
        except (StopIteration, IndexError, TypeError, ValueError):
            resolutions = ", ".join(
                "<" + ",".join(str(r) for r in s["resolution"]) + ">" for s in self.scales
            )
            raise ScaleUnavailableError(
                f"{self.path}: mip {mip!r} not found. {len(self.scales)} available: {resolutions}"
            ) from None

    # --- per-mip geometry ----------------------------------------------------

    def scale(self, mip: int) -> dict[str, Any]:
        return self.scales[mip]

    def geometry(self, mip: int) -> ScaleGeometry:
        return ScaleGeometry.from_scale(self.scales[mip])

    def grid(self, mip: int) -> ChunkGrid:
        return ChunkGrid(self.geometry(mip))

    def key(self, mip: int) -> str:
        return self.scales[mip]["key"]

    def voxel_offset(self, mip: int) -> Vec:
        return Vec(*self.scales[mip].get("voxel_offset", (0, 0, 0)), dtype=int)

    def volume_size(self, mip: int) -> Vec:
        return Vec(*self.scales[mip]["size"], dtype=int)

    def shape(self, mip: int) -> tuple:
        size = self.volume_size(mip)
        return (size[0], size[1], size[2], np.int64(self.num_channels))

    def resolution(self, mip: int) -> Vec:
        res = self.scales[mip]["resolution"]
        dtype = (
            float if any(isinstance(r, float) and not float(r).is_integer() for r in res) else int
        )
        return Vec(*res, dtype=dtype)

    def downsample_ratio(self, mip: int) -> Vec:
        return Vec(*(np.asarray(self.scales[mip]["resolution"], dtype=float)
                     / np.asarray(self.scales[0]["resolution"], dtype=float)), dtype=float)  # fmt: skip

    def chunk_size(self, mip: int) -> Vec:
        return Vec(*self.scales[mip]["chunk_sizes"][0], dtype=int)

    def encoding(self, mip: int) -> str:
        return self.scales[mip]["encoding"]

    def compressed_segmentation_block_size(self, mip: int) -> Any:
        return self.scales[mip].get("compressed_segmentation_block_size")

    def bounds(self, mip: int) -> Bbox:
        offset = self.voxel_offset(mip)
        return Bbox(offset, offset + self.volume_size(mip))

    def bbox(self, mip: int) -> Bbox:
        """Bounds with a 4th (channel) axis ``[0, num_channels)``."""
        bounds = self.bounds(mip)
        return Bbox([*bounds.minpt, 0], [*bounds.maxpt, self.num_channels])

    def is_sharded(self, mip: int) -> bool:
        return bool(self.scales[mip].get("sharding"))

    def points_to_mip(self, pts: Any, mip: int, to_mip: int) -> np.ndarray:
        """``floor(pts * res(mip) / res(to_mip))`` for an ``(n, 3)`` array, with the
        ratio in float32 as CloudVolume computes it (so both pick the same voxel)."""
        ratio = np.asarray(self.resolution(mip), dtype=np.float32) / np.asarray(
            self.resolution(to_mip), dtype=np.float32
        )
        return np.floor(np.asarray(pts) * ratio).astype(np.int64)

    def point_to_mip(self, pt: Any, mip: int, to_mip: int) -> Vec:
        return Vec(*self.points_to_mip(pt, mip, to_mip), dtype=np.int64)

    def bbox_to_mip(self, bbox: Any, mip: int, to_mip: int) -> Bbox:
        """Convert a box between mips one level at a time: floor the min, ceil the max."""
        box = Bbox.create(bbox, self.bounds(mip))
        dtype = box.dtype
        step = 1 if to_mip >= mip else -1
        while mip != to_mip:
            ratio = np.asarray(self.resolution(mip), dtype=np.float32) / np.asarray(
                self.resolution(mip + step), dtype=np.float32
            )
            lo = np.floor(np.asarray(box.minpt, dtype=np.float64) * ratio)
            hi = np.ceil(np.asarray(box.maxpt, dtype=np.float64) * ratio)
            box = Bbox(lo, hi, dtype=dtype)
            mip += step
        return box

    # --- write locks ---------------------------------------------------------

    def locked_mips(self) -> set[int]:
        return {i for i, s in enumerate(self.scales) if s.get("locked")}

    def _set_lock(self, mips: Any, value: bool) -> None:
        mips = [mips] if isinstance(mips, int) else list(mips)
        if max(mips) > max(self.available_mips):
            raise ValueError(
                f"Cannot lock mip {max(mips)}: the highest mip is {max(self.available_mips)}"
            )
        try:
            self.info = self.fetch_info()
            for mip in mips:
                if value:
                    self.scales[mip]["locked"] = True
                else:
                    self.scales[mip].pop("locked", None)
            self.commit_info()
        except (OSError, InfoUnavailableError) as err:
            raise WriteLockAcquisitionError(
                f"Unable to change the write lock on mips {mips}: {err}"
            ) from err

    def lock_mips(self, mips: Any) -> None:
        """Mark ``mips`` read-only in the stored info."""
        self._set_lock(mips, True)

    def unlock_mips(self, mips: Any) -> None:
        self._set_lock(mips, False)
