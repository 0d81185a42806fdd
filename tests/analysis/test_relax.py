"""The relaxation that decides policy variables (``analysis/_relax.py``): the wider side allows
every request the original allows, the narrower side none it denies (checked on random requests
drawn from the policies' literals), and neither holds a variable any more."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.analysis._relax import relaxed
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy

from ..evaluate.test_properties import statements
from .random_requests import RequestPool
from .test_properties import IDENTITY_CALLERS

_EVALUATOR = Evaluator()


@st.composite
def variable_sides(draw: st.DrawFn) -> PolicySet:
    document: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": draw(st.lists(statements(), min_size=1, max_size=4)),
    }
    boundary = None
    if draw(st.booleans()):
        boundary = parse_policy(
            {"Version": "2012-10-17", "Statement": draw(st.lists(statements(), min_size=1, max_size=2))},
            name="boundary",
        )
    return PolicySet(
        identity=(parse_policy(document, name="p", kind=PolicyKind.IDENTITY),), boundary=boundary
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variable_sides(), st.integers(0, 2**32))
def test_wider_allows_more_and_narrower_less(side: PolicySet, seed: int) -> None:
    wider, narrower = relaxed(side, wider=True), relaxed(side, wider=False)
    for policy in (*wider.identity, *narrower.identity):
        for statement in policy.statements:
            texts = [*(statement.resource or ()), *(statement.not_resource or ())]
            texts += [v for c in statement.conditions for v in c.values]
            assert not any("${aws:" in t.lower() or "${s3:" in t.lower() for t in texts), texts
    pool = RequestPool([side], IDENTITY_CALLERS, seed)
    for _, request in zip(range(300), pool, strict=False):
        original = _EVALUATOR.evaluate(request, side).allowed
        if original:
            assert _EVALUATOR.evaluate(request, wider).allowed, request
        else:
            assert not _EVALUATOR.evaluate(request, narrower).allowed, request
