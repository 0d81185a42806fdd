"""Console sessions: a session credential from iamguard's token service, carried in a cookie.

Part of ``console/``. Signing in issues temporary credentials with
:class:`~iamguard.authn.session_token.SessionTokenService` (the same principal model as API
callers: ``aws:PrincipalType`` User or Account, ``aws:TokenIssueTime``, and after an MFA step
``aws:MultiFactorAuthPresent`` true with ``aws:MultiFactorAuthAge`` counted from that step, as AWS
sets them for console sign-in with MFA:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent).

The cookie is ``<session token>~<last activity>~<mac>``: the token proves the session; the MAC
over the last-activity time is keyed with the session's own secret access key, which only a
holder of the keyring can derive, so any process sharing the keyring checks the idle timeout
without shared state. The absolute timeout is the token's own expiry. Sign-out records the
token's ``jti`` in the store's one-time-use table until the token would have expired, which
every process sharing the store reads (:meth:`ConsoleSessions.open`).

The CSRF token of a session is another MAC under the same secret: a page's forms carry it, a
POST without it is refused. Before sign-in there is no session, so the sign-in forms use a
random cookie repeated in the form (double submit), bound to the ``SameSite=Lax`` cookie.

A half-done sign-in (password checked, MFA code or new password still due) is a cookie sealed
with the store's own :class:`~iamguard.store.secrets.SecretBox` (the deployment's master key,
AES-GCM, its own context): every worker opening the same store with the same master key opens
it, with no key of the console's own to distribute, and a master-key rotation is followed as
the box follows it (the retiring key still opens). ``pending_key`` overrides this with an HMAC
key the caller shares between processes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iamguard.authn.authenticators import Authenticated
from iamguard.errors import AuthenticationError, IAMGuardError
from iamguard.principal import PrincipalType

if TYPE_CHECKING:
    from iamguard.authn.session_token import SessionClaims, SessionTokenService
    from iamguard.principal import Principal
    from iamguard.store.service import IdentityService

__all__ = ["SESSION_COOKIE", "SIGNED_OUT", "ConsoleSession", "ConsoleSessions", "PendingSignIn"]

SESSION_COOKIE = "iamguard_console"
PENDING_COOKIE = "iamguard_signin"
PRE_CSRF_COOKIE = "iamguard_csrf"
#: The one-time-use namespace holding signed-out sessions' ``jti``.
SIGNED_OUT = "console-signout"
_SEP = "~"
#: The sealing context of half-done sign-ins: a sealed value made for anything else never opens as one.
_PENDING_CONTEXT = "iamguard-console-pending-signin/v1"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A verified console session: its claims, its secret-derived CSRF token and last activity."""

    claims: SessionClaims
    secret: str = field(repr=False)
    token: str = field(repr=False)
    last_activity: int = 0
    principal: Principal | None = None

    @property
    def authenticated(self) -> Authenticated:
        """The session as an authenticated caller (method ``console``, its session key id)."""
        assert self.principal is not None  # INVARIANT: set by ConsoleSessions.open
        return Authenticated(self.principal, "console", self.claims.access_key_id, claims=self.claims)

    @property
    def csrf_token(self) -> str:
        """The value every form of this session carries (a MAC under the session's secret)."""
        return _mac(self.secret, f"csrf {self.claims.jti}")


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A sign-in half done: the password checked, an MFA code or a new password still due.

    ``user_name`` is ``None`` for the root user. ``step`` is ``"mfa"`` or ``"change"``.
    """

    user_name: str | None
    step: str
    expires_at: int
    mfa: bool = False
    mfa_time: int | None = None


class ConsoleSessions:
    """Issues, reads and ends console sessions (see the module doc).

    ``idle_timeout`` and ``session_duration`` are seconds. The half-done sign-in cookie is
    sealed with the store's master key (see the module doc), so every process over the store
    accepts it; ``pending_key``, when given, signs it with that HMAC key instead.
    """

    def __init__(
        self,
        tokens: SessionTokenService,
        store: IdentityService,
        *,
        idle_timeout: int = 1800,
        session_duration: int = 12 * 3600,
        root_session_duration: int = 3600,
        pending_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.idle_timeout = idle_timeout
        self.session_duration = session_duration
        self.root_session_duration = root_session_duration
        self._pending_key = pending_key
        self._clock = clock

    # ------------------------------------------------------------------ sessions

    def issue(self, principal: Principal, *, mfa_time: int | None) -> str:
        """A new session for ``principal``; the cookie value to set."""
        root = principal.type is PrincipalType.ACCOUNT
        credentials, _claims = self.tokens.issue(
            arn=principal.arn,
            account=principal.account,
            principal_type=principal.type,
            user_id=principal.user_id,
            duration_seconds=self.root_session_duration if root else self.session_duration,
            tags=dict(principal.tags),
            mfa_authenticated=mfa_time is not None,
            auth_time=mfa_time,
        )
        return self._cookie(credentials.session_token, credentials.secret_access_key, int(self._clock()))

    def open(self, cookie: str | None) -> ConsoleSession | None:
        """The session ``cookie`` carries, or ``None`` when it is absent, forged, expired, idle
        past the timeout or signed out."""
        if not cookie or cookie.count(_SEP) != 2:
            return None
        token, stamp, mac = cookie.split(_SEP)
        try:
            claims, secret = self.tokens.verify_with_secret(token)
            last = int(stamp)
        except (AuthenticationError, IAMGuardError, ValueError):
            return None
        now = self._clock()
        if not hmac.compare_digest(mac, _mac(secret, f"active {stamp}")):
            return None
        if now - last > self.idle_timeout or last > now + 60:
            return None
        if self.store.was_consumed(SIGNED_OUT, claims.jti, now=now):
            return None
        return ConsoleSession(claims, secret, token, last, claims.to_principal(now=now))

    def touch(self, session: ConsoleSession) -> str:
        """The cookie value with the last activity moved to now (the idle timer restarts)."""
        return self._cookie(session.token, session.secret, int(self._clock()))

    def sign_out(self, session: ConsoleSession) -> None:
        """Revoke the session everywhere until it would have expired anyway."""
        self.store.consume_once(SIGNED_OUT, session.claims.jti, session.claims.expires_at + 1)

    def _cookie(self, token: str, secret: str, at: int) -> str:
        return _SEP.join((token, str(at), _mac(secret, f"active {at}")))

    # ------------------------------------------------------------------ half-done sign-in

    def pending_cookie(self, pending: PendingSignIn) -> str:
        """The cookie value carrying ``pending`` (sealed, or MAC'd under ``pending_key``)."""
        body = {"u": pending.user_name, "s": pending.step, "e": pending.expires_at, "m": pending.mfa}
        if pending.mfa_time is not None:
            body["t"] = pending.mfa_time
        text = json.dumps(body, separators=(",", ":"))
        if self._pending_key is None:
            return self.store.secret_box.seal(text, context=_PENDING_CONTEXT)
        data = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        return data + "." + _mac_bytes(self._pending_key, data)

    def open_pending(self, cookie: str | None) -> PendingSignIn | None:
        """The half-done sign-in ``cookie`` carries, or ``None`` when it is absent, forged,
        sealed under a key this deployment does not hold, or past its five minutes."""
        text = self._unseal_pending(cookie) if cookie else None
        if text is None:
            return None
        try:
            body: Mapping[str, Any] = json.loads(text)
            pending = PendingSignIn(
                body["u"], str(body["s"]), int(body["e"]), bool(body.get("m")), body.get("t")
            )
        except (ValueError, KeyError, TypeError):
            return None
        return pending if pending.expires_at > self._clock() else None

    def _unseal_pending(self, cookie: str) -> str | None:
        if self._pending_key is None:
            try:
                return self.store.secret_box.open(cookie, context=_PENDING_CONTEXT)
            except IAMGuardError:  # forged, truncated or sealed under a key not configured here
                return None
        if "." not in cookie:
            return None
        data, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, _mac_bytes(self._pending_key, data)):
            return None
        try:
            return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        except ValueError:
            return None

    def new_pending(self, user_name: str | None, step: str, *, mfa_time: int | None = None) -> str:
        """A half-done sign-in valid for five minutes."""
        expires = int(self._clock()) + 300
        return self.pending_cookie(PendingSignIn(user_name, step, expires, mfa_time is not None, mfa_time))


def _mac(secret: str, message: str) -> str:
    return _mac_bytes(secret.encode(), message)


def _mac_bytes(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_csrf_value() -> str:
    """A random value for the sign-in forms' double-submit cookie."""
    return secrets.token_urlsafe(24)
