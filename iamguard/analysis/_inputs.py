"""Turning a check's inputs (JSON text, mappings, ``Policy`` values, ``PolicySet``s) into the
policy sets the search compares, one per "world" the question must hold in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from iamguard.analysis.principals import CALLER_ACCOUNT
from iamguard.errors import InvalidParameterError, PolicyError, PolicyProblem
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Effect, Policy, PolicyKind, Statement
from iamguard.policy.parse import parse_policy

__all__ = ["ALLOW_ALL", "PolicyInput", "PolicyType", "SideInput", "Sides", "to_policy", "worlds"]

PolicyInput = str | bytes | Mapping[str, Any] | Policy
SideInput = PolicyInput | Sequence[PolicyInput] | PolicySet
PolicyType = Literal["identity", "resource"]
#: One side per input, in the check's order, for one world.
Sides = tuple[PolicySet, ...]

#: The outside caller's own identity policy in the "its account consents" world.
ALLOW_ALL = Policy(
    statements=(Statement(index=0, effect=Effect.ALLOW, action=("*",), resource=("*",)),),
    version="2012-10-17",
    name="caller-account-allows-everything",
    kind=PolicyKind.IDENTITY,
)


def to_policy(document: PolicyInput, name: str, kind: PolicyKind = PolicyKind.ANY) -> Policy:
    """A parsed policy (``PolicyValidationError`` naming ``name`` when the document is invalid)."""
    if isinstance(document, Policy):
        return document
    try:
        return parse_policy(document, name=name, kind=kind)
    except PolicyError as error:
        # The same error class, each problem located in the check's argument ("new: Statement[0]").
        problems = [
            PolicyProblem(f"{name}: {p.location}" if p.location else name, p.message) for p in error.problems
        ]
        raise type(error)(problems, code=error.code) from None


def _is_single(value: object) -> bool:
    return isinstance(value, (str, bytes, Mapping, Policy))


def _is_resource_policy(policy: Policy) -> bool:
    return any(s.principal is not None or s.not_principal is not None for s in policy.statements)


def worlds(
    inputs: Sequence[tuple[str, SideInput]],
    *,
    policy_type: PolicyType | None,
    boundary: PolicyInput | None,
    session_policies: Sequence[PolicyInput] | None,
    resource_policy: PolicyInput | None,
    resource_account: str | None,
) -> list[Sides]:
    """The sides to compare, per world.

    Identity-side inputs (a policy or a list of them) become ``PolicySet(identity=...)`` with the
    shared ``boundary``/``session_policies``/``resource_policy``: one world. Resource policies
    (``policy_type="resource"``, or any statement with a Principal) are compared in two worlds,
    as the caller's own identity policies are unknown: the caller's account grants nothing, and
    it grants everything (what a cross-account caller needs besides the resource policy). A
    ``PolicySet`` input is taken as it is.
    """
    parsed: list[PolicySet | list[Policy]] = []
    resource_side = policy_type == "resource"
    for label, side in inputs:
        if isinstance(side, PolicySet):
            parsed.append(side)
            continue
        documents: list[PolicyInput] = [side] if _is_single(side) else list(side)  # type: ignore[list-item,arg-type]
        kind = (
            PolicyKind.RESOURCE
            if policy_type == "resource"
            else (PolicyKind.IDENTITY if policy_type == "identity" else PolicyKind.ANY)
        )
        policies = [
            to_policy(d, f"{label}.{i}" if len(documents) > 1 else label, kind)
            for i, d in enumerate(documents, 1)
        ]
        if policy_type is None and any(_is_resource_policy(p) for p in policies):
            resource_side = True
        parsed.append(policies)
    if resource_side:
        return _resource_worlds(parsed, resource_account)
    shared = PolicySet(
        boundary=to_policy(boundary, "boundary", PolicyKind.IDENTITY) if boundary is not None else None,
        session=tuple(
            to_policy(p, f"session.{i}", PolicyKind.IDENTITY) for i, p in enumerate(session_policies, 1)
        )
        if session_policies is not None
        else None,
        resource=to_policy(resource_policy, "resource-policy", PolicyKind.RESOURCE)
        if resource_policy is not None
        else None,
        resource_account=resource_account,
    )
    return [tuple(s if isinstance(s, PolicySet) else replace(shared, identity=tuple(s)) for s in parsed)]


def _resource_worlds(parsed: list[PolicySet | list[Policy]], resource_account: str | None) -> list[Sides]:
    owner = resource_account or CALLER_ACCOUNT
    out: list[Sides] = []
    for identity in ((), (ALLOW_ALL,)):
        sides: list[PolicySet] = []
        for side in parsed:
            if isinstance(side, PolicySet):
                sides.append(side)
                continue
            if len(side) != 1:
                raise InvalidParameterError("a resource-based policy side takes exactly one policy")
            sides.append(PolicySet(identity=identity, resource=side[0], resource_account=owner))
        out.append(tuple(sides))
    return out
