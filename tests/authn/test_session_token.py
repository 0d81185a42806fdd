"""Tests for iamguard.authn.session_token: issue/verify, secret derivation, forgery refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn.session_token import (
    IssuedCredentials,
    SessionClaims,
    SessionTokenService,
    is_session_access_key_id,
)
from iamguard.errors import ExpiredCredentialsError, InvalidAccessKeyError, STSError
from iamguard.sts.keys import KeyRing

DATA = Path(__file__).parent.parent / "data" / "sts"
T0 = 1_770_000_000  # 2026-02-02T02:40:00Z
ACCOUNT = "123456789012"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _ring(clock: Clock, alg: str = "EdDSA") -> KeyRing:
    return KeyRing.generate(alg=alg, clock=clock)


def _issue_role(
    service: SessionTokenService, duration: int = 3600
) -> tuple[IssuedCredentials, SessionClaims]:
    return service.issue(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/s1",
        account=ACCOUNT,
        principal_type="AssumedRole",
        user_id="AROA3XFRBF535PLBIFPI4:s1",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/Deploy",
        session_name="s1",
        duration_seconds=duration,
    )


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture(params=["EdDSA", "HS256"])
def service(request: pytest.FixtureRequest, clock: Clock) -> SessionTokenService:
    return SessionTokenService(_ring(clock, request.param), clock=clock)


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _payload(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def _assert_invalid(service: SessionTokenService, token: str, **kwargs: Any) -> None:
    with pytest.raises(InvalidAccessKeyError) as info:
        service.verify(token, **kwargs)
    assert info.value.code == "InvalidClientTokenId"
    assert str(info.value) == "The security token included in the request is invalid."


# ---------------------------------------------------------------- table: issue → verify


def _case_rows() -> list[Any]:
    rows = json.loads((DATA / "session_cases.json").read_text())
    return [pytest.param(row, id=row["id"]) for row in rows]


@pytest.mark.parametrize("row", _case_rows())
def test_issue_verify_round_trip(row: dict[str, Any], service: SessionTokenService, clock: Clock) -> None:
    credentials, issued = service.issue(**row["issue"])
    assert is_session_access_key_id(credentials.access_key_id)
    assert len(credentials.secret_access_key) == 40
    assert int(credentials.expiration.timestamp()) == T0 + row["issue"]["duration_seconds"]

    verified = service.verify(credentials.session_token, access_key_id=credentials.access_key_id)
    assert verified == issued
    assert service.secret_for(verified) == credentials.secret_access_key
    for name, expected in row["claims"].items():
        assert getattr(verified, name) == expected, name

    context = verified.to_principal(now=clock()).context_keys()
    for key, expected in row["context"].items():
        assert context.get(key) == expected, key
    for key in row["absent"]:
        assert key not in context, key


def test_other_node_with_same_keyring_verifies_and_derives(clock: Clock) -> None:
    issuer_node = SessionTokenService(KeyRing.load(DATA / "keyring.json", clock=clock), clock=clock)
    verifier_node = SessionTokenService(KeyRing.load(DATA / "keyring.json", clock=clock), clock=clock)
    credentials, _ = _issue_role(issuer_node)
    claims = verifier_node.verify(credentials.session_token)
    assert claims.kid == "ed-2026-01"
    assert verifier_node.secret_for(claims) == credentials.secret_access_key


def test_issued_credentials_repr_hides_secret_and_token(service: SessionTokenService) -> None:
    credentials, _ = _issue_role(service)
    text = repr(credentials)
    assert credentials.secret_access_key not in text
    assert credentials.session_token not in text
    assert credentials.access_key_id in text


def test_each_issue_makes_new_ids_and_secrets(service: SessionTokenService) -> None:
    first, a = _issue_role(service)
    second, b = _issue_role(service)
    assert first.access_key_id != second.access_key_id
    assert first.secret_access_key != second.secret_access_key
    assert a.jti != b.jti


@pytest.mark.parametrize("duration", [0, 899, 129601, -1])
def test_duration_out_of_range(service: SessionTokenService, duration: int) -> None:
    """DurationSeconds: 900 s to 36 h (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html)."""
    with pytest.raises(STSError) as info:
        _issue_role(service, duration)
    assert info.value.code == "ValidationError"


def test_malformed_session_policy_rejected(service: SessionTokenService) -> None:
    with pytest.raises(STSError) as info:
        service.issue(
            arn=f"arn:aws:sts::{ACCOUNT}:federated-user/Bob",
            account=ACCOUNT,
            principal_type="FederatedUser",
            user_id=f"{ACCOUNT}:Bob",
            session_policy="{not json",
            duration_seconds=900,
        )
    assert info.value.code == "MalformedPolicyDocument"


# ---------------------------------------------------------------- the secret stays secret


def test_token_alone_does_not_reveal_the_secret(service: SessionTokenService) -> None:
    credentials, _ = _issue_role(service)
    token = credentials.session_token
    assert credentials.secret_access_key not in token
    payload = _payload(token)
    assert credentials.secret_access_key not in json.dumps(payload)
    header = jwt.get_unverified_header(token)
    assert credentials.secret_access_key not in json.dumps(header)


def test_signing_key_without_derivation_key_gives_another_secret(clock: Clock) -> None:
    ring = _ring(clock)
    service = SessionTokenService(ring, clock=clock)
    credentials, claims = _issue_role(service)
    original = ring.primary()
    impostor = replace(original, derivation_key=b"\x00" * 32)
    other = SessionTokenService(KeyRing([impostor], clock=clock), clock=clock)
    # Same signing key: the token verifies, but the secret cannot be reproduced.
    assert other.verify(credentials.session_token) == claims
    assert other.secret_for(claims) != credentials.secret_access_key


def test_secret_for_refuses_retired_or_unknown_kid(clock: Clock) -> None:
    ring = _ring(clock)
    service = SessionTokenService(ring, clock=clock)
    _, claims = _issue_role(service)
    with pytest.raises(InvalidAccessKeyError):
        service.secret_for(replace(claims, kid="nope"))
    ring.retire(claims.kid)
    with pytest.raises(InvalidAccessKeyError):
        service.secret_for(claims)


# ---------------------------------------------------------------- tampering and forgery


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_tampered_segment_rejected(service: SessionTokenService, segment: int) -> None:
    credentials, _ = _issue_role(service)
    parts = _segments(credentials.session_token)
    middle = len(parts[segment]) // 2
    char = parts[segment][middle]
    parts[segment] = parts[segment][:middle] + ("A" if char != "A" else "B") + parts[segment][middle + 1 :]
    _assert_invalid(service, ".".join(parts))


def test_payload_with_edited_claim_rejected(service: SessionTokenService) -> None:
    credentials, _ = _issue_role(service)
    header, _, signature = _segments(credentials.session_token)
    payload = _payload(credentials.session_token)
    payload["sub"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/s1"
    forged = ".".join([header, _b64(json.dumps(payload).encode()), signature])
    _assert_invalid(service, forged)


def test_regression_alg_none_rejected(service: SessionTokenService) -> None:
    credentials, _ = _issue_role(service)
    payload = _payload(credentials.session_token)
    kid = jwt.get_unverified_header(credentials.session_token)["kid"]
    for alg in ("none", "None", "NONE"):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(payload).encode())
        _assert_invalid(service, f"{header}.{body}.")
        _assert_invalid(service, f"{header}.{body}.{_segments(credentials.session_token)[2]}")


def test_regression_alg_confusion_hs256_for_eddsa_kid(clock: Clock) -> None:
    """An HS256 token keyed with the Ed25519 *public* key must not verify under the EdDSA kid."""
    ring = _ring(clock, "EdDSA")
    service = SessionTokenService(ring, clock=clock)
    credentials, _ = _issue_role(service)
    key = ring.primary()
    public = key.to_json()["public_key"]
    payload = _payload(credentials.session_token)
    for secret in (base64.urlsafe_b64decode(public + "="), public.encode(), key.derivation_key):
        forged = jwt.encode(payload, secret, algorithm="HS256", headers={"kid": key.kid})
        _assert_invalid(service, forged)


def test_regression_header_alg_must_equal_pinned_alg(clock: Clock) -> None:
    """A correctly signed HS256 token presented with the header naming another algorithm."""
    ring = _ring(clock, "HS256")
    service = SessionTokenService(ring, clock=clock)
    credentials, _ = _issue_role(service)
    _, body, signature = _segments(credentials.session_token)
    kid = ring.primary().kid
    for alg in ("HS512", "EdDSA", "RS256", "hs256"):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        _assert_invalid(service, f"{header}.{body}.{signature}")


def test_regression_unknown_or_missing_kid_rejected(service: SessionTokenService) -> None:
    credentials, _ = _issue_role(service)
    key = service.keyring.primary()
    payload = _payload(credentials.session_token)
    material = key.signing_material
    assert material is not None
    for headers in ({"kid": "unknown"}, {}):
        forged = jwt.encode(payload, material, algorithm=key.alg, headers=headers)
        _assert_invalid(service, forged)
    # A non-string kid (pyjwt refuses to encode one, so sign by hand).
    header = _b64(json.dumps({"alg": key.alg, "typ": "JWT", "kid": 7}).encode())
    signing_input = f"{header}.{_segments(credentials.session_token)[1]}".encode()
    if isinstance(material, bytes):
        signature = hmac.new(material, signing_input, hashlib.sha256).digest()
    else:
        signature = material.sign(signing_input)
    _assert_invalid(service, f"{signing_input.decode()}.{_b64(signature)}")


def test_regression_noncanonical_base64_signature_rejected(service: SessionTokenService) -> None:
    """Unused low bits of the last base64url character must not yield a second valid token."""
    credentials, _ = _issue_role(service)
    header, body, signature = _segments(credentials.session_token)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    used_bits = {2: 4, 3: 2}[len(signature) % 4]  # 32-byte HMAC and 64-byte Ed25519 both end short
    for low in range(1, 2 ** (6 - used_bits)):
        variant = signature[:-1] + alphabet[last ^ low]
        _assert_invalid(service, f"{header}.{body}.{variant}")


def test_regression_valid_signature_wrong_claim_types_rejected(clock: Clock) -> None:
    ring = _ring(clock, "EdDSA")
    service = SessionTokenService(ring, clock=clock)
    credentials, _ = _issue_role(service)
    key = ring.primary()
    assert key.signing_material is not None
    for name, value in (
        ("tags", ["a"]),
        ("mfa", "true"),
        ("iat", "1"),
        ("akid", "AKIAEXAMPLE"),
        ("ptype", "Root"),
    ):
        payload = _payload(credentials.session_token)
        payload[name] = value
        forged = jwt.encode(payload, key.signing_material, algorithm="EdDSA", headers={"kid": key.kid})
        _assert_invalid(service, forged)


def test_regression_other_issuer_rejected(clock: Clock) -> None:
    ring = _ring(clock)
    credentials, _ = _issue_role(SessionTokenService(ring, clock=clock, issuer="other-sts"))
    _assert_invalid(SessionTokenService(ring, clock=clock), credentials.session_token)


def test_access_key_id_must_match(service: SessionTokenService) -> None:
    credentials, _ = _issue_role(service)
    other, _ = _issue_role(service)
    _assert_invalid(service, credentials.session_token, access_key_id=other.access_key_id)
    _assert_invalid(service, credentials.session_token, access_key_id="AKIAIOSFODNN7EXAMPLE")
    _assert_invalid(service, credentials.session_token, access_key_id="ASIA\udcc3")


# "\udcc3\udc28": undecodable query bytes as a request view hands them on (surrogate escapes):
# once raised UnicodeEncodeError (a 500) from the verification cache's digest.
@pytest.mark.parametrize("garbage", ["", "a.b", "a.b.c.d", "...", "x" * 70000, "é.é.é", "\udcc3\udc28\udcff"])
def test_garbage_rejected(service: SessionTokenService, garbage: str) -> None:
    _assert_invalid(service, garbage)


# ---------------------------------------------------------------- time


def test_expired_rejected_with_expired_token(service: SessionTokenService, clock: Clock) -> None:
    credentials, _ = _issue_role(service, 900)
    clock.now = T0 + 899
    service.verify(credentials.session_token)
    clock.now = T0 + 900
    with pytest.raises(ExpiredCredentialsError) as info:
        service.verify(credentials.session_token)
    assert info.value.code == "ExpiredToken"


def test_leeway_extends_both_ends(clock: Clock) -> None:
    ring = _ring(clock)
    strict = SessionTokenService(ring, clock=clock)
    lenient = SessionTokenService(ring, clock=clock, leeway=30)
    credentials, _ = _issue_role(strict, 900)
    clock.now = T0 + 910
    lenient.verify(credentials.session_token)
    clock.now = T0 - 20
    lenient.verify(credentials.session_token)
    _assert_invalid(strict, credentials.session_token)


def test_not_yet_valid_rejected(service: SessionTokenService, clock: Clock) -> None:
    credentials, _ = _issue_role(service)
    clock.now = T0 - 1
    _assert_invalid(service, credentials.session_token)


def test_expired_forgery_reports_invalid_not_expired(service: SessionTokenService, clock: Clock) -> None:
    """Only a genuine token learns it is expired: the signature is checked first."""
    credentials, _ = _issue_role(service, 900)
    parts = _segments(credentials.session_token)
    parts[2] = parts[2][:10] + ("A" if parts[2][10] != "A" else "B") + parts[2][11:]
    clock.now = T0 + 5000
    _assert_invalid(service, ".".join(parts))


# ---------------------------------------------------------------- rotation


def test_rotation_old_tokens_verify_until_retired(clock: Clock) -> None:
    ring = _ring(clock)
    service = SessionTokenService(ring, clock=clock)
    old_credentials, old_claims = _issue_role(service)
    clock.now = T0 + 60
    new_key = ring.rotate()
    new_credentials, new_claims = _issue_role(service)
    assert new_claims.kid == new_key.kid != old_claims.kid
    assert service.verify(old_credentials.session_token) == old_claims
    assert service.secret_for(old_claims) == old_credentials.secret_access_key
    assert service.verify(new_credentials.session_token) == new_claims
    ring.retire(old_claims.kid)
    _assert_invalid(service, old_credentials.session_token)
    service.verify(new_credentials.session_token)


def test_regression_closed_key_cannot_sign_later_tokens(clock: Clock) -> None:
    """Someone holding a rotated-out key cannot mint tokens dated after its not_after."""
    ring = _ring(clock)
    service = SessionTokenService(ring, clock=clock)
    credentials, _ = _issue_role(service)
    old = ring.primary()
    assert old.signing_material is not None
    clock.now = T0 + 100
    ring.rotate()
    clock.now = T0 + 200
    payload = _payload(credentials.session_token)
    payload.update(iat=T0 + 200, nbf=T0 + 200, exp=T0 + 1200)
    forged = jwt.encode(payload, old.signing_material, algorithm=old.alg, headers={"kid": old.kid})
    _assert_invalid(service, forged)


# ---------------------------------------------------------------- property


_PROPERTY_CLOCK = Clock(T0)
_PROPERTY_SERVICE = SessionTokenService(
    KeyRing.load(DATA / "keyring.json", clock=_PROPERTY_CLOCK), clock=_PROPERTY_CLOCK
)
_PROPERTY_TOKEN = _issue_role(_PROPERTY_SERVICE)[0].session_token


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(_PROPERTY_TOKEN) - 1), byte=st.integers(0, 255))
def test_property_any_single_byte_change_rejected(position: int, byte: int) -> None:
    raw = bytearray(_PROPERTY_TOKEN.encode("ascii"))
    if raw[position] == byte:
        byte ^= 0x01
    raw[position] = byte
    with pytest.raises(InvalidAccessKeyError):
        _PROPERTY_SERVICE.verify(raw.decode("latin-1"))
