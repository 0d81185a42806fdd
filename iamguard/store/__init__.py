"""iamguard.store: the identity store (users, groups, roles, policies, credentials).

What stage 3 (``resolve.py``) reads and what administrators write. One concrete class,
:class:`~iamguard.store.service.IdentityService`, holds IAM's rules (names, quotas, versions,
delete conflicts, sealed secrets, passwords, MFA) over a pluggable storage backend:

* ``memory://``            :class:`~iamguard.store.memory.MemoryBackend` (per process)
* ``sqlite:///path/to.db`` :class:`~iamguard.store.sqlite.SQLiteBackend` (WAL, one file;
  ``sqlite:///relative.db`` is relative to the working directory, ``sqlite:////abs.db`` absolute)
* ``postgresql://...``     ``iamguard.store.postgres`` (imported only when asked for)

Only ``create=True`` makes a new SQLite file or PostgreSQL schema; anything else refuses a
missing store with an error naming where it looked.

The service conforms to :class:`~iamguard.store.protocols.PolicySource` (the read path) and
:class:`~iamguard.store.protocols.IdentityAdmin`. Every write bumps the store generation in the
same transaction, which is how evaluation caches learn that something changed.

This module is the public API of ``iamguard.store``: import from here (or from ``iamguard``). The
modules inside the package (``service``, ``sqlite``, ``postgres``, ``_sql``, ...) are private;
their names and contents may change between releases.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from iamguard.errors import (
    ConcurrentModificationError,
    DeleteConflictError,
    EntityAlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
    NoSuchStoreError,
    StoreError,
    StoreUnavailableError,
)
from iamguard.store._activity import AccessActivity
from iamguard.store._providers import OidcProviderRecord, SamlProviderRecord
from iamguard.store._rules import Quotas
from iamguard.store.feed import ChangeFeed, open_change_feed
from iamguard.store.passwords import LockoutPolicy
from iamguard.store.protocols import IdentityAdmin, OneTimeUse, PolicySource, StoreBackend, Transaction
from iamguard.store.records import (
    AccessKey,
    AccessKeyCreated,
    AccessKeyStatus,
    Account,
    Group,
    InlinePolicy,
    LoginOutcome,
    LoginProfile,
    ManagedPolicy,
    MfaDevice,
    MfaDeviceCreated,
    PasswordPolicy,
    PolicyVersion,
    PrincipalKind,
    ResolvedPrincipal,
    Role,
    Tags,
    User,
)
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService

__all__ = [
    "AccessActivity",
    "AccessKey",
    "AccessKeyCreated",
    "AccessKeyStatus",
    "Account",
    "ChangeFeed",
    "ConcurrentModificationError",
    "DeleteConflictError",
    "EntityAlreadyExistsError",
    "Group",
    "IdentityAdmin",
    "IdentityService",
    "InlinePolicy",
    "InvalidInputError",
    "LimitExceededError",
    "LockoutPolicy",
    "LoginOutcome",
    "LoginProfile",
    "ManagedPolicy",
    "MfaDevice",
    "MfaDeviceCreated",
    "NoSuchEntityError",
    "NoSuchStoreError",
    "OidcProviderRecord",
    "OneTimeUse",
    "PasswordPolicy",
    "PolicySource",
    "PolicyVersion",
    "PrincipalKind",
    "Quotas",
    "ResolvedPrincipal",
    "Role",
    "SamlProviderRecord",
    "SecretBox",
    "StoreBackend",
    "StoreError",
    "StoreUnavailableError",
    "Tags",
    "Transaction",
    "User",
    "open_backend",
    "open_change_feed",
    "open_store",
]


def open_backend(url: str, *, create: bool = False) -> StoreBackend:
    """The storage backend a store URL names (no IAM rules; see :func:`open_store`).

    ``create=True`` makes a SQLite file or PostgreSQL schema (and iamguard's tables) that does
    not exist yet; otherwise a missing store raises :class:`StoreUnavailableError` naming where
    it looked. ``memory://`` is always new.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from iamguard.store.memory import MemoryBackend

        return MemoryBackend()
    if scheme == "sqlite":
        from iamguard.store.sqlite import SQLiteBackend

        path = unquote(url[len("sqlite:///") :]) if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise InvalidInputError("a SQLite store URL is sqlite:///path/to/file.db")
        return SQLiteBackend(path, create=create)
    if scheme in ("postgresql", "postgres"):
        try:
            postgres = importlib.import_module("iamguard.store.postgres")
        except ModuleNotFoundError as exc:
            if exc.name != "iamguard.store.postgres":
                raise
            raise StoreUnavailableError(
                "PostgreSQL stores need iamguard.store.postgres, which this installation lacks"
            ) from None
        backend: StoreBackend = postgres.PostgresBackend(url, create=create)
        return backend
    raise InvalidInputError(
        f"unknown store URL scheme {scheme!r} (memory://, sqlite:///path, postgresql://...)"
    )


def open_store(
    url: str = "memory://",
    *,
    create: bool = False,
    account_id: str | None = None,
    partition: str = "aws",
    secret_box: SecretBox | None = None,
    quotas: Quotas | None = None,
    lockout: LockoutPolicy | None = None,
    clock: Callable[[], float] = time.time,
    cache_size: int = 4096,
) -> IdentityService:
    """An identity store for ``url``, with IAM's rules (:class:`IdentityService`) over it.

    Creating a store is explicit (``create=True``, ``iamguard init``, ``iamguard apply --create``):
    a mistyped path or an unset variable must fail at start, not serve an empty account. Opening
    also checks the master key against the store's key-check value (see ``_key_check.py``).

    ``account_id`` names the account of a new store (an existing one must match);
    ``secret_box`` seals secrets under the master key; ``quotas`` and ``lockout`` are IAM's limits
    and the sign-in lockout policy; ``clock`` returns Unix seconds; ``cache_size`` bounds the
    parsed-policy and resolved-principal caches.
    """
    backend = open_backend(url, create=create)
    try:
        return IdentityService(
            backend,
            account_id=account_id,
            partition=partition,
            secret_box=secret_box,
            quotas=quotas,
            lockout=lockout,
            clock=clock,
            cache_size=cache_size,
        )
    except BaseException:
        backend.close()
        raise
