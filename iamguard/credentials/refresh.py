"""Temporary credentials that refresh themselves: advisory and mandatory windows, single-flight.

Two windows before ``expiration`` (as botocore's ``RefreshableCredentials``):

* **advisory**: one caller refreshes (non-blocking try-lock) while every other caller keeps
  using the current credentials; a failed refresh is logged and the current ones kept;
* **mandatory**: callers wait for the one in-flight refresh; a failure raises
  :class:`~iamguard.errors.RefreshError`. Expired credentials are never handed out.

Window sizes scale with the session lifetime ``L`` (expiration minus fetch time)::

    advisory  = min(15 min, L / 4)
    mandatory = min(10 min, L / 8)

botocore's fixed 15/10-minute windows put a 15-minute session (the AssumeRole minimum) in the
mandatory window from the start, so every call refreshes; scaled windows give it a refresh
about 3¾ minutes before expiry and a 1¾-minute hard stop. Long sessions (1 h and more) keep
botocore's windows. The advisory start is moved earlier by a random jitter (up to
``jitter`` × advisory) so a fleet started together does not refresh in lockstep; the mandatory
boundary is never jittered.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from iamguard.credentials.provider import Credentials
from iamguard.errors import RefreshError

__all__ = [
    "AsyncRefreshableCredentials",
    "Clock",
    "RefreshWindows",
    "RefreshableCredentials",
    "scaled_windows",
]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_ADVISORY_CAP = 15 * 60.0
_MANDATORY_CAP = 10 * 60.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class RefreshWindows:
    """Seconds before expiration at which refresh becomes advisory / mandatory."""

    advisory: float
    mandatory: float

    def __post_init__(self) -> None:
        if not 0 <= self.mandatory <= self.advisory:
            raise ValueError("refresh windows need 0 <= mandatory <= advisory")


def scaled_windows(lifetime_seconds: float) -> RefreshWindows:
    """The default windows for a session lasting ``lifetime_seconds`` (formula in module doc)."""
    lifetime = max(lifetime_seconds, 0.0)
    return RefreshWindows(advisory=min(_ADVISORY_CAP, lifetime / 4), mandatory=min(_MANDATORY_CAP, lifetime / 8))


@dataclass(frozen=True, slots=True)
class _State:
    """Credentials with their two precomputed deadlines (``None`` credentials: never fetched)."""

    credentials: Credentials | None
    advisory_at: datetime | None = None
    mandatory_at: datetime | None = None

    def phase(self, now: datetime) -> str:
        if self.credentials is None or self.mandatory_at is None or self.advisory_at is None:
            return "fresh" if self.credentials is not None and self.credentials.expiration is None else "mandatory"
        if now >= self.mandatory_at:
            return "mandatory"
        return "advisory" if now >= self.advisory_at else "fresh"


class _Windowing:
    """Shared by the sync and async classes: turns fresh credentials into a :class:`_State`."""

    def __init__(self, *, clock: Clock | None, windows: RefreshWindows | None, jitter: float,
                 rng: random.Random | None) -> None:
        if not 0 <= jitter <= 1:
            raise ValueError("jitter is a fraction of the advisory window, between 0 and 1")
        self._clock: Clock = clock or _utcnow
        self._windows = windows
        self._jitter = jitter
        self._rng = rng or random.Random()

    def _state_for(self, credentials: Credentials, fetched_at: datetime) -> _State:
        if credentials.expiration is None:
            return _State(credentials)
        if credentials.expired(fetched_at):
            raise RefreshError(
                f"credentials from {credentials.source or 'the refresh function'} were already expired at "
                f"{credentials.expiration.isoformat()}; check the source and the system clock"
            )
        windows = self._windows or scaled_windows((credentials.expiration - fetched_at).total_seconds())
        jitter = self._rng.uniform(0, self._jitter * windows.advisory)
        return _State(
            credentials,
            advisory_at=credentials.expiration - timedelta(seconds=windows.advisory + jitter),
            mandatory_at=credentials.expiration - timedelta(seconds=windows.mandatory),
        )

    def _usable(self, state: _State, now: datetime, failure: BaseException | None = None) -> Credentials:
        """The current credentials if not expired; otherwise fail (never hand out expired keys)."""
        creds = state.credentials
        if creds is not None and not creds.expired(now):
            return creds
        reason = f": {failure}" if failure is not None else ""
        raise RefreshError(f"temporary credentials expired and could not be refreshed{reason}")


class RefreshableCredentials(_Windowing):
    """Thread-safe refreshing credentials; ``get()`` returns one consistent, unexpired snapshot.

    ``refresh`` fetches new credentials (typically a provider's ``load``). ``initial`` avoids a
    first fetch. Inject ``clock`` (returns an aware datetime) for tests; ``windows`` fixes the
    windows instead of scaling them.
    """

    def __init__(self, refresh: Callable[[], Credentials | None], *, initial: Credentials | None = None,
                 clock: Clock | None = None, windows: RefreshWindows | None = None, jitter: float = 0.1,
                 rng: random.Random | None = None, name: str = "") -> None:
        super().__init__(clock=clock, windows=windows, jitter=jitter, rng=rng)
        self._refresh = refresh
        self.name = name or (initial.source if initial else "")
        self._lock = threading.Lock()
        self._state = self._state_for(initial, self._clock()) if initial is not None else _State(None)

    def get(self) -> Credentials:
        """Current credentials, refreshing first if inside a refresh window."""
        state = self._state
        now = self._clock()
        phase = state.phase(now)
        if phase == "fresh":
            return state.credentials  # type: ignore[return-value]  # INVARIANT: fresh ⇒ not None
        if phase == "advisory":
            if self._lock.acquire(blocking=False):
                try:
                    self._advisory_refresh(state)
                finally:
                    self._lock.release()
            return self._usable(self._state, self._clock())
        # Mandatory: every caller queues on the lock; the first refreshes, the rest find a new
        # state on waking (double-checked) and return it, so N waiters cause one refresh call.
        with self._lock:
            if self._state is not state and self._state.phase(self._clock()) != "mandatory":
                return self._usable(self._state, self._clock())
            return self._mandatory_refresh()

    def _fetch(self) -> _State:
        fetched = self._refresh()
        if fetched is None:
            raise RefreshError(f"{self.name or 'the credential source'} returned no credentials on refresh")
        return self._state_for(fetched, self._clock())

    def _advisory_refresh(self, seen: _State) -> None:
        if self._state is not seen:
            return  # another caller refreshed between our read and the try-lock
        try:
            self._state = self._fetch()
        except Exception as exc:  # noqa: BLE001  advisory: any failure keeps what we have
            logger.warning("advisory credential refresh from %s failed, keeping current credentials: %s",
                           self.name or "source", type(exc).__name__)

    def _mandatory_refresh(self) -> Credentials:
        try:
            self._state = self._fetch()
        except RefreshError:
            raise
        except Exception as exc:
            raise RefreshError(
                f"refreshing credentials from {self.name or 'the credential source'} failed inside the "
                f"mandatory window ({type(exc).__name__}: {exc}); fix the source or its network access"
            ) from exc
        return self._usable(self._state, self._clock())


class AsyncRefreshableCredentials(_Windowing):
    """asyncio twin of :class:`RefreshableCredentials`; ``await get()``. One event loop only."""

    def __init__(self, refresh: Callable[[], Awaitable[Credentials | None]], *,
                 initial: Credentials | None = None, clock: Clock | None = None,
                 windows: RefreshWindows | None = None, jitter: float = 0.1,
                 rng: random.Random | None = None, name: str = "") -> None:
        super().__init__(clock=clock, windows=windows, jitter=jitter, rng=rng)
        self._refresh = refresh
        self.name = name or (initial.source if initial else "")
        self._lock = asyncio.Lock()
        self._state = self._state_for(initial, self._clock()) if initial is not None else _State(None)

    async def get(self) -> Credentials:
        state = self._state
        phase = state.phase(self._clock())
        if phase == "fresh":
            return state.credentials  # type: ignore[return-value]
        if phase == "advisory":
            if not self._lock.locked():
                async with self._lock:
                    await self._advisory_refresh(state)
            return self._usable(self._state, self._clock())
        async with self._lock:
            if self._state is not state and self._state.phase(self._clock()) != "mandatory":
                return self._usable(self._state, self._clock())
            return await self._mandatory_refresh()

    async def _fetch(self) -> _State:
        fetched = await self._refresh()
        if fetched is None:
            raise RefreshError(f"{self.name or 'the credential source'} returned no credentials on refresh")
        return self._state_for(fetched, self._clock())

    async def _advisory_refresh(self, seen: _State) -> None:
        if self._state is not seen:
            return
        try:
            self._state = await self._fetch()
        except Exception as exc:  # noqa: BLE001  advisory: any failure keeps what we have
            logger.warning("advisory credential refresh from %s failed, keeping current credentials: %s",
                           self.name or "source", type(exc).__name__)

    async def _mandatory_refresh(self) -> Credentials:
        try:
            self._state = await self._fetch()
        except RefreshError:
            raise
        except Exception as exc:
            raise RefreshError(
                f"refreshing credentials from {self.name or 'the credential source'} failed inside the "
                f"mandatory window ({type(exc).__name__}: {exc}); fix the source or its network access"
            ) from exc
        return self._usable(self._state, self._clock())
