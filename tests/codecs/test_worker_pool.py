"""Codec helper processes: crash isolation for libfpzip, offloaded coding for codecs
that hold the GIL, and the pool's own life cycle (crashes, dead helpers, fork,
environments where helpers cannot start)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from cloudvol import CloudVolume
from cloudvol.codecs import ChunkSpec, get_codec, worker_pool
from cloudvol.codecs.worker_pool import NOT_RUN, WorkerCrashed, WorkerPool, shared_pool
from cloudvol.exceptions import DecodingError

SHAPE = (32, 32, 16, 1)


def _float_chunk() -> np.ndarray:
    x = np.linspace(0, 1, int(np.prod(SHAPE)), dtype=np.float32).reshape(SHAPE, order="F")
    noise = np.random.default_rng(1).normal(0, 0.01, SHAPE).astype(np.float32)
    return np.asfortranarray(np.sin(x * 7) + noise)


def _mutations(data: bytes, count: int, seed: int) -> list[bytes]:
    """Copies of ``data`` with 1-3 bytes of the payload (after the header) replaced."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        d = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            d[int(rng.integers(24, len(d)))] = int(rng.integers(0, 256))
        out.append(bytes(d))
    return out


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    """A private one-helper pool, closed after the test."""
    one = WorkerPool(1)
    try:
        yield one
    finally:
        one.close()


@pytest.fixture
def helpers_on(monkeypatch: pytest.MonkeyPatch) -> WorkerPool:
    monkeypatch.delenv("CLOUDVOL_WORKER_PROCESSES", raising=False)
    pool = shared_pool()
    assert pool is not None, "helper processes are off in this environment"
    return pool


@pytest.mark.parametrize("encoding", ["fpzip", "kempressed"])
def test_corrupt_fpzip_payloads_raise_decoding_error_instead_of_crashing(
    encoding: str, helpers_on: WorkerPool
) -> None:
    codec = get_codec(encoding)
    spec = ChunkSpec(SHAPE, np.dtype(np.float32), key="4_5_6")
    clean = _float_chunk()
    data = bytes(codec.encode(clean, spec))
    reasons = []
    for bad in _mutations(data, 12, seed=7):
        try:
            out = codec.decode(bad, spec)
        except DecodingError as err:
            assert "4_5_6" in str(err) and encoding in str(err)
            reasons.append(str(err))
        else:
            assert out.shape == SHAPE
    crashes = [r for r in reasons if "decoder crashed (SIG" in r]
    # libfpzip dies on most damaged payloads: these runs would have killed pytest.
    assert len(crashes) >= 3, reasons
    # The pool replaces crashed helpers and still decodes good data.
    np.testing.assert_allclose(codec.decode(data, spec), clean, rtol=0, atol=1e-6)


def test_corrupt_fpzip_chunk_in_a_volume_names_its_path(
    tmp_path: object, helpers_on: WorkerPool
) -> None:
    info = CloudVolume.create_new_info(
        1, "image", "float32", "fpzip", [1, 1, 1], [0, 0, 0], [64, 32, 16], chunk_size=[32, 32, 16]
    )
    vol = CloudVolume(f"file://{tmp_path}", info=info, compress=False)
    vol.commit_info()
    vol[:, :, :] = np.concatenate([_float_chunk()] * 2, axis=0)
    key = os.path.join(str(tmp_path), "1_1_1", "32-64_0-32_0-16")
    with open(key, "rb") as f:
        data = f.read()
    crashing = next(
        bad
        for bad in _mutations(data, 40, seed=7)
        if _crashes(bad, ChunkSpec(SHAPE, np.dtype(np.float32)))
    )
    with open(key, "wb") as f:
        f.write(crashing)
    with pytest.raises(DecodingError, match=r"1_1_1/32-64_0-32_0-16.*crashed"):
        vol[:, :, :]
    np.testing.assert_array_equal(vol[0:32, :, :][..., 0], _float_chunk()[..., 0])


def _crashes(data: bytes, spec: ChunkSpec) -> bool:
    try:
        get_codec("fpzip").decode(data, spec)
    except DecodingError as err:
        return "crashed" in str(err)
    return False


def test_helpers_off_decodes_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDVOL_WORKER_PROCESSES", "0")
    monkeypatch.setattr(worker_pool, "_shared", None)
    assert shared_pool() is None
    codec = get_codec("fpzip")
    spec = ChunkSpec(SHAPE, np.dtype(np.float32))
    clean = _float_chunk()
    np.testing.assert_array_equal(codec.decode(codec.encode(clean, spec), spec), clean)


def test_a_helper_killed_while_idle_is_replaced(helpers_on: WorkerPool) -> None:
    assert helpers_on.run("cloudvol.codecs.worker_pool:in_worker") is True
    for pid in helpers_on.pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert helpers_on.run("cloudvol.codecs.worker_pool:in_worker") is True


def test_a_helper_dying_mid_job_raises_worker_crashed(helpers_on: WorkerPool) -> None:
    spec = ChunkSpec(SHAPE, np.dtype(np.float32))
    data = bytes(get_codec("fpzip").encode(_float_chunk(), spec))
    crashing = next(bad for bad in _mutations(data, 40, seed=7) if _crashes(bad, spec))
    pool = WorkerPool(1)
    try:
        with pytest.raises(WorkerCrashed) as caught:
            pool.run(
                "cloudvol.codecs.fpzip:decode_stream_here",
                (crashing, SHAPE, np.dtype(np.float32), "chunk"),
            )
        assert caught.value.reason in {"SIGSEGV", "SIGFPE", "SIGBUS", "SIGABRT"}
        assert pool.run("cloudvol.codecs.worker_pool:in_worker") is True
    finally:
        pool.close()
    assert pool.pids() == []


def test_errors_raised_in_a_helper_keep_their_class_and_message(pool: WorkerPool) -> None:
    spec = worker_pool.portable_spec(ChunkSpec(SHAPE, np.dtype(np.uint32), key="9_9_9"))
    with pytest.raises(DecodingError, match="9_9_9"):
        pool.run("cloudvol.codecs.worker_pool:decode_chunk", ("compresso", b"nonsense", spec))


def test_helpers_run_only_cloudvol_functions(pool: WorkerPool) -> None:
    with pytest.raises(ValueError, match="only run cloudvol functions"):
        pool.run("os:getpid")


def test_no_wait_returns_not_run_until_a_helper_is_ready(pool: WorkerPool) -> None:
    assert pool.run("cloudvol.codecs.worker_pool:in_worker", wait=False) is NOT_RUN
    pool.start()
    deadline = time.monotonic() + 30
    result = NOT_RUN
    while result is NOT_RUN and time.monotonic() < deadline:
        time.sleep(0.05)
        result = pool.run("cloudvol.codecs.worker_pool:in_worker", wait=False)
    assert result is True


def test_unstartable_helpers_fall_back_to_this_process_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    monkeypatch.setattr(worker_pool, "_shared", WorkerPool(1))
    worker_pool._warn_unisolated.cache_clear()
    codec = get_codec("fpzip")
    spec = ChunkSpec(SHAPE, np.dtype(np.float32))
    clean = _float_chunk()
    data = codec.encode(clean, spec)
    with pytest.warns(RuntimeWarning, match="failed to start"):
        np.testing.assert_array_equal(codec.decode(data, spec), clean)
    # offloaded work quietly stays here too
    assert worker_pool._shared.run("cloudvol.codecs.worker_pool:in_worker", wait=False) is NOT_RUN
    worker_pool._shared.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_helpers(helpers_on: WorkerPool) -> None:
    helpers_on.run("cloudvol.codecs.worker_pool:in_worker")
    codec = get_codec("fpzip")
    spec = ChunkSpec(SHAPE, np.dtype(np.float32))
    clean = _float_chunk()
    data = codec.encode(clean, spec)
    parents = list(helpers_on._live)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            # the child closed its copies of the parent's pipes, then starts its own
            ok = worker_pool._shared is None and all(h.to_child.closed for h in parents)
            ok = ok and np.array_equal(codec.decode(data, spec), clean)
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _segmentation(shape: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(5)
    blocks = rng.integers(1, 2**40, (shape[0] // 8, shape[1] // 8, shape[2] // 8))
    return np.asfortranarray(np.kron(blocks, np.ones((8, 8, 8), dtype=np.int64)).astype(np.uint64))


def _ready(pool: WorkerPool) -> None:
    pool.start()
    pool.run("cloudvol.codecs.worker_pool:in_worker")  # waits for one


def test_cseg_encodes_in_threads_when_its_ctypes_entry_point_exists() -> None:
    assert get_codec("compressed_segmentation").encode_holds_gil is False


@pytest.mark.parametrize("encoding", ["compresso", "compressed_segmentation"])
def test_large_gil_bound_requests_code_chunks_in_helpers(
    encoding: str, tmp_path: object, helpers_on: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if encoding == "compressed_segmentation":  # GIL-bound only through the binding
        import cloudvol.codecs.compressed_segmentation as cseg_module

        monkeypatch.setattr(cseg_module, "_native_encoder", lambda: None)
        assert get_codec(encoding).encode_holds_gil is True
    _ready(helpers_on)
    seg = _segmentation((128, 128, 64))
    info = CloudVolume.create_new_info(
        1, "segmentation", "uint64", encoding, [1, 1, 1], [0, 0, 0], seg.shape,
        chunk_size=[32, 32, 32],
    )  # fmt: skip
    vol = CloudVolume(f"file://{tmp_path}", info=info)
    vol.commit_info()
    before = helpers_on.jobs_run
    vol[:, :, :] = seg
    np.testing.assert_array_equal(vol[:, :, :][..., 0], seg)
    assert helpers_on.jobs_run > before
    cloudvol_elsewhere = CloudVolume(f"file://{tmp_path}")
    np.testing.assert_array_equal(
        cloudvol_elsewhere[5:70, 3:99, 1:60][..., 0], seg[5:70, 3:99, 1:60]
    )


def test_import_of_the_codecs_does_not_load_the_whole_package() -> None:
    code = "import sys, cloudvol.codecs.worker_pool;print('cloudvol.cloudvolume' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    import cloudvol

    assert "CloudVolume" in dir(cloudvol) and cloudvol.CloudVolume is CloudVolume


# --- failure modes found in review -------------------------------------------------


def _big_float_stream() -> tuple[bytes, tuple[int, int, int, int]]:
    shape = (256, 256, 64, 1)
    x = np.linspace(0, 50, int(np.prod(shape)), dtype=np.float32).reshape(shape, order="F")
    spec = ChunkSpec(shape, np.dtype(np.float32))
    return bytes(get_codec("fpzip").encode(np.sin(x), spec)), shape


def _occupy(pool: WorkerPool) -> threading.Thread:
    """Start a ~0.1 s decode on ``pool``'s helper from a thread; return the thread
    once the helper is busy with it."""
    data, shape = _big_float_stream()
    job = threading.Thread(
        target=pool.run,
        args=("cloudvol.codecs.fpzip:decode_stream_here", (data, shape, "float32", "c")),
    )
    job.start()
    while pool._busy == 0 and job.is_alive():
        time.sleep(0.0005)
    return job


def test_an_interrupted_job_does_not_leave_its_reply_for_the_next() -> None:
    import _thread

    data, shape = _big_float_stream()
    pool = WorkerPool(1)
    try:
        pool.run("cloudvol.codecs.worker_pool:in_worker")
        timer = threading.Timer(0.02, _thread.interrupt_main)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            for _ in range(1000):  # until the interrupt lands mid-job
                pool.run(
                    "cloudvol.codecs.fpzip:decode_stream_here",
                    (data, shape, np.dtype(np.float32), "chunk"),
                )
        timer.join()
        assert pool.run("cloudvol.codecs.worker_pool:in_worker") is True
        assert pool.run("cloudvol.codecs.worker_pool:in_worker") is True
    finally:
        pool.close()


def test_messages_are_written_whole_when_signals_interrupt_the_write(tmp_path) -> None:
    script = tmp_path / "alarm.py"
    script.write_text(
        "import signal\n"
        "from cloudvol.codecs.worker_pool import WorkerPool\n"
        "signal.signal(signal.SIGALRM, lambda *a: None)\n"
        "pool = WorkerPool(1)\n"
        "pool.run('cloudvol.codecs.worker_pool:in_worker')\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)\n"
        "try:\n"
        "    pool.run('cloudvol.codecs.worker_pool:in_worker', (b'x' * (64 << 20),))\n"
        "except TypeError:\n"
        "    print('answered')\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "pool.close()\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "answered"


def _fpzip_case() -> tuple[bytes, ChunkSpec, np.ndarray]:
    spec = ChunkSpec(SHAPE, np.dtype(np.float32))
    clean = _float_chunk()
    return bytes(get_codec("fpzip").encode(clean, spec)), spec, clean


@pytest.mark.parametrize("kind", ["exits", "hangs", "missing"])
def test_many_threads_fall_back_when_helpers_cannot_start(
    kind: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    if kind in ("exits", "hangs"):
        fake = tmp_path / "python"
        fake.write_text(
            "#!/bin/sh\nsleep 0.3\nexit 3\n" if kind == "exits" else "#!/bin/sh\nexec sleep 60\n"
        )
        fake.chmod(0o755)
        monkeypatch.setattr(sys, "executable", str(fake))
        monkeypatch.setattr(worker_pool, "HELPER_START_SECONDS", 0.5)
    else:
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    monkeypatch.setattr(worker_pool, "_shared", WorkerPool(2))
    worker_pool._warn_unisolated.cache_clear()
    data, spec, clean = _fpzip_case()
    with (
        pytest.warns(RuntimeWarning, match="decoding in this process"),
        ThreadPoolExecutor(6) as ex,
    ):
        results = list(ex.map(lambda _: get_codec("fpzip").decode(data, spec), range(6)))
    assert all(np.array_equal(r, clean) for r in results)
    pool = worker_pool._shared
    assert pool.broken and pool.pids() == []
    pool.start()  # a broken pool starts nothing
    assert pool.pids() == []


def test_frozen_applications_do_not_start_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert shared_pool() is None


def test_a_module_in_the_working_directory_cannot_shadow_the_helpers_imports(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "numpy.py").write_text("raise ImportError('shadowed numpy')\n")
    monkeypatch.chdir(tmp_path)
    pool = WorkerPool(1)
    try:
        assert pool.run("cloudvol.codecs.worker_pool:in_worker") is True
    finally:
        pool.close()


def test_helpers_ignore_ctrl_c_sent_to_the_process_group(pool: WorkerPool) -> None:
    pool.run("cloudvol.codecs.worker_pool:in_worker")
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGINT)
    time.sleep(0.2)
    assert pool.run("cloudvol.codecs.worker_pool:in_worker") is True
    assert pool.pids() == [pid]


def test_a_helper_killed_from_outside_mid_job_is_not_called_corrupt_data() -> None:
    data, shape = _big_float_stream()
    pool = WorkerPool(1)
    try:
        pool.run("cloudvol.codecs.worker_pool:in_worker")
        (pid,) = pool.pids()
        threading.Timer(0.05, os.kill, (pid, signal.SIGKILL)).start()
        with pytest.raises(WorkerCrashed) as caught:
            for _ in range(1000):
                pool.run(
                    "cloudvol.codecs.fpzip:decode_stream_here",
                    (data, shape, np.dtype(np.float32), "chunk"),
                )
        assert caught.value.reason == "SIGKILL" and not caught.value.fault
        assert not pool.broken
    finally:
        pool.close()


def test_exceptions_that_do_not_pickle_come_back_as_runtime_errors() -> None:
    from cloudvol.codecs._worker_main import _portable

    class Odd(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}/{b}")

    err = _portable(Odd(1, 2))
    assert isinstance(err, RuntimeError) and "Odd: 1/2" in str(err)
    plain = DecodingError("chunk 1_2_3: bad")
    assert _portable(plain) is plain


def test_the_scratch_file_shrinks_after_a_large_array() -> None:
    from cloudvol.codecs.worker_protocol import INITIAL_SCRATCH, ArrayHeader, Scratch, new_scratch

    scratch = Scratch(new_scratch())
    try:
        big = scratch.array(ArrayHeader((80 << 20,), np.dtype(np.uint8), False))
        big[-1] = 7
        del big
        scratch.shrink()
        assert os.fstat(scratch.fd).st_size == INITIAL_SCRATCH
        small = scratch.array(ArrayHeader((16,), np.dtype(np.uint64), False))
        small[:] = 1
    finally:
        scratch.close()


def test_big_endian_arrays_cross_unchanged(pool: WorkerPool) -> None:
    spec = worker_pool.portable_spec(ChunkSpec((8, 8, 8, 1), np.dtype(np.uint64)))
    seg = np.arange(512, dtype=">u8").reshape(8, 8, 8, 1)
    encoded = pool.run("cloudvol.codecs.worker_pool:encode_chunk", ("compresso", spec), array=seg)
    local = bytes(get_codec("compresso").encode(seg, spec))
    assert encoded == local


# --- feeding helpers without copies -----------------------------------------------


def test_started_mode_waits_for_a_busy_helper_but_never_for_one_starting() -> None:

    pool = WorkerPool(1)
    try:
        in_worker = "cloudvol.codecs.worker_pool:in_worker"
        assert pool.run(in_worker, wait="started") is NOT_RUN
        assert pool.pids() == []  # and it did not start one
        pool.run(in_worker)
        job = _occupy(pool)
        assert pool.run(in_worker, wait=False) is NOT_RUN  # the one helper is busy
        assert pool.run(in_worker, wait="started") is True  # so this waited for it
        job.join()
    finally:
        pool.close()


def test_chunks_cut_from_fortran_volumes_cross_in_fortran_order() -> None:
    from cloudvol.codecs.worker_protocol import ArrayHeader

    volume = np.zeros((128, 128, 128, 1), dtype=np.uint64, order="F")
    assert ArrayHeader.of(volume[64:, :64, 32:96]).fortran
    assert not ArrayHeader.of(np.zeros((128, 128, 128))[64:, :64, 32:96]).fortran
    assert ArrayHeader.of(np.zeros((4, 1, 8), order="F")[:, :, ::2]).fortran


def test_a_consumer_reads_array_results_in_place(pool: WorkerPool) -> None:
    spec = worker_pool.portable_spec(ChunkSpec((16, 16, 8, 1), np.dtype(np.uint32)))
    seg = np.arange(16 * 16 * 8, dtype=np.uint32).reshape(spec.shape, order="F")
    data = bytes(get_codec("compresso").encode(seg, spec))
    seen: list[np.ndarray] = []

    def consume(view: np.ndarray) -> str:
        seen.append(view.copy())
        assert not view.flags.owndata  # a view of the scratch file, not a copy
        return "painted"

    args = ("compresso", data, spec)
    assert pool.run("cloudvol.codecs.worker_pool:decode_chunk", args, consume=consume) == (
        "painted"
    )
    np.testing.assert_array_equal(seen[0], seg)
    # without a consumer the result is a copy that outlives the job
    copied = pool.run("cloudvol.codecs.worker_pool:decode_chunk", args)
    other = bytes(get_codec("compresso").encode(np.asfortranarray(seg + 5), spec))
    pool.run("cloudvol.codecs.worker_pool:decode_chunk", ("compresso", other, spec))
    np.testing.assert_array_equal(copied, seg)
    assert copied.flags.owndata


def test_a_view_kept_by_a_failed_consumer_stays_readable(pool: WorkerPool) -> None:
    spec = worker_pool.portable_spec(ChunkSpec((128, 128, 80, 1), np.dtype(np.uint32)))
    seg = (np.arange(128 * 128 * 80, dtype=np.uint32) // 1000).reshape(spec.shape, order="F")
    data = bytes(get_codec("compresso").encode(seg, spec))  # decodes to 5 MiB

    def fails(view: np.ndarray) -> None:
        raise ValueError(view)  # the exception keeps the view

    with pytest.raises(ValueError) as caught:
        pool.run("cloudvol.codecs.worker_pool:decode_chunk", ("compresso", data, spec),
                 consume=fails)  # fmt: skip
    assert pool.pids() == []  # that helper was retired, its scratch file left alone
    small = worker_pool.portable_spec(ChunkSpec((8, 8, 8, 1), np.dtype(np.uint32)))
    zeros = np.zeros(small.shape, np.uint32, order="F")
    tiny = bytes(get_codec("compresso").encode(zeros, small))
    for _ in range(2):  # later jobs map and resize their own scratch files
        pool.run("cloudvol.codecs.worker_pool:decode_chunk", ("compresso", tiny, small))
    np.testing.assert_array_equal(caught.value.args[0], seg)


def test_a_helper_never_released_delays_started_waiters_but_does_not_hang_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_pool, "STARTED_WAIT_SECONDS", 0.2)
    pool = WorkerPool(1)
    try:
        in_worker = "cloudvol.codecs.worker_pool:in_worker"
        pool.run(in_worker)
        taken = pool._acquire(True)  # as if a caller lost it to an interrupt
        assert taken is not None
        began = time.monotonic()
        assert pool.run(in_worker, wait="started") is NOT_RUN
        assert 0.15 < time.monotonic() - began < 5
        pool._release(taken, healthy=False)
    finally:
        pool.close()


def test_closing_the_pool_stops_busy_helpers_when_their_job_ends() -> None:

    pool = WorkerPool(1)
    pool.run("cloudvol.codecs.worker_pool:in_worker")
    (pid,) = pool.pids()
    job = _occupy(pool)
    pool.close()
    job.join()
    assert pool.pids() == [] and pool._idle == []
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # stopped and reaped
