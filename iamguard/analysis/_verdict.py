"""From a search to a verdict: FAIL only with a counterexample that replays, PASS only after a
complete search, UNKNOWN (with the reasons) otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from iamguard.analysis._inputs import ALLOW_ALL, Sides
from iamguard.analysis._relax import VARIABLE_MARK, relaxed
from iamguard.analysis._search import Found, Goal, policies_of, search
from iamguard.analysis.principals import identity_principals, principal_from_arn, resource_principals
from iamguard.analysis.results import AnalysisResult, Counterexample, Verdict
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import Request
from iamguard.principal import Principal, PrincipalType

__all__ = ["DEFAULT_BUDGET", "Relaxation", "run_check"]

#: Per side, whether its relaxation allows at least (True) or at most (False) as much; the goal
#: that must have no request on the relaxed sides; and what it wants of each side (``search``).
Relaxation = tuple[tuple[bool, ...], Goal, tuple[int, ...] | None]

#: Requests evaluated per world before the search gives up (and answers UNKNOWN).
DEFAULT_BUDGET = 200_000

_EVALUATOR = Evaluator()


def run_check(
    worlds: Sequence[Sides],
    goal: Goal,
    *,
    actions: Sequence[str] = (),
    resources: Sequence[str] = (),
    budget: int = DEFAULT_BUDGET,
    principals: Sequence[Principal] | None = None,
    passed: str = "no request separates them",
    relaxations: Sequence[Relaxation] = (),
    wants: Sequence[int] | None = None,
) -> AnalysisResult:
    """Search every world; the first separating request that replays is the FAIL.

    ``relaxations`` decide a world left open only by policy variables (``_relax``): each is
    (per side: relax it wider or narrower, the goal that must have no request there, its wants).
    ``wants`` says, per side, whether ``goal`` needs it to allow (+1) or deny (-1): then the
    search leaves out condition values another one dominates and stops branches that cannot
    meet the goal (``_search`` module doc).
    """
    reasons: list[str] = []
    tried = 0
    relaxed_worlds = 0
    for sides in worlds:
        candidates, partial = _principals(sides, principals)
        reasons.extend(r for r in partial if r not in reasons)
        found = search(
            sides, goal, candidates, actions=actions, resources=resources, budget=budget, wants=wants
        )
        tried += found.tried
        if found.request is not None:
            return _fail(sides, goal, found, tried)
        if found.reasons and relaxations and all(VARIABLE_MARK in r for r in found.reasons):
            outcome = _decide_relaxed(sides, goal, candidates, relaxations, actions, resources, budget)
            tried += outcome.requests_tried
            if outcome.verdict is Verdict.FAIL:
                return replace(outcome, requests_tried=tried)
            if outcome.verdict is Verdict.PASS:
                relaxed_worlds += 1
                continue
            reasons.extend(r for r in outcome.reasons if r not in reasons)
        reasons.extend(r for r in found.reasons if r not in reasons)
    if reasons:
        return AnalysisResult(Verdict.UNKNOWN, None, tuple(reasons), tried)
    how = f"complete search, {tried} requests"
    if relaxed_worlds:
        how += "; policy variables decided on a relaxation that allows at least/at most as much"
    return AnalysisResult(Verdict.PASS, None, (f"{passed} ({how})",), tried)


def _decide_relaxed(
    sides: Sides,
    goal: Goal,
    candidates: Sequence[Principal],
    relaxations: Sequence[Relaxation],
    actions: Sequence[str],
    resources: Sequence[str],
    budget: int,
) -> AnalysisResult:
    """PASS when no relaxation has a request for its goal; FAIL when one found on a relaxation
    also separates the original sides; else UNKNOWN."""
    tried = 0
    for wider, relaxed_goal, relaxed_wants in relaxations:
        relaxed_sides = tuple(relaxed(side, wider=w) for side, w in zip(sides, wider, strict=True))
        found = search(
            relaxed_sides,
            relaxed_goal,
            candidates,
            actions=actions,
            resources=resources,
            budget=budget,
            wants=relaxed_wants,
        )
        tried += found.tried
        if found.request is not None:
            original = tuple(_EVALUATOR.evaluate(found.request, side) for side in sides)
            if goal(found.request, original):
                return _fail(sides, goal, replace(found, decisions=original), tried)
            return AnalysisResult(
                Verdict.UNKNOWN,
                None,
                (
                    "policy variables: the relaxation without them has a separating request the policies do not",
                ),
                tried,
            )
        if found.reasons:
            return AnalysisResult(Verdict.UNKNOWN, None, found.reasons, tried)
    return AnalysisResult(Verdict.PASS, None, (), tried)


def _principals(
    sides: Sides, given: Sequence[Principal] | None
) -> tuple[tuple[Principal, ...], tuple[str, ...]]:
    if given is not None:
        return tuple(given), ()
    if any(side.resource is not None for side in sides):
        callers_only = any(side.identity and ALLOW_ALL not in side.identity for side in sides)
        candidates, reasons = resource_principals(sides, callers_only=callers_only)
        if any(ALLOW_ALL in side.identity for side in sides):
            # An anonymous caller has no account, hence no identity policies to consent with.
            candidates = tuple(p for p in candidates if p.type is not PrincipalType.ANONYMOUS)
        return candidates, reasons
    return identity_principals(), ()


def _fail(sides: Sides, goal: Goal, found: Found, tried: int) -> AnalysisResult:
    assert found.request is not None
    example = _counterexample(sides, found)
    # Replay from the counterexample's own fields: what a reader re-runs is what was checked.
    request = Request(
        principal_from_arn(example.principal),
        example.action,
        example.resource,
        {k.lower(): v for k, v in example.context.items()},
    )
    decisions = tuple(_EVALUATOR.evaluate(request, side) for side in sides)
    if not goal(request, decisions):
        return AnalysisResult(
            Verdict.UNKNOWN,
            None,
            (f"internal error: the separating request did not replay: {example.to_json()}",),
            tried,
        )
    described = tuple(f"{d.kind.value}: {d.reason}" for d in decisions)
    return AnalysisResult(Verdict.FAIL, _with_decisions(example, described), _world(sides), tried)


def _world(sides: Sides) -> tuple[str, ...]:
    """How to replay a resource-policy counterexample: what the caller's own account grants."""
    owners = {side.resource_account or "" for side in sides if side.resource is not None}
    if not owners:
        return ()
    owned = [f"the resource's account is {o} (--resource-owner {o})" for o in sorted(owners) if o]
    if any(ALLOW_ALL in side.identity for side in sides):
        return (
            'the caller\'s own account allows everything: replay with an identity policy allowing "*" on "*"',
            *owned,
        )
    if all(not side.identity for side in sides):
        return (
            "the caller's own identity policies allow nothing: replay with an identity policy that allows nothing",
            *owned,
        )
    return tuple(owned)


def _with_decisions(example: Counterexample, decisions: tuple[str, ...]) -> Counterexample:
    return Counterexample(example.principal, example.action, example.resource, example.context, decisions)


def _counterexample(sides: Sides, found: Found) -> Counterexample:
    """The request with the policies' own spellings of its action and context keys."""
    assert found.request is not None
    request = found.request
    spelled_keys: dict[str, str] = {}
    spelled_actions: dict[str, str] = {}
    for side in sides:
        for policy in policies_of(side):
            for statement in policy.statements:
                for condition in statement.conditions:
                    spelled_keys.setdefault(condition.key.lower(), condition.key)
                for action in statement.action or statement.not_action or ():
                    spelled_actions.setdefault(action.lower(), action)
    derived = principal_context_keys(request.principal)
    context = {
        spelled_keys.get(key, key): value
        for key, value in request.context.items()
        if derived.get(key) != value  # keys the principal itself carries need no flag
    }
    action = spelled_actions.get(request.action, request.action)
    return Counterexample(request.principal.arn, action, request.resource, context)
