"""SQLite storage backend: one file, WAL journal, serialized writers (``sqlite:///path``).

Part of ``store/``. Each write runs in ``BEGIN IMMEDIATE`` (the write lock is taken up front, so
two writers never deadlock upgrading a read lock) and bumps the ``generation`` row first, in the
same transaction; anything raised inside rolls the whole transaction back. WAL lets readers in
other threads and processes keep reading a consistent snapshot while one process writes.
Foreign keys are switched on per connection (SQLite leaves them off by default).
https://www.sqlite.org/lang_transaction.html  https://www.sqlite.org/wal.html
https://www.sqlite.org/foreignkeys.html#fk_enable

Connections come from a bounded pool (:class:`_Pool`): a transaction checks one out and gives
it back when it ends, so a thread-per-request server holds at most ``max_connections`` open
files however many threads it has started (one connection per thread leaked two descriptors per
request once the threads were gone). A thread already inside a transaction reuses its connection.

The store is never created by accident: ``create=False`` (the default) opens the file with
``mode=rw`` so SQLite refuses to make it, and a file without iamguard's tables is refused too.
Every checkout ``stat``\\ s the path (one system call) and compares it with the file the pool's
connections have open: a store deleted under a running server answers
:class:`~iamguard.errors.StoreUnavailableError` (HTTP 503) instead of writing on into an
unlinked inode, and a file replaced at the path answers the same until the process restarts
(its data would mix with the old file's WAL).
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from iamguard.errors import InvalidParameterError, NoSuchStoreError, StoreUnavailableError
from iamguard.store import _replay, _sql

__all__ = ["DIALECT", "SQLiteBackend"]

DIALECT = _sql.Dialect(placeholder="?", integrity_errors=(sqlite3.IntegrityError,))

_FileId = tuple[int, int]  # (st_dev, st_ino): which file the path names


class SQLiteBackend:
    """:class:`~iamguard.store.protocols.StoreBackend` over one SQLite database file.

    ``create=True`` makes the file and its tables when missing; otherwise a missing file, or
    one without iamguard's tables, raises :class:`StoreUnavailableError` naming the path.
    ``max_connections`` bounds the pool; a transaction waits up to ``busy_timeout`` seconds
    for a free connection (and for SQLite's write lock).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = False,
        busy_timeout: float = 30.0,
        max_connections: int = 8,
    ) -> None:
        if max_connections < 1:
            raise InvalidParameterError("max_connections must be at least 1")
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._closed = False
        if create:
            self._create_file()
        self._file = self._file_id()
        self._pool = _Pool(self._connect, max_connections, busy_timeout)
        self.applied_migrations = self._migrate(create)

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.path!r})"

    # ------------------------------------------------------------ connections

    def _create_file(self) -> None:
        try:
            sqlite3.connect(self.path).close()  # creates an empty database file, nothing more
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot create SQLite store {self.path!r}: {exc}") from None

    def _file_id(self) -> _FileId:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise NoSuchStoreError(
                f"no SQLite store at {self.path!r}: it does not exist (or was removed); create one "
                "with `iamguard init --store sqlite:///PATH` or open_store(url, create=True)"
            ) from None
        except OSError as exc:
            raise StoreUnavailableError(f"cannot reach SQLite store {self.path!r}: {exc.strerror}") from None
        return (info.st_dev, info.st_ino)

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: SQLite opens an existing file only, so a store deleted meanwhile is never
        # recreated empty. https://www.sqlite.org/uri.html#urimode
        uri = "file:" + quote(os.path.abspath(self.path)) + "?mode=rw"
        try:
            conn = sqlite3.connect(
                uri, uri=True, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite store {self.path!r}: {exc}") from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise StoreUnavailableError(f"cannot open SQLite store {self.path!r}: {exc}") from None
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection: the one it already holds, else one checked out of the pool
        (after checking the path still names the file the pool has open)."""
        held: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        if self._closed:
            raise StoreUnavailableError("the SQLite store is closed")
        if self._file_id() != self._file:
            # INVARIANT: never follow a file swapped in at the path. Its data would be mixed with
            # the old file's -wal (SQLite replays a WAL it finds beside the file), which could bring
            # back a deleted access key; a restore is done with the process stopped.
            raise StoreUnavailableError(
                f"the SQLite store file {self.path!r} was replaced while open; restart the process to use the new file"
            )
        conn = self._pool.get()
        self._local.conn = conn
        try:
            yield conn
        finally:
            self._local.conn = None
            self._pool.put(conn, healthy=not conn.in_transaction)

    def journal_mode(self) -> str:
        with self._connection() as conn:
            return str(conn.execute("PRAGMA journal_mode").fetchone()[0])

    def open_connections(self) -> int:
        """How many connections the pool holds right now (idle or checked out)."""
        return self._pool.size()

    # ------------------------------------------------------------ transactions

    def _migrate(self, create: bool) -> list[int]:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._connection() as conn, self._transaction(conn, "BEGIN IMMEDIATE") as cursor:
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'iamguard_migrations'"
            )
            if cursor.fetchone() is None and not create:
                raise NoSuchStoreError(
                    f"{self.path!r} holds no iamguard store (no iamguard tables); create one with "
                    "`iamguard init --store sqlite:///PATH` or open_store(url, create=True)"
                )
            return _sql.migrate(cursor, DIALECT, now=now)

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection, begin: str) -> Iterator[sqlite3.Cursor]:
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite store {self.path!r} is unavailable: {exc}") from None
        cursor = conn.cursor()
        try:
            yield cursor
        except sqlite3.OperationalError as exc:
            # Locked past the busy timeout, a table gone, the disk full: the operator's problem.
            _rollback_quietly(conn)
            raise StoreUnavailableError(f"SQLite store {self.path!r} is unavailable: {exc}") from None
        except BaseException:
            _rollback_quietly(conn)
            raise
        else:
            try:
                conn.commit()
            except sqlite3.Error as exc:
                _rollback_quietly(conn)
                raise StoreUnavailableError(f"commit failed: {exc}") from None
        finally:
            cursor.close()

    @contextmanager
    def write(self) -> Iterator[_sql.SqlTransaction]:
        with self._connection() as conn, self._transaction(conn, "BEGIN IMMEDIATE") as cursor:
            _sql.bump_generation(cursor)
            yield _sql.SqlTransaction(cursor, DIALECT)

    @contextmanager
    def read(self) -> Iterator[_sql.SqlTransaction]:
        # A deferred transaction holds one WAL snapshot for all the reads inside it.
        with self._connection() as conn, self._transaction(conn, "BEGIN DEFERRED") as cursor:
            yield _sql.SqlTransaction(cursor, DIALECT)

    def consume_once(self, namespace: str, key: str, expires_at: int, now: int) -> bool:
        """A one-time-use record, serialized with every writer, generation untouched (``_replay.py``)."""
        with self._connection() as conn, self._transaction(conn, "BEGIN IMMEDIATE") as cursor:
            return _replay.consume_sql(cursor, DIALECT, namespace, key, expires_at, now)

    def generation(self) -> int:
        with self._connection() as conn:
            cursor = conn.cursor()
            try:
                return _sql.read_generation(cursor)
            except sqlite3.OperationalError as exc:
                raise StoreUnavailableError(f"SQLite store {self.path!r} is unavailable: {exc}") from None
            finally:
                cursor.close()

    def close(self) -> None:
        self._closed = True
        self._pool.close()


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.rollback()
    except sqlite3.Error:
        pass  # the connection is broken; the pool closes it on return (still in a transaction)


class _Pool:
    """At most ``limit`` connections, made on demand, lent to one transaction at a time; a
    connection returned broken (still inside a transaction) is closed, not reused."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], limit: int, timeout: float) -> None:
        self._connect = connect
        self._timeout = timeout
        self._slots = threading.BoundedSemaphore(limit)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._count = 0
        self._closed = False

    def get(self) -> sqlite3.Connection:
        if not self._slots.acquire(timeout=self._timeout):
            raise StoreUnavailableError(f"no SQLite connection became free within {self._timeout:g}s")
        try:
            if self._closed:
                raise StoreUnavailableError("the SQLite store is closed")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            with self._lock:
                self._count += 1
            return conn
        except BaseException:
            self._slots.release()
            raise

    def put(self, conn: sqlite3.Connection, *, healthy: bool) -> None:
        if healthy and not self._closed:
            self._idle.put(conn)
        else:
            self._discard(conn)
        self._slots.release()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(conn)

    def size(self) -> int:
        with self._lock:
            return self._count

    def _discard(self, conn: sqlite3.Connection) -> None:
        conn.close()
        with self._lock:
            self._count -= 1
