"""Managed-policy attachments and permissions boundaries: Attach/Detach/ListAttached{User,Group,
Role}Policies, Put/Delete{User,Role}PermissionsBoundary.

Part of ``iam/``. Authorization is on the entity (see ``_owners.py``) with ``iam:PolicyARN`` for
attachments and ``iam:PermissionsBoundary`` naming the boundary being put.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachUserPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPermissionsBoundary.html
"""

from __future__ import annotations

from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._owners import OWNER_WORDS, owner_target
from iamguard.iam._paging import page
from iamguard.iam._records import attached_policy
from iamguard.store.records import PrincipalKind

__all__: list[str] = []


def _declare(kind: PrincipalKind) -> None:
    word = OWNER_WORDS[kind]
    name_param = f"{word}Name"

    def with_policy(call: Call) -> list[Target]:
        return [owner_target(call, kind, call[name_param], {"iam:PolicyARN": call["PolicyArn"]})]

    def attach(call: Call) -> Result:
        call.store.attach_policy(kind, call[name_param], call["PolicyArn"])
        return None

    def detach(call: Call) -> Result:
        call.store.detach_policy(kind, call[name_param], call["PolicyArn"])
        return None

    def list_attached(call: Call) -> Result:
        prefix = call.get("PathPrefix", "/")
        policies = [
            p for p in call.store.list_attached_policies(kind, call[name_param]) if p.path.startswith(prefix)
        ]
        return page(call, policies, "AttachedPolicies", attached_policy, key=lambda p: p.arn)

    operation(f"Attach{word}Policy", targets=with_policy)(attach)
    operation(f"Detach{word}Policy", targets=with_policy)(detach)
    operation(
        f"ListAttached{word}Policies", targets=lambda call: [owner_target(call, kind, call[name_param])]
    )(list_attached)


def _declare_boundary(kind: PrincipalKind) -> None:
    word = OWNER_WORDS[kind]
    name_param = f"{word}Name"

    def put(call: Call) -> Result:
        if kind is PrincipalKind.USER:
            call.store.put_user_permissions_boundary(call[name_param], call["PermissionsBoundary"])
        else:
            call.store.put_role_permissions_boundary(call[name_param], call["PermissionsBoundary"])
        return None

    def delete(call: Call) -> Result:
        if kind is PrincipalKind.USER:
            call.store.delete_user_permissions_boundary(call[name_param])
        else:
            call.store.delete_role_permissions_boundary(call[name_param])
        return None

    operation(
        f"Put{word}PermissionsBoundary",
        targets=lambda call: [
            owner_target(
                call, kind, call[name_param], {"iam:PermissionsBoundary": call["PermissionsBoundary"]}
            )
        ],
    )(put)
    operation(
        f"Delete{word}PermissionsBoundary", targets=lambda call: [owner_target(call, kind, call[name_param])]
    )(delete)


for _kind in (PrincipalKind.USER, PrincipalKind.GROUP, PrincipalKind.ROLE):
    _declare(_kind)
for _kind in (PrincipalKind.USER, PrincipalKind.ROLE):
    _declare_boundary(_kind)
