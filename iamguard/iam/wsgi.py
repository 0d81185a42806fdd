"""The IAM API as a WSGI application, and one app serving IAM and STS together.

Part of ``iam/``; the WSGI twin of :mod:`iamguard.iam.asgi`. :class:`IamWsgiApp` reads the raw
body once in bounded pieces (its SHA-256 is part of the SigV4 signature), builds a
:class:`~iamguard.authn.request_view.RequestView` of the request as it was on the wire and
hands it to :class:`~iamguard.iam.query_api.IamEndpoint`. :class:`IamStsWsgiApp` routes each
request to the IAM or the STS app by the service its SigV4 credential scope names
(``.../us-east-1/iam/aws4_request``), which needs only the headers: what ``iamguard serve`` runs.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from iamguard._wire import BodyReadError, BodyTooLargeError, parse_content_length, read_body
from iamguard.authn.context import RequestMeta
from iamguard.errors import IAMGuardError
from iamguard.iam._routing import names_iam_version, scope_service
from iamguard.iam.query_api import IamEndpoint
from iamguard.sts.query_api import status_line
from iamguard.sts.wsgi import request_view_from_environ

__all__ = ["IamStsWsgiApp", "IamWsgiApp"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class IamWsgiApp:
    """``IamWsgiApp(IamEndpoint(store, sessions=...))`` is a WSGI callable answering the IAM API."""

    def __init__(self, endpoint: IamEndpoint) -> None:
        self.endpoint = endpoint

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = self._read_body(environ)
            meta = RequestMeta(environ.get("REMOTE_ADDR"), environ.get("wsgi.url_scheme", "http"))
            response = self.endpoint.handle(request_view_from_environ(environ, body), meta)
        except BodyTooLargeError:
            response = self.endpoint.too_large()
        except IAMGuardError as error:
            response = self.endpoint.error(error)
        except Exception as error:
            response = self.endpoint.failure(error)
        start_response(status_line(response.status), list(response.headers))
        return [response.body]

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        try:
            length = parse_content_length(environ.get("CONTENT_LENGTH"))
            stream = environ.get("wsgi.input")
            if stream is None or length == 0 or (length is None and not environ.get("wsgi.input_terminated")):
                return b""
            return read_body(stream, length, self.endpoint.max_body_bytes)
        except BodyReadError as error:
            # The body is the query string: an unreadable one is a malformed query string.
            raise IAMGuardError(str(error), code="MalformedQueryString", http_status=400) from None


class IamStsWsgiApp:
    """IAM and STS on one port: a request signed for ``iam`` goes to ``iam``, one signed for
    another service to ``sts``. An unsigned request (STS's federation calls, or a client that
    forgot to sign) goes by the API ``Version`` it names, read from the query string or the
    form body (read once, at most ``max_body_bytes``, and handed on), so each API answers its
    own callers with its own error document."""

    def __init__(self, iam: WsgiApp, sts: WsgiApp, *, max_body_bytes: int = 512 * 1024) -> None:
        self.iam = iam
        self.sts = sts
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        service = scope_service(environ.get("HTTP_AUTHORIZATION"), environ.get("QUERY_STRING", ""))
        if service is None:
            service, environ = self._unsigned(environ)
        app = self.iam if service == "iam" else self.sts
        return app(environ, start_response)

    def _unsigned(self, environ: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        if names_iam_version(environ.get("QUERY_STRING", "")):
            return "iam", environ
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return None, environ
        try:
            length = parse_content_length(environ.get("CONTENT_LENGTH"))
            stream = environ.get("wsgi.input")
            if stream is None or not length:
                return None, environ  # empty or chunked: STS reads (and judges) it itself
            body = read_body(stream, length, self.max_body_bytes)
        except IAMGuardError:
            # Too large (nothing read yet) or unreadable: STS answers with the same error.
            return None, environ
        replay = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        return ("iam" if names_iam_version(body.decode("latin-1")) else None), replay
