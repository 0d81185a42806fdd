"""The policy simulator through boto3's ``iam`` client: SimulateCustomPolicy (cases in
``tests/data/iam/simulate/custom_cases.json``), SimulatePrincipalPolicy over stored users, groups
and roles, the GetContextKeys actions, pagination and errors.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.store.records import PrincipalKind

from ._more_fixtures import ACCOUNT, Endpoint, endpoint, error_of

__all__ = ["endpoint"]

DATA = Path(__file__).resolve().parent.parent / "data" / "iam" / "simulate"
CASES = json.loads((DATA / "custom_cases.json").read_text())["cases"]
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _texts(params: dict[str, Any]) -> dict[str, Any]:
    """Policy documents as the JSON text the API takes."""
    out = dict(params)
    for name in ("PolicyInputList", "PermissionsBoundaryPolicyInputList"):
        if name in out:
            out[name] = [json.dumps(p) for p in out[name]]
    if "ResourcePolicy" in out:
        out["ResourcePolicy"] = json.dumps(out["ResourcePolicy"])
    return out


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    found = {
        "action": result["EvalActionName"],
        "resource": result["EvalResourceName"],
        "decision": result["EvalDecision"],
        "matched": [m["SourcePolicyId"] for m in result.get("MatchedStatements", [])],
        "missing": result.get("MissingContextValues", []),
    }
    if "PermissionsBoundaryDecisionDetail" in result:
        found["boundary_allows"] = result["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]
    assert "OrganizationsDecisionDetail" not in result
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_simulate_custom_policy(endpoint: Endpoint, case: dict[str, Any]) -> None:
    answer = endpoint.iam().simulate_custom_policy(**_texts(case["params"]))
    assert answer["IsTruncated"] is False
    assert [_summary(r) for r in answer["EvaluationResults"]] == case["results"]


def _populate(endpoint: Endpoint) -> None:
    store = endpoint.store
    boundary = store.create_policy("boundary", _doc(_allow(["s3:GetObject", "sqs:*"])))
    managed = store.create_policy("queue-reader", _doc(_allow("sqs:ReceiveMessage")))
    store.create_user("alice", permissions_boundary=boundary.arn)
    store.create_group("devs")
    store.add_user_to_group("devs", "alice")
    store.put_inline_policy(PrincipalKind.GROUP, "devs", "read", _doc(_allow("s3:GetObject")))
    store.put_inline_policy(PrincipalKind.USER, "alice", "write", _doc(_allow("s3:PutObject")))
    store.attach_user_policy("alice", managed.arn)
    store.create_role(
        "worker",
        _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
    )
    store.attach_policy(PrincipalKind.ROLE, "worker", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")


def test_simulate_principal_policy_for_a_user(endpoint: Endpoint) -> None:
    _populate(endpoint)
    answer = endpoint.iam().simulate_principal_policy(
        PolicySourceArn=ALICE, ActionNames=["s3:GetObject", "s3:PutObject", "sqs:ReceiveMessage"]
    )
    results = answer["EvaluationResults"]
    get, put, receive = results
    assert get["EvalDecision"] == "allowed"
    assert get["MatchedStatements"][0] == {
        "SourcePolicyId": "group/devs/inline/read",
        "SourcePolicyType": "group",
    }
    assert get["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    # Alice's own policy allows PutObject, but her boundary does not.
    assert put["EvalDecision"] == "implicitDeny"
    assert put["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert receive["EvalDecision"] == "allowed"
    assert receive["MatchedStatements"][0] == {
        "SourcePolicyId": f"arn:aws:iam::{ACCOUNT}:policy/queue-reader",
        "SourcePolicyType": "user-managed",
    }


def test_simulate_principal_policy_with_extra_and_replaced_boundary(endpoint: Endpoint) -> None:
    _populate(endpoint)
    iam = endpoint.iam()
    answer = iam.simulate_principal_policy(
        PolicySourceArn=ALICE,
        ActionNames=["s3:PutObject", "dynamodb:GetItem"],
        PolicyInputList=[json.dumps(_doc(_allow("dynamodb:GetItem")))],
        PermissionsBoundaryPolicyInputList=[json.dumps(_doc(_allow(["s3:*", "dynamodb:*"])))],
    )
    put, item = answer["EvaluationResults"]
    assert put["EvalDecision"] == "allowed" and item["EvalDecision"] == "allowed"
    assert item["MatchedStatements"][0] == {"SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "none"}


def test_simulate_principal_policy_for_a_role_and_a_group(endpoint: Endpoint) -> None:
    _populate(endpoint)
    iam = endpoint.iam()
    role = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/worker",
        ActionNames=["ec2:DescribeInstances", "ec2:RunInstances"],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in role] == ["allowed", "implicitDeny"]
    assert role[0]["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
    assert "PermissionsBoundaryDecisionDetail" not in role[0]
    group = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/devs", ActionNames=["s3:GetObject", "s3:PutObject"]
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in group] == ["allowed", "implicitDeny"]


def test_simulation_results_paginate(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    params = {
        "PolicyInputList": [json.dumps(_doc(_allow("s3:GetObject")))],
        "ActionNames": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
        "ResourceArns": ["arn:aws:s3:::a", "arn:aws:s3:::b"],
    }
    first = iam.simulate_custom_policy(MaxItems=4, **params)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 4
    rest = iam.simulate_custom_policy(MaxItems=4, Marker=first["Marker"], **params)
    assert rest["IsTruncated"] is False and len(rest["EvaluationResults"]) == 2
    pairs = [
        (r["EvalActionName"], r["EvalResourceName"])
        for r in first["EvaluationResults"] + rest["EvaluationResults"]
    ]
    assert pairs == [(a, r) for a in params["ActionNames"] for r in params["ResourceArns"]]
    pages = list(
        iam.get_paginator("simulate_custom_policy").paginate(PaginationConfig={"PageSize": 5}, **params)
    )
    assert [len(p["EvaluationResults"]) for p in pages] == [5, 1]


def test_context_keys(endpoint: Endpoint) -> None:
    _populate(endpoint)
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "alice",
        "conditions",
        _doc(
            _allow(
                "s3:GetObject",
                "arn:aws:s3:::home/${aws:username}/*",
                Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            )
        ),
    )
    iam = endpoint.iam()
    custom = iam.get_context_keys_for_custom_policy(
        PolicyInputList=[
            json.dumps(
                _doc(
                    _allow(
                        "ec2:RunInstances",
                        Condition={
                            "StringEquals": {
                                "ec2:InstanceType": "t3.micro",
                                "aws:RequestTag/team": "${aws:PrincipalTag/team}",
                            },
                            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                        },
                    )
                )
            ),
            json.dumps(
                _doc(_allow("s3:GetObject", Condition={"IpAddress": {"AWS:SourceIP": "192.0.2.0/24"}}))
            ),
        ]
    )["ContextKeyNames"]
    # Each key once, whatever its case, spelled as first written.
    assert sorted(custom) == [
        "aws:PrincipalTag/team",
        "aws:RequestTag/team",
        "aws:SourceIp",
        "ec2:InstanceType",
    ]
    principal = iam.get_context_keys_for_principal_policy(PolicySourceArn=ALICE)["ContextKeyNames"]
    assert sorted(principal) == ["aws:MultiFactorAuthPresent", "aws:username"]
    extra = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=ALICE,
        PolicyInputList=[
            json.dumps(_doc(_allow("s3:*", Condition={"Bool": {"aws:SecureTransport": "true"}})))
        ],
    )["ContextKeyNames"]
    assert "aws:SecureTransport" in extra


@pytest.mark.parametrize(
    ("method", "params", "code", "status"),
    [
        (
            "simulate_principal_policy",
            {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/nobody", "ActionNames": ["s3:GetObject"]},
            "NoSuchEntity",
            404,
        ),
        (
            "simulate_principal_policy",
            {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:group/nobody", "ActionNames": ["s3:GetObject"]},
            "NoSuchEntity",
            404,
        ),
        (
            "simulate_principal_policy",
            {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:policy/boundary", "ActionNames": ["s3:GetObject"]},
            "InvalidInput",
            400,
        ),
        (
            "simulate_principal_policy",
            {"PolicySourceArn": "short", "ActionNames": ["s3:GetObject"]},
            "ValidationError",
            400,
        ),
        (
            "simulate_custom_policy",
            {"PolicyInputList": ["{not json"], "ActionNames": ["s3:GetObject"]},
            "InvalidInput",
            400,
        ),
        (
            "simulate_custom_policy",
            {"PolicyInputList": [json.dumps(_doc(_allow("s3:*")))], "ActionNames": ["s3:Get*"]},
            "InvalidInput",
            400,
        ),
        (
            "simulate_custom_policy",
            {
                "PolicyInputList": [json.dumps(_doc(_allow("s3:*")))],
                "PermissionsBoundaryPolicyInputList": [json.dumps(_doc(_allow("s3:*")))] * 2,
                "ActionNames": ["s3:GetObject"],
            },
            "InvalidInput",
            400,
        ),
        (
            "simulate_custom_policy",
            {
                "PolicyInputList": [json.dumps(_doc(_allow("s3:*")))],
                "ActionNames": ["s3:GetObject"],
                "ContextEntries": [
                    {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["nope"], "ContextKeyType": "ip"}
                ],
            },
            "InvalidInput",
            400,
        ),
        (
            "simulate_custom_policy",
            {"PolicyInputList": [json.dumps(_doc(_allow("s3:*")))]},
            "ValidationError",
            400,
        ),
        (
            "get_context_keys_for_custom_policy",
            {"PolicyInputList": [json.dumps({"Statement": "x"})]},
            "InvalidInput",
            400,
        ),
        (
            "get_context_keys_for_principal_policy",
            {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/nobody"},
            "NoSuchEntity",
            404,
        ),
    ],
)
def test_errors(endpoint: Endpoint, method: str, params: dict[str, Any], code: str, status: int) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html#API_SimulateCustomPolicy_Errors"""
    _populate(endpoint)
    assert error_of(getattr(endpoint.iam(), method), **params)[:2] == (code, status)


def test_simulate_principal_policy_is_authorized_on_the_source(endpoint: Endpoint) -> None:
    _populate(endpoint)
    key = endpoint.user_with_key("auditor")
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "auditor",
        "simulate-alice",
        _doc(_allow(["iam:SimulatePrincipalPolicy", "iam:GetContextKeysForPrincipalPolicy"], ALICE)),
    )
    auditor = endpoint.iam(key)
    assert auditor.simulate_principal_policy(PolicySourceArn=ALICE, ActionNames=["s3:GetObject"])[
        "EvaluationResults"
    ]
    role = f"arn:aws:iam::{ACCOUNT}:role/worker"
    assert error_of(auditor.simulate_principal_policy, PolicySourceArn=role, ActionNames=["s3:GetObject"])[
        :2
    ] == (
        "AccessDenied",
        403,
    )
    assert error_of(
        auditor.simulate_custom_policy,
        PolicyInputList=[json.dumps(_doc(_allow("s3:*")))],
        ActionNames=["s3:GetObject"],
    )[:2] == ("AccessDenied", 403)
