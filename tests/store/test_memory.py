"""The store contract on the in-memory backend, plus its snapshot isolation."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import EntityAlreadyExistsError
from iamguard.store import open_backend, open_store
from iamguard.store.memory import MemoryBackend
from iamguard.store.service import IdentityService

from .contract import ACCOUNT, BOX, StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def backend(self) -> MemoryBackend:
        return MemoryBackend()


def test_open_store_memory_url() -> None:
    store = open_store("memory://", account_id=ACCOUNT, secret_box=BOX)
    assert isinstance(store, IdentityService) and isinstance(store.backend, MemoryBackend)
    assert isinstance(open_backend("memory://"), MemoryBackend)


def test_readers_keep_their_snapshot_while_a_write_commits() -> None:
    backend = MemoryBackend()
    store = IdentityService(backend, account_id=ACCOUNT, secret_box=BOX)
    with backend.read() as snapshot:
        store.create_user("late")
        assert snapshot.get("users", {"name_key": "late"}) is None
    assert store.get_user("late").name == "late"


def test_read_transactions_refuse_writes() -> None:
    backend = MemoryBackend()
    with backend.read() as tx, pytest.raises(RuntimeError):
        tx.insert("settings", {"name": "x", "value": "y"})


# ---------------------------------------------------------------- indexes against a plain scan

_OWNERS = ("a", "b", "B", "c")
_ARNS = ("arn:1", "arn:2", "arn:10")
_ROW = st.fixed_dictionaries(
    {
        "owner_kind": st.sampled_from(("user", "role")),
        "owner_key": st.sampled_from(_OWNERS),
        "policy_arn": st.sampled_from(_ARNS),
    }
)
_KEY_ROW = st.fixed_dictionaries(
    {
        "access_key_id": st.sampled_from(("K1", "K2", "K3", "K10")),
        "user_key": st.sampled_from((None, *_OWNERS)),
    }
)
_OP = st.one_of(
    st.tuples(st.just("insert"), st.just("attachments"), _ROW),
    st.tuples(st.just("insert"), st.just("access_keys"), _KEY_ROW),
    st.tuples(st.just("move"), st.just("attachments"), _ROW),
    st.tuples(st.just("move"), st.just("access_keys"), _KEY_ROW),
    st.tuples(st.just("delete"), st.just("attachments"), _ROW),
    st.tuples(st.just("delete"), st.just("access_keys"), _KEY_ROW),
)


def _wheres(table: str) -> list[dict[str, Any]]:
    if table == "attachments":
        return (
            [{}]
            + [{"policy_arn": a} for a in _ARNS]
            + [{"owner_kind": k} for k in ("user", "role")]
            + [{"owner_kind": k, "owner_key": o} for k in ("user", "role") for o in _OWNERS]
            + [{"owner_key": o, "policy_arn": "arn:1"} for o in _OWNERS]
        )
    return [{}] + [{"user_key": u} for u in (None, *_OWNERS)] + [{"access_key_id": "K10", "user_key": "a"}]


def _reference(rows: dict[tuple[Any, ...], dict[str, Any]], where: dict[str, Any]) -> list[dict[str, Any]]:
    """What select() returned before the indexes: every row, filtered, sorted by key text."""
    order = sorted(rows, key=lambda k: tuple((0, "") if v is None else (1, str(v)) for v in k))
    return [rows[k] for k in order if all(rows[k].get(c) == v for c, v in where.items())]


_KEYS = {"attachments": ("owner_kind", "owner_key", "policy_arn"), "access_keys": ("access_key_id",)}
_FILL = {"status": "Active", "sealed_secret": "s", "create_date": "d", "last_used_date": None}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_OP, st.booleans()), max_size=30))
def test_select_and_count_match_a_plain_scan(ops: list[tuple[tuple[str, str, dict[str, Any]], bool]]) -> None:
    backend = MemoryBackend()
    model: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {"attachments": {}, "access_keys": {}}
    for (op, table, row), roll_back in ops:
        if table == "access_keys":
            row = {**row, **_FILL}
        draft = {t: dict(r) for t, r in model.items()}
        key = tuple(row[c] for c in _KEYS[table])
        reading = backend.read()
        before = reading.__enter__()
        snapshot = before.select(table)
        try:
            with backend.write() as tx:
                if op == "insert":
                    with contextlib.suppress(EntityAlreadyExistsError):
                        tx.insert(table, row)
                        draft[table][key] = row
                elif op == "delete":
                    where = (
                        {c: row[c] for c in _KEYS[table][:2]}
                        if table == "attachments"
                        else {"user_key": row["user_key"]}
                    )
                    assert tx.delete(table, where) == len(_reference(draft[table], where))
                    draft[table] = {
                        k: r for k, r in draft[table].items() if not all(r[c] == v for c, v in where.items())
                    }
                else:  # move the first row to row's values (a key change for attachments)
                    first = next(iter(_reference(draft[table], {})), None)
                    if first is not None:
                        old = tuple(first[c] for c in _KEYS[table])
                        new = {**first, **{c: row[c] for c in row if c in first}}
                        moved = tuple(new[c] for c in _KEYS[table])
                        if moved != old and moved in draft[table]:
                            with pytest.raises(EntityAlreadyExistsError):
                                tx.update(table, dict(zip(_KEYS[table], old, strict=False)), new)
                        else:
                            tx.update(table, dict(zip(_KEYS[table], old, strict=False)), new)
                            del draft[table][old]
                            draft[table][moved] = new
                for where in _wheres(table):
                    assert tx.select(table, where) == _reference(draft[table], where)
                if roll_back:
                    raise RuntimeError("roll back")
        except RuntimeError:
            pass
        else:
            model = draft
        with backend.read() as tx:
            for name in model:
                for where in _wheres(name):
                    assert tx.select(name, where) == _reference(model[name], where)
                    assert tx.count(name, where) == len(_reference(model[name], where))
                for key, expected in model[name].items():
                    assert tx.get(name, dict(zip(_KEYS[name], key, strict=False))) == expected
        # A reader that began before the write still sees the state it began with.
        assert before.select(table) == snapshot
        reading.__exit__(None, None, None)
