"""The STS endpoint as a WSGI application (what ``iamguard serve-sts`` runs).

Part of ``sts/``. The app reads the raw body once (its SHA-256 is part of the SigV4 signature,
so it is kept byte for byte, before any form parsing), builds a
:class:`~iamguard.authn.request_view.RequestView` of the request as it was on the wire and hands it
to :class:`~iamguard.sts.query_api.StsEndpoint`, which authenticates, runs the action and renders
AWS's XML. Errors come back as AWS error documents with their HTTP status; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from iamguard.authn.request_view import RequestView
from iamguard.sts.query_api import StsEndpoint, status_line
from iamguard.sts.service import TokenService

__all__ = ["StsWsgiApp", "request_view_from_environ"]

StartResponse = Callable[..., Any]
_SPECIAL_HEADERS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def request_view_from_environ(environ: dict[str, Any], body: bytes) -> RequestView:
    """The wire form of a WSGI request: undecoded path when the server gives it, headers, body."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = str(raw).split("?", 1)[0]
    else:
        # PEP 3333 hands PATH_INFO decoded as latin-1; re-encode it the way a client would.
        decoded = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
        path = quote(decoded, safe="/-_.~!$&'()*+,;=:@")
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in _SPECIAL_HEADERS and value:
            headers.append((_SPECIAL_HEADERS[key].lower(), str(value)))
    return RequestView(
        environ.get("REQUEST_METHOD", "GET").upper(),
        path or "/",
        environ.get("QUERY_STRING", ""),
        headers,
        body,
    )


class StsWsgiApp:
    """``StsWsgiApp(token_service)`` is a WSGI callable answering the STS Query API."""

    def __init__(self, service: TokenService | StsEndpoint, *, max_body_bytes: int = 512 * 1024) -> None:
        self.endpoint = (
            service
            if isinstance(service, StsEndpoint)
            else StsEndpoint(service, max_body_bytes=max_body_bytes)
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = self._read_body(environ)
        if body is None:
            response = self.endpoint.too_large()
        else:
            response = self.endpoint.handle(request_view_from_environ(environ, body))
        start_response(status_line(response.status), list(response.headers))
        return [response.body]

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        """The raw body (``None`` when larger than allowed); a missing length means empty."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length < 0 or length > self.endpoint.max_body_bytes:
            return None
        stream = environ.get("wsgi.input")
        if stream is None or length == 0:
            return b""
        chunks, remaining = [], length
        while remaining > 0:
            chunk = stream.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
