"""In-process storage backend: tables as indexed dicts, copy-on-write transactions.

Part of ``store/``. For tests, demos and single-process apps that load identities at start-up.
Readers always see one whole published state (a snapshot) without taking a lock; a write
transaction starts from the published state and swaps its draft in on success, so a failure
anywhere inside leaves the published state untouched.

Why it stays fast at tens of thousands of rows:

* **Copy on first write, per table.** A draft shares every table with the published state and
  clones a table only when the transaction first changes it; an index bucket is likewise copied
  only when first changed. A write costs the size of the tables it touches, not of the store.
* **Rows kept in key order.** Each table keeps its keys in a list sorted by :func:`_sort_key`
  (maintained with :mod:`bisect`, which computes sort keys only for the few entries it probes,
  so no per-row sort key is stored), so a full or key-prefix ``select`` walks rows already in
  order instead of sorting the table per call.
* **Secondary indexes** (:data:`_INDEXES`) on the non-key columns the service filters by
  (attachments by policy ARN, memberships by user, ...): a ``select`` on one of them reads one
  bucket and sorts only the rows it returns.

Rows are dicts that are never mutated once published: updates replace the row.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from iamguard.errors import EntityAlreadyExistsError, NoSuchEntityError
from iamguard.store._sql import TABLES
from iamguard.store.protocols import Row, RowValue

__all__ = ["MemoryBackend"]

_Key = tuple[RowValue, ...]
# One column value as it sorts: None first (as SQLite's ORDER BY puts NULL), then by text; the
# type name only keeps 1 and "1" apart (a column never holds both).
_SortPart = tuple[int, str, str]
_SortKey = tuple[_SortPart, ...]

#: Non-key columns ``select``/``count``/``delete`` filter by; a filter on a key prefix needs none.
_INDEXES: dict[str, tuple[str, ...]] = {
    "users": ("boundary_arn",),
    "roles": ("boundary_arn",),
    "policies": ("arn",),
    "group_members": ("user_key",),
    "attachments": ("policy_arn",),
    "access_keys": ("user_key",),
    "mfa_devices": ("user_key",),
}


def _sort_part(value: RowValue) -> _SortPart:
    return (0, "", "") if value is None else (1, str(value), type(value).__name__)


def _sort_key(key: _Key) -> _SortKey:
    return tuple(_sort_part(v) for v in key)


class _Table:
    """One table: rows by key, the keys in order, and the secondary indexes.

    A published ``_Table`` is never changed; :meth:`clone` gives a draft its own copy, whose
    index buckets stay shared with the original until :meth:`_bucket` copies them.
    """

    __slots__ = ("_owned_buckets", "indexes", "key_columns", "name", "order", "rows")

    def __init__(self, name: str) -> None:
        self.name = name
        self.key_columns = TABLES[name].key
        self.rows: dict[_Key, Row] = {}
        self.order: list[_Key] = []  # INVARIANT: sorted by _sort_key; one entry per row
        self.indexes: dict[str, dict[RowValue, set[_Key]]] = {c: {} for c in _INDEXES.get(name, ())}
        self._owned_buckets: set[tuple[str, RowValue]] = set()

    def clone(self) -> _Table:
        copy = _Table.__new__(_Table)
        copy.name, copy.key_columns = self.name, self.key_columns
        copy.rows, copy.order = dict(self.rows), list(self.order)
        copy.indexes = {c: dict(buckets) for c, buckets in self.indexes.items()}
        copy._owned_buckets = set()
        return copy

    # ------------------------------------------------------------ reading

    def matching(self, where: Mapping[str, RowValue]) -> Iterator[Row]:
        """Rows equal to ``where`` on every column, in key order."""
        if not where:
            return (self.rows[k] for k in self.order)
        items = list(where.items())
        if all(c in where for c in self.key_columns):
            row = self.rows.get(tuple(where[c] for c in self.key_columns))
            return iter([row] if row is not None and _equal(row, items) else [])
        buckets = [self.indexes[c].get(v, ()) for c, v in items if c in self.indexes]
        if buckets:
            keys = sorted(min(buckets, key=len), key=_sort_key)
            return (r for r in (self.rows[k] for k in keys) if _equal(r, items))
        return (r for r in self._prefix_rows(where) if _equal(r, items))

    def _prefix_rows(self, where: Mapping[str, RowValue]) -> Iterator[Row]:
        """Rows whose leading key columns equal ``where``'s (all rows, in order, if none do)."""
        prefix: list[_SortPart] = []
        for column in self.key_columns:
            if column not in where:
                break
            prefix.append(_sort_part(where[column]))
        if not prefix:
            yield from (self.rows[k] for k in self.order)
            return
        wanted, width = tuple(prefix), len(prefix)
        for index in range(bisect_left(self.order, wanted, key=_sort_key), len(self.order)):
            key = self.order[index]
            if _sort_key(key[:width]) != wanted:
                return
            yield self.rows[key]

    # ------------------------------------------------------------ writing (drafts only)

    def add(self, key: _Key, row: Row) -> None:
        self.rows[key] = row
        insort(self.order, key, key=_sort_key)
        for column in self.indexes:
            self._bucket(column, row[column]).add(key)

    def remove(self, key: _Key) -> None:
        row = self.rows.pop(key)
        index = bisect_left(self.order, _sort_key(key), key=_sort_key)
        # INVARIANT: sort keys are unique per key (the type name parts keep 1 and "1" apart).
        assert self.order[index] == key
        del self.order[index]
        for column in self.indexes:
            bucket = self._bucket(column, row[column])
            bucket.discard(key)
            if not bucket:
                del self.indexes[column][row[column]]

    def replace(self, key: _Key, row: Row) -> None:
        """Swap in a new version of the row at ``key`` (same key), moving index entries."""
        old = self.rows[key]
        self.rows[key] = row
        for column in self.indexes:
            if old[column] != row[column]:
                bucket = self._bucket(column, old[column])
                bucket.discard(key)
                if not bucket:
                    del self.indexes[column][old[column]]
                self._bucket(column, row[column]).add(key)

    def _bucket(self, column: str, value: RowValue) -> set[_Key]:
        """The draft's own (writable) bucket of ``column = value``, copied on first change."""
        buckets = self.indexes[column]
        if (column, value) not in self._owned_buckets:
            buckets[value] = set(buckets.get(value, ()))
            self._owned_buckets.add((column, value))
        return buckets.setdefault(value, set())


def _equal(row: Row, items: list[tuple[str, RowValue]]) -> bool:
    return all(row.get(c) == v for c, v in items)


_State = dict[str, _Table]


class _MemoryTransaction:
    __slots__ = ("_cloned", "_state", "_writable")

    def __init__(self, state: _State, *, writable: bool) -> None:
        self._state = state
        self._writable = writable
        self._cloned: set[str] = set()

    def get(self, table: str, key: Mapping[str, RowValue]) -> Row | None:
        data = self._state[table]
        row = data.rows.get(tuple(key[k] for k in data.key_columns))
        return dict(row) if row is not None else None

    def select(self, table: str, where: Mapping[str, RowValue] | None = None) -> list[Row]:
        return [dict(r) for r in self._state[table].matching(where or {})]

    def count(self, table: str, where: Mapping[str, RowValue] | None = None) -> int:
        data = self._state[table]
        if not where:
            return len(data.rows)
        return sum(1 for _ in data.matching(where))

    def insert(self, table: str, row: Row) -> None:
        data = self._draft(table)
        key = tuple(row[k] for k in data.key_columns)
        if key in data.rows:
            raise EntityAlreadyExistsError("an entity with that key already exists")
        data.add(key, {c: row.get(c) for c in TABLES[table].column_names})

    def update(self, table: str, key: Mapping[str, RowValue], changes: Mapping[str, RowValue]) -> None:
        data = self._draft(table)
        index = tuple(key[k] for k in data.key_columns)
        current = data.rows.get(index)
        if current is None:
            raise NoSuchEntityError("row vanished during the transaction")
        fresh = {**current, **changes}
        moved = tuple(fresh[k] for k in data.key_columns)
        if moved == index:
            data.replace(index, fresh)
            return
        # A change to a key column moves the row, as an SQL UPDATE of the primary key does.
        if moved in data.rows:
            raise EntityAlreadyExistsError("an entity with that key already exists")
        data.remove(index)
        data.add(moved, fresh)

    def delete(self, table: str, where: Mapping[str, RowValue]) -> int:
        data = self._draft(table)
        doomed = [tuple(r[k] for k in data.key_columns) for r in data.matching(where)]
        for key in doomed:
            data.remove(key)
        return len(doomed)

    def _draft(self, table: str) -> _Table:
        """The transaction's own copy of ``table`` (cloned on its first change)."""
        if not self._writable:
            raise RuntimeError("write attempted inside a read-only store transaction")
        if table not in self._cloned:
            self._state[table] = self._state[table].clone()
            self._cloned.add(table)
        return self._state[table]


class MemoryBackend:
    """:class:`~iamguard.store.protocols.StoreBackend` in process memory (``memory://``)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._state: _State = {name: _Table(name) for name in TABLES}
        self._state["generation"].add((1,), {"id": 1, "value": 0})

    @contextmanager
    def write(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            # INVARIANT: the draft shares tables with the published state until it changes them
            # (_MemoryTransaction._draft clones first), so published tables are never mutated.
            tx = _MemoryTransaction(dict(self._state), writable=True)
            gen = tx.get("generation", {"id": 1})
            assert gen is not None
            tx.update("generation", {"id": 1}, {"value": int(gen["value"] or 0) + 1})
            yield tx
            # INVARIANT: reached only when the block did not raise; one assignment publishes.
            self._state = tx._state

    @contextmanager
    def read(self) -> Iterator[_MemoryTransaction]:
        yield _MemoryTransaction(self._state, writable=False)

    def consume_once(self, namespace: str, key: str, expires_at: int, now: int) -> bool:
        """A one-time-use record under the writer lock, generation untouched (``_replay.py``)."""
        from iamguard.store._replay import consume_rows  # _replay imports the service base

        with self._lock:
            tx = _MemoryTransaction(dict(self._state), writable=True)
            consumed = consume_rows(tx, namespace, key, expires_at, now)
            self._state = tx._state  # INVARIANT: one assignment publishes (as write() does)
            return consumed

    def generation(self) -> int:
        return int(self._state["generation"].rows[(1,)]["value"] or 0)

    def close(self) -> None:
        """Nothing to release; present for the protocol."""
