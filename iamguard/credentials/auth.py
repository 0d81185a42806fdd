"""Client side: SigV4 authentication for httpx (sync and async) and for requests.

:class:`SigV4Auth` plugs into ``httpx.Client(auth=...)`` / ``httpx.AsyncClient(auth=...)``;
:class:`RequestsSigV4Auth` into ``requests.Session().auth`` (duck-typed: this module never
imports requests). Both sign with :func:`iamguard.credentials.signer.sign_request`, which
builds the canonical request with the verifier's own code (:mod:`iamguard.authn.canonical`).

Credentials come from a *source*, taken once per request so the signature, the access key and
the session token always belong to one snapshot:

* a :class:`~iamguard.credentials.chain.CredentialChain` (anything with ``resolve()`` /
  ``aresolve()``): resolved once, on first use, into a fixed or self-refreshing value;
* anything with ``get()`` (``Credentials``, ``RefreshableCredentials``) or ``aget()``; an
  async ``get()`` (``AsyncRefreshableCredentials``) is awaited by the async flow;
* plain signing credentials (``StaticCredentials``: ``access_key_id``/``secret_access_key``).

Credentials past their expiration are never used: the request fails with
:class:`~iamguard.errors.CredentialsError` instead of reaching the service with dead keys.
Nothing here logs or formats a secret or a session token.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncGenerator, Generator, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from iamguard.authn.request_view import RequestView, host_from_url
from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import Clock
from iamguard.credentials.signer import SigningCredentials, sign_request
from iamguard.errors import CredentialsError, InvalidParameterError, NoCredentialsError

__all__ = ["RequestsSigV4Auth", "SigV4Auth"]

#: Headers :func:`sign_request` may add, replace or drop; only these are written back.
_SIGNING_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _is_signing_credentials(value: object) -> bool:
    return isinstance(getattr(value, "access_key_id", None), str) and isinstance(
        getattr(value, "secret_access_key", None), str
    )


class _CredentialsGetter:
    """Turns any supported source into one consistent snapshot per call (sync or async)."""

    def __init__(self, source: object, clock: Clock) -> None:
        if not any(hasattr(source, name) for name in ("resolve", "aresolve", "get", "aget")) and not (
            _is_signing_credentials(source)
        ):
            raise TypeError(
                "credentials source must be a CredentialChain, have get()/aget(), or carry "
                f"access_key_id and secret_access_key; got {type(source).__name__}"
            )
        self._source: Any = source  # duck-typed: see the module docstring for the accepted shapes
        self._clock = clock
        self._lock = threading.Lock()
        self._resolved: object | None = None  # what a chain's resolve() returned (sync)
        self._aresolved: object | None = None  # what a chain's aresolve() returned (async)

    # ------------------------------------------------------------ sync

    def get(self) -> SigningCredentials:
        source: Any = self._source
        if hasattr(source, "resolve"):
            source = self._resolved_source()
        getter = getattr(source, "get", None)
        if callable(getter):
            found = getter()
            if inspect.isawaitable(found):
                _close(found)
                raise CredentialsError(
                    "this credentials source is asynchronous (its get() must be awaited); "
                    "use it with httpx.AsyncClient, or pass a synchronous source"
                )
            return self._checked(found)
        if _is_signing_credentials(source):
            return self._checked(source)
        raise CredentialsError("this credentials source only offers aget(); use it with httpx.AsyncClient")

    def _resolved_source(self) -> object:
        # INVARIANT: a chain is resolved at most once per auth object; afterwards the resolved
        # value (fixed or RefreshableCredentials) does its own refreshing.
        if self._resolved is None:
            with self._lock:
                if self._resolved is None:
                    self._resolved = self._source.resolve()
        return self._resolved

    # ------------------------------------------------------------ async

    async def aget(self) -> SigningCredentials:
        source: Any = self._source
        if hasattr(source, "aresolve"):
            if self._aresolved is None:
                # Two first requests racing may both resolve; the first result stored wins.
                resolved = await source.aresolve()
                if self._aresolved is None:
                    self._aresolved = resolved
            source = self._aresolved
        elif hasattr(source, "resolve"):
            source = self._resolved_source()
        aget = getattr(source, "aget", None)
        if callable(aget):
            return self._checked(await aget())
        getter = getattr(source, "get", None)
        if callable(getter):
            found = getter()
            if inspect.isawaitable(found):
                found = await found
            return self._checked(found)
        if _is_signing_credentials(source):
            return self._checked(source)
        raise CredentialsError("the credentials source offers neither get() nor aget()")

    # ------------------------------------------------------------ both

    def _checked(self, found: object) -> SigningCredentials:
        if found is None:
            raise NoCredentialsError("the credentials source returned no credentials")
        if not _is_signing_credentials(found):
            raise CredentialsError(
                f"the credentials source returned a {type(found).__name__}, not credentials"
            )
        if isinstance(found, Credentials) and found.expired(self._clock()):
            raise CredentialsError(
                f"credentials {found.access_key_id} from {found.source or 'the source'} expired at "
                f"{found.expiration:%Y-%m-%dT%H:%M:%SZ}; refusing to sign with them"
            )
        return found  # type: ignore[return-value]


def _close(awaitable: object) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()  # avoid "coroutine was never awaited" warnings


def _apply(headers: Any, signed: RequestView, original: RequestView) -> None:
    """Write the signing headers of ``signed`` into a mutable header mapping (httpx or requests)."""
    for name in _SIGNING_HEADERS:
        values = signed.header_values(name)
        if values:
            headers[_wire_name(name)] = values[-1]
        elif original.has_header(name) and name in headers:
            del headers[name]


def _wire_name(name: str) -> str:
    return {
        "x-amz-content-sha256": "X-Amz-Content-SHA256",
        "x-amz-security-token": "X-Amz-Security-Token",
        "x-amz-date": "X-Amz-Date",
    }.get(name, "Authorization")


class _Signing:
    """Shared configuration and the sans-I/O signing step of both auth classes."""

    def __init__(
        self,
        credentials_source: object,
        *,
        region: str,
        service: str,
        sign_payload: bool,
        clock: Clock | None,
    ) -> None:
        if not region or not service:
            raise InvalidParameterError("region and service are required to build the credential scope")
        self.region = region
        self.service = service
        self.sign_payload = sign_payload
        self._clock: Clock = clock or _utcnow
        self._credentials = _CredentialsGetter(credentials_source, self._clock)

    def _sign_view(self, view: RequestView, credentials: SigningCredentials) -> RequestView:
        return sign_request(
            view,
            credentials,
            region=self.region,
            service=self.service,
            now=self._clock(),
            sign_payload=self.sign_payload,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(region={self.region!r}, service={self.service!r}, sign_payload={self.sign_payload})"


class SigV4Auth(_Signing, httpx.Auth):
    """``httpx.Auth`` that signs every request with SigV4 (``Authorization`` header).

    ``sign_payload=True`` hashes the body (httpx reads a streaming body first, hence
    ``requires_request_body``); ``False`` signs ``UNSIGNED-PAYLOAD`` and sends the
    ``X-Amz-Content-SHA256`` header, as botocore does when payload signing is disabled. A
    ``X-Amz-Content-SHA256`` already set on the request is kept and signed. ``clock`` (an
    aware-datetime callable) fixes the signing time, for tests.
    """

    def __init__(
        self,
        credentials_source: object,
        *,
        region: str,
        service: str,
        sign_payload: bool = True,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            credentials_source, region=region, service=service, sign_payload=sign_payload, clock=clock
        )
        # Only a hashed payload needs the body in memory; UNSIGNED-PAYLOAD streams untouched.
        self.requires_request_body = sign_payload

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request, self._credentials.get())
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.requires_request_body:
            await request.aread()
        self._sign(request, await self._credentials.aget())
        yield request

    def _sign(self, request: httpx.Request, credentials: SigningCredentials) -> None:
        view = _httpx_view(request, with_body=self.sign_payload)
        _apply(request.headers, self._sign_view(view, credentials), view)


def _httpx_view(request: httpx.Request, *, with_body: bool) -> RequestView:
    raw = request.url.raw_path.decode("ascii")
    path, _, query = raw.partition("?")
    headers = list(request.headers.multi_items())
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", host_from_url(str(request.url))))
    return RequestView(request.method, path or "/", query, headers, request.content if with_body else None)


class RequestsSigV4Auth(_Signing):
    """A ``requests`` auth (``session.auth = RequestsSigV4Auth(...)``) signing with SigV4.

    Duck-typed ``__call__(prepared_request)`` so importing iamguard never imports requests.
    requests lets the HTTP stack add ``Host`` later, so the signed ``Host`` is derived from the
    URL exactly as http.client/urllib3 will send it (default port dropped). A streaming body
    (file or generator) cannot be hashed without consuming it: use ``sign_payload=False``.
    """

    def __init__(
        self,
        credentials_source: object,
        *,
        region: str,
        service: str,
        sign_payload: bool = True,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            credentials_source, region=region, service=service, sign_payload=sign_payload, clock=clock
        )

    def __call__(self, prepared: Any) -> Any:
        view = _requests_view(prepared, with_body=self.sign_payload)
        _apply(prepared.headers, self._sign_view(view, self._credentials.get()), view)
        return prepared


def _requests_view(prepared: Any, *, with_body: bool) -> RequestView:
    url = str(prepared.url)
    parts = urlsplit(url)
    headers = [(_text(k), _text(v)) for k, v in prepared.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", host_from_url(url)))
    body = _requests_body(prepared.body) if with_body else None
    return RequestView(str(prepared.method or "GET"), parts.path or "/", parts.query, headers, body)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _requests_body(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")  # urllib3 2 encodes str bodies as UTF-8
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, Iterable) or hasattr(body, "read"):
        raise CredentialsError(
            "cannot hash a streaming request body without consuming it; "
            "use RequestsSigV4Auth(..., sign_payload=False) to sign UNSIGNED-PAYLOAD"
        )
    raise CredentialsError(f"unsupported request body type {type(body).__name__}")
