"""OIDC web-identity tokens for ``AssumeRoleWithWebIdentity``: verify an IdP's ID token.

Part of ``sts/``. The checking is pure and written once, as a generator that **yields** each
document it needs (discovery, then JWKS) and receives its bytes
(``encode/httpx:httpx/_auth.py``'s shape); :class:`OidcVerifier` drives it with an
``httpx.Client``, :class:`AsyncOidcVerifier` with an ``httpx.AsyncClient``. Nothing else differs.

What is checked (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html,
https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation):

* the signature, with a key from the issuer's JWKS (``{issuer}/.well-known/openid-configuration``
  → ``jwks_uri``), an asymmetric algorithm only (``RS256``, ``ES256``, ``EdDSA``; never ``HS*``
  or ``none``) and the algorithm the JWK itself is for (no algorithm confusion);
* ``iss`` equals the provider URL exactly; ``aud`` (or ``azp``) is one of the provider's client
  ids; ``sub`` is present; ``exp`` is in the future, ``nbf``/``iat`` not in the future — all
  against an injected clock.

Each document is fetched with short timeouts and at most ``retries`` (default 2) immediate retries
on a transport error, HTTP 5xx or 429; redirects are not followed and bodies are capped at 512 KiB.
Keys are cached per issuer for ``cache_ttl`` seconds. A token naming a ``kid`` the cache lacks
(the IdP rotated its keys) causes one refetch, at most once per ``refetch_interval`` per issuer,
so a flood of tokens with invented kids cannot turn the verifier against the IdP.

Errors are :class:`~iamguard.errors.STSError` with AWS's codes, all HTTP 400:
``InvalidIdentityToken``, ``ExpiredTokenException``, ``IDPCommunicationError``.

``thumbprints`` is kept on :class:`OidcProvider` for parity with ``CreateOpenIDConnectProvider``;
TLS trust itself comes from the httpx client's CA configuration, which is what AWS does for IdPs
whose certificates chain to a trusted root CA
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from iamguard._flow import adrive, drive
from iamguard.context import ContextValue
from iamguard.errors import InvalidParameterError, STSError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AsyncOidcVerifier",
    "OidcProvider",
    "OidcVerifier",
    "WebIdentityClaims",
    "condition_keys",
]

#: Signature algorithms accepted from an IdP; symmetric ones would need a shared secret.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "ES256", "EdDSA"})

_MAX_TOKEN_CHARS = 20000  # WebIdentityToken: length 4-20000 (API_AssumeRoleWithWebIdentity)
_MAX_DOCUMENT_BYTES = 512 * 1024
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DISCOVERY_PATH = "/.well-known/openid-configuration"
_IDP_MESSAGE = (
    "Couldn't retrieve verification key from your identity provider, "
    "please reference AssumeRoleWithWebIdentity documentation for requirements"
)


def _invalid(message: str) -> STSError:
    return STSError(message, code="InvalidIdentityToken", http_status=400)


def _idp_error(detail: str) -> STSError:
    return STSError(f"{_IDP_MESSAGE} ({detail})", code="IDPCommunicationError", http_status=400)


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """An IAM OIDC identity provider: issuer URL, accepted client ids (audiences), thumbprints.

    ``url`` must be ``https://`` (``http://`` only on a loopback host, for tests), with no query
    or fragment, as ``CreateOpenIDConnectProvider`` requires.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html
    """

    url: str
    client_ids: tuple[str, ...]
    thumbprints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if not (parts.scheme == "https" or _is_loopback_http(self.url)) or not parts.hostname:
            raise InvalidParameterError(f"OIDC provider URL must begin with https://: {self.url!r}")
        if parts.query or parts.fragment:
            raise InvalidParameterError("OIDC provider URL may not have a query or fragment")
        if not self.client_ids:
            raise InvalidParameterError("an OIDC provider needs at least one client id (audience)")

    @property
    def condition_prefix(self) -> str:
        """The provider as condition keys name it: the URL without its scheme."""
        return _without_scheme(self.url)


def _without_scheme(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


@dataclass(frozen=True, slots=True)
class WebIdentityClaims:
    """A verified ID token: who issued it, about whom, for which client, and all its claims."""

    issuer: str
    subject: str
    audience: str  # the client id that matched: ``azp`` when present, else the matching ``aud``
    claims: Mapping[str, Any] = field(repr=False)
    amr: tuple[str, ...] = ()


def condition_keys(claims: WebIdentityClaims) -> dict[str, ContextValue]:
    """Trust-policy condition keys AWS derives from a web identity token, lower-cased.

    ``<provider>:sub``, ``<provider>:aud`` (the ``azp`` claim when present, else the audience),
    ``<provider>:oaud`` (the token's original ``aud`` when ``azp`` took ``:aud``'s place, as for
    ``accounts.google.com``), ``<provider>:amr`` (multivalued, as Cognito sets it) and, for
    Google, ``accounts.google.com:email``. ``<provider>`` is the issuer URL without ``https://``.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
    """
    prefix = _without_scheme(claims.issuer).lower()
    keys: dict[str, ContextValue] = {f"{prefix}:sub": claims.subject, f"{prefix}:aud": claims.audience}
    azp, aud = claims.claims.get("azp"), claims.claims.get("aud")
    if isinstance(azp, str):
        original = aud if isinstance(aud, str) else tuple(a for a in aud or () if isinstance(a, str))
        if original:
            keys[f"{prefix}:oaud"] = original
    if claims.amr:
        keys[f"{prefix}:amr"] = claims.amr
    email = claims.claims.get("email")
    if prefix == "accounts.google.com" and isinstance(email, str):
        keys[f"{prefix}:email"] = email
    return keys


# ---------------------------------------------------------------------- the pure core


@dataclass(frozen=True, slots=True)
class _Fetch:
    """What the flow needs next: the body of an HTTP GET of ``url``."""

    url: str


@dataclass(frozen=True, slots=True)
class _JwksEntry:
    kid: str | None
    algorithm: str
    key: Any  # a cryptography public key


@dataclass(slots=True)
class _IssuerKeys:
    entries: tuple[_JwksEntry, ...]
    fetched_at: float


_Flow = Generator[_Fetch, bytes, WebIdentityClaims]


class _OidcCore:
    """Token checks and the per-issuer key cache, shared by the sync and async verifiers."""

    def __init__(
        self, clock: Callable[[], float], cache_ttl: float, refetch_interval: float, leeway: int
    ) -> None:
        self.clock = clock
        self.cache_ttl = cache_ttl
        self.refetch_interval = refetch_interval
        self.leeway = leeway
        self._cache: dict[str, _IssuerKeys] = {}
        self._last_fetch: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._last_fetch.clear()

    def flow(self, token: str, provider: OidcProvider) -> _Flow:
        header, unverified = _unverified_parts(token)
        if unverified.get("iss") != provider.url:
            raise _invalid("Issuer in the token does not match the provider")
        alg, kid = header["alg"], header.get("kid")
        now = self.clock()
        cached = self._cached(provider.url, now)
        keys = cached if cached is not None else (yield from self._fetch_keys(provider.url))
        candidates = _candidates(keys, kid, alg)
        if not candidates and cached is not None and self._may_refetch(provider.url, now):
            candidates = _candidates((yield from self._fetch_keys(provider.url)), kid, alg)
        if not candidates:
            raise _invalid("No key of the identity provider matches the token's key id and algorithm")
        payload = _verified_payload(token, candidates, provider.url)
        return self._validated(payload, provider)

    def _cached(self, issuer: str, now: float) -> tuple[_JwksEntry, ...] | None:
        with self._lock:
            entry = self._cache.get(issuer)
        if entry is None or now - entry.fetched_at >= self.cache_ttl:
            return None
        return entry.entries

    def _may_refetch(self, issuer: str, now: float) -> bool:
        with self._lock:
            last = self._last_fetch.get(issuer)
        return last is None or now - last >= self.refetch_interval

    def _fetch_keys(self, issuer: str) -> Generator[_Fetch, bytes, tuple[_JwksEntry, ...]]:
        with self._lock:
            self._last_fetch[issuer] = self.clock()
        discovery = _json_object((yield _Fetch(issuer.rstrip("/") + _DISCOVERY_PATH)), "discovery document")
        jwks_uri = _jwks_uri(discovery, issuer)
        entries = _parse_jwks(_json_object((yield _Fetch(jwks_uri)), "JWKS"))
        with self._lock:
            self._cache[issuer] = _IssuerKeys(entries, self.clock())
        return entries

    def _validated(self, payload: Mapping[str, Any], provider: OidcProvider) -> WebIdentityClaims:
        now = self.clock()
        exp, iat = _number(payload.get("exp")), _number(payload.get("iat"))
        nbf = _number(payload["nbf"]) if "nbf" in payload else None
        if now - self.leeway >= exp:
            raise STSError(
                f"Token expired: current date/time {_iso(now)} must be before the expiration date/time {_iso(exp)}",
                code="ExpiredTokenException",
                http_status=400,
            )
        if now + self.leeway < iat or (nbf is not None and now + self.leeway < nbf):
            raise _invalid("The token is not valid yet")
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _invalid("The token has no subject")
        return WebIdentityClaims(
            issuer=provider.url,
            subject=subject,
            audience=_matched_audience(payload, provider.client_ids),
            claims=MappingProxyType(dict(payload)),
            amr=_amr(payload.get("amr")),
        )


def _number(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _invalid("The token's exp, iat and nbf claims must be numbers")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _unverified_parts(token: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload before any trust: only to pick a key and refuse early."""
    if not isinstance(token, str) or not 4 <= len(token) <= _MAX_TOKEN_CHARS or token.count(".") != 2:
        raise _invalid("The web identity token is not a valid JWT")
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _invalid("The web identity token is not a valid JWT") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALLOWED_ALGORITHMS:
        raise _invalid(f"Unsupported signature algorithm {str(alg)[:16]!r}")
    if kid is not None and not isinstance(kid, str):
        raise _invalid("The token's key id must be a string")
    return header, payload


def _candidates(keys: tuple[_JwksEntry, ...], kid: str | None, alg: str) -> list[_JwksEntry]:
    """Keys that may verify the token: same kid (any, if the token names none), same algorithm."""
    return [entry for entry in keys if entry.algorithm == alg and (kid is None or entry.kid == kid)]


def _verified_payload(token: str, candidates: list[_JwksEntry], issuer: str) -> dict[str, Any]:
    for entry in candidates:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                entry.key,
                algorithms=[entry.algorithm],  # INVARIANT: the JWK's algorithm, never the header's choice
                issuer=issuer,
                options={
                    "verify_exp": False,  # checked against the injected clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,  # aud or azp, checked below
                    "require": ["iss", "sub", "aud", "exp", "iat"],
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidIssuerError:
            raise _invalid("Issuer in the token does not match the provider") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise _invalid("The web identity token is not valid") from None
        return payload
    raise _invalid("The token's signature does not verify")


def _matched_audience(payload: Mapping[str, Any], client_ids: tuple[str, ...]) -> str:
    """The client id the token is for: ``azp`` if set (OIDC Core §2), else an ``aud`` value."""
    azp, aud = payload.get("azp"), payload.get("aud")
    audiences = (
        [aud]
        if isinstance(aud, str)
        else [a for a in aud if isinstance(a, str)]
        if isinstance(aud, list)
        else []
    )
    if isinstance(azp, str) and azp in client_ids:
        return azp
    for value in audiences:
        if value in client_ids:
            return value
    raise _invalid("Incorrect token audience")


def _amr(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _idp_error(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise _idp_error(f"{what} is not a JSON object")
    return value


def _jwks_uri(discovery: Mapping[str, Any], issuer: str) -> str:
    if discovery.get("issuer") != issuer:
        raise _idp_error("discovery document names another issuer")
    uri = discovery.get("jwks_uri")
    if not isinstance(uri, str) or not (
        uri.startswith("https://") or (_is_loopback_http(issuer) and _is_loopback_http(uri))
    ):
        raise _idp_error("discovery document has no usable jwks_uri")
    return uri


def _parse_jwks(document: Mapping[str, Any]) -> tuple[_JwksEntry, ...]:
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise _idp_error("JWKS has no keys list")
    entries: list[_JwksEntry] = []
    for jwk in keys:
        if (
            not isinstance(jwk, dict)
            or jwk.get("use", "sig") != "sig"
            or jwk.get("kty") not in ("RSA", "EC", "OKP")
        ):
            continue
        try:
            parsed = jwt.PyJWK(jwk)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue  # a key we cannot use is skipped, as OIDC clients skip unknown key types
        if parsed.algorithm_name in ALLOWED_ALGORITHMS:
            kid = jwk.get("kid")
            entries.append(
                _JwksEntry(kid if isinstance(kid, str) else None, parsed.algorithm_name, parsed.key)
            )
    return tuple(entries)


# ---------------------------------------------------------------------- drivers


def _check_response(status: int, url: str) -> bool:
    """True when the status is worth a retry; raises for a final failure; False for 200."""
    if status == 200:
        return False
    if status >= 500 or status == 429:
        return True
    raise _idp_error(f"HTTP {status} from {url}")


class OidcVerifier:
    """Verifies web identity tokens, fetching IdP keys with a sync ``httpx.Client``."""

    def __init__(
        self,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        cache_ttl: float = 3600,
        timeout: float = 5.0,
        *,
        retries: int = 2,
        refetch_interval: float = 60.0,
        leeway: int = 0,
    ) -> None:
        self._own_client = http is None
        self._http = http if http is not None else httpx.Client(follow_redirects=False)
        self._timeout = httpx.Timeout(timeout)
        self._attempts = 1 + max(0, retries)
        self._core = _OidcCore(clock, cache_ttl, refetch_interval, leeway)

    def verify(self, token: str, provider: OidcProvider) -> WebIdentityClaims:
        """The claims of a genuine token for ``provider``; raises :class:`STSError` otherwise."""
        return drive(self._core.flow(token, provider), self._fetch)

    def _fetch(self, request: _Fetch) -> bytes:
        return self._get(request.url)

    def _get(self, url: str) -> bytes:
        for _ in range(self._attempts):
            try:
                with self._http.stream("GET", url, timeout=self._timeout, headers=_HEADERS) as response:
                    if _check_response(response.status_code, url):
                        continue
                    return _bounded(response.iter_bytes(), url)
            except httpx.TransportError:
                continue
        raise _idp_error(f"no answer from {url}")

    def clear_cache(self) -> None:
        """Forget the fetched discovery documents and signing keys (JWKS)."""
        self._core.clear()

    def close(self) -> None:
        """Close the HTTP client if this verifier made it."""
        if self._own_client:
            self._http.close()

    def __enter__(self) -> OidcVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncOidcVerifier:
    """The async twin of :class:`OidcVerifier`, with an ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        cache_ttl: float = 3600,
        timeout: float = 5.0,
        *,
        retries: int = 2,
        refetch_interval: float = 60.0,
        leeway: int = 0,
    ) -> None:
        self._own_client = http is None
        self._http = http if http is not None else httpx.AsyncClient(follow_redirects=False)
        self._timeout = httpx.Timeout(timeout)
        self._attempts = 1 + max(0, retries)
        self._core = _OidcCore(clock, cache_ttl, refetch_interval, leeway)

    async def verify(self, token: str, provider: OidcProvider) -> WebIdentityClaims:
        """The claims of a genuine token for ``provider``; raises :class:`STSError` otherwise."""
        return await adrive(self._core.flow(token, provider), self._fetch)

    def _fetch(self, request: _Fetch) -> Awaitable[bytes]:
        return self._get(request.url)

    async def _get(self, url: str) -> bytes:
        for _ in range(self._attempts):
            try:
                async with self._http.stream("GET", url, timeout=self._timeout, headers=_HEADERS) as response:
                    if _check_response(response.status_code, url):
                        continue
                    chunks = [chunk async for chunk in _abounded(response.aiter_bytes(), url)]
                    return b"".join(chunks)
            except httpx.TransportError:
                continue
        raise _idp_error(f"no answer from {url}")

    def clear_cache(self) -> None:
        """Forget the fetched discovery documents and signing keys (JWKS)."""
        self._core.clear()

    async def aclose(self) -> None:
        """Close the HTTP client if this verifier made it."""
        if self._own_client:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncOidcVerifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_HEADERS = {"Accept": "application/json"}


def _bounded(chunks: Iterable[bytes], url: str) -> bytes:
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > _MAX_DOCUMENT_BYTES:
            raise _idp_error(f"document at {url} is too large")
    return bytes(body)


async def _abounded(chunks: AsyncIterator[bytes], url: str) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > _MAX_DOCUMENT_BYTES:
            raise _idp_error(f"document at {url} is too large")
        yield chunk
