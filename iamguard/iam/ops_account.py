"""Account-wide actions: the account alias, GetAccountSummary and GetAccountAuthorizationDetails.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`. None of these has a
resource type in the Service Authorization Reference, so each is authorized on ``*``.
``GetAccountSummary`` answers with AWS's ``SummaryMap`` keys (counts from the store, quotas from
its :class:`~iamguard.store.service.Quotas`); ``GetAccountAuthorizationDetails`` lists users,
groups, roles and managed policies with their inline policies, attachments and versions,
filtered by ``Filter`` and paginated across all four lists by one ``Marker``.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iamguard.errors import EntityAlreadyExistsError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._paging import page
from iamguard.iam._records import (
    attached_policy,
    boundary,
    encoded_document,
    policy_value,
    policy_version_value,
    tag_list,
)
from iamguard.store.records import PrincipalKind

__all__: list[str] = []

# Quotas AWS reports that iamguard has no entity for (server certificates, signing certificates,
# instance profiles), at AWS's default values.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
_FIXED_QUOTAS = {
    "ServerCertificatesQuota": 20,
    "SigningCertificatesPerUserQuota": 2,
    "InstanceProfilesQuota": 1000,
    "PolicyVersionsInUseQuota": 10000,
}
# Filter values in the order the lists appear in the answer (and in the marker's order).
_KINDS = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")
_MEMBER = {
    "User": "UserDetailList",
    "Group": "GroupDetailList",
    "Role": "RoleDetailList",
    "LocalManagedPolicy": "Policies",
    "AWSManagedPolicy": "Policies",
}


def _anything(call: Call) -> Iterable[Target]:
    return [Target.on("*")]


# ---------------------------------------------------------------------- alias


@operation("CreateAccountAlias", targets=_anything)
def create_account_alias(call: Call) -> Result:
    """An account has one alias; creating another replaces it. The same alias again is
    ``EntityAlreadyExists``, as AWS answers for an alias already taken.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html"""
    if call.store.account().alias == call["AccountAlias"]:
        raise EntityAlreadyExistsError(f"The account alias {call['AccountAlias']} already exists.")
    call.store.create_account_alias(call["AccountAlias"])
    return None


@operation("ListAccountAliases", targets=_anything)
def list_account_aliases(call: Call) -> Result:
    alias = call.store.account().alias
    return page(call, [alias] if alias else [], "AccountAliases", lambda a: a, key=lambda a: a)


@operation("DeleteAccountAlias", targets=_anything)
def delete_account_alias(call: Call) -> Result:
    try:
        call.store.delete_account_alias(call["AccountAlias"])
    except NoSuchEntityError:
        raise NoSuchEntityError(f"The account alias {call['AccountAlias']} cannot be found.") from None
    return None


# ---------------------------------------------------------------------- summary


@operation("GetAccountSummary", targets=_anything)
def get_account_summary(call: Call) -> Result:
    return {"SummaryMap": account_summary(call)}


def account_summary(call: Call) -> dict[str, int]:
    """AWS's ``SummaryMap``: entity counts, account-level flags and quotas."""
    store = call.store
    quotas = store.quotas
    local = store.list_policies(scope="local")
    devices = store.list_mfa_devices()
    providers = len(store.list_open_id_connect_providers()) + len(store.list_saml_providers())
    summary = {
        "Users": len(store.list_users()),
        "Groups": len(store.list_groups()),
        "Roles": len(store.list_roles()),
        "Policies": len(local),
        "PolicyVersionsInUse": sum(
            len(store.list_policy_versions(p.arn)) for p in local if p.attachment_count
        ),
        "MFADevices": len(devices),
        "MFADevicesInUse": sum(1 for d in devices if d.enable_date is not None),
        "AccountMFAEnabled": int(any(d.is_root and d.enable_date is not None for d in devices)),
        "AccountAccessKeysPresent": int(bool(store.list_access_keys(None))),
        "AccountPasswordPresent": 0,  # the root user signs in with keys only here
        "AccountSigningCertificatesPresent": 0,
        "ServerCertificates": 0,
        "InstanceProfiles": 0,
        "Providers": providers,
        "GlobalEndpointTokenVersion": 1,
        "UsersQuota": quotas.users,
        "GroupsQuota": quotas.groups,
        "RolesQuota": quotas.roles,
        "PoliciesQuota": quotas.customer_managed_policies,
        "GroupsPerUserQuota": quotas.groups_per_user,
        "AccessKeysPerUserQuota": quotas.access_keys_per_user,
        "AttachedPoliciesPerUserQuota": quotas.managed_policies_per_user,
        "AttachedPoliciesPerGroupQuota": quotas.managed_policies_per_group,
        "AttachedPoliciesPerRoleQuota": quotas.managed_policies_per_role,
        "VersionsPerPolicyQuota": quotas.versions_per_policy,
        "PolicySizeQuota": quotas.managed_policy_size.max_chars,
        "UserPolicySizeQuota": quotas.user_inline_size.max_chars,
        "GroupPolicySizeQuota": quotas.group_inline_size.max_chars,
        "RolePolicySizeQuota": quotas.role_inline_size.max_chars,
        "AssumeRolePolicySizeQuota": quotas.trust_policy_size.max_chars,
    }
    return {**summary, **_FIXED_QUOTAS}


# ---------------------------------------------------------------------- authorization details


def _inline(call: Call, kind: PrincipalKind, name: str) -> list[dict[str, str]]:
    return [
        {
            "PolicyName": policy_name,
            "PolicyDocument": encoded_document(
                call.store.get_inline_policy(kind, name, policy_name).document
            ),
        }
        for policy_name in call.store.list_inline_policies(kind, name)
    ]


def _attached(call: Call, kind: PrincipalKind, name: str) -> list[dict[str, str]]:
    return [attached_policy(p) for p in call.store.list_attached_policies(kind, name)]


def _user_detail(call: Call, name: str) -> dict[str, Any]:
    user = call.store.get_user(name)
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.create_date,
        "UserPolicyList": _inline(call, PrincipalKind.USER, name),
        "GroupList": [g.name for g in call.store.list_groups_for_user(name)],
        "AttachedManagedPolicies": _attached(call, PrincipalKind.USER, name),
        "PermissionsBoundary": boundary(user.permissions_boundary),
        "Tags": tag_list(user.tags) or None,
    }


def _group_detail(call: Call, name: str) -> dict[str, Any]:
    group = call.store.get_group(name)
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.create_date,
        "GroupPolicyList": _inline(call, PrincipalKind.GROUP, name),
        "AttachedManagedPolicies": _attached(call, PrincipalKind.GROUP, name),
    }


def _role_detail(call: Call, name: str) -> dict[str, Any]:
    role = call.store.get_role(name)
    return {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.create_date,
        "AssumeRolePolicyDocument": encoded_document(role.assume_role_policy),
        "InstanceProfileList": [],
        "RolePolicyList": _inline(call, PrincipalKind.ROLE, name),
        "AttachedManagedPolicies": _attached(call, PrincipalKind.ROLE, name),
        "PermissionsBoundary": boundary(role.permissions_boundary),
        "Tags": tag_list(role.tags) or None,
    }


def _policy_detail(call: Call, arn: str) -> dict[str, Any]:
    policy = call.store.get_policy(arn)
    value = policy_value(policy, with_tags=False)
    value.pop("Tags", None)
    value["PolicyVersionList"] = [policy_version_value(v) for v in call.store.list_policy_versions(arn)]
    return value


def _entries(call: Call, kinds: frozenset[str]) -> list[tuple[str, str]]:
    """``(filter kind, name or ARN)`` of every entity the filter asks for, in answer order."""
    store = call.store
    found: list[tuple[str, str]] = []
    if "User" in kinds:
        found += [("User", u.name) for u in store.list_users()]
    if "Group" in kinds:
        found += [("Group", g.name) for g in store.list_groups()]
    if "Role" in kinds:
        found += [("Role", r.name) for r in store.list_roles()]
    if "LocalManagedPolicy" in kinds:
        found += [("LocalManagedPolicy", p.arn) for p in store.list_policies(scope="local")]
    if "AWSManagedPolicy" in kinds:
        # AWS lists the AWS managed policies in use, not its whole catalogue.
        found += [
            ("AWSManagedPolicy", p.arn) for p in store.list_policies(scope="built-in", only_attached=True)
        ]
    return found


_DETAIL = {
    "User": _user_detail,
    "Group": _group_detail,
    "Role": _role_detail,
    "LocalManagedPolicy": _policy_detail,
    "AWSManagedPolicy": _policy_detail,
}


@operation("GetAccountAuthorizationDetails", targets=_anything)
def get_account_authorization_details(call: Call) -> Result:
    kinds = frozenset(call.get("Filter") or _KINDS)
    entries = _entries(call, kinds)
    order = {kind: i for i, kind in enumerate(_KINDS)}
    listed = page(
        call,
        entries,
        "_entries",
        lambda entry: entry,
        key=lambda entry: f"{order[entry[0]]}:{entry[1].lower()}",
    )
    result: dict[str, Any] = {_MEMBER[kind]: [] for kind in kinds}
    for kind, name in listed.pop("_entries"):
        result[_MEMBER[kind]].append(_DETAIL[kind](call, name))
    result.update(listed)
    return result
