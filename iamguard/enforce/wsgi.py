"""Stage 6 for WSGI apps: authenticate every request before the app sees it (PEP 3333).

authenticate → principal → resolve policies → evaluate → decide → **enforce**/audit

:class:`IAMGuardMiddleware` builds a :class:`~iamguard.authn.request_view.RequestView` from the
environ — the raw wire path from ``RAW_URI``/``REQUEST_URI`` (SigV4 signs it; ``PATH_INFO`` is
already percent-decoded), the body read once — authenticates it through the
:class:`~iamguard.enforce.guard.Guard`, and then calls the app with:

* ``environ["wsgi.input"]`` replaced by the buffered body (the de-chunked bytes for an
  aws-chunked upload, with ``CONTENT_LENGTH`` to match), so the app still reads it;
* ``environ["iamguard"]``: the :class:`~iamguard.enforce.guard.RequestState` (principal,
  authenticated, decisions);
* the request state current for ``@require`` while the app runs.

Authentication failures, and :class:`~iamguard.errors.IAMGuardError` s raised by the app before
it starts its response (a ``@require`` denial), are rendered by one injectable function.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from iamguard._memo import Memo
from iamguard._wire import parse_content_length, read_body
from iamguard.authn.authenticators import Authenticated, PayloadRequiredError
from iamguard.authn.context import RequestMeta, new_request_meta
from iamguard.authn.request_view import HeaderPairs, RequestView, wire_view
from iamguard.authn.sigv4 import payload_is_signed
from iamguard.enforce.errors import ErrorStyle, RenderError, log_error_response, render_error
from iamguard.enforce.guard import Guard, RequestState
from iamguard.enforce.request_id import REQUEST_ID_KEY, new_request_id
from iamguard.enforce.require import enter_request, leave_request
from iamguard.errors import IAMGuardError

__all__ = ["IAMGuardMiddleware"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_PATH_SAFE = "/-_.~!$&'()*+,;=:@%"


def _reason(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def _raw_target(environ: dict[str, Any]) -> tuple[str, str]:
    """(raw path, raw query) as on the wire; rebuilt from PATH_INFO only when the server hides it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path, _, query = str(raw).partition("?")
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        return path or "/", query
    # PEP 3333: PATH_INFO is bytes decoded as latin-1; re-encode what was decoded.
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    return quote(path, safe=_PATH_SAFE) or "/", environ.get("QUERY_STRING", "")


#: environ key -> the header it carries, or _NOT_A_HEADER for a key that carries none, for the keys seen
#: so far: one dict lookup per key instead of slicing and comparing each. Bounded: servers
#: use the same keys on every request, and odd clients' keys evict the oldest one at a time.
_HEADER_NAMES: Memo[str, str] = Memo("wsgi.header_names", 1024)
_CONTENT_KEYS = ("CONTENT_TYPE", "CONTENT_LENGTH")
#: No header name is "_": every "_" of an environ key becomes "-" in the name.
_NOT_A_HEADER = "_"


def _header_name(key: str) -> str:
    """The header an environ key carries: ``HTTP_*`` and (PEP 3333 moves those two out of
    ``HTTP_*``) ``CONTENT_TYPE`` / ``CONTENT_LENGTH``; ``_NOT_A_HEADER`` for every other key."""
    if key[:5] == "HTTP_":
        return key[5:].replace("_", "-").lower()
    if key in _CONTENT_KEYS:
        return key.replace("_", "-").lower()
    return _NOT_A_HEADER


def _headers(environ: dict[str, Any]) -> tuple[HeaderPairs, dict[str, tuple[str, ...]]]:
    """The request's headers as (lower-case name, value) pairs, from the ``HTTP_*`` keys and a
    non-empty ``CONTENT_TYPE`` / ``CONTENT_LENGTH``, and the same headers indexed by name (what
    :meth:`RequestView.header_index` would build)."""
    headers = []
    index: dict[str, tuple[str, ...]] = {}
    names = _HEADER_NAMES.get
    for key, value in environ.items():
        name = names(key)
        if name is None:
            name = _HEADER_NAMES.put(key, _header_name(key))
        if name is _NOT_A_HEADER or (not value and key in _CONTENT_KEYS):  # PEP 3333: empty means absent
            continue
        text = value if type(value) is str else str(value)
        headers.append((name, text))
        index[name] = (*index[name], text) if name in index else (text,)
    return tuple(headers), index


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, read in bounded pieces (see :mod:`iamguard._wire`); empty when the
    request declares none (no ``Content-Length`` and no self-terminating stream)."""
    stream = environ.get("wsgi.input")
    length = parse_content_length(environ.get("CONTENT_LENGTH"))
    if stream is None or length == 0 or (length is None and not environ.get("wsgi.input_terminated")):
        return b""
    return read_body(stream, length, limit)


class IAMGuardMiddleware:
    """Pure WSGI middleware putting every request through ``guard``.

    ``required=False`` lets requests without any credentials through unauthenticated
    (``environ["iamguard"].authenticated is None``); wrong credentials are refused either way.
    ``error_style`` is ``"json"`` or ``"s3"`` (see :mod:`iamguard.enforce.errors`);
    ``render_error`` replaces the renderer; ``max_body_size`` bounds the buffered body.
    """

    def __init__(
        self,
        app: WSGIApp,
        guard: Guard,
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

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = new_request_id()
        environ[REQUEST_ID_KEY] = request_id  # for the app's own error bodies
        try:
            authenticated = self._authenticate(environ, request_id)
        except IAMGuardError as error:
            return self._error(error, request_id, start_response)
        except Exception as error:
            return self._error(error, request_id, start_response)
        state = RequestState(self.guard, authenticated)
        environ["iamguard"] = state
        started = False

        def tracking_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal started
            started = True
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        token = enter_request(state)
        try:
            return self.app(environ, tracking_start_response)
        except IAMGuardError as error:
            if started:
                raise
            return self._error(error, request_id, start_response)
        finally:
            leave_request(token)

    def _authenticate(self, environ: dict[str, Any], request_id: str) -> Authenticated | None:
        """Authenticate, reading the body only when it must be: before, when the signature
        covers its hash; after, for everything else (never for a refused request)."""
        path, query = _raw_target(environ)
        headers, index = _headers(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        view = wire_view(method, path, query, headers, None, index)
        meta = new_request_meta(
            environ.get("REMOTE_ADDR"), environ.get("wsgi.url_scheme", "http"), request_id
        )
        body: bytes | None = None
        if payload_is_signed(view, self.guard.service):
            body = _read_body(environ, self.max_body_size)
            view = wire_view(method, path, query, headers, body, index)
        try:
            authenticated = self._run_guard(view, meta)
        except PayloadRequiredError:
            # An aws-chunked upload whose seed signature verified: read it and verify its chunks.
            body = _read_body(environ, self.max_body_size)
            authenticated = self._run_guard(wire_view(method, path, query, headers, body, index), meta)
        if body is None:
            body = _read_body(environ, self.max_body_size)
        if authenticated is not None and authenticated.body is not None:
            body = authenticated.body
            environ["CONTENT_LENGTH"] = str(len(body))
            encodings = [e.strip() for e in environ.get("HTTP_CONTENT_ENCODING", "").split(",")]
            remaining = ",".join(e for e in encodings if e and e.lower() != "aws-chunked")
            if remaining:
                environ["HTTP_CONTENT_ENCODING"] = remaining
            else:
                environ.pop("HTTP_CONTENT_ENCODING", None)
            environ["wsgi.input"] = io.BytesIO(body)
        else:
            # The bytes read above, for the app to read again (from a stream that cannot
            # misbehave), with the length they really have.
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return authenticated

    def _run_guard(self, view: RequestView, meta: RequestMeta) -> Authenticated | None:
        guard = self.guard
        return guard.authenticate(view, meta) if self.required else guard.authenticate_optional(view, meta)

    def _error(
        self, error: BaseException, request_id: str, start_response: Callable[..., Any]
    ) -> list[bytes]:
        status, headers, body = self.render_error(error, style=self.error_style, request_id=request_id)
        log_error_response(error, request_id, status)
        start_response(_reason(status), headers)
        return [body]
