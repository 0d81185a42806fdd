"""An authenticator for a host app's own routes: the console's session cookie as the caller.

Part of ``console/``. Put :class:`ConsoleSessionAuthenticator` in a
:class:`~iamguard.enforce.guard.Guard`'s ``authenticators`` (before or after the SigV4 one) and a
browser signed in to the console is governed by the same policies as an API caller: its
principal is the console session's (the IAM user or root, with ``aws:MultiFactorAuthPresent``,
``aws:MultiFactorAuthAge`` and ``aws:TokenIssueTime`` as the session carries them).

A request without the console's cookie is "not mine" (``None``); a cookie that is forged,
expired, idle past the timeout or signed out raises
:class:`~iamguard.errors.ExpiredCredentialsError`, so a stale browser session is refused rather
than treated as anonymous. Checking sign-out reads the store (one indexed row), so use it with a
guard over a synchronous store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING

from iamguard.authn.authenticators import AuthFlow
from iamguard.console._session import SESSION_COOKIE, ConsoleSessions
from iamguard.errors import ExpiredCredentialsError
from iamguard.lookups import GetGeneration

if TYPE_CHECKING:
    from iamguard.authn.context import RequestMeta
    from iamguard.authn.request_view import RequestView
    from iamguard.authn.session_token import SessionTokenService
    from iamguard.console.app import ConsoleApp
    from iamguard.store.service import IdentityService

__all__ = ["ConsoleSessionAuthenticator"]


class ConsoleSessionAuthenticator:
    """Accepts the console's session cookie (see the module doc).

    Build it from the console (``ConsoleSessionAuthenticator.for_console(app)``) or from the
    same token service and store the console uses, with the same ``idle_timeout``.
    """

    def __init__(
        self,
        tokens: SessionTokenService,
        store: IdentityService,
        *,
        idle_timeout: int = 1800,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = ConsoleSessions(tokens, store, idle_timeout=idle_timeout, clock=clock)

    @classmethod
    def for_console(cls, app: ConsoleApp) -> ConsoleSessionAuthenticator:
        """The authenticator of ``app``'s sessions (its token service, store, idle timeout, clock)."""
        sessions = app.sessions
        return cls(sessions.tokens, sessions.store, idle_timeout=sessions.idle_timeout, clock=app.clock)

    def authenticate(self, view: RequestView, meta: RequestMeta) -> AuthFlow:
        """The session's principal; ``None`` without the cookie; ``ExpiredToken`` for a cookie
        that does not open (forged, expired, idle or signed out)."""
        if False:  # pragma: no cover - makes this a generator like every authenticator
            yield GetGeneration()
        cookie = _session_cookie(view.header("cookie"))
        if cookie is None:
            return None
        session = self._sessions.open(cookie)
        if session is None:
            raise ExpiredCredentialsError(
                "The console session has expired or was signed out", code="ExpiredToken"
            )
        return session.authenticated


def _session_cookie(header: str | None) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return None if morsel is None or not morsel.value else morsel.value
