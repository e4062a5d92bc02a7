"""Coalescing ranged reads into fewer, larger requests.

Sharded volumes read many small pieces of the same shard file (indexes, then
chunks). Per request cost dominates small reads, so ranges of one object whose
gap is at most ``gap`` bytes are merged into one request of at most ``max_size``
bytes (zarr-python v3 uses 1 MiB and 16 MiB; our measurements are in
``docs/storage.md``). Each original range is then cut out of its merged request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cloudvol.storage.base import ByteRange

__all__ = ["MergedRequest", "coalesce"]


@dataclass(slots=True)
class MergedRequest:
    """One request ``[start, end)`` of ``key`` serving several original ranges.

    ``parts`` holds ``(index into the caller's list, offset in this request, length)``.
    """

    key: str
    start: int
    end: int
    parts: list[tuple[int, int, int]] = field(default_factory=list)


def coalesce(ranges: Sequence[ByteRange], gap: int, max_size: int) -> list[MergedRequest]:
    """Group ``ranges`` into merged requests. Empty ranges are left out (they need
    no request); overlapping and duplicate ranges share one request."""
    order = sorted(
        (i for i, r in enumerate(ranges) if r.length > 0),
        key=lambda i: (ranges[i].key, ranges[i].start, ranges[i].end),
    )
    merged: list[MergedRequest] = []
    current: MergedRequest | None = None
    members: list[int] = []
    for i in order:
        r = ranges[i]
        if (
            current is not None
            and r.key == current.key
            and r.start - current.end <= gap
            and max(current.end, r.end) - current.start <= max_size
        ):
            current.end = max(current.end, r.end)
            members.append(i)
            continue
        if current is not None:
            _finish(current, members, ranges)
            merged.append(current)
        current, members = MergedRequest(r.key, r.start, r.end), [i]
    if current is not None:
        _finish(current, members, ranges)
        merged.append(current)
    return merged


def _finish(request: MergedRequest, members: list[int], ranges: Sequence[ByteRange]) -> None:
    request.parts = [(i, ranges[i].start - request.start, ranges[i].length) for i in members]
