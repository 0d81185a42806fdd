"""IAM roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateAssumeRolePolicy,
UpdateRoleDescription, DeleteRole, TagRole, UntagRole, ListRoleTags.

Part of ``iam/``. Authorization is on the role's ARN with ``iam:ResourceTag/*`` of an existing
role; CreateRole adds ``iam:PermissionsBoundary``, ``aws:RequestTag/*`` and ``aws:TagKeys``
(and ``iam:TagRole`` when it tags). Trust policies come back URL-encoded, as AWS returns them.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from iamguard.errors import NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation, request_tag_context, resource_tag_context
from iamguard.iam._paging import page
from iamguard.iam._quota import require_within
from iamguard.iam._records import role_value, tag_list

__all__: list[str] = []


def role_target(call: Call, name: str, extra: Mapping[str, object] | None = None) -> Target:
    """``iam:<Action>`` on role ``name`` with its tags as ``iam:ResourceTag/*``."""
    try:
        role = call.store.get_role(name)
    except NoSuchEntityError:
        return Target.on(call.arn(f"role/{name}"), extra)
    return Target.on(role.arn, {**resource_tag_context(role.tags), **(extra or {})})


def _create_targets(call: Call) -> Iterable[Target]:
    context: dict[str, object] = request_tag_context(call.get("Tags"))
    if call.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = call["PermissionsBoundary"]
    arn = call.arn(f"role{call.get('Path', '/')}{call['RoleName']}")
    yield Target.on(arn, context)
    if call.get("Tags"):
        yield Target.on(arn, request_tag_context(call["Tags"]), action="iam:TagRole")


@operation("CreateRole", targets=_create_targets)
def create_role(call: Call) -> Result:
    require_within(call["AssumeRolePolicyDocument"], call.store.quotas.trust_policy_size, "ACLSizePerRole")
    role = call.store.create_role(
        call["RoleName"],
        call["AssumeRolePolicyDocument"],
        path=call.get("Path", "/"),
        description=call.get("Description", ""),
        max_session_duration=call.get("MaxSessionDuration", 3600),
        tags={t["Key"]: t["Value"] for t in call.get("Tags") or ()},
        permissions_boundary=call.get("PermissionsBoundary"),
    )
    return {"Role": role_value(role)}


@operation("GetRole", targets=lambda call: [role_target(call, call["RoleName"])])
def get_role(call: Call) -> Result:
    return {"Role": role_value(call.store.get_role(call["RoleName"]))}


@operation("ListRoles", targets=lambda call: [Target.on(call.arn(f"role{call.get('PathPrefix', '/')}*"))])
def list_roles(call: Call) -> Result:
    roles = call.store.list_roles(path_prefix=call.get("PathPrefix", "/"))
    render = lambda r: {**role_value(r, with_tags=False), "PermissionsBoundary": None}  # noqa: E731
    return page(call, roles, "Roles", render, key=lambda r: r.name.lower())


@operation("UpdateRole", targets=lambda call: [role_target(call, call["RoleName"])])
def update_role(call: Call) -> Result:
    call.store.update_role(
        call["RoleName"],
        description=call.get("Description"),
        max_session_duration=call.get("MaxSessionDuration"),
    )
    return {}


@operation("UpdateRoleDescription", targets=lambda call: [role_target(call, call["RoleName"])])
def update_role_description(call: Call) -> Result:
    role = call.store.update_role(call["RoleName"], description=call["Description"])
    return {"Role": role_value(role)}


@operation("UpdateAssumeRolePolicy", targets=lambda call: [role_target(call, call["RoleName"])])
def update_assume_role_policy(call: Call) -> Result:
    require_within(call["PolicyDocument"], call.store.quotas.trust_policy_size, "ACLSizePerRole")
    call.store.update_assume_role_policy(call["RoleName"], call["PolicyDocument"])
    return None


@operation("DeleteRole", targets=lambda call: [role_target(call, call["RoleName"])])
def delete_role(call: Call) -> Result:
    """``DeleteConflict`` while the role has policies."""
    call.store.delete_role(call["RoleName"])
    return None


@operation(
    "TagRole",
    targets=lambda call: [role_target(call, call["RoleName"], request_tag_context(call["Tags"]))],
)
def tag_role(call: Call) -> Result:
    call.store.tag_role(call["RoleName"], {t["Key"]: t["Value"] for t in call["Tags"]})
    return None


@operation(
    "UntagRole",
    targets=lambda call: [role_target(call, call["RoleName"], {"aws:TagKeys": tuple(call["TagKeys"])})],
)
def untag_role(call: Call) -> Result:
    call.store.untag_role(call["RoleName"], call["TagKeys"])
    return None


@operation("ListRoleTags", targets=lambda call: [role_target(call, call["RoleName"])])
def list_role_tags(call: Call) -> Result:
    tags = call.store.get_role(call["RoleName"]).tags
    return page(call, tag_list(tags), "Tags", lambda t: t, key=lambda t: t["Key"])
