"""Account actions through boto3's ``iam`` client: the alias, GetAccountSummary (AWS's SummaryMap
keys) and GetAccountAuthorizationDetails (Filter, pagination).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.store.records import PrincipalKind

from ._more_fixtures import ACCOUNT, Endpoint, endpoint, error_of

__all__ = ["endpoint"]

DATA = Path(__file__).resolve().parent.parent / "data" / "iam" / "account"
SUMMARY = json.loads((DATA / "summary_keys.json").read_text())
ERRORS = json.loads((DATA / "errors.json").read_text())["rows"]
READ_ONLY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.mark.parametrize("row", ERRORS, ids=[r["name"] for r in ERRORS])
def test_errors(endpoint: Endpoint, row: dict[str, Any]) -> None:
    endpoint.store.create_account_alias("example-corp")
    code, status, _ = error_of(getattr(endpoint.iam(), row["method"]), **row["params"])
    assert (code, status) == (row["code"], row["status"])


def test_alias_lifecycle(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias="example-corp")
    listed = iam.list_account_aliases()
    assert listed["AccountAliases"] == ["example-corp"] and listed["IsTruncated"] is False
    iam.create_account_alias(AccountAlias="example-two")  # an account has one alias: replaced
    assert iam.list_account_aliases()["AccountAliases"] == ["example-two"]
    iam.delete_account_alias(AccountAlias="example-two")
    assert iam.list_account_aliases()["AccountAliases"] == []


def _populate(endpoint: Endpoint) -> None:
    store = endpoint.store
    store.create_user("alice", tags={"team": "a"})
    store.create_user("bob")
    store.create_group("admins")
    store.add_user_to_group("admins", "alice")
    store.create_role("deployer", TRUST)
    policy = store.create_policy("reader", DOC)
    store.create_policy("unused", DOC, path="/x/")
    store.attach_user_policy("alice", policy.arn)
    store.attach_policy(PrincipalKind.GROUP, "admins", READ_ONLY)
    store.put_inline_policy(PrincipalKind.USER, "bob", "inline-one", DOC)
    store.put_inline_policy(PrincipalKind.ROLE, "deployer", "inline-two", DOC)
    store.create_access_key("alice")
    store.create_virtual_mfa_device("spare")


def test_summary_has_aws_keys_and_counts(endpoint: Endpoint) -> None:
    _populate(endpoint)
    summary = endpoint.iam().get_account_summary()["SummaryMap"]
    assert sorted(summary) == sorted(SUMMARY["keys"])
    assert {k: summary[k] for k in SUMMARY["expected_after_populate"]} == SUMMARY["expected_after_populate"]


def test_authorization_details_everything(endpoint: Endpoint) -> None:
    _populate(endpoint)
    details = endpoint.iam().get_account_authorization_details()
    assert details["IsTruncated"] is False
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert set(users) == {"alice", "bob"}
    assert users["alice"]["GroupList"] == ["admins"]
    assert users["alice"]["AttachedManagedPolicies"] == [
        {"PolicyName": "reader", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/reader"}
    ]
    assert users["alice"]["Tags"] == [{"Key": "team", "Value": "a"}]
    [inline] = users["bob"]["UserPolicyList"]
    assert inline["PolicyName"] == "inline-one" and inline["PolicyDocument"] == DOC
    [group] = details["GroupDetailList"]
    assert group["GroupName"] == "admins" and group["AttachedManagedPolicies"][0]["PolicyArn"] == READ_ONLY
    [role] = details["RoleDetailList"]
    assert role["RoleName"] == "deployer" and role["RolePolicyList"][0]["PolicyName"] == "inline-two"
    assert role["AssumeRolePolicyDocument"]["Version"] == "2012-10-17"
    policies = {p["PolicyName"]: p for p in details["Policies"]}
    # Customer managed policies, and the AWS-managed (built-in) ones in use only.
    assert set(policies) == {"reader", "unused", "ReadOnlyAccess"}
    assert policies["reader"]["AttachmentCount"] == 1 and policies["unused"]["Path"] == "/x/"
    [version] = policies["reader"]["PolicyVersionList"]
    assert version["IsDefaultVersion"] is True and version["Document"] == DOC


@pytest.mark.parametrize(
    ("filters", "members"),
    [
        (["User"], {"UserDetailList": 2}),
        (["Role", "Group"], {"RoleDetailList": 1, "GroupDetailList": 1}),
        (["LocalManagedPolicy"], {"Policies": 2}),
        (["AWSManagedPolicy"], {"Policies": 1}),
    ],
)
def test_authorization_details_filter(
    endpoint: Endpoint, filters: list[str], members: dict[str, int]
) -> None:
    _populate(endpoint)
    details = endpoint.iam().get_account_authorization_details(Filter=filters)
    present = {
        k: len(details[k])
        for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
        if k in details
    }
    assert {k: v for k, v in present.items() if v or k in members} == members


def test_authorization_details_paginate_across_lists(endpoint: Endpoint) -> None:
    _populate(endpoint)
    iam = endpoint.iam()
    everything = iam.get_account_authorization_details()
    names: list[str] = []
    pages = 0
    for page in iam.get_paginator("get_account_authorization_details").paginate(
        PaginationConfig={"PageSize": 2}
    ):
        pages += 1
        names += [u["UserName"] for u in page.get("UserDetailList", [])]
        names += [g["GroupName"] for g in page.get("GroupDetailList", [])]
        names += [r["RoleName"] for r in page.get("RoleDetailList", [])]
        names += [p["PolicyName"] for p in page.get("Policies", [])]
    expected = (
        [u["UserName"] for u in everything["UserDetailList"]]
        + [g["GroupName"] for g in everything["GroupDetailList"]]
        + [r["RoleName"] for r in everything["RoleDetailList"]]
        + [p["PolicyName"] for p in everything["Policies"]]
    )
    assert names == expected and len(expected) == 7 and pages == 4


def test_account_actions_are_authorized_on_star(endpoint: Endpoint) -> None:
    key = endpoint.user_with_key("reader", READ_ONLY)
    reader = endpoint.iam(key)
    assert "Users" in reader.get_account_summary()["SummaryMap"]
    reader.list_account_aliases()
    reader.get_account_authorization_details(Filter=["User"])
    assert error_of(reader.create_account_alias, AccountAlias="nope-alias")[:2] == ("AccessDenied", 403)
