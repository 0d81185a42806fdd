"""CachedEvaluator: what is in the key, invalidation by generation, bounds, thread safety."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from iamguard.context import make_context
from iamguard.decision import Decision
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


def test_a_stream_that_never_repeats_skips_the_cache_then_tries_it_again(monkeypatch: Any) -> None:
    """Caching must never make a workload slower (issue 12): after a window of misses with
    almost no hits the calls go straight to the evaluator (nothing is stored), for a bounded
    number of calls; then the cache is tried again and a repeating stream keeps it."""
    from iamguard.evaluate import cached as cached_module

    monkeypatch.setattr(cached_module, "_WINDOW", 8)
    monkeypatch.setattr(cached_module, "_BYPASS", 2)
    inner = CountingEvaluator()
    cache = CachedEvaluator(inner)
    policies = PolicySet(identity=(REGION,))
    fresh = [Request(ALICE, "s3:GetObject", f"{OBJ}/{i}") for i in range(64)]
    plain = Evaluator()
    for request in fresh[:8]:  # one window, every lookup a miss: judged not to pay
        assert cache.evaluate(request, policies) == plain.evaluate(request, policies)
    assert len(cache) == 8 and cache._bypass == 16
    for request in fresh[8:24]:  # bypassed: answered by the evaluator, nothing stored
        assert cache.evaluate(request, policies) == plain.evaluate(request, policies)
    assert len(cache) == 8 and inner.calls == 24 and cache._bypass == 0
    hot = fresh[:4]
    for _ in range(20):  # tried again: a repeating stream hits and is never bypassed
        for request in hot:
            assert cache.evaluate(request, policies) == plain.evaluate(request, policies)
    assert cache._bypass == 0 and inner.calls == 24


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
