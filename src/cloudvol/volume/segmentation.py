"""Segmentation reads that CloudVolume users rely on: the labels in a box (computed
on the compressed representation where the encoding lists them) and renumbering."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import fastremap
import numpy as np

from cloudvol.codecs import ChunkSpec, Codec
from cloudvol.codecs.labels import LabelCodec, label_can_occur
from cloudvol.exceptions import EncodingError
from cloudvol.precomputed.grid import ChunkGrid, PlanWindow
from cloudvol.storage.base import Store
from cloudvol.volume import offload
from cloudvol.volume.options import ReadOptions
from cloudvol.volume.read import LayerFormat, missing_chunk, visit_chunks

__all__ = ["label_mask_layer", "renumber", "unique_labels"]


def label_mask_layer(
    layer: LayerFormat, label: float, options: ReadOptions
) -> tuple[LayerFormat, ReadOptions]:
    """The layer format and read options that read ``layer`` as a boolean mask of
    ``label`` (``vol.download(bbox, label=N)``): each chunk is compared as it is
    decoded, so no full-width cutout is held, and a chunk whose label table lacks
    ``label`` is not decoded at all."""
    mask = _LabelMaskCodec(layer.codec, layer.dtype, label, options.background_color)
    return (
        dataclasses.replace(layer, codec=mask, dtype=np.dtype(bool)),
        dataclasses.replace(options, background_color=bool(options.background_color == label)),
    )


@dataclasses.dataclass(frozen=True)
class _LabelMaskCodec:
    """Decodes chunks of ``inner`` (holding ``dtype`` labels) to masks of ``label``."""

    inner: Codec
    dtype: np.dtype
    label: Any  # compared with ==, as CloudVolume does: 2.7 or NaN match no integer
    background: float
    #: not the inner name: readers special-case raw chunks by name
    name = "label-mask"
    transport_compressed_by_default = False
    content_type = "application/octet-stream"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        raise EncodingError("a label mask is read-only")

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        raise EncodingError(f"chunk {spec.key}: a label mask is read-only")

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        inner = dataclasses.replace(spec, dtype=self.dtype, background_color=self.background)
        if not label_can_occur(self.label, self.dtype):
            return np.zeros(spec.shape, dtype=bool, order="F")
        if isinstance(self.inner, LabelCodec) and not self.inner.contains(data, inner, self.label):
            return np.zeros(spec.shape, dtype=bool, order="F")
        return np.asarray(offload.decode(self.inner, data, inner) == self.label)


def unique_labels(
    store: Store,
    grid: ChunkGrid,
    layer: LayerFormat,
    start: np.ndarray,
    stop: np.ndarray,
    options: ReadOptions,
) -> set[int | float]:
    """The labels of voxels ``[start, stop)`` (voxels at the grid's scale).

    A chunk wholly inside the box is asked for its label list when its codec can
    list labels without decoding (compressed_segmentation, compresso, crackle);
    chunks the box cuts through are decoded and cropped. Voxels outside the bounds
    and missing chunks (with ``fill_missing``) count as ``background_color``."""
    start = np.asarray(start, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    plan = grid.plan(start, stop)
    window = PlanWindow(plan, start, stop)
    list_labels = getattr(layer.codec, "labels", None)
    found: list[np.ndarray] = []
    lock = threading.Lock()
    background = options.background_color
    if np.any(start < grid.offset) or np.any(stop > grid.bounds_max):
        found.append(np.asarray([background]))

    def visit(i: int, data: bytes | None) -> None:
        key = plan.keys[i]
        if not data:
            if not options.fill_missing:
                raise missing_chunk(store, key)
            labels = np.asarray([background])
        else:
            name = f"{store.url}/{key}"
            if list_labels is not None and not window.is_partial(i):
                labels = list_labels(data, layer.spec(window.chunk_shape(i), name, background))
            else:
                _, in_chunk = window.overlap(i)
                chunk = layer.decode(data, window.chunk_shape(i), name, background)
                labels = fastremap.unique(np.ascontiguousarray(chunk[in_chunk]))
        with lock:
            found.append(labels)

    # Listing a chunk's labels costs a small fraction of decoding it, so the voxel
    # count overstates the work: with a label-listing codec, let the first chunks'
    # timing decide whether worker threads pay (see run_per_chunk).
    voxel_bytes = int(np.prod(stop - start)) * layer.dtype.itemsize
    work_hint = 0 if list_labels is not None else voxel_bytes
    visit_chunks(store, plan, visit, work_hint, options.batch_size)
    if not found:
        return set()
    return {
        v.item() for v in fastremap.unique(np.concatenate([np.asarray(f).ravel() for f in found]))
    }


def renumber(img: np.ndarray, background: float = 0) -> tuple[np.ndarray, dict]:
    """Labels renumbered ``1..n`` in ascending order of the original labels, with
    ``background`` kept as itself (and in ``remap`` even when absent, as CloudVolume
    has it; new numbers skip its value); returns ``(image, remap)`` with
    ``remap[original] = new``. The dtype is the smallest unsigned type that holds
    ``n``, at least uint16 (as CloudVolume's renumbered downloads)."""
    labels = fastremap.unique(img)
    keep = int(background) if float(background).is_integer() else background
    mapping: dict = {keep: keep} if background == background else {}  # not NaN
    next_id = 1
    for value in labels.tolist():
        if value == background:
            continue
        if next_id == keep:
            next_id += 1
        mapping[value] = next_id
        next_id += 1
    highest = max(next_id - 1, int(background) if background == background else 0)
    dtype = np.uint16 if highest < 2**16 else np.uint32 if highest < 2**32 else np.uint64
    out = fastremap.remap(
        np.asfortranarray(img), mapping, preserve_missing_labels=True, in_place=False
    )
    return np.asfortranarray(out.astype(dtype, copy=False)), mapping
