"""The background event loop, worker pools, fork behaviour and range coalescing."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.paths import CloudPath
from cloudvol.storage import ByteRange, StorageOptions, aio, open_store
from cloudvol.storage.ranges import coalesce
from cloudvol.storage.threads import imap_unordered
from servers import RangeHTTPServer


def test_run_works_from_inside_a_running_event_loop() -> None:
    """As in Jupyter: synchronous storage calls from code running in a loop."""

    async def inner() -> int:
        await asyncio.sleep(0)
        return 7

    async def caller() -> int:
        return aio.run(inner())  # blocks this loop briefly; ours does the work

    assert asyncio.run(caller()) == 7


def test_one_loop_thread_per_process() -> None:
    loop = aio.get_loop()
    assert aio.get_loop() is loop
    names = [t.name for t in threading.enumerate()].count("cloudvol-aio")
    assert names == 1


def test_run_from_the_loop_thread_is_refused() -> None:
    async def nested() -> None:
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="event loop"):
            aio.run(coro)

    aio.run(nested())


def test_bounded_gather_limits_concurrency_and_keeps_order() -> None:
    active = 0
    peak = 0

    async def job(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.001)
        active -= 1
        return i

    result = aio.run(aio.bounded_gather((lambda i=i: job(i) for i in range(100)), limit=5))
    assert result == list(range(100))
    assert peak == 5


def test_bounded_gather_stops_on_first_failure() -> None:
    started: list[int] = []

    async def job(i: int) -> int:
        started.append(i)
        await asyncio.sleep(0.001)
        if i == 3:
            raise KeyError("boom")
        return i

    with pytest.raises(KeyError):
        aio.run(aio.bounded_gather((lambda i=i: job(i) for i in range(1000)), limit=4))
    assert len(started) < 50


def test_imap_unordered_bounded_window_and_errors() -> None:
    seen: list[int] = []

    def source():
        for i in range(100):
            seen.append(i)
            yield i

    it = imap_unordered(lambda x: x * 2, source(), threads=4, window=8)
    first = next(it)
    assert first % 2 == 0 and len(seen) <= 9
    assert sorted([first, *it]) == [2 * i for i in range(100)]

    def fail(x: int) -> int:
        if x == 5:
            raise ValueError("bad item")
        return x

    with pytest.raises(ValueError, match="bad item"):
        list(imap_unordered(fail, range(20), threads=3))


def _child_uses_storage(root: str, url: str, port: str, queue) -> None:  # pragma: no cover - child
    try:
        local = open_store(CloudPath("precomputed", "file", "", root))
        local.put("from-child", b"ok")
        loop_ok = aio.run(asyncio.sleep(0, result="loop ok"))
        http = open_store(
            CloudPath("precomputed", "http", f"127.0.0.1:{port}", "", host=url),
            StorageOptions(max_retries=0),
        )
        try:
            http.get("x")
            cloud = "no error"
        except Exception as exc:
            cloud = type(exc).__name__ + ": " + str(exc)
        queue.put((local.get("from-child"), loop_ok, cloud))
    except BaseException as exc:
        queue.put(repr(exc))


def test_forked_child_gets_a_fresh_loop_and_a_clear_error_for_cloud_io(
    tmp_path: Path, http_server: RangeHTTPServer
) -> None:
    """Local IO and the event loop work in a forked child; obstore's runtime does
    not survive fork, so cloud requests fail fast with advice instead of hanging."""
    port = http_server.url.rsplit(":", 1)[1]
    open_store(
        CloudPath("precomputed", "http", f"127.0.0.1:{port}", "", host=http_server.url),
        StorageOptions(max_retries=0),
    ).get("warm-up")  # the parent has used obstore
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(
        target=_child_uses_storage, args=(str(tmp_path), http_server.url, port, queue)
    )
    child.start()
    result = queue.get(timeout=30)
    child.join(10)
    assert result[0] == b"ok" and result[1] == "loop ok"
    assert result[2].startswith("StorageError") and "spawn" in result[2]
    assert os.path.exists(tmp_path / "from-child")


# --- coalescing ----------------------------------------------------------------------


def test_coalesce_merges_close_ranges_and_splits_far_ones() -> None:
    ranges = [ByteRange("a", 0, 10), ByteRange("a", 20, 30), ByteRange("a", 5000, 5010),
              ByteRange("b", 0, 10), ByteRange("a", 25, 28), ByteRange("a", 40, 40)]  # fmt: skip
    merged = coalesce(ranges, gap=100, max_size=1000)
    spans = [(m.key, m.start, m.end) for m in merged]
    assert spans == [("a", 0, 30), ("a", 5000, 5010), ("b", 0, 10)]
    assert sorted(i for m in merged for i, _, _ in m.parts) == [0, 1, 2, 3, 4]


def test_coalesce_caps_request_size() -> None:
    ranges = [ByteRange("a", i * 100, i * 100 + 100) for i in range(100)]
    merged = coalesce(ranges, gap=1 << 20, max_size=1000)
    assert all(m.end - m.start <= 1000 for m in merged)
    assert len(merged) == 10


@settings(max_examples=200, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.sampled_from("ab"), st.integers(0, 5000), st.integers(0, 300)), max_size=40
    ),
    gap=st.integers(0, 2000),
    max_size=st.integers(1, 4000),
)
def test_coalesce_reconstructs_every_range(spans, gap: int, max_size: int) -> None:
    data = {k: bytes((i * 7 + ord(k)) % 256 for i in range(6000)) for k in "ab"}
    ranges = [ByteRange(k, s, s + n) for k, s, n in spans]
    out = [b""] * len(ranges)
    for m in coalesce(ranges, gap, max_size):
        assert m.end - m.start <= max(max_size, max(r.length for r in ranges))
        blob = data[m.key][m.start : m.end]
        for i, off, length in m.parts:
            out[i] = blob[off : off + length]
    assert out == [data[r.key][r.start : r.end] for r in ranges]
