"""Encode, decode and inspect single chunks by encoding name (CloudVolume's ``chunks``).

Arrays are 3-D ``(x, y, z)`` or 4-D ``(x, y, z, channel)``; 3-D input is one channel.
Decoded chunks have the rank of the ``shape`` asked for (3-D when the stream gives the
shape itself, as compresso and crackle do), except fpzip, kempressed and zfpc, which
decode to 4-D whatever the shape: CloudVolume returns those libraries' own arrays.

``compression_params`` takes CloudVolume's spelling (``{"level": 85}``, zfpc's
``rate``/``precision``/``tolerance``/``correlated_dims``, cseg's ``block_size``) as
well as the info field names (``jpeg_quality``, ``png_level``, ``zfpc_rate``…). Label encodings (compressed_segmentation, compresso,
crackle) answer :func:`labels`, :func:`contains`, :func:`remap` and
:func:`read_voxel` from their label tables without decoding every voxel.

``num_threads`` is accepted for compatibility and ignored: cloudvol runs one chunk
per thread in its volume layer rather than threads inside one chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from cloudvol.codecs import ChunkSpec, Codec, get_codec
from cloudvol.codecs.labels import (
    LabelCodec,
    RemapCodec,
    SelfDescribingCodec,
    VoxelCodec,
    label_can_occur,
    sorted_unique,
)

__all__ = [
    "DEFAULT_CSEG_BLOCK_SIZE",
    "SUPPORTED_ENCODINGS",
    "contains",
    "decode",
    "decode_binary_image",
    "decode_compressed_segmentation",
    "encode",
    "encode_compressed_segmentation",
    "labels",
    "read_voxel",
    "remap",
    "transcode",
]

DEFAULT_CSEG_BLOCK_SIZE = (8, 8, 8)
SUPPORTED_ENCODINGS = (
    "raw", "kempressed", "fpzip", "compressed_segmentation", "compresso",
    "crackle", "jpeg", "jxl", "png", "zfpc",
)  # fmt: skip

#: encodings CloudVolume decodes to its library's 4-D array, ignoring ``shape``
_ALWAYS_4D = frozenset({"fpzip", "kempressed", "zfpc"})
#: CloudVolume's generic ``level`` parameter, by encoding, as the info field
_LEVEL_FIELD = {
    "jpeg": "jpeg_quality",
    "png": "png_level",
    "jxl": "jxl_quality",
    "fpzip": "fpzip_precision",
}
#: zfpc.compress keyword -> info field
_ZFPC_FIELDS = {
    "rate": "zfpc_rate",
    "precision": "zfpc_precision",
    "tolerance": "zfpc_tolerance",
    "correlated_dims": "zfpc_correlated_dims",
}


def _options(encoding: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Per-scale codec options from CloudVolume-style ``compression_params``: the
    given keys, plus the info field each CloudVolume spelling stands for."""
    options = dict(params or {})
    level = options.get("level")
    field = _LEVEL_FIELD.get(encoding)
    if level is not None and field is not None:
        options.setdefault(field, level)
    if encoding == "zfpc":
        for key, name in _ZFPC_FIELDS.items():
            if key in options:
                options.setdefault(name, options[key])
    return options


def _block(block_size: Any, params: Mapping[str, Any] | None = None) -> tuple[int, int, int] | None:
    params = params or {}
    for candidate in (
        block_size,
        params.get("compressed_segmentation_block_size"),
        params.get("block_size"),
    ):
        if candidate is not None:
            return (int(candidate[0]), int(candidate[1]), int(candidate[2]))
    return None


def _as4d(img: np.ndarray) -> np.ndarray:
    while img.ndim < 4:
        img = img[..., np.newaxis]
    return img


def _spec(
    codec: Codec,
    encoding: str,
    filedata: bytes | memoryview | None,
    shape: Any,
    dtype: Any,
    block_size: Any,
    background_color: float = 0,
) -> ChunkSpec:
    """The chunk's spec; a self-describing stream fills in a missing shape or dtype."""
    if (shape is None or dtype is None) and filedata and isinstance(codec, SelfDescribingCodec):
        stream_shape, stream_dtype = codec.describe(filedata)
        shape = stream_shape if shape is None else shape
        dtype = stream_dtype if dtype is None else dtype
    if shape is None or dtype is None:
        raise ValueError(
            f"decoding {encoding!r} needs the chunk shape and dtype (only streams that "
            f"record them, such as compresso and crackle, may go without)"
        )
    full = tuple(int(s) for s in shape)
    if len(full) == 3:
        full = (*full, 1)
    return ChunkSpec(
        shape=full,  # type: ignore[arg-type]
        dtype=np.dtype(dtype),
        block_size=_block(block_size),
        background_color=background_color,
    )


def _background(spec: ChunkSpec) -> np.ndarray:
    return np.full(spec.shape, spec.background_color, dtype=spec.dtype, order="F")


# --------------------------------------------------------------------------- encode/decode


def encode(
    img_chunk: np.ndarray,
    encoding: str,
    block_size: Any = None,
    compression_params: Mapping[str, Any] | None = None,
    num_threads: int = 1,
) -> bytes:
    """Encode one chunk, a 3-D or 4-D ``(x, y, z[, c])`` array, as ``encoding``."""
    img = _as4d(np.asarray(img_chunk))
    codec = get_codec(encoding)
    codec.check(img.dtype, img.shape[3])
    spec = ChunkSpec(
        shape=tuple(int(s) for s in img.shape),  # type: ignore[arg-type]
        dtype=img.dtype,
        block_size=_block(block_size, compression_params),
        options=_options(encoding.lower(), compression_params),
    )
    return bytes(codec.encode(img, spec))


def decode(
    filedata: bytes | memoryview | np.ndarray | None,
    encoding: str,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = None,
    background_color: float = 0,
    num_threads: int = 1,
) -> np.ndarray:
    """Decode one chunk. ``shape`` is ``(x, y, z)`` or ``(x, y, z, channels)`` and
    sets the result's rank (see the module notes for fpzip, kempressed and zfpc); it
    and ``dtype`` may be omitted for compresso, crackle, fpzip and kempressed, whose
    streams record them. Empty data decodes to ``background_color``; an ndarray is
    returned as is (CloudVolume's LRU case)."""
    if isinstance(filedata, np.ndarray):
        return filedata
    codec = get_codec(encoding)
    spec = _spec(codec, encoding, filedata, shape, dtype, block_size, background_color)
    if not filedata:
        return _in_rank(_background(spec), shape)
    image = codec.decode(filedata, spec)
    return image if encoding.lower() in _ALWAYS_4D else _in_rank(image, shape)


def decode_binary_image(
    label: int,
    filedata: bytes | memoryview | None,
    encoding: str,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = None,
    background_color: float = 0,
    num_threads: int = 0,
) -> np.ndarray:
    """A boolean mask of the voxels of one chunk equal to ``label``, shaped as
    :func:`decode` would return the chunk. A label encoding answers from its label
    table when the label is absent, without decoding the voxels."""
    codec = get_codec(encoding)
    if filedata and not isinstance(filedata, np.ndarray) and isinstance(codec, LabelCodec):
        spec = _spec(codec, encoding, filedata, shape, dtype, block_size, background_color)
        if not codec.contains(filedata, spec, label):
            return _in_rank(np.zeros(spec.shape, dtype=bool, order="F"), shape)
    image = decode(filedata, encoding, shape, dtype, block_size, background_color)
    if not label_can_occur(label, image.dtype):
        return np.zeros(image.shape, dtype=bool, order="F")
    return np.asarray(image == label)


def _in_rank(image: np.ndarray, shape: Any) -> np.ndarray:
    """``image`` (4-D) as 3-D when ``shape`` is 3-D or absent, as CloudVolume
    reshapes decoded chunks to the shape it was given."""
    if (shape is None or len(shape) == 3) and image.ndim == 4 and image.shape[3] == 1:
        return image[..., 0]
    return image


def encode_compressed_segmentation(
    subvol: np.ndarray, block_size: Any = DEFAULT_CSEG_BLOCK_SIZE
) -> bytes:
    """A compressed_segmentation file for a uint32/uint64 ``(x, y, z[, c])`` array."""
    return encode(
        subvol, "compressed_segmentation", block_size=block_size or DEFAULT_CSEG_BLOCK_SIZE
    )


def decode_compressed_segmentation(
    bytestring: bytes | memoryview, shape: Any, dtype: Any, block_size: Any
) -> np.ndarray:
    """Decode a compressed_segmentation file; the result has ``shape``'s rank."""
    if block_size is None:
        raise ValueError("decoding compressed_segmentation needs its block_size")
    return decode(bytestring, "compressed_segmentation", shape, dtype, block_size)


# --------------------------------------------------------------------------- labels


def labels(
    filedata: bytes | memoryview | np.ndarray | None,
    encoding: str,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = None,
    background_color: float = 0,
) -> np.ndarray:
    """Sorted unique labels of a chunk, from the label table where the encoding has
    one (compressed_segmentation, compresso, crackle), else by decoding."""
    if isinstance(filedata, np.ndarray):
        return sorted_unique(filedata.ravel(order="K"))
    if not filedata:
        return np.zeros((0,), dtype=dtype)
    codec = get_codec(encoding)
    spec = _spec(codec, encoding, filedata, shape, dtype, block_size, background_color)
    if isinstance(codec, LabelCodec):
        return codec.labels(filedata, spec)
    return sorted_unique(codec.decode(filedata, spec).ravel(order="K"))


def remap(
    filedata: bytes | memoryview | np.ndarray | None,
    encoding: str,
    mapping: Mapping[int, int],
    preserve_missing_labels: bool = False,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = None,
) -> Any:
    """The chunk re-encoded with every label ``k`` replaced by ``mapping[k]`` (a
    label missing from ``mapping`` raises ``KeyError`` unless
    ``preserve_missing_labels``). Label encodings rewrite their tables in place."""
    import fastremap

    if filedata is None or (not isinstance(filedata, np.ndarray) and len(filedata) == 0):
        return filedata
    codec = get_codec(encoding)
    if isinstance(filedata, np.ndarray):
        img = fastremap.remap(
            filedata, dict(mapping), preserve_missing_labels=preserve_missing_labels, in_place=False
        )
        return encode(img, encoding, block_size)
    spec = _spec(codec, encoding, filedata, shape, dtype, block_size)
    if isinstance(codec, RemapCodec):
        return codec.remap(filedata, spec, mapping, preserve_missing_labels)
    img = np.array(codec.decode(filedata, spec), order="F")
    fastremap.remap(
        img, dict(mapping), preserve_missing_labels=preserve_missing_labels, in_place=True
    )
    return encode(img, encoding, spec.block_size)


def read_voxel(
    xyz: Sequence[int],
    filedata: bytes | memoryview | np.ndarray | None,
    encoding: str,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = None,
    background_color: float = 0,
) -> np.ndarray:
    """One voxel (chunk-relative ``xyz``) as a ``(channels, 1, 1, 1)`` Fortran array,
    CloudVolume's layout. Label encodings decode at most one z slice."""
    point = (int(xyz[0]), int(xyz[1]), int(xyz[2]))
    if isinstance(filedata, np.ndarray):
        values = np.atleast_1d(filedata[point])
    else:
        codec = get_codec(encoding)
        spec = _spec(codec, encoding, filedata, shape, dtype, block_size, background_color)
        if not filedata:
            values = _background(spec)[point]
        elif isinstance(codec, VoxelCodec):
            values = codec.read_voxel(filedata, spec, point)
        else:
            values = codec.decode(filedata, spec)[point]
    return np.array(values[:, np.newaxis, np.newaxis, np.newaxis], order="F")


def contains(
    filedata: bytes | memoryview | np.ndarray | None,
    label: int,
    encoding: str,
    shape: Any = None,
    dtype: Any = None,
    block_size: Any = DEFAULT_CSEG_BLOCK_SIZE,
) -> bool:
    """Whether any voxel of the chunk holds ``label`` (from the label table where the
    encoding has one). Empty data is background 0."""
    if isinstance(filedata, np.ndarray):
        return bool(np.any(filedata == label)) if label_can_occur(label, filedata.dtype) else False
    if not filedata:
        return int(label) == 0
    codec = get_codec(encoding)
    spec = _spec(codec, encoding, filedata, shape, dtype, block_size)
    if isinstance(codec, LabelCodec):
        return codec.contains(filedata, spec, label)
    img = codec.decode(filedata, spec)
    return bool(np.any(img == label)) if label_can_occur(label, img.dtype) else False


# --------------------------------------------------------------------------- transcode


def transcode(
    image_chunks: Mapping[Any, bytes] | Iterable[tuple[Any, bytes]],
    src_encoding: str,
    dest_encoding: str,
    src_chunk_size_fn: Callable[[Any], Sequence[int]],
    dtype: Any,
    background_color: float = 0,
    progress: bool = False,
    in_place: bool = False,
    src_block_size: Any = DEFAULT_CSEG_BLOCK_SIZE,
    dest_block_size: Any = DEFAULT_CSEG_BLOCK_SIZE,
    compression_params: Mapping[str, Any] | None = None,
    force: bool = False,
    total: int | None = None,
    num_threads: int = 1,
    dest_chunk_size_fn: Callable[[Any], Sequence[int]] | None = None,
) -> Iterator[tuple[Any, bytes]]:
    """Yield ``(chunk id, bytes)`` re-encoded from ``src_encoding`` to ``dest_encoding``.

    Same encodings pass through unless ``force``; jpeg <-> jxl at level >= 100 is a
    lossless bitstream transcode; otherwise each chunk is decoded (shape from
    ``src_chunk_size_fn(id)``), cropped or padded with ``background_color`` to
    ``dest_chunk_size_fn(id)`` if given, and encoded with ``compression_params``."""
    from tqdm import tqdm

    items = image_chunks.items() if isinstance(image_chunks, Mapping) else image_chunks
    if total is None and hasattr(image_chunks, "__len__"):
        total = len(image_chunks)  # type: ignore[arg-type]
    itr = tqdm(items, disable=not progress, desc="Transcoding", total=total)
    params = dict(compression_params or {})
    level = params.get("level", 100) or 100
    src, dest = src_encoding.lower(), dest_encoding.lower()
    if src == dest and not force:
        yield from itr
        return
    if {src, dest} == {"jpeg", "jxl"} and level >= 100:
        import imagecodecs

        convert = (
            imagecodecs.jpegxl_encode_jpeg if dest == "jxl" else imagecodecs.jpegxl_decode_jpeg
        )
        for key, binary in itr:
            yield key, bytes(convert(binary, numthreads=num_threads))
        return
    for key, binary in itr:
        image = _as4d(
            decode(
                binary, src, shape=src_chunk_size_fn(key), dtype=dtype,
                block_size=src_block_size, background_color=background_color,
            )
        )  # fmt: skip
        if dest_chunk_size_fn is not None:
            image = _fit_shape(image, dest_chunk_size_fn(key), background_color)
        yield key, encode(image, dest, block_size=dest_block_size, compression_params=params)


def _fit_shape(image: np.ndarray, shape: Sequence[int], background_color: float) -> np.ndarray:
    """``image`` cropped or padded (with ``background_color``) to ``shape``."""
    target = tuple(int(s) for s in shape)
    target = target + (image.shape[3],) * (4 - len(target))
    if image.shape == target:
        return image
    image = image[tuple(slice(0, min(c, t)) for c, t in zip(image.shape, target, strict=True))]
    pad = [(0, t - c) for c, t in zip(image.shape, target, strict=True)]
    return np.pad(image, pad, mode="constant", constant_values=background_color)
