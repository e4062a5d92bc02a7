"""Chunk coding in helper processes, for codecs whose binding holds the GIL.

Threads decode chunks side by side only where the native library releases the GIL.
compresso's binding holds it for both directions, and compressed_segmentation's binding
for encoding (measured: 0.95-1.0x from a second thread; cloudvol calls its C++ entry
point without the GIL where the extension exports it), so for requests of several
such chunks the helpers of :mod:`cloudvol.codecs.worker_pool` code them. Helpers
start in the background on the first such request; until one is ready, chunks are
coded here, so a request never waits for helpers to start. Once helpers run, a
thread whose chunk finds them all busy waits for one rather than coding the chunk
itself: a thread in the binding holds the GIL for milliseconds, stalling the threads
that feed the helpers (256³ compresso layer on 2 cores: writes 550-670 → 810-1045
MB/s, reads 1000-1160 → 1090-1580 MB/s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cloudvol.codecs import ChunkSpec, Codec
from cloudvol.codecs.worker_pool import NOT_RUN, WorkerCrashed, portable_spec, shared_pool
from cloudvol.exceptions import DecodingError, EncodingError

__all__ = ["MIN_CHUNKS", "decode", "decode_to", "encode", "warm_up"]

MIN_CHUNKS = 4
"""Fewest chunks of a GIL-bound codec in one request that start helpers."""


def holds_gil(codec: Codec, encoding: bool) -> bool:
    attr = "encode_holds_gil" if encoding else "decode_holds_gil"
    return bool(getattr(codec, attr, False))


def warm_up(codec: Codec, nchunks: int, encoding: bool = False) -> None:
    """Start helpers (without waiting) if a request of ``nchunks`` chunks of ``codec``
    would code them one at a time in this process. Never raises. A codec that wraps
    another (``inner``, as label masks do) is judged by the one it wraps."""
    codec = getattr(codec, "inner", codec)
    if nchunks >= MIN_CHUNKS and holds_gil(codec, encoding):
        pool = shared_pool()
        if pool is not None:
            pool.start()


def decode(codec: Codec, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
    """``codec.decode(data, spec)``, in a helper if the codec holds the GIL."""
    result = _decode_in_helper(codec, data, spec, None)
    return codec.decode(data, spec) if result is NOT_RUN else result


def decode_to(
    codec: Codec, data: bytes | memoryview, spec: ChunkSpec, paint: Callable[[np.ndarray], None]
) -> None:
    """``paint(codec.decode(data, spec))``, decoding in a helper if the codec holds
    the GIL; ``paint`` then reads the chunk straight from the helper's scratch file
    (so the chunk is only valid during the call)."""
    if _decode_in_helper(codec, data, spec, paint) is NOT_RUN:
        paint(codec.decode(data, spec))


def _decode_in_helper(
    codec: Codec,
    data: bytes | memoryview,
    spec: ChunkSpec,
    consume: Callable[[np.ndarray], Any] | None,
) -> Any:
    """The decoded chunk (or ``consume``'s result), or NOT_RUN: not for helpers."""
    if not holds_gil(codec, False):
        return NOT_RUN
    args = (codec.name, bytes(data), portable_spec(spec))
    try:
        return _in_helper("decode_chunk", args, consume=consume)
    except WorkerCrashed as err:
        raise DecodingError(f"{codec.name} chunk {spec.key}: {err.describe('decoder')}") from None


def encode(codec: Codec, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
    """``codec.encode(array, spec)``, in a helper if the codec holds the GIL."""
    if holds_gil(codec, True):
        try:
            result = _in_helper("encode_chunk", (codec.name, portable_spec(spec)), array)
        except WorkerCrashed as err:
            raise EncodingError(
                f"{codec.name} chunk {spec.key}: {err.describe('encoder')}"
            ) from None
        if result is not NOT_RUN:
            return result
    return codec.encode(array, spec)


def _in_helper(
    function: str,
    args: tuple[Any, ...],
    array: np.ndarray | None = None,
    consume: Callable[[np.ndarray], Any] | None = None,
) -> Any:
    pool = shared_pool()
    if pool is None:
        return NOT_RUN
    function = f"cloudvol.codecs.worker_pool:{function}"
    return pool.run(function, args, array=array, wait="started", consume=consume)
