"""Properties over random policy pairs (hypothesis).

* Every FAIL's counterexample separates the two sides under iamguard's evaluator (replayed here
  from the counterexample's fields, not taken from the analysis).
* Every PASS survives a random search for a separating request (requests drawn from the
  policies' literals and mutations of them, ``random_requests.py``).
* An UNKNOWN always says why.

Pairs are random policy sets (identity policies with optional boundary, session policies and
a resource policy naming the callers, same- or cross-account) and random resource policies, both independent and as a policy and a mutation of it, so both
verdicts occur. ``test_*_large`` runs many more examples and requests (``-m slow``).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.analysis import AnalysisResult, Verdict, check_no_new_access
from iamguard.analysis._inputs import ALLOW_ALL
from iamguard.analysis.principals import principal_from_arn
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

from ..evaluate.test_properties import statements
from .random_requests import any_separating

CALLER = "123456789012"
A, B = "111122223333", "444455556666"


def _callers(names: list[str]) -> list[Principal]:
    out = []
    for name in names:
        out.append(Principal.from_arn(f"arn:aws:iam::{CALLER}:user/{name}", tags={"team": name}))
        out.append(Principal.from_arn(f"arn:aws:sts::{CALLER}:assumed-role/{name}-role/s"))
    return out


IDENTITY_CALLERS = _callers(["alice", "bob", "simulated"])
RESOURCE_CALLERS = [
    principal_from_arn(arn)
    for arn in (
        f"arn:aws:iam::{A}:user/alice",
        f"arn:aws:iam::{A}:root",
        f"arn:aws:sts::{A}:assumed-role/Admin/s1",
        f"arn:aws:iam::{A}:role/Admin",
        f"arn:aws:iam::{B}:user/carol",
        f"arn:aws:iam::{B}:user/dave",
        f"arn:aws:sts::{A}:federated-user/fed",
        f"arn:aws:iam::{CALLER}:user/owner",
        f"arn:aws:iam::{CALLER}:root",
        "arn:aws:iam::777777777777:user/stranger",
        "*",
    )
]


@st.composite
def documents(draw: st.DrawFn, resource_policy: bool = False) -> dict[str, Any]:
    return {
        "Version": draw(st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"])),
        "Statement": draw(st.lists(statements(resource_policy), min_size=1, max_size=3)),
    }


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """The document with one statement changed, dropped or added."""
    statements_ = [dict(s) for s in document["Statement"]]
    index = draw(st.integers(0, len(statements_) - 1))
    choice = draw(st.integers(0, 3))
    if choice == 0 and len(statements_) > 1:
        del statements_[index]
    elif choice == 1:
        statements_[index].pop("Condition", None)
    elif choice == 2:
        statements_[index]["Effect"] = "Allow" if statements_[index]["Effect"] == "Deny" else "Deny"
    else:
        statements_.append(
            draw(statements("Principal" in statements_[0] or "NotPrincipal" in statements_[0]))
        )
    return {**document, "Statement": statements_}


@st.composite
def caller_resource_policies(draw: st.DrawFn) -> dict[str, Any]:
    """Resource policies naming the callers' account, its users and roles (as well as others)."""
    named = [
        CALLER,
        f"arn:aws:iam::{CALLER}:user/alice",
        f"arn:aws:iam::{CALLER}:role/alice-role",
        f"arn:aws:sts::{CALLER}:assumed-role/bob-role/s",
        f"arn:aws:iam::{CALLER}:root",
        A,
        "*",
    ]
    statements_ = draw(st.lists(statements(resource_policy=True), min_size=1, max_size=3))
    for statement in statements_:
        block = "NotPrincipal" if "NotPrincipal" in statement else "Principal"
        statement[block] = {
            "AWS": draw(st.lists(st.sampled_from(named), min_size=1, max_size=2, unique=True))
        }
    return {"Version": "2012-10-17", "Statement": statements_}


@st.composite
def identity_pairs(draw: st.DrawFn) -> tuple[PolicySet, PolicySet]:
    old = draw(documents())
    new = draw(mutated(old)) if draw(st.booleans()) else draw(documents())
    boundary = parse_policy(draw(documents()), name="boundary") if draw(st.integers(0, 3)) == 0 else None
    session = (parse_policy(draw(documents()), name="session"),) if draw(st.integers(0, 4)) == 0 else None
    resource = None
    account = None
    if draw(st.integers(0, 2)) == 0:  # the combination logic: a resource policy, same or cross-account
        resource = parse_policy(draw(caller_resource_policies()), name="resource", kind=PolicyKind.RESOURCE)
        account = draw(st.sampled_from([None, CALLER, A]))

    def side(document: dict[str, Any], name: str) -> PolicySet:
        policy = parse_policy(document, name=name, kind=PolicyKind.IDENTITY)
        return PolicySet(
            identity=(policy,),
            boundary=boundary,
            session=session,
            resource=resource,
            resource_account=account,
        )

    return side(new, "new"), side(old, "old")


@st.composite
def resource_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    old = draw(documents(resource_policy=True))
    new = draw(mutated(old)) if draw(st.booleans()) else draw(documents(resource_policy=True))
    return new, old


_EVALUATOR = Evaluator()


def _separates(request: Request, sides: tuple[PolicySet, PolicySet]) -> bool:
    new, old = (_EVALUATOR.evaluate(request, side) for side in sides)
    return new.allowed and not old.allowed


def _replayed(result: AnalysisResult) -> Request:
    example = result.counterexample
    assert example is not None
    context = {k.lower(): v for k, v in example.context.items()}
    return Request(principal_from_arn(example.principal), example.action, example.resource, context)


def _check_identity(pair: tuple[PolicySet, PolicySet], requests: int, seed: int) -> None:
    result = check_no_new_access(*pair, budget=20_000)
    if result.verdict is Verdict.FAIL:
        assert _separates(_replayed(result), pair), result.counterexample
    elif result.verdict is Verdict.PASS:
        found = any_separating(
            pair, IDENTITY_CALLERS, requests, seed, lambda d: d[0].allowed and not d[1].allowed
        )
        assert found is None, (found, result.reasons)
    else:
        assert result.reasons


def _resource_worlds(new: dict[str, Any], old: dict[str, Any]) -> list[tuple[PolicySet, PolicySet]]:
    policies = [parse_policy(d, name=n, kind=PolicyKind.RESOURCE) for d, n in ((new, "new"), (old, "old"))]
    worlds = []
    for identity in ((), (ALLOW_ALL,)):
        sides = tuple(PolicySet(identity=identity, resource=p, resource_account=CALLER) for p in policies)
        worlds.append((sides[0], sides[1]))
    return worlds


def _check_resource(pair: tuple[dict[str, Any], dict[str, Any]], requests: int, seed: int) -> None:
    result = check_no_new_access(*pair, policy_type="resource", budget=20_000)
    worlds = _resource_worlds(*pair)
    if result.verdict is Verdict.FAIL:
        request = _replayed(result)
        assert any(_separates(request, sides) for sides in worlds), result.counterexample
    elif result.verdict is Verdict.PASS:
        for identity_world, sides in zip(((), (ALLOW_ALL,)), worlds, strict=True):
            callers = [p for p in RESOURCE_CALLERS if not (identity_world and p.arn == "*")]
            found = any_separating(
                sides, callers, requests, seed, lambda d: d[0].allowed and not d[1].allowed
            )
            assert found is None, (found, result.reasons)
    else:
        assert result.reasons


_FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_LARGE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(identity_pairs(), st.integers(0, 2**32))
def test_identity_pairs(pair: tuple[PolicySet, PolicySet], seed: int) -> None:
    _check_identity(pair, 500, seed)


@_FAST
@given(resource_pairs(), st.integers(0, 2**32))
def test_resource_pairs(pair: tuple[dict[str, Any], dict[str, Any]], seed: int) -> None:
    _check_resource(pair, 300, seed)


@pytest.mark.slow
@_LARGE
@given(identity_pairs(), st.integers(0, 2**32))
def test_identity_pairs_large(pair: tuple[PolicySet, PolicySet], seed: int) -> None:
    _check_identity(pair, 3000, seed)


@pytest.mark.slow
@_LARGE
@given(resource_pairs(), st.integers(0, 2**32))
def test_resource_pairs_large(pair: tuple[dict[str, Any], dict[str, Any]], seed: int) -> None:
    _check_resource(pair, 2000, seed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(identity_pairs())
def test_leaving_dominated_values_out_changes_no_answer(pair: tuple[PolicySet, PolicySet]) -> None:
    """The search with ``wants`` (dominated condition values left out) finds a separating request
    exactly when the search over every value does."""
    from iamguard.analysis._search import search
    from iamguard.analysis._verdict import _principals

    callers, _ = _principals(pair, None)

    def goal(request: Request, decisions: Any) -> bool:
        return bool(decisions[0].allowed and not decisions[1].allowed)

    pruned = search(pair, goal, callers, budget=50_000, wants=(1, -1))
    full = search(pair, goal, callers, budget=50_000)
    if pruned.complete and full.complete:
        assert (pruned.request is None) == (full.request is None), (pruned.request, full.request)
    assert pruned.tried <= full.tried or pruned.request is not None
