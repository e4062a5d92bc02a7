"""The SQL mirror of a spatial index: which cells hold which segment ids.

Same schema as CloudVolume's ``SpatialIndex.to_sql``, so either library reads a
database the other wrote::

    index_files(id INTEGER PRIMARY KEY AUTOINCREMENT, filename VARCHAR(100) NOT NULL)
        index idxfname (filename)
    file_lookup(label INTEGER NOT NULL, fid INTEGER NOT NULL)
        unique index pk_label_fid (label, fid), index fname (fid)

``filename`` is a cell's base name (``0-512_0-512_0-400.spatial``). Looking up cells
by name goes through ``idxfname`` and then ``fname``; looking up a segment goes
through ``pk_label_fid``: both are index searches, never table scans.

URLs (as CloudVolume): ``sqlite://relative.db``, ``sqlite:///absolute.db`` or a bare
path for SQLite (standard library ``sqlite3``); ``mysql://user:password@host:port/
database`` for MySQL (database defaults to ``spatial_index``; a missing user or
password is read from ``mysql-secret.json`` / ``{host}-mysql-secret.json`` in the
CloudVolume secret directories, keys ``username`` and ``password``). MySQL needs
``mysql-connector-python`` or ``pymysql`` installed. PostgreSQL is not supported.

SQLite stores signed 64-bit integers: segment ids >= 2**63 are written as their
two's complement and read back as uint64 (CloudVolume cannot write such ids).
Passwords never appear in messages or reprs (:func:`mask_url`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cloudvol.exceptions import CloudVolError, UnsupportedProtocolError
from cloudvol.secrets import find_secret_file, redact

__all__ = ["DatabaseURL", "IndexDatabase", "mask_url", "parse_db_url"]

SQLITE = "sqlite"
MYSQL = "mysql"

_DEFAULT_DATABASE = "spatial_index"
_IN_BATCH = 500  # bound parameters per IN (...) list; SQLite's old limit is 999
_UINT64 = 2**64
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)(.*)@")

# Read queries ({marks}: one bind marker per value). On an analysed database of
# any size they are index searches: idxfname then fname, or pk_label_fid.
SQL_LABELS_IN_FILES = (
    "SELECT DISTINCT file_lookup.label FROM index_files "
    "JOIN file_lookup ON file_lookup.fid = index_files.id "
    "WHERE index_files.filename IN ({marks})"
)
SQL_FILES_FOR_LABELS = (
    "SELECT file_lookup.label, file_lookup.fid, index_files.filename FROM file_lookup "
    "JOIN index_files ON file_lookup.fid = index_files.id "
    "WHERE file_lookup.label IN ({marks})"
)
SQL_ALL_FILES = (
    "SELECT file_lookup.label, file_lookup.fid, index_files.filename FROM file_lookup "
    "JOIN index_files ON file_lookup.fid = index_files.id"
)
SQL_ALL_LABELS = "SELECT DISTINCT label FROM file_lookup"


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (the user name is kept).

    Everything up to the last ``@`` counts as user-info, so a password holding
    ``/`` or ``@`` is masked whole.
    """
    match = _USERINFO.match(url)
    if match is None:
        return url
    scheme, userinfo = match.group(1), match.group(2)
    user, colon, _ = userinfo.partition(":")
    masked_info = f"{user}:***" if colon else user
    return f"{scheme}{masked_info}@{url[match.end() :]}"


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed spatial index database URL. ``path`` is the SQLite file or the MySQL
    database name. ``str()`` and ``repr()`` mask the password."""

    scheme: str
    path: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    hostname: str | None = None
    port: int | None = None

    def masked(self) -> str:
        """The URL for messages: ``mysql://user:***@host:3306/db`` or ``sqlite://path``."""
        if self.scheme == SQLITE:
            return f"sqlite://{self.path}"
        user = ""
        if self.username is not None:
            user = self.username + (":***" if self.password is not None else "") + "@"
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{user}{self.hostname or ''}{port}/{self.path}"

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"DatabaseURL({self.masked()!r})"


def parse_db_url(url: str) -> DatabaseURL:
    """Parse ``sqlite://path``, a bare path (SQLite) or ``mysql://user:pw@host:port/db``.

    Raises :class:`UnsupportedProtocolError` (a ``ValueError``) naming the scheme for
    anything else, and ``ValueError`` (URL masked) for a malformed MySQL URL.
    """
    if url.startswith("sqlite://"):
        return DatabaseURL(SQLITE, url[len("sqlite://") :])
    scheme = urllib.parse.urlsplit(url).scheme if "://" in url else ""
    if scheme == "":
        return DatabaseURL(SQLITE, url)
    if scheme != MYSQL:
        raise UnsupportedProtocolError(
            f"{scheme}:// is not a supported spatial index database "
            f"(supported: sqlite://, mysql://); got {mask_url(url)}"
        )
    match = _USERINFO.match(url)
    userinfo = match.group(2) if match else None
    rest = url[match.end() :] if match else url[len("mysql://") :]
    rest = rest.split("?", 1)[0].split("#", 1)[0]  # options may hold secrets: dropped
    host_port, _, database = rest.partition("/")
    username = password = None
    if userinfo is not None:
        user, colon, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if colon else None
    hostname, colon, port_text = host_port.partition(":")
    port = None
    if colon:
        if not port_text.isdigit():
            raise ValueError(f"bad port {port_text!r} in spatial index URL {mask_url(url)}")
        port = int(port_text)
    database = database.replace("/", "") or _DEFAULT_DATABASE
    return DatabaseURL(MYSQL, database, username, password, hostname or None, port)


# --- dialects --------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    bind: str
    schema: tuple[str, ...]
    indices: tuple[str, ...]
    signed_labels: bool  # SQLite: uint64 ids stored as two's complement int64

    def labels_to_db(self, labels: np.ndarray) -> list[int]:
        values = np.asarray(labels, dtype=np.uint64)
        return values.view(np.int64).tolist() if self.signed_labels else values.tolist()

    def label_to_db(self, label: int) -> int:
        label = int(label) % _UINT64
        return label - _UINT64 if (self.signed_labels and label >= 2**63) else label


# CloudVolume's DDL, statement for statement (see its SpatialIndex._to_sql_common).
_SQLITE = _Dialect(
    bind="?",
    schema=(
        "CREATE TABLE index_files (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "filename VARCHAR(100) NOT NULL)",
        "CREATE INDEX idxfname ON index_files (filename)",
        "CREATE TABLE file_lookup (label INTEGER NOT NULL, fid INTEGER NOT NULL)",
    ),
    indices=(
        "CREATE UNIQUE INDEX pk_label_fid ON file_lookup (label, fid)",
        "CREATE INDEX fname ON file_lookup (fid)",
        "ANALYZE file_lookup",
    ),
    signed_labels=True,
)
_MYSQL = _Dialect(
    bind="%s",
    schema=(
        "CREATE TABLE index_files (id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT, "
        "filename VARCHAR(100) NOT NULL)",
        "CREATE INDEX idxfname ON index_files (filename)",
        # InnoDB clusters rows on the primary key: declaring it up front is cheaper
        # than adding it after the load (CloudVolume does the same).
        "CREATE TABLE file_lookup (label BIGINT UNSIGNED NOT NULL, "
        "fid BIGINT UNSIGNED NOT NULL REFERENCES index_files(id), PRIMARY KEY(label,fid))",
    ),
    indices=("CREATE INDEX fname ON file_lookup (fid)",),
    signed_labels=False,
)


def _mysql_driver() -> tuple[Any, type[BaseException]]:
    with contextlib.suppress(ImportError):
        import mysql.connector

        return mysql.connector, mysql.connector.Error
    with contextlib.suppress(ImportError):
        import pymysql

        return pymysql, pymysql.MySQLError
    raise ImportError(
        "mysql:// spatial index databases need a MySQL driver: "
        "pip install mysql-connector-python (or pymysql)"
    )


def _mysql_credentials(url: DatabaseURL) -> tuple[str | None, str | None]:
    username, password = url.username, url.password
    if username is not None and password is not None:
        return username, password
    path = find_secret_file("mysql-secret.json", bucket=url.hostname)
    if path is None:
        return username, password
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        # The file may hold a secret: name it, never echo it.
        raise CloudVolError(f"cannot read MySQL credentials from {path}") from None
    if not isinstance(data, dict):
        raise CloudVolError(f"MySQL credentials file {path} must hold a JSON object")
    return username or data.get("username"), password or data.get("password")


class _Session:
    """A DB-API cursor plus ``commit()`` of its connection."""

    def __init__(self, conn: Any, cur: Any) -> None:
        self._conn = conn
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql, params) if params else self._cur.execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(sql, rows)

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())

    def fetchmany(self, size: int) -> list[Any]:
        return list(self._cur.fetchmany(size))

    def commit(self) -> None:
        self._conn.commit()


class IndexDatabase:
    """Reads and writes the SQL mirror at ``url`` (see the module docstring).

    Each call opens and closes its own connection, so an instance may be shared
    between threads. Driver errors become :class:`CloudVolError` naming the masked
    URL.
    """

    def __init__(self, url: str | DatabaseURL) -> None:
        self._url = url if isinstance(url, DatabaseURL) else parse_db_url(url)
        self._dialect = _SQLITE if self._url.scheme == SQLITE else _MYSQL
        # A MySQL driver is imported on first use (with an install hint if missing),
        # so a volume opened with a mysql:// index still reads meshes without one.
        if self._url.scheme == SQLITE and not self._url.path:
            raise ValueError("sqlite:// spatial index URL has no file path")

    @property
    def url(self) -> DatabaseURL:
        """The parsed URL (``str()`` masks the password)."""
        return self._url

    def __repr__(self) -> str:
        return f"IndexDatabase({self._url.masked()!r})"

    # --- connections --------------------------------------------------------------

    def _connect(self, writable: bool) -> tuple[Any, type[BaseException]]:
        url = self._url
        if url.scheme == SQLITE:
            if writable:
                try:
                    return sqlite3.connect(url.path), sqlite3.Error
                except sqlite3.Error as exc:
                    raise self._wrap(exc) from None
            if not os.path.isfile(url.path):
                raise CloudVolError(
                    f"spatial index database {url.masked()} does not exist "
                    "(build it with SpatialIndex.to_sql)"
                )
            uri = "file:" + urllib.parse.quote(os.path.abspath(url.path)) + "?mode=ro"
            return sqlite3.connect(uri, uri=True), sqlite3.Error
        driver, error = _mysql_driver()
        username, password = _mysql_credentials(url)
        try:
            conn = driver.connect(
                host=url.hostname,
                user=username,
                password=password,
                port=url.port or 3306,
                **({} if writable else {"database": url.path}),
            )
        except error as exc:
            raise self._wrap(exc, password) from None
        return conn, error

    def _wrap(self, exc: BaseException, password: str | None = None) -> CloudVolError:
        secrets = [password] if password else []
        if self._url.password:
            secrets.append(self._url.password)
        detail = redact(str(exc), secrets)
        return CloudVolError(f"spatial index database {self._url.masked()}: {detail}")

    @contextlib.contextmanager
    def _cursor(self, writable: bool = False) -> Iterator[Any]:
        """A :class:`_Session` on a new connection; commits on success, always closes."""
        conn, error = self._connect(writable)
        try:
            cur = conn.cursor()
            try:
                yield _Session(conn, cur)
                conn.commit()
            finally:
                cur.close()
        except error as exc:
            raise self._wrap(exc) from None
        finally:
            conn.close()

    # --- writing ------------------------------------------------------------------

    def write(
        self,
        cells: Iterable[tuple[str, np.ndarray]],
        create_indices: bool = True,
        batch_cells: int = 1000,
    ) -> int:
        """Replace the tables with ``cells``: ``(filename, uint64 labels)`` pairs.

        ``filename`` is a cell's base name. Builds the lookup indexes afterwards
        when ``create_indices`` (faster than maintaining them row by row). Returns
        the number of (label, cell) rows written. The old tables stay until the new
        ones are complete, so a failure part-way (a missing cell, a driver error)
        leaves the database as it was: SQLite builds a new file beside the old one
        and renames it over it; MySQL builds ``*_building`` tables and renames them.
        """
        if self._url.scheme != SQLITE:
            return self._load(cells, create_indices, batch_cells, suffix="_building")
        target = self._url.path
        staging = f"{target}.{uuid.uuid4().hex[:12]}.building"
        try:
            rows = IndexDatabase(DatabaseURL(SQLITE, staging))._load(
                cells, create_indices, batch_cells, suffix=""
            )
            os.replace(staging, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(staging)
        return rows

    def _load(
        self,
        cells: Iterable[tuple[str, np.ndarray]],
        create_indices: bool,
        batch_cells: int,
        suffix: str,
    ) -> int:
        """Create the tables (named with ``suffix``) and fill them; a non-empty
        ``suffix`` renames them over the live tables once complete (MySQL)."""
        d = self._dialect

        def tables(statement: str) -> str:
            if not suffix:
                return statement
            return statement.replace("index_files", "index_files" + suffix).replace(
                "file_lookup", "file_lookup" + suffix
            )

        rows_written = 0
        with self._cursor(writable=True) as cur:
            if self._url.scheme == SQLITE:
                # A fresh staging file: no rollback journal needed while loading.
                cur.execute("PRAGMA journal_mode = MEMORY")
                cur.execute("PRAGMA synchronous = OFF")
            else:
                name = self._url.path
                if not _DATABASE_NAME.fullmatch(name):
                    raise ValueError(
                        f"MySQL database name {name!r} may hold only letters, digits and '_'"
                    )
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8 COLLATE utf8_bin"
                )
                cur.execute(f"USE {name}")
            cur.execute(tables("DROP TABLE IF EXISTS file_lookup"))
            cur.execute(tables("DROP TABLE IF EXISTS index_files"))
            for statement in d.schema:
                cur.execute(tables(statement))

            files_sql = tables(f"INSERT INTO index_files(id, filename) VALUES ({d.bind}, {d.bind})")
            lookup_sql = tables(f"INSERT INTO file_lookup(label, fid) VALUES ({d.bind}, {d.bind})")
            batch: list[tuple[int, str]] = []
            lookups: list[tuple[int, int]] = []

            def flush() -> None:
                if batch:
                    cur.executemany(files_sql, batch)
                if lookups:
                    cur.executemany(lookup_sql, lookups)
                batch.clear()
                lookups.clear()

            # Ids are assigned here (the tables were just created) rather than read
            # back after each insert.
            for fid, (filename, labels) in enumerate(cells, start=1):
                batch.append((fid, filename))
                values = d.labels_to_db(np.unique(np.asarray(labels, dtype=np.uint64)))
                lookups.extend((label, fid) for label in values)
                rows_written += len(values)
                if len(batch) >= batch_cells:
                    flush()
            flush()
            if create_indices:
                for statement in d.indices:
                    cur.execute(tables(statement))
            if suffix:
                cur.execute("DROP TABLE IF EXISTS file_lookup, index_files")
                cur.execute(
                    f"RENAME TABLE index_files{suffix} TO index_files, "
                    f"file_lookup{suffix} TO file_lookup"
                )
            cur.commit()
            if self._url.scheme == SQLITE:
                cur.execute("PRAGMA journal_mode = DELETE")
                cur.execute("PRAGMA synchronous = FULL")
        return rows_written

    # --- reading ------------------------------------------------------------------

    def all_labels(self) -> np.ndarray:
        """Every segment id in the database (uint64, ascending)."""
        with self._cursor() as cur:
            cur.execute(SQL_ALL_LABELS)
            values = [row[0] for row in cur.fetchall()]
        return self._labels_array(values)

    def labels_in_files(self, filenames: Sequence[str]) -> np.ndarray:
        """The segment ids listed in any of the cells ``filenames`` (base names),
        uint64 ascending."""
        values: list[int] = []
        with self._cursor() as cur:
            for start in range(0, len(filenames), _IN_BATCH):
                names = list(filenames[start : start + _IN_BATCH])
                cur.execute(SQL_LABELS_IN_FILES.format(marks=self._marks(len(names))), names)
                values.extend(row[0] for row in cur.fetchall())
        return self._labels_array(values)

    def files_for_labels(self, labels: Iterable[int] | None = None) -> dict[int, list[str]]:
        """``{segid: [cell filenames]}`` for ``labels`` (every segment when ``None``);
        each list in the order the cells were written (x fastest for ``to_sql``)."""
        found: dict[int, list[tuple[int, str]]] = {}
        with self._cursor() as cur:
            if labels is None:
                cur.execute(SQL_ALL_FILES)
                self._collect(cur, found)
            else:
                wanted = sorted({self._dialect.label_to_db(int(lbl)) for lbl in labels})
                for start in range(0, len(wanted), _IN_BATCH):
                    chunk = wanted[start : start + _IN_BATCH]
                    cur.execute(SQL_FILES_FOR_LABELS.format(marks=self._marks(len(chunk))), chunk)
                    self._collect(cur, found)
        return {label: [name for _, name in sorted(pairs)] for label, pairs in found.items()}

    def _marks(self, count: int) -> str:
        return ",".join([self._dialect.bind] * count)

    @staticmethod
    def _collect(cur: _Session, out: dict[int, list[tuple[int, str]]]) -> None:
        while True:
            rows = cur.fetchmany(1 << 16)
            if not rows:
                return
            for label, fid, filename in rows:
                name = (
                    bytes(filename).decode()
                    if isinstance(filename, (bytes, bytearray))
                    else str(filename)
                )
                out.setdefault(int(label) % _UINT64, []).append((int(fid), name))

    @staticmethod
    def _labels_array(values: list[int]) -> np.ndarray:
        if not values:
            return np.zeros(0, dtype=np.uint64)
        # SQLite returns ids >= 2**63 as negative int64 (two's complement); MySQL's
        # BIGINT UNSIGNED returns them as large Python ints, which np.array would
        # turn into float64 and round.
        if min(values) < 0:
            arr = np.array(values, dtype=np.int64).view(np.uint64)
        else:
            arr = np.array(values, dtype=np.uint64)
        return np.unique(arr)
