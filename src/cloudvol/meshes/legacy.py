"""Legacy (single-resolution) meshes: ``{segid}:0`` manifests naming fragment files.

Reads are two batched rounds: every manifest, then every fragment they name. A
fragment is the precomputed triangle soup of :meth:`Mesh.from_precomputed`;
CloudVolume gzips fragments at rest and leaves manifests plain, and so does
:meth:`LegacyMeshSource.put`.
"""

from __future__ import annotations

import copy
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import IO, Any

import numpy as np

from cloudvol.exceptions import MeshDecodeError, ScaleUnavailableError
from cloudvol.geometry.mesh import Mesh
from cloudvol.meshes.common import ObjectSource, apply_transform, segid_list
from cloudvol.precomputed.object_dirs import MeshDirMetadata
from cloudvol.storage.base import PutOptions
from cloudvol.volume.progress import chunk_progress

__all__ = ["LegacyMeshSource"]

_MANIFEST_PUT = PutOptions(content_type="application/json")
#: ``save``'s file formats
MESH_ENCODERS = {"ply": Mesh.to_ply, "obj": Mesh.to_obj, "precomputed": Mesh.to_precomputed}


class LegacyMeshSource(ObjectSource):
    """``vol.mesh`` for legacy meshes (``neuroglancer_legacy_mesh`` or no mesh info).

    ``transform`` (4×4, from the mesh info's 12 numbers or identity) maps stored
    vertices to nm and is applied on every :meth:`get`; users may replace it.
    """

    meta: MeshDirMetadata

    def __init__(
        self,
        meta: MeshDirMetadata,
        progress: bool = False,
        spatial_index: Any = None,
        volume_mip: Callable[[], int] = lambda: 0,
    ) -> None:
        self.meta = meta
        self.opened_info = copy.deepcopy(meta.info)
        self.progress = progress
        self.transform = meta.transform()
        self.spatial_index = spatial_index
        #: the volume's current mip, which CloudVolume uses for ``get(chunk_size=…)``
        #: when the mesh info names no mip
        self.volume_mip = volume_mip

    def manifest_path(self, segid: int) -> str:
        return self.meta.join(f"{int(segid)}:0")

    # --- reading --------------------------------------------------------------------

    def _get_manifests(
        self, segids: Any, allow_missing: bool = False
    ) -> dict[int, list[str] | None]:
        """``{segid: fragment names}`` (``None`` for a missing manifest when
        ``allow_missing``, else ``ValueError`` naming the missing segids)."""
        ids = segid_list(segids)
        keys = {segid: self.manifest_path(segid) for segid in ids}
        found = self.meta.store.get_many(keys.values())
        out: dict[int, list[str] | None] = {}
        missing: list[int] = []
        for segid, key in keys.items():
            data = found.get(key)
            if data is None:
                missing.append(segid)
                out[segid] = None
                continue
            out[segid] = self._parse_manifest(segid, key, data)
        if missing and not allow_missing:
            names = ", ".join(str(s) for s in missing)
            raise ValueError(
                f"Segment ID(s) {names} are missing corresponding mesh manifests in "
                f"{self.meta.layerpath}."
            )
        return out

    def _parse_manifest(self, segid: int, key: str, data: bytes) -> list[str]:
        where = f"{self.meta.meta.path}/{key}"
        try:
            manifest = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise MeshDecodeError(f"segid {segid}: manifest {where} is not JSON: {err}") from None
        fragments = manifest.get("fragments") if isinstance(manifest, dict) else None
        if not isinstance(fragments, list) or not all(isinstance(f, str) for f in fragments):
            raise MeshDecodeError(
                f'segid {segid}: manifest {where} needs "fragments": a list of file names'
            )
        for name in fragments:
            if not _is_safe_fragment_name(name):
                # Names are joined under the mesh directory: "..", absolute paths or
                # URLs would read (or, through put/delete, remove) files elsewhere.
                raise MeshDecodeError(
                    f"segid {segid}: manifest {where} names fragment {name!r}, which is not "
                    f"a file inside the mesh directory"
                )
        return fragments

    def _fetch_fragments(self, manifests: dict[int, list[str] | None]) -> dict[int, list[Mesh]]:
        """Decoded fragments per segid, each segid's in file-name order."""
        owner: dict[str, int] = {}
        for segid, names in manifests.items():
            for name in names or ():
                owner[self.meta.join(name)] = segid
        datas = self.meta.store.get_many(owner)
        per_segid: dict[int, list[Mesh]] = defaultdict(list)
        with chunk_progress(self.progress, len(owner), "Decoding mesh fragments") as tick:
            for key in sorted(owner):  # deterministic concatenation order, as CloudVolume
                segid, data = owner[key], datas.get(key)
                if data is None:
                    raise MeshDecodeError(
                        f"segid {segid}: fragment {self.meta.meta.path}/{key} named by its "
                        f"manifest is missing"
                    )
                try:
                    per_segid[segid].append(Mesh.from_precomputed(data, segid=segid))
                except MeshDecodeError as err:
                    raise MeshDecodeError(f"{self.meta.meta.path}/{key}: {err}") from None
                tick()
        return per_segid

    def get(
        self,
        segids: Any,
        remove_duplicate_vertices: bool = True,
        fuse: bool = True,
        chunk_size: Any = None,
    ) -> Mesh | dict[int, Mesh]:
        """Meshes of ``segids`` (int or iterable), vertices in nm.

        ``fuse=True``: one Mesh of every fragment (segids ascending), with duplicate
        vertices merged (only on chunk planes when ``chunk_size``, in voxels of the
        mesh mip, is given). ``fuse=False``: ``{segid: Mesh}``, unconsolidated.
        A missing manifest raises ``ValueError`` naming the segids.
        """
        ids = segid_list(segids)
        per_segid = self._fetch_fragments(self._get_manifests(ids))
        if not fuse:
            out = {}
            for segid in ids:
                mesh = Mesh.concatenate(*per_segid.get(segid, []), segid=segid)
                mesh.vertices = apply_transform(mesh.vertices, self.transform)
                out[segid] = mesh
            return out
        pieces = [m for segid in sorted(per_segid) for m in per_segid[segid]]
        mesh = Mesh.concatenate(*pieces)
        mesh.vertices = apply_transform(mesh.vertices, self.transform)
        if not remove_duplicate_vertices:
            return mesh
        if not chunk_size:
            return mesh.consolidate()
        layer = self.meta.meta
        mip = self.meta.mip if self.meta.mip is not None else self.volume_mip()
        if mip not in layer.available_mips:
            raise ScaleUnavailableError(f"mip {mip} is not available in {layer.path}")
        resolution = layer.resolution(mip)
        return mesh.deduplicate_chunk_boundaries(
            np.asarray(chunk_size) * resolution,
            is_draco=False,
            offset=layer.voxel_offset(mip) * resolution,
        )

    def exists(self, segids: Any, progress: Any = None) -> dict[str, str | None]:
        """``{str(segid): manifest key or None}`` (string keys, like CloudVolume);
        ``progress`` is accepted for CloudVolume's signature (one batched check)."""
        ids = segid_list(segids)
        keys = [self.manifest_path(s) for s in ids]
        there = self.meta.store.exists_many(keys)
        return {str(s): (k if there[k] else None) for s, k in zip(ids, keys, strict=True)}

    def get_bbox(self, bbox: Any) -> dict[int, Mesh]:
        """``{segid: Mesh}`` of every segid the spatial index finds in ``bbox`` (nm)."""
        if self.spatial_index is None:
            raise IndexError(f"{self.meta.layerpath} has no spatial index")
        return self.get(sorted(self.spatial_index.query(bbox)), fuse=False)  # type: ignore[return-value]

    #: the name the spatial-index lookup goes by in some CloudVolume docs
    get_by_bbox = get_bbox

    def save(
        self, segids: Any, filepath: str | os.PathLike | IO[bytes] | None = None,
        file_format: str = "ply",
    ) -> None:  # fmt: skip
        """Write the fused mesh of ``segids`` as ``ply``, ``obj`` or ``precomputed``
        (default name ``{segid}.{fmt}`` or ``{first}_{last}.{fmt}``)."""
        ids = segid_list(segids)
        if file_format not in MESH_ENCODERS:
            raise ValueError(
                f"file_format must be one of {sorted(MESH_ENCODERS)}, got {file_format!r}"
            )
        mesh = self.get(ids, fuse=True, remove_duplicate_vertices=True)
        data = bytes(MESH_ENCODERS[file_format](mesh))  # type: ignore[arg-type]
        write_file(data, filepath, ids, file_format)

    # --- writing ----------------------------------------------------------------------

    def put(
        self,
        meshes: Mesh | Iterable[Mesh],
        batch_size: int = 200,
        compress: Any = "gzip",
        compression_level: int = 6,
        cdn_cache: str | None = None,
        skip_delete: bool = False,
    ) -> None:
        """Write each mesh as fragment ``{segid}:0:1`` (gzipped by default) and manifest
        ``{segid}:0``; then, unless ``skip_delete``, delete the fragments the segid's
        previous manifest named. Every mesh is encoded before its batch is stored,
        and the previous mesh stays readable until the new one is in place."""
        from cloudvol.storage.compression import normalize_compress

        self._check_writable()
        items = [meshes] if isinstance(meshes, Mesh) else list(meshes)
        for mesh in items:
            if mesh.segid is None:
                raise ValueError("every mesh to put needs a segid")
        options = PutOptions(
            compress=normalize_compress(compress),
            level=compression_level,
            content_type="application/octet-stream",
            cache_control=cdn_cache,
        )
        size = max(1, int(batch_size))
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            # Encode first: a bad mesh fails before anything of its batch is stored.
            fragments = {self.meta.join(f"{m.segid}:0:1"): m.to_precomputed() for m in batch}
            stale = [] if skip_delete else self._stored_fragment_keys([m.segid for m in batch])
            self.meta.store.put_many(fragments, options)
            # Then manifests: a reader never sees a manifest before its fragment.
            manifests = {
                self.manifest_path(m.segid): json.dumps({"fragments": [f"{m.segid}:0:1"]}).encode()
                for m in batch
            }
            self.meta.store.put_many(manifests, _MANIFEST_PUT)
            # Last, the previous fragments the new manifests no longer name: the old
            # mesh stays readable until the new one is complete.
            stale = [key for key in stale if key not in fragments]
            if stale:
                self.meta.store.delete_many(stale)

    def _stored_fragment_keys(self, segids: list[int]) -> list[str]:
        """Keys of the fragments the stored manifests of ``segids`` name (a manifest
        that cannot be parsed names none: it is simply replaced)."""
        keys: list[str] = []
        found = self.meta.store.get_many([self.manifest_path(s) for s in segids])
        for segid in segids:
            data = found.get(self.manifest_path(segid))
            if data is None:
                continue
            try:
                names = self._parse_manifest(segid, self.manifest_path(segid), data)
            except MeshDecodeError:
                continue
            keys.extend(self.meta.join(name) for name in names)
        return keys

    def delete(self, segids: Any) -> None:
        """Remove the manifest and fragment files of each segid (missing ones skipped)."""
        self._check_writable()
        manifests = self._get_manifests(segids, allow_missing=True)
        keys: list[str] = []
        for segid, names in manifests.items():
            if names is None:
                continue
            keys.extend(self.meta.join(n) for n in names)
            keys.append(self.manifest_path(segid))
        if keys:
            self.meta.store.delete_many(keys)

    def to_sharded(self, num_labels: int, **params: Any) -> None:
        self.meta.to_sharded(num_labels, **params)

    def to_unsharded(self) -> None:
        self.meta.to_unsharded()


def write_file(
    data: bytes, filepath: Any, segids: list[int], file_format: str
) -> None:  # fmt: skip
    """Write ``data`` to ``filepath`` (path or binary file object), or to CloudVolume's
    default name for ``segids`` in the working directory."""
    if filepath is None:
        first, last = segids[0], segids[-1]
        filepath = f"{first}.{file_format}" if len(segids) == 1 else f"{first}_{last}.{file_format}"
    if hasattr(filepath, "write"):
        filepath.write(data)
        return
    with open(filepath, "wb") as f:
        f.write(data)


def _is_safe_fragment_name(name: str) -> bool:
    """A relative path below the mesh directory: no ``..`` part, not absolute, not a URL."""
    if not name or name.startswith(("/", "\\")) or "://" in name or "\\" in name:
        return False
    return ".." not in name.split("/")
