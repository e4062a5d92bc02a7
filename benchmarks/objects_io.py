"""Mesh and skeleton workloads: fetch 200 legacy meshes and 200 skeletons of a
segmentation layer from a local HTTP server, cloudvol against cloud-volume.

The dataset is written the plainest way (numpy bytes, libdeflate gzip at level 6,
``name.gz`` files the server sends with ``Content-Encoding: gzip``, as GCS serves
CloudVolume's uploads): per segid, a ``{id}:0`` manifest naming three fragments of
about 4,000 triangles each (Igneous writes one fragment per meshing task), and a
skeleton of about 2,000 vertices with radius and vertex types. Each tool opens the
layer once, then ``vol.mesh.get(ids, fuse=False)`` or ``vol.skeleton.get(ids)``
is timed; every mesh and skeleton is checked against the source arrays. MB/s is
10^6 decoded bytes (vertices + faces, or the skeleton binary) per second.

    uv run python -m benchmarks.run --only mesh-http,skeleton-http
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    NotApplicable,
    WorkloadResult,
    WrongResult,
    best_of,
    gzip_compress,
    measure,
)
from benchmarks.context import BenchContext

N_OBJECTS = 200
FRAGMENTS_PER_MESH = 3
SKELETON_VERTICES = 2000


def _sphere_fragment(rng: np.random.Generator, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A bumpy latitude-longitude sphere patch: ~2,000 vertices, ~4,000 triangles."""
    n_lat, n_lon = 40, 50
    lat = np.linspace(0.05, np.pi - 0.05, n_lat)
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    radius = 200 + 20 * rng.standard_normal(la.shape)
    xyz = (
        np.stack([np.sin(la) * np.cos(lo), np.sin(la) * np.sin(lo), np.cos(la)], axis=-1)
        * radius[..., None]
    )
    vertices = (xyz.reshape(-1, 3) + center).astype(np.float32)
    i, j = np.meshgrid(np.arange(n_lat - 1), np.arange(n_lon), indexing="ij")
    a = i * n_lon + j
    b = i * n_lon + (j + 1) % n_lon
    c, d = a + n_lon, b + n_lon
    faces = np.concatenate([np.stack([a, b, c], -1), np.stack([b, d, c], -1)]).reshape(-1, 3)
    return vertices, faces.astype(np.uint32)


def _tree_skeleton(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random tree of ``SKELETON_VERTICES`` vertices grown by random walks (nm)."""
    n = SKELETON_VERTICES
    parents = np.zeros(n, dtype=np.int64)
    parents[1:] = [
        max(0, k - 1 - int(rng.integers(0, 3) == 0) * int(rng.integers(0, k))) for k in range(1, n)
    ]
    steps = rng.normal(0, 40, size=(n, 3))
    vertices = np.zeros((n, 3))
    for k in range(1, n):
        vertices[k] = vertices[parents[k]] + steps[k]
    edges = np.stack([np.arange(1, n), parents[1:]], axis=1).astype(np.uint32)
    radii = rng.uniform(50, 500, n).astype(np.float32)
    return vertices.astype(np.float32), edges, radii


def build_dataset(root: Path, seed: int = 0) -> dict[str, Any]:
    """Write the layer under ``root/objects``; returns the source arrays by segid."""
    rng = np.random.default_rng(seed)
    layer = root / "objects"
    (layer / "mesh").mkdir(parents=True, exist_ok=True)
    (layer / "skeletons").mkdir(parents=True, exist_ok=True)
    info = {
        "type": "segmentation", "data_type": "uint64", "num_channels": 1,
        "mesh": "mesh", "skeletons": "skeletons",
        "scales": [{"key": "8_8_8", "resolution": [8, 8, 8], "voxel_offset": [0, 0, 0],
                    "size": [1024, 1024, 1024], "chunk_sizes": [[64, 64, 64]],
                    "encoding": "raw"}],
    }  # fmt: skip
    (layer / "info").write_text(json.dumps(info))
    skel_info = {
        "@type": "neuroglancer_skeletons",
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        "vertex_attributes": [
            {"id": "radius", "data_type": "float32", "num_components": 1},
            {"id": "vertex_types", "data_type": "uint8", "num_components": 1},
        ],
    }
    (layer / "skeletons" / "info").write_text(json.dumps(skel_info))
    ids = [int(x) for x in rng.choice(2**40, N_OBJECTS, replace=False) + 1]
    meshes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    skeletons: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    mesh_bytes = skel_bytes = 0
    for segid in ids:
        fragments = []
        for f in range(FRAGMENTS_PER_MESH):
            v, t = _sphere_fragment(rng, rng.uniform(0, 8000, 3))
            name = f"{segid}:0:{f * 512}-{f * 512 + 512}_0-512_0-512"
            blob = struct.pack("<I", len(v)) + v.tobytes() + t.tobytes()
            (layer / "mesh" / f"{name}.gz").write_bytes(gzip_compress(blob, 6))
            fragments.append((name, v, t))
            mesh_bytes += v.nbytes + t.nbytes
        names = [name for name, _, _ in fragments]
        (layer / "mesh" / f"{segid}:0").write_text(json.dumps({"fragments": names}))
        # Both readers concatenate a segid's fragments in file-name order.
        verts, faces, base = [], [], 0
        for _, v, t in sorted(fragments, key=lambda item: item[0]):
            verts.append(v)
            faces.append(t + base)
            base += len(v)
        meshes[segid] = (np.concatenate(verts), np.concatenate(faces))
        v, e, r = _tree_skeleton(rng)
        types = np.full(len(v), 3, dtype=np.uint8)
        blob = struct.pack("<II", len(v), len(e)) + v.tobytes() + e.tobytes() + r.tobytes()
        blob += types.tobytes()
        (layer / "skeletons" / f"{segid}.gz").write_bytes(gzip_compress(blob, 6))
        skeletons[segid] = (v, e, r)
        skel_bytes += len(blob)
    return {"ids": ids, "meshes": meshes, "skeletons": skeletons,
            "mesh_bytes": mesh_bytes, "skel_bytes": skel_bytes}  # fmt: skip


def _dataset(ctx: BenchContext) -> tuple[str, dict[str, Any]]:
    cached = getattr(ctx, "_objects", None)
    if cached is None:
        root = ctx.scratch / "objects-root"
        data = build_dataset(root)
        url, server = ctx.serve_gzip_mapped(root)
        data["server"] = server
        cached = (f"{url}/objects", data)
        ctx._objects = cached  # type: ignore[attr-defined]
    return cached


def _open(tool: str, url: str) -> Any:
    if tool == "cloudvol":
        from cloudvol import CloudVolume
    elif tool == "cloud-volume":
        from cloudvolume import CloudVolume  # type: ignore[no-redef]
    else:
        raise NotApplicable(f"{tool} has no mesh or skeleton reader")
    return CloudVolume(f"precomputed://{url}", progress=False)


def _check_meshes(got: dict, data: dict[str, Any]) -> None:
    for segid in data["ids"]:
        v, f = data["meshes"][segid]
        mesh = got[segid]
        if not (
            np.allclose(mesh.vertices, v)
            and np.array_equal(np.asarray(mesh.faces).reshape(-1, 3), f)
        ):
            raise WrongResult(f"mesh {segid} differs from the source")


def _check_skeletons(got: list, data: dict[str, Any]) -> None:
    if len(got) != len(data["ids"]):
        raise WrongResult(f"{len(got)} skeletons returned, {len(data['ids'])} expected")
    for skel in got:
        v, e, r = data["skeletons"][int(skel.id)]
        if not (np.allclose(skel.vertices, v) and np.array_equal(skel.edges, e)
                and np.allclose(skel.radius, r)):  # fmt: skip
            raise WrongResult(f"skeleton {skel.id} differs from the source")


def _fetch_workload(
    ctx: BenchContext,
    name: str,
    description: str,
    nbytes: int,
    fetch: Callable[[Any], Any],
    check: Callable[[Any], None],
) -> WorkloadResult:
    """Time ``fetch(vol)`` for every tool on the layer opened once per tool."""
    url, _ = _dataset(ctx)
    result = WorkloadResult(name, description, nbytes)
    ctx.log(f"\n## {name}: {description}")
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Any:
            vol = _open(tool, url)
            return best_of(ctx.repeat, lambda: fetch(vol), check=check)

        result.results[tool] = measure(tool, nbytes, timed, ctx.log)
    return result


def mesh_http(ctx: BenchContext) -> WorkloadResult:
    _, data = _dataset(ctx)
    description = (
        f"{N_OBJECTS} legacy meshes ({FRAGMENTS_PER_MESH} gzipped fragments each, "
        f"{data['mesh_bytes'] / 1e6:.0f} MB decoded) via vol.mesh.get(ids, fuse=False) "
        "over HTTP from 127.0.0.1"
    )
    result = _fetch_workload(
        ctx, "mesh-http", description, data["mesh_bytes"],
        lambda vol: vol.mesh.get(data["ids"], fuse=False), lambda got: _check_meshes(got, data),
    )  # fmt: skip
    result.notes.append(
        f"{N_OBJECTS} manifests + {N_OBJECTS * FRAGMENTS_PER_MESH} fragments; server: "
        f"{data['server']}, name -> name.gz with Content-Encoding: gzip (like GCS)"
    )
    return result


def skeleton_http(ctx: BenchContext) -> WorkloadResult:
    _, data = _dataset(ctx)
    description = (
        f"{N_OBJECTS} skeletons (~{SKELETON_VERTICES} vertices, gzipped, "
        f"{data['skel_bytes'] / 1e6:.1f} MB decoded) via vol.skeleton.get(ids) over HTTP "
        "from 127.0.0.1"
    )
    result = _fetch_workload(
        ctx, "skeleton-http", description, data["skel_bytes"],
        lambda vol: vol.skeleton.get(data["ids"]), lambda got: _check_skeletons(got, data),
    )  # fmt: skip
    result.notes.append(f"server: {data['server']}")
    return result


WORKLOADS = {"mesh-http": mesh_http, "skeleton-http": skeleton_http}
