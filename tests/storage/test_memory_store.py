"""MemoryStore: one process-wide registry, freeing memory, thread safety."""

from __future__ import annotations

import threading

import pytest

from cloudvol.paths import CloudPath
from cloudvol.storage import PutOptions, StorageOptions, free_memory, memory_usage, open_store
from servers import unique_name


def _mem(bucket: str, path: str = "ds/layer", **options: object):
    return open_store(CloudPath("precomputed", "mem", bucket, path), StorageOptions(**options))  # type: ignore[arg-type]


def test_two_stores_on_one_path_share_data() -> None:
    bucket = unique_name("mem")
    writer, reader = _mem(bucket), _mem(bucket)
    writer.put("info", b"{}", PutOptions(compress="gzip"))
    assert reader.get("info") == b"{}"
    assert list(_mem(bucket, "ds").list()) == ["layer/info"]
    free_memory(bucket)


def test_free_memory_by_bucket_path_and_all() -> None:
    a, b = unique_name("mem"), unique_name("mem")
    _mem(a, "ds/one").put("k", b"x" * 100)
    _mem(a, "ds/two").put("k", b"y" * 50)
    _mem(b).put("k", b"z" * 10)
    assert memory_usage(a) == 150
    assert free_memory(CloudPath("precomputed", "mem", a, "ds/one")) == 100
    assert _mem(a, "ds/one").get("k") is None and _mem(a, "ds/two").get("k") == b"y" * 50
    assert free_memory(a) == 50
    assert memory_usage(a) == 0
    assert _mem(b).get("k") == b"z" * 10
    free_memory(b)
    with pytest.raises(ValueError, match="mem://"):
        free_memory(CloudPath("precomputed", "s3", "x", "y"))


def test_free_memory_without_argument_empties_everything() -> None:
    bucket = unique_name("mem")
    _mem(bucket).put("k", b"x")
    assert free_memory() >= 1
    assert _mem(bucket).get("k") is None


def test_stored_bytes_keep_the_compressed_form() -> None:
    bucket = unique_name("mem")
    store = _mem(bucket)
    store.put("k", b"a" * 100_000, PutOptions(compress="gzip"))
    assert memory_usage(bucket) < 1000
    store.put("k", b"a" * 100_000, PutOptions(compress="gzip"))  # replaces, no growth
    assert memory_usage(bucket) < 1000
    plain = _mem(bucket, local_suffixes=False)
    plain.put("p", b"b" * 1000, PutOptions(compress="gzip"))
    assert memory_usage(bucket) > 1000
    free_memory(bucket)


def test_concurrent_writers_and_readers() -> None:
    bucket = unique_name("mem")
    store = _mem(bucket)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                store.put(
                    f"{n}/{i}", bytes([n]) * 32, PutOptions(compress="gzip" if i % 2 else None)
                )
                assert store.get(f"{n}/{i}") == bytes([n]) * 32
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(list(store.list())) == 1600
    free_memory(bucket)
