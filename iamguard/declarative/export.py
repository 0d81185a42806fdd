"""The store as account-file data, and account-file text from data (the reverse of ``spec``).

Part of :mod:`iamguard.declarative`. Exports write every field and never a secret, so applying
an export to the store it came from plans no change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from iamguard.declarative.spec import FILE_VERSION, yaml_module
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService

__all__ = ["dump_account_file", "export_account"]


def export_account(service: IdentityService) -> dict[str, Any]:
    """The store as account-file data (every field written; never a secret). Applying it to the
    same store plans no change."""
    account = service.account()
    ref = _exporter_ref(service)
    policy = account.password_policy
    password = (
        None if policy is None else {k: v for k, v in policy.to_json().items() if k != "ExpirePasswords"}
    )
    policies = []
    for p in sorted(service.list_policies(scope="local"), key=lambda p: p.name.lower()):
        version = service.get_policy_version(p.arn, p.default_version_id)
        policies.append(
            {"name": p.name, "path": p.path, "description": p.description, "tags": dict(p.tags),
             "document": json.loads(version.document)}
        )  # fmt: skip
    groups = [
        {"name": g.name, "path": g.path, **_owned(service, PrincipalKind.GROUP, g.name, ref)}
        for g in sorted(service.list_groups(), key=lambda g: g.name.lower())
    ]
    users = [
        {
            "name": u.name,
            "path": u.path,
            "tags": dict(u.tags),
            "groups": sorted((g.name for g in service.list_groups_for_user(u.name)), key=str.lower),
            "permissions_boundary": None if u.permissions_boundary is None else ref(u.permissions_boundary),
            **_owned(service, PrincipalKind.USER, u.name, ref),
        }
        for u in sorted(service.list_users(), key=lambda u: u.name.lower())
    ]
    roles = [
        {
            "name": r.name,
            "path": r.path,
            "description": r.description,
            "max_session_duration": r.max_session_duration,
            "tags": dict(r.tags),
            "permissions_boundary": None if r.permissions_boundary is None else ref(r.permissions_boundary),
            "trust_policy": json.loads(r.assume_role_policy),
            **_owned(service, PrincipalKind.ROLE, r.name, ref),
        }
        for r in sorted(service.list_roles(), key=lambda r: r.name.lower())
    ]
    return {
        "version": FILE_VERSION,
        "account": {"account_id": account.account_id, "alias": account.alias, "password_policy": password},
        "policies": policies,
        "groups": groups,
        "users": users,
        "roles": roles,
    }


def _exporter_ref(service: IdentityService) -> Callable[[str], str]:
    """Customer policies are written by name (they are in the same file); built-ins by ARN."""
    names = {p.arn: p.name for p in service.list_policies(scope="local")}
    return lambda arn: names.get(arn, arn)


def _owned(
    service: IdentityService, kind: PrincipalKind, name: str, ref: Callable[[str], str]
) -> dict[str, Any]:
    inline = {
        n: json.loads(service.get_inline_policy(kind, name, n).document)
        for n in sorted(service.list_inline_policies(kind, name), key=str.lower)
    }
    attached = sorted((ref(p.arn) for p in service.list_attached_policies(kind, name)), key=str.lower)
    return {"inline_policies": inline, "attached_policies": attached}


def dump_account_file(data: Mapping[str, Any], *, yaml_syntax: bool) -> str:
    """Account-file text: YAML (block style, keys in the order written) or indented JSON."""
    if not yaml_syntax:
        return json.dumps(data, indent=2) + "\n"
    text: str = yaml_module().safe_dump(
        dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return text
