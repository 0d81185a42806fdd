"""Sans-I/O HTTP for the credential sources: flows yield requests, two small drivers send them.

A flow is a generator that yields :class:`HttpRequest` and receives :class:`HttpResponse`
(the shape of httpx's ``Auth.auth_flow``); :func:`run_sync` drives it with ``httpx.Client``,
:func:`run_async` with ``httpx.AsyncClient``, through the package's one driver pair
(:mod:`iamguard._flow`). Transport failures are retried a bounded number
of times, then thrown *into* the flow as :class:`EndpointUnavailable` so each source decides
what "unreachable" means (IMDS: not on EC2, try the next provider; container: an error).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from iamguard._flow import adrive, drive
from iamguard.errors import EndpointUnavailable

__all__ = [
    "EndpointUnavailable",
    "Flow",
    "HttpRequest",
    "HttpResponse",
    "HttpSettings",
    "run_async",
    "run_sync",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Short timeouts: metadata endpoints answer in milliseconds or not at all."""

    connect_timeout: float = 1.0
    read_timeout: float = 1.0
    attempts: int = 2

    def timeout(self) -> httpx.Timeout:
        """These settings as an ``httpx.Timeout``."""
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


Flow = Generator[HttpRequest, HttpResponse, T]

#: Thrown into the flow rather than out of the driver: the source decides what it means.
_THROWN: tuple[type[BaseException], ...] = (EndpointUnavailable,)


def _send_sync(client: httpx.Client, request: HttpRequest, settings: HttpSettings) -> HttpResponse:
    last: BaseException | None = None
    for _ in range(max(settings.attempts, 1)):
        try:
            response = client.request(
                request.method,
                request.url,
                headers=list(request.headers),
                content=request.body or None,
                timeout=settings.timeout(),
            )
            return HttpResponse(response.status_code, response.content)
        except httpx.TransportError as exc:
            last = exc
    raise EndpointUnavailable(request.url, last or RuntimeError("no attempt"))


async def _send_async(
    client: httpx.AsyncClient, request: HttpRequest, settings: HttpSettings
) -> HttpResponse:
    last: BaseException | None = None
    for _ in range(max(settings.attempts, 1)):
        try:
            response = await client.request(
                request.method,
                request.url,
                headers=list(request.headers),
                content=request.body or None,
                timeout=settings.timeout(),
            )
            return HttpResponse(response.status_code, response.content)
        except httpx.TransportError as exc:
            last = exc
    raise EndpointUnavailable(request.url, last or RuntimeError("no attempt"))


def run_sync(flow: Flow[T], settings: HttpSettings, client: httpx.Client | None = None) -> T:
    """Drive ``flow`` to completion with a (possibly temporary) ``httpx.Client``."""
    owned = client is None
    http = client or httpx.Client(trust_env=False)
    try:
        return drive(flow, lambda request: _send_sync(http, request, settings), throws=_THROWN)
    finally:
        if owned:
            http.close()


async def run_async(flow: Flow[T], settings: HttpSettings, client: httpx.AsyncClient | None = None) -> T:
    """Async twin of :func:`run_sync`."""
    owned = client is None
    http = client or httpx.AsyncClient(trust_env=False)
    try:
        return await adrive(flow, lambda request: _send_async(http, request, settings), throws=_THROWN)
    finally:
        if owned:
            await http.aclose()
