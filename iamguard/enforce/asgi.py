"""Stage 6 for ASGI apps: authenticate every HTTP request before the app sees it.

authenticate → principal → resolve policies → evaluate → decide → **enforce**/audit

A pure ASGI middleware (not starlette's ``BaseHTTPMiddleware``, which re-wraps bodies and breaks
context variables): non-HTTP scopes (``lifespan``, ``websocket``) pass straight through; for
HTTP the body is buffered (SigV4 may hash it), the request authenticated through the
:class:`~iamguard.enforce.guard.AsyncGuard` from ``scope["raw_path"]`` (the wire path SigV4
signs), and the app called with:

* a ``receive`` that replays the buffered body (de-chunked for aws-chunked uploads) and then
  defers to the server's ``receive`` (so disconnects still arrive);
* ``scope["iamguard"]``: the :class:`~iamguard.enforce.guard.RequestState`;
* the request state current for ``@require`` / FastAPI dependencies while the app runs.

Errors (authentication, or an :class:`~iamguard.errors.IAMGuardError` the app raises before
starting its response) are rendered by one injectable function.
"""

from __future__ import annotations

from dataclasses import replace as _replace
from urllib.parse import quote

from iamguard._wire import AsgiApp, Message, Receive, Scope, Send, parse_content_length, receive_body
from iamguard.authn.authenticators import Authenticated, PayloadRequiredError
from iamguard.authn.context import RequestMeta, new_request_meta
from iamguard.authn.request_view import RequestView, wire_view
from iamguard.authn.sigv4 import payload_is_signed
from iamguard.enforce.errors import ErrorStyle, RenderError, log_error_response, render_error
from iamguard.enforce.guard import AsyncGuard, RequestState
from iamguard.enforce.request_id import REQUEST_ID_KEY, new_request_id
from iamguard.enforce.require import enter_request, leave_request
from iamguard.errors import IAMGuardError

__all__ = ["IAMGuardASGIMiddleware", "view_from_scope"]

ASGIApp = AsgiApp  # the name this module's signatures have always used


def view_from_scope(
    scope: Scope, body: bytes | None, request_id: str | None = None
) -> tuple[RequestView, RequestMeta]:
    """The request view and connection meta of an ASGI HTTP scope."""
    raw_path = scope.get("raw_path")
    if raw_path:
        path = raw_path.decode("latin-1").partition("?")[0]
    else:
        path = quote(scope.get("root_path", "") + scope.get("path", "/"), safe="/-_.~!$&'()*+,;=:@%")
    pairs = []
    index: dict[str, tuple[str, ...]] = {}  # built in the same pass: what the view would build
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()  # ASGI says lower-case already; be sure
        value = raw_value.decode("latin-1")
        pairs.append((name, value))
        index[name] = (*index[name], value) if name in index else (value,)
    query = scope.get("query_string", b"").decode("latin-1")
    view = wire_view(scope.get("method", "GET"), path or "/", query, tuple(pairs), body, index)
    client = scope.get("client")
    request_id = new_request_id() if request_id is None else request_id
    meta = new_request_meta(client[0] if client else None, scope.get("scheme", "http"), request_id)
    return view, meta


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then defers to the server's ``receive``."""
    sent = False

    async def replaying() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


class IAMGuardASGIMiddleware:
    """Pure ASGI middleware putting every HTTP request through ``guard`` (an :class:`AsyncGuard`).

    Options as :class:`~iamguard.enforce.wsgi.IAMGuardMiddleware`: ``required``,
    ``error_style``, ``render_error``, ``max_body_size``.
    """

    def __init__(
        self,
        app: ASGIApp,
        guard: AsyncGuard,
        *,
        render_error: RenderError = render_error,
        required: bool = True,
        error_style: ErrorStyle = "json",
        max_body_size: int = 64 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.guard = guard
        self.render_error = render_error
        self.required = required
        self.error_style: ErrorStyle = error_style
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope[REQUEST_ID_KEY] = request_id
        try:
            body, authenticated = await self._authenticate(scope, receive, request_id)
        except Exception as error:
            await self._error(error, request_id, send)
            return
        if authenticated is not None and authenticated.body is not None:
            body = authenticated.body
        state = RequestState(self.guard, authenticated)
        scope["iamguard"] = state
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        token = enter_request(state)
        try:
            await self.app(scope, replay(body, receive), tracking_send)
        except IAMGuardError as error:
            if started:
                raise
            await self._error(error, request_id, send)
        finally:
            leave_request(token)

    async def _authenticate(
        self, scope: Scope, receive: Receive, request_id: str
    ) -> tuple[bytes, Authenticated | None]:
        """Authenticate, reading the body only when it must be: before, when the signature
        covers its hash; after, for everything else (never for a refused request)."""
        view, meta = view_from_scope(scope, None, request_id)
        declared = parse_content_length(view.header("content-length"))
        body: bytes | None = None
        if payload_is_signed(view, self.guard.service):
            body = await receive_body(receive, self.max_body_size, declared)
            view = _replace(view, body=body)
        guard = self.guard
        authenticate = guard.authenticate if self.required else guard.authenticate_optional
        try:
            authenticated = await authenticate(view, meta)
        except PayloadRequiredError:
            # An aws-chunked upload whose seed signature verified: read it and verify its chunks.
            body = await receive_body(receive, self.max_body_size, declared)
            authenticated = await authenticate(_replace(view, body=body), meta)
        if body is None:
            body = await receive_body(receive, self.max_body_size, declared)
        return body, authenticated

    async def _error(self, error: BaseException, request_id: str, send: Send) -> None:
        status, headers, body = self.render_error(error, style=self.error_style, request_id=request_id)
        log_error_response(error, request_id, status)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})
