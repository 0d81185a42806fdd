"""The store's plug-in points, as ``typing.Protocol`` s.

Three seams, each small:

* :class:`PolicySource` — the hot read path stage 3 (``resolve.py``) and authentication use:
  a principal's parsed policies, an access key's secret, the store generation.
* :class:`IdentityAdmin` — the core write surface (the rest of the IAM API is on the concrete
  :class:`~iamguard.store.service.IdentityService`, which conforms to both protocols).
* :class:`StoreBackend` / :class:`Transaction` — what a storage engine (memory, SQLite,
  PostgreSQL) must provide: tables of rows, serialized write transactions that bump the
  generation on commit, consistent read snapshots. IAM's rules live above it, once, in
  ``service.py``, so a new backend implements storage only.

Rows are plain dicts of ``str | int | None`` keyed by column name; the tables and their key
columns are declared once in ``_sql.TABLES`` (the memory backend uses the same declaration).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from iamguard.store.records import AccessKey, AccessKeyCreated, ManagedPolicy, ResolvedPrincipal, User

__all__ = [
    "IdentityAdmin",
    "OneTimeUse",
    "OneTimeUseBackend",
    "PolicySource",
    "Row",
    "RowValue",
    "StoreBackend",
    "Transaction",
]

RowValue = str | int | None
Row = dict[str, RowValue]


@runtime_checkable
class PolicySource(Protocol):
    """What the request path reads. Implementations must be cheap and thread-safe."""

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None:
        """The stored user/role/root named by ``arn`` with its policies parsed, or ``None``."""
        ...

    def get_access_key(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """The key's metadata and its plaintext secret (opened from the sealed copy), or ``None``."""
        ...

    def generation(self) -> int:
        """A number that increases with every committed write; a cache key component."""
        ...


@runtime_checkable
class IdentityAdmin(Protocol):
    """The core writes (users, managed policies, attachments, access keys)."""

    def create_user(self, name: str, *, path: str = "/") -> User:
        """IAM ``CreateUser``."""

    def create_policy(
        self, name: str, document: str | Mapping[str, object], *, path: str = "/"
    ) -> ManagedPolicy:
        """IAM ``CreatePolicy`` (the document is validated as an identity-based policy)."""

    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        """IAM ``AttachUserPolicy``."""

    def create_access_key(self, user_name: str | None = None) -> AccessKeyCreated:
        """IAM ``CreateAccessKey``: the only time the secret is returned."""

    def delete_user(self, name: str, *, force: bool = False) -> None:
        """IAM ``DeleteUser``; ``force`` first removes what AWS would call a delete conflict."""


class Transaction(Protocol):
    """Row access inside one backend transaction (read-only for :meth:`StoreBackend.read`)."""

    def get(self, table: str, key: Mapping[str, RowValue]) -> Row | None:
        """The row whose key columns equal ``key``, or ``None``."""
        ...

    def select(self, table: str, where: Mapping[str, RowValue] | None = None) -> list[Row]:
        """Rows whose columns equal every ``where`` item, ordered by key."""
        ...

    def count(self, table: str, where: Mapping[str, RowValue] | None = None) -> int:
        """How many rows :meth:`select` would return, without reading them (quota checks)."""
        ...

    def insert(self, table: str, row: Row) -> None:
        """Add a row; ``EntityAlreadyExistsError`` if its key is taken."""
        ...

    def update(self, table: str, key: Mapping[str, RowValue], changes: Mapping[str, RowValue]) -> None:
        """Change some columns of an existing row."""
        ...

    def delete(self, table: str, where: Mapping[str, RowValue]) -> int:
        """Delete matching rows; the number deleted."""
        ...


class StoreBackend(Protocol):
    """Storage for :class:`~iamguard.store.service.IdentityService`."""

    def write(self) -> AbstractContextManager[Transaction]:
        """A serialized write transaction; commits and bumps the generation on normal exit,
        rolls back (leaving nothing changed) when the block raises."""
        ...

    def read(self) -> AbstractContextManager[Transaction]:
        """A consistent read-only snapshot."""
        ...

    def generation(self) -> int:
        """A number that increases with every committed write; a cache key component."""

    def close(self) -> None:
        """Release connections and files; the backend is unusable afterwards."""


@runtime_checkable
class OneTimeUse(Protocol):
    """Shared one-time-use records (``IdentityService`` conforms; see ``store/_replay.py``):
    what a verifier needs so a single-use token is refused by every process after its first use."""

    def consume_once(self, namespace: str, key: str, expires_at: float, *, now: float | None = None) -> bool:
        """True for the first use of ``key`` until ``expires_at`` (Unix seconds), else False."""
        ...


@runtime_checkable
class OneTimeUseBackend(Protocol):
    """A backend's native, atomic one-time-use insert (memory, SQLite and PostgreSQL have one);
    a backend without it gets a generic, generation-bumping write transaction instead."""

    def consume_once(self, namespace: str, key: str, expires_at: int, now: int) -> bool: ...
