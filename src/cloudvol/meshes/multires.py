"""Reading multi-resolution (``neuroglancer_multilod_draco``) meshes, unsharded or
sharded, fetching only the manifests and then only the byte ranges of the chosen
level of detail (LOD).

Unsharded: ``{mesh_dir}/{segid}.index`` holds the manifest and ``{mesh_dir}/{segid}``
the fragments of every LOD, LOD 0 first; both are fetched in one batch each (manifests
with ``get_many``, fragment ranges with ``get_ranges``), so the fragment files must be
stored without transport compression.

Sharded (key = segid): each item is ``fragment data ‖ manifest`` and the minishard
index points at the manifest only; the fragments sit right before it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from cloudvol.exceptions import (
    DecodingError,
    EmptyFileException,
    MeshDecodeError,
    MeshMissingError,
    ReadOnlyException,
    StorageError,
    UnsupportedFormatError,
)
from cloudvol.geometry.mesh import Mesh
from cloudvol.lib.bbox import Bbox
from cloudvol.meshes.common import segid_list
from cloudvol.precomputed.multires_mesh import (
    MultiLevelPrecomputedMeshManifest,
    apply_transform,
    decode_fragment,
    require_raw_fragments,
    validate_multires_info,
)
from cloudvol.storage.base import ByteRange, Store
from cloudvol.volume.progress import chunk_progress
from cloudvol.volume.shard_reader import ItemLocation, ShardedKeyReader, ShardIndexCache

__all__ = ["MultiresMeshSource"]

Manifest = MultiLevelPrecomputedMeshManifest


def _runs(ranges: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous ``[start, end)`` runs covering the given fragment ranges."""
    runs: list[tuple[int, int]] = []
    for start, end in ranges.tolist():
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


class MultiresMeshSource:
    """The multi-resolution meshes of one mesh directory.

    ``store`` is rooted at the layer; ``mesh_dir`` is the mesh directory relative to
    it (``info['mesh']``, usually ``"mesh"``); ``info`` is that directory's ``info``
    (validated here). ``transform`` (4x4, stored model -> nm) starts as the info's
    and may be replaced; it is applied on every :meth:`get`.
    """

    def __init__(
        self,
        store: Store,
        mesh_dir: str,
        info: Mapping[str, Any],
        *,
        cache: ShardIndexCache | None = None,
        progress: bool = False,
        meta: Any = None,
        spatial_index: Any = None,
    ) -> None:
        #: the mesh directory's metadata (``vol.mesh.meta``) when opened through a volume
        self.meta = meta
        self.spatial_index = spatial_index
        self.store = store
        self.mesh_dir = mesh_dir.strip("/")
        #: a copy of the info this source was built from (see ``is_current``)
        self.opened_info = copy.deepcopy(dict(info))
        self.info = self.opened_info
        self.multires_info = validate_multires_info(info, where=self._where(self._key("info")))
        self.vertex_quantization_bits = self.multires_info.vertex_quantization_bits
        self.lod_scale_multiplier = self.multires_info.lod_scale_multiplier
        self.transform = self.multires_info.transform_matrix
        self.spec = self.multires_info.sharding
        self.reader = (
            None if self.spec is None else ShardedKeyReader(store, self.mesh_dir, self.spec, cache)
        )
        self.progress = progress

    @property
    def path(self) -> str:
        """The mesh directory, relative to the layer."""
        return self.mesh_dir

    def is_sharded(self) -> bool:
        return self.spec is not None

    def is_current(self) -> bool:
        """Whether the directory metadata's info (when opened through a volume)
        still equals the info this source was built from."""
        return self.meta is None or self.opened_info == self.meta.info

    def _key(self, name: str) -> str:
        return f"{self.mesh_dir}/{name}" if self.mesh_dir else name

    def _where(self, key: str) -> str:
        return f"{self.store.url}/{key}"

    # --- manifests ------------------------------------------------------------------

    def get_manifest(self, segid: int) -> Manifest | None:
        """The manifest of one segment, or ``None`` if it has no mesh."""
        return self.get_manifests([segid])[int(segid)]

    def get_manifests(self, segids: int | Iterable[int]) -> dict[int, Manifest | None]:
        """``{segid: manifest or None}`` in one batch of reads (sharded: the index
        lookups, then one batch of ranged reads). A sharded manifest records its
        shard file in ``path`` and its absolute offset there in ``shard_offset``;
        an unsharded one its fragment data file in ``path``."""
        ids = segid_list(segids)
        if self.reader is None:
            return self._unsharded_manifests(ids)
        return self._sharded_manifests(ids)

    def _unsharded_manifests(self, ids: list[int]) -> dict[int, Manifest | None]:
        keys = {sid: self._key(f"{sid}.index") for sid in ids}
        got = self.store.get_many(keys.values())
        out: dict[int, Manifest | None] = {}
        for sid, key in keys.items():
            data = got.get(key)
            out[sid] = (
                None
                if data is None
                else Manifest.from_binary(
                    data, segment_id=sid, path=self._key(str(sid)), where=self._where(key)
                )
            )
        return out

    def _sharded_manifests(self, ids: list[int]) -> dict[int, Manifest | None]:
        assert self.reader is not None and self.spec is not None
        require_raw_fragments(self.spec, self._where(self._key("info")))
        reader = self.reader

        def describe(k: int) -> str:
            return f"the mesh manifest of segment {k}"

        out: dict[int, Manifest | None] = dict.fromkeys(ids)
        if not ids:
            return out
        shards, minis = self.spec.locate(np.asarray(ids, dtype=np.uint64))
        try:
            locations = reader.locate(ids, shards.tolist(), minis.tolist(), describe)
            present = [(k, loc) for k, loc in zip(ids, locations, strict=True) if loc is not None]
            datas = reader.read([loc for _, loc in present], [k for k, _ in present], describe)
        except DecodingError as err:
            raise MeshDecodeError(str(err)) from None
        head = self.spec.index_length()
        for (sid, loc), data in zip(present, datas, strict=True):
            where = f"{reader.where(loc.shard_key)} (segment {sid})"
            manifest = Manifest.from_binary(
                data, segment_id=sid, shard_offset=loc.start, path=loc.shard_key, where=where
            )
            if loc.start - manifest.data_length < head:
                raise MeshDecodeError(
                    f"{where}: the manifest at byte {loc.start} promises "
                    f"{manifest.data_length} bytes of fragments before it, but only "
                    f"{loc.start - head} bytes follow the shard index (corrupt shard)"
                )
            out[sid] = manifest
        return out

    def exists(self, segids: int | Iterable[int]) -> dict[str, str | None] | list[Manifest | None]:
        """Unsharded: ``{str(segid): manifest key or None}`` (string keys, like the
        legacy source). Sharded: a list of manifests (``None`` where absent), in
        the order given, as CloudVolume returns."""
        ids = segid_list(segids)
        if self.reader is None:
            keys = {sid: self._key(f"{sid}.index") for sid in ids}
            there = self.store.exists_many(keys.values())
            return {str(sid): (key if there.get(key) else None) for sid, key in keys.items()}
        manifests = self._sharded_manifests(ids)
        return [manifests[sid] for sid in ids]

    def _manifest_home(self, segid: int) -> str:
        """The key of the file that would hold ``segid``'s manifest."""
        if self.reader is None or self.spec is None:
            return self._key(f"{segid}.index")
        return self.reader.shard_key(self.spec.locate_one(segid)[0])

    # --- meshes ---------------------------------------------------------------------

    def _resolve_lod(self, manifest: Manifest, lod: int) -> int:
        if lod < -1 or lod >= manifest.num_lods:
            raise MeshDecodeError(
                f"{self._where(manifest.path or self.mesh_dir)}: LOD {lod} is out of range "
                f"(-1 to {manifest.num_lods - 1}) for segment {manifest.segment_id}"
            )
        return manifest.num_lods - 1 if lod == -1 else lod

    def _selected(self, manifest: Manifest, lod: int, bbox: Any) -> np.ndarray:
        """Indices of the non-empty fragments of ``lod`` whose node box (nm, after the
        transform) touches ``bbox``."""
        sizes = manifest.fragment_sizes(lod)
        keep = sizes > 0
        if bbox is not None and len(sizes):
            lo_nm, hi_nm = _bbox_corners(bbox)
            lo, hi = manifest.node_bounds(lod)
            node_lo, node_hi = _transformed_boxes(lo, hi, self.transform)
            keep &= np.all((node_lo <= hi_nm) & (node_hi >= lo_nm), axis=1)
        return np.flatnonzero(keep)

    def get(
        self,
        segids: int | Iterable[int],
        lod: int = 0,
        concat: bool = True,
        progress: bool | None = None,
        bbox: Bbox | Sequence[Any] | None = None,
        allow_missing: bool = False,
    ) -> dict[int, Any]:
        """Meshes of ``segids`` at level of detail ``lod`` (0 finest, -1 the coarsest
        each segment has), vertices in nm (stored model through ``transform``).

        Returns ``{segid: Mesh}``, or ``{segid: [Mesh per fragment]}`` with
        ``concat=False`` (manifest order, empty fragments skipped). ``bbox`` (nm,
        a :class:`Bbox` or ``(min xyz, max xyz)``) keeps only fragments whose node box
        touches it, and only their bytes are fetched. A segment without a manifest
        raises :class:`MeshMissingError` (skipped with ``allow_missing``); an LOD
        outside ``-1 .. num_lods - 1`` or bad bytes raise :class:`MeshDecodeError`.
        """
        ids = segid_list(segids)
        manifests = self.get_manifests(ids)
        plans: dict[int, tuple[Manifest, int, np.ndarray]] = {}
        for sid in ids:
            manifest = manifests[sid]
            if manifest is None:
                if allow_missing:
                    continue
                raise MeshMissingError(
                    f"{self._where(self._manifest_home(sid))}: no multi-resolution mesh "
                    f"manifest for segment {sid}"
                )
            chosen = self._resolve_lod(manifest, int(lod))
            plans[sid] = (manifest, chosen, self._selected(manifest, chosen, bbox))

        fragments = self._fetch_fragments(plans)
        show = self.progress if progress is None else bool(progress)
        out: dict[int, Any] = {}
        with chunk_progress(show, len(plans), "Decoding meshes") as tick:
            for sid, (manifest, chosen, selected) in plans.items():
                where = self._where(manifest.path or self.mesh_dir)
                meshes = []
                for frag, data in zip(selected.tolist(), fragments[sid], strict=True):
                    try:
                        vertices, faces = decode_fragment(
                            data,
                            manifest,
                            chosen,
                            frag,
                            self.vertex_quantization_bits,
                            self.transform,
                            where=where,
                        )
                    except MeshDecodeError as err:
                        if self.reader is not None:
                            raise
                        raise MeshDecodeError(
                            f"{err} (fragment files are read by byte range, so they must be "
                            f"stored without transport compression)"
                        ) from None
                    meshes.append(Mesh(vertices, faces, segid=sid, encoding_type="draco"))
                out[sid] = meshes if not concat else _concatenate(meshes, sid)
                tick()
        return out

    def get_bbox(self, bbox: Any, lod: int = 0) -> dict[int, Any]:
        """``{segid: Mesh}`` at ``lod`` of every segid the spatial index finds in
        ``bbox`` (nm), restricted to the fragments that touch the box."""
        if self.spatial_index is None:
            raise IndexError(f"{self._where(self.mesh_dir)} has no spatial index")
        return self.get(sorted(self.spatial_index.query(bbox)), lod=lod, bbox=bbox)

    #: the name the spatial-index lookup goes by in some CloudVolume docs
    get_by_bbox = get_bbox

    def save(
        self, segids: int | Iterable[int], filepath: Any = None, file_format: str = "ply",
        lod: int = 0,
    ) -> None:  # fmt: skip
        """Write each segid's mesh at ``lod`` as ``ply``, ``obj`` or ``precomputed``:
        to ``filepath`` (a path or binary file object) or ``{segid}.{fmt}``."""
        from cloudvol.meshes.legacy import MESH_ENCODERS, write_file

        if file_format not in MESH_ENCODERS:
            raise ValueError(
                f"file_format must be one of {sorted(MESH_ENCODERS)}, got {file_format!r}"
            )
        for sid, mesh in self.get(segids, lod=lod).items():
            write_file(bytes(MESH_ENCODERS[file_format](mesh)), filepath, [sid], file_format)

    def delete(self, segids: int | Iterable[int]) -> None:
        """Remove the manifest and fragment files of each segid (unsharded only: a
        shard file can only be rewritten whole)."""
        if self.reader is not None:
            raise UnsupportedFormatError(
                f"{self._where(self.mesh_dir)}: meshes cannot be deleted from shard files; "
                "rewrite the shards without them"
            )
        if self.meta is not None and self.meta.readonly:
            raise ReadOnlyException(f"{self._where(self.mesh_dir)} is read-only")
        ids = segid_list(segids)
        self.store.delete_many([self._key(n) for sid in ids for n in (f"{sid}.index", str(sid))])

    def put(self, meshes: Any, *args: Any, **kwargs: Any) -> None:
        """Multi-resolution meshes are made by Igneous (octree, Draco per node); cloudvol,
        like CloudVolume, writes only legacy meshes."""
        raise UnsupportedFormatError(
            f"{self._where(self.mesh_dir)}: writing multi-resolution meshes is not "
            "supported; write legacy meshes (vol.mesh.meta.to_single_resolution()) or "
            "build multi-resolution ones with Igneous"
        )

    def to_sharded(self, num_labels: int, **params: Any) -> None:
        """Put a sharding spec into the mesh info (in memory; ``meta.commit_info``)."""
        self._require_meta().to_sharded(num_labels, **params)

    def to_unsharded(self) -> None:
        self._require_meta().to_unsharded()

    def _require_meta(self) -> Any:
        if self.meta is None:
            raise ValueError("this source was opened without its mesh directory metadata")
        return self.meta

    def _fetch_fragments(
        self, plans: Mapping[int, tuple[Manifest, int, np.ndarray]]
    ) -> dict[int, list[bytes]]:
        """Bytes of the selected fragments of each segment: one batch of ranged reads,
        contiguous fragments read as one range."""
        wanted: list[tuple[int, int, int]] = []  # (segid, start, end) relative to the data
        for sid, (manifest, lod, selected) in plans.items():
            spans = manifest.fragment_byte_ranges(lod)[selected]
            wanted.extend((sid, start, end) for start, end in _runs(spans))
        blobs = (
            self._read_unsharded(wanted)
            if self.reader is None
            else self._read_sharded(wanted, plans)
        )
        pieces: dict[tuple[int, int], bytes] = {}
        for (sid, start, _), blob in zip(wanted, blobs, strict=True):
            pieces[(sid, start)] = blob
        out: dict[int, list[bytes]] = {}
        for sid, (manifest, lod, selected) in plans.items():
            spans = manifest.fragment_byte_ranges(lod)[selected]
            frags: list[bytes] = []
            run_start, blob = -1, b""
            for start, end in spans.tolist():
                if (sid, start) in pieces:
                    run_start, blob = start, pieces[(sid, start)]
                frags.append(blob[start - run_start : end - run_start])
            out[sid] = frags
        return out

    def _read_unsharded(self, wanted: Sequence[tuple[int, int, int]]) -> list[bytes]:
        ranges = [ByteRange(self._key(str(sid)), start, end) for sid, start, end in wanted]
        if not ranges:
            return []
        try:
            blobs = list(self.store.get_ranges(ranges))
        except (EmptyFileException, StorageError):
            self._explain_failed_ranges(ranges, wanted)
            raise
        for (sid, start, end), r, blob in zip(wanted, ranges, blobs, strict=True):
            if len(blob) != end - start:
                raise MeshDecodeError(
                    f"{self._where(r.key)}: the fragment data of segment {sid} should hold bytes "
                    f"{start}-{end} but the file is {self.store.size(r.key)} bytes "
                    f"(truncated, or stored with transport compression)"
                )
        return blobs

    def _explain_failed_ranges(
        self, ranges: Sequence[ByteRange], wanted: Sequence[tuple[int, int, int]]
    ) -> None:
        """After a failed batch, raise the error naming the segment whose data file
        is missing (:class:`MeshMissingError`) or too short (:class:`MeshDecodeError`)."""
        sizes = {r.key: self.store.size(r.key) for r in ranges}
        for (sid, start, end), r in zip(wanted, ranges, strict=True):
            size = sizes[r.key]
            if size is None:
                raise MeshMissingError(
                    f"{self._where(r.key)}: the fragment data of segment {sid} is missing "
                    f"(its manifest exists)"
                )
            if end > size:
                raise MeshDecodeError(
                    f"{self._where(r.key)}: the fragment data of segment {sid} should hold "
                    f"bytes {start}-{end} but the file is {size} bytes (truncated)"
                )

    def _read_sharded(
        self,
        wanted: Sequence[tuple[int, int, int]],
        plans: Mapping[int, tuple[Manifest, int, np.ndarray]],
    ) -> list[bytes]:
        assert self.reader is not None
        locations: list[ItemLocation] = []
        for sid, start, end in wanted:
            manifest = plans[sid][0]
            data_start = manifest.shard_offset - manifest.data_length
            assert manifest.path is not None
            locations.append(ItemLocation(manifest.path, data_start + start, end - start))
        try:
            return self.reader.read(
                locations,
                [sid for sid, _, _ in wanted],
                lambda k: f"the mesh fragments of segment {k}",
            )
        except DecodingError as err:
            raise MeshDecodeError(str(err)) from None


def _concatenate(meshes: list[Mesh], segid: int) -> Mesh:
    if not meshes:
        return Mesh(
            np.zeros((0, 3), dtype=np.float32),
            np.zeros((0, 3), dtype=np.uint32),
            segid=segid,
            encoding_type="draco",
        )
    return Mesh.concatenate(*meshes, segid=segid)


def _bbox_corners(bbox: Bbox | Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(bbox, Bbox):
        return np.asarray(bbox.minpt, dtype=np.float64), np.asarray(bbox.maxpt, dtype=np.float64)
    corners = np.asarray(bbox, dtype=np.float64).reshape(2, 3)
    return corners.min(axis=0), corners.max(axis=0)


def _transformed_boxes(
    lo: np.ndarray, hi: np.ndarray, transform: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds of boxes ``[lo, hi)`` (``n x 3``) after an affine: the
    extremes of their eight corners."""
    corners = np.stack(
        [np.where([bx, by, bz], hi, lo) for bx in (0, 1) for by in (0, 1) for bz in (0, 1)]
    )  # 8 x n x 3
    moved = apply_transform(corners, transform)
    return moved.min(axis=0), moved.max(axis=0)
