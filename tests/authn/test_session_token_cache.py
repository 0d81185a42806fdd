"""Tests for the verified-token cache of iamguard.authn.session_token.SessionTokenService.

The cache must be invisible except for speed: every answer (claims, secret, error and its code)
equals what full verification gives at the same clock time and keyring state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn.session_token import IssuedCredentials, SessionClaims, SessionTokenService
from iamguard.errors import AuthenticationError, ExpiredCredentialsError, InvalidAccessKeyError
from iamguard.sts.keys import KeyRing, SigningKey

T0 = 1_770_000_000
ACCOUNT = "123456789012"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _issue(service: SessionTokenService, duration: int = 3600, name: str = "s1") -> IssuedCredentials:
    credentials, _ = service.issue(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/{name}",
        account=ACCOUNT,
        principal_type="AssumedRole",
        user_id=f"AROA3XFRBF535PLBIFPI4:{name}",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/Deploy",
        session_name=name,
        duration_seconds=duration,
        tags={"team": "red"},
    )
    return credentials


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def ring(clock: Clock) -> KeyRing:
    return KeyRing.generate(clock=clock)


@pytest.fixture()
def service(ring: KeyRing, clock: Clock) -> SessionTokenService:
    return SessionTokenService(ring, clock=clock)


def _entries(service: SessionTokenService) -> int:
    return service.cache_info[0]


def test_hit_returns_the_same_claims_and_secret(service: SessionTokenService, clock: Clock) -> None:
    credentials = _issue(service)
    first = service.verify(credentials.session_token, access_key_id=credentials.access_key_id)
    assert _entries(service) > 0
    clock.now += 60
    second = service.verify(credentials.session_token, access_key_id=credentials.access_key_id)
    assert second is first  # served from the cache, not re-decoded
    assert service.secret_for(second) == credentials.secret_access_key
    claims, secret = service.verify_with_secret(
        credentials.session_token, access_key_id=credentials.access_key_id
    )
    assert claims is first and secret == credentials.secret_access_key


def test_cached_answers_equal_uncached_ones(ring: KeyRing, clock: Clock) -> None:
    cached = SessionTokenService(ring, clock=clock)
    uncached = SessionTokenService(ring, clock=clock, cache_size=0)
    assert uncached.cache_info == (0, 0)
    credentials = _issue(cached)
    for _ in range(3):
        a = cached.verify(credentials.session_token)
        b = uncached.verify(credentials.session_token)
        assert a == b
        assert cached.secret_for(a) == uncached.secret_for(b) == credentials.secret_access_key


def test_secret_for_claims_not_from_the_cache_is_derived(service: SessionTokenService) -> None:
    credentials = _issue(service)
    claims = service.verify(credentials.session_token)
    copy = replace(claims)  # equal, but not the cached object
    assert copy is not claims
    assert service.secret_for(copy) == credentials.secret_access_key


def test_expired_while_cached_is_rejected_with_expired_token(
    service: SessionTokenService, clock: Clock
) -> None:
    """An expired token is refused with ExpiredToken even though it was cached while current.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_Credentials.html (Expiration)"""
    credentials = _issue(service, duration=900)
    service.verify(credentials.session_token)
    clock.now = T0 + 899
    service.verify(credentials.session_token)  # last valid second: still served
    clock.now = T0 + 900
    with pytest.raises(ExpiredCredentialsError) as info:
        service.verify(credentials.session_token)
    assert info.value.code == "ExpiredToken"
    assert _entries(service) == 0  # evicted, including the secret index
    with pytest.raises(ExpiredCredentialsError):
        service.verify(credentials.session_token)


def test_entry_never_outlives_the_token_or_the_ttl(ring: KeyRing, clock: Clock) -> None:
    service = SessionTokenService(ring, clock=clock, cache_ttl=300)
    short = _issue(service, duration=900, name="short")
    service.verify(short.session_token)
    clock.now = T0 + 301  # past cache_ttl: the entry is gone, the token is re-verified
    assert _entries(service) == 0
    assert service.verify(short.session_token).session_name == "short"


def test_clock_moving_back_before_iat_is_rejected_on_a_hit(
    service: SessionTokenService, clock: Clock
) -> None:
    credentials = _issue(service)
    service.verify(credentials.session_token)
    clock.now = T0 - 10
    with pytest.raises(InvalidAccessKeyError):
        service.verify(credentials.session_token)


def test_access_key_mismatch_on_a_cached_token_is_rejected(service: SessionTokenService) -> None:
    credentials = _issue(service)
    other = _issue(service, name="s2")
    service.verify(credentials.session_token, access_key_id=credentials.access_key_id)
    with pytest.raises(InvalidAccessKeyError) as info:
        service.verify(credentials.session_token, access_key_id=other.access_key_id)
    assert info.value.code == "InvalidClientTokenId"
    with pytest.raises(InvalidAccessKeyError):
        service.verify_with_secret(credentials.session_token, access_key_id=other.access_key_id)
    # the genuine pairing still works afterwards
    service.verify(credentials.session_token, access_key_id=credentials.access_key_id)


def test_forged_tokens_are_never_cached(service: SessionTokenService) -> None:
    credentials = _issue(service)
    header, payload, signature = credentials.session_token.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    forged = f"{header}.{payload}.{flipped}"
    for _ in range(2):
        with pytest.raises(InvalidAccessKeyError):
            service.verify(forged)
    assert _entries(service) == 0


def test_cache_keys_are_digests_not_tokens(service: SessionTokenService) -> None:
    """A cache key may be logged or dumped; it must not be a usable bearer token."""
    credentials = _issue(service)
    service.verify(credentials.session_token)
    keys = list(service._cache or {})  # white-box: what the cache actually holds
    digest = hashlib.sha256(credentials.session_token.encode()).digest()
    assert any(key[0] == digest for key in keys)
    token_bytes = credentials.session_token.encode()
    assert all(token_bytes not in key[0] and credentials.session_token not in repr(key) for key in keys)


def _retire_signer(ring: KeyRing, kid: str) -> None:
    ring.retire(kid)


def _prune_retired(ring: KeyRing, kid: str) -> None:
    ring.retire(kid)
    ring.prune(max_session_seconds=3600)


def _rotate(ring: KeyRing, kid: str) -> None:
    ring.rotate()


def _add_staged(ring: KeyRing, kid: str) -> None:
    ring.add(SigningKey.generate(now=T0 + 86400))


# (keyring change after the token was cached, error code then expected or None when it still verifies)
KEYRING_CHANGES: list[tuple[str, Callable[[KeyRing, str], None], str | None]] = [
    ("retire-signer", _retire_signer, "InvalidClientTokenId"),
    ("prune-retired-signer", _prune_retired, "InvalidClientTokenId"),
    ("rotate", _rotate, None),  # old keys keep verifying what they signed
    ("add-staged-key", _add_staged, None),
]


@pytest.mark.parametrize(
    ("change", "expected"), [row[1:] for row in KEYRING_CHANGES], ids=[r[0] for r in KEYRING_CHANGES]
)
def test_keyring_changes_invalidate_the_cache(
    service: SessionTokenService, ring: KeyRing, change: Callable[[KeyRing, str], None], expected: str | None
) -> None:
    credentials = _issue(service)
    claims = service.verify(credentials.session_token)
    version = ring.version
    change(ring, claims.kid)
    assert ring.version > version
    if expected is None:
        again = service.verify(credentials.session_token)
        assert again == claims and again is not claims  # re-verified under the new ring
        assert service.secret_for(again) == credentials.secret_access_key
        return
    with pytest.raises(AuthenticationError) as info:
        service.verify(credentials.session_token)
    assert info.value.code == expected
    with pytest.raises(InvalidAccessKeyError):
        service.secret_for(claims)  # the claims handed out before the change give no secret either


def test_cache_is_bounded(ring: KeyRing, clock: Clock) -> None:
    service = SessionTokenService(ring, clock=clock, cache_size=8)
    tokens = [_issue(service, name=f"s{i}") for i in range(30)]
    for credentials in tokens:
        service.verify(credentials.session_token)
        entries, maxsize = service.cache_info
        assert entries <= maxsize == 8
    for credentials in tokens:  # evicted tokens are verified again, not refused
        assert service.verify(credentials.session_token).access_key_id == credentials.access_key_id


def test_clear_cache(service: SessionTokenService) -> None:
    credentials = _issue(service)
    service.verify(credentials.session_token)
    service.clear_cache()
    assert _entries(service) == 0


@pytest.mark.parametrize("bad", [{"cache_size": -1}, {"cache_ttl": -1.0}])
def test_negative_cache_settings_refused(ring: KeyRing, bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SessionTokenService(ring, **bad)  # type: ignore[arg-type]


def test_concurrent_verifies_agree(service: SessionTokenService) -> None:
    tokens = [_issue(service, name=f"s{i}") for i in range(8)]

    def check(index: int) -> tuple[str, str]:
        credentials = tokens[index % len(tokens)]
        claims, secret = service.verify_with_secret(
            credentials.session_token, access_key_id=credentials.access_key_id
        )
        return claims.access_key_id, secret

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, range(400)))
    for index, (akid, secret) in enumerate(results):
        expected = tokens[index % len(tokens)]
        assert (akid, secret) == (expected.access_key_id, expected.secret_access_key)


# ------------------------------------------------------------------ property: cached == uncached

_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(min_value=0, max_value=1200)),
        st.tuples(
            st.just("verify"), st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=2)
        ),
        st.tuples(st.just("retire"), st.integers(min_value=0, max_value=1)),
        st.tuples(st.just("rotate")),
    ),
    max_size=25,
)


def _outcome(
    service: SessionTokenService, token: str, akid: str
) -> tuple[str, SessionClaims | None, str | None]:
    try:
        claims = service.verify(token, access_key_id=akid)
    except AuthenticationError as exc:
        return exc.code, None, None
    try:
        return "ok", claims, service.secret_for(claims)
    except AuthenticationError as exc:
        return exc.code, claims, None


@settings(max_examples=60, deadline=None)
@given(ops=_OPS)
def test_property_cached_and_uncached_services_agree(ops: list[tuple[object, ...]]) -> None:
    clock = Clock(T0)
    ring = KeyRing.generate(clock=clock, alg="HS256")  # HS256 keeps the property fast
    cached = SessionTokenService(ring, clock=clock, cache_size=4, cache_ttl=600)
    uncached = SessionTokenService(ring, clock=clock, cache_size=0)
    tokens = [_issue(cached, duration=900 + 600 * i, name=f"s{i}") for i in range(3)]
    for op in ops:
        if op[0] == "advance":
            clock.now += int(str(op[1]))
        elif op[0] == "retire":
            keys = ring.keys
            ring.retire(keys[int(str(op[1])) % len(keys)].kid)
        elif op[0] == "rotate":
            ring.rotate()
        else:
            credentials = tokens[int(str(op[1]))]
            akid = tokens[int(str(op[2]))].access_key_id
            assert _outcome(cached, credentials.session_token, akid) == _outcome(
                uncached, credentials.session_token, akid
            )
