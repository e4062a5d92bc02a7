"""``zfpc``: a container of zfp streams (CloudVolume-only encoding).

The scale's ``zfpc_rate`` (bits per value), ``zfpc_precision`` (bit planes) and
``zfpc_tolerance`` (absolute error) pick zfp's fixed-rate, fixed-precision or
fixed-accuracy mode — at most one, -1 or absent meaning unset, none meaning
reversible (lossless). ``zfpc_correlated_dims`` (four booleans for x, y, z, channel,
default all true) says which axes are compressed together; the others are split
into separate streams (e.g. ``[true, true, true, false]``: one stream per channel).
The container format is in :mod:`cloudvol.codecs.zfpc_container`.

Writes match ``zfpc.compress`` (what CloudVolume calls) byte for byte. Reads return
the chunk's own type; cloud-volume returns every zfpc chunk as float32, so float64
layers written with this encoding lose precision when cloud-volume reads them.

zfpy (zfp 1.0.1) releases the GIL while zfp compresses or decompresses a stream
(measured: a pure-Python thread kept 95-100% of its speed over back-to-back 64³
reversible calls, ~65% over ~3 ms lossy encodes, whose output copy holds the GIL),
so chunks on a 2-thread pool code ~2x as fast as on one thread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from cloudvol.codecs.base import ChunkSpec
from cloudvol.codecs.zfpc_container import ZfpcError, ZfpcHeader, ZfpcParams, compress, decompress
from cloudvol.exceptions import DecodingError, EncodingError

__all__ = ["ZfpcCodec", "params_from_options"]

_WRITABLE = (np.dtype(np.float32), np.dtype(np.float64))


def _option(options: Mapping[str, Any], name: str) -> Any:
    """The scale field ``zfpc_<name>``, else ``<name>`` (the keyword CloudVolume's
    ``chunks.encode`` passes on to ``zfpc.compress``), else ``None``."""
    value = options.get(f"zfpc_{name}")
    return options.get(name) if value is None else value


def _number(options: Mapping[str, Any], name: str, what: str) -> float:
    value = _option(options, name)
    if value is None:
        return -1.0
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise EncodingError(f"{what}: zfpc_{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise EncodingError(f"{what}: zfpc_{name} must be finite, got {value!r}")
    return float(value)


def params_from_options(options: Mapping[str, Any], what: str = "zfpc") -> ZfpcParams:
    """:class:`ZfpcParams` from a scale's ``zfpc_*`` fields or the plain names
    ``rate``/``precision``/``tolerance``/``correlated_dims`` (CloudVolume's defaults:
    -1 for each mode setting, all axes correlated); bad values raise
    :class:`EncodingError` naming ``what``."""
    rate = _number(options, "rate", what)
    tolerance = _number(options, "tolerance", what)
    precision = _number(options, "precision", what)
    if precision != int(precision):
        raise EncodingError(f"{what}: zfpc_precision must be an integer, got {precision}")
    dims = _option(options, "correlated_dims")
    if dims is None:
        dims = (True, True, True, True)
    if not isinstance(dims, list | tuple) or not all(
        isinstance(d, bool | int | np.bool_ | np.integer) and d in (0, 1) for d in dims
    ):
        raise EncodingError(f"{what}: zfpc_correlated_dims must be 4 booleans, got {dims!r}")
    try:
        return ZfpcParams(
            rate=rate,
            precision=int(precision),
            tolerance=tolerance,
            correlated=tuple(bool(d) for d in dims),  # type: ignore[arg-type]
        )
    except ValueError as err:
        raise EncodingError(f"{what}: {err}") from None


class ZfpcCodec:
    """float32/float64 chunks, any channel count; lossless unless a mode is set."""

    name = "zfpc"
    transport_compressed_by_default = False
    content_type = "image/x.zfpc"

    def check(self, dtype: np.dtype, num_channels: int) -> None:
        if np.dtype(dtype) not in _WRITABLE:
            raise EncodingError(
                f"zfpc encoding cannot store dtype {dtype}: it takes float32 or float64"
            )
        if num_channels < 1:
            raise EncodingError(f"zfpc encoding needs at least one channel, got {num_channels}")

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes | memoryview:
        what = f"zfpc chunk {spec.key}"
        if array.shape != spec.shape:
            raise EncodingError(f"{what}: array shape {array.shape} != chunk shape {spec.shape}")
        self.check(spec.dtype, spec.shape[3])
        params = params_from_options(spec.options, what)
        try:
            return compress(np.asarray(array, dtype=spec.dtype), params)
        except (ValueError, RuntimeError) as err:  # zfpy rejected the parameters
            raise EncodingError(f"{what}: zfp cannot encode the chunk ({err})") from None

    def decode(self, data: bytes | memoryview, spec: ChunkSpec) -> np.ndarray:
        try:
            return decompress(data, spec.shape, np.dtype(spec.dtype))
        except ZfpcError as err:
            raise DecodingError(f"zfpc chunk {spec.key}: {err}") from None

    def describe(self, data: bytes | memoryview) -> tuple[tuple[int, int, int, int], np.dtype]:
        """``((x, y, z, channels), dtype)`` from the container header (absent trailing
        axes count as 1). cloud-volume insists on a shape for zfpc; this is a convenience."""
        try:
            header = ZfpcHeader.unpack(data)
        except ZfpcError as err:
            raise DecodingError(f"zfpc stream: {err}") from None
        x, y, z, c = (*header.dims, 1, 1, 1)[:4]
        return (x, y, z, c), header.dtype
