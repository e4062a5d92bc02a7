"""Listing and ranged reads: the same behaviour from every backend."""

from __future__ import annotations

import gzip

import pytest
from backends import Backend

from cloudvol.exceptions import EmptyFileException
from cloudvol.storage import ByteRange

KEYS = ["a/1", "a/2", "a/b/3", "ab", "c"]


def _seed_tree(backend: Backend) -> None:
    for key in KEYS:
        backend.seed_raw(key, b"x", None)


@pytest.fixture
def listable(backend: Backend) -> Backend:
    if not backend.store.capabilities.supports_listing:
        pytest.skip(f"{backend.name} does not list (capability flag)")
    return backend


def test_recursive_listing_uses_string_prefixes(listable: Backend) -> None:
    _seed_tree(listable)
    store = listable.store
    assert list(store.list()) == KEYS
    assert list(store.list("a")) == ["a/1", "a/2", "a/b/3", "ab"]
    assert list(store.list("a/")) == ["a/1", "a/2", "a/b/3"]
    assert list(store.list("zzz")) == []


def test_flat_listing_shows_one_level_with_directories(listable: Backend) -> None:
    _seed_tree(listable)
    store = listable.store
    assert list(store.list("", flat=True)) == ["a/", "ab", "c"]
    assert list(store.list("a/", flat=True)) == ["a/1", "a/2", "a/b/"]
    assert list(store.list("a", flat=True)) == ["a/", "ab"]
    # A prefix naming exactly one directory lists inside it (CloudFiles does this).
    assert list(store.list("a/b", flat=True)) == ["a/b/3"]


def test_listing_strips_local_compression_suffixes(listable: Backend) -> None:
    listable.seed_raw("z/plain", b"x", None)
    listable.seed_raw("z/zipped", gzip.compress(b"x"), "gzip")
    assert list(listable.store.list("z/")) == ["z/plain", "z/zipped"]


def test_listing_is_confined_to_the_store_root(listable: Backend) -> None:
    listable.seed_raw("inside", b"x", None)
    assert list(listable.store.list()) == ["inside"]


def test_ranges_return_stored_bytes_in_request_order(backend: Backend) -> None:
    data = bytes(range(256)) * 40
    backend.seed_raw("shard", data, None)
    backend.seed_raw("other", b"0123456789", None)
    ranges = [
        ByteRange("shard", 1000, 1010),
        ByteRange("other", 2, 5),
        ByteRange("shard", 0, 4),
        ByteRange("shard", 5000, 5000),  # empty
        ByteRange("shard", 2, 8),  # overlaps the previous
        ByteRange("shard", len(data) - 3, len(data)),
    ]
    assert backend.store.get_ranges(ranges) == [
        data[1000:1010], b"234", data[0:4], b"", data[2:8], data[-3:],
    ]  # fmt: skip
    assert backend.store.get_ranges([]) == []


def test_ranges_of_a_missing_object_raise_empty_file(backend: Backend) -> None:
    with pytest.raises(EmptyFileException, match="missing-shard"):
        backend.store.get_ranges([ByteRange("missing-shard", 0, 10)])


def test_ranges_of_a_gzip_object_return_the_stored_gzip_bytes(backend: Backend) -> None:
    """On fake-gcs-server this is GCS's decompressive-transcoding case: without
    ``Accept-Encoding: gzip`` a ranged read of a gzip object fails there."""
    payload = b"transcoding " * 1000
    stored = gzip.compress(payload)
    backend.seed_raw("gz", stored, "gzip")
    assert backend.store.get("gz") == payload
    head, tail = backend.store.get_ranges([ByteRange("gz", 0, 10), ByteRange("gz", 20, 30)])
    assert head == stored[:10] and tail == stored[20:30]
    assert backend.store.size("gz") == len(stored)
