"""The console as one WSGI app: sign-in at the account's login URL and the IAM dashboard.

Part of ``console/``, on top of the IAM operations layer: every page that reads or changes IAM
runs an operation of :class:`~iamguard.iam.service.IamService` as the signed-in principal, so
it is authorized by that principal's own policies (a refusal shows the denial's explanation).

Mount it anywhere (``SCRIPT_NAME`` is honoured): the login URL is ``<mount>/signin/<alias>``,
or ``<mount>/signin/<account id>`` while the account has no alias, as AWS builds
``https://<alias>.signin.aws.amazon.com/console``.
https://docs.aws.amazon.com/IAM/latest/UserGuide/console_account-alias.html
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2

from iamguard.console import _account, _groups_roles, _pages, _policies, _signin
from iamguard.console._http import Request, Response
from iamguard.console._login import account_label, login_path
from iamguard.console._session import SESSION_COOKIE, ConsoleSession, ConsoleSessions
from iamguard.console._throttle import Throttle
from iamguard.errors import BodyTooLargeError, IAMGuardError, StoreError
from iamguard.iam._caller import Caller
from iamguard.iam.service import IamService

if TYPE_CHECKING:
    from iamguard.authn.session_token import SessionTokenService
    from iamguard.iam._operation import Result
    from iamguard.store.service import IdentityService

__all__ = ["ConsoleApp", "login_label"]

_log = logging.getLogger("iamguard.console")

Handler = Callable[["Page"], Response]
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def login_label(store: IdentityService) -> str:
    """The login URL's account part: the alias, or the account id when there is none."""
    return account_label(store.account())


@dataclass(slots=True)
class Page:
    """One request being answered: the request, the session (``None`` before sign-in), the
    path's captured names, and helpers to call IAM and render templates."""

    app: ConsoleApp
    request: Request
    session: ConsoleSession | None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def caller(self) -> Caller:
        """The signed-in principal as an IAM caller (signed-in routes only)."""
        assert self.session is not None  # INVARIANT: only signed-in routes call IAM
        return Caller(self.session.authenticated)

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> Result:
        """IAM ``action`` as the signed-in principal (raises the operation's errors)."""
        return self.app.iam.call(action, params or {}, caller=self.caller)

    def url(self, path: str) -> str:
        """``path`` inside the console as an absolute path on this server (mount included)."""
        return self.request.url(path)

    @property
    def session_cookie_path(self) -> str:
        """Where the browser sends the session cookie: the console's mount, or the host app's
        ``cookie_path`` when its own guarded routes accept the session too."""
        return self.app.cookie_path or self.url("/")

    def render(self, template: str, *, status: int = 200, **values: Any) -> Response:
        """``template`` rendered with the page, the CSRF token, the principal and ``values``."""
        context = {
            "page": self,
            "url": self.url,
            "csrf": self.session.csrf_token
            if self.session
            else self.request.cookies.get("iamguard_csrf", ""),
            "principal": self.session.principal if self.session else None,
            "label": login_label(self.app.store),
            **values,
        }
        body = self.app.templates.get_template(template).render(context)
        return Response(body.encode("utf-8"), status)

    def log_refusal(self, status: int, code: str) -> None:
        """One log line per refused request (4xx): who asked for what and AWS's error code, so
        an operator sees denials and probing; never a form field (passwords, tokens)."""
        who = self.session.claims.arn if self.session is not None else "anonymous"
        request = self.request
        _log.info(
            "console request refused: %s %s -> %d %s (%s from %s)",
            request.method,
            request.path,
            status,
            code,
            who,
            request.remote_addr,
        )

    def refused(self, error: IAMGuardError) -> Response:
        """The error page: AWS's code and message (a denial's explanation included)."""
        status = error.http_status if 400 <= error.http_status < 500 else 500
        if status >= 500:  # the operator must act (a store down, no master key): say why in the log
            _log.error("console request failed: %s: %s", error.code, error)
        else:
            self.log_refusal(status, error.code)
        message = str(error) if status < 500 else "The request failed. Try again later."
        return self.render("error.html", status=status, code=error.code, message=message)


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    signed_in: bool


def _routes() -> list[_Route]:
    table: list[tuple[str, str, Handler, bool]] = [
        *_signin.ROUTES,
        *_pages.ROUTES,
        *_policies.ROUTES,
        *_account.ROUTES,
        *_groups_roles.ROUTES,
    ]
    return [_Route(m, re.compile(p + r"\Z"), h, s) for m, p, h, s in table]


class ConsoleApp:
    """The console over one identity store (one account); a WSGI application.

    ``tokens`` issues the console sessions (share it with STS and the guards that should accept
    them). The root user signs in with the password kept in the store
    (:meth:`~iamguard.store.service.IdentityService.set_root_password`, ``iamguard root
    set-password``), locked out by the store's counters like IAM users; ``root_password_hash``
    (an argon2id hash from :func:`~iamguard.store.passwords.hash_password`) overrides it for
    this app. ``cookie_path`` widens the session cookie beyond the console's mount (``"/"``) so
    a host app's routes, guarded with
    :class:`~iamguard.console.authenticator.ConsoleSessionAuthenticator`, receive it.
    Whether every IAM user without an MFA device must enrol one at sign-in, before the session
    starts (AWS's "enforce MFA" practice), is the account setting
    (:meth:`~iamguard.store.service.IdentityService.set_console_mfa_required`, the account
    settings page); ``require_mfa`` ``True`` or ``False`` overrides it for this app.
    ``pending_key`` replaces the store's master key for the half-done sign-in cookie.

    Without ``pending_key`` the store must have a master key (``IAMGUARD_MASTER_KEY``,
    ``IAMGUARD_MASTER_KEY_FILE`` or ``IAMGUARD_DEV_MASTER_KEY=1``, or the store's ``secret_box``):
    otherwise, or when the key configured is unusable, construction raises
    :class:`~iamguard.errors.StoreError` saying what to set, rather than each sign-in that needs
    an MFA code or a new password failing later.
    """

    def __init__(
        self,
        store: IdentityService,
        tokens: SessionTokenService,
        *,
        iam: IamService | None = None,
        root_password_hash: str | None = None,
        idle_timeout: int = 1800,
        session_duration: int = 12 * 3600,
        pending_key: bytes | None = None,
        cookie_path: str | None = None,
        require_mfa: bool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if pending_key is None:
            _require_master_key(store)
        self.store = store
        self.cookie_path = cookie_path
        self.require_mfa = require_mfa
        self.iam = iam or IamService(store)
        self.root_password_hash = root_password_hash
        self.sessions = ConsoleSessions(
            tokens,
            store,
            idle_timeout=idle_timeout,
            session_duration=session_duration,
            pending_key=pending_key,
            clock=clock,
        )
        self.clock = clock
        #: wrong MFA codes per user (a correct password clears the store's own counter) and
        #: wrong root passwords (the root user has no login profile), shared through the store
        self.mfa_throttle = Throttle(store, "console-mfa-failure", clock=clock)
        self.root_throttle = Throttle(store, "console-root-failure", clock=clock)
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("iamguard.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self._routes = _routes()

    def mfa_required(self) -> bool:
        """Whether IAM users must sign in with MFA: the ``require_mfa`` override, else the
        account setting in the store (read on each sign-in, so every worker follows a change)."""
        if self.require_mfa is not None:
            return self.require_mfa
        return self.store.console_mfa_required()

    def root_sign_in_enabled(self) -> bool:
        """Whether the root user can sign in here (a password in the store, or the override)."""
        return self.root_password_hash is not None or self.store.has_root_password()

    def login_path(self) -> str:
        """The sign-in page's path inside the console."""
        return login_path(self.store.account())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ)
        except BodyTooLargeError:
            return Response(b"Request body too large", 413, "text/plain; charset=utf-8")(start_response)
        return self.respond(request)(start_response)

    def respond(self, request: Request) -> Response:
        """The response to ``request``: a static file, a page, a redirect or an error page."""
        if request.path.startswith("/static/"):
            return _static(request.path[len("/static/") :])
        session = self.sessions.open(request.cookies.get(SESSION_COOKIE))
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                continue
            page = Page(self, request, session, match.groupdict())
            if route.signed_in and session is None:
                return Response.redirect(request.url(self.login_path()))
            return self._run(route, page)
        page = Page(self, request, session)
        return page.render("error.html", status=404, code="NotFound", message="There is no such page.")

    def _run(self, route: _Route, page: Page) -> Response:
        if page.request.method == "POST" and not _signin.csrf_ok(page):
            page.log_refusal(403, "InvalidCsrfToken")
            return page.render(
                "error.html",
                status=403,
                code="InvalidCsrfToken",
                message="The form expired or was not sent by this console. Reload the page and try again.",
            )
        try:
            response = route.handler(page)
        except IAMGuardError as error:
            response = page.refused(error)
        except Exception:  # no traceback reaches a browser; the log has it
            _log.exception("console request failed")
            response = page.render(
                "error.html", status=500, code="ServiceFailure", message="The request failed."
            )
        if page.session is not None and route.signed_in and not _signs_out(response):
            cookie = self.sessions.touch(page.session)
            response.set_cookie(
                SESSION_COOKIE, cookie, path=page.session_cookie_path, secure=page.request.secure
            )
        return response


def _require_master_key(store: IdentityService) -> None:
    """Fail now, naming what to set, unless ``store`` can seal a half-done sign-in (a misconfiguration
    is refused at start, not found by the first user who must change a password or give an MFA code)."""
    try:
        store.secret_box  # noqa: B018 - built from the environment here, raising what is missing
    except StoreError as exc:
        raise StoreError(
            "the console cannot start: it seals a half-done sign-in (an MFA code or a new password "
            f"still due) with the store's master key, and there is none it can use: {exc}; or pass "
            "ConsoleApp(pending_key=...), an HMAC key every process serving the console shares"
        ) from None


def _signs_out(response: Response) -> bool:
    return any(
        name == "Set-Cookie" and value.startswith(f"{SESSION_COOKIE}=;") for name, value in response.headers
    )


def _static(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or suffix not in _STATIC_TYPES:
        return Response(b"not found", 404, "text/plain; charset=utf-8")
    resource = resources.files("iamguard.console").joinpath("static").joinpath(name)
    if not resource.is_file():
        return Response(b"not found", 404, "text/plain; charset=utf-8")
    response = Response(resource.read_bytes(), 200, _STATIC_TYPES[suffix])
    return response
