"""The IAM API as a pure ASGI application, and one app serving IAM and STS together.

Part of ``iam/``; the ASGI twin of :mod:`iamguard.iam.wsgi`. The raw body is collected (capped)
before anything parses it, the :class:`~iamguard.authn.request_view.RequestView` is built from
``raw_path``, ``query_string`` and the headers exactly as received, and the answer comes from
the same :class:`~iamguard.iam.query_api.IamEndpoint`. Its work is short and CPU-bound apart
from the store, so it runs inline; ``lifespan`` is acknowledged, other scope types ignored.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from typing import Any

from iamguard._wire import (
    AsgiApp,
    BodyReadError,
    BodyTooLargeError,
    Receive,
    Scope,
    Send,
    acknowledge_lifespan,
    parse_content_length,
    receive_body,
    send_response,
)
from iamguard.authn.context import RequestMeta
from iamguard.authn.request_view import asgi_request_view
from iamguard.errors import IAMGuardError
from iamguard.iam._routing import names_iam_version, scope_service
from iamguard.iam.query_api import IamEndpoint

__all__ = ["IamAsgiApp", "IamStsAsgiApp"]


class IamAsgiApp:
    """``IamAsgiApp(IamEndpoint(store, sessions=...))`` is an ASGI 3 callable answering the IAM API."""

    def __init__(self, endpoint: IamEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await acknowledge_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            view = asgi_request_view(scope, b"")
            declared = parse_content_length(view.header("content-length"))
            body = await receive_body(receive, self.endpoint.max_body_bytes, declared)
            client = scope.get("client")
            meta = RequestMeta(client[0] if client else None, scope.get("scheme", "http"))
            response = self.endpoint.handle(replace(view, body=body), meta)
        except BodyTooLargeError:
            response = self.endpoint.too_large()
        except BodyReadError as error:
            response = self.endpoint.error(
                IAMGuardError(str(error), code="MalformedQueryString", http_status=400)
            )
        except IAMGuardError as error:
            response = self.endpoint.error(error)
        except Exception as error:
            response = self.endpoint.failure(error)
        await send_response(send, response.status, response.headers, response.body)


class IamStsAsgiApp:
    """IAM and STS on one ASGI app, routed by the SigV4 scope's service, an unsigned request by
    the API ``Version`` it names (see the WSGI twin)."""

    def __init__(self, iam: AsgiApp, sts: AsgiApp, *, max_body_bytes: int = 512 * 1024) -> None:
        self.iam = iam
        self.sts = sts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.sts(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                authorization = value.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        service = scope_service(authorization, query)
        if service is None and names_iam_version(query):
            service = "iam"
        elif service is None and scope.get("method", "GET").upper() == "POST":
            service, receive = await self._unsigned_body(receive)
        app = self.iam if service == "iam" else self.sts
        await app(scope, receive, send)

    async def _unsigned_body(self, receive: Receive) -> tuple[str | None, Receive]:
        """Which API an unsigned POST names, and a ``receive`` that replays what was read."""
        messages: list[MutableMapping[str, Any]] = []
        size = 0
        while size <= self.max_body_bytes:
            message = await receive()
            messages.append(message)
            if message.get("type") != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(bytes(m.get("body", b"")) for m in messages if m.get("type") == "http.request")
        pending = list(messages)

        async def replay() -> MutableMapping[str, Any]:
            return pending.pop(0) if pending else await receive()

        return ("iam" if names_iam_version(body.decode("latin-1")) else None), replay
