"""What the parent and a codec helper process exchange, and how.

Messages are length-prefixed pickles on raw pipes; arrays travel through a scratch
file (a ``memfd``) that both sides map. Shared by :mod:`cloudvol.codecs.worker_pool`
(the parent) and :mod:`cloudvol.codecs._worker_main` (the helper).
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "READY",
    "ArrayHeader",
    "Scratch",
    "new_scratch",
    "receive",
    "send",
]

#: sent by a helper once its imports are done
READY = b"R"
#: the length prefix of every message
_LENGTH = struct.Struct("<Q")
#: the scratch file's resting size; it grows for a large array and is shrunk back
#: by the parent after jobs above ``SHRINK_ABOVE``
INITIAL_SCRATCH = 1 << 20
SHRINK_ABOVE = 64 << 20


@dataclass(frozen=True, slots=True)
class ArrayHeader:
    """An array that lies at the start of the scratch file."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool

    @classmethod
    def of(cls, array: np.ndarray) -> ArrayHeader:
        """The header of a copy of ``array`` in the memory order closest to its own
        (a chunk cut from a Fortran-ordered volume stays Fortran-ordered: copying it
        to C order took 1.5 ms for 2 MiB, and compresso then encoded 20% slower)."""
        if array.flags.c_contiguous or array.flags.f_contiguous:
            fortran = not array.flags.c_contiguous
        else:
            strides = [
                abs(step) for step, n in zip(array.strides, array.shape, strict=True) if n > 1
            ]
            fortran = strides == sorted(strides)
        return cls(tuple(array.shape), array.dtype, fortran)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def send(stream: Any, obj: Any) -> None:
    """One length-prefixed pickle on a raw (unbuffered) pipe, written in full."""
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    message = memoryview(_LENGTH.pack(len(payload)) + payload)
    # A raw write may be short (a signal handler ran mid-write): finish it.
    while message:
        written = stream.write(message)
        message = message[written:]


def receive(stream: Any) -> Any:
    """The next message; :class:`EOFError` if the other side is gone."""
    (size,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
    return pickle.loads(_read_exact(stream, size))


def _read_exact(stream: Any, size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = stream.readinto(view[got:])
        if not n:
            raise EOFError
        got += n
    return buf


def new_scratch() -> int:
    """A file descriptor for an anonymous shared scratch file."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("cloudvol-worker")
    else:  # an unlinked temporary file elsewhere
        with tempfile.TemporaryFile() as f:
            fd = os.dup(f.fileno())
    os.ftruncate(fd, INITIAL_SCRATCH)
    return fd


class Scratch:
    """One side's mapping of a helper's scratch file.

    The file only changes size between jobs (the helper grows it during a job; the
    parent grows it before one and shrinks it after one), and each side remaps
    whenever the size differs from its mapping, so neither touches pages past the end.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._map: mmap.mmap | None = None

    def array(self, header: ArrayHeader) -> np.ndarray:
        """The array ``header`` describes, as a view of the scratch file (growing the
        file if needed). Do not keep it past the current job."""
        size = os.fstat(self.fd).st_size
        if size < header.nbytes:
            os.ftruncate(self.fd, header.nbytes)
            size = header.nbytes
        if self._map is None or len(self._map) != size:
            self._unmap()
            self._map = mmap.mmap(self.fd, max(size, 1))
        return np.ndarray(
            header.shape,
            dtype=header.dtype,
            buffer=self._map,
            order="F" if header.fortran else "C",
        )

    def store(self, array: np.ndarray) -> ArrayHeader:
        """Copy ``array`` to the start of the scratch file; its header for the other side."""
        header = ArrayHeader.of(array)
        np.copyto(self.array(header), array)
        return header

    def shrink(self) -> None:
        """Give memory back after a large job (the other side remaps on its next job).
        No view of the file may be alive: pages past the new end would fault."""
        if os.fstat(self.fd).st_size > SHRINK_ABOVE:
            self._unmap()
            os.ftruncate(self.fd, INITIAL_SCRATCH)

    def _unmap(self) -> None:
        # Dropped, not closed: numpy views of the map hold a reference to it but no
        # buffer export, so ``close()`` would succeed and leave a view that is still
        # alive (say, in a traceback) pointing at unmapped memory. The mapping goes
        # when its last view does (at once, normally).
        self._map = None

    def close(self) -> None:
        self._unmap()
        os.close(self.fd)
