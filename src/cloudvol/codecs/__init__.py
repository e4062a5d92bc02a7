"""Chunk codecs, one module per encoding, selected by the info ``encoding`` name.

Adding an encoding is adding a module and one line in ``_REGISTRY``.
"""

from __future__ import annotations

from cloudvol.codecs.base import ChunkSpec, Codec
from cloudvol.codecs.raw import RawCodec
from cloudvol.exceptions import UnsupportedFormatError

__all__ = ["ChunkSpec", "Codec", "available_encodings", "get_codec", "register_codec"]

_REGISTRY: dict[str, Codec] = {
    "raw": RawCodec(),
}


def register_codec(codec: Codec) -> None:
    """Make ``codec`` available under ``codec.name`` (lowercase)."""
    _REGISTRY[codec.name.lower()] = codec


def get_codec(encoding: str) -> Codec:
    """The codec for an info ``encoding`` string (case-insensitive)."""
    try:
        return _REGISTRY[encoding.lower()]
    except KeyError:
        raise UnsupportedFormatError(
            f"encoding {encoding!r} is not supported by this version of cloudvol; "
            f"available: {', '.join(sorted(_REGISTRY))}"
        ) from None


def available_encodings() -> list[str]:
    return sorted(_REGISTRY)
