"""Tests for cloudvol.paths: parse(), the CloudVolume-compatible extract API, and
differential checks against the cloud-volume oracle."""

from __future__ import annotations

import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudvol import paths
from cloudvol.exceptions import CloudVolError, UnsupportedFormatError, UnsupportedProtocolError
from cloudvol.paths import CloudPath, ExtractedPath, extract, parse, strict_extract

cvpaths = pytest.importorskip("cloudvolume.paths")
cfpaths = pytest.importorskip("cloudfiles.paths")

MATRIX = "https://s3-hpcrc.rc.princeton.edu"
TIGER = "https://td.princeton.edu"
NOKURA = "https://c10s.pni.princeton.edu"
GCS = "https://storage.googleapis.com"
AWS = "https://s3.amazonaws.com"


def clear_oracle_caches() -> None:
    """The oracle memoizes on the string only, so cwd/HOME changes need a flush."""
    cvpaths.extract.cache_clear()
    cfpaths.normalize.cache_clear()
    cfpaths.extract.cache_clear()


@pytest.fixture(autouse=True)
def no_user_aliases(tmp_path_factory, monkeypatch):
    """Keep a real ~/.cloudfiles/aliases.json out of the tests."""
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path_factory.mktemp("cloudfiles")))


# --- parse: valid forms -------------------------------------------------------

PARSE_CASES = [
    # gs / s3 / mem: bucket + key prefix; trailing slashes dropped
    ("gs://b", CloudPath("precomputed", "gs", "b", "")),
    ("gs://b/", CloudPath("precomputed", "gs", "b", "")),
    ("gs://b/ds/layer", CloudPath("precomputed", "gs", "b", "ds/layer")),
    ("gs://b/ds/layer/", CloudPath("precomputed", "gs", "b", "ds/layer")),
    ("gs://b/ds/layer//", CloudPath("precomputed", "gs", "b", "ds/layer")),
    ("gs://my-bucket.v2/a/b/c/d", CloudPath("precomputed", "gs", "my-bucket.v2", "a/b/c/d")),
    ("s3://b/ds/layer", CloudPath("precomputed", "s3", "b", "ds/layer")),
    ("mem://b/ds/layer", CloudPath("precomputed", "mem", "b", "ds/layer")),
    ("mem://b", CloudPath("precomputed", "mem", "b", "")),
    ("gs://b/x y/z", CloudPath("precomputed", "gs", "b", "x y/z")),
    # custom S3 endpoints
    (
        "s3://https://s3.example.com/b/ds/layer",
        CloudPath("precomputed", "s3", "b", "ds/layer", "https://s3.example.com"),
    ),
    (
        "s3://http://localhost:9000/b/ds/",
        CloudPath("precomputed", "s3", "b", "ds", "http://localhost:9000"),
    ),
    ("s3://https://h.io/b", CloudPath("precomputed", "s3", "b", "", "https://h.io")),
    # aliases
    ("matrix://b/ds/layer", CloudPath("precomputed", "matrix", "b", "ds/layer", MATRIX)),
    ("tigerdata://b/ds", CloudPath("precomputed", "tigerdata", "b", "ds", TIGER)),
    ("nokura://b/ds", CloudPath("precomputed", "nokura", "b", "ds", NOKURA)),
    # http(s): bucket = host[:port], host = scheme://host[:port]
    (
        "http://localhost:8080/seg/1.0/testvol",
        CloudPath(
            "precomputed", "http", "localhost:8080", "seg/1.0/testvol", "http://localhost:8080"
        ),
    ),
    (
        "https://example.com",
        CloudPath("precomputed", "https", "example.com", "", "https://example.com"),
    ),
    (
        "https://example.com/",
        CloudPath("precomputed", "https", "example.com", "", "https://example.com"),
    ),
    (
        "https://127.0.0.1:443/a/b/",
        CloudPath("precomputed", "https", "127.0.0.1:443", "a/b", "https://127.0.0.1:443"),
    ),
    (
        "graphene://middleauth+https://h.org/segmentation/table",
        CloudPath("graphene", "middleauth+https", "h.org", "segmentation/table", "https://h.org"),
    ),
    (
        "ngauth+https://h.org/x",
        CloudPath("precomputed", "ngauth+https", "h.org", "x", "https://h.org"),
    ),
    # file
    ("file:///tmp/ds/layer", CloudPath("precomputed", "file", "", "/tmp/ds/layer")),
    ("file:///tmp/ds/layer/", CloudPath("precomputed", "file", "", "/tmp/ds/layer")),
    ("file:///tmp/a/../b", CloudPath("precomputed", "file", "", "/tmp/b")),
    ("/tmp/ds/layer", CloudPath("precomputed", "file", "", "/tmp/ds/layer")),
    ("precomputed:///tmp/x", CloudPath("precomputed", "file", "", "/tmp/x")),
    # format prefixes
    ("precomputed://gs://b/x", CloudPath("precomputed", "gs", "b", "x")),
    ("graphene://https://h/seg", CloudPath("graphene", "https", "h", "seg", "https://h")),
    ("n5://gs://b/x", CloudPath("n5", "gs", "b", "x")),
    ("zarr://s3://b/x", CloudPath("zarr", "s3", "b", "x")),
    ("zarr2://mem://b/x", CloudPath("zarr2", "mem", "b", "x")),
    ("zarr3://file:///tmp/x", CloudPath("zarr3", "file", "", "/tmp/x")),
    (
        "boss://https://api.boss/c/e/ch",
        CloudPath("boss", "https", "api.boss", "c/e/ch", "https://api.boss"),
    ),
    ("zarr2://matrix://b/x", CloudPath("zarr2", "matrix", "b", "x", MATRIX)),
    # |FORMAT: suffixes
    ("gs://b/x|neuroglancer-precomputed:", CloudPath("precomputed", "gs", "b", "x")),
    ("gs://b/x/|zarr2:", CloudPath("zarr2", "gs", "b", "x")),
    ("s3://b/x|zarr3:", CloudPath("zarr3", "s3", "b", "x")),
    ("https://h/x|n5:", CloudPath("n5", "https", "h", "x", "https://h")),
    ("file:///tmp/x|zarr:", CloudPath("zarr", "file", "", "/tmp/x")),
]


@pytest.mark.parametrize(("cloudpath", "expected"), PARSE_CASES, ids=[c for c, _ in PARSE_CASES])
def test_parse_valid_forms(cloudpath: str, expected: CloudPath) -> None:
    assert parse(cloudpath) == expected


@pytest.mark.parametrize(("cloudpath", "expected"), PARSE_CASES, ids=[c for c, _ in PARSE_CASES])
def test_parse_of_str_round_trips(cloudpath: str, expected: CloudPath) -> None:
    assert parse(str(expected)) == expected
    assert paths.normalize(cloudpath) == str(expected)


def test_relative_paths_are_made_absolute_against_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cwd = os.getcwd()
    assert parse("ds/layer") == CloudPath("precomputed", "file", "", f"{cwd}/ds/layer")
    assert parse("file://ds/layer/") == CloudPath("precomputed", "file", "", f"{cwd}/ds/layer")
    assert parse("./ds") == CloudPath("precomputed", "file", "", f"{cwd}/ds")
    assert parse(".").path == cwd
    assert parse("file://../x").path == os.path.dirname(cwd) + "/x"
    assert parse("graphene://rel").format == "graphene"
    assert parse(tmp_path / "a").path == f"{tmp_path}/a"  # os.PathLike


def test_tilde_is_expanded(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    assert parse("~/ds/layer").path == f"{home}/ds/layer"
    assert parse("file://~/ds/layer").path == f"{home}/ds/layer"
    assert parse("zarr://file://~").path == str(home)


@pytest.mark.parametrize(
    ("cloudpath", "expected"),
    [
        ("gs://b/p", CloudPath("precomputed", "https", "storage.googleapis.com", "b/p", GCS)),
        ("gs://b", CloudPath("precomputed", "https", "storage.googleapis.com", "b", GCS)),
        ("s3://b/p/q", CloudPath("precomputed", "https", "s3.amazonaws.com", "b/p/q", AWS)),
        (
            "graphene://gs://b/p",
            CloudPath("graphene", "https", "storage.googleapis.com", "b/p", GCS),
        ),
        (
            "matrix://b/p",
            CloudPath("precomputed", "https", "s3-hpcrc.rc.princeton.edu", "b/p", MATRIX),
        ),
        ("tigerdata://b/p", CloudPath("precomputed", "https", "td.princeton.edu", "b/p", TIGER)),
        (
            "nokura://b/p",
            CloudPath("precomputed", "https", "c10s.pni.princeton.edu", "b/p", NOKURA),
        ),
        (
            "s3://http://localhost:9000/b/p",
            CloudPath("precomputed", "http", "localhost:9000", "b/p", "http://localhost:9000"),
        ),
        ("gs://b/p|zarr2:", CloudPath("zarr2", "https", "storage.googleapis.com", "b/p", GCS)),
        # unchanged
        ("mem://b/p", CloudPath("precomputed", "mem", "b", "p")),
        ("file:///tmp/p", CloudPath("precomputed", "file", "", "/tmp/p")),
        ("http://h:1/p", CloudPath("precomputed", "http", "h:1", "p", "http://h:1")),
    ],
)
def test_use_https(cloudpath: str, expected: CloudPath) -> None:
    assert parse(cloudpath, use_https=True) == expected
    assert parse(cloudpath).to_https() == expected
    assert parse(str(expected)) == expected


# --- parse: errors ------------------------------------------------------------

ERROR_CASES = [
    # (cloudpath, exception, text the message must contain)
    ("s4://bucket/x", UnsupportedProtocolError, "'s4://'"),
    ("HTTPS://h/x", UnsupportedProtocolError, "lower case"),
    ("middleauth+http://h/x", UnsupportedProtocolError, "'middleauth+http://'"),
    ("precomputed://s4://b/x", UnsupportedProtocolError, "'s4://'"),
    ("gs://s4://x", UnsupportedProtocolError, "'s4://'"),
    ("gs://gs://x", UnsupportedProtocolError, "repeated protocol 'gs://'"),
    ("s3://gs://x", UnsupportedProtocolError, "repeated protocol 'gs://'"),
    ("gs://precomputed://x", UnsupportedProtocolError, "format 'precomputed://' after protocol"),
    ("gs://graphene://x", UnsupportedProtocolError, "'graphene://'"),
    ("precomputed://graphene://gs://x", UnsupportedProtocolError, "second format 'graphene://'"),
    ("precomputed://gs://b/x|zarr2:", UnsupportedProtocolError, "'|zarr2:'"),
    ("gs://b/x|zarr2:|zarr3:", UnsupportedProtocolError, "'|zarr2:'"),
    ("gs://b/x://y", UnsupportedProtocolError, "'://' inside the path"),
    ("gs://b/https://h", UnsupportedProtocolError, "'://' inside the path"),
    ("gs://///", UnsupportedProtocolError, "missing bucket"),
    ("gs://", UnsupportedProtocolError, "missing bucket"),
    ("mem://", UnsupportedProtocolError, "missing bucket"),
    ("gs:///b/x", UnsupportedProtocolError, "empty bucket"),
    ("gs://b//x", UnsupportedProtocolError, "path component ''"),
    ("gs://b/x/../y", UnsupportedProtocolError, "path component '..'"),
    ("s3://b/./y", UnsupportedProtocolError, "path component '.'"),
    ("gs://b:80/x", UnsupportedProtocolError, "bucket name 'b:80'"),
    ("gs://b c/x", UnsupportedProtocolError, "bucket name 'b c'"),
    ("https://", UnsupportedProtocolError, "missing https host"),
    ("https:///x", UnsupportedProtocolError, "missing https host"),
    ("http://h:abc/x", UnsupportedProtocolError, "'h:abc'"),
    ("http://h:99999/x", UnsupportedProtocolError, "'h:99999'"),
    ("http://[::1]:80/x", UnsupportedProtocolError, "'[::1]:80'"),
    ("https://h/x//y", UnsupportedProtocolError, "path component ''"),
    ("https://h/x#frag", UnsupportedProtocolError, "fragment"),
    ("s3://https://", UnsupportedProtocolError, "missing S3 endpoint host"),
    ("s3://https://h.io", UnsupportedProtocolError, "missing bucket"),
    ("s3://https://h.io/b|foo:", UnsupportedFormatError, "'|foo:'"),
    ("file://", UnsupportedProtocolError, "empty local path"),
    ("", UnsupportedProtocolError, "empty local path"),
    ("precomputed://", UnsupportedProtocolError, "empty local path"),
    ("|zarr2:", UnsupportedProtocolError, "empty local path"),
    ("file:///", UnsupportedProtocolError, "filesystem root"),
    ("/tmp/gs://b", UnsupportedProtocolError, "'://' inside the path"),
    ("nifti://gs://b/x", UnsupportedFormatError, "'nifti://'"),
    ("Zarr://gs://b/x", UnsupportedProtocolError, "'zarr://'"),
    ("gs://b/x|foo:", UnsupportedFormatError, "'|foo:'"),
    ("gs://b/x|zip:", UnsupportedFormatError, "'|zip:'"),
]


@pytest.mark.parametrize(
    ("cloudpath", "exc", "part"), ERROR_CASES, ids=[c for c, _, _ in ERROR_CASES]
)
def test_parse_errors_name_the_bad_part(cloudpath: str, exc: type[Exception], part: str) -> None:
    with pytest.raises(exc) as info:
        parse(cloudpath)
    message = str(info.value)
    assert part in message
    assert isinstance(info.value, CloudVolError)
    # and the message says what would have been accepted
    assert "gs, file, s3" in message and "precomputed" in message


def test_protocol_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="s4"):
        parse("s4://b/x")


@pytest.mark.parametrize(
    "cloudpath",
    [
        "https://user:SECRET@example.com/a/b",
        "http://SECRET@h:8080/a",
        "graphene://middleauth+https://tok:SECRET@h/seg",
        "s3://https://key:SECRET@s3.example.com/b/x",
        "https://user:pa/SECRET@example.com/a",
        "s3://AKIA:SECRET@bucket/x",
        "gs://b/https://u:SECRET@h/x",
    ],
)
def test_credentials_in_urls_are_refused_without_echoing_them(cloudpath: str) -> None:
    # a raw "/" in the password hides the "@" from CloudVolume-style splitting: only
    # parse() (which then finds no valid host) can refuse that one
    calls = [parse] if "pa/" in cloudpath else [parse, extract, paths.to_https_protocol]
    for call in calls:
        with pytest.raises(UnsupportedProtocolError) as info:
            call(cloudpath)
        message = str(info.value)
        assert "SECRET" not in message
        assert "<redacted>@" in message


def test_userinfo_error_points_to_secrets() -> None:
    with pytest.raises(UnsupportedProtocolError) as info:
        parse("https://user:SECRET@example.com/a/b")
    assert "credentials" in str(info.value)
    assert "secrets=" in str(info.value) and "http-secret.json" in str(info.value)


def test_query_strings_are_refused_and_redacted() -> None:
    with pytest.raises(UnsupportedProtocolError) as info:
        parse("https://h/a?token=SECRET")
    assert "query string" in str(info.value)
    assert "SECRET" not in str(info.value)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(b"gs://b/x")  # type: ignore[arg-type]


# --- user aliases ---------------------------------------------------------------


def write_aliases(directory, aliases: dict) -> None:
    (directory / "aliases.json").write_text(json.dumps(aliases))


def test_user_alias_from_aliases_json(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path))
    write_aliases(tmp_path, {"lab": {"host": "s3://https://store.lab.org:9000/"}})
    cp = parse("zarr://lab://b/ds/layer")
    assert cp == CloudPath("zarr", "lab", "b", "ds/layer", "https://store.lab.org:9000")
    assert str(cp) == "zarr://lab://b/ds/layer"
    assert parse(str(cp)) == cp
    assert parse("lab://b/x", use_https=True) == CloudPath(
        "precomputed", "https", "store.lab.org:9000", "b/x", "https://store.lab.org:9000"
    )
    assert paths.to_https_protocol("lab://b/x") == "https://store.lab.org:9000/b/x"
    assert extract("lab://b/ds/layer") == ("precomputed", "lab", "b", "b/ds", "ds", "ds", "layer")
    converted = paths.to_https_protocol(extract("lab://b/ds/layer"))
    assert converted.protocol == "https" and converted.bucket == "store.lab.org:9000"


def test_user_alias_errors(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path))
    write_aliases(tmp_path, {"odd": {"host": "gs://bucket/prefix/"}})
    with pytest.raises(UnsupportedProtocolError, match="odd"):
        parse("odd://b/x")
    with pytest.raises(UnsupportedProtocolError, match="'other://'"):
        parse("other://b/x")
    (tmp_path / "aliases.json").write_text("{not json")
    with pytest.raises(UnsupportedProtocolError, match="aliases"):
        parse("other://b/x")
    assert parse("gs://b/x").protocol == "gs"  # built-ins never read the file


# --- CloudPath helpers ----------------------------------------------------------


def test_cloudpath_dataset_layer_and_extracted() -> None:
    cp = parse("gs://b/a/ds/layer")
    assert (cp.dataset, cp.layer) == ("ds", "layer")
    assert cp.extracted == ExtractedPath("precomputed", "gs", "b", "b/a/ds", "a/ds", "ds", "layer")
    assert parse("gs://b").extracted == ("precomputed", "gs", "b", "", "", "b", "b")
    assert parse("file:///tmp/ds/layer").extracted == (
        "precomputed", "file", "/tmp", "/tmp/ds", "ds", "ds", "layer",
    )  # fmt: skip
    # a custom endpoint cannot be carried in seven fields: it reads like plain s3
    plain_s3 = ExtractedPath("precomputed", "s3", "b", "b/ds", "ds", "ds", "l")
    assert parse("s3://https://h.io/b/ds/l").extracted == plain_s3


def test_cloudpath_join_parent_basename_url() -> None:
    cp = parse("s3://https://h.io/b/ds/layer")
    assert cp.url == "s3://https://h.io/b/ds/layer"
    assert cp.join("1_1_1", "0-64_0-64_0-64").path == "ds/layer/1_1_1/0-64_0-64_0-64"
    assert cp.parent == parse("s3://https://h.io/b/ds")
    assert cp.basename == "layer"
    assert parse("https://h:8/x").url == "https://h:8/x"


# --- CloudVolume-compatible API ------------------------------------------------


def test_extracted_path_has_cloudvolumes_seven_fields() -> None:
    assert ExtractedPath._fields == cvpaths.ExtractedPath._fields
    assert paths.ALLOWED_FORMATS == cvpaths.ALLOWED_FORMATS
    assert set(paths.ALLOWED_PROTOCOLS) <= set(cfpaths.ALLOWED_PROTOCOLS)


def test_enforced_cloudvolume_examples() -> None:
    assert extract("file:///tmp/dataset/layer") == (
        "precomputed", "file", "/tmp", "/tmp/dataset", "dataset", "dataset", "layer",
    )  # fmt: skip
    assert strict_extract("precomputed://gs://bucket32_24") == (
        "precomputed", "gs", "bucket32_24", "", "", "bucket32_24", "bucket32_24",
    )  # fmt: skip
    assert strict_extract("graphene://http://localhost:8080/segmentation/1.0/testvol") == (
        "graphene", "http", "localhost:8080", "localhost:8080/segmentation/1.0",
        "segmentation/1.0", "1.0", "testvol",
    )  # fmt: skip
    assert extract("") == ("",) * 7


def test_strict_extract_needs_dataset_and_layer() -> None:
    with pytest.raises(UnsupportedProtocolError, match="dataset=''"):
        strict_extract("gs://b//layer")
    with pytest.raises(UnsupportedProtocolError):
        strict_extract("")


def test_extract_windows_paths() -> None:
    assert extract("file://C:\\Users\\me\\ds\\layer", windows=True, disable_toabs=True) == (
        "precomputed", "file", "C:\\Users", "C:\\Users\\me\\ds", "me\\ds", "ds", "layer",
    )  # fmt: skip
    assert extract("file://C:\\x", windows=True, disable_toabs=True) == (
        "precomputed", "file", "C:\\x", "C:\\x", "", "C:", "x",
    )  # fmt: skip


def test_extract_memo_follows_the_working_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = extract("ds/layer")
    monkeypatch.chdir(tmp_path / "b")
    second = extract("ds/layer")
    assert first.basepath.endswith("/a/ds") and second.basepath.endswith("/b/ds")
    extract.cache_clear()  # CloudVolume's extract is an lru_cache; so is ours


def test_ascloudpath() -> None:
    assert paths.ascloudpath(extract("gs://b/ds/layer")) == "precomputed://gs://b/ds/layer"
    assert paths.ascloudpath(extract("gs://b")) == "precomputed://gs://b"
    assert paths.ascloudpath(extract("zarr://https://h:8/a/b/c")) == "zarr://https://h:8/a/b/c"


@pytest.mark.parametrize(
    ("cloudpath", "expected"),
    [
        ("gs://b/ds/layer", f"{GCS}/b/ds/layer"),
        ("gs://b/ds/", f"{GCS}/b/ds/"),
        ("s3://b/ds", f"{AWS}/b/ds"),
        ("precomputed://gs://b/x", f"precomputed://{GCS}/b/x"),
        ("matrix://b/x", f"{MATRIX}/b/x"),
        ("tigerdata://b/x", f"{TIGER}/b/x"),
        ("nokura://b/x", f"{NOKURA}/b/x"),
        ("zarr2://s3://https://h.io/b/x", "zarr2://https://h.io/b/x"),
        ("s3://http://localhost:9000/b/x", "http://localhost:9000/b/x"),
        ("gs://b/x|zarr3:", f"{GCS}/b/x|zarr3:"),
        ("file:///tmp/x", "file:///tmp/x"),
        ("https://h/x", "https://h/x"),
        ("mem://b/x", "mem://b/x"),
        ("rel/x", "rel/x"),
    ],
)
def test_to_https_protocol_strings(cloudpath: str, expected: str) -> None:
    assert paths.to_https_protocol(cloudpath) == expected
    assert cvpaths.to_https_protocol(cloudpath) == expected


def test_to_https_protocol_extracted() -> None:
    converted = paths.to_https_protocol(extract("gs://b/ds/layer"))
    assert converted == ("precomputed", "https", "storage.googleapis.com", "storage.googleapis.com/b/ds", "b/ds", "ds", "layer")  # fmt: skip
    assert converted == cvpaths.to_https_protocol(cvpaths.extract("gs://b/ds/layer"))
    assert paths.to_https_protocol(extract("mem://b/x")) == extract("mem://b/x")
    # CloudVolume forgets nokura here; cloudvol converts every alias
    assert paths.to_https_protocol(extract("nokura://b/x")).bucket == "c10s.pni.princeton.edu"


@pytest.mark.parametrize(
    "cloudpath",
    [
        "s4://b/x",
        "gs://gs://x",
        "precomputed://graphene://gs://x",
        "gs://b/x|foo:",
        "https:///x",
        "gs:///b/x",
    ],
)
def test_extract_raises_where_cloudvolume_guesses(cloudpath: str) -> None:
    with pytest.raises((UnsupportedProtocolError, UnsupportedFormatError)):
        extract(cloudpath)


def test_extract_refuses_custom_s3_endpoints_like_cloudvolume() -> None:
    with pytest.raises(UnsupportedProtocolError, match="parse"):
        extract("s3://https://h.io/b/x")
    with pytest.raises(cvpaths.UnsupportedProtocolError):
        cvpaths.extract("s3://https://h.io/b/x")


# --- differential tests against cloud-volume -----------------------------------

ORACLE_PATHS = [
    "gs://b", "gs://b/", "gs://b/ds", "gs://b/ds/layer", "gs://b/ds/layer/",
    "gs://b/a/b/c/ds/layer", "gs://b//ds", "gs://b/ds//layer", "gs://b/../x", "gs://b/./x",
    "gs://b:80/x/y", "gs://b c/x", "gs://b-/x", "gs://-b/x", "s3://b/ds/layer",
    "mem://b/ds/layer", "mem://b:123/x", "matrix://b/ds/layer", "tigerdata://b/x",
    "nokura://b/ds/layer", "http://localhost:8080/seg/1.0/testvol", "https://example.com",
    "https://example.com/", "https://example.com/a/b", "http://127.0.0.1:8080/a",
    "http://h:abc/x", "https://h/a?x=1", "middleauth+https://h/seg/table",
    "graphene://ngauth+https://h/seg/table", "precomputed://gs://b/ds/layer",
    "precomputed://gs://bucket32_24", "graphene://http://localhost:8080/segmentation/1.0/testvol",
    "n5://gs://b/ds", "zarr://gs://b/ds", "zarr2://s3://b/ds", "zarr3://file:///tmp/x",
    "boss://https://api.boss/ds/layer", "gs://b/ds/layer|neuroglancer-precomputed:",
    "gs://b/ds/layer/|zarr2:", "s3://b/x|zarr3:", "gs://b/ds/layer|graphene:",
    "file:///tmp/ds/layer", "file:///tmp", "file:///tmp/../x/y", "/tmp/x/y",
    "precomputed:///tmp/x",
]  # fmt: skip

RELATIVE_PATHS = [
    "file://rel/ds/layer", "file://./x", "file://../x", "file://", "rel/x", "x",
    "precomputed://", "precomputed://b/x", "|zarr2:", "zarr://rel/ds/",
    "~/x/y", "~", "file://~/ds/layer", "file://~",
]  # fmt: skip


def oracle(function, *args):
    try:
        result = function(*args)
    except Exception as err:  # the oracle raises its own exception types
        return ("raises", type(err).__name__)
    return tuple(result) if isinstance(result, tuple) else result


@pytest.mark.parametrize("cloudpath", ORACLE_PATHS)
def test_extract_matches_cloudvolume(cloudpath: str) -> None:
    assert tuple(extract(cloudpath)) == tuple(cvpaths.extract(cloudpath))
    assert oracle(strict_extract, cloudpath) == oracle(cvpaths.strict_extract, cloudpath)
    assert paths.to_https_protocol(cloudpath) == cvpaths.to_https_protocol(cloudpath)
    if "nokura://" not in cloudpath:  # CloudVolume forgets to convert nokura here
        theirs = cvpaths.to_https_protocol(cvpaths.extract(cloudpath))
        assert paths.to_https_protocol(extract(cloudpath)) == theirs


def test_relative_and_home_paths_match_cloudvolume(tmp_path, monkeypatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    clear_oracle_caches()
    try:
        for cloudpath in RELATIVE_PATHS:
            assert tuple(extract(cloudpath)) == tuple(cvpaths.extract(cloudpath)), cloudpath
            assert oracle(strict_extract, cloudpath) == oracle(cvpaths.strict_extract, cloudpath)
            for flag in (True, False):
                ours = oracle(extract, cloudpath, False, flag)
                assert ours == oracle(cvpaths.extract, cloudpath, False, flag), cloudpath
    finally:
        clear_oracle_caches()


def test_parse_agrees_with_cloudvolume_on_relative_paths(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    clear_oracle_caches()
    try:
        for cloudpath in ["file://rel/ds/layer", "rel/x", "~/x/y", "file://~/ds/layer"]:
            assert parse(cloudpath).extracted == tuple(cvpaths.extract(cloudpath))
    finally:
        clear_oracle_caches()


# --- hypothesis: generated valid paths -----------------------------------------

NAME_ALPHABET = string.ascii_letters + string.digits + "_-."
names = st.text(NAME_ALPHABET, min_size=1, max_size=10).filter(lambda s: s not in (".", ".."))
hostnames = st.lists(
    st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=8),
    min_size=1,
    max_size=3,
).map(".".join)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))


@st.composite
def valid_cloudpaths(draw) -> str:
    protocol = draw(
        st.sampled_from(
            ["gs", "s3", "mem", "matrix", "tigerdata", "nokura", "http", "https",
             "middleauth+https", "file"]
        )
    )  # fmt: skip
    parts = draw(st.lists(names, min_size=0, max_size=4))
    if protocol == "file":
        location = "/tmp/" + "/".join([draw(names), *parts])
    elif protocol in ("http", "https", "middleauth+https"):
        location = draw(hostnames) + draw(ports) + "".join("/" + p for p in parts)
    else:
        location = draw(names) + "".join("/" + p for p in parts)
    location += draw(st.sampled_from(["", "/"]))
    text = f"{protocol}://{location}"
    style = draw(st.sampled_from(["none", "prefix", "suffix"]))
    fmt = draw(st.sampled_from([*paths.ALLOWED_FORMATS, "neuroglancer-precomputed"]))
    if style == "prefix" and fmt != "neuroglancer-precomputed":
        text = f"{fmt}://{text}"
    elif style == "suffix":
        text = f"{text}|{fmt}:"
    return text


@st.composite
def endpoint_cloudpaths(draw) -> str:
    """Custom S3 endpoints: parse() takes them, CloudVolume's extract() does not."""
    scheme = draw(st.sampled_from(["http", "https"]))
    parts = draw(st.lists(names, min_size=0, max_size=3))
    location = draw(names) + "".join("/" + p for p in parts)
    fmt = draw(st.sampled_from(["", "precomputed://", "zarr3://"]))
    return f"{fmt}s3://{scheme}://{draw(hostnames)}{draw(ports)}/{location}"


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(valid_cloudpaths())
def test_generated_paths_extract_like_cloudvolume(cloudpath: str) -> None:
    expected = oracle(cvpaths.extract, cloudpath)  # e.g. bucket "-" raises in both
    assert oracle(extract, cloudpath) == expected
    assert oracle(strict_extract, cloudpath) == oracle(cvpaths.strict_extract, cloudpath)
    assert paths.to_https_protocol(cloudpath) == cvpaths.to_https_protocol(cloudpath)
    if "nokura://" not in cloudpath:
        theirs = oracle(lambda p: cvpaths.to_https_protocol(cvpaths.extract(p)), cloudpath)
        assert oracle(lambda p: paths.to_https_protocol(extract(p)), cloudpath) == theirs
    # .extracted is CloudVolume's view of the canonical spelling (no trailing "/", which
    # matters to CloudVolume's bucket regex: "gs://0./" has bucket "0", "gs://0." "0.")
    canonical = str(parse(cloudpath))
    assert oracle(lambda p: parse(p).extracted, cloudpath) == oracle(cvpaths.extract, canonical)


@FAST
@given(st.one_of(valid_cloudpaths(), endpoint_cloudpaths()), st.booleans())
def test_generated_paths_round_trip(cloudpath: str, use_https: bool) -> None:
    cp = parse(cloudpath, use_https=use_https)
    assert parse(str(cp)) == cp
    assert str(parse(str(cp))) == str(cp)
    assert parse(cp.url).protocol == cp.protocol
    if use_https:
        assert cp == parse(cloudpath).to_https()
        assert parse(paths.to_https_protocol(cloudpath)) == cp


@FAST
@given(valid_cloudpaths(), st.sampled_from(["s4", "gs", "precomputed", "graphene", "wat+https"]))
def test_generated_bad_scheme_sequences_raise(cloudpath: str, extra: str) -> None:
    broken = f"{cloudpath}".replace("://", f"://{extra}://", 1)
    with pytest.raises((UnsupportedProtocolError, UnsupportedFormatError)) as info:
        parse(broken)
    assert f"'{extra}://'" in str(info.value)
