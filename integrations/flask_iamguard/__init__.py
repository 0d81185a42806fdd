"""Flask integration: ``IAMGuard(app)`` or ``IAMGuard().init_app(app)``.

Follows the Flask extension pattern (https://flask.palletsprojects.com/en/stable/extensiondev/):
configuration from ``app.config``, per-app state in ``app.extensions["iamguard"]``, the request's
principal on ``flask.g.iamguard_principal`` (or :func:`current_principal`). Requests are
authenticated by the WSGI middleware (wrapping ``app.wsgi_app``), so ``@require`` works in views
as anywhere else; iamguard errors raised by views are rendered by the one error function.

Configuration keys:

==============================  =============================================================
``IAMGUARD_STORE``              store URL (``sqlite:///iam.db``) or a store object (required
                                unless a ``guard`` is passed); a URL must name an existing
                                store whose master key check passes, else ``init_app`` raises
``IAMGUARD_SERVICE``            SigV4 service the scope must name (``"s3"``), default any
``IAMGUARD_REGION``             region(s) the scope must name (default ``"us-east-1"``)
``IAMGUARD_REQUIRED``           refuse requests without credentials (default ``True``)
``IAMGUARD_ERROR_STYLE``        ``"json"`` (default) or ``"s3"``
``IAMGUARD_TRUSTED_PROXIES``    addresses/CIDRs whose X-Forwarded-For is believed
``IAMGUARD_SESSIONS``           a ``SessionTokenService`` for session keys / bearer tokens
``IAMGUARD_BEARER``             accept ``Authorization: Bearer <SessionToken>`` (default off)
``IAMGUARD_ANONYMOUS``          admit unsigned requests as the anonymous principal
``IAMGUARD_MESSAGES``           an ``AuthorizationMessageCodec`` for encoded deny messages
``IAMGUARD_AUDIT``              an audit sink
==============================  =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

try:
    from flask import Flask, Response, g, request
except ModuleNotFoundError as missing:  # the [flask] extra is not installed: say how to get it
    if missing.name != "flask":
        raise
    raise ModuleNotFoundError(
        'flask_iamguard needs Flask: pip install "iamguard[flask]"', name="flask"
    ) from None

from iamguard import Guard, IAMGuardError, IAMGuardMiddleware, Principal, RequestState, render_error, require
from iamguard.enforce import REQUEST_ID_KEY, ErrorStyle, log_error_response
from iamguard.store import open_store

__all__ = ["IAMGuard", "current_principal", "require"]


@dataclass(frozen=True, slots=True)
class _AppState:
    guard: Guard
    error_style: ErrorStyle


def current_principal() -> Principal | None:
    """The principal of the current Flask request (``None`` when unauthenticated)."""
    principal: Principal | None = g.get("iamguard_principal")
    return principal


class IAMGuard:
    """The Flask extension. ``guard`` overrides the one built from ``app.config``."""

    def __init__(self, app: Flask | None = None, guard: Guard | None = None) -> None:
        self.guard = guard
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install on ``app``: wrap ``app.wsgi_app`` in the middleware, register the error handler."""
        guard = self.guard or _guard_from_config(app.config)
        style: ErrorStyle = app.config.get("IAMGUARD_ERROR_STYLE", "json")
        app.extensions["iamguard"] = _AppState(guard, style)
        app.wsgi_app = IAMGuardMiddleware(  # type: ignore[method-assign]
            app.wsgi_app,
            guard,
            required=bool(app.config.get("IAMGUARD_REQUIRED", True)),
            error_style=style,
        )
        app.before_request(_expose_principal)
        app.register_error_handler(IAMGuardError, _render)


def _guard_from_config(config: Any) -> Guard:
    store = config.get("IAMGUARD_STORE")
    if store is None:
        raise RuntimeError("IAMGuard needs IAMGUARD_STORE in app.config (or a guard=...)")
    source = open_store(store) if isinstance(store, str) else store
    return Guard(
        source,
        sessions=config.get("IAMGUARD_SESSIONS"),
        service=config.get("IAMGUARD_SERVICE"),
        region=config.get("IAMGUARD_REGION", "us-east-1"),
        bearer=bool(config.get("IAMGUARD_BEARER", False)),
        anonymous=bool(config.get("IAMGUARD_ANONYMOUS", False)),
        trusted_proxies=tuple(config.get("IAMGUARD_TRUSTED_PROXIES", ())),
        messages=config.get("IAMGUARD_MESSAGES"),
        audit=config.get("IAMGUARD_AUDIT"),
    )


def _expose_principal() -> None:
    state = request.environ.get("iamguard")
    g.iamguard_principal = state.principal if isinstance(state, RequestState) else None


def _render(error: IAMGuardError) -> Response:
    from flask import current_app

    app_state: _AppState = current_app.extensions["iamguard"]
    state = request.environ.get("iamguard")
    authenticated = state.authenticated if isinstance(state, RequestState) else None
    request_id = authenticated.request_id if authenticated is not None else ""
    request_id = request_id or str(request.environ.get(REQUEST_ID_KEY, ""))
    status, headers, body = render_error(error, style=app_state.error_style, request_id=request_id)
    log_error_response(error, request_id, status)
    return Response(body, status=status, headers=headers)
