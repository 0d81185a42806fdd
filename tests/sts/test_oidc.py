"""Tests for iamguard.sts.oidc against a real OIDC issuer served on 127.0.0.1 inside the test."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from iamguard.errors import STSError
from iamguard.sts.oidc import (
    AsyncOidcVerifier,
    OidcProvider,
    OidcVerifier,
    WebIdentityClaims,
    condition_keys,
)

DATA = Path(__file__).parent.parent / "data" / "sts"
T0 = 1_770_000_000


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- keys


@dataclass
class IdpKey:
    kid: str
    alg: str
    private: Any
    jwk: dict[str, Any]


def _jwk(public: Any, kid: str, alg: str | None) -> dict[str, Any]:
    if isinstance(public, rsa.RSAPublicKey):
        data = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        data = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        data = OKPAlgorithm.to_jwk(public, as_dict=True)
    data = dict(data, kid=kid, use="sig")
    if alg is not None:
        data["alg"] = alg
    return data


def _rsa(kid: str) -> IdpKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return IdpKey(kid, "RS256", private, _jwk(private.public_key(), kid, "RS256"))


@pytest.fixture(scope="module")
def keys() -> dict[str, IdpKey]:
    ec_private = ec.generate_private_key(ec.SECP256R1())
    ed_private = ed25519.Ed25519PrivateKey.generate()
    return {
        "rsa": _rsa("rsa-1"),
        "rsa2": _rsa("rsa-2"),
        # No "alg" member: the verifier infers ES256 from crv P-256 and EdDSA from OKP.
        "ec": IdpKey("ec-1", "ES256", ec_private, _jwk(ec_private.public_key(), "ec-1", None)),
        "ed": IdpKey("ed-1", "EdDSA", ed_private, _jwk(ed_private.public_key(), "ed-1", None)),
    }


# ---------------------------------------------------------------- the issuer


@dataclass
class IssuerState:
    url: str = ""
    jwks: list[dict[str, Any]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    status: dict[str, int] = field(default_factory=dict)
    discovery_issuer: str | None = None


class _Handler(BaseHTTPRequestHandler):
    state: IssuerState

    def do_GET(self) -> None:
        state = self.state
        state.hits[self.path] += 1
        if self.path in state.status:
            self._send(state.status[self.path], b"{}")
        elif self.path == "/.well-known/openid-configuration":
            issuer = state.discovery_issuer if state.discovery_issuer is not None else state.url
            body = {
                "issuer": issuer,
                "jwks_uri": state.url + "/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
            self._send(200, json.dumps(body).encode())
        elif self.path == "/jwks":
            self._send(200, json.dumps({"keys": state.jwks}).encode())
        else:
            self._send(404, b"{}")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuickServer(ThreadingHTTPServer):
    """Skips HTTPServer's reverse DNS lookup of the bind address (slow on some hosts)."""

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


@pytest.fixture()
def issuer(keys: dict[str, IdpKey]) -> Iterator[IssuerState]:
    state = IssuerState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = _QuickServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    state.jwks = [keys[name].jwk for name in ("rsa", "ec", "ed")]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: building one loads the CA bundle, which is slow."""
    with httpx.Client() as client:
        yield client


@pytest.fixture()
def verifier(clock: Clock, http: httpx.Client) -> OidcVerifier:
    return OidcVerifier(http, clock=clock, timeout=2.0)


def _provider(issuer: IssuerState) -> OidcProvider:
    return OidcProvider(issuer.url, ("client-a", "client-b"))


def _claims(issuer: IssuerState, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer.url,
        "sub": "user-1",
        "aud": "client-a",
        "iat": T0,
        "exp": T0 + 600,
    }
    claims.update(overrides)
    return claims


def _token(key: IdpKey, claims: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid, **headers})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _expect_code(code: str, call: Any, *args: Any) -> STSError:
    with pytest.raises(STSError) as info:
        call(*args)
    assert info.value.code == code
    assert info.value.http_status == 400
    return info.value


# ---------------------------------------------------------------- table


def _resolve(value: Any, issuer: IssuerState) -> Any:
    if isinstance(value, str) and value.startswith("$now"):
        return T0 + int(value[4:] or 0)
    if isinstance(value, str) and value.startswith("$issuer"):
        return issuer.url + value[len("$issuer") :]
    return value


def _case_rows() -> list[Any]:
    return [pytest.param(row, id=row["id"]) for row in json.loads((DATA / "oidc_cases.json").read_text())]


@pytest.mark.parametrize("row", _case_rows())
def test_token_table(
    row: dict[str, Any], issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    claims = _claims(issuer, **{k: _resolve(v, issuer) for k, v in row.get("set", {}).items()})
    for name in row.get("unset", []):
        del claims[name]
    token = _token(keys[row["key"]], claims)
    if row["expect"] == "ok":
        result = verifier.verify(token, _provider(issuer))
        assert result.issuer == issuer.url
        assert result.subject == claims["sub"]
        assert result.audience == row["audience"]
        assert result.amr == tuple(row.get("amr", ()))
        assert dict(result.claims) == claims
    else:
        _expect_code(row["expect"], verifier.verify, token, _provider(issuer))


# ---------------------------------------------------------------- keys and algorithms


def test_regression_hs256_token_rejected_without_fetch(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    """An HS256 token keyed with the IdP's public key material (alg confusion) never verifies."""
    public_jwk = json.dumps(keys["rsa"].jwk).encode()
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = _b64(json.dumps(_claims(issuer)).encode())
    for secret in (public_jwk, b"client-a-secret-that-is-long-enough!!"):
        # Signed by hand: pyjwt itself refuses a JWK-looking HMAC secret.
        signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        token = f"{header}.{body}.{_b64(signature)}"
        _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))
    assert sum(issuer.hits.values()) == 0


def test_regression_alg_none_rejected(issuer: IssuerState, verifier: OidcVerifier) -> None:
    token = jwt.encode(_claims(issuer), "", algorithm="none", headers={"kid": "rsa-1"})
    _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))


def test_regression_header_alg_must_match_jwk(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    """A token claiming ES256 under an RSA kid finds no key (the JWK pins RS256)."""
    token = _token(keys["ec"], _claims(issuer), kid="rsa-1")
    _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))


def test_regression_unsupported_asymmetric_algorithms_rejected(
    issuer: IssuerState, verifier: OidcVerifier
) -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    token = jwt.encode(_claims(issuer), private, algorithm="ES384", headers={"kid": "ec-384"})
    _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))


def test_forged_signature_rejected(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    impostor = _rsa("rsa-1")  # same kid, another private key
    token = _token(impostor, _claims(issuer))
    _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))


def test_token_without_kid_uses_key_of_matching_algorithm(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    token = jwt.encode(_claims(issuer), keys["ec"].private, algorithm="ES256")
    assert verifier.verify(token, _provider(issuer)).subject == "user-1"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 20001, "é.é.é"])
def test_garbage_token_rejected(token: str, issuer: IssuerState, verifier: OidcVerifier) -> None:
    _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))


# ---------------------------------------------------------------- caching and rotation


def test_keys_cached_per_issuer(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier, clock: Clock
) -> None:
    provider = _provider(issuer)
    for name in ("rsa", "ec", "ed", "rsa"):
        verifier.verify(_token(keys[name], _claims(issuer)), provider)
    assert issuer.hits == Counter({"/.well-known/openid-configuration": 1, "/jwks": 1})
    clock.now = T0 + 3599
    verifier.verify(_token(keys["rsa"], _claims(issuer, iat=T0 + 3599, exp=T0 + 4000)), provider)
    assert issuer.hits["/jwks"] == 1
    clock.now = T0 + 3600  # cache_ttl elapsed
    verifier.verify(_token(keys["rsa"], _claims(issuer, iat=T0 + 3600, exp=T0 + 4000)), provider)
    assert issuer.hits["/jwks"] == 2


def test_rotation_unknown_kid_refetches_once(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier, clock: Clock
) -> None:
    provider = _provider(issuer)
    verifier.verify(_token(keys["rsa"], _claims(issuer)), provider)
    issuer.jwks = [keys["rsa2"].jwk]  # the IdP rotates
    clock.now = T0 + 120
    claims = _claims(issuer, iat=T0 + 120, exp=T0 + 700)
    assert verifier.verify(_token(keys["rsa2"], claims), provider).subject == "user-1"
    assert issuer.hits["/jwks"] == 2
    # The retired key is gone from the refreshed cache.
    _expect_code("InvalidIdentityToken", verifier.verify, _token(keys["rsa"], claims), provider)


def test_unknown_kid_refetch_is_rate_limited(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier, clock: Clock
) -> None:
    provider = _provider(issuer)
    verifier.verify(_token(keys["rsa"], _claims(issuer)), provider)
    invented = _token(keys["rsa"], _claims(issuer), kid="invented")
    clock.now = T0 + 61
    _expect_code("InvalidIdentityToken", verifier.verify, invented, provider)
    assert issuer.hits["/jwks"] == 2  # one refetch
    for offset in (62, 70, 100):
        clock.now = T0 + offset
        _expect_code("InvalidIdentityToken", verifier.verify, invented, provider)
    assert issuer.hits["/jwks"] == 2  # no more within refetch_interval
    clock.now = T0 + 122
    _expect_code("InvalidIdentityToken", verifier.verify, invented, provider)
    assert issuer.hits["/jwks"] == 3


def test_wrong_issuer_does_not_fetch(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    token = _token(keys["rsa"], _claims(issuer, iss="https://elsewhere.example.com"))
    _expect_code("InvalidIdentityToken", verifier.verify, token, _provider(issuer))
    assert sum(issuer.hits.values()) == 0


# ---------------------------------------------------------------- the IdP misbehaving


def test_issuer_down_connection_refused(keys: dict[str, IdpKey], clock: Clock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    token = jwt.encode(
        {"iss": url, "sub": "u", "aud": "client-a", "iat": T0, "exp": T0 + 60},
        keys["rsa"].private,
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )
    with OidcVerifier(clock=clock, timeout=1.0) as verifier:
        _expect_code("IDPCommunicationError", verifier.verify, token, OidcProvider(url, ("client-a",)))


def test_issuer_hangs_times_out(keys: dict[str, IdpKey], clock: Clock) -> None:
    """A server that accepts but never answers: the bounded timeout × attempts ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        token = jwt.encode(
            {"iss": url, "sub": "u", "aud": "client-a", "iat": T0, "exp": T0 + 60},
            keys["rsa"].private,
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        )
        started = time.monotonic()
        with OidcVerifier(clock=clock, timeout=0.05) as verifier:
            _expect_code("IDPCommunicationError", verifier.verify, token, OidcProvider(url, ("client-a",)))
        # Hang guard only (3 attempts x 50 ms); not a performance assertion.
        assert time.monotonic() - started < 30


def test_server_errors_retried_twice(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    issuer.status["/jwks"] = 503
    _expect_code(
        "IDPCommunicationError", verifier.verify, _token(keys["rsa"], _claims(issuer)), _provider(issuer)
    )
    assert issuer.hits["/jwks"] == 3
    del issuer.status["/jwks"]
    verifier.verify(_token(keys["rsa"], _claims(issuer)), _provider(issuer))  # failures are not cached


def test_client_errors_not_retried(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    issuer.status["/.well-known/openid-configuration"] = 404
    _expect_code(
        "IDPCommunicationError", verifier.verify, _token(keys["rsa"], _claims(issuer)), _provider(issuer)
    )
    assert issuer.hits["/.well-known/openid-configuration"] == 1


def test_discovery_for_another_issuer_refused(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    issuer.discovery_issuer = "https://someone-else.example.com"
    _expect_code(
        "IDPCommunicationError", verifier.verify, _token(keys["rsa"], _claims(issuer)), _provider(issuer)
    )


def test_injected_httpx_client_is_used(issuer: IssuerState, keys: dict[str, IdpKey], clock: Clock) -> None:
    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda request: seen.append(str(request.url))]}) as client:
        verifier = OidcVerifier(client, clock)
        verifier.verify(_token(keys["rsa"], _claims(issuer)), _provider(issuer))
    assert seen == [issuer.url + "/.well-known/openid-configuration", issuer.url + "/jwks"]


# ---------------------------------------------------------------- async twin


def test_async_verifier_matches_sync(issuer: IssuerState, keys: dict[str, IdpKey], clock: Clock) -> None:
    provider = _provider(issuer)

    async def scenario() -> tuple[WebIdentityClaims, str]:
        async with AsyncOidcVerifier(clock=clock, timeout=2.0) as verifier:
            good = await verifier.verify(_token(keys["ec"], _claims(issuer, amr=["mfa"])), provider)
            try:
                await verifier.verify(_token(keys["rsa"], _claims(issuer, aud="nobody")), provider)
            except STSError as error:
                return good, error.code
            return good, "no error"

    claims, code = asyncio.run(scenario())
    assert claims.subject == "user-1" and claims.amr == ("mfa",)
    assert code == "InvalidIdentityToken"
    assert issuer.hits["/jwks"] == 1


def test_async_issuer_down(keys: dict[str, IdpKey], clock: Clock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    token = jwt.encode(
        {"iss": url, "sub": "u", "aud": "c", "iat": T0, "exp": T0 + 60},
        keys["rsa"].private,
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )

    async def scenario() -> str:
        async with AsyncOidcVerifier(clock=clock, timeout=1.0) as verifier:
            try:
                await verifier.verify(token, OidcProvider(url, ("c",)))
            except STSError as error:
                return error.code
        return "no error"

    assert asyncio.run(scenario()) == "IDPCommunicationError"


# ---------------------------------------------------------------- provider and condition keys


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.com",
        "ftp://idp.example.com",
        "https://idp.example.com?x=1",
        "https://",
        "idp.example.com",
    ],
)
def test_provider_url_must_be_https(url: str) -> None:
    with pytest.raises(ValueError):
        OidcProvider(url, ("client",))


def test_provider_needs_a_client_id() -> None:
    with pytest.raises(ValueError):
        OidcProvider("https://idp.example.com", ())


def _condition_rows() -> list[Any]:
    rows = json.loads((DATA / "oidc_condition_keys.json").read_text())
    return [pytest.param(row, id=row["id"]) for row in rows]


@pytest.mark.parametrize("row", _condition_rows())
def test_condition_keys(row: dict[str, Any]) -> None:
    claims = WebIdentityClaims(
        issuer=row["issuer"],
        subject=row["claims"]["sub"],
        audience=row["audience"],
        claims=row["claims"],
        amr=tuple(row.get("amr", ())),
    )
    keys = condition_keys(claims)
    expected = {k: tuple(v) if isinstance(v, list) else v for k, v in row["keys"].items()}
    assert keys == expected
    for key in row.get("absent", []):
        assert key not in keys


def test_condition_keys_from_verified_token(
    issuer: IssuerState, keys: dict[str, IdpKey], verifier: OidcVerifier
) -> None:
    token = _token(keys["rsa"], _claims(issuer, aud="sts.amazonaws.com", azp="client-b", amr=["pwd"]))
    result = condition_keys(verifier.verify(token, _provider(issuer)))
    prefix = issuer.url.removeprefix("http://")
    assert result == {
        f"{prefix}:sub": "user-1",
        f"{prefix}:aud": "client-b",
        f"{prefix}:oaud": "sts.amazonaws.com",
        f"{prefix}:amr": ("pwd",),
    }
