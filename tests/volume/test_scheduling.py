"""How per-chunk work is spread over threads for in-process stores."""

from __future__ import annotations

import threading
import time

from cloudvol.volume.read import BYTES_PER_THREAD, HEAVY_CHUNK_SECONDS, run_per_chunk


def run(nchunks: int, nbytes: int, seconds_per_chunk: float) -> tuple[list[int], set[int]]:
    done: list[int] = []
    threads: set[int] = set()
    lock = threading.Lock()

    def fn(i: int) -> None:
        end = time.perf_counter() + seconds_per_chunk
        while time.perf_counter() < end:
            pass
        with lock:
            done.append(i)
            threads.add(threading.get_ident())

    run_per_chunk(fn, nchunks, nbytes)
    return done, threads


def test_cheap_small_requests_stay_on_the_calling_thread():
    done, threads = run(16, BYTES_PER_THREAD // 2, 0)
    assert sorted(done) == list(range(16))
    assert threads == {threading.get_ident()}


def test_heavy_chunks_of_small_requests_go_to_workers():
    done, threads = run(16, BYTES_PER_THREAD // 2, HEAVY_CHUNK_SECONDS * 3)
    assert sorted(done) == list(range(16))
    assert len(threads) > 1


def test_large_requests_use_several_workers():
    done, threads = run(64, BYTES_PER_THREAD * 8, 0.0005)
    assert sorted(done) == list(range(64)) and len(threads) > 1
