"""``make demo``: build a small synthetic dataset on local disk, read it back, report.

Writes a synthetic image (uint8, 3 mips, 2×2×1 average downsampling) as ``raw``
and ``jpeg`` layers, and a segmentation (uint64, 3 mips, 2×2×2 mode
downsampling) as ``raw``, ``compressed_segmentation`` and ``crackle`` layers under
``./demo-data``; reads random unaligned cutouts from every mip, verifies them
against the arrays that were written (PSNR for jpeg), and prints sizes, speeds,
label counts and where the data is. Then meshes (zmesh) and skeletonizes
(kimimaro) the segmentation with a spatial index, and reads them back
(:mod:`cloudvol.demo_objects`).
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cloudvol import CloudVolume
from cloudvol.demo_objects import build_meshes_and_skeletons
from cloudvol.downsample import downsample

SHAPE = (512, 512, 128)
CHUNK = (64, 64, 64)
MIPS = 3


def synthetic_image(shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth, EM-like texture: a few random plane waves plus noise."""
    x, y, z = (np.arange(n, dtype=np.float32) for n in shape)
    field = np.zeros(shape, dtype=np.float32, order="F")
    for _ in range(6):
        kx, ky, kz = rng.uniform(0.01, 0.08, 3)
        phase = rng.uniform(0, 2 * np.pi)
        field += np.sin(
            kx * x[:, None, None] + ky * y[None, :, None] + kz * z[None, None, :] + phase
        )
    field += rng.normal(0, 0.4, shape).astype(np.float32)
    scaled = (field - field.min()) / (field.max() - field.min()) * 255
    return np.asfortranarray(scaled.astype(np.uint8))


def synthetic_segmentation(shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Blocky cells with wavy boundaries and random 40-bit labels (0 = background)."""
    x, y, z = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    cx = (x + 6 * np.sin(y / 11.0)) // 40
    cy = (y + 6 * np.sin(z / 7.0)) // 40
    cz = (z + 4 * np.sin(x / 13.0)) // 20
    cell = (cx.astype(np.int64) * 1000 + cy.astype(np.int64)) * 1000 + cz.astype(np.int64)
    cells, inverse = np.unique(cell, return_inverse=True)
    labels = rng.integers(1, 2**40, size=cells.size, dtype=np.uint64)
    labels[rng.random(cells.size) < 0.1] = 0
    return np.asfortranarray(labels[inverse.reshape(-1)].reshape(shape))


@dataclass(frozen=True)
class DemoLayer:
    """One layer of the demo: which data, how it is encoded, how it is checked."""

    name: str
    source: str  # "image" or "segmentation": which synthetic pyramid it holds
    encoding: str
    #: lossy encodings are checked by PSNR (dB) instead of exact equality
    min_psnr: float | None = None


LAYERS = (
    DemoLayer("image", "image", "raw"),
    DemoLayer("image_jpeg", "image", "jpeg", min_psnr=30.0),
    DemoLayer("segmentation", "segmentation", "raw"),
    DemoLayer("segmentation_cseg", "segmentation", "compressed_segmentation"),
    DemoLayer("segmentation_crackle", "segmentation", "crackle"),
)
FACTORS = {"image": (2, 2, 1), "segmentation": (2, 2, 2)}


def pyramid_of(data: np.ndarray, layer_type: str) -> list[np.ndarray]:
    """``MIPS`` levels, each downsampled from the previous one."""
    levels = [data[..., np.newaxis]]
    for _ in range(1, MIPS):
        levels.append(downsample(levels[-1], FACTORS[layer_type], layer_type))
    return levels


def build_layer(path: str, pyramid: list[np.ndarray], layer_type: str, encoding: str) -> float:
    """Create a layer with ``MIPS`` scales and write every mip; returns the seconds
    spent writing."""
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type=layer_type, data_type=pyramid[0].dtype, encoding=encoding,
        resolution=(8, 8, 40), voxel_offset=(0, 0, 0), volume_size=pyramid[0].shape[:3],
        chunk_size=CHUNK, max_mip=MIPS - 1, factor=FACTORS[layer_type],
    )  # fmt: skip
    vol = CloudVolume(path, info=info, progress=False)
    vol.commit_info()
    vol.commit_provenance()
    start = time.perf_counter()
    for mip, level in enumerate(pyramid):
        vol.mip = mip
        vol[:, :, :] = level
    return time.perf_counter() - start


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of uint8 images, in dB."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def verify_cutouts(
    path: str, pyramid: list[np.ndarray], rng: np.random.Generator, n: int, min_psnr: float | None
) -> tuple[int, float]:
    """Read ``n`` random unaligned cutouts per mip and compare them with what was
    written (exactly, or by PSNR for lossy encodings); returns bytes, seconds."""
    total_bytes, total_time = 0, 0.0
    for mip, level in enumerate(pyramid):
        vol = CloudVolume(path, mip=mip)
        size = np.asarray(level.shape[:3])
        for _ in range(n):
            extent = np.minimum(rng.integers(16, 160, 3), size)
            lo = np.array([rng.integers(0, s - e + 1) for s, e in zip(size, extent, strict=True)])
            hi = lo + extent
            box = np.s_[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            cutout, seconds = timed(vol.__getitem__, box)
            expected = level[box]
            ok = (
                np.array_equal(np.asarray(cutout), expected)
                if min_psnr is None
                else psnr(np.asarray(cutout), expected) >= min_psnr
            )
            if not ok:
                raise SystemExit(f"MISMATCH in {path} mip {mip} at {lo}-{hi}")
            total_bytes += cutout.nbytes
            total_time += seconds
    return total_bytes, total_time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="demo-data", help="output directory (default ./demo-data)")
    parser.add_argument("--cutouts", type=int, default=20, help="random cutouts per mip")
    parser.add_argument("--shape", type=int, nargs=3, default=SHAPE, metavar=("X", "Y", "Z"),
                        help="volume size in voxels (default %(default)s)")  # fmt: skip
    args = parser.parse_args(argv)
    root = Path(args.dir).resolve()
    if root.exists():
        shutil.rmtree(root)
    rng = np.random.default_rng(2026)
    shape = tuple(args.shape)
    print(f"cloudvol demo: writing a {shape[0]}×{shape[1]}×{shape[2]} dataset under {root}\n")

    pyramids = {
        "image": pyramid_of(synthetic_image(shape, rng), "image"),
        "segmentation": pyramid_of(synthetic_segmentation(shape, rng), "segmentation"),
    }
    for layer in LAYERS:
        path = f"file://{root}/{layer.name}"
        pyramid = pyramids[layer.source]
        seconds = build_layer(path, pyramid, layer.source, layer.encoding)
        written = sum(level.nbytes for level in pyramid)
        on_disk = sum(f.stat().st_size for f in (root / layer.name).rglob("*") if f.is_file())
        check = "exact" if layer.min_psnr is None else f"PSNR >= {layer.min_psnr:.0f} dB"
        print(f"{layer.name}: {pyramid[0].dtype}, {layer.encoding}, {MIPS} mips "
              f"{[lvl.shape[:3] for lvl in pyramid]}")  # fmt: skip
        print(f"  wrote {written / 1e6:.1f} MB in {seconds:.2f} s ({written / 1e6 / seconds:.0f} MB/s), "
              f"{on_disk / 1e6:.1f} MB on disk ({written / max(on_disk, 1):.1f}x smaller)")  # fmt: skip
        nbytes, read_seconds = verify_cutouts(path, pyramid, rng, args.cutouts, layer.min_psnr)
        print(f"  read {args.cutouts * MIPS} random cutouts ({nbytes / 1e6:.1f} MB) in "
              f"{read_seconds:.2f} s = {nbytes / 1e6 / read_seconds:.0f} MB/s, all verified ({check})")  # fmt: skip
        full, full_seconds = timed(CloudVolume(path).__getitem__, np.s_[:, :, :])
        print(f"  full mip-0 read {full.nbytes / 1e6:.1f} MB in {full_seconds:.2f} s = "
              f"{full.nbytes / 1e6 / full_seconds:.0f} MB/s")  # fmt: skip
        if layer.source == "segmentation":
            labels, label_seconds = timed(CloudVolume(path).unique, np.s_[:, :, :])
            print(f"  unique(): {len(labels)} labels in {label_seconds:.2f} s")
        print()

    objects_mip = min(2, MIPS - 1)
    print(f"meshes and skeletons of segmentation (mip {objects_mip}):")
    build_meshes_and_skeletons(
        f"file://{root}/segmentation", pyramids["segmentation"][objects_mip][..., 0], objects_mip
    )
    print()

    print("Open the layers with cloudvol (or CloudVolume):")
    for layer in LAYERS:
        print(f"  CloudVolume('file://{root}/{layer.name}')")
    print("\nTo view in Neuroglancer, serve the directory over HTTP with CORS and gzip mapping:")
    print(f"  python -m cloudvol.server {root}    # then add the layer source")
    print("  precomputed://http://127.0.0.1:1337/image  (and /segmentation)")
    print(f"Meshes and skeletons: vol = CloudVolume('file://{root}/segmentation'); "
          "vol.mesh.get(ids), vol.skeleton.get(ids)")  # fmt: skip


if __name__ == "__main__":
    main()
