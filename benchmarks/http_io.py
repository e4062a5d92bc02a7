"""The HTTP workload: a region of exactly 256 chunks (at the default size) read from
the raw layer through a local Range-capable server running in its own process."""

from __future__ import annotations

from benchmarks.common import Box, Geometry, MiB, WorkloadResult, best_of, read_reference_region
from benchmarks.context import BenchContext
from benchmarks.tools import HTTP_REFERENCE_CONCURRENCY
from benchmarks.volume_io import read_one

TARGET_CHUNKS = 256


def chunk_region(g: Geometry) -> Box:
    """Full x and y, and enough z-slabs of chunks for ``TARGET_CHUNKS`` chunks (512³
    with 64³ chunks: 512 x 512 x 256 voxels = 8 x 8 x 4 = 256 chunks); fewer when the
    volume is smaller."""
    slabs = min(g.grid, max(1, -(-TARGET_CHUNKS // g.grid**2)))
    return (0, 0, 0), (g.size, g.size, min(g.size, slabs * g.chunk))


def http_chunks(ctx: BenchContext) -> WorkloadResult:
    box = chunk_region(ctx.geom)
    nchunks = len(list(ctx.geom.chunks_in(*box)))
    shape = "x".join(str(h - lo) for lo, h in zip(*box, strict=True))
    nbytes = nchunks * ctx.geom.chunk**3  # every chunk is whole here
    description = (
        f"{nchunks} chunk reads ({ctx.geom.chunk}³ uint8, {nbytes / MiB:.0f} MiB): region "
        f"{shape} of the raw layer over HTTP from 127.0.0.1"
    )
    result = WorkloadResult("http-chunks", description, nbytes)
    ctx.log(f"\n## http-chunks: {description}")
    url = ctx.http_url()
    for tool in ctx.tools:
        result.results[tool] = read_one(ctx, "http-chunks", tool, url, box, False)

    # The same files straight from the scratch directory: what the server could send.
    layer = ctx.canonical_layer(gzip=False)
    best = best_of(3, lambda: read_reference_region(layer, ctx.geom, box)).seconds
    result.notes += [
        "server: ThreadingHTTPServer + rangehttpserver's handler (HTTP/1.1 keep-alive, "
        "sendfile) in a separate process, sharing the machine's cores with the client",
        f"reference: obstore get_async, {HTTP_REFERENCE_CONCURRENCY} in flight, painted "
        "into an F-order array as chunks arrive",
        f"the same {nchunks} chunk files via np.fromfile from the scratch dir: "
        f"{nbytes / best / 1e6:.0f} MB/s",
    ]
    return result
