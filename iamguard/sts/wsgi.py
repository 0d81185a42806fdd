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

from iamguard._wire import BodyReadError, BodyTooLargeError, parse_content_length, read_body
from iamguard.authn.request_view import RequestView
from iamguard.errors import IAMGuardError, STSError
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
        try:
            body = self._read_body(environ)
            response = self.endpoint.handle(request_view_from_environ(environ, body))
        except RequestTooLarge:
            response = self.endpoint.too_large()
        except IAMGuardError as error:
            response = self.endpoint.error(error)
        except Exception as error:
            response = self.endpoint.failure(error)
        start_response(status_line(response.status), list(response.headers))
        return [response.body]

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The raw body, read in bounded pieces; a missing length (and no chunked stream) means
        empty. Raises :class:`RequestTooLarge` past the limit, an STS error for a malformed one."""
        try:
            length = parse_content_length(environ.get("CONTENT_LENGTH"))
            stream = environ.get("wsgi.input")
            if stream is None or length == 0 or (length is None and not environ.get("wsgi.input_terminated")):
                return b""
            return read_body(stream, length, self.endpoint.max_body_bytes)
        except BodyTooLargeError:
            raise RequestTooLarge() from None
        except BodyReadError as error:
            # The body is the query string: an unreadable one is a malformed query string.
            # https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
            raise STSError(str(error), code="MalformedQueryString", http_status=400) from None


class RequestTooLarge(Exception):
    """The body is larger than the endpoint accepts (answered 413 ``RequestEntityTooLarge``)."""
