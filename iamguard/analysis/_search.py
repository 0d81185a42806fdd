"""The search behind every check: try one request per region of the policies' request space.

A request is (principal, action, resource, context). Every test a policy applies reads one of
those dimensions through literals and patterns written in the policies, so the space falls into
finitely many regions the evaluator cannot tell apart, and one request per region decides any
question about all requests. The search walks them per statement, not as a full cross product:

1. **Actions**: one action per region of every ``Action``/``NotAction`` pattern (and the
   caller's filter), restricted to valid ``service:name`` strings (``_regions``).
2. For each action, only the statements it reaches (``PolicyView.candidates``) matter;
   **resources**: one per region of *their* ``Resource``/``NotResource`` patterns.
3. For each resource, only the statements whose resource test passes matter; per **condition
   key** they read, one value per class (``_values``), absence, and multi-valued sets built from
   the classes the ``ForAllValues``/``ForAnyValue`` entries see.
4. **Principals**: the caller's candidates (``principals.py``); per principal, the condition
   keys are assigned one at a time, depth first (:func:`_try_contexts`).

Step 4 is where dense policies (a hundred statements testing the same few keys) would multiply
out: ten keys of twenty classes each are 20^10 contexts. But a condition entry reads one key, and
a statement applies when all its entries hold, so once some keys are assigned, what the rest of
the search can still reach depends only on *which statements are still alive* (every entry on the
assigned keys holds). The walk keeps that set (a bit mask over the statements) and:

* **merges** partial assignments that leave the same statements alive, and values of a key that
  kill the same statements (each is exactly as good as the other for every completion);
* leaves out a value another value of the same key **dominates** for the goal (it keeps alive
  every Allow the goal needs on a side that must allow and kills every Deny there, and the other
  way on a side that must deny): evaluation is monotone in each statement (see ``_relax``);
* **stops** a branch no completion can help: a side that must allow with no live Allow left
  (and a caller other than the root user), or with a Deny of its own (not a resource policy's,
  which depends on the caller) that holds whatever comes; a side of identity policies only
  that must deny, with an Allow that holds whatever comes and no live Deny.

Each stop, merge and omission follows from the evaluation logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html:
an explicit deny wins, otherwise an Allow is needed, except for the root user in its own account),
and only ever drops requests another one stands for; the property tests check the pruned walk
against the full product.

Each request is decided by iamguard's own :class:`~iamguard.evaluate.engine.Evaluator` on every
side, and the caller's goal says whether it separates them. So a request the search returns was
verified by the evaluator, and when nothing is found after a complete walk, no request exists.
Anything that would make a walk incomplete (a policy variable, a bound hit, operators of
different types on one key) is collected in ``reasons`` and turns a PASS into UNKNOWN. With a
policy variable in play, a condition may read two keys, and the walk falls back to the plain
product of the keys' values, without merging states or stopping branches.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iamguard.analysis._regions import Pattern, glob_tokens, region_witnesses
from iamguard.analysis._statements import PolicyView, StatementView, views_of
from iamguard.analysis._values import KeyValues, key_values
from iamguard.context import ContextValue
from iamguard.decision import Decision
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Condition, Policy
from iamguard.policy.operators import CompiledCondition
from iamguard.policy.variables import compile_template
from iamguard.principal import Principal, PrincipalType

__all__ = ["Found", "Goal", "policies_of", "search"]

Goal = Callable[[Request, tuple[Decision, ...]], bool]

#: The value given to a policy variable's key while resources and conditions are enumerated.
VARIABLE_VALUE = "simulated"
#: At most this many classes of a key feed multi-valued sets (2^n subsets).
_MAX_SET_CLASSES = 6
#: Partial assignments visited per requested evaluated, at most, before the walk gives up.
_NODES_PER_REQUEST = 20

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
    exhaustive: bool = False
    reasons: list[str] = field(default_factory=list)
    tried: int = 0
    nodes: int = 0
    assignment: dict[str, ContextValue] = field(default_factory=dict)
    #: Per side: +1 when the goal needs it to allow, -1 to deny, 0 when either will do; None
    #: when the goal is not of that shape (then nothing is left out as dominated or stopped).
    wants: tuple[int, ...] | None = None
    #: Per statement view (by id): per side, +1 for an Allow there, -1 for a Deny, 0 absent.
    signs: dict[int, list[int]] = field(default_factory=dict)
    #: Per side: whether it holds identity policies only, in the caller's own account.
    identity_only: tuple[bool, ...] = ()
    _key_memo: dict[tuple[tuple[Condition, ...], bool], KeyValues] = field(default_factory=dict)
    #: Resource witnesses per set of (pattern, escaped): actions reaching the same statements share.
    _resource_memo: dict[tuple[tuple[str, bool], ...], list[str]] = field(default_factory=dict)

    def note(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def out_of_budget(self) -> bool:
        return self.tried >= self.budget or self.nodes >= self.budget * _NODES_PER_REQUEST


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
    exhaustive: bool = False,
) -> Found:
    """Find a request for which ``goal(request, decisions per side)`` holds (see module doc).

    ``wants`` (per side: +1 the goal needs an allow, -1 a deny, 0 either) lets the walk leave
    out condition values another one dominates and stop branches that cannot meet the goal.
    ``exhaustive`` tries the full product of every key's values (no merging, no stopping): the
    reference the tests compare the pruned walk with.
    """
    walk = _Walk(
        sides, goal, principals, tuple(a.lower() for a in actions), tuple(resources), budget, exhaustive
    )
    views = views_of([p for side in sides for p in policies_of(side)])
    if wants is not None:
        walk.wants = tuple(wants)
        by_policy = {id(v.policy): v for v in views}
        for index, side in enumerate(sides):
            for member in {id(p) for p in policies_of(side)}:
                for view in by_policy[member].statements:
                    row = walk.signs.setdefault(id(view), [0] * len(sides))
                    row[index] = -1 if view.is_deny else 1
        walk.identity_only = tuple(
            side.boundary is None
            and side.session is None
            and side.resource is None
            and side.resource_account is None
            for side in sides
        )
    for pv in views:
        _note_variable_keys(walk, pv.policy)
    for action in _changed_first(sides, views, _actions(walk, views)):
        found = _try_action(walk, views, action)
        if found is not None:
            return found
        if walk.out_of_budget():
            walk.note(f"search budget of {walk.budget} requests used up")
            break
    return Found(None, (), not walk.reasons, tuple(walk.reasons), walk.tried)


def _changed_first(sides: Sequence[PolicySet], views: Sequence[PolicyView], actions: list[str]) -> list[str]:
    """The actions reaching a statement that is not on every side first (where a difference
    most likely is); the order changes how soon a FAIL is found, never what is tried."""
    if len(sides) < 2:
        return actions
    texts = [{repr(s.to_json()) for p in policies_of(side) for s in p.statements} for side in sides]
    common = set.intersection(*texts)
    changed = {id(s) for pv in views for s in pv.statements if repr(s.statement.to_json()) not in common}
    if not changed:
        return actions

    def untouched(action: str) -> bool:
        return not any(id(s) in changed for pv in views for s in pv.candidates(action))

    return sorted(actions, key=untouched)


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


def _actions(walk: _Walk, views: Sequence[PolicyView]) -> list[str]:
    """One valid action per region of every action pattern (lower-cased, as IAM compares)."""
    texts: dict[str, None] = {}
    for pv in views:
        for statement in pv.policy.statements:
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


def _try_action(walk: _Walk, views: Sequence[PolicyView], action: str) -> Found | None:
    reached = [s for pv in views for s in pv.candidates(action)]
    for resource in _resources(walk, reached):
        try:
            matching = [s for s in reached if s.resource_matches(resource, walk.assignment)]
        except Exception as exc:  # fail closed, as the evaluator does; the walk says so
            walk.note(f"a statement's resources could not be compiled: {exc}")
            matching = reached
        found = _try_resource(walk, matching, action, resource)
        if found is not None or walk.out_of_budget():
            return found
    return None


def _resources(walk: _Walk, statements: Sequence[StatementView]) -> list[str]:
    """One resource per region of the statements' Resource/NotResource patterns (and the filter)."""
    texts: dict[tuple[str, bool], None] = {}  # (pattern, escaped: a rendered policy variable)
    for view in statements:
        st = view.statement
        for pattern in st.resource or st.not_resource or ():
            if view.variables and "${" in pattern:
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


#: A condition entry of a statement the request reaches: (condition, its compiled test, whether
#: the policy substitutes variables, the statement's position among the reached ones).
_Entry = tuple[Condition, CompiledCondition, bool, int]


@dataclass
class _Space:
    """The condition keys one (action, resource) reaches and what each value does to them.

    Statement ``i`` of ``statements`` is bit ``1 << i`` of a state: set while every entry on
    the keys assigned so far holds. ``settled[j]``: the statements all of whose keys are among
    the first ``j`` (their bit no longer changes).
    """

    statements: Sequence[StatementView]
    keys: list[str]
    entries: dict[str, list[_Entry]]
    everything: int
    broken: int  # statements whose conditions could not be compiled: never settled
    settled: list[int]
    #: Goal directions: bits whose truth must be as high as possible, as low, or kept.
    plus: int = 0
    minus: int = 0
    keep: int = 0
    #: Per side the goal needs to allow / deny: (side index, its Allow bits, its Deny bits,
    #: the Deny bits that apply to every caller).
    must_allow: list[tuple[int, int, int]] = field(default_factory=list)
    must_deny: list[tuple[int, int]] = field(default_factory=list)
    #: Whether values of different keys may interact (policy variables): no merging then.
    independent: bool = True


def _try_resource(
    walk: _Walk, statements: Sequence[StatementView], action: str, resource: str
) -> Found | None:
    space = _space(walk, statements)
    for principal in walk.principals:
        found = _try_contexts(walk, space, principal, action, resource)
        if found is not None or walk.out_of_budget():
            return found
    return None


def _space(walk: _Walk, statements: Sequence[StatementView]) -> _Space:
    entries: dict[str, list[_Entry]] = {}
    broken = 0
    for position, view in enumerate(statements):
        try:
            compiled = view.conditions
        except Exception as exc:  # the evaluator fails such a statement closed; not decided here
            walk.note(f"a statement could not be compiled: {exc}")
            broken |= 1 << position
            continue
        for condition, test in zip(view.statement.conditions, compiled, strict=True):
            entries.setdefault(condition.key.lower(), []).append((condition, test, view.variables, position))
    # Keys tested by the most statements first: they settle and stop branches soonest.
    keys = sorted(entries, key=lambda k: (-len({e[3] for e in entries[k]}), k))
    everything = (1 << len(statements)) - 1
    level_of = [0] * len(statements)
    for depth, key in enumerate(keys, 1):
        for entry in entries[key]:
            level_of[entry[3]] = depth
    settled = [
        sum(1 << i for i, level in enumerate(level_of) if level <= depth) & ~broken
        for depth in range(len(keys) + 1)
    ]
    space = _Space(statements, keys, entries, everything, broken, settled)
    space.independent = not walk.assignment and not walk.exhaustive
    if walk.wants is not None and space.independent:
        _directions(walk, space)
    return space


def _directions(walk: _Walk, space: _Space) -> None:
    """The goal's wishes per statement bit, and per side what stops a branch (module doc)."""
    assert walk.wants is not None
    rows = [walk.signs.get(id(view)) for view in space.statements]
    for position, row in enumerate(rows):
        bit = 1 << position
        if row is None:
            space.keep |= bit  # a statement not seen while the signs were taken: keep it as it is
            continue
        found = {w * s for w, s in zip(walk.wants, row, strict=True) if w and s}
        if found == {1}:
            space.plus |= bit
        elif found == {-1}:
            space.minus |= bit
        elif found:
            space.keep |= bit
    for side, want in enumerate(walk.wants):
        allows = denies = everyone = 0
        for position, (view, row) in enumerate(zip(space.statements, rows, strict=True)):
            if row is None or not row[side]:
                continue
            bit = 1 << position
            if row[side] > 0:
                allows |= bit
            else:
                denies |= bit
                st = view.statement
                if st.principal is None and st.not_principal is None:
                    everyone |= bit
        if want > 0:
            space.must_allow.append((allows, denies, everyone))
        elif want < 0 and walk.identity_only[side]:
            space.must_deny.append((allows, denies))


def _stopped(space: _Space, state: int, depth: int, root: bool) -> bool:
    """Whether no assignment of the keys after ``depth`` can meet the goal (module doc)."""
    settled = space.settled[depth]
    for allows, _denies, everyone in space.must_allow:
        if state & settled & everyone:
            return True  # a Deny of the side holds whatever comes
        if not root and not state & allows:
            return True  # no Allow of the side can hold any more
    for allows, denies in space.must_deny:
        if not state & denies and (root or state & settled & allows):
            return True  # an Allow holds whatever comes and no Deny can
    return False


def _dominates(space: _Space, a: int, b: int) -> bool:
    """Whether state ``a`` is at least as good for the goal as ``b`` on every statement."""
    return not (b & space.plus & ~a) and not (a & space.minus & ~b) and not ((a ^ b) & space.keep)


def _try_contexts(
    walk: _Walk, space: _Space, principal: Principal, action: str, resource: str
) -> Found | None:
    derived = principal_context_keys(principal)
    root = principal.type is PrincipalType.ACCOUNT
    choices = [_key_choices(walk, space, key, derived) for key in space.keys]
    relevant = space.plus | space.minus | space.keep if walk.wants is not None else space.everything
    seen: list[set[int]] = [set() for _ in space.keys]
    chosen: list[ContextValue | None] = []
    prune = space.independent and walk.wants is not None

    def visit(depth: int, state: int) -> Found | None:
        if depth == len(space.keys):
            return _decide(walk, space, principal, action, resource, chosen)
        children: list[tuple[ContextValue | None, int]] = []
        for value, alive in choices[depth]:
            child = state & alive
            if space.independent:
                projected = child & relevant
                if projected in seen[depth]:
                    continue
                seen[depth].add(projected)
            walk.nodes += 1
            if prune and _stopped(space, child, depth + 1, root):
                continue
            children.append((value, child))
        if prune:
            children = [
                (v, c)
                for v, c in children
                if not any((o ^ c) & relevant and _dominates(space, o, c) for _, o in children)
            ]
        for value, child in children:
            chosen.append(value)
            found = visit(depth + 1, child)
            chosen.pop()
            if found is not None or walk.out_of_budget():
                return found
        return None

    start = space.everything
    if prune and _stopped(space, start, 0, root):
        return None
    return visit(0, start)


def _decide(
    walk: _Walk,
    space: _Space,
    principal: Principal,
    action: str,
    resource: str,
    chosen: Sequence[ContextValue | None],
) -> Found | None:
    context = dict(walk.assignment)
    for key, value in zip(space.keys, chosen, strict=True):
        if value is None:
            # Not set by the request: absent, or the principal's own value when it carries it.
            context.pop(key, None)
        else:
            context[key] = value  # () hides a key the principal carries (read as absent)
    request = Request(principal, action, resource, context)
    decisions = tuple(_EVALUATOR.evaluate(request, side) for side in walk.sides)
    walk.tried += 1
    if walk.goal(request, decisions):
        return Found(request, decisions, not walk.reasons, tuple(walk.reasons), walk.tried)
    return None


def _key_choices(
    walk: _Walk, space: _Space, key: str, derived: Mapping[str, ContextValue]
) -> list[tuple[ContextValue | None, int]]:
    """The values to try for ``key`` with the statements each leaves alive: absent first (the
    principal's own value when it carries the key), one per class, multi-valued sets, and the
    empty set (which hides a key the principal carries); values leaving the same statements
    alive are tried once."""
    entries = space.entries[key]
    conditions = tuple(c for c, _, _, _ in entries)
    variables = any(v for _, _, v, _ in entries)
    memo_key = (conditions, variables)
    found = walk._key_memo.get(memo_key)
    if found is None:
        found = walk._key_memo[memo_key] = key_values(conditions, variables)
    for reason in found.reasons:
        walk.note(reason)
    base: dict[str, Any] = {**derived, **walk.assignment}
    qualified = [t for c, t, _, _ in entries if c.qualifier is not None]
    classes: dict[tuple[bool, ...], str] = {}
    for text in found.values:
        context = {**base, key: text}
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
    sets: list[ContextValue] = [s if len(s) > 1 else (s[0], s[0]) for s in subsets]
    values: list[ContextValue | None] = [None, *found.values, *sets]
    if key in derived:
        values.append(())  # for any other key the same request as None
    out: list[tuple[ContextValue | None, int]] = []
    masks: set[int] = set()
    for value in values:
        context = dict(base)
        if value is None:
            context.pop(key, None)
            if key in derived:
                context[key] = derived[key]
        else:
            context[key] = value
        killed = answers = 0
        for index, (_, test, _, position) in enumerate(entries):
            if not _safe(test, context):
                killed |= 1 << position
                answers |= 1 << index
        alive = space.everything & ~(killed & ~space.broken)
        # Without independence (policy variables), only values every entry answers alike merge.
        same = alive if space.independent else answers
        if walk.exhaustive or same not in masks:
            masks.add(same)
            out.append((value, alive))
    return out


def _safe(test: Callable[[Mapping[str, ContextValue]], bool], context: Mapping[str, ContextValue]) -> bool:
    try:
        return bool(test(context))
    except Exception:
        return False
