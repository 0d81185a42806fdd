"""SQLite storage backend: one file, WAL journal, serialized writers (``sqlite:///path``).

Part of ``store/``. Each write runs in ``BEGIN IMMEDIATE`` (the write lock is taken up front, so
two writers never deadlock upgrading a read lock) and bumps the ``generation`` row first, in the
same transaction; anything raised inside rolls the whole transaction back. WAL lets readers in
other threads and processes keep reading a consistent snapshot while one process writes.
Foreign keys are switched on per connection (SQLite leaves them off by default).
https://www.sqlite.org/lang_transaction.html  https://www.sqlite.org/wal.html
https://www.sqlite.org/foreignkeys.html#fk_enable

Each thread gets its own connection (sqlite3 connections must not be shared across threads
mid-transaction); ``generation()`` is one primary-key read.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from iamguard.errors import StoreUnavailableError
from iamguard.store import _replay, _sql

__all__ = ["DIALECT", "SQLiteBackend"]

DIALECT = _sql.Dialect(placeholder="?", integrity_errors=(sqlite3.IntegrityError,))


class SQLiteBackend:
    """:class:`~iamguard.store.protocols.StoreBackend` over one SQLite database file."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        self.applied_migrations = self._migrate()

    # ------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite store {self.path!r}: {exc}") from None
        with self._guard:
            self._connections.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailableError("the SQLite store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def journal_mode(self) -> str:
        return str(self._conn().execute("PRAGMA journal_mode").fetchone()[0])

    # ------------------------------------------------------------ transactions

    def _migrate(self) -> list[int]:
        conn = self._conn()
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._transaction(conn, "BEGIN IMMEDIATE"):
            return _sql.migrate(conn.cursor(), DIALECT, now=now)

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection, begin: str) -> Iterator[sqlite3.Cursor]:
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite store {self.path!r} is unavailable: {exc}") from None
        cursor = conn.cursor()
        try:
            yield cursor
        except BaseException:
            conn.rollback()
            raise
        else:
            try:
                conn.commit()
            except sqlite3.Error as exc:
                conn.rollback()
                raise StoreUnavailableError(f"commit failed: {exc}") from None
        finally:
            cursor.close()

    @contextmanager
    def write(self) -> Iterator[_sql.SqlTransaction]:
        with self._transaction(self._conn(), "BEGIN IMMEDIATE") as cursor:
            _sql.bump_generation(cursor)
            yield _sql.SqlTransaction(cursor, DIALECT)

    @contextmanager
    def read(self) -> Iterator[_sql.SqlTransaction]:
        # A deferred transaction holds one WAL snapshot for all the reads inside it.
        with self._transaction(self._conn(), "BEGIN DEFERRED") as cursor:
            yield _sql.SqlTransaction(cursor, DIALECT)

    def consume_once(self, namespace: str, key: str, expires_at: int, now: int) -> bool:
        """A one-time-use record, serialized with every writer, generation untouched (``_replay.py``)."""
        with self._transaction(self._conn(), "BEGIN IMMEDIATE") as cursor:
            return _replay.consume_sql(cursor, DIALECT, namespace, key, expires_at, now)

    def generation(self) -> int:
        cursor = self._conn().cursor()
        try:
            return _sql.read_generation(cursor)
        finally:
            cursor.close()

    def close(self) -> None:
        self._closed = True
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
