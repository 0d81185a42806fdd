"""An offline twin of IAM's ``SimulateCustomPolicy``: policies in, one Decision per (action, resource).

https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html

Inputs mirror the API's parameters:

* ``policy_input_list``: identity policies as JSON text or mappings (or parsed ``Policy``
  values); named ``PolicyInputList.1``, ``.2``... in explanations, as AWS's ``SourcePolicyId``.
* ``action_names``: full ``service:Action`` names; the API does not accept wildcards here.
* ``resource_arns``: default ``("*",)``, as the API.
* ``context_entries``: ``[{"ContextKeyName", "ContextKeyValues", "ContextKeyType"}]``
  (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html), or a plain
  ``{key: value}`` mapping.
* ``permissions_boundary_policy_input_list``: at most one boundary policy.
* ``resource_policy`` and ``resource_owner``: the resource's policy and owning account (a
  12-digit id or an ARN holding it). The account that owns a resource is the account in its ARN
  when present, else ``resource_owner``, else the caller's; it only matters with a resource
  policy (without one the simulation, like AWS's, evaluates the identity side alone).
* ``caller_arn``: the simulated caller; default :data:`DEFAULT_CALLER_ARN`. AWS accepts only
  IAM user ARNs here; iamguard also accepts role-session, federated-user and root ARNs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from iamguard.context import ContextValue, make_context, parse_typed_value
from iamguard.decision import Decision
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.arn import parse_arn
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

__all__ = [
    "DEFAULT_CALLER_ARN",
    "PolicyInput",
    "context_from_entries",
    "simulate_custom_policy",
    "simulate_policy_set",
]

#: The caller when none is given: an IAM user in AWS's documentation example account.
DEFAULT_CALLER_ARN = "arn:aws:iam::123456789012:user/simulated"

PolicyInput = str | bytes | Mapping[str, Any] | Policy
ContextEntries = Iterable[Mapping[str, Any]] | Mapping[str, object]

_EVALUATOR = Evaluator()


def simulate_custom_policy(
    policy_input_list: Sequence[PolicyInput],
    action_names: Sequence[str],
    resource_arns: Sequence[str] = ("*",),
    *,
    context_entries: ContextEntries | None = None,
    permissions_boundary_policy_input_list: Sequence[PolicyInput] | None = None,
    resource_policy: PolicyInput | None = None,
    resource_owner: str | None = None,
    caller_arn: str | None = None,
) -> list[Decision]:
    """Evaluate every action against every resource; decisions in (action, resource) order.

    Raises :class:`~iamguard.errors.PolicyError` for an invalid policy and ``ValueError`` for
    unusable arguments (a wildcard action, a bad context entry, two boundaries).
    """
    identity = tuple(
        _policy(p, f"PolicyInputList.{i}", PolicyKind.IDENTITY) for i, p in enumerate(policy_input_list, 1)
    )
    boundaries = list(permissions_boundary_policy_input_list or ())
    if len(boundaries) > 1:
        raise InvalidParameterError("PermissionsBoundaryPolicyInputList takes at most one policy")
    boundary = (
        _policy(boundaries[0], "PermissionsBoundaryPolicyInputList.1", PolicyKind.IDENTITY)
        if boundaries
        else None
    )
    resource = (
        _policy(resource_policy, "ResourcePolicy", PolicyKind.RESOURCE)
        if resource_policy is not None
        else None
    )
    principal = Principal.from_arn(caller_arn or DEFAULT_CALLER_ARN)
    context = context_from_entries(context_entries)
    policies = PolicySet(identity=identity, boundary=boundary, resource=resource)
    return simulate_policy_set(principal, policies, action_names, resource_arns, context, resource_owner)


def simulate_policy_set(
    principal: Principal,
    policies: PolicySet,
    action_names: Sequence[str],
    resource_arns: Sequence[str],
    context: Mapping[str, ContextValue],
    resource_owner: str | None = None,
) -> list[Decision]:
    """Evaluate ``policies`` for ``principal`` on every (action, resource), in that order.

    The loop ``SimulateCustomPolicy`` and ``SimulatePrincipalPolicy`` share: every action name is
    checked before anything is evaluated, and when ``policies`` holds a resource policy each
    resource's owning account is worked out from its ARN, else ``resource_owner``.
    """
    for action in action_names:
        _check_action(action)
    decisions: list[Decision] = []
    for action in action_names:
        for arn in resource_arns:
            policy_set = policies
            if policies.resource is not None:
                policy_set = replace(policies, resource_account=_resource_account(arn, resource_owner))
            decisions.append(_EVALUATOR.evaluate(Request(principal, action, arn, context), policy_set))
    return decisions


def context_from_entries(entries: ContextEntries | None) -> dict[str, ContextValue]:
    """A context from ``ContextEntry`` dicts (typed, as the API) or a plain mapping."""
    if entries is None:
        return {}
    if isinstance(entries, Mapping):
        return make_context(entries)
    context: dict[str, ContextValue] = {}
    for entry in entries:
        try:
            name = str(entry["ContextKeyName"])
            values = [str(v) for v in entry["ContextKeyValues"]]
        except (KeyError, TypeError) as exc:
            raise InvalidParameterError(
                f"context entry needs ContextKeyName and ContextKeyValues: {entry!r}"
            ) from exc
        context[name.lower()] = parse_typed_value(name, str(entry.get("ContextKeyType", "string")), values)
    return context


def _policy(document: PolicyInput, name: str, kind: PolicyKind) -> Policy:
    if isinstance(document, Policy):
        return document
    return parse_policy(document, name=name, kind=kind)


def _check_action(action: str) -> None:
    service, sep, name = action.partition(":")
    if not sep or not service or not name or "*" in action or "?" in action:
        raise InvalidParameterError(
            f"action names must be full service:Action names without wildcards: {action!r}"
        )


def _resource_account(resource_arn: str, resource_owner: str | None) -> str | None:
    """The account owning the resource: from its ARN, else ``resource_owner``, else the caller's."""
    arn = parse_arn(resource_arn)
    if arn is not None and arn.account:
        return arn.account
    if resource_owner is None:
        return None
    owner = parse_arn(resource_owner)
    return owner.account if owner is not None else resource_owner
