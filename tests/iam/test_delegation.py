"""Who may call IAM is itself an IAM decision: AWS's documented delegation through permissions
boundaries, role sessions (with and without session policies), through boto3 and through the
operations layer the command line uses (``--as-user``).

The delegated administrator's policy is the pattern of "Delegating responsibility to others using
permissions boundaries": create users and change their policies only with the company boundary
in place, never edit the boundary policy, never remove a user's boundary.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamguard.errors import EncodedAccessDeniedError, NoSuchEntityError
from iamguard.iam import IamService
from iamguard.store.records import PrincipalKind

from ._endpoint import ACCOUNT, Server, error_of, server

__all__ = ["server"]

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/XCompanyBoundaries"
OTHER = f"arn:aws:iam::{ACCOUNT}:policy/Other"
ADMIN = "arn:aws:iam::iamguard:policy/AdministratorAccess"
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
BOUNDARY_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"}],
}
DELEGATED_ADMIN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "CreateOrChangeOnlyWithBoundary",
            "Effect": "Allow",
            "Action": [
                "iam:CreateUser",
                "iam:DeleteUserPolicy",
                "iam:AttachUserPolicy",
                "iam:DetachUserPolicy",
                "iam:PutUserPermissionsBoundary",
                "iam:PutUserPolicy",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
        },
        {
            "Sid": "IAMReadAndKeys",
            "Effect": "Allow",
            "Action": ["iam:Get*", "iam:List*", "iam:CreateAccessKey", "iam:CreatePolicyVersion"],
            "Resource": "*",
        },
        {
            "Sid": "NoBoundaryPolicyEdit",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": BOUNDARY,
        },
        {
            "Sid": "NoBoundaryUserDelete",
            "Effect": "Deny",
            "Action": "iam:DeleteUserPermissionsBoundary",
            "Resource": "*",
        },
    ],
}


def _seed(server: Server) -> Any:
    store = server.store
    store.create_policy("XCompanyBoundaries", BOUNDARY_DOC)
    store.create_policy("Other", BOUNDARY_DOC)
    store.create_user("maria")
    store.put_inline_policy(PrincipalKind.USER, "maria", "delegated-admin", DELEGATED_ADMIN)
    store.create_user("unbounded")
    return server.iam_as("maria")


def test_creating_a_user_needs_the_boundary(server: Server) -> None:
    maria = _seed(server)
    created = maria.create_user(UserName="shirley", PermissionsBoundary=BOUNDARY)["User"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    code, status, message = error_of(maria.create_user, UserName="escalated")
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(
        f"User: arn:aws:iam::{ACCOUNT}:user/maria is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/escalated"
    )
    assert error_of(maria.create_user, UserName="other", PermissionsBoundary=OTHER)[:2] == (
        "AccessDenied",
        403,
    )
    names = {u["UserName"] for u in server.iam().list_users()["Users"]}
    assert names == {"maria", "unbounded", "shirley"}  # nothing was created by a refused call


def test_changing_policies_only_of_bounded_users(server: Server) -> None:
    maria = _seed(server)
    maria.create_user(UserName="shirley", PermissionsBoundary=BOUNDARY)
    maria.attach_user_policy(UserName="shirley", PolicyArn=ADMIN)
    maria.put_user_policy(UserName="shirley", PolicyName="read", PolicyDocument=json.dumps(S3_READ))
    for call, params in (
        (maria.attach_user_policy, {"UserName": "unbounded", "PolicyArn": ADMIN}),
        (
            maria.put_user_policy,
            {"UserName": "unbounded", "PolicyName": "r", "PolicyDocument": json.dumps(S3_READ)},
        ),
        (maria.put_user_permissions_boundary, {"UserName": "unbounded", "PermissionsBoundary": OTHER}),
        (maria.delete_user_permissions_boundary, {"UserName": "shirley"}),
        (maria.create_policy_version, {"PolicyArn": BOUNDARY, "PolicyDocument": json.dumps(S3_READ)}),
    ):
        assert error_of(call, **params)[:2] == ("AccessDenied", 403), call
    maria.put_user_permissions_boundary(
        UserName="unbounded", PermissionsBoundary=BOUNDARY
    )  # bounding is fine
    maria.create_policy_version(PolicyArn=OTHER, PolicyDocument=json.dumps(S3_READ))  # another policy is fine


def test_the_boundary_caps_the_new_user_even_with_administrator_access(server: Server) -> None:
    maria = _seed(server)
    maria.create_user(UserName="shirley", PermissionsBoundary=BOUNDARY)
    maria.attach_user_policy(UserName="shirley", PolicyArn=ADMIN)
    shirley = server.iam_as("shirley")
    assert error_of(shirley.create_user, UserName="x")[:2] == ("AccessDenied", 403)
    assert error_of(shirley.list_users)[:2] == ("AccessDenied", 403)


def test_a_user_without_iam_permissions_cannot_even_read(server: Server) -> None:
    server.store.create_user("nobody")
    nobody = server.iam_as("nobody")
    assert error_of(nobody.list_users)[:2] == ("AccessDenied", 403)
    assert error_of(nobody.get_user, UserName="nobody")[:2] == ("AccessDenied", 403)
    # GetUser without a name is the caller, but still needs iam:GetUser on itself.
    assert error_of(nobody.get_user)[:2] == ("AccessDenied", 403)


def test_role_sessions_are_authorized_with_their_session_policies(server: Server) -> None:
    store = server.store
    store.create_role(
        "IamAdmin",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    store.attach_policy(PrincipalKind.ROLE, "IamAdmin", ADMIN)
    store.create_user("alice")
    store.put_inline_policy(
        PrincipalKind.USER,
        "alice",
        "assume",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        },
    )
    alice_key = store.create_access_key("alice")
    sts = server.client(alice_key.access_key_id, alice_key.secret_access_key, service="sts")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/IamAdmin"

    def session_iam(**extra: Any) -> Any:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="admin-session", **extra)["Credentials"]
        return server.client(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    full = session_iam()
    assert full.create_user(UserName="made-by-role")["User"]["UserName"] == "made-by-role"
    read_only = session_iam(
        Policy=json.dumps(
            S3_READ | {"Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}
        )
    )
    assert any(u["UserName"] == "made-by-role" for u in read_only.list_users()["Users"])
    assert error_of(read_only.create_user, UserName="refused")[:2] == ("AccessDenied", 403)
    # A session token presented with a long-term key is refused outright.
    tampered = server.client(alice_key.access_key_id, alice_key.secret_access_key, "not-a-token")
    assert error_of(tampered.list_users)[1] == 403


@pytest.mark.parametrize("as_user", ["maria", None])
def test_the_operations_layer_decides_the_same_for_the_command_line(
    server: Server, as_user: str | None
) -> None:
    _seed(server)
    service = IamService(server.store)
    caller = service.as_user(as_user) if as_user else service.root()
    allowed = service.call(
        "CreateUser", {"UserName": "bounded", "PermissionsBoundary": BOUNDARY}, caller=caller
    )
    assert allowed is not None and allowed["User"]["UserName"] == "bounded"
    if as_user is None:  # the root user (the CLI's default operator) may do anything
        service.call("CreateUser", {"UserName": "free"}, caller=caller)
        return
    with pytest.raises(EncodedAccessDeniedError) as refused:
        service.call("CreateUser", {"UserName": "free"}, caller=caller)
    assert refused.value.code == "AccessDenied" and refused.value.http_status == 403


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam-new-user-tag.html:
# users may be created only with the Department and JobFunction tag keys, each with allowed
# values; tagging at creation also needs iam:TagUser, which the example grants under the same
# conditions.
TAGGED_CREATION = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TagUsersWithOnlyTheseTags",
            "Effect": "Allow",
            "Action": ["iam:CreateUser", "iam:TagUser"],
            "Resource": "*",
            "Condition": {
                "StringEqualsIfExists": {
                    "aws:RequestTag/Department": ["Development", "QualityAssurance"],
                    "aws:RequestTag/JobFunction": "Employee",
                },
                "ForAllValues:StringEquals": {"aws:TagKeys": ["Department", "JobFunction"]},
            },
        }
    ],
}


@pytest.mark.parametrize(
    ("tags", "allowed"),
    [
        ({"Department": "Development"}, True),
        ({"Department": "QualityAssurance", "JobFunction": "Employee"}, True),
        ({}, True),  # no tags: both conditions hold (IfExists; ForAllValues over an empty set)
        ({"Department": "Sales"}, False),
        ({"Department": "Development", "Team": "a"}, False),
        ({"JobFunction": "Contractor"}, False),
    ],
)
def test_create_users_only_with_specific_tags(server: Server, tags: dict[str, str], allowed: bool) -> None:
    server.store.create_user("hr")
    server.store.put_inline_policy(PrincipalKind.USER, "hr", "tagged", TAGGED_CREATION)
    hr = server.iam_as("hr")
    params: dict[str, Any] = {"UserName": "new-hire"}
    if tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if allowed:
        assert hr.create_user(**params)["User"]["UserName"] == "new-hire"
    else:
        assert error_of(hr.create_user, **params)[:2] == ("AccessDenied", 403)
        with pytest.raises(NoSuchEntityError):
            server.store.get_user("new-hire")


def test_tag_changes_are_decided_on_the_resource_tags(server: Server) -> None:
    # Only users tagged team=data may be changed (iam:ResourceTag), and only the team key may not
    # be removed (aws:TagKeys on UntagUser).
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html#access_iam-tags_control-resources
    store = server.store
    store.create_user("lead")
    store.put_inline_policy(
        PrincipalKind.USER,
        "lead",
        "team",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iam:TagUser", "iam:UntagUser", "iam:DeleteUser"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"iam:ResourceTag/team": "data"}},
                },
                {
                    "Effect": "Deny",
                    "Action": "iam:UntagUser",
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}},
                },
            ],
        },
    )
    store.create_user("ana", tags={"team": "data"})
    store.create_user("bo", tags={"team": "web"})
    lead = server.iam_as("lead")
    lead.tag_user(UserName="ana", Tags=[{"Key": "level", "Value": "2"}])
    lead.untag_user(UserName="ana", TagKeys=["level"])
    assert error_of(lead.untag_user, UserName="ana", TagKeys=["team"])[:2] == ("AccessDenied", 403)
    assert error_of(lead.tag_user, UserName="bo", Tags=[{"Key": "level", "Value": "2"}])[:2] == (
        "AccessDenied",
        403,
    )
    assert error_of(lead.delete_user, UserName="bo")[:2] == ("AccessDenied", 403)
    lead.delete_user(UserName="ana")


def test_roles_follow_the_same_boundary_pattern(server: Server) -> None:
    # The delegation pattern for roles: CreateRole, PutRolePolicy and AttachRolePolicy only while
    # the role has (or gets) the company boundary.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate
    store = server.store
    store.create_policy("XCompanyBoundaries", BOUNDARY_DOC)
    store.create_user("ops")
    store.put_inline_policy(
        PrincipalKind.USER,
        "ops",
        "roles",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"],
                    "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
                    "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
                }
            ],
        },
    )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    store.create_role("legacy", trust)
    ops = server.iam_as("ops")
    assert error_of(ops.create_role, RoleName="free", AssumeRolePolicyDocument=trust)[:2] == (
        "AccessDenied",
        403,
    )
    ops.create_role(RoleName="app", AssumeRolePolicyDocument=trust, PermissionsBoundary=BOUNDARY)
    ops.attach_role_policy(RoleName="app", PolicyArn=ADMIN)
    ops.put_role_policy(RoleName="app", PolicyName="read", PolicyDocument=json.dumps(S3_READ))
    assert error_of(ops.attach_role_policy, RoleName="legacy", PolicyArn=ADMIN)[:2] == ("AccessDenied", 403)
    assert error_of(
        ops.put_role_policy, RoleName="legacy", PolicyName="r", PolicyDocument=json.dumps(S3_READ)
    )[:2] == ("AccessDenied", 403)
