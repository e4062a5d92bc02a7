"""``s3://``, ``gs://`` (and S3-compatible aliases) and ``http(s)://`` through obstore.

Every request is a coroutine on the background loop (:mod:`cloudvol.storage.aio`),
at most ``concurrency`` in flight per call. obstore retries 5xx, 429, connection
errors and timeouts with backoff; what still fails becomes a
:class:`~cloudvol.exceptions.StorageError` naming the object's URL (never a
credential), 401/403 an :class:`~cloudvol.exceptions.AuthenticationError`, and a
missing object is ``None``.

Transport compression is signalled by ``Content-Encoding``: writes set it, reads
look at the stored attribute and decompress (on worker threads, off the loop).
Object names never carry suffixes here.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import os
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import obstore as obs

from cloudvol.exceptions import EmptyFileException, StorageError, UnsupportedStorageOperation
from cloudvol.secrets import Credentials, redact
from cloudvol.storage import aio
from cloudvol.storage.base import ByteRange, PutOptions, Store, StoreCapabilities
from cloudvol.storage.compression import (
    as_byte_buffer,
    compress,
    decompress,
    normalize_content_encoding,
)
from cloudvol.storage.errors import translate
from cloudvol.storage.listing import list_keys
from cloudvol.storage.options import StorageOptions
from cloudvol.storage.ranges import coalesce
from cloudvol.storage.threads import cpu_pool

__all__ = ["ObjectStore", "ServiceKind"]

ServiceKind = Literal["s3", "gs", "http"]

_S3_DELETE_BATCH = 1000  # DeleteObjects' limit

# obstore's runtime (tokio) does not survive fork(): a child forked after the
# parent made requests hangs on its first request. Fail fast instead.
_used_in_pid: int | None = None
_forked_after_use = False


def _mark_used() -> None:
    global _used_in_pid
    if _forked_after_use:
        raise StorageError(
            "cloud storage cannot be used in a process forked after its parent made "
            "requests (obstore's runtime does not survive fork); start workers with "
            "multiprocessing's 'spawn' or 'forkserver' method"
        )
    if _used_in_pid is None:
        _used_in_pid = os.getpid()


def _after_fork_in_child() -> None:
    global _forked_after_use
    if _used_in_pid is not None:
        _forked_after_use = True


os.register_at_fork(after_in_child=_after_fork_in_child)


class ObjectStore(Store):
    """A cloudpath directory on S3, GCS or an HTTP server, served by an obstore client.

    ``client`` is shared by every store on the same bucket and credentials
    (connection reuse); ``root`` is the key prefix of this directory in the bucket.
    """

    def __init__(
        self,
        client: Any,
        *,
        kind: ServiceKind,
        url: str,
        root: str,
        credentials: Credentials,
        options: StorageOptions,
    ) -> None:
        self._client = client
        self._kind = kind
        self._credentials = credentials
        self._url = redact(url.rstrip("/"), credentials)
        self._root = root.strip("/")
        self._options = options
        read_only = kind == "http"
        self.capabilities = StoreCapabilities(
            supports_writes=not read_only,
            supports_listing=not read_only,
            supports_ranges=True,
            supports_deletes=not read_only,
        )

    @property
    def url(self) -> str:
        return self._url

    @property
    def kind(self) -> ServiceKind:
        """``"s3"``, ``"gs"`` or ``"http"``."""
        return self._kind

    def __repr__(self) -> str:
        return (
            f"ObjectStore({self._url!r}, kind={self._kind!r}, source={self._credentials.source!r})"
        )

    # --- helpers ---------------------------------------------------------------

    def _full(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self._root}/{key}" if self._root else key

    def _where(self, key: str) -> str:
        return f"{self._url}/{key}" if key else self._url

    def _fail(self, exc: BaseException, op: str, key: str) -> StorageError:
        return translate(exc, op=op, where=self._where(key), credentials=self._credentials)

    def _require(self, op: str, allowed: bool) -> None:
        if not allowed:
            raise UnsupportedStorageOperation(
                f"{op} is not supported on {self._url}: HTTP(S) sources are read-only"
                if self._kind == "http"
                else f"{op} is not supported on {self._url}"
            )

    def _run(self, coro: Awaitable[Any]) -> Any:
        _mark_used()
        return aio.run(coro)  # type: ignore[arg-type]

    async def _gather(self, factories: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
        return await aio.bounded_gather(factories, self._options.concurrency)

    # --- reads ---------------------------------------------------------------

    async def _get_one(self, key: str) -> tuple[str, bytes | None]:
        try:
            result = await obs.get_async(self._client, self._full(key))
            raw = await result.bytes_async()
            encoding = result.attributes.get("Content-Encoding")
        except FileNotFoundError:
            return key, None
        except Exception as exc:
            raise self._fail(exc, "GET", key) from None
        method = normalize_content_encoding(encoding, key=self._where(key))
        if method is None:
            return key, bytes(raw)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            cpu_pool(),
            lambda: decompress(memoryview(raw), method, key=self._where(key)),
        )
        return key, data

    def get(self, key: str) -> bytes | None:
        return self._run(self._get_one(key))[1]

    def get_iter(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return
        _mark_used()
        if aio.in_loop_thread():
            raise RuntimeError("get_iter() cannot run on the storage event loop thread")
        results: queue.SimpleQueue[tuple[str, bytes | None] | BaseException] = queue.SimpleQueue()
        # A slot is taken per request and given back only when the caller takes the
        # result, so at most `concurrency` objects wait in memory for a slow consumer.
        slots = asyncio.Semaphore(self._options.concurrency)

        async def one(key: str) -> None:
            try:
                results.put(await self._get_one(key))
            except Exception as exc:
                results.put(exc)

        async def produce() -> None:
            tasks = []
            for key in unique:
                await slots.acquire()
                tasks.append(asyncio.ensure_future(one(key)))
            await asyncio.gather(*tasks)

        loop = aio.get_loop()
        producer = aio.submit(produce())
        try:
            for _ in unique:
                item = results.get()
                loop.call_soon_threadsafe(slots.release)
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            producer.cancel()

    def get_ranges(self, ranges: Sequence[ByteRange]) -> list[bytes]:
        out: list[bytes] = [b""] * len(ranges)
        requests = coalesce(ranges, self._options.coalesce_gap, self._options.coalesce_max)

        async def fetch(request: Any) -> None:
            try:
                data = await obs.get_range_async(
                    self._client, self._full(request.key), start=request.start, end=request.end
                )
            except FileNotFoundError:
                raise EmptyFileException(f"{self._where(request.key)} does not exist") from None
            except Exception as exc:
                raise self._fail(
                    exc, f"GET bytes {request.start}-{request.end - 1} of", request.key
                ) from None
            view = memoryview(data)
            for index, offset, length in request.parts:
                out[index] = bytes(view[offset : offset + length])

        if requests:
            self._run(self._gather(functools.partial(fetch, r) for r in requests))
        return out

    async def _head(self, key: str) -> int | None:
        try:
            meta = await obs.head_async(self._client, self._full(key))
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._fail(exc, "HEAD", key) from None
        return int(meta["size"])

    def size(self, key: str) -> int | None:
        return self._run(self._head(key))

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        unique = list(dict.fromkeys(keys))
        sizes = self._run(self._gather(functools.partial(self._head, k) for k in unique))
        return {k: s is not None for k, s in zip(unique, sizes, strict=True)}

    def list(self, prefix: str = "", flat: bool = False) -> Iterator[str]:
        self._require("listing", self.capabilities.supports_listing)
        return list_keys(prefix, flat, walk=self._walk, scan=self._scan, strip_suffixes=False)

    def _relative(self, path: str) -> str:
        return path[len(self._root) + 1 :] if self._root else path

    def _list_prefix(self, directory: str) -> str | None:
        full = self._full(directory).rstrip("/")
        return full or None

    def _walk(self, directory: str) -> builtins.list[str]:
        async def collect() -> builtins.list[str]:
            names: builtins.list[str] = []
            try:
                async for batch in obs.list(
                    self._client, self._list_prefix(directory), chunk_size=1000
                ):
                    names.extend(self._relative(meta["path"]) for meta in batch)
            except Exception as exc:
                raise self._fail(exc, "LIST", directory) from None
            return names

        return self._run(collect())

    def _scan(self, directory: str) -> tuple[builtins.list[str], builtins.list[str]]:
        async def collect() -> tuple[builtins.list[str], builtins.list[str]]:
            try:
                result = await obs.list_with_delimiter_async(
                    self._client, self._list_prefix(directory)
                )
            except Exception as exc:
                raise self._fail(exc, "LIST", directory) from None
            files = [self._relative(meta["path"]) for meta in result["objects"]]
            dirs = [self._relative(p.rstrip("/")) for p in result["common_prefixes"]]
            return files, dirs

        return self._run(collect())

    # --- writes --------------------------------------------------------------

    def _attributes(self, options: PutOptions) -> dict[str, str]:
        attributes = {"Content-Type": options.content_type or "application/octet-stream"}
        if options.compress:
            attributes["Content-Encoding"] = options.compress
        if options.cache_control:
            attributes["Cache-Control"] = options.cache_control
        return attributes

    async def _put_one(self, key: str, value: bytes | memoryview, options: PutOptions) -> None:
        if options.compress:
            loop = asyncio.get_running_loop()
            data: Any = await loop.run_in_executor(
                cpu_pool(), compress, value, options.compress, options.level
            )
        else:
            data = as_byte_buffer(value)  # obstore takes 1-D uint8 buffers only
        size = memoryview(data).nbytes
        try:
            await obs.put_async(
                self._client,
                self._full(key),
                data,
                attributes=self._attributes(options),
                use_multipart=size > self._options.multipart_threshold,
                chunk_size=self._options.multipart_chunk_size,
            )
        except Exception as exc:
            raise self._fail(exc, "PUT", key) from None

    def put_many(
        self,
        items: Mapping[str, bytes | memoryview] | Iterable[tuple[str, bytes | memoryview]],
        options: PutOptions = PutOptions(),
    ) -> None:
        self._require("writing", self.capabilities.supports_writes)
        _mark_used()
        pairs = items.items() if isinstance(items, Mapping) else items
        # Items are consumed lazily from the caller's thread, at most `concurrency`
        # uploads in flight, so a generator of chunks is never held in memory at once.
        slots = threading.BoundedSemaphore(self._options.concurrency)
        pending: builtins.list[Any] = []
        failures: builtins.list[BaseException] = []

        def done(future: Any) -> None:
            slots.release()
            if not future.cancelled() and future.exception() is not None:
                failures.append(future.exception())

        try:
            for key, value in pairs:
                slots.acquire()
                if failures:
                    slots.release()
                    break
                future = aio.submit(self._put_one(key, value, options))
                future.add_done_callback(done)
                pending.append(future)
        finally:
            for future in pending:
                # Wait even when the items iterator raised: no upload outlives the call.
                try:
                    future.result()
                except BaseException:  # recorded by done(); the first is raised below
                    continue
        if failures:
            raise failures[0]

    def delete_many(self, keys: Iterable[str]) -> None:
        self._require("deleting", self.capabilities.supports_deletes)
        paths = [self._full(k) for k in dict.fromkeys(keys)]
        if not paths:
            return

        async def delete_batch(batch: builtins.list[str]) -> None:
            try:
                await obs.delete_async(self._client, batch)
            except Exception as exc:
                raise self._fail(exc, "DELETE", self._relative(batch[0])) from None

        async def delete_one(path: str) -> None:
            try:
                await obs.delete_async(self._client, path)
            except FileNotFoundError:
                return  # already gone: deleting a missing key is not an error
            except Exception as exc:
                raise self._fail(exc, "DELETE", self._relative(path)) from None

        if self._kind == "s3":
            # S3 deletes up to 1000 keys per request and ignores missing ones.
            batches = [
                paths[i : i + _S3_DELETE_BATCH] for i in range(0, len(paths), _S3_DELETE_BATCH)
            ]
            self._run(self._gather(functools.partial(delete_batch, b) for b in batches))
        else:
            self._run(self._gather(functools.partial(delete_one, p) for p in paths))
