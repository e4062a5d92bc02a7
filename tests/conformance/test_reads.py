"""Reading: the same behaviour from every backend."""

from __future__ import annotations

import gzip
import os

import brotli
import numpy as np
import pytest
import zstandard
from backends import Backend

RAW_COMPRESSORS = {
    # Independent implementations of each format, so a read is not only checked
    # against cloudvol's own writer.
    "gzip": lambda b: gzip.compress(b, compresslevel=9),
    "br": lambda b: brotli.compress(b),
    "zstd": lambda b: zstandard.ZstdCompressor(level=3).compress(b),
}


def test_missing_key_reads_as_none(backend: Backend) -> None:
    store = backend.store
    assert store.get("does/not/exist") is None
    assert store.get_many(["nope1", "nope2"]) == {"nope1": None, "nope2": None}
    assert store.exists_many(["nope1"]) == {"nope1": False}
    assert store.size("nope1") is None


def test_present_and_missing_keys_in_one_batch(backend: Backend) -> None:
    backend.put("here", b"value")
    assert backend.store.get_many(["here", "gone"]) == {"here": b"value", "gone": None}


def test_empty_value_round_trips(backend: Backend) -> None:
    backend.put("empty", b"")
    backend.put("empty-gz", b"", "gzip")
    assert backend.store.get("empty") == b""
    assert backend.store.get("empty-gz") == b""
    assert backend.store.exists_many(["empty", "empty-gz"]) == {"empty": True, "empty-gz": True}
    assert backend.store.size("empty") == 0


def test_nested_keys_and_binary_values(backend: Backend) -> None:
    rng = np.random.default_rng(1)
    values = {f"8_8_8/{i}-{i + 64}_0-64_0-64": rng.bytes(1000 + i) for i in range(5)}
    for key, value in values.items():
        backend.put(key, value)
    assert backend.store.get_many(values) == values


def test_get_iter_yields_each_requested_key_once(backend: Backend) -> None:
    for i in range(10):
        backend.put(f"k{i}", bytes([i]) * 10)
    keys = [f"k{i}" for i in range(10)] + ["k3", "missing"]
    got = list(backend.store.get_iter(keys))
    assert sorted(k for k, _ in got) == sorted({*keys})
    assert dict(got)["k3"] == b"\x03" * 10 and dict(got)["missing"] is None


@pytest.mark.parametrize("method", ["gzip", "br", "zstd"])
def test_compressed_round_trip_is_transparent(backend: Backend, method: str) -> None:
    value = b"segmentation " * 5000
    backend.put("chunk", value, method)
    assert backend.store.get("chunk") == value
    assert backend.store.get_many(["chunk"]) == {"chunk": value}
    assert backend.store.exists_many(["chunk"]) == {"chunk": True}
    assert backend.stored_encoding("chunk") == method


@pytest.mark.parametrize("method", ["gzip", "br", "zstd"])
def test_reads_objects_stored_in_the_backends_native_convention(
    backend: Backend, method: str
) -> None:
    """``key.gz`` files on disk and in memory; Content-Encoding on objects and HTTP."""
    value = os.urandom(2000) + b"\0" * 50_000
    backend.seed_raw("native", RAW_COMPRESSORS[method](value), method)
    assert backend.store.get("native") == value
    assert backend.store.exists_many(["native"]) == {"native": True}


def test_plain_and_compressed_objects_mix_in_one_batch(backend: Backend) -> None:
    backend.seed_raw("a", b"plain", None)
    backend.seed_raw("b", gzip.compress(b"zipped"), "gzip")
    assert backend.store.get_many(["a", "b"]) == {"a": b"plain", "b": b"zipped"}


def test_corrupt_gzip_names_the_key_and_method(backend: Backend) -> None:
    from cloudvol.exceptions import DecompressionError

    backend.seed_raw("bad", b"\x1f\x8bnot really gzip", "gzip")
    with pytest.raises(DecompressionError) as err:
        backend.store.get("bad")
    assert "bad" in str(err.value) and "gzip" in str(err.value)


@pytest.mark.slow
def test_value_over_64_mib(backend: Backend) -> None:
    rng = np.random.default_rng(7)
    value = rng.bytes(65 * 1024 * 1024 + 123)
    backend.put("big", value)
    got = backend.store.get("big")
    assert got is not None and len(got) == len(value) and got == value
    assert backend.store.size("big") == len(value)
