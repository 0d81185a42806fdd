"""SAML assertion replay through a shared store: SamlVerifier's ``replay_store``.

Two verifiers on one store stand for two processes behind one endpoint (the cross-process test
with real processes is tests/store/test_security_state.py). AssumeRoleWithSAML accepts an
assertion once: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
"""

from __future__ import annotations

import pytest

from iamguard.errors import StoreUnavailableError, STSError
from iamguard.store import open_store
from iamguard.sts.saml import SamlVerifier

from .test_saml import ENTITY_ID, PROVIDER_ARN, ROLE_ARN, T0, Clock, SigningKey, make_key, make_response
from .test_saml import make_verifier as _make_verifier


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return make_key()


class _Recorder:
    """A ``OneTimeUse`` that answers as told and counts questions."""

    def __init__(self, answer: bool | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, float, float | None]] = []

    def consume_once(self, namespace: str, key: str, expires_at: float, *, now: float | None = None) -> bool:
        self.calls.append((namespace, key, expires_at, now))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _verifier(key: SigningKey, store: object | None) -> SamlVerifier:
    return _make_verifier(key, replay_store=store)


def test_two_verifiers_on_one_store_accept_an_assertion_once(key: SigningKey) -> None:
    store = open_store("memory://")
    first, second = _verifier(key, store), _verifier(key, store)
    response = make_response(key)
    assert first.verify(response, PROVIDER_ARN, ROLE_ARN).role_session_name == "alice"
    with pytest.raises(STSError) as info:
        second.verify(response, PROVIDER_ARN, ROLE_ARN)
    assert (info.value.code, info.value.http_status) == ("InvalidIdentityToken", 400)


def test_without_a_store_each_verifier_remembers_only_its_own(key: SigningKey) -> None:
    """The documented single-process fallback: two storeless verifiers do not share replays."""
    first, second = _verifier(key, None), _verifier(key, None)
    response = make_response(key)
    first.verify(response, PROVIDER_ARN, ROLE_ARN)
    second.verify(response, PROVIDER_ARN, ROLE_ARN)
    with pytest.raises(STSError):
        first.verify(response, PROVIDER_ARN, ROLE_ARN)


def test_the_store_decides_not_the_in_process_cache(key: SigningKey) -> None:
    refusing = _Recorder(False)
    with pytest.raises(STSError) as info:
        _verifier(key, refusing).verify(make_response(key), PROVIDER_ARN, ROLE_ARN)
    assert info.value.code == "InvalidIdentityToken"
    namespace, record_key, expires_at, now = refusing.calls[0]
    assert namespace == "saml-assertion" and len(record_key) == 64  # SHA-256 of issuer and ID
    assert now == T0 and expires_at == T0 + 300 + 300  # until the assertion expires, plus skew


def test_a_replay_seen_here_is_refused_without_asking_the_store(key: SigningKey) -> None:
    store = _Recorder(True)
    verifier = _verifier(key, store)
    response = make_response(key)
    verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    with pytest.raises(STSError):
        verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    assert len(store.calls) == 1


def test_a_store_failure_fails_closed(key: SigningKey) -> None:
    verifier = _verifier(key, _Recorder(StoreUnavailableError("database is down")))
    response = make_response(key)
    with pytest.raises(StoreUnavailableError):
        verifier.verify(response, PROVIDER_ARN, ROLE_ARN)
    # Nothing was recorded as seen either: once the store is back, the decision is the store's.
    working = _Recorder(True)
    verifier._replay_store = working
    assert verifier.verify(response, PROVIDER_ARN, ROLE_ARN).role_session_name == "alice"


def test_a_rejected_assertion_is_not_consumed_in_the_store(key: SigningKey) -> None:
    store = open_store("memory://")
    verifier = _verifier(key, store)
    response = make_response(key)
    with pytest.raises(STSError):
        verifier.verify(response, PROVIDER_ARN, "arn:aws:iam::123456789012:role/Other")
    assert _verifier(key, store).verify(response, PROVIDER_ARN, ROLE_ARN).role_session_name == "alice"


def test_replay_keys_are_scoped_by_issuer(key: SigningKey) -> None:
    from iamguard.sts.saml import _replay_key

    assert _replay_key(ENTITY_ID, "_a1") != _replay_key(ENTITY_ID + "x", "_a1")
    assert _replay_key("ab", "c") != _replay_key("a", "bc")  # no ambiguity at the join


def test_expired_records_leave_the_store_with_the_assertion(key: SigningKey) -> None:
    clock = Clock(T0)
    store = open_store("memory://", clock=clock)
    verifier = _make_verifier(key, replay_store=store, clock=clock)
    verifier.verify(make_response(key), PROVIDER_ARN, ROLE_ARN)
    with store.backend.read() as tx:
        assert tx.count("one_time_use") == 1
    clock.now = T0 + 601  # past NotOnOrAfter + skew: the next use prunes it
    assert store.consume_once("other", "k", clock.now + 60)
    with store.backend.read() as tx:
        assert [r["namespace"] for r in tx.select("one_time_use")] == ["other"]
