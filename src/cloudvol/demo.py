"""``make demo``: build a small synthetic dataset on local disk, read it back, report.

Writes ``./demo-data/image`` (uint8, 3 mips, 2×2×1 downsampling) and
``./demo-data/segmentation`` (uint64, 3 mips, 2×2×2 mode downsampling), reads
random unaligned cutouts from every mip, verifies them against the arrays that
were written, and prints sizes, speeds and where the data is.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

from cloudvol import CloudVolume
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


def build_layer(
    path: str, data: np.ndarray, layer_type: str, factor: tuple[int, int, int]
) -> tuple[list[np.ndarray], float]:
    """Create a layer with MIPS scales and write every mip; returns the pyramid and
    the seconds spent writing (downsampling excluded)."""
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type=layer_type, data_type=data.dtype, encoding="raw",
        resolution=(8, 8, 40), voxel_offset=(0, 0, 0), volume_size=data.shape[:3],
        chunk_size=CHUNK, max_mip=MIPS - 1, factor=factor,
    )  # fmt: skip
    vol = CloudVolume(path, info=info, progress=False)
    vol.commit_info()
    vol.commit_provenance()
    pyramid = [data[..., np.newaxis]]
    for _ in range(1, MIPS):
        pyramid.append(downsample(pyramid[-1], factor, layer_type))
    start = time.perf_counter()
    for mip, level in enumerate(pyramid):
        vol.mip = mip
        vol[:, :, :] = level
    return pyramid, time.perf_counter() - start


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def verify_cutouts(
    path: str, pyramid: list[np.ndarray], rng: np.random.Generator, n: int
) -> tuple[int, float]:
    """Read ``n`` random unaligned cutouts per mip and compare them; returns bytes, seconds."""
    total_bytes, total_time = 0, 0.0
    for mip, level in enumerate(pyramid):
        vol = CloudVolume(path, mip=mip)
        size = np.asarray(level.shape[:3])
        for _ in range(n):
            extent = np.minimum(rng.integers(16, 160, 3), size)
            lo = np.array([rng.integers(0, s - e + 1) for s, e in zip(size, extent, strict=True)])
            hi = lo + extent
            cutout, seconds = timed(
                vol.__getitem__, np.s_[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            )
            expected = level[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            if not np.array_equal(np.asarray(cutout), expected):
                raise SystemExit(f"MISMATCH in {path} mip {mip} at {lo}-{hi}")
            total_bytes += cutout.nbytes
            total_time += seconds
    return total_bytes, total_time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="demo-data", help="output directory (default ./demo-data)")
    parser.add_argument("--cutouts", type=int, default=20, help="random cutouts per mip")
    args = parser.parse_args(argv)
    root = Path(args.dir).resolve()
    if root.exists():
        shutil.rmtree(root)
    rng = np.random.default_rng(2026)
    print(f"cloudvol demo: writing a {SHAPE[0]}×{SHAPE[1]}×{SHAPE[2]} dataset under {root}\n")

    layers = {
        "image": (synthetic_image(SHAPE, rng), "image", (2, 2, 1)),
        "segmentation": (synthetic_segmentation(SHAPE, rng), "segmentation", (2, 2, 2)),
    }
    for name, (data, layer_type, factor) in layers.items():
        path = f"file://{root}/{name}"
        pyramid, seconds = build_layer(path, data, layer_type, factor)
        written = sum(level.nbytes for level in pyramid)
        on_disk = sum(f.stat().st_size for f in (root / name).rglob("*") if f.is_file())
        print(f"{name:>13}: {data.dtype}, {MIPS} mips {[lvl.shape[:3] for lvl in pyramid]}")
        print(f"{'':>13}  wrote {written / 1e6:.1f} MB in {seconds:.2f} s "
              f"({written / 1e6 / seconds:.0f} MB/s), {on_disk / 1e6:.1f} MB on disk (gzip)")  # fmt: skip
        nbytes, read_seconds = verify_cutouts(path, pyramid, rng, args.cutouts)
        print(f"{'':>13}  read {args.cutouts * MIPS} random cutouts ({nbytes / 1e6:.1f} MB) in "
              f"{read_seconds:.2f} s = {nbytes / 1e6 / read_seconds:.0f} MB/s, all verified")  # fmt: skip
        full, full_seconds = timed(CloudVolume(path).__getitem__, np.s_[:, :, :])
        print(f"{'':>13}  full mip-0 read {full.nbytes / 1e6:.1f} MB in {full_seconds:.2f} s = "
              f"{full.nbytes / 1e6 / full_seconds:.0f} MB/s\n")  # fmt: skip

    print("Open the layers with cloudvol (or CloudVolume):")
    for name in layers:
        print(f"  CloudVolume('file://{root}/{name}')")
    print("\nTo view in Neuroglancer, serve the directory over HTTP with CORS and gzip mapping:")
    print(f"  python -m cloudvol.server {root}    # then add the layer source")
    print("  precomputed://http://127.0.0.1:1337/image  (and /segmentation)")


if __name__ == "__main__":
    main()
