"""PostgreSQL storage backend (``postgresql://user@host:port/db?schema=name``) on psycopg 3.

Part of ``store/``. Many processes on many hosts can share one database; this module makes
their writes serial, their reads consistent and their start-up safe:

* **Writers are serialized by one row lock.** Each write transaction runs at READ COMMITTED and
  its first statement bumps the ``generation`` row (``UPDATE ... RETURNING``). The row lock that
  UPDATE takes is held until COMMIT, so a second writer waits on it; once it gets the lock, every
  later statement of its transaction takes a fresh snapshot and so sees everything the first
  writer committed. iamguard's writers therefore run one after another, each reading the latest
  state: an ``expected_revision`` check made inside the transaction is never stale. The other
  choice, SERIALIZABLE with retry on ``40001``, would need to re-run the caller's ``with`` block,
  which a context manager cannot do; and all writers touching one row first means no deadlocks.
  https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED
* **The bump also notifies.** The same statement calls ``pg_notify('iamguard_generation',
  '<schema>:<generation>')``; PostgreSQL delivers a notification only when (and if) the
  transaction commits, so listeners (:mod:`iamguard.store.feed`) never hear of a rolled-back
  write. https://www.postgresql.org/docs/current/sql-notify.html
* **Reads are snapshots.** ``read()`` runs ``REPEATABLE READ READ ONLY``: every statement in the
  block sees the database as of its first statement.
* **Migrations take an advisory lock.** ``_sql.migrate`` runs in one transaction holding
  ``pg_advisory_xact_lock`` keyed by the schema, so two processes starting at once apply each
  migration exactly once (the second waits, then finds it recorded).
  https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS

``schema=`` (a query parameter of the URL, or the keyword) puts iamguard's tables in their own
schema (created by ``create=True`` only), by pointing the connections' ``search_path`` at it: test runs and
tenants can share one database. Connections come from a ``psycopg_pool.ConnectionPool`` in
autocommit mode (transactions are opened explicitly with ``BEGIN``). Connection failures become
:class:`~iamguard.errors.StoreUnavailableError` whose message names host, port, database and
user but never the password.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from iamguard.errors import InvalidInputError, NoSuchStoreError, StoreUnavailableError
from iamguard.store import _replay, _sql
from iamguard.store.feed import PostgresChangeFeed

try:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool, PoolTimeout
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the installation
    raise StoreUnavailableError(
        f"PostgreSQL stores need psycopg 3 and psycopg-pool ({_missing.name} is not installed): "
        "pip install 'iamguard[postgres]'"
    ) from None

__all__ = ["CHANNEL", "DIALECT", "PostgresBackend"]

DIALECT = _sql.Dialect(
    placeholder="%s", integrity_errors=(psycopg.errors.IntegrityError,), collate=' COLLATE "C"'
)

#: The LISTEN/NOTIFY channel every write notifies (payload ``"<schema>:<generation>"``).
CHANNEL = "iamguard_generation"

# Lower-case only: the name is used unquoted in ``search_path`` and as the NOTIFY payload prefix,
# where PostgreSQL's case folding would otherwise make "Tenant" and "tenant" differ by surprise.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
# Advisory-lock namespace (first int4 of the two-key form): "iamg" in ASCII.
_LOCK_CLASS = 0x69616D67

_GENERATION = _sql.table_name("generation")
_BUMP_AND_NOTIFY = (
    f"WITH bumped AS (UPDATE {_GENERATION} SET value = value + 1 WHERE id = 1 RETURNING value) "
    f"SELECT value, pg_notify('{CHANNEL}', current_schema() || ':' || value) FROM bumped"
)

_LOCK_WRITERS = f"SELECT value FROM {_GENERATION} WHERE id = 1 FOR UPDATE"


class PostgresBackend:
    """:class:`~iamguard.store.protocols.StoreBackend` over a PostgreSQL database.

    ``url`` is a libpq URL (``postgresql://`` or ``postgres://``); a ``schema`` query parameter
    or keyword selects the schema holding iamguard's tables. ``create=True`` creates the schema
    and the tables when missing; otherwise a schema without iamguard's tables is a missing store
    (:class:`StoreUnavailableError` naming the server and schema), never silently filled. ``max_connections``
    bounds the pool; ``connect_timeout`` (seconds) bounds opening a connection and waiting for a
    free one. ``check_connections`` makes the pool test each connection before lending it, so a
    server restart costs no failed request.

    ``generation_from_feed`` (opt-in) serves :meth:`generation` from a
    :class:`~iamguard.store.feed.PostgresChangeFeed` the backend opens for itself, with no round
    trip, while that feed is healthy: listening, and its own read of the generation row (repeated
    every ``feed_staleness / 2`` seconds) no older than ``feed_staleness``; otherwise it queries
    as usual. This process's own commits count at once, so it always reads its own writes. The
    trade: another process's write is seen when its NOTIFY arrives (milliseconds) rather than on
    the very next call, and after at most ``feed_staleness`` seconds even if a notification were
    lost, which keeps the one-second revocation promise of :mod:`iamguard.store.feed` at the
    default. The feed holds one extra connection.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        create: bool = False,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        check_connections: bool = True,
        generation_from_feed: bool = False,
        feed_staleness: float = 1.0,
    ) -> None:
        conninfo, url_schema, self._password = _split_url(url)
        self.schema = schema if schema is not None else url_schema
        if self.schema is not None and not _SCHEMA_NAME.match(self.schema):
            raise InvalidInputError(
                f"schema name {self.schema!r} must be 1-63 lower-case letters, digits or '_', not starting with a digit"
            )
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._kwargs = _connection_kwargs(conninfo, self.schema, connect_timeout)
        self.target = _describe(conninfo, self.schema)
        self._closed = False
        self._lock = threading.Lock()
        if feed_staleness <= 0:
            raise InvalidInputError("feed_staleness must be a positive number of seconds")
        self.applied_migrations = self._migrate(create)
        self._pool = self._open_pool(min_connections, max_connections, check_connections)
        self._committed = 0  # the newest generation this process's own writes committed
        self._feed_staleness = feed_staleness
        self._feed: PostgresChangeFeed | None = None
        if generation_from_feed:
            self._feed = PostgresChangeFeed(self, fallback_interval=feed_staleness / 2)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.target})"

    # ------------------------------------------------------------ connections

    def open_connection(self, *, application_name: str | None = None) -> psycopg.Connection[Any]:
        """A new autocommit connection outside the pool, ``search_path`` set to the schema.

        For long-lived uses that must not hold a pooled connection, such as ``LISTEN`` in
        :class:`~iamguard.store.feed.PostgresChangeFeed` (``application_name`` labels it in
        ``pg_stat_activity``). The caller closes it.
        """
        kwargs = dict(self._kwargs)
        if application_name is not None:
            kwargs["application_name"] = application_name
        try:
            return psycopg.connect(self._conninfo, **kwargs)
        except psycopg.Error as exc:
            raise self._unavailable("cannot connect to", exc) from None

    def _open_pool(self, min_size: int, max_size: int, check: bool) -> ConnectionPool[Any]:
        pool: ConnectionPool[Any] = ConnectionPool(
            self._conninfo,
            kwargs=self._kwargs,
            min_size=min_size,
            max_size=max_size,
            timeout=self._connect_timeout,
            open=False,
            check=ConnectionPool.check_connection if check else None,
            name="iamguard",
        )
        try:
            pool.open(wait=True, timeout=self._connect_timeout)
        except PoolTimeout:
            pool.close()
            raise StoreUnavailableError(
                f"cannot open a connection pool to PostgreSQL at {self.target} "
                f"within {self._connect_timeout:g}s"
            ) from None
        return pool

    @contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreUnavailableError(f"the PostgreSQL store at {self.target} is closed")
        try:
            conn = self._pool.getconn()
        except PoolTimeout:
            raise StoreUnavailableError(
                f"no PostgreSQL connection to {self.target} became available within {self._connect_timeout:g}s"
            ) from None
        try:
            yield conn
        finally:
            self._pool.putconn(conn)

    def _unavailable(self, doing: str, exc: BaseException) -> StoreUnavailableError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if self._password:
            reason = reason.replace(self._password, "***")
        return StoreUnavailableError(f"{doing} PostgreSQL at {self.target}: {reason}")

    # ------------------------------------------------------------ transactions

    def _migrate(self, create: bool) -> list[int]:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        conn = self.open_connection()
        try:
            with self._transaction(conn, "BEGIN") as cursor:
                # INVARIANT: the lock is taken before anything is created or read, keyed by the
                # schema name, so concurrent openers of one schema apply migrations one at a time.
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    (_LOCK_CLASS, self.schema if self.schema is not None else "<search_path>"),
                )
                if not create:
                    # to_regclass follows search_path (the schema); NULL when the table is absent.
                    cursor.execute("SELECT to_regclass(%s)", (_sql.table_name("generation"),))
                    row = cursor.fetchone()
                    if row is None or row[0] is None:
                        raise NoSuchStoreError(
                            f"no iamguard store in PostgreSQL at {self.target} (no iamguard tables); "
                            "create one with `iamguard init --store URL` or open_store(url, create=True)"
                        )
                elif self.schema is not None:
                    cursor.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                    )
                return _sql.migrate(cursor, DIALECT, now=now)
        finally:
            conn.close()

    @contextmanager
    def _transaction(self, conn: psycopg.Connection[Any], begin: str) -> Iterator[psycopg.Cursor[Any]]:
        try:
            conn.execute(begin)
        except psycopg.Error as exc:
            raise self._unavailable("cannot start a transaction on", exc) from None
        cursor = conn.cursor()
        try:
            yield cursor
        except psycopg.OperationalError as exc:
            # Connection lost, server shutting down, statement cancelled: the operator's problem.
            _rollback_quietly(conn)
            raise self._unavailable("lost the transaction on", exc) from None
        except BaseException:
            _rollback_quietly(conn)
            raise
        else:
            try:
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                _rollback_quietly(conn)
                raise self._unavailable("commit failed on", exc) from None
        finally:
            cursor.close()

    @contextmanager
    def write(self) -> Iterator[_sql.SqlTransaction]:
        """A write transaction; the generation bump (and its NOTIFY) comes first, see the module doc."""
        with (
            self._pooled() as conn,
            self._transaction(conn, "BEGIN ISOLATION LEVEL READ COMMITTED") as cursor,
        ):
            try:
                cursor.execute(_BUMP_AND_NOTIFY)
                bumped = cursor.fetchone()
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                raise self._unavailable(
                    "cannot bump the generation (is the schema migrated?) on", exc
                ) from None
            yield _sql.SqlTransaction(cursor, DIALECT)
        # Committed (the block raised otherwise): count it before its NOTIFY comes back.
        if bumped is not None:
            with self._lock:
                self._committed = max(self._committed, int(bumped[0]))

    @contextmanager
    def write_unversioned(self) -> Iterator[_sql.SqlTransaction]:
        """A write transaction that leaves the generation alone and notifies nobody.

        Only for data that changes no decision (access activity, see
        ``IdentityService.record_access_activity``): bumping the generation there would empty
        every process's caches on each flush. It still takes the generation row's lock first
        (``SELECT ... FOR UPDATE``, not an UPDATE), so it runs serialized with every other
        writer and its read-modify-write of activity counters is never lost.
        """
        with (
            self._pooled() as conn,
            self._transaction(conn, "BEGIN ISOLATION LEVEL READ COMMITTED") as cursor,
        ):
            try:
                cursor.execute(_LOCK_WRITERS)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                raise self._unavailable(
                    "cannot lock the generation row (is the schema migrated?) on", exc
                ) from None
            yield _sql.SqlTransaction(cursor, DIALECT)

    @contextmanager
    def read(self) -> Iterator[_sql.SqlTransaction]:
        """A read-only snapshot: every read in the block sees one committed state."""
        with (
            self._pooled() as conn,
            self._transaction(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") as cursor,
        ):
            yield _sql.SqlTransaction(cursor, DIALECT)

    def consume_once(self, namespace: str, key: str, expires_at: int, now: int) -> bool:
        """A one-time-use record (``_replay.py``). It needs no writer lock and leaves the generation
        alone: the unique index makes a second inserter of the same key wait for the first's commit,
        then find its row."""
        with (
            self._pooled() as conn,
            self._transaction(conn, "BEGIN ISOLATION LEVEL READ COMMITTED") as cursor,
        ):
            try:
                return _replay.consume_sql(cursor, DIALECT, namespace, key, expires_at, now, skip_locked=True)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                raise self._unavailable(
                    "cannot record a one-time use (is the schema migrated?) on", exc
                ) from None

    def generation(self) -> int:
        """The committed generation: one primary-key read (autocommit), or, with
        ``generation_from_feed`` and a healthy feed, no I/O at all (see the class doc)."""
        feed = self._feed
        if feed is not None and feed.confirmed_within(self._feed_staleness):
            return max(feed.current(), self._committed)
        return self._query_generation()

    @property
    def change_feed(self) -> PostgresChangeFeed | None:
        """The feed serving :meth:`generation` (``generation_from_feed``), else ``None``."""
        return self._feed

    def _query_generation(self) -> int:
        with self._pooled() as conn:
            try:
                with conn.cursor() as cursor:
                    return _sql.read_generation(cursor)
            except psycopg.Error as exc:
                raise self._unavailable("cannot read the generation from", exc) from None

    def close(self) -> None:
        """Close every pooled connection; later calls raise ``StoreUnavailableError``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._feed is not None:
            self._feed.close()
        self._pool.close()


def _rollback_quietly(conn: psycopg.Connection[Any]) -> None:
    if conn.closed:
        return
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        pass  # the connection is broken; the pool discards it on return


# ---------------------------------------------------------------- URL handling


def _split_url(url: str) -> tuple[str, str | None, str | None]:
    """``(conninfo without schema=, schema, password)`` from a store URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidInputError("a PostgreSQL store URL starts with postgresql:// or postgres://")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [v for k, v in query if k == "schema"]
    rest = [(k, v) for k, v in query if k != "schema"]
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    try:
        password = parts.password
    except ValueError:
        password = None
    return conninfo, (schemas[-1] if schemas else None), password


def _connection_kwargs(conninfo: str, schema: str | None, connect_timeout: float) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True}
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    if "connect_timeout" not in params:
        # libpq takes whole seconds; at least 1 (0 would mean "wait forever").
        kwargs["connect_timeout"] = max(1, round(connect_timeout))
    if schema is not None:
        # Validated against _SCHEMA_NAME, so it needs no quoting inside the options string.
        options = str(params.get("options") or "")
        kwargs["options"] = (options + " " if options else "") + f"-c search_path={schema}"
    if "application_name" not in params:
        kwargs["application_name"] = "iamguard"
    return kwargs


def _describe(conninfo: str, schema: str | None) -> str:
    """``user@host:port/dbname`` (plus the schema): enough to find the server, no secrets."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = params.get("user")
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    where = f"{user}@{host}:{port}" if user else f"{host}:{port}"
    where += f"/{params.get('dbname') or ''}"
    return where + (f" (schema {schema})" if schema else "")
