"""Codec work in helper processes: for decoders that can crash, and for bindings that
hold the GIL.

Two problems share this one mechanism:

- **Isolation.** libfpzip (fpzip, kempressed) does not bounds-check its range
  decoder: nearly any damage to a stream's payload makes it read out of bounds and
  die of SIGSEGV or SIGFPE, taking the Python process with it. Decoding in a helper
  turns that into a :class:`~cloudvol.exceptions.DecodingError` naming the chunk.
- **Parallelism.** compresso's binding holds the GIL for a whole (de)compression, so
  threads take turns; helper processes decode side by side (the volume layer decides
  when that is worth it, see :mod:`cloudvol.volume.offload`).

Each helper is a persistent ``python -m cloudvol.codecs._worker_main`` child (not a
``multiprocessing`` child: it never re-imports the user's ``__main__``, so scripts
without an ``if __name__ == "__main__"`` guard still work). Jobs and small results
travel as pickles over a pipe; array results come back through a shared scratch
file (``memfd``) mapped by both sides, so a decoded chunk crosses by two memcpys
(into the file, then out of it, or straight into the caller's output), never through
a pipe or pickle.

``CLOUDVOL_WORKER_PROCESSES`` sets the most helpers (default: twice the cores, at
most 4);
``0`` runs everything in this process, trusting the data (a corrupt fpzip chunk can
then crash the interpreter, as it does in cloud-volume).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from cloudvol.codecs.worker_protocol import READY, ArrayHeader, Scratch, new_scratch, receive, send

__all__ = [
    "NOT_RUN",
    "WorkerCrashed",
    "WorkerPool",
    "WorkerUnavailable",
    "in_worker",
    "live_helper_pids",
    "run_isolated",
    "shared_pool",
    "worker_processes",
]

#: the longest a thread waits for a busy helper (``wait="started"``) before it codes
#: its chunk itself; chunk jobs take milliseconds
STARTED_WAIT_SECONDS = 2.0

#: the longest a job waits for a helper to finish starting (~0.3 s normally: the
#: imports); one that takes longer means helpers cannot run here (a hung import)
HELPER_START_SECONDS = 60.0

#: signals that mean the code in the helper failed (not that someone killed it)
FAULT_SIGNALS = frozenset({"SIGSEGV", "SIGFPE", "SIGBUS", "SIGILL", "SIGABRT"})

_IN_WORKER = False


def in_worker() -> bool:
    """Whether this process is a helper (code here must not hand work on again)."""
    return _IN_WORKER


def mark_worker() -> None:
    """Called once by the helper's main loop."""
    global _IN_WORKER
    _IN_WORKER = True


def worker_processes() -> int:
    """The most helpers: ``$CLOUDVOL_WORKER_PROCESSES``, else twice the cores, at most
    4 (1 on a single core).

    More helpers than cores because each one idles between jobs while the thread
    that fed it paints its result and fetches the next chunk. On 2 cores, a 256³
    compresso layer wrote at 810-1045 MB/s and read at 1500-1580 with 4 helpers,
    against 800-960 and 1090-1360 with 3 (no gain from 5: a request has at most 4
    threads to feed them)."""
    value = os.environ.get("CLOUDVOL_WORKER_PROCESSES", "").strip()
    if value:
        try:
            return max(0, int(value))
        except ValueError:
            pass
    cores = os.cpu_count() or 1
    return 1 if cores == 1 else min(4, 2 * cores)


Wait = bool | Literal["started"]
"""How :meth:`WorkerPool.run` waits for a helper (see there)."""


class WorkerUnavailable(Exception):
    """Helper processes cannot start in this environment."""


class WorkerCrashed(Exception):
    """A helper died during a job. ``reason`` says how (``SIGSEGV``, ``exit status 1``,
    ``interrupted``…); ``fault`` whether the code it ran crashed (a fault signal) rather
    than the process being killed from outside."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fault = reason in FAULT_SIGNALS

    def describe(self, what: str) -> str:
        """What happened to the job, for an error message: ``what`` (the code that
        ran, e.g. "fpzip decoder") crashed on corrupt data, or its process stopped."""
        if self.fault:
            return f"the {what} crashed ({self.reason}) on this data; it is corrupt"
        return f"the helper process running the {what} stopped ({self.reason})"


class _Helper:
    """One helper process and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        scratch_fd = new_scratch()
        fds = (to_child_r, from_child_w, scratch_fd)
        # The helper runs from the directory that holds the cloudvol package, so a
        # numpy.py or cloudvol/ in the caller's working directory cannot shadow the
        # real ones (``python -m`` puts the working directory first on sys.path).
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        paths = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cloudvol.codecs._worker_main", *map(str, fds)],
                pass_fds=fds,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                cwd=package_root,
                env=env,
            )
        except OSError as err:
            for fd in (to_child_w, from_child_r, *fds):
                os.close(fd)
            raise WorkerUnavailable(f"cannot start a helper process ({err})") from None
        os.close(to_child_r)
        os.close(from_child_w)
        self.to_child = os.fdopen(to_child_w, "wb", buffering=0)
        self.from_child = os.fdopen(from_child_r, "rb", buffering=0)
        self.scratch = Scratch(scratch_fd)
        self.ready = False
        self.closed = False

    def poll_ready(self, timeout: float | None) -> bool:
        """Whether the helper has finished starting (waits up to ``timeout`` seconds);
        :class:`WorkerCrashed` if it died instead."""
        if not self.ready:
            readable, _, _ = select.select([self.from_child], [], [], timeout)
            if not readable:
                return False
            if self.from_child.read(1) != READY:
                raise WorkerCrashed(self.exit_reason())
            self.ready = True
        return True

    def exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "unresponsive"
        if code < 0:
            try:
                return signal.Signals(-code).name
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"

    def call(
        self, function: str, args: tuple[Any, ...], array: np.ndarray | None
    ) -> tuple[str, Any]:
        """Run ``function(*args)`` in the helper and return its reply, ``("ok",
        result)`` or ``("raise", exception)``; an array result is an
        :class:`ArrayHeader` of the scratch file (see :meth:`take`). An ``array``
        argument travels through the scratch file and is passed first. Any exception
        here (the helper died, or this thread was interrupted mid-exchange) leaves
        the pipe out of step: the caller must discard the helper."""
        header = None if array is None else self.scratch.store(array)
        try:
            send(self.to_child, (function, args, header))
            return receive(self.from_child)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise WorkerCrashed(self.exit_reason()) from None

    def take(self, value: Any, consume: Callable[[np.ndarray], Any] | None) -> Any:
        """A reply's value, with an array result read from the scratch file: passed
        to ``consume`` as a view (its return value is the result), else copied out.
        Then the scratch file gives back what a large job took."""
        if isinstance(value, ArrayHeader):
            view = self.scratch.array(value)
            value = consume(view) if consume else np.array(view, order="K")
            del view
        self.scratch.shrink()
        return value

    def close(self, wait: float = 2) -> None:
        if self.closed:
            return
        self.closed = True
        for stream in (self.to_child, self.from_child):
            with contextlib.suppress(OSError):
                stream.close()  # the helper sees EOF and exits
        self.scratch.close()
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def forget(self) -> None:
        """In a forked child: drop this process's copies of the parent's helper."""
        if self.closed:
            return
        self.closed = True
        for stream in (self.to_child, self.from_child):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(OSError):
            self.scratch.close()


class WorkerPool:
    """Up to ``size`` helpers, started on demand and kept for later jobs."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._idle: list[_Helper] = []
        self._starting: list[_Helper] = []
        self._busy = 0
        self._live: set[_Helper] = set()
        #: busy helpers to stop when their job ends (the pool was closed meanwhile)
        self._retired: set[_Helper] = set()
        self.jobs_run = 0
        #: why helpers cannot run here, once one failed to start
        self.broken = ""

    def pids(self) -> list[int]:
        """Process ids of the helpers alive now (for CPU accounting)."""
        with self._lock:
            return [helper.process.pid for helper in self._live]

    def start(self, count: int | None = None) -> None:
        """Begin starting helpers up to ``count`` (default: ``size``) without waiting.
        Never raises: where helpers cannot start, the pool is marked broken."""
        with self._lock:
            want = self.size if count is None else min(self.size, count)
            while not self.broken and self._busy + len(self._idle) + len(self._starting) < want:
                self._spawn_starting()

    def run(
        self,
        function: str,
        args: tuple[Any, ...] = (),
        *,
        array: np.ndarray | None = None,
        wait: Wait = True,
        consume: Callable[[np.ndarray], Any] | None = None,
    ) -> Any:
        """``function(*args)`` (``"module:name"``) run in a helper, its result returned;
        an exception it raises is raised here. Raises :class:`WorkerCrashed` if the
        helper dies during the job and :class:`WorkerUnavailable` if helpers cannot
        start (with ``wait=True``). An array result is copied out of the helper's
        scratch file, or with ``consume``, passed to it as a view valid only during
        the call (``consume(view)`` is then the result: no copy of a decoded chunk
        that is only going to be painted into a larger array).

        ``wait`` says what happens when no started helper is idle: ``True`` starts
        one or waits; ``"started"`` waits for a busy helper to finish, but returns
        :data:`NOT_RUN` while none has finished starting (or helpers cannot run
        here); ``False`` returns :data:`NOT_RUN` at once."""
        helper: _Helper | None = None
        healthy = False
        # Acquire inside the try, so an interrupt (Ctrl-C in a notebook, on the main
        # thread) cannot leave a helper counted busy forever: threads waiting with
        # "started" would wait for it.
        try:
            try:
                helper = self._acquire(wait)
            except WorkerUnavailable:
                if wait is True:
                    raise
                return NOT_RUN
            if helper is None:
                return NOT_RUN
            status, value = helper.call(function, args, array)
            # If ``consume`` raises, its traceback may keep a view of the scratch
            # file: the helper is retired so the file is never resized under it.
            value = helper.take(value, consume)
            healthy = True
        finally:
            if helper is not None:
                self._release(helper, healthy)
        if status == "raise":
            raise value
        return value

    def _spawn_starting(self) -> None:
        """Start one helper into ``_starting`` (lock held); mark the pool broken if
        that is impossible here."""
        try:
            helper = _Helper()
        except WorkerUnavailable as err:
            self._mark_broken(str(err))
            return
        self._live.add(helper)
        self._starting.append(helper)

    def _mark_broken(self, reason: str) -> None:
        self.broken = reason
        for helper in self._starting:  # reap them: none will ever be ready
            self._discard(helper)
        self._starting = []
        self._changed.notify_all()

    def _discard(self, helper: _Helper) -> None:
        self._live.discard(helper)
        helper.close(wait=0.5)

    def _acquire(self, wait: Wait) -> _Helper | None:
        deadline: float | None = None
        with self._lock:
            while True:
                if self.broken:
                    raise WorkerUnavailable(self.broken)
                while self._idle:
                    helper = self._idle.pop()
                    if helper.process.poll() is None:  # died while idle: not the data's fault
                        self._busy += 1
                        return helper
                    self._discard(helper)
                for helper in list(self._starting):
                    if self.broken:
                        break
                    if self._ready_now(helper):
                        self._starting.remove(helper)
                        self._busy += 1
                        return helper
                if not wait:
                    return None
                if wait == "started":
                    # Wait only while every helper is started and busy (one still
                    # starting does not signal when it becomes ready), and not for
                    # long: a helper stuck in a job must not stall every request.
                    if self._starting or not self._busy:
                        return None
                    if deadline is None:
                        deadline = time.monotonic() + STARTED_WAIT_SECONDS
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._changed.wait(remaining)
                    continue
                if not self._starting and self._busy < self.size:
                    self._spawn_starting()
                    continue
                if not self._starting:
                    self._changed.wait()
                    continue
                helper = self._starting.pop(0)
                self._busy += 1
                if self._wait_ready(helper):
                    return helper

    def _ready_now(self, helper: _Helper) -> bool:
        try:
            return helper.poll_ready(0)
        except WorkerCrashed as err:
            self._starting.remove(helper)
            self._failed_start(helper, err)
            return False

    def _wait_ready(self, helper: _Helper) -> bool:
        """Wait (lock released) for a claimed starting helper; on failure, give the
        claim back (lock held again either way)."""
        self._lock.release()
        failure: WorkerCrashed | None = None
        ready = False
        try:
            ready = helper.poll_ready(HELPER_START_SECONDS)
            if not ready:
                helper.process.kill()
                failure = WorkerCrashed(f"no answer {HELPER_START_SECONDS:g} s after starting")
        except WorkerCrashed as err:
            failure = err
        finally:
            self._lock.acquire()
            if not ready:  # failed, or this thread was interrupted while waiting
                self._busy -= 1
                self._discard(helper)
                self._changed.notify_all()
        if failure is not None:
            self._failed_start(helper, failure)
        return ready

    def _failed_start(self, helper: _Helper, err: WorkerCrashed) -> None:
        self._discard(helper)
        # A helper killed by a signal while starting (Ctrl-C, OOM) says nothing about
        # this environment; one that exited, or hung, did not manage to run here.
        if err.reason.startswith(("exit status", "no answer")):
            self._mark_broken(f"a helper process failed to start ({err.reason})")
        self._changed.notify_all()

    def _release(self, helper: _Helper, healthy: bool) -> None:
        keep = False
        with self._lock:
            try:
                # read under the lock: close() may be retiring busy helpers right now
                keep = healthy and helper not in self._retired
                self._busy -= 1
                self.jobs_run += 1
                if keep:
                    self._idle.append(helper)
                else:
                    self._live.discard(helper)
                    self._retired.discard(helper)
            finally:
                self._changed.notify_all()
        if not keep:  # outside the lock: stopping it may take a moment
            helper.close(wait=0.5)

    def close(self) -> None:
        """Stop every idle or starting helper now, and busy ones when they finish."""
        with self._lock:
            helpers, self._idle, self._starting = self._idle + self._starting, [], []
            self._retired = self._live - set(helpers)
            for helper in helpers:
                self._discard(helper)

    def forget(self) -> None:
        """In a forked child: drop every helper of the parent without stopping it."""
        for helper in list(self._live):
            helper.forget()
        self._live.clear()
        self._idle, self._starting, self._busy = [], [], 0


class _NotRun:
    def __repr__(self) -> str:
        return "NOT_RUN"


#: :meth:`WorkerPool.run` with ``wait=False`` found no idle helper
NOT_RUN: Any = _NotRun()

_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> WorkerPool | None:
    """The process-wide pool, or ``None`` when helpers are off: inside a helper, with
    ``CLOUDVOL_WORKER_PROCESSES=0``, in a frozen application (its ``sys.executable``
    is the application itself), or without ``fork``/an interpreter to start."""
    global _shared
    if _IN_WORKER or not sys.executable or getattr(sys, "frozen", False):
        return None
    if not hasattr(os, "fork"):
        return None
    pool = _shared
    if pool is None:
        size = worker_processes()
        if size == 0:
            return None
        with _shared_lock:
            if _shared is None:
                _shared = WorkerPool(size)
            pool = _shared
    return pool


def live_helper_pids() -> list[int]:
    """Process ids of the shared pool's helpers alive now (for CPU accounting)."""
    return [] if _shared is None else _shared.pids()


def _after_fork_in_child() -> None:
    # The helpers belong to the parent: close this copy of their pipes (so they still
    # exit when the parent does) and start afresh when needed.
    global _shared, _shared_lock
    _shared_lock = threading.Lock()
    if _shared is not None:
        _shared.forget()
    _shared = None


def _close_shared() -> None:
    if _shared is not None:
        _shared.close()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere helpers are off anyway
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_shared)


def run_isolated(
    function: str, args: tuple[Any, ...], on_crash: Callable[[WorkerCrashed], Exception]
) -> Any:
    """``function(*args)`` in a helper when helpers are on, else here. If the helper
    dies during the job, raises ``on_crash(the WorkerCrashed)``."""
    pool = shared_pool()
    if pool is not None:
        try:
            return pool.run(function, args)
        except WorkerCrashed as err:
            raise on_crash(err) from None
        except WorkerUnavailable as err:
            _warn_unisolated(str(err))
    from cloudvol.codecs._worker_main import resolve

    return resolve(function)(*args)


@functools.cache
def _warn_unisolated(reason: str) -> None:
    warnings.warn(
        f"cloudvol: {reason}; decoding in this process instead, where a corrupt chunk "
        f"can crash it. Set CLOUDVOL_WORKER_PROCESSES=0 to silence this.",
        RuntimeWarning,
        stacklevel=3,
    )


def portable_spec(spec: Any) -> Any:
    """``spec`` with plain-dict options, so it pickles."""
    import dataclasses

    return dataclasses.replace(spec, options=dict(spec.options))


def decode_chunk(encoding: str, data: bytes, spec: Any) -> np.ndarray:
    """Helper side of an offloaded decode."""
    from cloudvol.codecs import get_codec

    return get_codec(encoding).decode(data, spec)


def encode_chunk(array: np.ndarray, encoding: str, spec: Any) -> bytes:
    """Helper side of an offloaded encode (``array`` arrives through the scratch file)."""
    from cloudvol.codecs import get_codec

    return bytes(get_codec(encoding).encode(array, spec))
