"""CachedEvaluator: what is in the key, invalidation by generation, bounds, thread safety."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from iamguard.context import make_context
from iamguard.decision import Decision
from iamguard.evaluate import cached as cached_module
from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

ALICE = Principal.from_arn("arn:aws:iam::111122223333:user/alice", tags={"team": "red"})
OBJ = "arn:aws:s3:::bucket/key"


class CountingEvaluator(Evaluator):
    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, request: Request, policies: PolicySet) -> Decision:
        self.calls += 1
        return super().evaluate(request, policies)


def policy(*statements: dict[str, Any], name: str = "p") -> Any:
    return parse_policy(
        {"Version": "2012-10-17", "Statement": list(statements)}, name=name, kind=PolicyKind.IDENTITY
    )


def req(
    context: dict[str, Any] | None = None, principal: Principal = ALICE, action: str = "s3:GetObject"
) -> Request:
    return Request(principal, action, OBJ, make_context(context or {}))


REGION = policy(
    {
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    }
)


def test_second_identical_request_is_a_hit() -> None:
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner)
    policies = PolicySet(identity=(REGION,))
    first = cache.evaluate(req({"aws:RequestedRegion": "us-east-1"}), policies)
    second = cache.evaluate(req({"aws:RequestedRegion": "us-east-1"}), policies)
    assert first.allowed and second is first and inner.calls == 1


def test_unreferenced_context_keys_share_an_entry() -> None:
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner)
    policies = PolicySet(identity=(REGION,))
    cache.evaluate(req({"aws:RequestedRegion": "us-east-1", "aws:UserAgent": "a"}), policies)
    cache.evaluate(req({"aws:RequestedRegion": "us-east-1", "aws:UserAgent": "b"}), policies)
    assert inner.calls == 1


def test_referenced_context_keys_are_in_the_key() -> None:
    cache = CachedEvaluator()
    policies = PolicySet(identity=(REGION,))
    assert cache.evaluate(req({"aws:RequestedRegion": "us-east-1"}), policies).allowed
    assert not cache.evaluate(req({"aws:RequestedRegion": "eu-west-1"}), policies).allowed
    assert not cache.evaluate(req({}), policies).allowed


def test_principal_derived_keys_are_in_the_key() -> None:
    tagged = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::bucket/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red"}},
        }
    )
    cache = CachedEvaluator()
    policies = PolicySet(identity=(tagged,))
    assert cache.evaluate(req(), policies).allowed
    retagged = dataclasses.replace(ALICE, tags={"team": "blue"})
    assert not cache.evaluate(req(principal=retagged), policies).allowed


def test_variables_in_resources_are_in_the_key() -> None:
    home = policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/team}"}
    )
    cache = CachedEvaluator()
    policies = PolicySet(identity=(home,))
    red = Request(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/red")
    blue = Request(
        dataclasses.replace(ALICE, tags={"team": "blue"}), "s3:GetObject", "arn:aws:s3:::bucket/red"
    )
    assert cache.evaluate(red, policies).allowed
    assert not cache.evaluate(blue, policies).allowed


def test_generation_change_invalidates() -> None:
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner)
    cache.evaluate(req(), PolicySet(identity=(REGION,), generation=1))
    cache.evaluate(req(), PolicySet(identity=(REGION,), generation=1))
    cache.evaluate(req(), PolicySet(identity=(REGION,), generation=2))
    assert inner.calls == 2


def test_policy_content_is_in_the_key_not_object_identity() -> None:
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner)
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert cache.evaluate(req(), PolicySet(identity=(policy(allow),))).allowed
    assert cache.evaluate(req(), PolicySet(identity=(policy(allow),))).allowed  # equal content: hit
    assert inner.calls == 1
    assert not cache.evaluate(req(), PolicySet(identity=(policy(allow, deny),))).allowed


def test_policy_slot_is_in_the_key() -> None:
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    cache = CachedEvaluator()
    assert cache.evaluate(req(), PolicySet(identity=(allow_all,))).allowed
    assert not cache.evaluate(req(), PolicySet(boundary=allow_all)).allowed
    assert not cache.evaluate(req(), PolicySet(identity=(allow_all,), session=())).allowed
    assert not cache.evaluate(
        req(), PolicySet(identity=(allow_all,), resource_account="444455556666")
    ).allowed


def test_action_spelling_is_echoed() -> None:
    cache = CachedEvaluator()
    policies = PolicySet(identity=(policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),))
    assert cache.evaluate(req(action="s3:GetObject"), policies).action == "s3:GetObject"
    assert cache.evaluate(req(action="S3:GETOBJECT"), policies).action == "S3:GETOBJECT"


def test_maxsize_bounds_memory_and_clear_empties() -> None:
    cache = CachedEvaluator(maxsize=16)
    policies = PolicySet(identity=(REGION,))
    for i in range(100):
        cache.evaluate(Request(ALICE, "s3:GetObject", f"arn:aws:s3:::bucket/{i}"), policies)
    assert len(cache) == 16
    cache.clear()
    assert len(cache) == 0


def test_threads_get_consistent_answers() -> None:
    cache = CachedEvaluator(maxsize=64)
    policies = PolicySet(identity=(REGION,))
    errors: list[str] = []

    def worker(seed: int) -> None:
        for i in range(300):
            region = "us-east-1" if (i + seed) % 2 else "eu-west-1"
            decision = cache.evaluate(
                Request(
                    ALICE,
                    "s3:GetObject",
                    f"arn:aws:s3:::bucket/{i % 80}",
                    make_context({"aws:RequestedRegion": region}),
                ),
                policies,
            )
            if decision.allowed != (region == "us-east-1"):
                errors.append(region)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


class CostModel:
    """The judge's clocks made deterministic: time moves only by modelled costs.

    ``cached._clock`` (what a probe times) reads ``now``; ``cached._monotonic`` (read once by
    every call through the cache, never by a bypassed one) charges ``lookup`` and keeps the TTL
    clock still; the evaluator charges ``decision`` per call. So a hit costs ``lookup``, a miss
    ``lookup + decision``, a bypassed call ``decision``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, decision: int, lookup: int) -> None:
        self.now = 0
        self.decision, self.lookup = decision, lookup
        monkeypatch.setattr(cached_module, "_clock", lambda: self.now)
        monkeypatch.setattr(cached_module, "_monotonic", self.monotonic)

    def monotonic(self) -> float:
        self.now += self.lookup
        return 0.0

    def evaluator(self) -> CountingEvaluator:
        model = self

        class Charged(CountingEvaluator):
            def evaluate(self, request: Request, policies: PolicySet) -> Decision:
                model.now += model.decision
                return super().evaluate(request, policies)

        return Charged()


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes after 8 misses or 16 bypassed calls (rounds of 4), 4 calls timed each way, none
    trimmed."""
    for name, value in (("_WINDOW", 8), ("_BYPASS", 16), ("_ROUND", 4), ("_PROBE", 4)):
        monkeypatch.setattr(cached_module, name, value)


def _mode(cache: CachedEvaluator) -> str:
    left = cache._left
    return "caching" if left == 0 else "bypassing" if left > 1 else "probing"


def _stream(kind: str, length: int) -> list[Request]:
    """``fresh`` never repeats, ``repeat`` cycles through 4 requests, ``mix`` alternates them."""
    fresh = [Request(ALICE, "s3:GetObject", f"{OBJ}/{i}") for i in range(length)]
    hot = fresh[-4:]
    if kind == "fresh":
        return fresh
    if kind == "repeat":
        return [hot[i % 4] for i in range(length)]
    return [fresh[i] if i % 2 else hot[i // 2 % 4] for i in range(length)]


@pytest.mark.usefixtures("small_windows")
@pytest.mark.parametrize(
    ("stream", "decision", "lookup", "settles_on"),
    [
        ("fresh", 1000, 100, "bypassing"),  # a miss costs 1100, a bypassed call 1000
        ("repeat", 1000, 100, "caching"),  # hits: 100
        ("repeat", 1000, 5000, "caching"),  # no misses after the first 4: never even probed
        ("mix", 1000, 400, "caching"),  # half hits: (400 + 1400) / 2 = 900 < 1000
        ("mix", 1000, 600, "bypassing"),  # (600 + 1600) / 2 = 1100 > 1000
        ("mix", 1000, 500, "bypassing"),  # a tie bypasses: caching must save 10% (_MARGIN)
    ],
)
def test_the_judge_settles_on_the_cheaper_way(
    monkeypatch: pytest.MonkeyPatch, stream: str, decision: int, lookup: int, settles_on: str
) -> None:
    """Issue 12: the cache never makes a workload slower. With the costs a cost model gives,
    every probe picks the cheaper way for the stream, and every answer is the uncached one."""
    model = CostModel(monkeypatch, decision, lookup)
    cache = CachedEvaluator(model.evaluator())
    policies = PolicySet(identity=(REGION,))
    plain = Evaluator()
    judged: list[str] = []
    for request in _stream(stream, 400):
        probing = _mode(cache) == "probing"
        assert cache.evaluate(request, policies) == plain.evaluate(request, policies)
        if probing and _mode(cache) != "probing":
            judged.append(_mode(cache))
    assert set(judged[1:] or [_mode(cache)]) == {settles_on}  # the first probe may see a cold cache


@pytest.mark.usefixtures("small_windows")
def test_a_stream_that_starts_repeating_is_cached_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """While bypassing nothing is stored, but each probe's caching calls store theirs: a stream
    that turns from fresh to repeating is cached again after a few probes."""
    model = CostModel(monkeypatch, decision=1000, lookup=100)
    cache = CachedEvaluator(model.evaluator())
    policies = PolicySet(identity=(REGION,))
    for request in _stream("fresh", 100):  # to the first bypassed call
        cache.evaluate(request, policies)
        if _mode(cache) == "bypassing":
            break
    assert _mode(cache) == "bypassing"
    hot = [Request(ALICE, "s3:PutObject", f"{OBJ}/hot/{i}") for i in range(4)]
    for i in range(200):
        cache.evaluate(hot[i % 4], policies)
    assert _mode(cache) == "caching"


@pytest.mark.parametrize(
    ("samples", "mean"),
    [
        ([], 0.0),
        ([7] * 16, 7.0),
        ([5] * 15 + [10**6], 5.0),  # a preempted call is dropped
        ([1, 2, 3, 4] * 4, 36 / 15),  # the slowest sixteenth goes, nothing else
        ([100] * 9 + [1000] * 7, (900 + 6000) / 15),  # two humps: the median (100) would lie
    ],
)
def test_trimmed_mean(samples: list[int], mean: float) -> None:
    assert cached_module._trimmed_mean(samples) == pytest.approx(mean)


@pytest.mark.parametrize(
    ("bypassed", "cached", "caching"),
    [
        ([400] * 16, [100] * 9 + [1000] * 7, False),  # median 100, mean 460: bypass is cheaper
        ([600] * 16, [100] * 9 + [1000] * 7, True),
        ([500] * 16, [100] * 9 + [1000] * 7, False),  # 460 saves less than 10% of 500
        ([400] * 15 + [10**7], [450] * 16, False),  # one preemption does not flip it
        ([500] * 16, [450] * 15 + [10**7], True),
    ],
)
def test_the_judge_compares_trimmed_means(bypassed: list[int], cached: list[int], caching: bool) -> None:
    cache = CachedEvaluator()
    cache._judge(bypassed, cached)
    assert (cache._left == 0) == caching and (cache._left == cached_module._ROUND) != caching


def test_ttl_never_serves_an_entry_as_old_as_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(cached_module, "_monotonic", lambda: now[0])
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner, ttl=10.0)
    policies = PolicySet(identity=(REGION,))
    for at, calls, cached in ((100.0, 1, 1), (109.999, 1, 1), (110.0, 2, 1), (119.9, 2, 1), (120.0, 3, 1)):
        now[0] = at
        assert not cache.evaluate(req(), policies).allowed
        assert (inner.calls, len(cache)) == (calls, cached)
    now[0] = 131.0
    assert len(cache) == 0  # expired entries are not counted


def test_maxsize_holds_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eviction takes no lock: racing threads may evict one entry too many, never too few."""
    monkeypatch.setattr(cached_module, "_WINDOW", 10**9)  # always caching: every call inserts
    cache = CachedEvaluator(maxsize=16)
    policies = PolicySet(identity=(REGION,))
    plain = Evaluator()
    wrong: list[Request] = []

    def worker(seed: int) -> None:
        for i in range(400):
            request = Request(ALICE, "s3:GetObject", f"{OBJ}/{seed}/{i % 40}")
            if cache.evaluate(request, policies) != plain.evaluate(request, policies):
                wrong.append(request)
            if len(cache._entries) > 16 + 8:  # at most one pending eviction per thread
                wrong.append(request)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == [] and len(cache._entries) <= 16


def test_callers_sharing_a_set_are_keyed_by_their_own_fields() -> None:
    """The first caller to reach a set claims it (its key is one string); every other caller,
    an equal Principal object included, is keyed field by field: each gets its own answer."""
    only_alice = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:username": "alice"}},
        }
    )
    bob = Principal.from_arn("arn:aws:iam::111122223333:user/bob")
    alice_again = Principal.from_arn("arn:aws:iam::111122223333:user/alice", tags={"team": "red"})
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner)
    policies = PolicySet(identity=(only_alice,))
    plain = Evaluator()
    for _ in range(3):
        for caller in (ALICE, bob, alice_again):
            request = req(principal=caller)
            assert cache.evaluate(request, policies) == plain.evaluate(request, policies)
    assert policies._compiled.claimant[0] is ALICE
    assert inner.calls == 3  # one miss per caller, then hits
    assert cache.evaluate(req(principal=ALICE), policies).allowed
    assert not cache.evaluate(req(principal=bob), policies).allowed


def test_caching_chosen_after_bypassing_is_a_short_trial() -> None:
    """A probe that picks caching after bypassing probes again after ``_TRIAL`` misses, not a
    whole window: a judgement flipped by noise costs few dear misses."""
    cache = CachedEvaluator()
    cache._judge([500] * 16, [900] * 16)  # bypass
    assert cache._left == cached_module._ROUND
    cache._judge([900] * 16, [500] * 16)  # caching, after bypassing: a trial
    assert cache._left == 0 and cache._misses == cached_module._WINDOW - cached_module._TRIAL
    cache._misses = 0
    cache._judge([900] * 16, [500] * 16)  # caching again: a full window
    assert cache._misses == 0
