"""Storage layer: key -> bytes on file, mem, S3, GCS and HTTP(S).

``open_store(cloudpath, StorageOptions(...))`` returns a :class:`Store`; see
``docs/storage.md`` for backends, local naming, credentials and endpoints.
"""

from cloudvol.storage.base import ByteRange, PutOptions, Store, StoreCapabilities
from cloudvol.storage.compression import normalize_compress
from cloudvol.storage.factory import StorageOptions, clear_client_cache, open_store
from cloudvol.storage.file import FileStore
from cloudvol.storage.memory import MemoryStore, free_memory, memory_usage
from cloudvol.storage.object_store import ObjectStore

__all__ = [
    "ByteRange",
    "FileStore",
    "MemoryStore",
    "ObjectStore",
    "PutOptions",
    "StorageOptions",
    "Store",
    "StoreCapabilities",
    "clear_client_cache",
    "free_memory",
    "memory_usage",
    "normalize_compress",
    "open_store",
]
