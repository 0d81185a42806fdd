"""The store contract on SQLite, plus what only a file-backed store has: reopening, migrations,
WAL, foreign keys, rollback of a transaction that dies midway, two handles on one file."""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from iamguard.errors import DeleteConflictError, InvalidInputError, StoreUnavailableError
from iamguard.store import _sql, open_backend, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService
from iamguard.store.sqlite import SQLiteBackend
from store.contract import ACCOUNT, BOX, TRUST, StoreContract, doc


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLiteBackend]:
        backend = SQLiteBackend(tmp_path / "iam.db")
        yield backend
        backend.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


def _service(path: Path) -> IdentityService:
    return IdentityService(SQLiteBackend(path), account_id=ACCOUNT, secret_box=BOX)


def test_open_store_sqlite_url(path: Path) -> None:
    store = open_store(f"sqlite:///{path}", account_id=ACCOUNT, secret_box=BOX)
    assert isinstance(store.backend, SQLiteBackend) and store.backend.path == str(path)
    with pytest.raises(InvalidInputError):
        open_backend("sqlite://")
    with pytest.raises(InvalidInputError):
        open_backend("mysql://x")


def test_postgres_url_without_backend_module_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail exactly as a missing module does.
    monkeypatch.setitem(sys.modules, "iamguard.store.postgres", None)
    with pytest.raises(StoreUnavailableError, match="iamguard.store.postgres"):
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
    first = SQLiteBackend(path)
    assert first.applied_migrations == [m.version for m in _sql.MIGRATIONS]
    first.close()
    second = SQLiteBackend(path)
    assert second.applied_migrations == []
    second.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version, name FROM iamguard_migrations").fetchall()
    assert rows == [(m.version, m.name) for m in _sql.MIGRATIONS]


def test_newer_schema_is_refused(path: Path) -> None:
    SQLiteBackend(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO iamguard_migrations VALUES (999, 'from the future', 'x')")
    with pytest.raises(StoreUnavailableError, match="newer"):
        SQLiteBackend(path)


def test_wal_and_foreign_keys(path: Path) -> None:
    backend = SQLiteBackend(path)
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
        except Exception as exc:  # noqa: BLE001 - any failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_users()) == 20
