"""The STS endpoint as a pure ASGI application.

Part of ``sts/``; the ASGI twin of :mod:`iamguard.sts.wsgi`. It collects the raw body (capped)
before anything parses it, builds a :class:`~iamguard.authn.request_view.RequestView` from
``raw_path``, ``query_string`` and the header list exactly as received, and answers through the
same :class:`~iamguard.sts.query_api.StsEndpoint`. The endpoint's work (signature check, store
reads, token issue) is short and CPU-bound, so it runs inline; ``lifespan`` and other scope types
are acknowledged or refused, never crashed on.
"""

from __future__ import annotations

from dataclasses import replace

from iamguard._wire import (
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
from iamguard.authn.request_view import asgi_request_view
from iamguard.errors import IAMGuardError, STSError
from iamguard.sts.query_api import StsEndpoint
from iamguard.sts.service import TokenService

__all__ = ["StsAsgiApp"]


class StsAsgiApp:
    """``StsAsgiApp(token_service)`` is an ASGI 3 callable answering the STS Query API."""

    def __init__(self, service: TokenService | StsEndpoint, *, max_body_bytes: int = 512 * 1024) -> None:
        self.endpoint = (
            service
            if isinstance(service, StsEndpoint)
            else StsEndpoint(service, max_body_bytes=max_body_bytes)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await acknowledge_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets and other protocols are not STS
        try:
            view = asgi_request_view(scope, b"")
            declared = parse_content_length(view.header("content-length"))
            body = await receive_body(receive, self.endpoint.max_body_bytes, declared)
            response = self.endpoint.handle(replace(view, body=body))
        except BodyTooLargeError:
            response = self.endpoint.too_large()
        except BodyReadError as error:
            # The body is the query string: an unreadable one is a malformed query string.
            response = self.endpoint.error(STSError(str(error), code="MalformedQueryString", http_status=400))
        except IAMGuardError as error:
            response = self.endpoint.error(error)
        except Exception as error:
            response = self.endpoint.failure(error)
        await send_response(send, response.status, response.headers, response.body)
