"""The search's reading of a statement (``_statements``) answers as the evaluator does.

For random statements (the evaluator's own property-test strategy) and random requests drawn
from their literals: a one-statement ``Allow`` identity policy allows a request exactly when the
view says the statement names the action and the resource and every condition entry holds.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.analysis._statements import PolicyView, names_action
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Effect
from iamguard.policy.parse import parse_policy

from ..evaluate.test_properties import statements
from .random_requests import RequestPool
from .test_properties import IDENTITY_CALLERS

_EVALUATOR = Evaluator()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements(), st.sampled_from(["2012-10-17", "2008-10-17"]), st.integers(0, 2**32))
def test_a_statement_view_applies_exactly_when_the_evaluator_allows(
    statement: dict[str, Any], version: str, seed: int
) -> None:
    document = {"Version": version, "Statement": [{**statement, "Effect": "Allow"}]}
    policy = parse_policy(document, name="p")
    view = PolicyView(policy)
    side = PolicySet(identity=(policy,))
    pool = RequestPool((side,), IDENTITY_CALLERS, seed)
    for _, request in zip(range(60), pool, strict=False):
        reached = view.candidates(request.action.lower())
        assert names_action(policy, request.action.lower()) == bool(reached)
        context = {**principal_context_keys(request.principal), **request.context}
        applies = bool(reached) and all(
            s.resource_matches(request.resource, context) and all(c(context) for c in s.conditions)
            for s in reached
        )
        assert applies == _EVALUATOR.evaluate(request, side).allowed, request


def test_a_view_reads_the_effect() -> None:
    policy = parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    )
    policy_view = PolicyView(policy)
    (view,) = policy_view.statements
    assert view.is_deny and view.effect is Effect.DENY
    assert policy_view.candidates("s3:getobject") == (view,)
    assert policy_view.candidates("sqs:sendmessage") == ()
