"""How each decoder handles corrupt chunk bytes: a measurement, not a test.

For one encoding, encodes a 32×32×16 chunk, then decodes ``--count`` mutated copies
(1-3 flipped bits, a truncation, or 8 overwritten bytes; seeded) through
``cloudvol.codecs.get_codec(encoding).decode``, each in a forked child so a native
crash is counted instead of ending the run. Prints how many decoded to the original,
raised ``DecodingError`` (the goal), came back different without an error (possible
only where the format has no checksum), or killed the process (by signal).

    uv run python -m benchmarks.fuzz_decoders crackle --count 3000
    uv run python -m benchmarks.fuzz_decoders fpzip --save /tmp/crashes

A decoder that writes past its buffers need not crash before the child exits. Under
glibc's malloc debugging, which checks the heap at every allocation and free, such
overruns show up as SIGABRT:

    LD_PRELOAD=/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 MALLOC_CHECK_=3 \
        uv run python -m benchmarks.fuzz_decoders crackle --count 3000

Results at the time of writing (seed 1, 3000 mutations) are in
docs/encodings/segmentation.md and docs/encodings/float.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
from pathlib import Path

import numpy as np

from cloudvol.codecs import ChunkSpec, get_codec
from cloudvol.exceptions import DecodingError

SHAPE = (32, 32, 16, 1)
LABEL_ENCODINGS = ("crackle", "compresso", "compressed_segmentation")


def sample(encoding: str, rng: np.random.Generator) -> np.ndarray:
    """Few-label uint64 segmentation, or a smooth float32 field for float encodings."""
    if encoding in LABEL_ENCODINGS:
        return np.asfortranarray(rng.integers(0, 5, SHAPE).astype(np.uint64) * 1000003)
    x = np.linspace(0, 1, int(np.prod(SHAPE)), dtype=np.float32).reshape(SHAPE)
    return np.asfortranarray(np.sin(x * 7) + rng.normal(0, 0.01, SHAPE).astype(np.float32))


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    d = bytearray(data)
    kind = rng.integers(0, 3)
    if kind == 0:
        for _ in range(rng.integers(1, 4)):
            d[rng.integers(0, len(d))] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:
        d = d[: rng.integers(0, len(d))]
    else:
        p = int(rng.integers(0, len(d)))
        d[p : p + 8] = rng.integers(0, 256, min(8, len(d) - p), dtype=np.uint8).tobytes()
    return bytes(d)


def outcome(codec: object, spec: ChunkSpec, data: bytes, original: np.ndarray) -> str:
    """Decode in a forked child: ``same``, ``error``, ``different`` or ``SIG…``."""
    pid = os.fork()
    if pid == 0:  # the child reports through its exit code only
        try:
            out = codec.decode(data, spec)  # type: ignore[attr-defined]
            os._exit(0 if np.array_equal(out, original) else 1)
        except DecodingError:
            os._exit(2)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return {0: "same", 1: "different", 2: "error", 3: "other exception"}[os.WEXITSTATUS(status)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("encoding")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", type=Path, help="write inputs that crash or decode wrongly here")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    original = sample(args.encoding, rng)
    spec = ChunkSpec(SHAPE, original.dtype, (8, 8, 8), key="fuzz")
    codec = get_codec(args.encoding)
    data = bytes(codec.encode(original, spec))
    counts: collections.Counter[str] = collections.Counter()
    for i in range(args.count):
        mutated = mutate(data, rng)
        result = outcome(codec, spec, mutated, original)
        counts[result] += 1
        if args.save and result not in ("same", "error"):
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{result}_{i}.bin").write_bytes(mutated)
    print(args.encoding, dict(counts.most_common()))


if __name__ == "__main__":
    main()
