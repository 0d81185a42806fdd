"""Store records in the shapes ``aws iam ... --output json`` prints, for ``--json`` output.

The member names are those of the IAM API's output shapes (botocore's
``iam/2010-05-08/service-2.json``): ``{"User": {"Path", "UserName", "UserId", "Arn",
"CreateDate", ...}}``, ``{"AccessKey": {...}}``, ``{"Roles": [...]}``. As the AWS CLI does,
timestamps are ISO 8601 with their UTC offset (AWS CLI v2's default format) and policy documents (a role's
``AssumeRolePolicyDocument``, a version's ``Document``, an inline ``PolicyDocument``) are JSON
objects, not the URL-encoded strings the wire protocol carries. Optional members with no value
are left out, as AWS leaves them out, so a script written against the AWS CLI reads this output
unchanged. https://docs.aws.amazon.com/IAM/latest/APIReference/API_Types.html

IAM's listing operations return a subset of each record, and so do these functions when asked
with ``listed=True``: ``ListUsers`` and ``ListRoles`` leave out ``PermissionsBoundary`` and
``Tags``, ``ListPolicies`` ``Description`` and ``Tags`` (``CreatePolicy`` ``Description`` too);
``GetGroup`` lists its members without tags. https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_Policy.html (``Description``)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from iamguard.decision import Decision, DecisionKind, MatchedStatement, PolicyRole
from iamguard.lookups import AccessKey
from iamguard.store.built_in import is_built_in_arn
from iamguard.store.records import (
    Account,
    Group,
    LoginProfile,
    ManagedPolicy,
    MfaDevice,
    PolicyVersion,
    PrincipalKind,
    Role,
    User,
)

__all__ = [
    "access_key",
    "cli_shape",
    "evaluation_result",
    "group",
    "login_profile",
    "managed_policy",
    "mfa_device",
    "policy_version",
    "print_json",
    "role",
    "timestamp",
    "user",
    "virtual_mfa_device",
]

#: ``PermissionsBoundaryType``: the only value the API defines.
_BOUNDARY_TYPE = "PermissionsBoundaryPolicy"
#: What ``{kind}/{owner}/inline/{name}`` policy labels (``store/_read_path.py``) say as a
#: ``SourcePolicyType``. https://docs.aws.amazon.com/IAM/latest/APIReference/API_Statement.html
_INLINE_SOURCE = {kind.value: kind.value for kind in PrincipalKind}


def print_json(data: Mapping[str, Any]) -> None:
    """``data`` on standard output as the AWS CLI prints it: indented by four, non-ASCII text as
    itself (escaped only when the terminal's encoding cannot show it)."""
    text = json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        sys.stdout.write(json.dumps(data, indent=4) + "\n")


#: Members holding a policy document, URL-encoded on the wire; the AWS CLI prints them decoded
#: as JSON objects.
_DOCUMENT_MEMBERS = frozenset({"AssumeRolePolicyDocument", "Document", "PolicyDocument"})


def cli_shape(value: Any, member: str = "") -> Any:
    """An IAM operation's result (:meth:`iamguard.iam.IamService.call`) as the AWS CLI prints
    it: members without a value left out, timestamps as :func:`timestamp` writes them, policy
    documents as JSON objects."""
    if isinstance(value, Mapping):
        return {k: cli_shape(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [cli_shape(v, member) for v in value]
    if isinstance(value, datetime):
        return timestamp(value)
    if member in _DOCUMENT_MEMBERS and isinstance(value, str):
        return json.loads(unquote(value))
    return value


def timestamp(value: datetime) -> str:
    """ISO 8601 in whole seconds with the UTC offset (``2026-01-01T00:00:00+00:00``), as the AWS
    CLI prints IAM's dates."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # the store keeps UTC
    return value.replace(microsecond=0).isoformat()


def _tags(tags: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags]} if tags else {}


def _boundary(arn: str | None) -> dict[str, Any]:
    if arn is None:
        return {}
    return {"PermissionsBoundary": {"PermissionsBoundaryType": _BOUNDARY_TYPE, "PermissionsBoundaryArn": arn}}


def user(record: User, *, listed: bool = False, member: bool = False) -> dict[str, Any]:
    """An IAM ``User``: whole (``GetUser``), as ``ListUsers`` lists it (``listed``), or as
    ``GetGroup`` lists a member (``member``: no tags)."""
    out = {
        "Path": record.path,
        "UserName": record.name,
        "UserId": record.user_id,
        "Arn": record.arn,
        "CreateDate": timestamp(record.create_date),
    }
    if listed:
        return out
    return {**out, **_boundary(record.permissions_boundary), **({} if member else _tags(record.tags))}


def group(record: Group) -> dict[str, Any]:
    """An IAM ``Group``."""
    return {
        "Path": record.path,
        "GroupName": record.name,
        "GroupId": record.group_id,
        "Arn": record.arn,
        "CreateDate": timestamp(record.create_date),
    }


def role(record: Role, *, listed: bool = False) -> dict[str, Any]:
    """An IAM ``Role``; the trust policy as a JSON object. ``listed``: as ``ListRoles`` lists it."""
    out: dict[str, Any] = {
        "Path": record.path,
        "RoleName": record.name,
        "RoleId": record.role_id,
        "Arn": record.arn,
        "CreateDate": timestamp(record.create_date),
        "AssumeRolePolicyDocument": json.loads(record.assume_role_policy),
    }
    if record.description:
        out["Description"] = record.description
    out["MaxSessionDuration"] = record.max_session_duration
    if listed:
        return out
    return {**out, **_boundary(record.permissions_boundary), **_tags(record.tags)}


def managed_policy(record: ManagedPolicy, *, listed: bool = False, created: bool = False) -> dict[str, Any]:
    """An IAM ``Policy`` (a managed policy's metadata; its document is a ``PolicyVersion``).
    ``listed``: as ``ListPolicies`` lists it; ``created``: as ``CreatePolicy`` answers (both
    without ``Description``, which only ``GetPolicy`` includes)."""
    out: dict[str, Any] = {
        "PolicyName": record.name,
        "PolicyId": record.policy_id,
        "Arn": record.arn,
        "Path": record.path,
        "DefaultVersionId": record.default_version_id,
        "AttachmentCount": record.attachment_count,
        "PermissionsBoundaryUsageCount": record.boundary_usage_count,
        "IsAttachable": True,
    }
    if record.description and not (listed or created):
        out["Description"] = record.description
    out["CreateDate"] = timestamp(record.create_date)
    out["UpdateDate"] = timestamp(record.update_date)
    return out if listed else {**out, **_tags(record.tags)}


def policy_version(record: PolicyVersion, *, with_document: bool = True) -> dict[str, Any]:
    """An IAM ``PolicyVersion``; ``ListPolicyVersions`` leaves the document out."""
    out: dict[str, Any] = {"Document": json.loads(record.document)} if with_document else {}
    return {
        **out,
        "VersionId": record.version_id,
        "IsDefaultVersion": record.is_default,
        "CreateDate": timestamp(record.create_date),
    }


def access_key(record: AccessKey, secret: str | None = None) -> dict[str, Any]:
    """``AccessKeyMetadata``, or with ``secret`` the ``AccessKey`` ``CreateAccessKey`` returns.
    A root user's key has no ``UserName`` (the root user is not an IAM user)."""
    out: dict[str, Any] = {} if record.user_name is None else {"UserName": record.user_name}
    out["AccessKeyId"] = record.access_key_id
    out["Status"] = record.status.value
    if secret is not None:
        out["SecretAccessKey"] = secret
    out["CreateDate"] = timestamp(record.create_date)
    return out


def login_profile(record: LoginProfile) -> dict[str, Any]:
    """An IAM ``LoginProfile`` (never the password)."""
    return {
        "UserName": record.user_name,
        "CreateDate": timestamp(record.create_date),
        "PasswordResetRequired": record.password_reset_required,
    }


def mfa_device(record: MfaDevice, account: Account) -> dict[str, Any]:
    """An ``MFADevice`` as ``ListMFADevices`` returns it (an assigned device). The root user's
    devices carry the account id as ``UserName``, since the root user has no IAM user name."""
    out: dict[str, Any] = {"UserName": account.account_id if record.is_root else record.user_name}
    out["SerialNumber"] = record.serial_number
    if record.enable_date is not None:
        out["EnableDate"] = timestamp(record.enable_date)
    return out


def virtual_mfa_device(
    record: MfaDevice, account: Account, owner: User | None = None, *, seed: str | None = None
) -> dict[str, Any]:
    """A ``VirtualMFADevice``: ``owner`` is the assigned IAM user (the root user is shown by its
    ARN and account id, as AWS shows it); ``seed`` only in ``CreateVirtualMFADevice``'s answer,
    as the base32 text an authenticator app takes."""
    out: dict[str, Any] = {"SerialNumber": record.serial_number}
    if seed is not None:
        out["Base32StringSeed"] = seed
    if owner is not None:
        out["User"] = user(owner, member=True)
    elif record.is_root:
        out["User"] = {"Arn": account.root_arn, "UserId": account.account_id}
    if record.enable_date is not None:
        out["EnableDate"] = timestamp(record.enable_date)
    return out


def _source_policy_type(statement: MatchedStatement) -> str:
    """``SourcePolicyType``: ``user``/``group``/``role`` for inline policies, ``aws-managed``
    for iamguard's built-ins, ``user-managed`` for customer managed policies, ``resource``,
    else ``none`` (a policy file given on the command line, a session policy)."""
    name = statement.policy_name
    if statement.policy_role is PolicyRole.RESOURCE:
        return "resource"
    if statement.policy_role is PolicyRole.SESSION:
        return "none"
    if name.startswith("arn:") and ":policy/" in name:
        return "aws-managed" if is_built_in_arn(name) else "user-managed"
    kind, _, rest = name.partition("/")
    if kind in _INLINE_SOURCE and "/inline/" in rest:
        return _INLINE_SOURCE[kind]
    return "none"


def _statement(statement: MatchedStatement, source_ids: Mapping[str, str]) -> dict[str, Any]:
    name = statement.policy_name
    return {"SourcePolicyId": source_ids.get(name, name), "SourcePolicyType": _source_policy_type(statement)}


def _deciding(decision: Decision) -> list[MatchedStatement]:
    """The statements that "determine the result": the Deny statements of an explicit deny, the
    Allow statements of an Allow, none of an implicit deny."""
    if decision.kind is DecisionKind.IMPLICIT_DENY:
        return []
    effect = "Deny" if decision.kind is DecisionKind.EXPLICIT_DENY else "Allow"
    return [m for m in decision.matched if m.effect == effect]


def evaluation_result(
    decision: Decision, boundary_alone: Decision | None = None, source_ids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An ``EvaluationResult`` as the policy simulator returns it. ``MatchedStatements`` are
    those that determine the result, each policy named as ``source_ids`` maps it (AWS names
    policies given as text ``PolicyInputList.1``...), else by its own name; ``boundary_alone``
    (the request evaluated against the permissions boundary only, when one took part) gives
    ``PermissionsBoundaryDecisionDetail``.
    The human explanation (``Decision.reason``) has no member in AWS's shape; the table shows it.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html"""
    out: dict[str, Any] = {
        "EvalActionName": decision.action,
        "EvalResourceName": decision.resource,
        "EvalDecision": decision.kind.value,
        "MatchedStatements": [_statement(m, source_ids or {}) for m in _deciding(decision)],
        "MissingContextValues": list(decision.missing_context_keys),
    }
    if boundary_alone is not None:
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": boundary_alone.allowed}
    return out
