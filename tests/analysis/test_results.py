"""The result values and the inputs of the checks: rendering, JSON, budgets, bad input."""

from __future__ import annotations

import shlex

import pytest

from iamguard.analysis import (
    AnalysisResult,
    Counterexample,
    Verdict,
    check_access_not_granted,
    check_no_new_access,
    is_equivalent,
)
from iamguard.errors import InvalidParameterError, PolicyError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.parse import parse_policy

READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
WRITE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}


def test_simulate_command_quotes_and_types_every_value() -> None:
    example = Counterexample(
        "arn:aws:iam::123456789012:user/simulated",
        "s3:GetObject",
        "arn:aws:s3:::b/a key",
        {"aws:SourceIp": "10.0.0.1", "aws:TagKeys": ("env", "team")},
    )
    words = shlex.split(example.simulate_command(("my policy.json",), boundary_file="b.json"))
    assert words == [
        "iamguard",
        "simulate",
        "my policy.json",
        "--boundary",
        "b.json",
        "--caller-arn",
        "arn:aws:iam::123456789012:user/simulated",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/a key",
        "--context",
        "aws:SourceIp=string:10.0.0.1",
        "--context",
        "aws:TagKeys=stringList:env,team",
    ]


def test_anonymous_caller_has_no_caller_flag() -> None:
    assert "--caller-arn" not in Counterexample("*", "s3:GetObject", "arn:aws:s3:::b/k").simulate_command()


def test_results_as_json() -> None:
    result = check_no_new_access(WRITE, READ)
    assert result.verdict is Verdict.FAIL and not result
    data = result.to_json()
    assert data["verdict"] == "FAIL"
    assert data["counterexample"]["action"] == "s3:PutObject"
    assert data["counterexample"]["decisions"][0].startswith("allowed")
    passed = check_no_new_access(READ, READ)
    assert passed and passed.to_json()["counterexample"] is None


def test_policy_inputs_of_every_kind() -> None:
    """JSON text, mappings, parsed policies, lists of policies and whole PolicySets."""
    import json

    parsed = parse_policy(READ)
    for new in (json.dumps(READ), READ, parsed, [READ], PolicySet(identity=(parsed,))):
        assert check_no_new_access(new, READ).verdict is Verdict.PASS, new
    assert check_no_new_access([READ, WRITE], READ).verdict is Verdict.FAIL


def test_equivalence_counterexample_names_which_side_allows() -> None:
    result = is_equivalent(READ, WRITE)
    assert result.counterexample is not None
    decisions = result.counterexample.decisions
    assert sorted(d.split(":")[0] for d in decisions) == ["allowed", "implicitDeny"]


def test_a_used_up_budget_is_unknown_never_pass() -> None:
    # With a boundary the old side's deny is not settled before a request is evaluated, so the
    # search needs more than one request (without it, it proves this PASS without any).
    result = check_no_new_access(READ, READ, boundary=READ, budget=1)
    assert result.verdict is Verdict.UNKNOWN
    assert any("budget" in reason for reason in result.reasons)


def test_an_invalid_policy_names_its_side() -> None:
    with pytest.raises(PolicyError, match="new"):
        check_no_new_access('{"Version": "2012-10-17", "Statement": [{"Effect": "allow"}]}', READ)


def test_access_not_granted_needs_something_to_check() -> None:
    with pytest.raises(InvalidParameterError):
        check_access_not_granted(READ)


def test_result_is_frozen() -> None:
    result = AnalysisResult(Verdict.PASS)
    with pytest.raises(AttributeError):
        result.verdict = Verdict.FAIL  # type: ignore[misc]
