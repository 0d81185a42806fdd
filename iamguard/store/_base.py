"""The state every part of :class:`~iamguard.store.service.IdentityService` shares.

Part of ``store/``: the backend, the per-thread transaction (so nested writes join one
transaction and the generation bumps once), the account row and ARNs built from it, the clock
and the secret box. The IAM areas (``_users_groups``, ``_roles``, ``_policies``, ...) are mixins
over this class; ``service.py`` composes them.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from cachetools import LRUCache

from iamguard.errors import InvalidInputError, StoreError
from iamguard.policy.model import Policy
from iamguard.store import _key_check, passwords
from iamguard.store._rows import _ts
from iamguard.store._rules import DEFAULT_ACCOUNT_ID, Quotas
from iamguard.store.protocols import Row, StoreBackend, Transaction
from iamguard.store.records import Account, PasswordPolicy, ResolvedPrincipal
from iamguard.store.secrets import SecretBox

_DEV_KEY_SETTING = "dev_master_key"


class _Base:
    """Shared state and transactions of the identity store (see ``IdentityService``)."""

    def __init__(
        self,
        backend: StoreBackend,
        *,
        account_id: str | None = None,
        partition: str = "aws",
        secret_box: SecretBox | None = None,
        quotas: Quotas | None = None,
        lockout: passwords.LockoutPolicy | None = None,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        self.backend = backend
        self.quotas = quotas or Quotas()
        self.lockout = lockout or passwords.LockoutPolicy()
        self._clock = clock
        self._box = secret_box
        self._local = threading.local()
        self._cache_lock = threading.Lock()
        self._parsed: LRUCache[tuple[str, ...], Policy] = LRUCache(maxsize=cache_size)
        self._resolved: LRUCache[str, ResolvedPrincipal] = LRUCache(maxsize=cache_size)
        self._account = self._init_account(account_id, partition)
        self._check_master_key()

    def _init_account(self, account_id: str | None, partition: str) -> Account:
        with self.backend.read() as tx:
            rows = tx.select("account")
        if rows:
            account = self._account_from_row(rows[0])
            if account_id is not None and account_id != account.account_id:
                raise InvalidInputError(f"this store holds account {account.account_id}, not {account_id}")
            return account
        account_id = account_id or DEFAULT_ACCOUNT_ID
        if not (len(account_id) == 12 and account_id.isascii() and account_id.isdigit()):
            raise InvalidInputError("an AWS account id is 12 digits")
        with self.backend.write() as tx:
            rows = tx.select("account")
            if not rows:  # INVARIANT: checked again under the write lock (two openers may race)
                tx.insert(
                    "account",
                    {
                        "account_id": account_id,
                        "aws_partition": partition,
                        "alias": None,
                        "password_policy": None,
                        "create_date": _ts(self._now()),
                    },
                )
                return Account(account_id, partition)
        return self._init_account(account_id, partition)

    @property
    def secret_box(self) -> SecretBox:
        """The box sealing secrets; built from the environment on first use."""
        if self._box is None:
            self._box = SecretBox.from_env(dev_key=self._dev_key())
        return self._box

    def _check_master_key(self) -> None:
        """Fail now unless the configured master key is this store's (see ``_key_check.py``)."""
        with self.backend.read() as tx:
            checks = _key_check.recorded(tx)
            sample = None if checks else _key_check.sample_secret(tx)
            dev_row = tx.get("settings", {"name": _DEV_KEY_SETTING})
        if not checks and sample is None:
            return  # nothing sealed yet: the first secret sealed records the check
        where = repr(self.backend)
        box = self._box
        if box is None:
            dev_key = None if dev_row is None else base64.b64decode(str(dev_row["value"]))
            try:
                box = SecretBox.from_env(dev_key=dev_key)
            except StoreError as exc:
                raise StoreError(f"the store at {where} holds sealed secrets: {exc}") from None
        if checks:
            _key_check.verify(box, checks, where)
        else:
            assert sample is not None
            kid = _key_check.verify_sample(box, sample[0], sample[1], where)
            with self._write() as tx:  # a store from before key checks: record it now
                _key_check.record(tx, box, kid)
        self._box = box

    def record_master_key(self) -> str:
        """Record the configured master key's check value now (sealing the first secret does it
        too); its key id. Later opens with another key fail at once."""
        with self._write() as tx:
            box = self._sealing_box(tx)
        return box.primary

    def _sealing_box(self, tx: Transaction) -> SecretBox:
        """The box to seal with inside write ``tx``, its primary key's check recorded there."""
        box = self.secret_box
        _key_check.record(tx, box, box.primary)
        return box

    def _dev_key(self) -> bytes | None:
        """The store's own development master key, made on first use, when (and only when) the
        environment asks for development mode (``IAMGUARD_DEV_MASTER_KEY=1``) and names no real
        key. It lives beside the data, so it protects nothing against a copy of the store; see
        :meth:`SecretBox.from_env` for why that is tolerated in development only."""
        env = os.environ
        if env.get("IAMGUARD_MASTER_KEY") or env.get("IAMGUARD_MASTER_KEY_FILE"):
            return None
        if env.get("IAMGUARD_DEV_MASTER_KEY", "").strip() != "1":
            return None
        with self._write() as tx:
            row = tx.get("settings", {"name": _DEV_KEY_SETTING})
            if row is None:
                row = {"name": _DEV_KEY_SETTING, "value": base64.b64encode(os.urandom(32)).decode("ascii")}
                tx.insert("settings", row)
        return base64.b64decode(str(row["value"]))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group several writes into one transaction: all of them happen, or none.

        Nested calls join the outer transaction; the generation bumps once, at the end.
        """
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[Transaction]:
        current: Transaction | None = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self.backend.write() as tx:
            self._local.tx = tx
            try:
                yield tx
            finally:
                self._local.tx = None
        self._account = self._reload_account()

    @contextmanager
    def _unversioned_write(self) -> Iterator[Transaction]:
        """A write transaction that leaves the generation as it found it: for data that changes
        no cached decision (access activity, sign-in failure counters), where a bump would
        empty every process's caches on each write.

        A backend may offer ``write_unversioned()`` (PostgreSQL does: serialized with other
        writers, no bump, no NOTIFY). Otherwise, for the memory and SQLite backends, the bump
        ``write()`` makes first is undone before commit, inside the same serialized
        transaction, so no reader or polling feed ever sees it. Any other backend gets an
        ordinary, generation-bumping write: correct, only less cache-friendly.
        """
        from iamguard.store.memory import MemoryBackend
        from iamguard.store.sqlite import SQLiteBackend

        unversioned = getattr(self.backend, "write_unversioned", None)
        if callable(unversioned):
            with unversioned() as tx:
                yield tx
            return
        if not isinstance(self.backend, (MemoryBackend, SQLiteBackend)):
            with self.backend.write() as tx:
                yield tx
            return
        with self.backend.write() as tx:
            row = tx.get("generation", {"id": 1})
            yield tx
            if row is not None:
                tx.update("generation", {"id": 1}, {"value": int(row["value"] or 0) - 1})

    @contextmanager
    def _read(self) -> Iterator[Transaction]:
        current: Transaction | None = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self.backend.read() as tx:
            yield tx

    def account(self) -> Account:
        return self._reload_account()

    def _reload_account(self) -> Account:
        with self._read() as tx:
            return self._account_from_row(tx.select("account")[0])

    def _account_from_row(self, row: Row) -> Account:
        policy = row["password_policy"]
        return Account(
            account_id=str(row["account_id"]),
            partition=str(row["aws_partition"]),
            alias=None if row["alias"] is None else str(row["alias"]),
            password_policy=None if policy is None else PasswordPolicy(**json.loads(str(policy))),
        )

    def _arn(self, service_resource: str) -> str:
        return f"arn:{self._account.partition}:iam::{self._account.account_id}:{service_resource}"

    def _entity_arn(self, kind: str, path: str, name: str) -> str:
        return self._arn(f"{kind}{path}{name}")
