"""Store records as IAM API values: mappings keyed by AWS's member names.

Part of ``iam/``; pure. What ``apply`` functions return is rendered along the output shape
(``_xml.py``), so a record becomes the member names of AWS's ``User``, ``Group``, ``Role``,
``Policy``, ``PolicyVersion``, ``AccessKeyMetadata`` ... shapes here, once.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_Types.html
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from iamguard.store.records import AccessKey, Group, ManagedPolicy, PolicyVersion, Role, User

__all__ = [
    "access_key_metadata",
    "attached_policy",
    "boundary",
    "encoded_document",
    "group_value",
    "policy_value",
    "policy_version_value",
    "role_value",
    "tag_list",
    "user_value",
]


def tag_list(tags: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags]


def boundary(arn: str | None) -> dict[str, str] | None:
    """``AttachedPermissionsBoundary``: the boundary's ARN, always a managed policy here."""
    if arn is None:
        return None
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}


def encoded_document(text: str) -> str:
    """A policy document as IAM returns it: URL-encoded (RFC 3986), as every Get*Policy answer
    carries it. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html"""
    return quote(text, safe="-_.~")


def user_value(user: User, *, with_tags: bool = True) -> dict[str, Any]:
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.create_date,
        "PermissionsBoundary": boundary(user.permissions_boundary),
        "Tags": tag_list(user.tags) if with_tags and user.tags else None,
    }


def group_value(group: Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.create_date,
    }


def role_value(role: Role, *, with_tags: bool = True) -> dict[str, Any]:
    return {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.create_date,
        "AssumeRolePolicyDocument": encoded_document(role.assume_role_policy),
        "Description": role.description or None,
        "MaxSessionDuration": role.max_session_duration,
        "PermissionsBoundary": boundary(role.permissions_boundary),
        "Tags": tag_list(role.tags) if with_tags and role.tags else None,
    }


def policy_value(policy: ManagedPolicy, *, with_tags: bool = True) -> dict[str, Any]:
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": policy.attachment_count,
        "PermissionsBoundaryUsageCount": policy.boundary_usage_count,
        "IsAttachable": True,
        "Description": policy.description or None,
        "CreateDate": policy.create_date,
        "UpdateDate": policy.update_date,
        "Tags": tag_list(policy.tags) if with_tags and policy.tags else None,
    }


def policy_version_value(version: PolicyVersion, *, with_document: bool = True) -> dict[str, Any]:
    return {
        "Document": encoded_document(version.document) if with_document else None,
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "CreateDate": version.create_date,
    }


def attached_policy(policy: ManagedPolicy) -> dict[str, str]:
    return {"PolicyName": policy.name, "PolicyArn": policy.arn}


def access_key_metadata(key: AccessKey, user_name: str | None) -> dict[str, Any]:
    return {
        "UserName": key.user_name or user_name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status.value,
        "CreateDate": key.create_date,
    }
