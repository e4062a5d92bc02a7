"""Encodings through the volume API: write a whole layer with ``vol[:, :, :] = a`` and
read it back with ``vol[:, :, :]``, cloudvol against cloud-volume and, for the
encodings it has (jpeg, png, compressed_segmentation), tensorstore, each with its
defaults (cloud-volume ``parallel=1``; cloudvol schedules chunks on its own threads;
tensorstore's ``neuroglancer_precomputed`` driver on ``file://``, its own threads,
chunk cache off). Layers are 512³ for jpeg (the ``--size``, 128 MiB of uint8) and
256³ for the rest: png and the float encoders code 7-30 MB/s per core, and a 512³
uint64 segmentation is 1 GiB, so those would take minutes per tool.

The codec workloads (``encode-*``/``decode-*``) time the chunk coding alone in a
forced 2-thread pool (for cloudvol including its helper processes where the volume
layer uses them); these time what a user's script does. Layers are 64³ chunks on the
scratch directory, written with ``compress=False`` (the encodings compress), and every
tool reads the layer cloudvol wrote (the same bytes: cloudvol's encoders are
byte-identical to cloud-volume's for these encodings). The scale fixes the options
all tools honour (``jpeg_quality`` 85, ``png_level`` 9: tensorstore's own defaults
are 75 and 6), and every tool's written layer is read back by cloudvol and checked,
with its size in the notes. ``vol-crackle-gzip`` keeps
both tools' default transport compression instead (gzip for crackle), as a user's
layer is stored: cloudvol then skips crackle's slice check, which gzip's CRC makes
redundant. Checks: lossless encodings
must read back exactly; jpeg by PSNR >= 30 dB against the source; kempressed within
1e-6 (its +2 offset rounds in float32).

    uv run python -m benchmarks.run --only vol-jpeg,vol-crackle
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import codec_float, codec_segmentation
from benchmarks.common import (
    NotApplicable,
    Timing,
    WorkloadResult,
    WrongResult,
    best_of,
    make_volume,
    measure,
)
from benchmarks.context import BenchContext
from benchmarks.tools import ADAPTERS

SIDE = 256
JPEG_SIDE = 512
CHUNK = (64, 64, 64)
CASES = {
    # name: (encoding, source, layer type, compress: False or None for the default)
    "jpeg": ("jpeg", "image", "image", False),
    "png": ("png", "image", "image", False),
    "cseg": ("compressed_segmentation", "segmentation", "segmentation", False),
    "compresso": ("compresso", "segmentation", "segmentation", False),
    "crackle": ("crackle", "segmentation", "segmentation", False),
    "crackle-gzip": ("crackle", "segmentation", "segmentation", None),
    "fpzip": ("fpzip", "float", "image", False),
    "kempressed": ("kempressed", "float", "image", False),
    "zfpc": ("zfpc", "float", "image", False),
}
SCALE_OPTIONS = {"jpeg": {"jpeg_quality": 85}, "png": {"png_level": 9}}
TENSORSTORE_ENCODINGS = ("jpeg", "png", "compressed_segmentation")


@functools.cache
def _source(kind: str, side: int) -> np.ndarray:
    if kind == "image":
        return make_volume(side)[..., 0]
    if kind == "segmentation":
        seg = codec_segmentation.make_segmentation(side)
        return seg[..., 0] if seg.ndim == 4 else seg
    # kempressed's +2 offset and fpzip both want a smooth field; Fortran order
    # because cloud-volume's kempressed writer mishandles C-ordered input.
    return np.asfortranarray(codec_float.float_volume(side)[..., 0])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _check(encoding: str, got: np.ndarray, source: np.ndarray, tool: str) -> None:
    got = np.asarray(got)[..., 0]
    if encoding == "jpeg":
        if _psnr(got, source) < 30:
            raise WrongResult(f"{tool}: jpeg read back at {_psnr(got, source):.1f} dB")
    elif encoding == "kempressed":
        # lossless fpzip of (x + 2): float32 rounding of the offset moves values by
        # up to an ulp of ~2-3
        if not np.allclose(got, source, rtol=0, atol=1e-6):
            raise WrongResult(f"{tool}: kempressed read back off by more than 1e-6")
    elif not np.array_equal(got, source):
        raise WrongResult(f"{tool}: the {encoding} layer does not read back exactly")


class _TensorStoreLayer:
    """A precomputed layer through tensorstore, sliced like a CloudVolume (whole
    volume only). The info is written by cloudvol, so tensorstore codes with the
    scale's options. Opened before timing, as the CloudVolume objects are: an
    existing layer (no ``info``) at once, a new one once its info is committed."""

    def __init__(self, url: str, info: dict[str, Any] | None) -> None:
        self._info, self._url = info, url
        self._store: Any = None if info is not None else self._open(write=False)

    def _open(self, write: bool) -> Any:
        return ADAPTERS["tensorstore"].open_layer(Path(self._url.removeprefix("file://")), write)

    def commit_info(self) -> None:
        from cloudvol import CloudVolume

        CloudVolume(self._url, info=self._info, progress=False).commit_info()
        self._store = self._open(write=True)

    def __setitem__(self, _: Any, array: np.ndarray) -> None:
        self._store.write(array[..., np.newaxis]).result()

    def __getitem__(self, _: Any) -> np.ndarray:
        return np.asarray(self._store.read(order="F").result())


def _open(
    tool: str, url: str, encoding: str, info: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    if tool == "cloudvol":
        from cloudvol import CloudVolume
    elif tool == "cloud-volume":
        from cloudvolume import CloudVolume  # type: ignore[no-redef]
    elif tool == "tensorstore" and encoding in TENSORSTORE_ENCODINGS:
        return _TensorStoreLayer(url, info)
    elif tool == "tensorstore":
        raise NotApplicable(f"tensorstore has no {encoding} encoding")
    else:
        raise NotApplicable(f"{tool}: the volume API workloads compare whole tools")
    return CloudVolume(url, progress=False, info=info, **kwargs)


def _stored_mb(layer: Path) -> float:
    return sum(f.stat().st_size for f in layer.rglob("*") if f.is_file()) / 1e6


def volume_workload(ctx: BenchContext, short: str) -> WorkloadResult:
    encoding, kind, layer_type, compress = CASES[short]
    side = min(ctx.geom.size, JPEG_SIDE if short == "jpeg" else SIDE)
    source = _source(kind, side)
    from cloudvol import CloudVolume as Writer

    info = Writer.create_new_info(
        1, layer_type, str(source.dtype), encoding, (8, 8, 8), (0, 0, 0), source.shape,
        chunk_size=CHUNK, compressed_segmentation_block_size=(8, 8, 8),
    )  # fmt: skip
    info["scales"][0].update(SCALE_OPTIONS.get(short, {}))
    base = ctx.scratch / f"vol-{short}"
    result = WorkloadResult(
        f"vol-{short}",
        f"write then read a {side}³ {source.dtype} layer, {encoding}"
        f"{'' if compress is False else ' (default gzip)'}, 64³ chunks, "
        "through vol[...] (MB/s of write + read time)",
        2 * source.nbytes,
    )
    ctx.log(f"\n## {result.name}: {result.description}")
    read_url = f"file://{base}/read"
    reader_layer = Writer(read_url, info=info, compress=compress)
    reader_layer.commit_info()
    reader_layer[:, :, :] = source
    splits: list[str] = []
    for tool in ctx.tools:

        def timed(tool: str = tool) -> Timing:
            kwargs = {} if tool == "tensorstore" else {"compress": compress}
            writer = _open(tool, f"file://{base}/{tool}", encoding, info=info, **kwargs)
            if tool == "tensorstore" and compress is not False:
                raise NotApplicable("tensorstore has no transport gzip for local chunks")
            writer.commit_info()
            reader = _open(tool, read_url, encoding)
            seconds = {"write": float("inf"), "read": float("inf")}

            def run() -> np.ndarray:
                began = time.perf_counter()
                writer[:, :, :] = source
                seconds["write"] = min(seconds["write"], time.perf_counter() - began)
                began = time.perf_counter()
                out = reader[:, :, :]
                seconds["read"] = min(seconds["read"], time.perf_counter() - began)
                return out

            timing = best_of(ctx.repeat, run, check=lambda got: _check(encoding, got, source, tool))
            _check(encoding, Writer(f"file://{base}/{tool}")[:, :, :], source, f"{tool} write")
            mb = source.nbytes / 1e6
            splits.append(
                f"{tool}: write {mb / seconds['write']:.0f} MB/s, read {mb / seconds['read']:.0f}"
                f" MB/s, its layer {_stored_mb(base / tool):.1f} MB"
            )
            return timing

        result.results[tool] = measure(tool, result.nbytes, timed, ctx.log)
    result.notes += splits
    return result


WORKLOADS: dict[str, Callable[[BenchContext], WorkloadResult]] = {
    f"vol-{short}": functools.partial(volume_workload, short=short) for short in CASES
}
