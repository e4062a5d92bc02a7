"""Chunk codecs, one module per encoding, selected by the info ``encoding`` name.

Adding an encoding is adding a module and one line in ``_MODULES``. Modules are
imported on first use, so a codec's native library is only needed when a layer
uses that encoding; a missing library is a clear error naming the extra to install.
"""

from __future__ import annotations

import importlib
import threading

from cloudvol.codecs.base import ChunkSpec, Codec
from cloudvol.exceptions import UnsupportedFormatError

__all__ = ["ChunkSpec", "Codec", "available_encodings", "get_codec", "register_codec"]

#: info ``encoding`` -> "module:class" implementing :class:`Codec`
_MODULES: dict[str, str] = {
    "raw": "cloudvol.codecs.raw:RawCodec",
    "png": "cloudvol.codecs.png:PngCodec",
    "jpeg": "cloudvol.codecs.jpeg:JpegCodec",
    "jxl": "cloudvol.codecs.jxl:JxlCodec",
    "compressed_segmentation": "cloudvol.codecs.compressed_segmentation:CompressedSegmentationCodec",
    "compresso": "cloudvol.codecs.compresso:CompressoCodec",
    "crackle": "cloudvol.codecs.crackle:CrackleCodec",
    "fpzip": "cloudvol.codecs.fpzip:FpzipCodec",
    "kempressed": "cloudvol.codecs.kempressed:KempressedCodec",
    "zfpc": "cloudvol.codecs.zfpc:ZfpcCodec",
}

_loaded: dict[str, Codec] = {}
_lock = threading.Lock()


def register_codec(codec: Codec) -> None:
    """Make ``codec`` available under ``codec.name`` (lowercase), replacing any other."""
    with _lock:
        _loaded[codec.name.lower()] = codec


def get_codec(encoding: str) -> Codec:
    """The codec for an info ``encoding`` string (case-insensitive)."""
    name = encoding.lower()
    codec = _loaded.get(name)
    if codec is not None:
        return codec
    target = _MODULES.get(name)
    if target is None:
        raise UnsupportedFormatError(
            f"encoding {encoding!r} is not a precomputed encoding cloudvol knows; "
            f"known: {', '.join(sorted(_MODULES))}"
        )
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            raise UnsupportedFormatError(
                f"encoding {encoding!r} is not available in this version of cloudvol"
            ) from None
        raise UnsupportedFormatError(
            f"encoding {encoding!r} needs the package {err.name!r}: pip install 'cloudvol[codecs]'"
        ) from err
    with _lock:
        codec = _loaded.setdefault(name, getattr(module, class_name)())
    return codec


def available_encodings() -> list[str]:
    """Every encoding name cloudvol knows (its library may still need installing)."""
    return sorted(set(_MODULES) | set(_loaded))
