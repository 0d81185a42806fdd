"""The user, group or role an action names, as an authorization target.

Part of ``iam/``; shared by the attachment, inline-policy and boundary operations. The target is
the entity's ARN with its tags as ``iam:ResourceTag/*`` and, for a user or role that has one,
its current permissions boundary as ``iam:PermissionsBoundary``: AWS's delegation pattern lets
an administrator change only entities that keep a given boundary.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate
"""

from __future__ import annotations

from collections.abc import Mapping

from iamguard.errors import NoSuchEntityError
from iamguard.iam._operation import Call, Target, resource_tag_context
from iamguard.store.records import PrincipalKind

__all__ = ["OWNER_WORDS", "owner_target"]

#: The word each kind has in AWS's action and parameter names (AttachUserPolicy, UserName).
OWNER_WORDS = {PrincipalKind.USER: "User", PrincipalKind.GROUP: "Group", PrincipalKind.ROLE: "Role"}


def owner_target(
    call: Call, kind: PrincipalKind, name: str, extra: Mapping[str, object] | None = None
) -> Target:
    """``iam:<Action>`` on the ``kind`` entity ``name`` (see the module doc)."""
    context: dict[str, object] = {}
    try:
        if kind is PrincipalKind.GROUP:
            arn = call.store.get_group(name).arn
        else:
            entity = call.store.get_user(name) if kind is PrincipalKind.USER else call.store.get_role(name)
            arn = entity.arn
            context.update(resource_tag_context(entity.tags))
            if entity.permissions_boundary is not None:
                context["iam:PermissionsBoundary"] = entity.permissions_boundary
    except NoSuchEntityError:
        arn = call.arn(f"{kind.value}/{name}")
    context.update(extra or {})
    return Target.on(arn, context)
