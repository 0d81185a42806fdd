"""Client-side credentials: the value every provider returns and the provider protocols.

A provider answers one question: "are credentials configured *here*?". ``load()`` returns
:class:`Credentials` when they are, ``None`` when this source is simply not configured (the
chain then tries the next one), and raises :class:`~iamguard.errors.PartialCredentialsError`
when the source is present but incomplete: falling through would silently pick up some other
identity, which is worse than failing (botocore's contract, kept on purpose).

Credentials with an ``expiration`` are temporary; the chain wraps them in
:class:`~iamguard.credentials.refresh.RefreshableCredentials` whose refresh calls the same
provider's ``load`` again. Providers therefore never manage refresh themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from iamguard.errors import InvalidParameterError

__all__ = [
    "AsyncCredentialProvider",
    "AsyncCredentialSource",
    "CredentialProvider",
    "CredentialSource",
    "Credentials",
    "parse_expiration",
]


@dataclass(frozen=True, slots=True)
class Credentials:
    """One consistent set of credentials; the secret and token never appear in ``repr``.

    ``source`` names the provider that produced them (``"env"``, ``"assume-role"``…) so logs
    and :meth:`CredentialChain.explain` can say where an identity came from without secrets.
    A fixed value is its own :class:`CredentialSource` (``get()`` returns itself), so callers
    can treat static and refreshable credentials alike.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None
    source: str = ""
    account_id: str | None = None

    def __post_init__(self) -> None:
        if self.expiration is not None and self.expiration.tzinfo is None:
            raise InvalidParameterError("Credentials.expiration must be timezone-aware (UTC)")

    @property
    def is_temporary(self) -> bool:
        """Temporary (session) credentials carry a token; long-term IAM user keys do not."""
        return bool(self.session_token)

    def expired(self, now: datetime) -> bool:
        """True once ``now`` is at or past the expiration (never true without one)."""
        return self.expiration is not None and now >= self.expiration

    def get(self) -> Credentials:
        """A fixed value is its own source."""
        return self


@runtime_checkable
class CredentialSource(Protocol):
    """Something that hands out a current, unexpired, consistent set of credentials."""

    def get(self) -> Credentials:
        """Current credentials: unexpired, with key, secret and token from one snapshot."""


class AsyncCredentialSource(Protocol):
    """Async twin of :class:`CredentialSource`."""

    def get(self) -> Awaitable[Credentials]: ...


class CredentialProvider(Protocol):
    """One place credentials may be configured (environment, a profile, IMDS, …).

    ``load()`` returns ``None`` when not configured here and raises
    :class:`~iamguard.errors.PartialCredentialsError` when configured but incomplete.
    Built-in providers also offer ``load_or_reason() -> Credentials | str`` (the string says
    why they were skipped) which :meth:`CredentialChain.explain` uses when present.
    """

    name: str

    def load(self) -> Credentials | None:
        """Credentials from this source, or ``None`` when it is not configured (try the next)."""


class AsyncCredentialProvider(Protocol):
    """Async twin of :class:`CredentialProvider` (the HTTP-backed sources implement it)."""

    name: str

    async def aload(self) -> Credentials | None:
        """Async :meth:`CredentialProvider.load`."""


def parse_expiration(text: str) -> datetime:
    """Parse an ISO 8601 expiration (``2026-01-01T00:00:00Z``, with or without fraction/offset).

    AWS services return RFC 3339 timestamps in UTC; a value without an offset is taken as UTC.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
