"""Failure counting for the sign-in steps the store's password lockout does not cover.

Part of ``console/``. The store locks an IAM user after repeated wrong passwords, but a correct
password clears that counter, so the MFA step needs its own limit (else whoever knows the
password could try codes without end), and the root user has no login profile at all.
:class:`Throttle` counts failures per subject (``user:alice``, ``root``) in fixed windows, in
the store's one-time-use table: failure ``k`` of a window is the record ``<subject>:<window>:<k>``,
so every process sharing the store sees the same count and two racing failures never share a
number (:meth:`~iamguard.store.service.IdentityService.consume_once` decides).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iamguard.store.service import IdentityService

__all__ = ["Throttle"]


class Throttle:
    """At most ``max_failures`` failures per subject per ``window`` seconds."""

    def __init__(
        self,
        store: IdentityService,
        namespace: str,
        *,
        clock: Callable[[], float],
        max_failures: int = 5,
        window: int = 900,
    ) -> None:
        self._store = store
        self._namespace = namespace
        self._clock = clock
        self.max_failures = max_failures
        self.window = window

    def _window(self) -> tuple[int, float]:
        now = self._clock()
        start = int(now // self.window) * self.window
        return start, now

    def blocked(self, subject: str) -> bool:
        """Whether ``subject`` used up its failures in the current window."""
        start, now = self._window()
        key = f"{subject}:{start}:{self.max_failures}"
        return self._store.was_consumed(self._namespace, key, now=now)

    def failed(self, subject: str) -> None:
        """Count one failure of ``subject``."""
        start, now = self._window()
        expires = start + self.window + 1
        for k in range(1, self.max_failures + 1):
            if self._store.consume_once(self._namespace, f"{subject}:{start}:{k}", expires, now=now):
                return
