"""A deliberately naive reference evaluator for differential tests of the compiled engine.

Written plainly and independently of ``iamguard.evaluate``: no index, no caching, no lazy
compilation; wildcards and policy variables go through regular expressions built here. Only the
per-condition operators are shared (``compile_condition``), because they have their own table of
AWS rules in ``tests/data/operators/``. It answers only the decision kind.

AWS evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from iamguard.context import ContextValue
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Effect, Policy, PrincipalBlock, Statement
from iamguard.policy.operators import compile_condition
from iamguard.principal import Principal, PrincipalType

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]*?)\s*,\s*'((?:[^']|'')*)'\s*$")


def wildcard_regex(pattern: str) -> str:
    """The regex source for an IAM wildcard pattern (``*`` any run, ``?`` one char)."""
    out = []
    for char in pattern:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "".join(out)


def wildcard_matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(wildcard_regex(pattern), value, flags) is not None


def _lookup(context: Mapping[str, ContextValue], key: str) -> str | None:
    value = context.get(key.strip().lower())
    if isinstance(value, tuple):
        return value[0] if len(value) == 1 else None
    return value


def resource_regex(pattern: str, context: Mapping[str, ContextValue], variables: bool) -> str | None:
    """Regex for a Resource value, with variables substituted literally; None if unresolvable."""
    if not variables:
        return wildcard_regex(pattern)
    out = []
    position = 0
    for found in _VARIABLE.finditer(pattern):
        out.append(wildcard_regex(pattern[position : found.start()]))
        position = found.end()
        inside = found.group(1)
        if inside.strip() in ("*", "?", "$"):
            out.append(re.escape(inside.strip()))
            continue
        if "," in inside:
            parsed = _DEFAULT.match(inside)
            if parsed is None:
                return None
            value = _lookup(context, parsed.group(1))
            text = value if value is not None else parsed.group(2).replace("''", "'")
        else:
            if not inside.strip():
                return None
            value = _lookup(context, inside)
            if value is None:
                return None
            text = value
        out.append(re.escape(text))
    out.append(wildcard_regex(pattern[position:]))
    return "".join(out)


def _action_applies(statement: Statement, action: str) -> bool:
    if statement.not_action is not None:
        return not any(wildcard_matches(p, action, ignore_case=True) for p in statement.not_action)
    return any(wildcard_matches(p, action, ignore_case=True) for p in statement.action or ())


def _resource_applies(
    statement: Statement, resource: str, context: Mapping[str, ContextValue], variables: bool
) -> bool:
    patterns = statement.resource if statement.resource is not None else statement.not_resource
    if patterns is None:
        return True
    hit = False
    for pattern in patterns:
        regex = resource_regex(pattern, context, variables)
        if regex is not None and re.fullmatch(regex, resource, re.DOTALL):
            hit = True
    return hit if statement.resource is not None else not hit


def _names(block: PrincipalBlock, principal: Principal) -> str:
    """'direct', 'role', 'any', 'account' or '' for how ``block`` names ``principal``."""
    aws = set(block.get("AWS"))
    root = "arn:aws:iam::" + principal.account + ":root"
    if principal.is_service:
        services = {s.lower() for s in block.get("Service")}
        if principal.arn.lower() in services:
            return "direct"
        return "any" if block.any_principal or "*" in aws else ""
    if principal.arn in aws or principal.arn in set(block.get("Federated")) | set(block.get("CanonicalUser")):
        if principal.role_arn == principal.arn:
            return "role"
        return "direct"
    if block.any_principal or "*" in aws:
        return "any"
    if principal.role_arn and principal.role_arn in aws:
        return "role"
    if principal.account in aws or root in aws:
        return "direct" if principal.type is PrincipalType.ACCOUNT else "account"
    return ""


def _not_principal_exempts(block: PrincipalBlock, principal: Principal) -> bool:
    aws = set(block.get("AWS"))
    if block.any_principal or "*" in aws:
        return True
    if principal.is_service:
        return principal.arn.lower() in {s.lower() for s in block.get("Service")}
    if principal.type is PrincipalType.ACCOUNT:
        return principal.arn in aws or principal.account in aws
    return principal.arn in aws and principal.arn != principal.role_arn


def _statement_applies(
    statement: Statement, policy: Policy, request: Request, context: Mapping[str, ContextValue]
) -> bool:
    if not _action_applies(statement, request.action):
        return False
    if not _resource_applies(statement, request.resource, context, policy.variables_enabled):
        return False
    return all(
        compile_condition(c, variables=policy.variables_enabled)(context) for c in statement.conditions
    )


def reference_evaluate(request: Request, policies: PolicySet) -> str:
    """The decision kind AWS's logic gives, computed the slow, obvious way."""
    context: dict[str, Any] = dict(request.principal.context_keys())
    context.update(request.context)
    principal = request.principal
    explicit_deny = False

    def allows(policy: Policy) -> bool:
        nonlocal explicit_deny
        found = False
        for statement in policy.statements:
            if _statement_applies(statement, policy, request, context):
                if statement.effect is Effect.DENY:
                    explicit_deny = True
                else:
                    found = True
        return found

    identity = [allows(p) for p in policies.identity]
    boundary = allows(policies.boundary) if policies.boundary is not None else True
    session = [allows(p) for p in policies.session] if policies.session is not None else None
    grants = []
    if policies.resource is not None:
        for statement in policies.resource.statements:
            if not _statement_applies(statement, policies.resource, request, context):
                continue
            if statement.principal is not None:
                how = _names(statement.principal, principal)
            elif statement.not_principal is not None:
                if statement.effect is Effect.DENY and policies.boundary is not None:
                    how = "any"
                else:
                    how = "" if _not_principal_exempts(statement.not_principal, principal) else "any"
            else:
                how = ""
            if not how:
                continue
            if statement.effect is Effect.DENY:
                explicit_deny = True
            else:
                grants.append(how)
    if explicit_deny:
        return EXPLICIT_DENY
    # The root user needs no Allow (deny-allow page: "with the exception of the AWS account root
    # user, which has full access"); an anonymous caller has no account to be cross-account from.
    root = principal.type is PrincipalType.ACCOUNT
    identity_side = (root or any(identity)) and boundary and (session is None or any(session))
    cross_account = (
        policies.resource_account is not None
        and policies.resource_account != principal.account
        and principal.type is not PrincipalType.ANONYMOUS
    )
    if cross_account:
        return ALLOWED if identity_side and grants else IMPLICIT_DENY
    if identity_side:
        return ALLOWED
    if "direct" in grants or "any" in grants:
        return ALLOWED
    if "role" in grants and boundary and (session is None or any(session)):
        return ALLOWED
    return IMPLICIT_DENY
