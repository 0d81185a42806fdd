"""The search behind every check: try one request per region of the policies' request space.

A request is (principal, action, resource, context). Every test a policy applies reads one of
those dimensions through literals and patterns written in the policies, so the space falls into
finitely many regions the evaluator cannot tell apart, and one request per region decides any
question about all requests. The search walks them per statement, not as a full cross product:

1. **Actions**: one action per region of every ``Action``/``NotAction`` pattern (and the
   caller's filter), restricted to valid ``service:name`` strings (``_regions``).
2. For each action, only the statements it reaches (``CompiledPolicy.candidates``) matter;
   **resources**: one per region of *their* ``Resource``/``NotResource`` patterns.
3. For each resource, only the statements whose resource test passes matter; per **condition
   key** they read, one value per class (``_values``), absence, and multi-valued sets built from
   the classes the ``ForAllValues``/``ForAnyValue`` entries see. Values every condition on the
   key answers alike are merged first (the answers are computed by the compiled conditions
   themselves, so the merge is exact).
4. **Principals**: the caller's candidates (``principals.py``), crossed with the key values.

Each request is decided by iamguard's own :class:`~iamguard.evaluate.engine.Evaluator` on every
side, and the caller's goal says whether it separates them. So a request the search returns was
verified by the evaluator, and when nothing is found after a complete walk, no request exists.
Anything that would make a walk incomplete (a policy variable, a bound hit, operators of
different types on one key) is collected in ``reasons`` and turns a PASS into UNKNOWN.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iamguard.analysis._regions import Pattern, glob_tokens, region_witnesses
from iamguard.analysis._values import KeyValues, key_values
from iamguard.context import ContextValue
from iamguard.decision import Decision
from iamguard.evaluate.compile import CompiledPolicy, CompiledStatement, compiled
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Condition, Policy
from iamguard.policy.variables import compile_template
from iamguard.principal import Principal

__all__ = ["Found", "Goal", "policies_of", "search"]

Goal = Callable[[Request, tuple[Decision, ...]], bool]

#: The value given to a policy variable's key while resources and conditions are enumerated.
VARIABLE_VALUE = "simulated"
#: At most this many classes of a key feed multi-valued sets (2^n subsets).
_MAX_SET_CLASSES = 6

_EVALUATOR = Evaluator()
_VALID_ACTION = glob_tokens("?*:?*")


@dataclass(frozen=True, slots=True)
class Found:
    """The outcome: the separating request (or None), whether the walk was complete, and why not."""

    request: Request | None
    decisions: tuple[Decision, ...]
    complete: bool
    reasons: tuple[str, ...]
    tried: int


@dataclass
class _Walk:
    sides: Sequence[PolicySet]
    goal: Goal
    principals: Sequence[Principal]
    action_filter: tuple[str, ...]
    resource_filter: tuple[str, ...]
    budget: int
    reasons: list[str] = field(default_factory=list)
    tried: int = 0
    assignment: dict[str, ContextValue] = field(default_factory=dict)
    #: Per side: +1 when the goal needs it to allow, -1 to deny, 0 when either will do; None
    #: when the goal is not of that shape (then no value is left out as dominated).
    wants: tuple[int, ...] | None = None
    #: Per compiled statement (by id): per side, +1 for an Allow there, -1 for a Deny, 0 absent.
    signs: dict[int, list[int]] = field(default_factory=dict)
    _key_memo: dict[tuple[tuple[Condition, ...], bool], KeyValues] = field(default_factory=dict)
    #: Resource witnesses per set of (pattern, escaped): actions reaching the same statements share.
    _resource_memo: dict[tuple[tuple[str, bool], ...], list[str]] = field(default_factory=dict)

    def note(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)


def policies_of(side: PolicySet) -> list[Policy]:
    """Every policy taking part in ``side``'s decisions."""
    out = list(side.identity)
    if side.boundary is not None:
        out.append(side.boundary)
    out.extend(side.session or ())
    if side.resource is not None:
        out.append(side.resource)
    return out


def search(
    sides: Sequence[PolicySet],
    goal: Goal,
    principals: Sequence[Principal],
    *,
    actions: Sequence[str] = (),
    resources: Sequence[str] = (),
    budget: int = 200_000,
    wants: Sequence[int] | None = None,
) -> Found:
    """Find a request for which ``goal(request, decisions per side)`` holds (see module doc).

    ``wants`` (per side: +1 the goal needs an allow, -1 a deny, 0 either) lets a condition
    value be left out when another one is at least as good for the goal on every statement
    (see :func:`_undominated`).
    """
    walk = _Walk(sides, goal, principals, tuple(a.lower() for a in actions), tuple(resources), budget)
    if wants is not None:
        walk.wants = tuple(wants)
        for index, side in enumerate(sides):
            for member in policies_of(side):
                for statement in compiled(member).statements:
                    row = walk.signs.setdefault(id(statement), [0] * len(sides))
                    row[index] = -1 if statement.is_deny else 1
    compiled_policies = _unique_compiled(sides)
    for cp in compiled_policies:
        _note_variable_keys(walk, cp.policy)
    for action in _changed_first(sides, compiled_policies, _actions(walk, compiled_policies)):
        found = _try_action(walk, compiled_policies, action)
        if found is not None:
            return found
        if walk.tried >= walk.budget:
            walk.note(f"search budget of {walk.budget} requests used up")
            break
    return Found(None, (), not walk.reasons, tuple(walk.reasons), walk.tried)


def _changed_first(
    sides: Sequence[PolicySet], policies: Sequence[CompiledPolicy], actions: list[str]
) -> list[str]:
    """The actions reaching a statement that is not on every side first (where a difference
    most likely is); the order changes how soon a FAIL is found, never what is tried."""
    if len(sides) < 2:
        return actions
    texts = [{repr(s.to_json()) for p in policies_of(side) for s in p.statements} for side in sides]
    common = set.intersection(*texts)
    changed = {id(s) for cp in policies for s in cp.statements if repr(s.statement.to_json()) not in common}
    if not changed:
        return actions

    def untouched(action: str) -> bool:
        return not any(id(s) in changed for cp in policies for s in cp.candidates(action))

    return sorted(actions, key=untouched)


def _unique_compiled(sides: Sequence[PolicySet]) -> list[CompiledPolicy]:
    seen: dict[int, CompiledPolicy] = {}
    for side in sides:
        for policy in policies_of(side):
            seen.setdefault(id(policy), compiled(policy))
    return list(seen.values())


def _note_variable_keys(walk: _Walk, policy: Policy) -> None:
    """Give each key a policy variable reads a fixed value, and record that the walk is partial."""
    if not policy.variables_enabled:
        return
    for statement in policy.statements:
        texts = [*(statement.resource or ()), *(statement.not_resource or ())]
        texts += [v for c in statement.conditions for v in c.values]
        for text in texts:
            if "${" not in text:
                continue
            template = compile_template(text)
            if template.has_variables:
                walk.note(
                    f"{policy.name or 'policy'} Statement[{statement.index}] uses policy variables in {text!r}"
                )
                for key in template.referenced_keys:
                    walk.assignment.setdefault(key, VARIABLE_VALUE)


def _actions(walk: _Walk, policies: Sequence[CompiledPolicy]) -> list[str]:
    """One valid action per region of every action pattern (lower-cased, as IAM compares)."""
    texts: dict[str, None] = {}
    for cp in policies:
        for statement in cp.policy.statements:
            for pattern in statement.action or statement.not_action or ():
                texts[pattern.lower()] = None
    filters = walk.action_filter
    ordered = list(texts) + [f for f in filters if f not in texts]
    patterns = [glob_tokens(t) for t in ordered] + [_VALID_ACTION]
    regions = region_witnesses(patterns, avoid=frozenset("*?"))
    if not regions.complete:
        walk.note("too many action regions to enumerate")
    filter_slots = [ordered.index(f) for f in filters]
    out: list[str] = []
    for signature, witnesses in regions.witnesses.items():
        if not signature[-1]:
            continue  # not a service:name string
        if filter_slots and not any(signature[i] for i in filter_slots):
            continue
        out.append(_readable(witnesses[0], signature, ordered))
    # Actions the policies spell out first: the counterexample a reader expects.
    return sorted(out, key=lambda a: a not in texts)


def _readable(witness: str, signature: tuple[bool, ...], texts: Sequence[str]) -> str:
    """A literal action of the same region when there is one (same signature, so same answers)."""
    for text in texts:
        if "*" not in text and "?" not in text and signature[texts.index(text)]:
            return text
    return witness


def _try_action(walk: _Walk, policies: Sequence[CompiledPolicy], action: str) -> Found | None:
    reached = [s for cp in policies for s in cp.candidates(action)]
    for resource in _resources(walk, reached):
        try:
            matching = [s for s in reached if s.body.resource_matches(resource, walk.assignment)]
        except Exception as exc:  # a statement the engine cannot compile fails closed there too
            walk.note(f"a statement could not be compiled: {exc}")
            matching = reached
        found = _try_resource(walk, matching, action, resource)
        if found is not None or walk.tried >= walk.budget:
            return found
    return None


def _resources(walk: _Walk, statements: Sequence[CompiledStatement]) -> list[str]:
    """One resource per region of the statements' Resource/NotResource patterns (and the filter)."""
    texts: dict[tuple[str, bool], None] = {}  # (pattern, escaped: a rendered policy variable)
    for statement in statements:
        st = statement.statement
        for pattern in st.resource or st.not_resource or ():
            if statement.variables and "${" in pattern:
                rendered = compile_template(pattern).render(walk.assignment, escape_wildcards=True)
                if rendered is not None:
                    texts[(rendered, True)] = None
            elif pattern != "*":
                texts[(pattern, False)] = None
    for pattern in walk.resource_filter:
        texts[(pattern, False)] = None
    ordered = list(texts)
    if not ordered:
        return ["*"]  # nothing tells resources apart: any one stands for all
    memo_key = tuple(sorted(ordered))
    found = walk._resource_memo.get(memo_key)
    if found is not None:
        return found
    patterns: list[Pattern] = [glob_tokens(text, escaped=escaped) for text, escaped in ordered]
    regions = region_witnesses(patterns)
    if not regions.complete:
        walk.note("too many resource regions to enumerate")
    filter_slots = [ordered.index((f, False)) for f in walk.resource_filter]
    out: list[str] = []
    for signature, witnesses in regions.witnesses.items():
        if filter_slots and not any(signature[i] for i in filter_slots):
            continue
        out.append(witnesses[0])
    walk._resource_memo[memo_key] = out
    return out


def _try_resource(
    walk: _Walk, statements: Sequence[CompiledStatement], action: str, resource: str
) -> Found | None:
    by_key: dict[str, list[_Entry]] = {}
    for statement in statements:
        body = statement.body
        for condition, test in zip(statement.statement.conditions, body.conditions, strict=True):
            by_key.setdefault(condition.key.lower(), []).append(
                (condition, test, statement.variables, id(statement))
            )
    keys = sorted(by_key)
    choices = [_key_choices(walk, key, by_key[key]) for key in keys]
    for principal in walk.principals:
        derived = principal_context_keys(principal)
        for combo in _product(choices):
            context = dict(walk.assignment)
            duplicate = False
            for key, value in zip(keys, combo, strict=True):
                if value is None:
                    # Not set by the request: absent, or the principal's own value when it
                    # carries the key (tried first, so counterexamples stay consistent).
                    context.pop(key, None)
                elif value == ():
                    # An empty set hides a key the principal carries (the evaluator reads it as
                    # absent); for any other key it is the same request as None.
                    duplicate = duplicate or key not in derived
                    context[key] = ()
                else:
                    context[key] = value
            if duplicate:
                continue
            request = Request(principal, action, resource, context)
            decisions = tuple(_EVALUATOR.evaluate(request, side) for side in walk.sides)
            walk.tried += 1
            if walk.goal(request, decisions):
                return Found(request, decisions, not walk.reasons, tuple(walk.reasons), walk.tried)
            if walk.tried >= walk.budget:
                return None
    return None


def _product(choices: Sequence[Sequence[ContextValue | None]]) -> Iterator[tuple[ContextValue | None, ...]]:
    return itertools.product(*choices)


#: A condition entry of a statement the request reaches: (condition, its compiled test, whether
#: the policy substitutes variables, the statement's id).
_Entry = tuple[Condition, Callable[[Mapping[str, ContextValue]], bool], bool, int]


def _key_choices(walk: _Walk, key: str, entries: Sequence[_Entry]) -> list[ContextValue | None]:
    """Absent, one value per class, and multi-valued sets; merged where every entry agrees,
    and without values another one dominates."""
    conditions = tuple(c for c, _, _, _ in entries)
    variables = any(v for _, _, v, _ in entries)
    memo_key = (conditions, variables)
    found = walk._key_memo.get(memo_key)
    if found is None:
        found = walk._key_memo[memo_key] = key_values(conditions, variables)
    for reason in found.reasons:
        walk.note(reason)
    tests = [t for _, t, _, _ in entries]
    qualified = [t for c, t, _, _ in entries if c.qualifier is not None]

    def answers(value: ContextValue | None) -> tuple[bool, ...]:
        context: dict[str, Any] = dict(walk.assignment)
        context.pop(key, None)
        if value is not None:
            context[key] = value
        return tuple(_safe(t, context) for t in tests)

    singles: list[ContextValue | None] = list(found.values)
    classes: dict[tuple[bool, ...], str] = {}
    for text in found.values:
        context = {**walk.assignment, key: text}
        classes.setdefault(tuple(_safe(t, context) for t in qualified), text)
    representatives = list(classes.values())
    if len(representatives) > _MAX_SET_CLASSES:
        walk.note(f"condition key {key}: too many value classes for multi-valued sets")
        subsets: list[tuple[str, ...]] = [tuple(pair) for pair in itertools.combinations(representatives, 2)]
    else:
        subsets = [
            tuple(chosen)
            for size in range(1, len(representatives) + 1)
            for chosen in itertools.combinations(representatives, size)
        ]
    sets: list[ContextValue | None] = [s if len(s) > 1 else (s[0], s[0]) for s in subsets]
    merged: dict[tuple[bool, ...], ContextValue | None] = {}
    for value in singles + sets:
        merged.setdefault(answers(value), value)
    kept = list(merged.items())
    if walk.wants is not None and not walk.assignment:
        kept = _undominated(kept, [_direction(walk, e[3]) for e in entries])
    # Absence (None) stays a choice of its own even when a present value answers alike: for a
    # key the principal carries it means the principal's value, and the present value must still
    # be tried; the empty set () is the absence of such a key.
    return [None, *(v for _, v in kept if v is not None and v != ()), ()]


def _direction(walk: _Walk, statement: int) -> int | None:
    """Which truth of a condition of ``statement`` helps the goal: +1 true, -1 false, 0 it
    must stay as it is (it helps on one side and hurts on another), None: it does not matter."""
    assert walk.wants is not None
    signs = walk.signs.get(statement)
    if signs is None:
        return 0  # a statement not seen while the signs were taken: keep its answers as they are
    found = {want * sign for want, sign in zip(walk.wants, signs, strict=True) if want and sign}
    if not found:
        return None
    return found.pop() if len(found) == 1 else 0


def _undominated(
    values: list[tuple[tuple[bool, ...], ContextValue | None]], directions: list[int | None]
) -> list[tuple[tuple[bool, ...], ContextValue | None]]:
    """The values no other value dominates.

    Why this is sound: evaluation is monotone in each statement (an Allow that applies to more
    requests allows more, a Deny denies more; ``_relax`` has the references), and each goal here
    needs given sides to allow or deny. If a request with value ``b`` meets the goal, the same
    request with ``a`` instead also does when, condition by condition, ``a`` makes each one at
    least as helpful (true where truth helps, false where it hurts, the same where it does
    both): so ``b`` need not be tried. Among values equal on every condition that matters, one
    is kept.
    """
    kept: list[tuple[tuple[bool, ...], ContextValue | None]] = []
    seen: set[tuple[bool, ...]] = set()

    def projection(answers: tuple[bool, ...]) -> tuple[bool, ...]:
        return tuple(a for a, d in zip(answers, directions, strict=True) if d is not None)

    def at_least(a: tuple[bool, ...], b: tuple[bool, ...]) -> bool:
        for x, y, d in zip(a, b, directions, strict=True):
            if d is None:
                continue
            if (d > 0 and x < y) or (d < 0 and x > y) or (d == 0 and x != y):
                return False
        return True

    for answers, value in values:
        mine = projection(answers)
        if mine in seen:
            continue
        if any(projection(other) != mine and at_least(other, answers) for other, _ in values):
            continue
        seen.add(mine)
        kept.append((answers, value))
    return kept


def _safe(test: Callable[[Mapping[str, ContextValue]], bool], context: Mapping[str, ContextValue]) -> bool:
    try:
        return bool(test(context))
    except Exception:
        return False
