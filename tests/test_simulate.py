"""simulate_custom_policy: SimulateCustomPolicy's inputs and EvaluationResult output.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamguard.decision import DecisionKind
from iamguard.errors import PolicyError
from iamguard.policy.parse import parse_policy
from iamguard.simulate import DEFAULT_CALLER_ARN, context_from_entries, simulate_custom_policy

POLICIES = Path(__file__).parent / "data" / "evaluation" / "policies"


def text(name: str) -> str:
    return (POLICIES / name).read_text()


HOME = "arn:aws:s3:::home-bucket/simulated/report.csv"
REGION = [
    {"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["us-east-1"], "ContextKeyType": "string"}
]


def test_one_decision_per_action_and_resource_in_order() -> None:
    decisions = simulate_custom_policy(
        [text("s3-home.json")],
        ["s3:GetObject", "s3:DeleteObject"],
        [HOME, "arn:aws:s3:::home-bucket/other/x"],
        context_entries=REGION,
    )
    assert [(d.action, d.resource, d.kind.value) for d in decisions] == [
        ("s3:GetObject", HOME, "allowed"),
        ("s3:GetObject", "arn:aws:s3:::home-bucket/other/x", "implicitDeny"),
        ("s3:DeleteObject", HOME, "implicitDeny"),
        ("s3:DeleteObject", "arn:aws:s3:::home-bucket/other/x", "implicitDeny"),
    ]


def test_default_caller_is_a_documented_iam_user() -> None:
    assert DEFAULT_CALLER_ARN == "arn:aws:iam::123456789012:user/simulated"
    # ${aws:username} resolves to the default caller's name.
    [decision] = simulate_custom_policy(
        [text("s3-home.json")], ["s3:GetObject"], [HOME], context_entries=REGION
    )
    assert decision.allowed


def test_missing_context_is_reported_and_negated_condition_denies() -> None:
    [decision] = simulate_custom_policy([text("s3-home.json")], ["s3:GetObject"], [HOME])
    assert decision.kind is DecisionKind.EXPLICIT_DENY
    assert decision.missing_context_keys == ("aws:RequestedRegion",)
    result = decision.to_evaluation_result()
    assert result["EvalDecision"] == "explicitDeny"
    assert result["MissingContextValues"] == ["aws:RequestedRegion"]
    assert {m["SourcePolicyId"] for m in result["MatchedStatements"]} == {"PolicyInputList.1"}
    assert "DenyOutsideRegion" in result["EvalDecisionDetails"]["reason"]


def test_policies_as_mappings_and_parsed_values() -> None:
    document = json.loads(text("s3-home.json"))
    parsed = parse_policy(document, name="mine")
    for given in (document, parsed):
        [decision] = simulate_custom_policy([given], ["s3:GetObject"], [HOME], context_entries=REGION)
        assert decision.allowed
    [decision] = simulate_custom_policy([parsed], ["s3:GetObject"], [HOME], context_entries=REGION)
    assert decision.matched[0].policy_name == "mine"


def test_boundary_caps() -> None:
    decisions = simulate_custom_policy(
        [text("s3-home.json")],
        ["s3:GetObject", "s3:PutObject"],
        [HOME],
        context_entries=REGION,
        permissions_boundary_policy_input_list=[text("read-only-boundary.json")],
    )
    assert [d.kind.value for d in decisions] == ["allowed", "implicitDeny"]
    assert decisions[1].reason == "no permissions boundary statement allows it"


def test_resource_policy_cross_account_caller() -> None:
    carol = "arn:aws:iam::444455556666:user/carol"
    allow_get = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    kwargs = {
        "resource_policy": text("bucket-policy.json"),
        "resource_owner": "111122223333",
        "caller_arn": carol,
    }
    [with_identity] = simulate_custom_policy([allow_get], ["s3:GetObject"], [HOME], **kwargs)  # type: ignore[arg-type]
    [without] = simulate_custom_policy([], ["s3:GetObject"], [HOME], **kwargs)  # type: ignore[arg-type]
    assert with_identity.allowed
    assert without.kind is DecisionKind.IMPLICIT_DENY and without.reason.startswith("cross-account")
    assert with_identity.matched[-1].policy_name == "ResourcePolicy"


def test_resource_owner_accepts_an_arn_and_resource_arn_account_wins() -> None:
    carol = "arn:aws:iam::444455556666:user/carol"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": carol}, "Action": "sqs:*", "Resource": "*"}
            ],
        }
    )
    own_queue = "arn:aws:sqs:us-east-1:444455556666:q"
    [same] = simulate_custom_policy(
        [],
        ["sqs:SendMessage"],
        [own_queue],
        resource_policy=policy,
        resource_owner="arn:aws:iam::111122223333:root",
        caller_arn=carol,
    )
    assert same.allowed  # the ARN says the queue is carol's own account: same-account grant
    [cross] = simulate_custom_policy(
        [],
        ["s3:GetObject"],
        ["arn:aws:s3:::b/k"],
        resource_policy=policy,
        resource_owner="arn:aws:iam::111122223333:root",
        caller_arn=carol,
    )
    assert cross.kind is DecisionKind.IMPLICIT_DENY


def test_typed_context_entries() -> None:
    entries = [
        {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["env"], "ContextKeyType": "stringList"},
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"},
    ]
    assert context_from_entries(entries) == {"aws:tagkeys": ("env",), "aws:sourceip": "10.1.2.3"}
    [decision] = simulate_custom_policy(
        [text("tagged-queues.json")], ["sqs:SendMessage"], context_entries=entries
    )
    assert decision.allowed and decision.resource == "*"


def test_plain_mapping_context() -> None:
    [decision] = simulate_custom_policy(
        [text("tagged-queues.json")], ["sqs:SendMessage"], context_entries={"aws:SourceIp": "192.0.2.1"}
    )
    assert decision.kind is DecisionKind.IMPLICIT_DENY


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action_names": ["s3:*"]},
        {"action_names": ["GetObject"]},
        {"action_names": ["s3:GetObject"], "permissions_boundary_policy_input_list": ["{}", "{}"]},
        {"action_names": ["s3:GetObject"], "context_entries": [{"ContextKeyName": "k"}]},
        {
            "action_names": ["s3:GetObject"],
            "context_entries": [
                {"ContextKeyName": "k", "ContextKeyValues": ["a", "b"], "ContextKeyType": "string"}
            ],
        },
        {"action_names": ["s3:GetObject"], "caller_arn": "not-an-arn"},
    ],
)
def test_unusable_arguments_raise_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        simulate_custom_policy([text("s3-home.json")], **kwargs)  # type: ignore[arg-type]


def test_invalid_policy_raises_policy_error() -> None:
    with pytest.raises(PolicyError):
        simulate_custom_policy([text("invalid.json")], ["s3:GetObject"])
