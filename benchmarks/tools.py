"""One adapter per tool, so every workload drives cloudvol, cloud-volume, tensorstore
and the reference the same way.

An adapter has two methods, both untimed set-up that return the timed callable:

* ``prepare_write(layer, geom, gzip, level)`` creates an empty layer at the local
  directory ``layer`` and returns ``write(vol)``, which writes the whole volume;
* ``open_reader(where, geom, gzip)`` opens an existing layer (a local ``Path`` or an
  ``http://`` URL) and returns ``read(box)``, which returns the voxels of ``box``.

``gzip`` asks for transport gzip; ``level`` None means the tool's own default level.
Tools are imported lazily, so a tool that fails to import only fails its own rows.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    Box,
    Geometry,
    NotApplicable,
    box_shape,
    chunk_view,
    paint,
    prepare_reference_layer,
    read_reference_region,
    write_reference_chunks,
)

Writer = Callable[[np.ndarray], None]
Reader = Callable[[Box], Any]
Where = Path | str

#: concurrent requests of the reference HTTP client (obstore)
HTTP_REFERENCE_CONCURRENCY = 16


def _url(where: Where) -> str:
    return f"file://{Path(where).resolve()}" if isinstance(where, Path) else where


def _slices(box: Box) -> tuple[slice, slice, slice]:
    (x0, y0, z0), (x1, y1, z1) = box
    return slice(x0, x1), slice(y0, y1), slice(z0, z1)


class CloudVolumeLike:
    """cloudvol and cloud-volume: the same CloudVolume API from different modules."""

    def __init__(self, name: str, module: str, dist: str) -> None:
        self.name, self.module, self.dist = name, module, dist

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.dist)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    def _cls(self) -> Any:
        return importlib.import_module(self.module).CloudVolume

    def prepare_write(self, layer: Path, geom: Geometry, gzip: bool, level: int | None) -> Writer:
        cv_cls = self._cls()
        info = cv_cls.create_new_info(
            num_channels=1,
            layer_type="image",
            data_type="uint8",
            encoding="raw",
            resolution=[1, 1, 1],
            voxel_offset=[0, 0, 0],
            volume_size=[geom.size] * 3,
            chunk_size=[geom.chunk] * 3,
        )
        kwargs: dict[str, Any] = {"compress": "gzip" if gzip else False}
        if gzip and level is not None:
            kwargs["compress_level"] = level
        vol = cv_cls(_url(layer), info=info, progress=False, **kwargs)
        vol.commit_info()
        s = geom.size

        def write(arr: np.ndarray) -> None:
            vol[0:s, 0:s, 0:s] = arr

        return write

    def open_reader(self, where: Where, geom: Geometry, gzip: bool) -> Reader:
        vol = self._cls()(_url(where), progress=False, fill_missing=False)

        def read(box: Box) -> Any:
            return vol[_slices(box)]

        return read


class TensorStore:
    """tensorstore's neuroglancer_precomputed driver, cache disabled, ``order='F'``."""

    name = "tensorstore"

    def version(self) -> str:
        return importlib.metadata.version("tensorstore")

    def _ts(self) -> Any:
        import tensorstore

        return tensorstore

    def _context(self) -> Any:
        # No chunk cache, so repeated reads measure IO and decoding, not memory.
        return self._ts().Context({"cache_pool": {"total_bytes_limit": 0}})

    @staticmethod
    def _kvstore(where: Where) -> dict[str, str]:
        if isinstance(where, Path):
            return {"driver": "file", "path": f"{where.resolve()}/"}
        return {"driver": "http", "base_url": where}

    def prepare_write(self, layer: Path, geom: Geometry, gzip: bool, level: int | None) -> Writer:
        if gzip:
            raise NotApplicable(
                "tensorstore has no transport gzip for local precomputed chunks "
                "(it neither writes nor reads cloud-volume's `name.gz` files)"
            )
        ts = self._ts()
        spec = {
            "driver": "neuroglancer_precomputed",
            "kvstore": self._kvstore(layer),
            "multiscale_metadata": {"type": "image", "data_type": "uint8", "num_channels": 1},
            "scale_metadata": {
                "size": [geom.size] * 3,
                "encoding": "raw",
                "chunk_size": [geom.chunk] * 3,
                "resolution": [1, 1, 1],
                "voxel_offset": [0, 0, 0],
            },
        }
        store = ts.open(spec, create=True, context=self._context()).result()

        def write(arr: np.ndarray) -> None:
            store.write(arr).result()

        return write

    def open_layer(self, where: Where, write: bool = False) -> Any:
        """An existing layer (its info written), cache off, for reading or also writing."""
        spec = {"driver": "neuroglancer_precomputed", "kvstore": self._kvstore(where)}
        return self._ts().open(spec, read=True, write=write, context=self._context()).result()

    def open_reader(self, where: Where, geom: Geometry, gzip: bool) -> Reader:
        if gzip:
            raise NotApplicable(
                "tensorstore reads only plain chunk names; cloud-volume's local gzip "
                "convention (`name.gz`) is invisible to it"
            )
        store = self.open_layer(where)

        def read(box: Box) -> Any:
            return store[_slices(box)].read(order="F").result()

        return read


class Reference:
    """The physical bar: the plainest correct code with no library in the way.

    Local reads: ``np.fromfile`` per chunk (read + libdeflate for ``.gz``) painted into
    a preallocated Fortran array, one thread. HTTP reads: obstore GETs with
    ``HTTP_REFERENCE_CONCURRENCY`` in flight, painted as they arrive. Writes:
    ``tobytes(order='F')`` (+ libdeflate at the same level) and ``open().write`` per
    chunk, one thread.
    """

    name = "reference"

    def version(self) -> str:
        return f"numpy {np.__version__}"

    def prepare_write(self, layer: Path, geom: Geometry, gzip: bool, level: int | None) -> Writer:
        if gzip and level is None:
            raise NotApplicable("the reference has no default level; see write-gzip")
        prepare_reference_layer(layer, geom)

        def write(arr: np.ndarray) -> None:
            write_reference_chunks(layer, geom, arr, level if gzip else None)

        return write

    def open_reader(self, where: Where, geom: Geometry, gzip: bool) -> Reader:
        if isinstance(where, Path):
            return lambda box: read_reference_region(where, geom, box)
        return _http_reference_reader(where, geom)


def _http_reference_reader(url: str, geom: Geometry) -> Reader:
    import obstore
    from obstore.store import HTTPStore

    store = HTTPStore.from_url(url, client_options={"allow_http": True})

    async def fill(req: Box, out: np.ndarray) -> None:
        sem = asyncio.Semaphore(HTTP_REFERENCE_CONCURRENCY)

        async def one(box: Box) -> tuple[Box, Any]:
            async with sem:
                got = await obstore.get_async(store, geom.name(*box))
                return box, await got.bytes_async()

        for fut in asyncio.as_completed([one(b) for b in geom.chunks_in(*req)]):
            box, data = await fut
            paint(out, req, chunk_view(memoryview(data), box), box)

    def read(req: Box) -> np.ndarray:
        shape = box_shape(req)
        out = np.empty(shape, dtype=np.uint8, order="F")
        asyncio.run(fill(req, out))
        return out

    return read


ADAPTERS: dict[str, Any] = {
    "cloudvol": CloudVolumeLike("cloudvol", "cloudvol", "cloudvol"),
    "cloud-volume": CloudVolumeLike("cloud-volume", "cloudvolume", "cloud-volume"),
    "tensorstore": TensorStore(),
    "reference": Reference(),
}
