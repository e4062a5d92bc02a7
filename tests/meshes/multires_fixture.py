"""A generator of small multi-resolution mesh datasets written the way Igneous writes
them: zmesh meshes of a labelled volume (stored model units = voxels), coarser LODs
by zmesh simplification, an octree whose LOD ``L`` nodes are ``chunk_shape * 2**L``
(the coarsest LOD one node), each node's piece cut out with trimesh plane slicing,
quantised with ``to_stored_model_space`` and Draco-encoded, nodes in Z-curve order,
``lod_scales = 2**L``, zero ``vertex_offsets``, ``transform = diag(resolution)``.

Two Draco quantisation modes: ``"exact"`` sets Draco's range to ``2**bits - 1`` from
origin 0 so the integer positions survive exactly (what Neuroglancer needs), and
``"igneous"`` uses the fragment's own extent as Igneous does (decoded positions are
then within half a Draco step of the integers).

Unsharded: ``mesh/{segid}.index`` + ``mesh/{segid}``. Sharded: items
``fragment data ‖ manifest`` with the minishard index pointing at the manifest
(``synthesize_shards(..., data_offset={segid: len(manifest)})``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import DracoPy
import numpy as np
import zmesh

from cloudvol.precomputed.multires_mesh import (
    MultiLevelPrecomputedMeshManifest,
    from_stored_model_space,
    to_stored_model_space,
)
from cloudvol.precomputed.sharding import ShardingSpecification

SPHERE, BOX, BIG = 7, 13, 2**40 + 3
RESOLUTION = (8.0, 6.0, 40.0)

DEFAULT_SPEC = {
    "@type": "neuroglancer_uint64_sharded_v1",
    "preshift_bits": 0,
    "hash": "murmurhash3_x86_128",
    "minishard_bits": 1,
    "shard_bits": 1,
    "minishard_index_encoding": "gzip",
    "data_encoding": "raw",
}


@dataclass
class FixtureSegment:
    """What was written for one segment: its manifest, fragment data, and per LOD
    per manifest fragment the expected triangles in nm (``None`` for empty nodes)."""

    segid: int
    manifest: MultiLevelPrecomputedMeshManifest
    data: bytes
    expected: list[list[tuple[np.ndarray, np.ndarray] | None]] = field(default_factory=list)

    def triangles(self, lod: int, frags: list[int] | None = None) -> np.ndarray:
        """Expected triangles of ``lod`` (selected fragments) as ``M x 3 x 3`` nm."""
        parts = [
            v[f]
            for i, item in enumerate(self.expected[lod])
            if item is not None and (frags is None or i in frags)
            for v, f in [item]
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 3, 3))


@dataclass
class MultiresDataset:
    root: Path  # the layer directory
    mesh_dir: str
    info: dict[str, Any]  # the mesh directory's info
    segments: dict[int, FixtureSegment]
    sharded: bool

    @property
    def url(self) -> str:
        return f"file://{self.root}"


def labelled_volume() -> np.ndarray:
    """A 40³ uint64 volume (x, y, z) with a sphere, a box and a small blob with a
    large ID."""
    labels = np.zeros((40, 40, 40), dtype=np.uint64)
    x, y, z = np.mgrid[:40, :40, :40]
    labels[(x - 14) ** 2 + (y - 15) ** 2 + (z - 13) ** 2 < 100] = SPHERE
    labels[26:37, 4:30, 20:37] = BOX
    labels[3:7, 30:36, 30:34] = BIG
    return labels


def morton_order(positions: np.ndarray) -> np.ndarray:
    """Indices sorting node positions (``n x 3``) in Z-curve order, x fastest."""
    codes = np.zeros(len(positions), dtype=np.uint64)
    for bit in range(21):
        for axis in range(3):
            b = (positions[:, axis].astype(np.uint64) >> np.uint64(bit)) & np.uint64(1)
            codes |= b << np.uint64(3 * bit + axis)
    return np.argsort(codes, kind="stable")


def _clip(poly: list[np.ndarray], axis: int, value: float, keep_above: bool) -> list[np.ndarray]:
    """Sutherland-Hodgman: the part of a convex polygon on one side of a plane."""
    out: list[np.ndarray] = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        cur_in = cur[axis] >= value if keep_above else cur[axis] <= value
        prev_in = prev[axis] >= value if keep_above else prev[axis] <= value
        if cur_in != prev_in:
            t = (value - prev[axis]) / (cur[axis] - prev[axis])
            point = prev + t * (cur - prev)
            point[axis] = value
            out.append(point)
        if cur_in:
            out.append(cur)
    return out


def _slice_into_nodes(
    vertices: np.ndarray, faces: np.ndarray, origin: np.ndarray, size: np.ndarray
) -> list[tuple[tuple[int, int, int], np.ndarray, np.ndarray]]:
    """Pieces of a mesh inside each node of a grid (node size ``size``): triangles
    clipped to each node box and fan-triangulated, so no vertex leaves its node
    (Igneous cuts with trimesh planes, which needs shapely)."""
    grid = np.maximum(np.ceil((vertices.max(axis=0) - origin) / size).astype(int), 1)
    tris = vertices[faces]
    tri_lo, tri_hi = tris.min(axis=1), tris.max(axis=1)
    pieces = []
    for node in np.ndindex(*grid):
        lo = origin + np.asarray(node) * size
        hi = lo + size
        touching = np.flatnonzero(np.all((tri_lo <= hi) & (tri_hi >= lo), axis=1))
        corners: list[np.ndarray] = []
        for t in touching:
            poly = list(tris[t])
            for axis in range(3):
                poly = _clip(poly, axis, lo[axis], True)
                poly = _clip(poly, axis, hi[axis], False) if poly else poly
            for k in range(1, len(poly) - 1):
                corners.extend((poly[0], poly[k], poly[k + 1]))
        if not corners:
            continue
        unique, inverse = np.unique(np.asarray(corners), axis=0, return_inverse=True)
        node_faces = inverse.reshape(-1, 3).astype(np.uint32)
        pieces.append(((int(node[0]), int(node[1]), int(node[2])), unique, node_faces))
    return pieces


def build_segment(
    segid: int,
    lods: list[tuple[np.ndarray, np.ndarray]],
    vertex_quantization_bits: int = 10,
    resolution: tuple[float, float, float] = RESOLUTION,
    draco_mode: str = "exact",
    empty_node: bool = False,
) -> FixtureSegment:
    """Encode one segment from its LOD meshes (voxel units, finest first)."""
    num_lods = len(lods)
    full = lods[0][0]
    grid_origin = np.floor(full.min(axis=0))
    shape = full.max(axis=0) - grid_origin
    chunk_shape = np.maximum(np.ceil(shape / 2 ** (num_lods - 1)), 1)

    positions: list[np.ndarray] = []
    pieces_per_lod: list[list[tuple[np.ndarray, np.ndarray] | None]] = []
    for lod, (vertices, faces) in enumerate(lods):
        if lod == num_lods - 1:
            pieces = [((0, 0, 0), vertices, faces)]
        else:
            pieces = _slice_into_nodes(vertices, faces, grid_origin, chunk_shape * 2**lod)
        nodes = [p[0] for p in pieces]
        items: list[tuple[np.ndarray, np.ndarray] | None] = [(p[1], p[2]) for p in pieces]
        if empty_node and lod == 1:
            # A node without data (allowed when a child has data): size 0.
            nodes.append((5, 5, 5))
            items.append(None)
        pos = np.asarray(nodes, dtype=np.uint32).reshape(-1, 3)
        order = morton_order(pos)
        positions.append(pos[order])
        pieces_per_lod.append([items[i] for i in order])

    manifest = MultiLevelPrecomputedMeshManifest(
        segment_id=segid,
        chunk_shape=chunk_shape,
        grid_origin=grid_origin,
        num_lods=num_lods,
        lod_scales=[2**i for i in range(num_lods)],
        vertex_offsets=[[0, 0, 0]] * num_lods,
        num_fragments_per_lod=[len(p) for p in positions],
        fragment_positions=positions,
        fragment_offsets=[],  # filled below, one size per fragment (as Igneous does)
    )
    bits = vertex_quantization_bits
    transform = np.diag(resolution)
    blobs: list[bytes] = []
    expected: list[list[tuple[np.ndarray, np.ndarray] | None]] = []
    for lod, items in enumerate(pieces_per_lod):
        lod_expected: list[tuple[np.ndarray, np.ndarray] | None] = []
        for frag, item in enumerate(items):
            if item is None:
                manifest.fragment_offsets.append(0)
                lod_expected.append(None)
                continue
            q = to_stored_model_space(item[0], manifest, lod, bits, frag).astype(np.float32)
            f = np.asarray(item[1], dtype=np.uint32)
            # Draco drops triangles whose corners coincide after quantisation.
            tri = q[f]
            keep = ~(
                np.all(tri[:, 0] == tri[:, 1], axis=1)
                | np.all(tri[:, 1] == tri[:, 2], axis=1)
                | np.all(tri[:, 0] == tri[:, 2], axis=1)
            )
            f = f[keep]
            if not len(f):
                manifest.fragment_offsets.append(0)
                lod_expected.append(None)
                continue
            if draco_mode == "exact":
                blob = DracoPy.encode(
                    q, f, quantization_bits=bits, compression_level=1,
                    quantization_range=(1 << bits) - 1, quantization_origin=[0, 0, 0],
                )  # fmt: skip
            else:
                minpt = q.min(axis=0)
                blob = DracoPy.encode(
                    q, f, quantization_bits=bits, compression_level=1,
                    quantization_range=float(np.max(q.max(axis=0) - minpt)),
                    quantization_origin=minpt, create_metadata=True,
                )  # fmt: skip
            manifest.fragment_offsets.append(len(blob))
            blobs.append(blob)
            nm = from_stored_model_space(q, manifest, lod, bits, frag) @ transform.T
            lod_expected.append((nm, f))
        expected.append(lod_expected)
    # Normalise the flat size list into per-LOD arrays.
    manifest = MultiLevelPrecomputedMeshManifest.from_binary(manifest.to_binary(), segid)
    return FixtureSegment(segid, manifest, b"".join(blobs), expected)


def segment_lods(
    labels: np.ndarray, segid: int, num_lods: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """LOD meshes (voxel units) of one label: zmesh, then simplification."""
    mesher = zmesh.Mesher((1, 1, 1))
    mesher.mesh(labels == segid)
    mesh = mesher.get(1, normals=False)
    lods = [(np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces, np.uint32))]
    for lod in range(1, num_lods):
        simple = mesher.simplify(mesh, reduction_factor=4**lod, max_error=1.0 * lod)
        lods.append((np.asarray(simple.vertices, np.float64), np.asarray(simple.faces, np.uint32)))
    return lods


@functools.lru_cache(maxsize=4)
def _segments(vertex_quantization_bits: int, draco_mode: str) -> dict[int, FixtureSegment]:
    """The encoded segments (cached: meshing and encoding dominate the cost). Callers
    must not mutate them."""
    labels = labelled_volume()
    plan = {SPHERE: 3, BOX: 2, BIG: 1}
    return {
        segid: build_segment(
            segid,
            segment_lods(labels, segid, n),
            vertex_quantization_bits,
            draco_mode=draco_mode,
            empty_node=(segid == SPHERE),
        )
        for segid, n in plan.items()
    }


def write_multires_dataset(
    root: Path,
    *,
    sharded: bool = False,
    vertex_quantization_bits: int = 10,
    draco_mode: str = "exact",
    spec: dict[str, Any] | None = None,
    mesh_dir: str = "mesh",
) -> MultiresDataset:
    """Write a segmentation layer at ``root`` (info only, no image chunks) with a
    multi-resolution mesh directory holding the sphere (3 LODs, one empty node),
    the box (2 LODs) and the big-ID blob (1 LOD)."""
    segments = dict(_segments(vertex_quantization_bits, draco_mode))
    labels_shape = [40, 40, 40]
    root.mkdir(parents=True, exist_ok=True)
    layer_info = {
        "type": "segmentation",
        "data_type": "uint64",
        "num_channels": 1,
        "mesh": mesh_dir,
        "scales": [
            {
                "key": "8_6_40",
                "size": labels_shape,
                "resolution": list(RESOLUTION),
                "voxel_offset": [0, 0, 0],
                "chunk_sizes": [[40, 40, 40]],
                "encoding": "raw",
            }
        ],
    }
    (root / "info").write_text(json.dumps(layer_info))
    info: dict[str, Any] = {
        "@type": "neuroglancer_multilod_draco",
        "vertex_quantization_bits": vertex_quantization_bits,
        "transform": [
            RESOLUTION[0],
            0,
            0,
            0,
            0,
            RESOLUTION[1],
            0,
            0,
            0,
            0,
            RESOLUTION[2],
            0,
        ],
        "lod_scale_multiplier": 1.0,
    }
    directory = root / mesh_dir
    directory.mkdir(parents=True, exist_ok=True)
    if sharded:
        info["sharding"] = dict(spec or DEFAULT_SPEC)
        sharding = ShardingSpecification.from_dict(info["sharding"])
        items = {s: seg.data + seg.manifest.to_binary() for s, seg in segments.items()}
        offsets = {s: len(seg.manifest) for s, seg in segments.items()}
        for name, blob in sharding.synthesize_shards(items, data_offset=offsets).items():
            (directory / name).write_bytes(blob)
    else:
        for segid, seg in segments.items():
            (directory / f"{segid}.index").write_bytes(seg.manifest.to_binary())
            (directory / str(segid)).write_bytes(seg.data)
    (directory / "info").write_text(json.dumps(info))
    return MultiresDataset(root, mesh_dir, info, segments, sharded)
