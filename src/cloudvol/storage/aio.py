"""One background asyncio event loop per process, for the object-store backends.

obstore's API is async; cloudvol's storage API is synchronous and batch-first. All
network requests therefore run as coroutines on a single loop living in a daemon
thread, started on first use. Callers block on the result with :func:`run` (or
:func:`submit` for a future). This works the same from scripts, threads and code
that already runs inside an event loop (Jupyter), because the caller's loop is
never used or blocked by ours.

After ``os.fork()`` the child has no loop thread (threads do not survive fork), so
the module forgets it and the child starts its own on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_CONCURRENCY",
    "bounded_gather",
    "get_loop",
    "in_loop_thread",
    "run",
    "submit",
]

T = TypeVar("T")

DEFAULT_CONCURRENCY = 32
"""Requests in flight per batch call (measured best for obstore on 2-8 cores)."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The process's background event loop, started on first call."""
    global _loop, _thread
    loop = _loop
    if loop is not None:
        return loop
    with _lock:
        if _loop is None:
            new_loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(new_loop)
                new_loop.call_soon(ready.set)
                new_loop.run_forever()

            thread = threading.Thread(target=serve, name="cloudvol-aio", daemon=True)
            thread.start()
            ready.wait()
            _thread, _loop = thread, new_loop
        return _loop


def in_loop_thread() -> bool:
    """Whether the caller is running on the background loop's own thread."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the background loop; returns a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the background loop and block until it finishes.

    Interrupting the wait (Ctrl-C, ``timeout``) cancels the coroutine. Calling this
    from the loop thread itself would deadlock, so it raises ``RuntimeError``.
    """
    if in_loop_thread():
        coro.close()
        raise RuntimeError("cloudvol.storage.aio.run() called from the storage event loop")
    future = submit(coro)
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise


async def bounded_gather(
    factories: Iterable[Callable[[], Awaitable[T]]],
    limit: int = DEFAULT_CONCURRENCY,
) -> list[T]:
    """Await ``factory()`` for each factory with at most ``limit`` in flight.

    Results are in input order. Factories are called lazily, so a long iterable
    never has more than ``limit`` coroutines alive. The first exception cancels the
    rest and propagates.
    """
    semaphore = asyncio.Semaphore(max(1, limit))
    tasks: list[asyncio.Task[T]] = []
    failed: list[BaseException] = []

    async def guarded(factory: Callable[[], Awaitable[T]]) -> T:
        try:
            return await factory()
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            semaphore.release()

    try:
        for factory in factories:
            await semaphore.acquire()
            if failed:  # stop starting new work once something failed
                semaphore.release()
                break
            tasks.append(asyncio.ensure_future(guarded(factory)))
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        # Let cancelled tasks finish so no request outlives the call.
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _forget_loop_after_fork() -> None:
    global _loop, _thread, _lock
    _loop, _thread, _lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_loop_after_fork)
