"""FileStore specifics: CloudVolume's local naming, the plain option, atomic writes."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from cloudvol.exceptions import StorageError
from cloudvol.paths import CloudPath
from cloudvol.storage import FileStore, PutOptions, StorageOptions, open_store
from cloudvol.storage.file import TEMP_SUFFIX, atomic_write, is_temp_name


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_compressed_writes_use_cloudvolume_suffixes(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path))
    store.put("a", b"1" * 100, PutOptions(compress="gzip"))
    store.put("b", b"2" * 100, PutOptions(compress="br"))
    store.put("c", b"3" * 100, PutOptions(compress="zstd"))
    store.put("d", b"4" * 100)
    assert _files(tmp_path) == ["a.gz", "b.br", "c.zstd", "d"]
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == b"1" * 100


def test_local_suffixes_off_writes_plain_bytes_under_the_key(tmp_path: Path) -> None:
    """What Neuroglancer and TensorStore read from a plain directory."""
    store = open_store(
        CloudPath("precomputed", "file", "", str(tmp_path)), StorageOptions(local_suffixes=False)
    )
    (tmp_path / "k.gz").write_bytes(gzip.compress(b"old"))
    store.put("k", b"new", PutOptions(compress="gzip"))
    assert _files(tmp_path) == ["k"]
    assert (tmp_path / "k").read_bytes() == b"new"
    (tmp_path / "legacy.gz").write_bytes(gzip.compress(b"still readable"))
    assert store.get("legacy") == b"still readable"


def test_reads_probe_every_variant_and_prefer_the_last_hit(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path))
    (tmp_path / "x.br").write_bytes(__import__("brotli").compress(b"brotli"))
    (tmp_path / "y.gz").write_bytes(gzip.compress(b"gz"))
    (tmp_path / "z").write_bytes(b"plain")
    assert store.get_many(["x", "y", "z"]) == {"x": b"brotli", "y": b"gz", "z": b"plain"}


def test_keys_cannot_escape_root_with_a_leading_slash(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path / "root"))
    store.put("/abs/key", b"v")
    assert (tmp_path / "root" / "abs" / "key").read_bytes() == b"v"


def test_a_directory_named_like_a_key_is_not_an_object(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path))
    (tmp_path / "dir").mkdir()
    assert store.get("dir") is None
    assert store.exists_many(["dir"]) == {"dir": False}
    store.delete_many(["dir"])
    assert (tmp_path / "dir").is_dir()


def test_failure_after_data_reached_the_temp_file_cleans_up(tmp_path: Path) -> None:
    """os.replace fails when the target is a non-empty directory: the temp file
    had been written, must be removed, and the existing ``key.gz`` must stay."""
    store = FileStore(str(tmp_path))
    store.put("k", b"old", PutOptions(compress="gzip"))
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "child").write_bytes(b"")
    with pytest.raises(StorageError) as err:
        store.put("k", b"new")
    assert "k" in str(err.value)
    assert store.get("k") == b"old"
    assert _files(tmp_path) == ["k.gz", "k/child"]


def test_atomic_write_creates_parents_and_default_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "file"
    atomic_write(str(target), b"data")
    assert target.read_bytes() == b"data"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert os.listdir(target.parent) == ["file"]


def test_atomic_write_failing_mid_write_leaves_nothing(tmp_path: Path) -> None:
    class Exploding:
        """Not a buffer: write() fails after the temp file was created."""

    (tmp_path / "f").write_bytes(b"keep")
    with pytest.raises(TypeError):
        atomic_write(str(tmp_path / "f"), Exploding())  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == ["f"]
    assert (tmp_path / "f").read_bytes() == b"keep"


def test_temp_files_are_never_listed(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path))
    store.put("real", b"x")
    (tmp_path / f".real.abc123{TEMP_SUFFIX}").write_bytes(b"partial")
    assert is_temp_name(f".real.abc123{TEMP_SUFFIX}")
    assert list(store.list()) == ["real"]
    assert list(store.list("", flat=True)) == ["real"]


def test_unwritable_location_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    store = FileStore(str(tmp_path / "file"))  # the root is a file, not a directory
    with pytest.raises(StorageError, match="file"):
        store.put("k", b"v")


def test_ranges_read_the_stored_file(tmp_path: Path) -> None:
    from cloudvol.storage import ByteRange

    store = FileStore(str(tmp_path))
    store.put("s", b"0123456789", PutOptions(compress="gzip"))
    stored = (tmp_path / "s.gz").read_bytes()
    assert store.get_ranges([ByteRange("s", 0, 3)]) == [stored[:3]]
    assert store.size("s") == len(stored)


def test_many_parallel_writes_and_reads(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path), threads=4)
    values = {f"{i % 7}/{i}": os.urandom(64) for i in range(500)}
    store.put_many(values, PutOptions(compress="gzip"))
    assert store.get_many(values) == values
    assert len(list(store.list())) == 500


@pytest.mark.parametrize("method", ["gzip", "br", "zstd"])
def test_cloudfiles_reads_what_we_write_and_we_read_what_it_writes(
    tmp_path: Path, method: str
) -> None:
    """Interop with CloudVolume's IO layer on local files, both directions."""
    cloudfiles = pytest.importorskip("cloudfiles")
    store = FileStore(str(tmp_path))
    for level in (None, 1, 9):
        store.put(f"ours{level}", b"cloudvol " * 1000, PutOptions(compress=method, level=level))
        assert (
            cloudfiles.CloudFiles(f"file://{tmp_path}").get(f"ours{level}") == b"cloudvol " * 1000
        )
    cloudfiles.CloudFiles(f"file://{tmp_path}").put(
        "theirs", b"cloudfiles " * 1000, compress=method
    )
    assert store.get("theirs") == b"cloudfiles " * 1000
    assert "theirs" in list(store.list())
