"""Every remembered thing in the evaluate layer answers as the uncached path, and a revocation
(a generation bump) is seen by the very next decision.

Caches covered: a PolicySet's compiled form (the action index across identity policies and the
cache-key part, :mod:`iamguard.evaluate.policy_set`) and :class:`CachedEvaluator`'s decisions.
"""

from __future__ import annotations

import dataclasses
from operator import itemgetter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.evaluate import cached as cached_module
from iamguard.evaluate import policy_set as policy_set_module
from iamguard.evaluate.cached import CachedEvaluator, _context_part
from iamguard.evaluate.compile import CompiledPolicy
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.policy_set import compiled_set
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

from .test_cached import CostModel
from .test_properties import PRINCIPALS, policy_sets, requests

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fresh(policies: PolicySet) -> PolicySet:
    """An equal PolicySet with nothing compiled attached (the uncached path)."""
    return dataclasses.replace(policies)


def _same(a: Any, b: Any) -> None:
    """Decisions equal in every public attribute (kind, matched, missing keys, reason, errors)."""
    assert a == b
    assert a.to_evaluation_result() == b.to_evaluation_result()


@_SETTINGS
@given(
    st.lists(st.tuples(requests(), st.integers(0, 2)), min_size=1, max_size=16),
    st.lists(policy_sets(), min_size=3, max_size=3),
    st.integers(1, 4),
    st.integers(1, 3000),
    st.integers(1, 3000),
)
def test_decision_cache_answers_as_uncached(
    batch: list[tuple[Request, int]], sets: list[PolicySet], maxsize: int, decision: int, lookup: int
) -> None:
    """Tiny bounds force evictions; several sets share the cache; tiny probe windows and a drawn
    cost model send the stream through caching, probing and bypassing: every answer is the
    engine's."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("_WINDOW", 2), ("_BYPASS", 4), ("_ROUND", 2), ("_PROBE", 2)):
            patch.setattr(cached_module, name, value)
        model = CostModel(patch, decision, lookup)
        cache = CachedEvaluator(model.evaluator(), maxsize=maxsize)
        plain = Evaluator()
        for request, which in batch + batch + batch:
            _same(cache.evaluate(request, sets[which]), plain.evaluate(request, _fresh(sets[which])))
        assert len(cache) <= maxsize


@_SETTINGS
@given(st.lists(requests(), min_size=1, max_size=8), policy_sets())
def test_action_index_answers_as_uncached(batch: list[Request], policies: PolicySet) -> None:
    """A set evaluated many times (its index warm, then with one-entry eviction) answers as a
    set evaluated for the first time."""
    plain = Evaluator()
    for request in batch + batch:
        _same(plain.evaluate(request, policies), plain.evaluate(request, _fresh(policies)))


def test_action_index_evicts_oldest_not_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_set_module, "INDEX_ACTIONS", 3)
    policies = PolicySet(identity=(_allow("s3:*"),))
    index = compiled_set(policies)
    for action in ("s3:a", "s3:b", "s3:c", "s3:d"):
        index.candidates(action)
    assert list(index.actions) == ["s3:b", "s3:c", "s3:d"]


def _allow(action: str, name: str = "p") -> Any:
    return parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]},
        name=name,
        kind=PolicyKind.IDENTITY,
    )


def test_index_is_never_rebuilt_because_many_sets_are_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (issue 12): a module table of 1,024 indexes keyed by id() was emptied when
    full, so beyond ~1,000 live principals nearly every decision rebuilt its index."""
    shared = _allow("s3:GetObject")
    sets = [PolicySet(identity=(shared, _allow("sqs:SendMessage", name=f"inline-{i}"))) for i in range(2_000)]
    evaluator = Evaluator()
    alice = Principal.from_arn("arn:aws:iam::111122223333:user/alice")
    request = Request(alice, "s3:GetObject", "arn:aws:s3:::b/k")
    for policies in sets:
        assert evaluator.evaluate(request, policies).allowed
    lookups = 0
    original = CompiledPolicy.candidates

    def counting(self: CompiledPolicy, action: str) -> Any:
        nonlocal lookups
        lookups += 1
        return original(self, action)

    monkeypatch.setattr(CompiledPolicy, "candidates", counting)
    for policies in sets:
        assert evaluator.evaluate(request, policies).allowed
    assert lookups == 0


@_SETTINGS
@given(
    st.lists(requests(), min_size=1, max_size=6),
    policy_sets(),
    policy_sets(),
    st.sampled_from([0, 1, 3]),
)
def test_generation_bump_is_seen_by_the_next_decision(
    batch: list[Request], before: PolicySet, after: PolicySet, mode: int
) -> None:
    """The store changed (any new content) and its generation moved on: the next decision of
    every request is the new policies' answer, never one remembered from the old ones, whether
    the cache is caching, about to probe or bypassing."""
    cache = CachedEvaluator()
    cache._left = mode
    plain = Evaluator()
    old = dataclasses.replace(before, generation=1)
    new = dataclasses.replace(after, generation=2)
    for request in batch:
        cache.evaluate(request, old)
    for request in batch:
        _same(cache.evaluate(request, new), plain.evaluate(request, _fresh(new)))


def test_revoked_policy_same_set_shape_next_decision_denies() -> None:
    """Equal content except the generation: a write that leaves the Allow (e.g. a tag change
    elsewhere) still makes a new entry; a write that removes it denies at once."""
    cache = CachedEvaluator()
    request = Request(PRINCIPALS[0], "s3:GetObject", "arn:aws:s3:::b/k")
    allow = _allow("s3:*")
    assert cache.evaluate(request, PolicySet(identity=(allow,), generation=5)).allowed
    assert not cache.evaluate(request, PolicySet(identity=(), generation=6)).allowed
    assert cache.evaluate(request, PolicySet(identity=(allow,), generation=7)).allowed


_VALUES = st.one_of(st.none(), st.sampled_from(["a", "b", ""]), st.tuples(st.sampled_from(["a", "b"])))


@settings(max_examples=300, deadline=None)
@given(st.lists(_VALUES, min_size=2, max_size=2), st.lists(_VALUES, min_size=2, max_size=2))
def test_context_part_is_equal_only_for_equal_values(left: list[Any], right: list[Any]) -> None:
    """The plain form (every key present) and the wrapped one (some absent) never collide."""
    keys = ("k1", "k2")
    bob = Principal.from_arn("arn:aws:iam::111122223333:user/bob")

    def part(values: list[Any]) -> Any:
        context = {k: v for k, v in zip(keys, values, strict=False) if v is not None}
        return _context_part(Request(bob, "s3:GetObject", "*", context), keys, itemgetter(*keys))

    assert (part(left) == part(right)) == (left == right)


@settings(max_examples=100, deadline=None)
@given(st.lists(_VALUES, min_size=1, max_size=1), st.lists(_VALUES, min_size=1, max_size=1))
def test_context_part_of_one_key_is_equal_only_for_equal_values(left: list[Any], right: list[Any]) -> None:
    """With one key the plain form is the value itself (``itemgetter`` of one key): still never
    equal to a wrapped part, nor to another value."""
    bob = Principal.from_arn("arn:aws:iam::111122223333:user/bob")

    def part(values: list[Any]) -> Any:
        context = {"k1": values[0]} if values[0] is not None else {}
        return _context_part(Request(bob, "s3:GetObject", "*", context), ("k1",), itemgetter("k1"))

    assert (part(left) == part(right)) == (left == right)
