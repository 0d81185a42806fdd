"""The engine beyond the decision kind: explanations, fail-closed errors, the action index."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.context import make_context
from iamguard.decision import DecisionKind, MatchedStatement, PolicyRole
from iamguard.evaluate import engine
from iamguard.evaluate.compile import compiled
from iamguard.evaluate.engine import Evaluator, evaluate
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Condition, Effect, Policy, PolicyKind, Statement
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

ALICE = Principal.from_arn("arn:aws:iam::111122223333:user/alice")
SESSION = Principal.from_arn("arn:aws:sts::111122223333:assumed-role/Admin/s1")
OBJ = "arn:aws:s3:::bucket/key"


def policy(*statements: dict[str, Any], name: str = "p", kind: PolicyKind = PolicyKind.IDENTITY) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name, kind=kind)


def request(
    action: str = "s3:GetObject", resource: str = OBJ, principal: Principal = ALICE, **context: Any
) -> Request:
    return Request(
        principal, action, resource, make_context({k.replace("__", ":"): v for k, v in context.items()})
    )


ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


# ---------------------------------------------------------------- explanations


def test_explanation_is_built_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Allow decided on the hot path does not pay for its explanation; reading it builds it
    once (issue 12: the verdict first, the explanation when asked for)."""
    walks: list[Request] = []
    full_walk = engine._walk

    def counting(request: Request, policies: PolicySet) -> Any:
        walks.append(request)
        return full_walk(request, policies)

    monkeypatch.setattr(engine, "_walk", counting)
    allow = policy({"Sid": "Read", **ALLOW_ALL}, {"Effect": "Deny", "Action": "s3:Put*", "Resource": "*"})
    allowed = evaluate(request(), PolicySet(identity=(allow,)))
    denied = evaluate(request("s3:PutObject"), PolicySet(identity=(allow,)))
    assert allowed.allowed and denied.kind is DecisionKind.EXPLICIT_DENY and walks == []
    assert allowed.matched == (MatchedStatement("p", PolicyRole.IDENTITY, 0, "Read", "Allow"),)
    assert allowed.reason == "allowed by identity-based policy" and allowed.errors == ()
    assert len(walks) == 1
    assert denied.reason == "explicit deny in p Statement[1]" and len(walks) == 2


def test_matched_lists_every_matching_statement_with_policy_and_role() -> None:
    identity = policy(
        ALLOW_ALL, {"Sid": "NoS3", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}, name="id"
    )
    boundary = policy(ALLOW_ALL, name="pb")
    decision = evaluate(request(), PolicySet(identity=(identity,), boundary=boundary))
    assert decision.kind is DecisionKind.EXPLICIT_DENY
    assert decision.matched == (
        MatchedStatement("id", PolicyRole.IDENTITY, 0, None, "Allow"),
        MatchedStatement("id", PolicyRole.IDENTITY, 1, "NoS3", "Deny"),
        MatchedStatement("pb", PolicyRole.BOUNDARY, 0, None, "Allow"),
    )
    assert decision.reason == "explicit deny in id Statement[1] (Sid NoS3)"


def test_statements_for_other_actions_or_resources_are_not_matched() -> None:
    identity = policy(
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": OBJ},
    )
    decision = evaluate(request(), PolicySet(identity=(identity,)))
    assert decision.allowed
    assert [m.statement_index for m in decision.matched] == [2]
    assert decision.reason == "allowed by identity-based policy"


def test_missing_context_keys_are_sorted_in_original_spelling() -> None:
    identity = policy(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:RequestedRegion": "us-east-1", "s3:ExistingObjectTag/env": "prod"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        },
        # Action does not match: its keys are not reported.
        {
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpc": "v"}},
        },
    )
    decision = evaluate(request(aws__SecureTransport="true"), PolicySet(identity=(identity,)))
    assert decision.kind is DecisionKind.IMPLICIT_DENY
    assert decision.missing_context_keys == ("aws:RequestedRegion", "s3:ExistingObjectTag/env")


def test_principal_derived_keys_are_not_missing() -> None:
    identity = policy(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:username": "alice"}},
        }
    )
    decision = evaluate(request(), PolicySet(identity=(identity,)))
    assert decision.allowed and decision.missing_context_keys == ()


@pytest.mark.parametrize("slot", ["identity", "boundary", "session"])
def test_principal_keys_are_seen_when_the_request_context_holds_other_keys(slot: str) -> None:
    """A statement reading a principal-derived key (``aws:username``) sees it though the request
    context holds every key the other statements read (the verdict then reads the request's
    own context for those, never for the principal's keys)."""
    region = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
        }
    )
    user = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:username": "alice"}},
        },
        name="user",
    )
    sets = {
        "identity": PolicySet(identity=(region, user)),
        "boundary": PolicySet(identity=(region,), boundary=user),
        "session": PolicySet(identity=(region,), session=(user,)),
    }
    policies = sets[slot]
    assert evaluate(request(aws__RequestedRegion="us-east-1"), policies).allowed
    bob = Principal.from_arn("arn:aws:iam::111122223333:user/bob")
    by_bob = request(principal=bob, aws__RequestedRegion="us-east-1")
    assert evaluate(by_bob, policies).allowed is (slot == "identity")


def test_request_context_overrides_principal_keys() -> None:
    identity = policy(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:username": "bob"}},
        }
    )
    assert evaluate(request(aws__username="bob"), PolicySet(identity=(identity,))).allowed


@pytest.mark.parametrize(
    ("policies", "reason"),
    [
        (PolicySet(), "no identity-based policy allows it"),
        (
            PolicySet(
                identity=(policy(ALLOW_ALL),),
                boundary=policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),
            ),
            "no permissions boundary statement allows it",
        ),
        (
            PolicySet(
                identity=(policy(ALLOW_ALL),),
                session=(policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),),
            ),
            "no session policy allows it",
        ),
        (
            PolicySet(identity=(policy(ALLOW_ALL),), resource_account="444455556666"),
            "cross-account: the resource policy does not allow it",
        ),
    ],
)
def test_implicit_deny_reasons(policies: PolicySet, reason: str) -> None:
    decision = evaluate(request(), policies)
    assert decision.kind is DecisionKind.IMPLICIT_DENY
    assert decision.reason == reason


def test_role_grant_capped_reason() -> None:
    resource = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
            "Action": "s3:*",
            "Resource": "*",
        },
        name="bucket",
        kind=PolicyKind.RESOURCE,
    )
    boundary = policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    decision = evaluate(request(principal=SESSION), PolicySet(boundary=boundary, resource=resource))
    assert decision.kind is DecisionKind.IMPLICIT_DENY
    assert "names the role" in decision.reason and "boundary" in decision.reason
    assert decision.matched == (MatchedStatement("bucket", PolicyRole.RESOURCE, 0, None, "Allow"),)


def test_decision_echoes_action_and_resource_as_requested() -> None:
    decision = evaluate(request("S3:GetObject"), PolicySet(identity=(policy(ALLOW_ALL),)))
    assert (decision.action, decision.resource) == ("S3:GetObject", OBJ)
    assert decision.to_evaluation_result()["EvalDecision"] == "allowed"


# ---------------------------------------------------------------- fail closed


def _raw_policy(effect: Effect, name: str) -> Policy:
    """A policy the parser would refuse (unreadable number), built directly to force an error."""
    bad = Condition("NumericLessThan", "NumericLessThan", None, False, "s3:max-keys", ("not-a-number",))
    statement = Statement(0, effect, sid="Bad", action=("s3:*",), resource=("*",), conditions=(bad,))
    return Policy((statement,), version="2012-10-17", name=name)


def test_erroring_allow_does_not_allow_and_is_recorded() -> None:
    decision = evaluate(request(), PolicySet(identity=(_raw_policy(Effect.ALLOW, "broken"),)))
    assert decision.kind is DecisionKind.IMPLICIT_DENY
    assert len(decision.errors) == 1 and decision.errors[0].startswith("broken Statement[0] (Sid Bad)")


def test_erroring_deny_denies() -> None:
    policies = PolicySet(identity=(policy(ALLOW_ALL), _raw_policy(Effect.DENY, "broken")))
    decision = evaluate(request(), policies)
    assert decision.kind is DecisionKind.EXPLICIT_DENY
    assert "could not be evaluated" in decision.reason
    assert decision.errors


def test_erroring_boundary_allow_caps() -> None:
    policies = PolicySet(identity=(policy(ALLOW_ALL),), boundary=_raw_policy(Effect.ALLOW, "pb"))
    assert evaluate(request(), policies).kind is DecisionKind.IMPLICIT_DENY


# ---------------------------------------------------------------- compile


def test_compiled_form_is_attached_once() -> None:
    p = policy(ALLOW_ALL)
    first = compiled(p)
    assert compiled(p) is first and p._compiled is first


def test_compiled_once_under_concurrency() -> None:
    p = policy(*[{"Effect": "Allow", "Action": f"s3:Get{i}", "Resource": "*"} for i in range(200)])
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(compiled(p))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(item is seen[0] for item in seen)


def test_candidates_cover_exact_prefix_general_and_notaction_in_order() -> None:
    p = policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},  # 0 exact
        {"Effect": "Allow", "Action": "S3:get*", "Resource": "*"},  # 1 service prefix
        {"Effect": "Allow", "Action": "*", "Resource": "*"},  # 2 everything
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},  # 3 NotAction
        {"Effect": "Allow", "Action": "s?:GetObject", "Resource": "*"},  # 4 wildcard in service
        {"Effect": "Allow", "Action": "sqs:GetQueueUrl", "Resource": "*"},  # 5 other action
        {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},  # 6 NotAction excluding it
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GETOBJECT"], "Resource": "*"},  # 7 exact, case
    )
    cp = compiled(p)
    assert [s.statement.index for s in cp.candidates("s3:getobject")] == [0, 1, 2, 3, 4, 7]
    assert [s.statement.index for s in cp.candidates("iam:getuser")] == [2, 6]


def test_statement_bodies_compile_lazily() -> None:
    p = policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
    )
    evaluate(request(), PolicySet(identity=(p,)))
    bodies = [s._body for s in compiled(p).statements]
    assert bodies[0] is not None and bodies[1] is None


def test_many_statements_only_candidates_are_touched() -> None:
    statements = [
        {"Effect": "Allow", "Action": f"svc{i % 50}:Action{i}", "Resource": f"arn:aws:s3:::b{i}/*"}
        for i in range(20000)
    ]
    statements.append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"})
    big = Policy(
        tuple(parse_policy({"Version": "2012-10-17", "Statement": statements}).statements),
        version="2012-10-17",
        name="big",
    )
    decision = evaluate(request(), PolicySet(identity=(big,)))
    assert decision.allowed and [m.statement_index for m in decision.matched] == [20000]
    assert sum(s._body is not None for s in compiled(big).statements) == 1


def test_candidate_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from iamguard.evaluate import compile as compile_module

    monkeypatch.setattr(compile_module, "_CANDIDATE_MEMO_SIZE", 8)
    cp = compiled(policy(ALLOW_ALL))
    for i in range(50):
        cp.candidates(f"svc:action{i}")
    assert len(cp._memo) <= 8


def test_resource_variables_render_per_request() -> None:
    p = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"})
    bob = Principal.from_arn("arn:aws:iam::111122223333:user/bob")
    assert evaluate(request(resource="arn:aws:s3:::home/alice/x"), PolicySet(identity=(p,))).allowed
    assert not evaluate(
        request(resource="arn:aws:s3:::home/alice/x", principal=bob), PolicySet(identity=(p,))
    ).allowed


# ---------------------------------------------------------------- entry points


def test_module_function_uses_default_evaluator() -> None:
    policies = PolicySet(identity=(policy(ALLOW_ALL),))
    assert evaluate(request(), policies) == Evaluator().evaluate(request(), policies)
    assert isinstance(engine._DEFAULT, Evaluator)


def test_simulating_as_a_role_matches_role_arn_grants_capped() -> None:
    role = Principal.from_arn("arn:aws:iam::111122223333:role/Admin")
    resource = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
            "Action": "s3:*",
            "Resource": "*",
        },
        kind=PolicyKind.RESOURCE,
    )
    assert evaluate(request(principal=role), PolicySet(resource=resource)).allowed
    capped = PolicySet(
        resource=resource, boundary=policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    )
    assert not evaluate(request(principal=role), capped).allowed


def test_fast_decision_builders_build_equal_decisions() -> None:
    from iamguard.decision import Decision, Explanation, explained_later, explained_now

    matched = (MatchedStatement("p", PolicyRole.IDENTITY, 0, None, "Allow"),)
    why = Explanation(matched, ("k",), "why", ("e",))
    plain = Decision(DecisionKind.ALLOWED, "s3:GetObject", OBJ, matched, ("k",), "why", ("e",))
    now = explained_now(DecisionKind.ALLOWED, "s3:GetObject", OBJ, why)
    asked: list[tuple[str, str]] = []

    def explain(a: str, b: str) -> Explanation:
        asked.append((a, b))
        return why

    later = explained_later(DecisionKind.ALLOWED, "s3:GetObject", OBJ, explain, "req", "set")
    assert later.allowed and not asked  # the verdict is there, the explanation not yet built
    for fast in (now, later):
        assert fast == plain and repr(fast) == repr(plain) and type(fast) is Decision
        assert hash(fast) == hash(plain)
        with pytest.raises(AttributeError):
            fast.kind = DecisionKind.IMPLICIT_DENY
    assert later.reason == "why" and later.explanation is why and asked == [("req", "set")]


def test_principal_context_keys_memo_is_per_object() -> None:
    tagged = Principal.from_arn("arn:aws:iam::111122223333:user/alice", tags={"team": "red"})
    retagged = Principal.from_arn("arn:aws:iam::111122223333:user/alice", tags={"team": "blue"})
    assert engine.principal_context_keys(tagged)["aws:principaltag/team"] == "red"
    assert engine.principal_context_keys(retagged)["aws:principaltag/team"] == "blue"
    assert engine.principal_context_keys(tagged) is engine.principal_context_keys(tagged)
    # the public method hands out a copy, so a caller's edit cannot reach the kept one
    mine = tagged.context_keys()
    mine["aws:principaltag/team"] = "green"
    assert engine.principal_context_keys(tagged)["aws:principaltag/team"] == "red"
    assert tagged == Principal.from_arn("arn:aws:iam::111122223333:user/alice", tags={"team": "red"})


def test_missing_keys_of_resource_policy_statements_for_other_principals_are_reported() -> None:
    resource = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:user/bob"},
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
        },
        kind=PolicyKind.RESOURCE,
    )
    decision = evaluate(request(), PolicySet(resource=resource))
    assert decision.kind is DecisionKind.IMPLICIT_DENY and decision.matched == ()
    assert decision.missing_context_keys == ("aws:SourceVpce",)


@pytest.mark.parametrize("slot", ["identity", "boundary", "session", "resource", "resource-cross-account"])
def test_policy_without_statements_grants_nothing(slot: str) -> None:
    """A policy whose Statement list is empty grants nothing and evaluates without errors.

    parse_policy refuses ``"Statement": []`` (IAM Access Analyzer's "Missing statement" check,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html;
    the grammar requires the element: reference_policies_elements_statement.html), so such a
    Policy only exists when built directly; the engine must still answer for it.
    """
    empty = Policy(statements=(), name="empty")
    everything = parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        kind=PolicyKind.IDENTITY,
    )
    sets = {
        "identity": PolicySet(identity=(empty,)),
        "boundary": PolicySet(identity=(everything,), boundary=empty),
        "session": PolicySet(identity=(everything,), session=(empty,)),
        "resource": PolicySet(resource=empty),
        "resource-cross-account": PolicySet(
            identity=(everything,), resource=empty, resource_account="444455556666"
        ),
    }
    alice = Principal.from_arn("arn:aws:iam::111122223333:user/alice")
    decision = Evaluator().evaluate(Request(alice, "s3:GetObject", "arn:aws:s3:::b/k"), sets[slot])
    assert decision.kind is DecisionKind.IMPLICIT_DENY
    assert decision.errors == ()


# ---------------------------------------------------------------- what 100,000 statements share

_PATTERNS = [
    "s3:GetObject",
    "S3:getobject",
    "s3:Get*",
    "s3:*",
    "*",
    "s?:PutObject",
    "sqs:SendMessage",
    "iam:*",
]
_ACTIONS = ["s3:getobject", "s3:putobject", "sqs:sendmessage", "iam:getuser", "ec2:runinstances"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.lists(st.sampled_from(_PATTERNS), min_size=1, max_size=3)),
        min_size=1,
        max_size=20,
    )
)
def test_small_and_large_policy_indexes_find_the_same_candidates(
    shapes: list[tuple[bool, list[str]]],
) -> None:
    """A small policy's per-statement action tests and a large policy's dict index (the shape
    chosen by size) find exactly the statements whose Action/NotAction match, in order."""
    from iamguard.evaluate import compile as compile_module
    from iamguard.policy.wildcard import compile_wildcard

    statements = [
        {"Effect": "Allow", ("NotAction" if negated else "Action"): patterns, "Resource": "*"}
        for negated, patterns in shapes
    ]
    p = policy(*statements)
    default_size = compile_module._SMALL_POLICY
    try:  # hypothesis runs many examples per test: no monkeypatch fixture here
        compile_module._SMALL_POLICY = 100
        small = compile_module.CompiledPolicy(p)
        compile_module._SMALL_POLICY = 0
        large = compile_module.CompiledPolicy(p)
    finally:
        compile_module._SMALL_POLICY = default_size
    assert small._tests is not None and large._tests is None
    for action in _ACTIONS:
        expected = [
            i
            for i, (negated, patterns) in enumerate(shapes)
            if any(compile_wildcard(x.lower())(action) for x in patterns) != negated
        ]
        assert [s.statement.index for s in small.candidates(action)] == expected
        assert [s.statement.index for s in large.candidates(action)] == expected


def test_equal_statement_parts_are_shared_across_policies() -> None:
    """Policies repeating an Action list or a Resource/Condition shape hold one copy of it (the
    tuple and the compiled body), whatever their effects, Sids and positions; each still
    decides by its own effect."""
    shape = {
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::team-7/*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    }
    first = policy({"Sid": "A", "Effect": "Allow", **shape}, name="first")
    second = policy(
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}, {"Effect": "Deny", **shape}, name="second"
    )
    a, b = first.statements[0], second.statements[1]
    assert a.action is b.action and a.resource is b.resource
    assert compiled(first).statements[0].body is compiled(second).statements[1].body
    ask = request("s3:PutObject", "arn:aws:s3:::team-7/k", aws__RequestedRegion="eu-west-1")
    assert evaluate(ask, PolicySet(identity=(first,))).allowed
    assert evaluate(ask, PolicySet(identity=(second,))).kind is DecisionKind.EXPLICIT_DENY
    elsewhere = request("s3:PutObject", "arn:aws:s3:::team-7/k", aws__RequestedRegion="us-east-1")
    assert evaluate(elsewhere, PolicySet(identity=(second,))).kind is DecisionKind.IMPLICIT_DENY


def test_a_bad_value_is_reported_every_time_it_is_parsed() -> None:
    """Remembering clean Action/Resource lists never hides a problem: a bad value seen twice is
    refused twice, and a clean list seen after a bad one is still accepted."""
    from iamguard.errors import PolicyError

    bad = {"Effect": "Allow", "Action": "s3GetObject", "Resource": "arn:aws:s3:::b/*"}
    for _ in range(2):
        with pytest.raises(PolicyError, match="s3GetObject"):
            policy(bad)
    assert policy({**bad, "Action": "s3:GetObject"}).statements[0].action == ("s3:GetObject",)
