"""The store contract on the in-memory backend, plus its snapshot isolation."""

from __future__ import annotations

import pytest

from iamguard.store import open_backend, open_store
from iamguard.store.memory import MemoryBackend
from iamguard.store.service import IdentityService
from store.contract import ACCOUNT, BOX, StoreContract


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
