"""The policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the two GetContextKeys actions.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`, built on
:mod:`iamguard.simulate` (the same loop ``iamguard simulate`` runs) and iamguard's own engine.
The principal actions are authorized on the ``PolicySourceArn`` (a user, group or role), the
custom ones on ``*``. Results have AWS's ``EvaluationResult`` shape: ``EvalActionName``,
``EvalResourceName``, ``EvalDecision``, ``MatchedStatements`` (``SourcePolicyId``,
``SourcePolicyType``), ``MissingContextValues`` and, when a permissions boundary takes part,
``PermissionsBoundaryDecisionDetail``; ``OrganizationsDecisionDetail`` is left out (iamguard has
no organizations). Results are paginated by ``Marker``/``MaxItems`` as AWS paginates them.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForPrincipalPolicy.html
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iamguard.decision import Decision, DecisionKind, MatchedStatement
from iamguard.errors import InvalidInputError, InvalidParameterError, NoSuchEntityError, PolicyError
from iamguard.evaluate.inputs import PolicySet
from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._paging import page
from iamguard.policy.arn import parse_arn
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal
from iamguard.resolve import resolve_policy_set
from iamguard.simulate import DEFAULT_CALLER_ARN, context_from_entries, simulate_policy_set
from iamguard.store.built_in import is_built_in_arn
from iamguard.store.records import PrincipalKind

__all__ = ["context_keys"]

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _anything(call: Call) -> Iterable[Target]:
    return [Target.on("*")]


def _on_source(call: Call) -> Iterable[Target]:
    return [Target.on(call["PolicySourceArn"])]


def _parsed(
    documents: Sequence[str], prefix: str, kind: PolicyKind = PolicyKind.IDENTITY
) -> tuple[Policy, ...]:
    """Policies passed as text, named as AWS names them in results (``PolicyInputList.1``)."""
    try:
        return tuple(
            parse_policy(text, name=f"{prefix}.{i}", kind=kind) for i, text in enumerate(documents, 1)
        )
    except PolicyError as exc:
        raise InvalidInputError(f"{prefix}: {exc}") from None


# ---------------------------------------------------------------------- the principal's policies


def _source_kind(arn: str) -> str:
    parsed = parse_arn(arn)
    kind = parsed.resource.split("/", 1)[0] if parsed is not None else ""
    if parsed is None or parsed.service != "iam" or kind not in ("user", "group", "role"):
        raise InvalidInputError(f"PolicySourceArn must be the ARN of an IAM user, group or role: {arn[:256]}")
    return kind


def _group_policies(call: Call, arn: str) -> tuple[Policy, ...]:
    """A group's own inline and attached policies (a group is never a caller itself)."""
    name = arn.rsplit("/", 1)[-1]
    store = call.store
    try:
        group = store.get_group(name)
    except NoSuchEntityError:
        group = None
    if group is None or group.arn != arn:
        raise NoSuchEntityError(f"No entity found for PolicySourceArn {arn}")
    found = [
        parse_policy(
            store.get_inline_policy(PrincipalKind.GROUP, name, n).document, name=f"group/{name}/inline/{n}"
        )
        for n in store.list_inline_policies(PrincipalKind.GROUP, name)
    ]
    for policy in store.list_attached_policies(PrincipalKind.GROUP, name):
        version = store.get_policy_version(policy.arn, policy.default_version_id)
        found.append(parse_policy(version.document, name=policy.arn))
    return tuple(found)


def _source(call: Call) -> tuple[Principal, PolicySet]:
    """The simulated caller and the policies of ``PolicySourceArn``, as stage 3 resolves them."""
    arn = call["PolicySourceArn"]
    if _source_kind(arn) == "group":
        caller = call.get("CallerArn") or DEFAULT_CALLER_ARN.replace("123456789012", call.account_id)
        return Principal.from_arn(caller), PolicySet(identity=_group_policies(call, arn))
    resolved = call.store.resolve_principal(arn)
    if resolved is None:
        raise NoSuchEntityError(f"No entity found for PolicySourceArn {arn}")
    principal = Principal.from_arn(resolved.arn, tags=dict(resolved.tags), user_id=resolved.unique_id)
    return principal, resolve_policy_set(principal, call.store)


# ---------------------------------------------------------------------- evaluation


def _source_type(match: MatchedStatement) -> str:
    """AWS's ``PolicySourceType`` for a matched statement's policy."""
    name = match.policy_name
    if ":policy/" in name:
        return "aws-managed" if is_built_in_arn(name) else "user-managed"
    if match.policy_role.value == "resource":
        return "resource"
    for kind in ("user", "group", "role"):
        if name.startswith(f"{kind}/"):
            return kind
    return "none"


def _deciding(decision: Decision) -> list[MatchedStatement]:
    """The matched statements that determine the result: the Deny statements of an explicit
    deny (an explicit deny overrides every Allow), the Allow statements of an Allow, none for an
    implicit deny (an Allow a boundary or session policy caps determines nothing)."""
    if decision.kind is DecisionKind.IMPLICIT_DENY:
        return []
    wanted = "Deny" if decision.kind is DecisionKind.EXPLICIT_DENY else "Allow"
    return [m for m in decision.matched if m.effect == wanted]


def _result(decision: Decision, boundary: Decision | None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "EvalActionName": decision.action,
        "EvalResourceName": decision.resource,
        "EvalDecision": decision.kind.value,
        "MatchedStatements": [
            {"SourcePolicyId": m.policy_name, "SourcePolicyType": _source_type(m)}
            for m in _deciding(decision)
        ],
        "MissingContextValues": list(decision.missing_context_keys),
    }
    if boundary is not None:
        value["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": boundary.allowed}
    return value


def _check_addresses(entries: Iterable[Mapping[str, Any]]) -> None:
    """``ip``/``ipList`` context values must be addresses or CIDR blocks (``InvalidInput``)."""
    for entry in entries:
        if str(entry.get("ContextKeyType", "")).lower() not in ("ip", "iplist"):
            continue
        for text in entry.get("ContextKeyValues") or ():
            try:
                ipaddress.ip_network(str(text), strict=False)
            except ValueError:
                raise InvalidInputError(
                    f"ContextEntries: {str(text)[:64]!r} for {entry.get('ContextKeyName')} is not an IP address"
                ) from None


def _simulate(call: Call, principal: Principal, policies: PolicySet) -> Result:
    """Every (action, resource) evaluated, the boundary alone beside it, one page of results."""
    boundaries = _parsed(
        call.get("PermissionsBoundaryPolicyInputList") or (), "PermissionsBoundaryPolicyInputList"
    )
    if len(boundaries) > 1:
        raise InvalidInputError("PermissionsBoundaryPolicyInputList takes at most one policy")
    if boundaries:
        policies = dataclasses.replace(policies, boundary=boundaries[0])
    if call.get("ResourcePolicy") is not None:
        try:
            resource = parse_policy(call["ResourcePolicy"], name="ResourcePolicy", kind=PolicyKind.RESOURCE)
        except PolicyError as exc:
            raise InvalidInputError(f"ResourcePolicy: {exc}") from None
        policies = dataclasses.replace(policies, resource=resource)
    actions, resources = call["ActionNames"], call.get("ResourceArns") or ["*"]
    owner = call.get("ResourceOwner")
    _check_addresses(call.get("ContextEntries") or ())
    try:
        context = context_from_entries(call.get("ContextEntries"))
        decisions = simulate_policy_set(principal, policies, actions, resources, context, owner)
        alone: list[Decision | None] = [None] * len(decisions)
        if policies.boundary is not None:
            only = PolicySet(identity=(policies.boundary,))
            alone = list(simulate_policy_set(principal, only, actions, resources, context))
    except InvalidParameterError as exc:
        raise InvalidInputError(str(exc)) from None
    results = list(enumerate(zip(decisions, alone, strict=True)))
    return page(
        call, results, "EvaluationResults", lambda item: _result(*item[1]), key=lambda item: f"{item[0]:08d}"
    )


@operation("SimulatePrincipalPolicy", targets=_on_source)
def simulate_principal_policy(call: Call) -> Result:
    principal, policies = _source(call)
    extra = _parsed(call.get("PolicyInputList") or (), "PolicyInputList")
    policies = dataclasses.replace(policies, identity=(*policies.identity, *extra))
    if call.get("CallerArn"):
        principal = Principal.from_arn(call["CallerArn"])
    return _simulate(call, principal, policies)


@operation("SimulateCustomPolicy", targets=_anything)
def simulate_custom_policy(call: Call) -> Result:
    identity = _parsed(call["PolicyInputList"], "PolicyInputList")
    caller = call.get("CallerArn") or DEFAULT_CALLER_ARN.replace("123456789012", call.account_id)
    try:
        principal = Principal.from_arn(caller)
    except (InvalidParameterError, ValueError):
        raise InvalidInputError(f"CallerArn is not a principal ARN: {caller[:256]}") from None
    return _simulate(call, principal, PolicySet(identity=identity))


# ---------------------------------------------------------------------- context keys


def context_keys(policies: Iterable[Policy]) -> list[str]:
    """Every condition key and policy variable the policies read, first spelling kept, each once
    (keys are case-insensitive)."""
    seen: dict[str, str] = {}

    def add(key: str) -> None:
        seen.setdefault(key.lower(), key)

    for policy in policies:
        for statement in policy.statements:
            texts = [*(statement.resource or ()), *(statement.not_resource or ())]
            for condition in statement.conditions:
                add(condition.key)
                texts += condition.values
            for text in texts:
                for variable in _VARIABLE.findall(text):
                    name = variable.split(",", 1)[0].strip()
                    if ":" in name and name not in ("*", "?", "$"):
                        add(name)
    return list(seen.values())


@operation("GetContextKeysForCustomPolicy", targets=_anything)
def get_context_keys_for_custom_policy(call: Call) -> Result:
    return {"ContextKeyNames": context_keys(_parsed(call["PolicyInputList"], "PolicyInputList"))}


@operation("GetContextKeysForPrincipalPolicy", targets=_on_source)
def get_context_keys_for_principal_policy(call: Call) -> Result:
    _, policies = _source(call)
    extra = _parsed(call.get("PolicyInputList") or (), "PolicyInputList")
    found = [*policies.identity, *extra]
    if policies.boundary is not None:
        found.append(policies.boundary)
    return {"ContextKeyNames": context_keys(found)}
