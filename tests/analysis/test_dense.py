"""Dense conditions: many statements testing the same few condition keys.

The search assigns condition keys one at a time and merges, leaves out and stops partial
assignments by the statements they leave alive (``_search`` module doc). Two kinds of proof:

* **properties**: on random policy pairs whose statements share a small pool of keys and
  operators (identity-only, with a boundary, with a resource policy; callers that carry some
  of the keys themselves), the pruned walk finds a separating request exactly when the full
  product of every key's values does, and the checks' FAILs replay and PASSes survive a random
  search;
* **cases** (``tests/data/analysis/dense.json``, built by ``benchmarks/analysis_bench.py``'s
  generators): policies of 100 statements that used up a 200,000-request budget before and now
  decide within 20,000, each PASS also checked against a random search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.analysis import Verdict, check_no_new_access, check_no_public_access
from iamguard.analysis._inputs import ALLOW_ALL
from iamguard.analysis._search import search
from iamguard.analysis._verdict import _principals
from iamguard.analysis.principals import principal_from_arn
from iamguard.decision import Decision
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy

from .random_requests import any_separating
from .test_properties import IDENTITY_CALLERS, RESOURCE_CALLERS

CALLER = "123456789012"
CASES = json.loads((Path(__file__).parents[1] / "data" / "analysis" / "dense.json").read_text("utf-8"))

#: Shared keys, several operators each; aws:username and aws:PrincipalArn are carried by callers.
SHARED_CONDITIONS: list[tuple[str, str, Any]] = [
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8"]),
    ("IpAddress", "aws:SourceIp", ["10.1.0.0/16", "192.0.2.0/24"]),
    ("NotIpAddress", "aws:SourceIp", ["10.1.0.0/16"]),
    ("NotIpAddressIfExists", "aws:SourceIp", ["192.0.2.0/24"]),
    ("StringEquals", "aws:RequestedRegion", ["us-east-1"]),
    ("StringEquals", "aws:RequestedRegion", ["us-east-1", "eu-west-1"]),
    ("StringNotEquals", "aws:RequestedRegion", ["eu-west-1"]),
    ("StringLike", "aws:RequestedRegion", ["us-*"]),
    ("NumericLessThan", "aws:MultiFactorAuthAge", ["3600"]),
    ("NumericGreaterThanEquals", "aws:MultiFactorAuthAge", ["600"]),
    ("Bool", "aws:SecureTransport", ["true"]),
    ("BoolIfExists", "aws:SecureTransport", ["false"]),
    ("Null", "aws:MultiFactorAuthAge", ["true"]),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env"]),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"]),
    ("StringEquals", "aws:username", ["alice"]),
    ("StringNotEquals", "aws:username", ["bob"]),
    ("ArnLike", "aws:PrincipalArn", [f"arn:aws:iam::{CALLER}:user/*"]),
]


@st.composite
def dense_statements(draw: st.DrawFn, principal: bool = False) -> dict[str, Any]:
    effect = draw(st.sampled_from(["Allow", "Allow", "Deny"]))
    block: dict[str, dict[str, Any]] = {}
    for operator, key, values in draw(st.lists(st.sampled_from(SHARED_CONDITIONS), min_size=1, max_size=3)):
        block.setdefault(operator, {})[key] = values
    statement: dict[str, Any] = {
        "Effect": effect,
        "Action": draw(st.sampled_from(["s3:GetObject", ["s3:GetObject", "s3:PutObject"], "s3:*"])),
        "Resource": draw(st.sampled_from(["arn:aws:s3:::b/*", "*", "arn:aws:s3:::b/x/*"])),
        "Condition": block,
    }
    if principal:
        statement["Principal"] = draw(st.sampled_from(["*", {"AWS": CALLER}, {"AWS": "111122223333"}]))
    return statement


@st.composite
def dense_documents(draw: st.DrawFn, principal: bool = False) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": draw(st.lists(dense_statements(principal), min_size=2, max_size=6)),
    }


@st.composite
def dense_identity_pairs(draw: st.DrawFn) -> tuple[PolicySet, PolicySet]:
    old = draw(dense_documents())
    new = json.loads(json.dumps(old))
    statement = new["Statement"][draw(st.integers(0, len(new["Statement"]) - 1))]
    change = draw(st.integers(0, 3))
    if change == 0:
        del statement["Condition"][next(iter(statement["Condition"]))]
    elif change == 1:
        statement["Effect"] = "Allow" if statement["Effect"] == "Deny" else "Deny"
    elif change == 2:
        new["Statement"].append(draw(dense_statements()))
    else:
        new = draw(dense_documents())
    shape = draw(st.integers(0, 3))
    boundary = parse_policy(draw(dense_documents()), name="boundary") if shape == 1 else None
    resource = (
        parse_policy(draw(dense_documents(principal=True)), name="resource", kind=PolicyKind.RESOURCE)
        if shape == 2
        else None
    )

    def side(document: dict[str, Any], name: str) -> PolicySet:
        policy = parse_policy(document, name=name, kind=PolicyKind.IDENTITY)
        return PolicySet(identity=(policy,), boundary=boundary, resource=resource, resource_account=None)

    return side(new, "new"), side(old, "old")


def _new_access(request: Request, decisions: tuple[Decision, ...]) -> bool:
    return decisions[0].allowed and not decisions[1].allowed


def _old_only(request: Request, decisions: tuple[Decision, ...]) -> bool:
    return decisions[1].allowed and not decisions[0].allowed


_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: the slow run (CI): more examples and a larger budget, bounded so test-slow stays a few minutes
_LARGE = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: The full product is the slow reference: a few callers of each kind keep it affordable.
_RESOURCE_CALLERS = [RESOURCE_CALLERS[i] for i in (0, 1, 2, 7, 8, 10)]


def _pruned_and_full_agree(pair: tuple[PolicySet, PolicySet], forward: bool, budget: int) -> None:
    callers = [*_principals(pair, None)[0], IDENTITY_CALLERS[0]]
    goal, wants = (_new_access, (1, -1)) if forward else (_old_only, (-1, 1))
    pruned = search(pair, goal, callers, budget=budget, wants=wants)
    full = search(pair, goal, callers, budget=budget, exhaustive=True)
    if pruned.complete and full.complete:
        assert (pruned.request is None) == (full.request is None), (pruned.request, full.request)
    if pruned.request is not None:
        assert goal(pruned.request, pruned.decisions)
    assert pruned.tried <= full.tried or pruned.request is not None


def _resource_pruned_and_full_agree(new: dict[str, Any], old: dict[str, Any], budget: int) -> None:
    policies = [parse_policy(d, name=n, kind=PolicyKind.RESOURCE) for d, n in ((new, "new"), (old, "old"))]
    for identity in ((), (ALLOW_ALL,)):
        sides = tuple(PolicySet(identity=identity, resource=p, resource_account=CALLER) for p in policies)
        callers = [p for p in _RESOURCE_CALLERS if not (identity and p.arn == "*")]
        pruned = search(sides, _new_access, callers, budget=budget, wants=(1, -1))
        full = search(sides, _new_access, callers, budget=budget, exhaustive=True)
        if pruned.complete and full.complete:
            assert (pruned.request is None) == (full.request is None), (pruned.request, full.request)


@_SETTINGS
@given(dense_identity_pairs(), st.booleans())
def test_the_pruned_walk_answers_as_the_full_product(
    pair: tuple[PolicySet, PolicySet], forward: bool
) -> None:
    _pruned_and_full_agree(pair, forward, 5_000)


@_SETTINGS
@given(dense_documents(principal=True), dense_documents(principal=True))
def test_the_pruned_walk_answers_as_the_full_product_for_resource_policies(
    new: dict[str, Any], old: dict[str, Any]
) -> None:
    _resource_pruned_and_full_agree(new, old, 5_000)


@pytest.mark.slow
@_LARGE
@given(dense_identity_pairs(), st.booleans())
def test_the_pruned_walk_answers_as_the_full_product_large(
    pair: tuple[PolicySet, PolicySet], forward: bool
) -> None:
    _pruned_and_full_agree(pair, forward, 20_000)


@pytest.mark.slow
@_LARGE
@given(dense_documents(principal=True), dense_documents(principal=True))
def test_the_pruned_walk_answers_as_the_full_product_for_resource_policies_large(
    new: dict[str, Any], old: dict[str, Any]
) -> None:
    _resource_pruned_and_full_agree(new, old, 20_000)


@_SETTINGS
@given(dense_identity_pairs(), st.integers(0, 2**32))
def test_dense_fails_replay_and_passes_survive_a_random_search(
    pair: tuple[PolicySet, PolicySet], seed: int
) -> None:
    result = check_no_new_access(*pair, budget=20_000)
    if result.verdict is Verdict.FAIL:
        assert result.counterexample is not None
        example = result.counterexample
        request = Request(
            principal_from_arn(example.principal),
            example.action,
            example.resource,
            {k.lower(): v for k, v in example.context.items()},
        )
        assert _new_access(request, tuple(Evaluator().evaluate(request, side) for side in pair))
    elif result.verdict is Verdict.PASS:
        found = any_separating(pair, IDENTITY_CALLERS, 500, seed, lambda d: d[0].allowed and not d[1].allowed)
        assert found is None, (found, result.reasons)
    else:
        assert result.reasons


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_dense_policies_decide_within_the_budget(case: dict[str, Any]) -> None:
    if case["check"] == "no_new_access":
        result = check_no_new_access(case["new"], case["old"], budget=20_000)
        sides: tuple[PolicySet, ...] = (
            PolicySet(identity=(parse_policy(case["new"], name="new"),)),
            PolicySet(identity=(parse_policy(case["old"], name="old"),)),
        )
        goal: Any = lambda d: d[0].allowed and not d[1].allowed  # noqa: E731
        callers = IDENTITY_CALLERS
    else:
        result = check_no_public_access(case["policy"], budget=20_000)
        sides = (PolicySet(resource=parse_policy(case["policy"], name="p"), resource_account=CALLER),)
        goal = lambda d: d[0].allowed  # noqa: E731
        callers = [principal_from_arn("*")]
    assert result.verdict.value == case["expected"], result.reasons
    if result.verdict is Verdict.PASS:
        assert any_separating(sides, callers, 2_000, 7, goal) is None
    else:
        assert result.counterexample is not None
