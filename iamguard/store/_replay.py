"""One-time-use records: "has this been used before?" answered once for every process.

Part of ``store/``. Some security state must hold across every process and host sharing a store:
a SAML assertion ID accepted on one host must be refused on all the others
(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html: an assertion
is used once). :meth:`_OneTimeUse.consume_once` records ``(namespace, key)`` in the
``one_time_use`` table (migration 4) and says whether this call was the first.

The table's primary key is the arbiter, not a read followed by a write:

* SQLite and PostgreSQL run one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <row expired>``;
  it changes one row when the key is new (or its old record has expired) and none when a live
  record exists. On PostgreSQL a second inserter of the same key waits on the unique index
  until the first commits, then sees its row: two racing processes cannot both win.
  https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
  https://www.sqlite.org/lang_upsert.html
* The memory backend does the same under its writer lock (:func:`consume_rows`).

Expired rows are pruned by the same transaction (an index on ``expires_at`` keeps that cheap),
so the table holds only live records. These writes never bump the store generation: a consumed
ID changes no authorization decision, and bumping would empty every process's caches on each
federated sign-in. Times are whole Unix seconds, rounded so that a record lives at least as long
as asked (``expires_at`` up, ``now`` down).
"""

from __future__ import annotations

import math
from typing import Any

from iamguard.errors import EntityAlreadyExistsError, InvalidInputError
from iamguard.store import _sql
from iamguard.store._base import _Base
from iamguard.store.protocols import OneTimeUseBackend, Transaction

__all__ = ["consume_rows", "consume_sql"]

_TABLE = "one_time_use"
_MAX_NAMESPACE, _MAX_KEY = 64, 512
_PRUNE_BATCH = 1000


def _prune_sql(placeholder: str, skip_locked: bool) -> str:
    table = _sql.table_name(_TABLE)
    if not skip_locked:
        return f"DELETE FROM {table} WHERE expires_at <= {placeholder}"
    # Concurrent pruners take disjoint rows (and a bounded batch) instead of waiting on, or
    # deadlocking with, each other.
    return (
        f"DELETE FROM {table} WHERE (namespace, record_key) IN (SELECT namespace, record_key "
        f"FROM {table} WHERE expires_at <= {placeholder} LIMIT {_PRUNE_BATCH} FOR UPDATE SKIP LOCKED)"
    )


def _upsert_sql(placeholder: str) -> str:
    table = _sql.table_name(_TABLE)
    p = placeholder
    return (
        f"INSERT INTO {table} (namespace, record_key, expires_at) VALUES ({p}, {p}, {p}) "
        f"ON CONFLICT (namespace, record_key) DO UPDATE SET expires_at = excluded.expires_at "
        f"WHERE {table}.expires_at <= {p}"
    )


def consume_sql(
    cursor: _sql.Cursor,
    dialect: _sql.Dialect,
    namespace: str,
    key: str,
    expires_at: int,
    now: int,
    *,
    skip_locked: bool = False,
) -> bool:
    """Prune expired records, then insert ``key``; True when this call recorded it (in one
    transaction the caller opened; SQL backends). ``skip_locked`` (PostgreSQL, whose inserters
    run concurrently) prunes with ``FOR UPDATE SKIP LOCKED``."""
    cursor.execute(_prune_sql(dialect.placeholder, skip_locked), (now,))
    cursor.execute(_upsert_sql(dialect.placeholder), (namespace, key, expires_at, now))
    return cursor.rowcount == 1


def consume_rows(tx: Transaction, namespace: str, key: str, expires_at: int, now: int) -> bool:
    """The same through the generic :class:`~iamguard.store.protocols.Transaction` (memory
    backend, third-party backends). Correct only inside a serialized write transaction; prunes
    by scanning the table, which the memory backend's copy-on-write costs anyway."""
    for row in tx.select(_TABLE):
        if int(row["expires_at"] or 0) <= now:
            tx.delete(_TABLE, {"namespace": row["namespace"], "record_key": row["record_key"]})
    if tx.get(_TABLE, {"namespace": namespace, "record_key": key}) is not None:
        return False
    tx.insert(_TABLE, {"namespace": namespace, "record_key": key, "expires_at": expires_at})
    return True


class _OneTimeUse(_Base):
    """``consume_once``: shared one-time-use records (see the module docstring)."""

    def consume_once(self, namespace: str, key: str, expires_at: float, *, now: float | None = None) -> bool:
        """Record that ``key`` (in ``namespace``) is used, to be remembered until ``expires_at``
        (Unix seconds); True for the first use, False when a live record exists (a replay).

        ``now`` is the caller's clock (default: the store's), so the caller's idea of expiry and
        the record's agree. Something already expired is never recorded and answers False (fail
        closed: its caller should have refused it). Store failures raise
        :class:`~iamguard.errors.StoreUnavailableError`; they never answer True.
        """
        _check_text(namespace, "namespace", _MAX_NAMESPACE)
        _check_text(key, "key", _MAX_KEY)
        at = self._clock() if now is None else now
        expires, floor_now = math.ceil(expires_at), math.floor(at)
        if expires <= floor_now:
            return False
        backend: Any = self.backend
        try:
            if isinstance(backend, OneTimeUseBackend) and getattr(self._local, "tx", None) is None:
                return bool(backend.consume_once(namespace, key, expires, floor_now))
            with self._write() as tx:  # any other backend, or inside atomic(): an ordinary write
                return consume_rows(tx, namespace, key, expires, floor_now)
        except EntityAlreadyExistsError:  # INVARIANT: the key's uniqueness is the last word
            return False

    def was_consumed(self, namespace: str, key: str, *, now: float | None = None) -> bool:
        """Whether a live record of ``key`` exists (a read: nothing is recorded). The console
        asks it on each request whether a session was signed out on any process."""
        _check_text(namespace, "namespace", _MAX_NAMESPACE)
        _check_text(key, "key", _MAX_KEY)
        floor_now = math.floor(self._clock() if now is None else now)
        with self._read() as tx:
            row = tx.get(_TABLE, {"namespace": namespace, "record_key": key})
        return row is not None and int(row["expires_at"] or 0) > floor_now


def _check_text(value: str, what: str, limit: int) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise InvalidInputError(f"a one-time-use {what} is 1 to {limit} characters")
