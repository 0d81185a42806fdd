"""Security regressions: numbers in condition values that once escaped the parser as a bare
``ValueError`` (PutBucketPolicy answered 500) or were read from non-ASCII digits.

Only :class:`~iamguard.errors.PolicyError` may leave ``parse_policy``, with the location of the
value; a context value of the same shape is unreadable at evaluation (the condition fails, no
statement errors).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamguard.context import make_context
from iamguard.decision import DecisionKind
from iamguard.errors import PolicyValidationError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

LOCATION = "Statement[0].Condition.{operator}.s3:max-keys"


def _document(operator: str, value: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "*",
                "Condition": {operator: {"s3:max-keys": value}},
            }
        ],
    }


@pytest.mark.parametrize(
    ("operator", "value", "message"),
    [
        ("NumericLessThan", "1" * 4301, "is not a valid number"),
        ("NumericEquals", "-" + "9" * 5000, "is not a valid number"),
        ("NumericNotEquals", ["10", "1" * 4400], "is not a valid number"),
        ("NumericLessThan", "١٢٣", "is not a valid number"),  # Arabic-Indic digits
        ("NumericLessThan", "１２", "is not a valid number"),  # full-width digits
        ("DateLessThan", "٢٠٢٤-01-01T00:00:00Z", "is not a valid date"),
    ],
)
def test_unreadable_numbers_are_policy_errors_with_a_location(
    operator: str, value: Any, message: str
) -> None:
    document = _document(operator, value)
    for form in (document, json.dumps(document, ensure_ascii=False)):
        with pytest.raises(PolicyValidationError) as caught:
            parse_policy(form)
        (problem,) = caught.value.problems
        expected = LOCATION.format(operator=operator)
        assert problem.location in (expected, expected + "[1]")
        assert message in problem.message
        assert len(problem.message) < 200  # the value is shortened, not echoed whole


def test_json_integer_past_python_digit_limit_is_located() -> None:
    """The decoder itself used to fail (no location); now the reader names the value."""
    text = json.dumps(_document("NumericLessThan", 0)).replace(
        '"s3:max-keys": 0', '"s3:max-keys": ' + "7" * 5000
    )
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(text)
    (problem,) = caught.value.problems
    assert problem.location == LOCATION.format(operator="NumericLessThan")
    assert "number is too long (5000 characters)" in problem.message


def test_python_int_past_digit_limit_in_a_mapping() -> None:
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(_document("NumericLessThan", 10**5000))
    assert caught.value.problems[0].location == LOCATION.format(operator="NumericLessThan")


@pytest.mark.parametrize("context_value", ["1" * 5000, "١", "1e999999x"])
def test_unreadable_context_numbers_fail_the_condition_without_errors(context_value: str) -> None:
    policy = parse_policy(_document("NumericLessThan", "100"))
    negated = parse_policy(_document("NumericNotEquals", "100"))
    alice = Principal.from_arn("arn:aws:iam::111122223333:user/alice")
    request = Request(alice, "s3:ListBucket", "*", make_context({"s3:max-keys": context_value}))
    for doc in (policy, negated):
        decision = Evaluator().evaluate(request, PolicySet(identity=(doc,)))
        assert decision.kind is DecisionKind.IMPLICIT_DENY
        assert decision.errors == ()
