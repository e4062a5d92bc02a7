"""Listing semantics shared by every backend (CloudFiles' ``list(prefix, flat)``).

``prefix`` is a plain string prefix of keys, not a directory: ``list("8_8_8/0-64")``
yields every chunk key beginning that way. ``flat=True`` yields one level only:
keys directly under the prefix's directory plus each subdirectory once, as
``"name/"``. A flat prefix naming exactly one directory without its slash
(``"8_8_8"``) lists that directory's content, as CloudFiles does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from cloudvol.storage.compression import split_suffix

__all__ = ["list_keys", "parent_dir"]

Walk = Callable[[str], Iterable[str]]
Scan = Callable[[str], tuple[Iterable[str], Iterable[str]]]


def parent_dir(prefix: str) -> str:
    """The directory part of ``prefix`` with its trailing slash (``""`` at the root)."""
    return prefix[: prefix.rfind("/") + 1]


def list_keys(
    prefix: str,
    flat: bool,
    *,
    walk: Walk,
    scan: Scan,
    strip_suffixes: bool,
) -> Iterator[str]:
    """Sorted, de-duplicated keys under ``prefix``.

    ``walk(dir)`` yields every stored name below ``dir`` (recursively), ``scan(dir)``
    returns ``(files, subdirectories)`` directly in ``dir``; both take and return
    names relative to the store root. With ``strip_suffixes`` (local and memory
    stores) ``key.gz`` and ``key`` both list as ``key``.
    """

    def logical(name: str) -> str:
        return split_suffix(name)[0] if strip_suffixes else name

    parent = parent_dir(prefix)
    if not flat:
        keys = {logical(name) for name in walk(parent)}
        return iter(sorted(k for k in keys if k.startswith(prefix)))
    files, dirs = scan(parent)
    entries = {logical(name) for name in files}
    entries.update(d.rstrip("/") + "/" for d in dirs)
    matched = sorted(e for e in entries if e.startswith(prefix))
    if prefix and not prefix.endswith("/") and matched == [prefix + "/"]:
        return list_keys(prefix + "/", True, walk=walk, scan=scan, strip_suffixes=strip_suffixes)
    return iter(matched)
