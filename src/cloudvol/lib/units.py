"""Physical units: the metric length prefixes ``Bbox`` converts between, and the
long unit names (``"nanometer"``, ``"millisecond"``) used by OME-Zarr/N5 metadata.
"""

from __future__ import annotations

__all__ = [
    "UNIT_SCALES",
    "spatial_unit_in_meters",
    "time_unit_in_seconds",
    "unit_ratio",
]

# Length of one unit in metres, by the short names Bbox.unit uses ("vx" is not here:
# voxels have no physical length without a resolution).
UNIT_SCALES: dict[str, float] = {
    "pm": 1e-12,
    "nm": 1e-9,
    "um": 1e-6,
    "mm": 1e-3,
    "m": 1.0,
    "km": 1e3,
    "Mm": 1e6,
    "Gm": 1e9,
    "Tm": 1e12,
}

# Powers of ten of the same units, for exact ratios (1e-6 / 1e-9 is 999.999… in floats).
_UNIT_EXPONENTS: dict[str, int] = {
    "pm": -12,
    "nm": -9,
    "um": -6,
    "mm": -3,
    "m": 0,
    "km": 3,
    "Mm": 6,
    "Gm": 9,
    "Tm": 12,
}

_SPATIAL_UNITS_IN_METERS: dict[str, float] = {
    "meter": 1.0,
    "centimeter": 1e-2,
    "millimeter": 1e-3,
    "micrometer": 1e-6,
    "nanometer": 1e-9,
    "picometer": 1e-12,
    "femtometer": 1e-15,
    "angstrom": 1e-10,
    "foot": 0.3048,
    "yard": 3 * 0.3048,
    "inch": 0.0254,
}

_TIME_UNITS_IN_SECONDS: dict[str, float] = {
    "yottasecond": 1e24,
    "zettasecond": 1e21,
    "exasecond": 1e18,
    "petasecond": 1e15,
    "terasecond": 1e12,
    "gigasecond": 1e9,
    "megasecond": 1e6,
    "kilosecond": 1e3,
    "hectosecond": 1e2,
    "second": 1.0,
    "decisecond": 0.1,
    "centisecond": 1e-2,
    "millisecond": 1e-3,
    "microsecond": 1e-6,
    "nanosecond": 1e-9,
    "picosecond": 1e-12,
    "femtosecond": 1e-15,
    "attosecond": 1e-18,
    "zeptosecond": 1e-21,
    "minute": 60.0,
    "hour": 3600.0,
    "day": 24.0 * 3600.0,
}


def _check_length_unit(unit: str) -> None:
    if unit not in _UNIT_EXPONENTS:
        raise ValueError(
            f"Unknown length unit {unit!r}; expected one of {', '.join(UNIT_SCALES)} "
            "(or 'vx' for voxels where a Bbox unit is meant)."
        )


def unit_ratio(from_unit: str, to_unit: str) -> tuple[int, int]:
    """How many ``to_unit`` make one ``from_unit``, as an exact fraction ``(num, den)``.

    ``unit_ratio("um", "nm") == (1000, 1)``; ``unit_ratio("nm", "um") == (1, 1000)``.
    Both units are short metric names from ``UNIT_SCALES``.
    """
    _check_length_unit(from_unit)
    _check_length_unit(to_unit)
    exponent = _UNIT_EXPONENTS[from_unit] - _UNIT_EXPONENTS[to_unit]
    if exponent >= 0:
        return 10**exponent, 1
    return 1, 10**-exponent


def spatial_unit_in_meters(unit: str) -> float:
    """Metres in one ``unit``, for long names such as ``"nanometer"`` or ``"inch"``."""
    try:
        return _SPATIAL_UNITS_IN_METERS[unit]
    except KeyError:
        raise ValueError(f"unit not supported: {unit}") from None


def time_unit_in_seconds(unit: str) -> float:
    """Seconds in one ``unit``, for long names such as ``"millisecond"`` or ``"hour"``."""
    try:
        return _TIME_UNITS_IN_SECONDS[unit]
    except KeyError:
        raise ValueError(f"{unit} is not supported.") from None
