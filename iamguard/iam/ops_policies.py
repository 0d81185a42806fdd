"""Managed policies: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, the version actions
(Create/Get/List/DeletePolicyVersion, SetDefaultPolicyVersion: at most 5 versions), TagPolicy,
UntagPolicy, ListPolicyTags and ListEntitiesForPolicy.

Part of ``iam/``. Authorization is on the policy's ARN (``arn:aws:iam::<acct>:policy/<path><name>``)
with its tags as ``aws:ResourceTag/*``; ListPolicies is on ``*`` (it has no resource type).
Documents come back URL-encoded, as AWS returns them.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicies.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from iamguard.errors import NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation, request_tag_context
from iamguard.iam._paging import page
from iamguard.iam._quota import require_within
from iamguard.iam._records import policy_value, policy_version_value, tag_list
from iamguard.store.records import ManagedPolicy, PrincipalKind

__all__: list[str] = []

_SCOPES = {"All": "all", "AWS": "built-in", "Local": "local"}


def policy_target(call: Call, arn: str, extra: Mapping[str, object] | None = None) -> Target:
    """``iam:<Action>`` on managed policy ``arn`` with its tags as ``aws:ResourceTag/*``."""
    context: dict[str, object] = {}
    try:
        for key, value in call.store.get_policy(arn).tags:
            context[f"aws:ResourceTag/{key}"] = value
    except NoSuchEntityError:
        pass
    return Target.on(arn, {**context, **(extra or {})})


def _own_policy(call: Call) -> Target:
    return policy_target(call, call["PolicyArn"])


# ---------------------------------------------------------------------- policies


def _create_targets(call: Call) -> Iterable[Target]:
    arn = call.arn(f"policy{call.get('Path', '/')}{call['PolicyName']}")
    yield Target.on(arn, request_tag_context(call.get("Tags")))
    if call.get("Tags"):
        yield Target.on(arn, request_tag_context(call["Tags"]), action="iam:TagPolicy")


@operation("CreatePolicy", targets=_create_targets)
def create_policy(call: Call) -> Result:
    require_within(call["PolicyDocument"], call.store.quotas.managed_policy_size)
    policy = call.store.create_policy(
        call["PolicyName"],
        call["PolicyDocument"],
        path=call.get("Path", "/"),
        description=call.get("Description", ""),
        tags={t["Key"]: t["Value"] for t in call.get("Tags") or ()},
    )
    return {"Policy": {**policy_value(policy), "Description": None}}


@operation("GetPolicy", targets=lambda call: [_own_policy(call)])
def get_policy(call: Call) -> Result:
    return {"Policy": policy_value(call.store.get_policy(call["PolicyArn"]))}


def _in_use(policy: ManagedPolicy, usage: str | None) -> bool:
    if usage == "PermissionsPolicy":
        return policy.attachment_count > 0
    if usage == "PermissionsBoundary":
        return policy.boundary_usage_count > 0
    return policy.attachment_count > 0 or policy.boundary_usage_count > 0


@operation("ListPolicies", targets=lambda call: [Target.on("*")])
def list_policies(call: Call) -> Result:
    """``Scope`` (All/AWS/Local), ``OnlyAttached`` with ``PolicyUsageFilter``, ``PathPrefix``."""
    policies = call.store.list_policies(scope=_SCOPES[call.get("Scope", "All")])
    prefix = call.get("PathPrefix", "/")
    usage = call.get("PolicyUsageFilter")
    found = [
        p
        for p in policies
        if p.path.startswith(prefix) and (not call.get("OnlyAttached") or _in_use(p, usage))
    ]
    render = lambda p: {**policy_value(p, with_tags=False), "Description": None}  # noqa: E731
    return page(call, found, "Policies", render, key=lambda p: p.arn)


@operation("DeletePolicy", targets=lambda call: [_own_policy(call)])
def delete_policy(call: Call) -> Result:
    """``DeleteConflict`` while attached, used as a boundary or holding non-default versions."""
    call.store.delete_policy(call["PolicyArn"])
    return None


# ---------------------------------------------------------------------- versions


@operation("CreatePolicyVersion", targets=lambda call: [_own_policy(call)])
def create_policy_version(call: Call) -> Result:
    """``LimitExceeded`` at five versions (delete one first)."""
    require_within(call["PolicyDocument"], call.store.quotas.managed_policy_size)
    version = call.store.create_policy_version(
        call["PolicyArn"], call["PolicyDocument"], set_as_default=bool(call.get("SetAsDefault", False))
    )
    return {"PolicyVersion": policy_version_value(version, with_document=False)}


@operation("GetPolicyVersion", targets=lambda call: [_own_policy(call)])
def get_policy_version(call: Call) -> Result:
    version = call.store.get_policy_version(call["PolicyArn"], call["VersionId"])
    return {"PolicyVersion": policy_version_value(version)}


@operation("ListPolicyVersions", targets=lambda call: [_own_policy(call)])
def list_policy_versions(call: Call) -> Result:
    versions = call.store.list_policy_versions(call["PolicyArn"])
    render = lambda v: policy_version_value(v, with_document=False)  # noqa: E731
    return page(call, versions, "Versions", render, key=lambda v: f"{int(v.version_id[1:]):012d}")


@operation("DeletePolicyVersion", targets=lambda call: [_own_policy(call)])
def delete_policy_version(call: Call) -> Result:
    call.store.delete_policy_version(call["PolicyArn"], call["VersionId"])
    return None


@operation("SetDefaultPolicyVersion", targets=lambda call: [_own_policy(call)])
def set_default_policy_version(call: Call) -> Result:
    call.store.set_default_policy_version(call["PolicyArn"], call["VersionId"])
    return None


# ---------------------------------------------------------------------- tags


@operation(
    "TagPolicy",
    targets=lambda call: [policy_target(call, call["PolicyArn"], request_tag_context(call["Tags"]))],
)
def tag_policy(call: Call) -> Result:
    call.store.tag_policy(call["PolicyArn"], {t["Key"]: t["Value"] for t in call["Tags"]})
    return None


@operation(
    "UntagPolicy",
    targets=lambda call: [policy_target(call, call["PolicyArn"], {"aws:TagKeys": tuple(call["TagKeys"])})],
)
def untag_policy(call: Call) -> Result:
    call.store.untag_policy(call["PolicyArn"], call["TagKeys"])
    return None


@operation("ListPolicyTags", targets=lambda call: [_own_policy(call)])
def list_policy_tags(call: Call) -> Result:
    tags = call.store.get_policy(call["PolicyArn"]).tags
    return page(call, tag_list(tags), "Tags", lambda t: t, key=lambda t: t["Key"])


# ---------------------------------------------------------------------- who uses a policy

_ENTITY_MEMBERS = {
    PrincipalKind.USER: "PolicyUsers",
    PrincipalKind.GROUP: "PolicyGroups",
    PrincipalKind.ROLE: "PolicyRoles",
}
_ENTITY_FILTERS = {"User": PrincipalKind.USER, "Group": PrincipalKind.GROUP, "Role": PrincipalKind.ROLE}


def _policy_entities(call: Call) -> list[tuple[PrincipalKind, str, str, str]]:
    """(kind, name, unique id, path) of each entity using the policy as the filter asks."""
    arn = call["PolicyArn"]
    store = call.store
    usage = call.get("PolicyUsageFilter")
    found: list[tuple[PrincipalKind, str, str, str]] = []
    if usage != "PermissionsBoundary":
        for kind, name in store.list_entities_for_policy(arn):
            found.append(_entity(call, kind, name))
    else:
        store.get_policy(arn)  # NoSuchEntity for an unknown policy
    if usage != "PermissionsPolicy":
        found += [
            (PrincipalKind.USER, u.name, u.user_id, u.path)
            for u in store.list_users()
            if u.permissions_boundary == arn
        ]
        found += [
            (PrincipalKind.ROLE, r.name, r.role_id, r.path)
            for r in store.list_roles()
            if r.permissions_boundary == arn
        ]
    wanted = _ENTITY_FILTERS.get(call.get("EntityFilter", ""))
    prefix = call.get("PathPrefix", "/")
    unique = {
        (k, n): (k, n, i, p)
        for k, n, i, p in found
        if (wanted is None or k is wanted) and p.startswith(prefix)
    }
    return list(unique.values())


def _entity(call: Call, kind: PrincipalKind, name: str) -> tuple[PrincipalKind, str, str, str]:
    if kind is PrincipalKind.USER:
        user = call.store.get_user(name)
        return kind, user.name, user.user_id, user.path
    if kind is PrincipalKind.GROUP:
        group = call.store.get_group(name)
        return kind, group.name, group.group_id, group.path
    role = call.store.get_role(name)
    return kind, role.name, role.role_id, role.path


@operation("ListEntitiesForPolicy", targets=lambda call: [_own_policy(call)])
def list_entities_for_policy(call: Call) -> Result:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListEntitiesForPolicy.html"""
    entities = _policy_entities(call)
    listed = page(call, entities, "Entities", lambda e: e, key=lambda e: f"{e[0].value}:{e[1].lower()}")
    result: dict[str, Any] = {member: [] for member in _ENTITY_MEMBERS.values()}
    for kind, name, unique_id, _path in listed.pop("Entities"):
        word = kind.value.capitalize()
        result[_ENTITY_MEMBERS[kind]].append({f"{word}Name": name, f"{word}Id": unique_id})
    return {**result, **listed}
