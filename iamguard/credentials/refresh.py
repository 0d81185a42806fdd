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

Both deadlines are stored as POSIX seconds, computed once per refresh, and compared against a
float clock (``time.time`` unless one is injected), so a cached ``get()`` is one clock read and
one float comparison, with no datetime built or compared per call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from iamguard.credentials.provider import Credentials
from iamguard.errors import InvalidParameterError, RefreshError

__all__ = [
    "AsyncRefreshableCredentials",
    "Clock",
    "EpochClock",
    "RefreshWindows",
    "RefreshableCredentials",
    "epoch_clock",
    "scaled_windows",
]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""A clock returning an aware UTC datetime (what the rest of ``iamguard.credentials`` injects)."""

EpochClock = Callable[[], float]
"""A clock returning POSIX seconds (``time.time``): what the refresh fast path compares against."""

_ADVISORY_CAP = 15 * 60.0
_MANDATORY_CAP = 10 * 60.0
_FRESH, _ADVISORY, _MANDATORY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class RefreshWindows:
    """Seconds before expiration at which refresh becomes advisory / mandatory."""

    advisory: float
    mandatory: float

    def __post_init__(self) -> None:
        if not 0 <= self.mandatory <= self.advisory:
            raise InvalidParameterError("refresh windows need 0 <= mandatory <= advisory")


def scaled_windows(lifetime_seconds: float) -> RefreshWindows:
    """The default windows for a session lasting ``lifetime_seconds`` (formula in module doc)."""
    lifetime = max(lifetime_seconds, 0.0)
    return RefreshWindows(
        advisory=min(_ADVISORY_CAP, lifetime / 4), mandatory=min(_MANDATORY_CAP, lifetime / 8)
    )


def epoch_clock(clock: Clock | EpochClock | None) -> EpochClock:
    """The float clock behind ``clock``, chosen once here so ``get()`` never tests types.

    ``None`` is ``time.time``. A clock returning POSIX seconds is used as is; one returning an
    aware datetime (the injected clocks of tests and of :class:`CredentialChain`) is wrapped
    in ``.timestamp()``. The clock is read once to tell which; a naive datetime is refused
    here because ``.timestamp()`` would silently read it as local time.
    """
    if clock is None:
        return time.time
    sample = clock()
    if isinstance(sample, datetime):
        if sample.tzinfo is None:
            raise InvalidParameterError("a datetime clock must return timezone-aware (UTC) datetimes")
        datetime_clock: Clock = clock  # type: ignore[assignment]  # INVARIANT: returned a datetime
        return lambda: datetime_clock().timestamp()
    if isinstance(sample, (int, float)) and not isinstance(sample, bool):
        return clock  # type: ignore[return-value]  # INVARIANT: returned POSIX seconds
    raise TypeError(f"clock must return an aware datetime or POSIX seconds, not {type(sample).__name__}")


@dataclass(frozen=True, slots=True)
class _State:
    """Credentials with their deadlines as POSIX seconds, computed once per refresh.

    Never-fetched state (``credentials`` None) has every deadline at -inf, so the first
    ``get()`` is mandatory; credentials without an expiration have every deadline at +inf,
    so they are always fresh. The fast path is then one float comparison:
    ``now < advisory_at`` ⇒ fresh ⇒ not expired (advisory_at ≤ mandatory_at ≤ expires_at).
    """

    credentials: Credentials | None
    advisory_at: float = -math.inf
    mandatory_at: float = -math.inf
    expires_at: float = -math.inf

    def phase(self, now: float) -> int:
        if not now < self.mandatory_at:  # also catches a NaN clock: fail towards refreshing
            return _MANDATORY
        return _FRESH if now < self.advisory_at else _ADVISORY


_NEVER_FETCHED = _State(None)


class _Windowing:
    """Shared by the sync and async classes: turns fresh credentials into a :class:`_State`."""

    def __init__(
        self,
        *,
        clock: Clock | EpochClock | None,
        windows: RefreshWindows | None,
        jitter: float,
        rng: random.Random | None,
    ) -> None:
        if not 0 <= jitter <= 1:
            raise InvalidParameterError("jitter is a fraction of the advisory window, between 0 and 1")
        self._now: EpochClock = epoch_clock(clock)
        self._windows = windows
        self._jitter = jitter
        self._rng = rng or random.Random()

    def _state_for(self, credentials: Credentials, fetched_at: float) -> _State:
        if credentials.expiration is None:
            return _State(credentials, math.inf, math.inf, math.inf)
        expires_at = credentials.expiration.timestamp()
        if not fetched_at < expires_at:
            raise RefreshError(
                f"credentials from {credentials.source or 'the refresh function'} were already expired at "
                f"{credentials.expiration.isoformat()}; check the source and the system clock"
            )
        windows = self._windows or scaled_windows(expires_at - fetched_at)
        jitter = self._rng.uniform(0, self._jitter * windows.advisory)
        return _State(
            credentials,
            advisory_at=expires_at - (windows.advisory + jitter),
            mandatory_at=expires_at - windows.mandatory,
            expires_at=expires_at,
        )

    def _initial_state(self, initial: Credentials | None) -> _State:
        return self._state_for(initial, self._now()) if initial is not None else _NEVER_FETCHED

    @staticmethod
    def _usable(state: _State, now: float, failure: BaseException | None = None) -> Credentials:
        """The current credentials if not expired; otherwise fail (never hand out expired keys)."""
        creds = state.credentials
        if creds is not None and now < state.expires_at:
            return creds
        reason = f": {failure}" if failure is not None else ""
        raise RefreshError(f"temporary credentials expired and could not be refreshed{reason}")


class RefreshableCredentials(_Windowing):
    """Thread-safe refreshing credentials; ``get()`` returns one consistent, unexpired snapshot.

    ``refresh`` fetches new credentials (typically a provider's ``load``). ``initial`` avoids a
    first fetch. Inject ``clock`` for tests: it returns an aware datetime or POSIX seconds
    (see :func:`epoch_clock`); the default is ``time.time``. ``windows`` fixes the windows
    instead of scaling them.

    A cached ``get()`` costs one clock read and one float comparison (deadlines are computed
    once per refresh); ``benchmarks/credentials_hot_path.py`` measures it.
    """

    def __init__(
        self,
        refresh: Callable[[], Credentials | None],
        *,
        initial: Credentials | None = None,
        clock: Clock | EpochClock | None = None,
        windows: RefreshWindows | None = None,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        name: str = "",
    ) -> None:
        super().__init__(clock=clock, windows=windows, jitter=jitter, rng=rng)
        self._refresh = refresh
        self.name = name or (initial.source if initial else "")
        self._lock = threading.Lock()
        self._state = self._initial_state(initial)

    def get(self) -> Credentials:
        """Current credentials, refreshing first if inside a refresh window."""
        state = self._state
        if self._now() < state.advisory_at:
            return state.credentials  # type: ignore[return-value]  # INVARIANT: finite deadline ⇒ not None
        return self._get_in_window(state)

    def _get_in_window(self, state: _State) -> Credentials:
        if state.phase(self._now()) != _MANDATORY:
            # Advisory: one caller refreshes (try-lock); the others keep the current credentials.
            if self._lock.acquire(blocking=False):
                try:
                    self._advisory_refresh(state)
                finally:
                    self._lock.release()
            return self._usable(self._state, self._now())
        # Mandatory: every caller queues on the lock; the first refreshes, the rest find a new
        # state on waking (double-checked) and return it, so N waiters cause one refresh call.
        with self._lock:
            current = self._state
            if current is not state and current.phase(self._now()) != _MANDATORY:
                return self._usable(current, self._now())
            return self._mandatory_refresh()

    def _fetch(self) -> _State:
        fetched = self._refresh()
        if fetched is None:
            raise RefreshError(f"{self.name or 'the credential source'} returned no credentials on refresh")
        return self._state_for(fetched, self._now())

    def _advisory_refresh(self, seen: _State) -> None:
        if self._state is not seen:
            return  # another caller refreshed between our read and the try-lock
        try:
            self._state = self._fetch()
        except Exception as exc:
            logger.warning(
                "advisory credential refresh from %s failed, keeping current credentials: %s",
                self.name or "source",
                type(exc).__name__,
            )

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
        return self._usable(self._state, self._now())


class AsyncRefreshableCredentials(_Windowing):
    """asyncio twin of :class:`RefreshableCredentials`; ``await get()``. One event loop only."""

    def __init__(
        self,
        refresh: Callable[[], Awaitable[Credentials | None]],
        *,
        initial: Credentials | None = None,
        clock: Clock | EpochClock | None = None,
        windows: RefreshWindows | None = None,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        name: str = "",
    ) -> None:
        super().__init__(clock=clock, windows=windows, jitter=jitter, rng=rng)
        self._refresh = refresh
        self.name = name or (initial.source if initial else "")
        self._lock = asyncio.Lock()
        self._state = self._initial_state(initial)

    async def get(self) -> Credentials:
        """Current credentials, refreshing first if inside a refresh window (single-flight)."""
        state = self._state
        if self._now() < state.advisory_at:
            return state.credentials  # type: ignore[return-value]  # INVARIANT: finite deadline ⇒ not None
        if state.phase(self._now()) != _MANDATORY:
            if not self._lock.locked():
                async with self._lock:
                    await self._advisory_refresh(state)
            return self._usable(self._state, self._now())
        async with self._lock:
            current = self._state
            if current is not state and current.phase(self._now()) != _MANDATORY:
                return self._usable(current, self._now())
            return await self._mandatory_refresh()

    async def _fetch(self) -> _State:
        fetched = await self._refresh()
        if fetched is None:
            raise RefreshError(f"{self.name or 'the credential source'} returned no credentials on refresh")
        return self._state_for(fetched, self._now())

    async def _advisory_refresh(self, seen: _State) -> None:
        if self._state is not seen:
            return
        try:
            self._state = await self._fetch()
        except Exception as exc:
            logger.warning(
                "advisory credential refresh from %s failed, keeping current credentials: %s",
                self.name or "source",
                type(exc).__name__,
            )

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
        return self._usable(self._state, self._now())
