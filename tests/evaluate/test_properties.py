"""Properties over random policy sets and requests (hypothesis).

* The compiled engine agrees with the naive reference evaluator (``reference.py``).
* Adding ``Deny * on *`` to the identity policies always yields ``explicitDeny``.
* A deny never turns a denied request into an allowed one (adding any Deny statement).
* The cached evaluator returns exactly the uncached decision.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.context import make_context
from iamguard.decision import DecisionKind
from iamguard.evaluate import engine
from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

from .reference import reference_evaluate

A, B = "111122223333", "444455556666"
PRINCIPALS = [
    Principal.from_arn(f"arn:aws:iam::{A}:user/alice", tags={"team": "red"}),
    Principal.from_arn(f"arn:aws:iam::{A}:user/bob"),
    Principal.from_arn(f"arn:aws:sts::{A}:assumed-role/Admin/s1"),
    Principal.from_arn(f"arn:aws:iam::{B}:user/carol"),
    Principal.from_arn(f"arn:aws:iam::{A}:root"),
    Principal.from_arn(f"arn:aws:sts::{A}:federated-user/fed"),
]
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "sqs:SendMessage", "iam:GetUser", "S3:getobject"]
ACTION_PATTERNS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:*",
    "s3:Get*",
    "*",
    "sqs:*",
    "S3:GETOBJECT",
    "s3:?etObject",
    "iam:*",
    "s?:*",
]
RESOURCES = [
    "arn:aws:s3:::bucket/alice/a.txt",
    "arn:aws:s3:::bucket/bob/x",
    "arn:aws:s3:::bucket/red/x",
    "arn:aws:s3:::other/k",
    "arn:aws:sqs:us-east-1:111122223333:jobs",
    "arn:aws:s3:::bucket/${aws:username}/a.txt",
]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'bob'}/*",
    "arn:aws:s3:::*/a.txt",
    "arn:aws:sqs:*:111122223333:*",
    "arn:aws:s3:::other/k",
    "arn:aws:s3:::bucket/${*}",
    "arn:aws:s3:::Bucket/*",
    "arn:aws:s3:::bucket/b?b/*",
    "arn:aws:s3:::bucket/alice/a.txt",
    "arn:aws:s3:::bucket/*/a.txt*",
]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringLike": {"aws:RequestedRegion": "us-*"}},
    {"BoolIfExists": {"aws:SecureTransport": "true"}},
    {"Bool": {"aws:SecureTransport": "false"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
    {"Null": {"aws:SourceIp": "true"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NotIpAddressIfExists": {"aws:SourceIp": "10.1.0.0/16"}},
    {"StringEquals": {"aws:PrincipalTag/team": "red"}},
    {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:*"}},
    {"StringEquals": {"s3:prefix": "${aws:username}/"}},
]
AWS_PRINCIPALS = [
    f"arn:aws:iam::{A}:user/alice",
    f"arn:aws:iam::{A}:root",
    A,
    B,
    f"arn:aws:iam::{A}:role/Admin",
    f"arn:aws:sts::{A}:assumed-role/Admin/s1",
    f"arn:aws:iam::{B}:user/carol",
    f"arn:aws:sts::{A}:federated-user/fed",
]


def _one_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values


@st.composite
def statements(draw: st.DrawFn, resource_policy: bool = False) -> dict[str, Any]:
    effect = draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny"]))
    statement: dict[str, Any] = {"Effect": effect}
    actions = _one_or_list(
        draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    )
    statement["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resources = _one_or_list(
        draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3, unique=True))
    )
    statement["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resources
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2)) if draw(st.booleans()) else []
    block: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        for operator, entries in condition.items():
            block.setdefault(operator, {}).update(entries)
    if block:
        statement["Condition"] = block
    if resource_policy:
        if effect == "Deny" and draw(st.integers(0, 3)) == 0:
            statement["NotPrincipal"] = {
                "AWS": draw(st.lists(st.sampled_from(AWS_PRINCIPALS), min_size=1, max_size=3, unique=True))
            }
        elif draw(st.integers(0, 4)) == 0:
            statement["Principal"] = draw(st.sampled_from(["*", {"AWS": "*"}]))
        else:
            statement["Principal"] = {
                "AWS": draw(st.lists(st.sampled_from(AWS_PRINCIPALS), min_size=1, max_size=2, unique=True))
            }
    return statement


@st.composite
def policies(draw: st.DrawFn, name: str, resource_policy: bool = False) -> Any:
    version = draw(st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"]))
    document = {
        "Version": version,
        "Statement": draw(st.lists(statements(resource_policy), min_size=1, max_size=4)),
    }
    kind = PolicyKind.RESOURCE if resource_policy else PolicyKind.IDENTITY
    return parse_policy(document, name=name, kind=kind)


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    identity = tuple(draw(policies(f"identity-{i}")) for i in range(draw(st.integers(0, 3))))
    boundary = draw(policies("boundary")) if draw(st.integers(0, 2)) == 0 else None
    session = tuple(draw(st.lists(policies("session"), max_size=2))) if draw(st.integers(0, 3)) == 0 else None
    resource = draw(st.none() | policies("resource", resource_policy=True))
    account = draw(st.sampled_from([None, None, A, B]))
    return PolicySet(
        identity=identity, boundary=boundary, session=session, resource=resource, resource_account=account
    )


@st.composite
def requests(draw: st.DrawFn) -> Request:
    context: dict[str, Any] = {}
    if draw(st.booleans()):
        context["aws:RequestedRegion"] = draw(st.sampled_from(["us-east-1", "eu-west-1", "us-west-2"]))
    if draw(st.booleans()):
        context["aws:SecureTransport"] = draw(st.sampled_from(["true", "false"]))
    if draw(st.booleans()):
        context["aws:TagKeys"] = draw(
            st.lists(st.sampled_from(["env", "team", "owner"]), max_size=3, unique=True)
        )
    if draw(st.booleans()):
        context["aws:SourceIp"] = draw(st.sampled_from(["10.1.2.3", "192.0.2.1", "10.9.9.9"]))
    if draw(st.booleans()):
        context["s3:prefix"] = draw(st.sampled_from(["alice/", "bob/"]))
    return Request(
        draw(st.sampled_from(PRINCIPALS)),
        draw(st.sampled_from(ACTIONS)),
        draw(st.sampled_from(RESOURCES)),
        make_context(context),
    )


_SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(requests(), policy_sets())
def test_engine_agrees_with_reference(request: Request, policy_set: PolicySet) -> None:
    decision = Evaluator().evaluate(request, policy_set)
    assert decision.kind.value == reference_evaluate(request, policy_set), decision.reason
    assert decision.errors == ()


DENY_ALL = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*:*", "Resource": "*"}]},
    name="deny-all",
    kind=PolicyKind.IDENTITY,
)


@settings(max_examples=100, deadline=None)
@given(requests(), policy_sets(), st.integers(0, 3))
def test_deny_all_statement_is_never_allowed(request: Request, policy_set: PolicySet, position: int) -> None:
    identity = list(policy_set.identity)
    identity.insert(min(position, len(identity)), DENY_ALL)
    denied = PolicySet(
        identity=tuple(identity),
        boundary=policy_set.boundary,
        session=policy_set.session,
        resource=policy_set.resource,
        resource_account=policy_set.resource_account,
    )
    assert Evaluator().evaluate(request, denied).kind is DecisionKind.EXPLICIT_DENY


@settings(max_examples=100, deadline=None)
@given(requests(), policy_sets(), policies("extra"))
def test_adding_a_policy_of_denies_never_allows_more(
    request: Request, policy_set: PolicySet, extra: Any
) -> None:
    only_denies = [s for s in extra.statements if s.effect.value == "Deny"]
    if not only_denies:
        return
    deny_policy = type(extra)(tuple(only_denies), version=extra.version, name="denies")
    before = Evaluator().evaluate(request, policy_set)
    after = Evaluator().evaluate(
        request,
        PolicySet(
            identity=(*policy_set.identity, deny_policy),
            boundary=policy_set.boundary,
            session=policy_set.session,
            resource=policy_set.resource,
            resource_account=policy_set.resource_account,
        ),
    )
    if not before.allowed:
        assert not after.allowed


_SHARED_CACHE = CachedEvaluator(maxsize=512)


@_SETTINGS
@given(st.lists(requests(), min_size=1, max_size=6), policy_sets())
def test_cached_and_uncached_agree(batch: list[Request], policy_set: PolicySet) -> None:
    plain = Evaluator()
    for request in batch + batch:
        assert _SHARED_CACHE.evaluate(request, policy_set) == plain.evaluate(request, policy_set)


@_SETTINGS
@given(requests(), policy_sets(), st.booleans())
def test_verdict_first_decision_equals_the_full_walk(
    request: Request, policy_set: PolicySet, drop_resource_policy: bool
) -> None:
    """The verdict found first (no explanation noted) and the explanation built on reading it
    are exactly what the full walk decides and explains."""
    if drop_resource_policy:  # the verdict path serves sets without a resource policy
        policy_set = PolicySet(
            identity=policy_set.identity,
            boundary=policy_set.boundary,
            session=policy_set.session,
            resource_account=policy_set.resource_account,
        )
    decision = Evaluator().evaluate(request, policy_set)
    kind, explanation = engine._walk(request, policy_set)
    assert decision.kind is kind
    assert decision.explanation == explanation
