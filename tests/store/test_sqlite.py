"""The store contract on SQLite, plus what only a file-backed store has: reopening, migrations,
WAL, foreign keys, rollback of a transaction that dies midway, two handles on one file."""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import (
    DeleteConflictError,
    IAMGuardError,
    InvalidInputError,
    StoreError,
    StoreUnavailableError,
)
from iamguard.store import _sql, open_backend, open_store
from iamguard.store.memory import MemoryBackend
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService
from iamguard.store.sqlite import SQLiteBackend

from .contract import ACCOUNT, BOX, TRUST, StoreContract, doc


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLiteBackend]:
        backend = SQLiteBackend(tmp_path / "iam.db", create=True)
        yield backend
        backend.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


def _service(path: Path) -> IdentityService:
    return IdentityService(SQLiteBackend(path, create=True), account_id=ACCOUNT, secret_box=BOX)


def test_open_store_sqlite_url(path: Path) -> None:
    store = open_store(f"sqlite:///{path}", create=True, account_id=ACCOUNT, secret_box=BOX)
    assert isinstance(store.backend, SQLiteBackend) and store.backend.path == str(path)
    with pytest.raises(InvalidInputError):
        open_backend("sqlite://")
    with pytest.raises(InvalidInputError):
        open_backend("mysql://x")


def test_postgres_url_without_backend_module_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail exactly as a missing module does.
    monkeypatch.setitem(sys.modules, "iamguard.store.postgres", None)
    with pytest.raises(StoreUnavailableError, match=r"iamguard\.store\.postgres"):
        open_backend("postgresql://localhost/iam")


def test_data_survives_reopening(path: Path) -> None:
    first = _service(path)
    user = first.create_user("alice", path="/eng/")
    key = first.create_access_key("alice")
    policy = first.create_policy("P", doc())
    first.attach_user_policy("alice", policy.arn)
    generation = first.generation()
    first.backend.close()
    again = _service(path)
    assert again.get_user("alice") == user
    assert again.generation() == generation
    found = again.get_access_key(key.access_key_id)
    assert found is not None and found[1] == key.secret_access_key
    resolved = again.resolve_principal(user.arn)
    assert resolved is not None and [p.name for p in resolved.identity] == [policy.arn]


def test_migrations_are_recorded_and_applied_once(path: Path) -> None:
    first = SQLiteBackend(path, create=True)
    assert first.applied_migrations == [m.version for m in _sql.MIGRATIONS]
    first.close()
    second = SQLiteBackend(path)
    assert second.applied_migrations == []
    second.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version, name FROM iamguard_migrations").fetchall()
    assert rows == [(m.version, m.name) for m in _sql.MIGRATIONS]


def test_newer_schema_is_refused(path: Path) -> None:
    SQLiteBackend(path, create=True).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO iamguard_migrations VALUES (999, 'from the future', 'x')")
    with pytest.raises(StoreUnavailableError, match="newer"):
        SQLiteBackend(path)


def test_wal_and_foreign_keys(path: Path) -> None:
    backend = SQLiteBackend(path, create=True)
    assert backend.journal_mode() == "wal"
    with pytest.raises(DeleteConflictError), backend.write() as tx:  # a member that does not exist
        tx.insert("group_members", {"group_key": "nobody", "user_key": "nobody"})
    backend.close()


def test_crash_mid_transaction_leaves_nothing(path: Path) -> None:
    store = _service(path)
    store.create_user("keep")
    before = store.generation()

    class Crash(Exception):
        pass

    with pytest.raises(Crash), store.atomic():
        store.create_user("ghost")
        store.put_inline_policy(PrincipalKind.USER, "keep", "p", doc())
        store.delete_user("keep", force=True)
        raise Crash()
    store.backend.close()
    reopened = _service(path)
    assert [u.name for u in reopened.list_users()] == ["keep"]
    assert reopened.list_inline_policies(PrincipalKind.USER, "keep") == []
    assert reopened.generation() == before


def test_two_handles_see_each_others_writes(path: Path) -> None:
    one, two = _service(path), _service(path)
    user = one.create_user("shared")
    two.attach_user_policy("shared", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
    assert one.generation() == two.generation()
    resolved = one.resolve_principal(user.arn)  # one's cache must notice two's write
    assert resolved is not None and len(resolved.identity) == 1


def test_writers_in_threads_serialize(path: Path) -> None:
    store = _service(path)
    store.create_role("r", TRUST)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                store.create_user(f"t{n}-{i}")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_users()) == 20


def test_no_master_key_fails_closed(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_DEV_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    store = IdentityService(SQLiteBackend(path, create=True), account_id=ACCOUNT)
    store.create_user("u")
    with pytest.raises(StoreError, match="no master key"):
        store.create_access_key("u")
    assert store.list_access_keys("u") == []


def test_dev_master_key_is_kept_with_the_store(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # secrets.SecretBox.from_env: in development mode the store supplies its own per-store key.
    for name in ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    first = IdentityService(SQLiteBackend(path, create=True), account_id=ACCOUNT)
    first.create_user("u")
    created = first.create_access_key("u")
    assert first.secret_box.is_dev
    first.backend.close()
    again = IdentityService(SQLiteBackend(path), account_id=ACCOUNT)
    found = again.get_access_key(created.access_key_id)
    assert found is not None and found[1] == created.secret_access_key


# ---------------------------------------------------------------- differential: SQLite vs memory

_NAMES = st.sampled_from(["ann", "ANN", "bob", "cy"])
_GROUPS = st.sampled_from(["g1", "G1", "g2"])
_OPS = st.one_of(
    st.tuples(st.just("create_user"), _NAMES),
    st.tuples(st.just("create_group"), _GROUPS),
    st.tuples(st.just("add_user_to_group"), _GROUPS, _NAMES),
    st.tuples(st.just("remove_user_from_group"), _GROUPS, _NAMES),
    st.tuples(st.just("delete_user"), _NAMES, st.booleans()),
    st.tuples(st.just("delete_group"), _GROUPS, st.booleans()),
    st.tuples(st.just("attach"), _NAMES, st.sampled_from(["ReadOnlyAccess", "Missing"])),
    st.tuples(st.just("inline"), _NAMES, st.sampled_from(["p", "P", "q"])),
)


def _apply(store: IdentityService, op: tuple[Any, ...]) -> str:
    kind, *args = op
    calls: dict[str, Callable[[], object]] = {
        "create_user": lambda: store.create_user(args[0]),
        "create_group": lambda: store.create_group(args[0]),
        "add_user_to_group": lambda: store.add_user_to_group(args[0], args[1]),
        "remove_user_from_group": lambda: store.remove_user_from_group(args[0], args[1]),
        "delete_user": lambda: store.delete_user(args[0], force=args[1]),
        "delete_group": lambda: store.delete_group(args[0], force=args[1]),
        "attach": lambda: store.attach_user_policy(args[0], f"arn:aws:iam::iamguard:policy/{args[1]}"),
        "inline": lambda: store.put_inline_policy(PrincipalKind.USER, args[0], args[1], doc()),
    }
    try:
        calls[kind]()
    except IAMGuardError as exc:
        return type(exc).__name__
    return "ok"


def _observe(store: IdentityService) -> tuple[object, ...]:
    users = [u.name for u in store.list_users()]
    return (
        users,
        [g.name for g in store.list_groups()],
        {u: [g.name for g in store.list_groups_for_user(u)] for u in users},
        {u: [p.name for p in store.list_attached_policies(PrincipalKind.USER, u)] for u in users},
        {u: store.list_inline_policies(PrincipalKind.USER, u) for u in users},
        store.generation(),
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(_OPS, max_size=25))
def test_sqlite_and_memory_agree(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        on_disk = IdentityService(
            SQLiteBackend(Path(folder) / "d.db", create=True), account_id=ACCOUNT, secret_box=BOX
        )
        in_memory = IdentityService(MemoryBackend(), account_id=ACCOUNT, secret_box=BOX)
        try:
            for op in ops:
                assert _apply(on_disk, op) == _apply(in_memory, op), op
            assert _observe(on_disk) == _observe(in_memory)
        finally:
            on_disk.backend.close()
