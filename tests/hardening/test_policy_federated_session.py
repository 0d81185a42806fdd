"""A federated user (GetFederationToken) given no session policy: denied by the evaluation logic
itself — an empty session policy set allows nothing — not by a ``Deny *`` statement STS wrote
into the token, whose explanation named a statement nobody wrote and said "explicit deny".
A resource policy naming the session itself still grants, as AWS documents.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html
"""

from __future__ import annotations

import json

import pytest

from iamguard.authn.authenticators import Authenticated
from iamguard.authn.session_token import SessionTokenService
from iamguard.decision import DecisionKind
from iamguard.enforce.guard import Guard
from iamguard.evaluate.engine import evaluate
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.keys import KeyRing
from iamguard.sts.service import TokenService, principal_for, session_policy_set

ACCOUNT = "111122223333"
T0 = 1_770_000_000.0
OBJECT = "arn:aws:s3:::bucket/key.txt"


def _clock() -> float:
    return T0


@pytest.fixture()
def store() -> IdentityService:
    store = open_store(
        "memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"), clock=_clock
    )
    store.create_user("alice")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    store.put_inline_policy(PrincipalKind.USER, "alice", "all", json.dumps(everything))
    return store


@pytest.fixture()
def service(store: IdentityService) -> TokenService:
    return TokenService(
        store, SessionTokenService(KeyRing.generate(clock=_clock), clock=_clock), clock=_clock
    )


def _federate(service: TokenService, store: IdentityService, policy: str | None = None):  # type: ignore[no-untyped-def]
    resolved = store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert resolved is not None
    result = service.get_federation_token(principal_for(resolved), name="bob", policy=policy)
    claims = service.tokens.verify(result.credentials.session_token)
    return claims.to_principal(now=T0), claims


def test_no_session_policy_is_an_implicit_deny_by_the_logic(
    service: TokenService, store: IdentityService
) -> None:
    principal, claims = _federate(service, store)
    assert claims.session_policy is None and claims.policy_arns == ()  # no synthetic statement
    policies = session_policy_set(claims, store)
    assert policies.session == ()  # present, and empty
    decision = evaluate(Request(principal, "s3:GetObject", OBJECT), policies)
    assert decision.kind is DecisionKind.IMPLICIT_DENY
    assert all(m.effect == "Allow" for m in decision.matched)  # no Deny statement took part
    assert "no session policy" in decision.reason


def test_resource_policy_naming_the_session_still_grants(
    service: TokenService, store: IdentityService
) -> None:
    principal, claims = _federate(service, store)
    bucket = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal.arn},
                    "Action": "s3:GetObject",
                    "Resource": OBJECT,
                }
            ],
        },
        kind=PolicyKind.RESOURCE,
    )
    base = session_policy_set(claims, store)
    policies = PolicySet(
        identity=base.identity, boundary=base.boundary, session=base.session, resource=bucket
    )
    assert evaluate(Request(principal, "s3:GetObject", OBJECT), policies).allowed
    assert not evaluate(Request(principal, "s3:PutObject", OBJECT), policies).allowed


def test_with_a_session_policy_the_intersection_applies(
    service: TokenService, store: IdentityService
) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    principal, claims = _federate(service, store, policy)
    policies = session_policy_set(claims, store)
    assert evaluate(Request(principal, "s3:GetObject", OBJECT), policies).allowed
    assert not evaluate(Request(principal, "s3:PutObject", OBJECT), policies).allowed


# Through the guard (the request path), a federated session is governed by its parent's policies
# intersected with its session policies, exactly as on the STS side above. At a29b1b2 the guard
# looked up no parent, so a federated user was allowed only by a resource policy naming it.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html


def _guarded(
    service: TokenService, store: IdentityService, parent_arn: str, policy: str | None
) -> tuple[Guard, Authenticated]:
    resolved = store.resolve_principal(parent_arn)
    assert resolved is not None
    result = service.get_federation_token(principal_for(resolved), name="bob", policy=policy)
    claims = service.tokens.verify(result.credentials.session_token)
    guard = Guard(store, sessions=service.tokens, clock=_clock)
    who = Authenticated(claims.to_principal(now=T0), "sigv4", claims.access_key_id, claims=claims)
    return guard, who


@pytest.mark.parametrize(
    ("session_action", "action", "allowed"),
    [
        ("s3:*", "s3:GetObject", True),  # both allow
        ("s3:GetObject", "s3:PutObject", False),  # the session policy caps it
        (None, "s3:GetObject", False),  # no session policy: no permissions
    ],
)
def test_guard_intersects_parent_user_and_session_policies(
    service: TokenService, store: IdentityService, session_action: str | None, action: str, allowed: bool
) -> None:
    narrow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": OBJECT}],
    }
    store.create_user("carol")
    store.put_inline_policy(PrincipalKind.USER, "carol", "objects", json.dumps(narrow))
    policy = (
        None
        if session_action is None
        else json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": session_action, "Resource": "*"}],
            }
        )
    )
    guard, who = _guarded(service, store, f"arn:aws:iam::{ACCOUNT}:user/carol", policy)
    assert guard.authorize(who, action, OBJECT).allowed is allowed
    # The parent's own policies cap the session too: nothing outside them, whatever the session says.
    assert not guard.authorize(who, "s3:GetObject", "arn:aws:s3:::other/key").allowed


def test_guard_federated_user_of_root_is_capped_by_the_session_policy_alone(
    service: TokenService, store: IdentityService
) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    guard, who = _guarded(service, store, f"arn:aws:iam::{ACCOUNT}:root", policy)
    assert guard.authorize(who, "s3:GetObject", OBJECT).allowed
    assert not guard.authorize(who, "s3:PutObject", OBJECT).allowed
