"""Every AWS rule in ``tests/data/evaluation/*.json``, through the engine, the cache and the reference.

Each case encodes one documented rule (its ``doc`` URL and ``rule`` sentence travel with it).
"""

from __future__ import annotations

import pytest

from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator

from .conformance import Case, inputs_of, load_cases
from .reference import reference_evaluate

CASES = load_cases()
_CACHED = CachedEvaluator()


def test_conformance_table_is_substantial_and_cited() -> None:
    assert len(CASES) >= 80
    assert {c["expected"] for c in CASES} == {"allowed", "explicitDeny", "implicitDeny"}
    for case in CASES:
        assert case["doc"].startswith("https://docs.aws.amazon.com/"), case["name"]
        assert case["rule"].strip(), case["name"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}: {c['name']}" for c in CASES])
def test_engine_follows_aws_rule(case: Case) -> None:
    request, policies = inputs_of(case)
    decision = Evaluator().evaluate(request, policies)
    assert decision.kind.value == case["expected"], f"{case['rule']} ({case['doc']}): {decision.reason}"
    assert decision.action == case["action"] and decision.resource == case["resource"]
    assert not decision.errors
    if "reason_contains" in case:
        assert case["reason_contains"] in decision.reason, decision.reason


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}: {c['name']}" for c in CASES])
def test_reference_and_cache_agree_on_rule(case: Case) -> None:
    request, policies = inputs_of(case)
    assert reference_evaluate(request, policies) == case["expected"], case["rule"]
    first = _CACHED.evaluate(request, policies)
    again = _CACHED.evaluate(request, policies)
    assert first.kind.value == case["expected"]
    assert again == first
