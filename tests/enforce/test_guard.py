"""Guard: each shortcut answers exactly as the general path it skips (fast path = general path).

* ``Guard.authenticate`` asks the built-in SigV4 authenticator directly when it can decide
  without the store (a key remembered at the current generation, a session key); the answer
  must be the flow's answer, errors included.
* ``Guard.check`` / ``authorize`` remember Allows per principal object, request-context object,
  action, resource and store generation; revocations still apply to the very next check, a
  context the caller can change is never remembered, and every decision is still audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn.authenticators import Authenticated, AuthFlow, SigV4Authenticator
from iamguard.authn.context import ContextBuilder, RequestMeta
from iamguard.authn.request_view import RequestView
from iamguard.decision import Decision
from iamguard.enforce.audit import AuditEvent
from iamguard.enforce.errors import EncodedAccessDeniedError
from iamguard.enforce.guard import Guard, _with_request
from iamguard.errors import IAMGuardError
from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import Request
from iamguard.principal import Principal
from iamguard.store.records import PrincipalKind

from .helpers import ACCOUNT, World, make_world, sign

URL = "http://api.example.com/things"
META = RequestMeta("192.0.2.7", "https", "REQ1")


@pytest.fixture()
def world() -> World:
    return make_world()


def _view(headers: dict[str, str]) -> RequestView:
    return RequestView.from_url("GET", URL, [*headers.items(), ("host", "api.example.com")], b"")


def _outcome(run: Callable[[], Authenticated | None]) -> object:
    """What authentication produced, comparable across guards (not the request-time fields)."""
    try:
        found = run()
    except IAMGuardError as error:
        return (type(error).__name__, error.code, str(error))
    if found is None:
        return None
    return (
        found.principal,
        found.method,
        found.access_key_id,
        found.verified,
        found.claims,
        found.body,
        dict(found.context),
    )


def _cases(world: World) -> dict[str, dict[str, str]]:
    session = world.role_session()
    return {
        "long-term key": sign("GET", URL, world.akid, world.secret),
        "wrong secret": sign("GET", URL, world.akid, "x" * 40),
        "unknown key": sign("GET", URL, "AKIAUNKNOWNKEY000000", world.secret),
        "long-term key with a token": sign("GET", URL, world.akid, world.secret, token="not-its-token"),
        "session key": sign(
            "GET", URL, session.access_key_id, session.secret_access_key, token=session.session_token
        ),
        "session key without its token": sign("GET", URL, session.access_key_id, session.secret_access_key),
        "bearer": {"Authorization": f"Bearer {session.session_token}"},
        "no credentials": {},
        "sigv2": {"Authorization": "AWS AKID:c2ln"},
        "skewed": sign("GET", URL, world.akid, world.secret, headers={"X-Amz-Date": "20200101T000000Z"}),
    }


@pytest.mark.parametrize("optional", [False, True])
def test_sync_guard_answers_as_its_flow(world: World, optional: bool) -> None:
    for name, headers in _cases(world).items():
        shortcut = Guard(world.store, sessions=world.sessions, bearer=True, clock=lambda: 1_800_000_000.0)
        flow_only = Guard(world.store, sessions=world.sessions, bearer=True, clock=lambda: 1_800_000_000.0)
        view = _view(headers)
        authenticate = shortcut.authenticate_optional if optional else shortcut.authenticate
        for attempt in range(2):  # the second request of a long-term key takes the remembered path
            flow = flow_only._authenticate_flow(view, META, optional)
            expected = _outcome(partial(flow_only._drive_inline, flow))
            assert _outcome(partial(authenticate, view, META)) == expected, (name, attempt)


def test_the_shortcut_is_taken_for_a_remembered_key_only(world: World) -> None:
    guard = Guard(world.counting)
    view = _view(sign("GET", URL, world.akid, world.secret))
    guard.authenticate(view, META)
    world.counting.calls.clear()
    guard.authenticate(view, META)
    assert world.counting.calls == {"generation": 1}  # no key or principal lookup
    world.store.update_access_key(world.akid, "Inactive")  # a write: the generation moves on
    with pytest.raises(IAMGuardError) as refused:
        guard.authenticate(view, META)
    assert refused.value.code == "InvalidClientTokenId"


class _Renaming(SigV4Authenticator):
    """A subclass that changes what authenticate() returns: it must never be skipped."""

    def authenticate(self, view: RequestView, meta: RequestMeta) -> AuthFlow:
        found = yield from super().authenticate(view, meta)
        return (
            None
            if found is None
            else Authenticated(Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/renamed"), "custom")
        )


def test_a_subclassed_authenticator_is_always_driven_through_its_flow(world: World) -> None:
    guard = Guard(world.store, authenticators=[_Renaming()])
    view = _view(sign("GET", URL, world.akid, world.secret))
    for _ in range(2):
        assert guard.authenticate(view, META).principal.arn.endswith(":user/renamed")


# ---------------------------------------------------------------- remembered Allows


class _Sink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


def test_a_remembered_allow_ends_with_the_policy(world: World) -> None:
    guard = Guard(world.store)
    caller = guard.authenticate(_view(sign("GET", URL, world.akid, world.secret)), META)
    first = guard.check(caller, "s3:GetObject", "arn:aws:s3:::photos/a.jpg")
    assert guard.check(caller, "s3:GetObject", "arn:aws:s3:::photos/a.jpg") is first
    world.store.detach_policy(PrincipalKind.USER, "alice", world.policy_arn)
    with pytest.raises(EncodedAccessDeniedError):
        guard.check(caller, "s3:GetObject", "arn:aws:s3:::photos/a.jpg")


def test_denials_are_never_remembered_and_every_check_is_audited(world: World) -> None:
    sink = _Sink()
    guard = Guard(world.store, audit=sink)
    caller = guard.authenticate(_view(sign("GET", URL, world.akid, world.secret)), META)
    for _ in range(3):
        guard.check(caller, "s3:GetObject", "arn:aws:s3:::photos/a.jpg")
        with pytest.raises(EncodedAccessDeniedError):
            guard.check(caller, "s3:GetObject", "arn:aws:s3:::secret/plans.txt")
    assert [e.decision for e in sink.events] == ["allowed", "explicitDeny"] * 3
    assert len(guard.memory.allowed) == 1


def test_a_context_the_caller_can_change_is_never_remembered(world: World) -> None:
    policy = world.store.create_policy(
        "from-office",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
                }
            ],
        },
    )
    world.store.attach_user_policy("alice", policy.arn)
    guard = Guard(world.store)
    principal = guard.authenticate(_view(sign("GET", URL, world.akid, world.secret)), META).principal
    context: dict[str, Any] = {"aws:sourceip": "192.0.2.9"}
    caller = Authenticated(principal, "explicit", context=context)
    assert guard.authorize(caller, "sqs:SendMessage").allowed
    context["aws:sourceip"] = "203.0.113.5"
    assert not guard.authorize(caller, "sqs:SendMessage").allowed
    assert len(guard.memory.allowed) == 0


class _Custom(Evaluator):
    """An evaluator of the app's own: it may consult more than the request and its policies."""


def test_allows_of_a_custom_evaluator_are_not_remembered(world: World) -> None:
    guard = Guard(world.store, evaluator=CachedEvaluator(_Custom()))
    caller = guard.authenticate(_view(sign("GET", URL, world.akid, world.secret)), META)
    for _ in range(2):
        assert guard.check(caller, "s3:GetObject", "arn:aws:s3:::photos/a.jpg").allowed
    assert len(guard.memory.allowed) == 0


def test_only_contexts_the_builder_made_count_as_unchanging() -> None:
    builder = ContextBuilder(clock=lambda: 1_800_000_000.0)
    principal = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/a")
    view = RequestView("GET", "/", "", [("host", "h"), ("user-agent", "ua")])
    made = builder.for_request(view, META, principal, None)
    assert builder.made(made)
    assert not builder.made(dict(made))
    assert not ContextBuilder().made(made)


_ACTIONS = st.sampled_from(["s3:GetObject", "execute-api:Invoke", "s3:PutObject", "sqs:SendMessage"])
_RESOURCES = st.sampled_from(
    ["arn:aws:s3:::photos/a.jpg", "arn:aws:s3:::secret/x", "*", "arn:aws:sqs:us-east-1:1:q"]
)


@settings(max_examples=60, deadline=None)
@given(checks=st.lists(st.tuples(_ACTIONS, _RESOURCES), min_size=1, max_size=12))
def test_remembered_decisions_equal_the_evaluators(checks: list[tuple[str, str]]) -> None:
    world = make_world()
    guard = Guard(world.store)
    caller = guard.authenticate(_view(sign("GET", URL, world.akid, world.secret)), META)
    policies = guard._drive_inline(guard._policies_flow(caller))
    for action, resource in checks:
        decision: Decision = guard.authorize(caller, action, resource)
        expected = Evaluator().evaluate(Request(caller.principal, action, resource, caller.context), policies)
        assert (decision.kind, decision.action, decision.resource) == (
            expected.kind,
            expected.action,
            expected.resource,
        )


# ---------------------------------------------------------------- the authenticated value


def test_with_request_is_replace() -> None:
    # _with_request spells out every field: a field added to Authenticated must be added there.
    assert [f.name for f in fields(Authenticated)] == [
        "principal",
        "method",
        "access_key_id",
        "verified",
        "claims",
        "body",
        "context",
        "request_id",
        "started",
    ]
    found = Authenticated(
        Principal.from_arn("arn:aws:iam::123456789012:user/a"), "sigv4", "AKIDEXAMPLE", body=b"x"
    )
    context = {"aws:sourceip": "192.0.2.1"}
    assert _with_request(found, context, "REQ", 1.5) == replace(
        found, context=context, request_id="REQ", started=1.5
    )
