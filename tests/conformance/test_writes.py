"""Writing, deleting and existence: the same behaviour from every writable backend."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import numpy as np
import pytest
from backends import Backend

from cloudvol.exceptions import CompressionError, UnsupportedStorageOperation
from cloudvol.storage import PutOptions


def test_put_many_accepts_mapping_pairs_and_memoryviews(backend: Backend) -> None:
    backend.require_writes()
    labels = np.arange(1000, dtype=np.uint64)
    backend.store.put_many({"m1": b"one", "m2": memoryview(b"two")})
    backend.store.put_many([("p1", memoryview(labels)), ("p2", bytearray(b"four"))])
    got = backend.store.get_many(["m1", "m2", "p1", "p2"])
    assert got["m1"] == b"one" and got["m2"] == b"two" and got["p2"] == b"four"
    assert np.array_equal(np.frombuffer(got["p1"], dtype=np.uint64), labels)


def test_more_than_a_hundred_concurrent_puts(backend: Backend) -> None:
    backend.require_writes()
    values = {f"chunks/{i:04d}": i.to_bytes(4, "little") * 256 for i in range(150)}
    backend.store.put_many(values, PutOptions(compress="gzip"))
    assert backend.store.get_many(values) == values
    assert list(backend.store.list("chunks/")) == sorted(values)


def test_overwrite_with_other_compression_replaces_every_variant(backend: Backend) -> None:
    backend.require_writes()
    store = backend.store
    store.put("k", b"first", PutOptions(compress="gzip"))
    store.put("k", b"second")
    assert store.get("k") == b"second"
    store.put("k", b"third", PutOptions(compress="br"))
    assert store.get("k") == b"third"
    assert backend.stored_encoding("k") == "br"
    assert [n for n in backend.stored_names() if n.startswith("k")] == (
        ["k.br"] if backend.local_naming else ["k"]
    )


def test_stale_plain_file_cannot_shadow_a_new_compressed_one(backend: Backend) -> None:
    backend.require_writes()
    backend.seed_raw("chunk", b"stale", None)
    backend.store.put("chunk", b"fresh", PutOptions(compress="gzip"))
    assert backend.store.get("chunk") == b"fresh"


def test_write_metadata_content_type_and_cache_control(backend: Backend) -> None:
    backend.require_writes()
    options = PutOptions(compress="gzip", content_type="application/json", cache_control="no-cache")
    backend.store.put("info", b"{}", options)
    assert backend.store.get("info") == b"{}"


def test_delete_removes_every_variant(backend: Backend) -> None:
    if backend.name == "http":
        pytest.skip("http is read-only (see test_http_rejects_writes)")
    backend.seed_raw("v", b"plain", None)
    if backend.local_naming:
        backend.seed_raw("v", gzip.compress(b"zipped"), "gzip")
    backend.seed_raw("other", b"x", None)
    assert backend.store.exists_many(["v", "other"]) == {"v": True, "other": True}
    backend.store.delete_many(["v", "never-existed"])
    assert backend.store.exists_many(["v", "other"]) == {"v": False, "other": True}
    assert backend.store.get("v") is None
    assert not [n for n in backend.stored_names() if n.startswith("v")]


def test_delete_of_missing_keys_is_not_an_error(backend: Backend) -> None:
    if backend.name == "http":
        pytest.skip("http is read-only")
    backend.store.delete_many(["a", "b/c"])
    backend.store.delete_many([])


def _generator_failing_after_one() -> Iterator[tuple[str, bytes]]:
    yield "good", b"written"
    raise RuntimeError("producer failed")


def test_failing_item_generator_leaves_no_partial_or_temp_files(backend: Backend) -> None:
    backend.require_writes()
    with pytest.raises(RuntimeError, match="producer failed"):
        backend.store.put_many(_generator_failing_after_one())
    assert backend.store.get("good") == b"written"
    assert backend.stored_names() == ["good"]


@pytest.mark.parametrize(
    ("value", "options", "error"),
    [
        (b"new value", PutOptions(compress="gzip", level=99), CompressionError),
        (b"new value", PutOptions(compress="zstd", level=99), CompressionError),
        (object(), PutOptions(), TypeError),
        (object(), PutOptions(compress="br"), TypeError),
    ],
    ids=["gzip-level", "zstd-level", "not-bytes", "not-bytes-br"],
)
def test_failed_write_keeps_the_old_value_and_leaves_no_temp_file(
    backend: Backend, value: object, options: PutOptions, error: type[Exception]
) -> None:
    """A value whose encoding fails must neither replace nor truncate the existing
    object, in a batch with good items too. (A failure after the bytes reached the
    temp file is tested on FileStore in tests/storage.)"""
    backend.require_writes()
    backend.store.put("target", b"old value", PutOptions(compress="gzip"))
    before = backend.stored_names()
    with pytest.raises(error):
        backend.store.put("target", value, options)  # type: ignore[arg-type]
    assert backend.store.get("target") == b"old value"
    assert backend.stored_names() == before


def test_strided_and_typed_buffers_are_stored_as_their_bytes(backend: Backend) -> None:
    backend.require_writes()
    grid = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    fortran = np.asfortranarray(grid)
    backend.store.put_many({
        "strided": memoryview(np.arange(100, dtype=np.uint8))[::2],
        "typed": memoryview(grid),
        "fortran": memoryview(fortran),
    })  # fmt: skip
    got = backend.store.get_many(["strided", "typed", "fortran"])
    assert got["strided"] == np.arange(0, 100, 2, dtype=np.uint8).tobytes()
    assert got["typed"] == grid.tobytes()
    assert got["fortran"] == grid.tobytes(order="F")


def test_http_rejects_writes_and_deletes(backend: Backend) -> None:
    if backend.name != "http":
        assert backend.store.capabilities.supports_deletes
        assert backend.store.capabilities.supports_writes
        return
    caps = backend.store.capabilities
    assert not caps.supports_writes and not caps.supports_deletes and not caps.supports_listing
    assert caps.supports_ranges
    for action in (
        lambda: backend.store.put("x", b"1"),
        lambda: backend.store.put_many({"x": b"1"}),
        lambda: backend.store.delete_many(["x"]),
        lambda: list(backend.store.list()),
    ):
        with pytest.raises(UnsupportedStorageOperation) as err:
            action()
        assert backend.store.url in str(err.value)
