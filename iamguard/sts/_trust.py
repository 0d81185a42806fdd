"""Trust-policy evaluation for AssumeRole*: the request's condition keys and the two-sided decision.

Part of ``sts/``. AWS decides AssumeRole with the role's trust policy (a resource policy whose
resource account is the role's) *and* the usual identity side: in one account a trust policy
naming the caller itself suffices, naming the account delegates to the caller's identity
policies; across accounts both must allow. For AssumeRoleWithWebIdentity / AssumeRoleWithSAML
the IdP's verified claims stand for the caller and only the trust policy decides. Extra actions
are checked the same way: ``sts:TagSession`` when tags are passed, ``sts:SetSourceIdentity`` when
a source identity is set or carried on.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_assumerole.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from iamguard.decision import Decision, DecisionKind, PolicyRole
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.sts._errors import denied
from iamguard.sts._plans import SessionPlan, plan_context

if TYPE_CHECKING:
    from iamguard.context import ContextValue
    from iamguard.evaluate.engine import Evaluator
    from iamguard.principal import Principal
    from iamguard.store.records import Role

__all__ = [
    "assume_role_context",
    "authorize_on_role",
    "base_context",
    "decide",
    "role_actions",
    "trust_allows",
    "trust_policy",
]


@functools.lru_cache(maxsize=1024)
def trust_policy(document: str, name: str) -> Policy:
    """A role's trust policy, parsed (and so compiled) once per document text: the store validated
    it on write, and a :class:`Policy` is immutable, so sharing it between calls is safe."""
    return parse_policy(document, name=name, kind=PolicyKind.RESOURCE)


def _iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def base_context(now: float) -> dict[str, ContextValue]:
    """The global keys every STS request carries (``aws:CurrentTime``, ``aws:EpochTime``, TLS)."""
    return {"aws:currenttime": _iso(now), "aws:epochtime": str(int(now)), "aws:securetransport": "true"}


def decide(
    evaluator: Evaluator,
    principal: Principal,
    action: str,
    resource: str,
    policies: PolicySet,
    context: Mapping[str, ContextValue],
) -> Decision:
    return evaluator.evaluate(Request(principal, action, resource, MappingProxyType(dict(context))), policies)


def assume_role_context(
    base: dict[str, ContextValue],
    caller: Principal,
    session_name: str,
    external_id: str | None,
    plan: SessionPlan,
    mfa: bool,
    serial: str | None,
) -> dict[str, ContextValue]:
    """Trust-policy condition keys of an AssumeRole request, added to ``base``.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#available-keys-for-sts
    """
    context = base
    context["sts:rolesessionname"] = session_name
    if external_id is not None:
        context["sts:externalid"] = external_id
    context.update(plan_context(plan))
    context["aws:multifactorauthpresent"] = "true" if mfa or caller.mfa_authenticated else "false"
    if mfa and serial is not None:
        context["aws:multifactorauthage"] = "0"
    return context


def trust_allows(
    evaluator: Evaluator,
    principal: Principal,
    role: Role,
    account: str,
    action: str,
    caller_policies: PolicySet | None,
    context: Mapping[str, ContextValue],
) -> bool:
    """The trust policy allows ``action`` for the caller, and so does the identity side when
    the rules of the (same- or cross-account) evaluation require it."""
    trust = trust_policy(role.assume_role_policy, f"{role.name}/trust-policy")
    trust_only = decide(
        evaluator, principal, action, role.arn, PolicySet(resource=trust, resource_account=account), context
    )
    trusted = trust_only.kind is not DecisionKind.EXPLICIT_DENY and any(
        m.policy_role is PolicyRole.RESOURCE and m.effect == "Allow" for m in trust_only.matched
    )
    if not trusted:
        return False
    if caller_policies is None:  # federation: the trust policy alone decides
        return trust_only.allowed
    full = PolicySet(
        identity=caller_policies.identity,
        boundary=caller_policies.boundary,
        session=caller_policies.session,
        resource=trust,
        resource_account=account,
        generation=caller_policies.generation,
    )
    return decide(evaluator, principal, action, role.arn, full, context).allowed


def role_actions(action: str, tags: bool, source_identity: str | None) -> list[str]:
    """``action`` plus ``sts:TagSession`` when tags are passed and ``sts:SetSourceIdentity`` when a
    source identity is set.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required"""
    actions = [action]
    if tags:
        actions.append("sts:TagSession")
    if source_identity is not None:
        actions.append("sts:SetSourceIdentity")
    return actions


def authorize_on_role(
    evaluator: Evaluator,
    principal: Principal,
    role: Role,
    account: str,
    actions: list[str],
    caller_policies: PolicySet | None,
    context: Mapping[str, ContextValue],
) -> None:
    """Raise AccessDenied for the first of ``actions`` the trust (and identity) side refuses;
    ``caller_policies`` is ``None`` for IdP-authenticated callers, whom only the trust policy decides."""
    for action in actions:
        if not trust_allows(evaluator, principal, role, account, action, caller_policies, context):
            raise denied(principal, action, role.arn)
