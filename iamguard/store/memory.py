"""In-process storage backend: tables as dicts, copy-on-write transactions.

Part of ``store/``. For tests, demos and single-process apps that load identities at start-up.
A write transaction works on a shallow copy of every table and swaps it in on success, so a
failure anywhere inside leaves the published state untouched; readers always see one whole
published state (a snapshot) without taking a lock. Rows are dicts that are never mutated once
published: updates replace the row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from iamguard.errors import EntityAlreadyExistsError, NoSuchEntityError
from iamguard.store._sql import TABLES
from iamguard.store.protocols import Row, RowValue

__all__ = ["MemoryBackend"]

_State = dict[str, dict[tuple[RowValue, ...], Row]]


class _MemoryTransaction:
    __slots__ = ("_state", "_writable")

    def __init__(self, state: _State, *, writable: bool) -> None:
        self._state = state
        self._writable = writable

    def get(self, table: str, key: Mapping[str, RowValue]) -> Row | None:
        row = self._state[table].get(tuple(key[k] for k in TABLES[table].key))
        return dict(row) if row is not None else None

    def select(self, table: str, where: Mapping[str, RowValue] | None = None) -> list[Row]:
        rows = self._state[table]
        items = list((where or {}).items())
        return [
            dict(rows[k]) for k in sorted(rows, key=_sort_key) if all(rows[k].get(c) == v for c, v in items)
        ]

    def insert(self, table: str, row: Row) -> None:
        self._check_writable()
        spec = TABLES[table]
        key = tuple(row[k] for k in spec.key)
        if key in self._state[table]:
            raise EntityAlreadyExistsError("an entity with that key already exists")
        self._state[table][key] = {c: row.get(c) for c in spec.column_names}

    def update(self, table: str, key: Mapping[str, RowValue], changes: Mapping[str, RowValue]) -> None:
        self._check_writable()
        spec = TABLES[table]
        index = tuple(key[k] for k in spec.key)
        current = self._state[table].get(index)
        if current is None:
            raise NoSuchEntityError("row vanished during the transaction")
        self._state[table][index] = {**current, **changes}

    def delete(self, table: str, where: Mapping[str, RowValue]) -> int:
        self._check_writable()
        rows = self._state[table]
        doomed = [k for k, r in rows.items() if all(r.get(c) == v for c, v in where.items())]
        for k in doomed:
            del rows[k]
        return len(doomed)

    def _check_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("write attempted inside a read-only store transaction")


def _sort_key(key: tuple[RowValue, ...]) -> tuple[tuple[int, str], ...]:
    # None sorts first, as SQL's ORDER BY does in SQLite; everything else by its text.
    return tuple((0, "") if v is None else (1, str(v)) for v in key)


class MemoryBackend:
    """:class:`~iamguard.store.protocols.StoreBackend` in process memory (``memory://``)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._state: _State = {name: {} for name in TABLES}
        self._state["generation"][(1,)] = {"id": 1, "value": 0}

    @contextmanager
    def write(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            draft: _State = {name: dict(rows) for name, rows in self._state.items()}
            gen = draft["generation"][(1,)]
            draft["generation"][(1,)] = {**gen, "value": int(gen["value"] or 0) + 1}
            yield _MemoryTransaction(draft, writable=True)
            # INVARIANT: reached only when the block did not raise; one assignment publishes.
            self._state = draft

    @contextmanager
    def read(self) -> Iterator[_MemoryTransaction]:
        yield _MemoryTransaction(self._state, writable=False)

    def generation(self) -> int:
        return int(self._state["generation"][(1,)]["value"] or 0)

    def close(self) -> None:
        """Nothing to release; present for the protocol."""
