"""Offline findings for a parsed policy (linting), like IAM Access Analyzer policy validation.

Never on the request path: ``parse_policy`` already refused everything AWS refuses, so what is
left are policies that work but probably not as meant. Issue codes follow Access Analyzer's
where one exists.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from iamguard.policy.model import Condition, Effect, Policy, PolicyKind, Statement
from iamguard.policy.wildcard import compile_wildcard

__all__ = ["Finding", "Severity", "validate_policy"]

Severity = Literal["SECURITY_WARNING", "WARNING", "SUGGESTION"]

#: Global keys AWS documents as single-valued; a set operator on them is a mistake.
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
_SINGLE_VALUED_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceIp", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceArn", "aws:SourceAccount",
        "aws:SourceOrgID", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgID",
        "aws:PrincipalType", "aws:userid", "aws:username", "aws:SecureTransport", "aws:CurrentTime",
        "aws:EpochTime", "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge", "aws:RequestedRegion",
        "aws:ViaAWSService", "aws:TokenIssueTime", "aws:UserAgent", "aws:Referer",
        "aws:ResourceAccount", "aws:ResourceOrgID", "aws:PrincipalIsAWSService",
    )
)  # fmt: skip
#: Global keys AWS documents as multivalued; they need ForAllValues/ForAnyValue.
_MULTI_VALUED_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:TagKeys",
        "aws:CalledVia",
        "aws:PrincipalOrgPaths",
        "aws:ResourceOrgPaths",
        "aws:PrincipalServiceNamesList",
    )
)
_ACCOUNT = re.compile(r"\d{12}")
#: Services whose ARNs carry no region or account (S3 buckets/objects, IAM is global but has an account).
_NO_ACCOUNT_SERVICES = frozenset({"s3"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: how serious, a stable code, where, and what to do about it."""

    severity: Severity
    code: str
    location: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The finding as JSON: severity, code, location and message."""
        return {
            "severity": self.severity,
            "code": self.code,
            "location": self.location,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.severity} {self.code} {self.location}: {self.message}"


def validate_policy(policy: Policy) -> list[Finding]:
    """All findings for ``policy``, in statement order."""
    findings: list[Finding] = []
    for statement in policy.statements:
        loc = _location(statement)
        for check in _STATEMENT_CHECKS:
            findings.extend(check(statement, loc, policy))
    findings.extend(_duplicate_sids(policy))
    findings.extend(_redundant_statements(policy))
    return findings


# ---------------------------------------------------------------- per statement


def _not_elements(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """Allow + NotAction/NotResource grants everything not listed, including future actions.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"""
    if s.effect is not Effect.ALLOW:
        return
    if s.not_action is not None:
        yield Finding("WARNING", "ALLOW_WITH_NOT_ACTION", f"{loc}.NotAction",
                      "Allow with NotAction grants every action not listed, including actions added later; list the allowed actions instead")  # fmt: skip
    if s.not_resource is not None:
        yield Finding("WARNING", "ALLOW_WITH_NOT_RESOURCE", f"{loc}.NotResource",
                      "Allow with NotResource grants access to every resource not listed; list the allowed resources instead")  # fmt: skip


def _full_access(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """``"Action": "*"`` on ``"Resource": "*"`` with no condition is administrator access."""
    if (
        s.effect is Effect.ALLOW
        and s.action is not None
        and "*" in s.action
        and s.resource is not None
        and "*" in s.resource
        and not s.conditions
    ):
        yield Finding("SECURITY_WARNING", "ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES", f"{loc}.Action",
                      "statement allows every action on every resource; grant only the permissions needed")  # fmt: skip


def _public_principal(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """Allow to ``*`` without a condition makes the resource public.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous"""
    if s.effect is not Effect.ALLOW or s.principal is None or s.conditions:
        return
    if s.principal.any_principal or "*" in s.principal.get("AWS"):
        yield Finding("SECURITY_WARNING", "ALLOW_TO_ANY_PRINCIPAL", f"{loc}.Principal",
                      "statement allows anyone (Principal '*') with no Condition; restrict it with a condition such as aws:SourceAccount or aws:PrincipalOrgID")  # fmt: skip


def _not_principal(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """AWS advises against NotPrincipal; with Deny a condition on aws:PrincipalArn says it better.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"""
    if s.not_principal is None:
        return
    if s.effect is Effect.DENY:
        yield Finding("SUGGESTION", "DENY_WITH_NOT_PRINCIPAL", f"{loc}.NotPrincipal",
                      "Deny with NotPrincipal is hard to get right; use Principal '*' with a Condition on aws:PrincipalArn instead")  # fmt: skip
    else:
        yield Finding("WARNING", "ALLOW_WITH_NOT_PRINCIPAL", f"{loc}.NotPrincipal",
                      "Allow with NotPrincipal grants access to every principal not listed, including anonymous users")  # fmt: skip


def _arns(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """ARN shapes AWS accepts but that match nothing (an account id that is not 12 digits)."""
    for element, values in (("Resource", s.resource), ("NotResource", s.not_resource)):
        for i, value in enumerate(values or ()):
            where = f"{loc}.{element}[{i}]" if len(values or ()) > 1 else f"{loc}.{element}"
            message = _arn_problem(value)
            if message is not None:
                yield Finding("WARNING", "MALFORMED_ARN", where, message)


def _arn_problem(value: str) -> str | None:
    parts = value.split(":", 5)
    if len(parts) != 6:
        return None
    _, _, service, _, account, resource = parts
    if account and not _ACCOUNT.fullmatch(account) and not _has_pattern(account):
        return f"account component {account!r} of {value!r} is not a 12-digit account id, so the ARN matches nothing"
    if account and service in _NO_ACCOUNT_SERVICES and not _has_pattern(account):
        return f"{service} ARNs have an empty account component; {value!r} matches nothing"
    if resource == "":
        return f"ARN {value!r} has an empty resource component"
    return None


def _conditions(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """Set operators on single-valued keys and plain operators on multivalued ones.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html"""
    for c in s.conditions:
        where = f"{loc}.Condition.{c.operator}.{c.key}"
        key = c.key.lower()
        if c.qualifier is not None and key in _SINGLE_VALUED_KEYS:
            yield _set_operator_on_single_valued(c, where, s.effect)
        elif c.qualifier is None and key in _MULTI_VALUED_KEYS:
            yield Finding("WARNING", "MISSING_QUALIFIER", where,
                          f"{c.key} can have several values; a plain {c.operator} never matches a request with more than one, use ForAllValues: or ForAnyValue:")  # fmt: skip
        elif c.qualifier == "ForAllValues" and s.effect is Effect.ALLOW and not c.if_exists:
            yield Finding("WARNING", "FORALLVALUES_WITH_ALLOW", where,
                          "ForAllValues is also true when the key is missing or empty; add a Null condition on the key so the Allow needs it")  # fmt: skip


def _set_operator_on_single_valued(c: Condition, where: str, effect: Effect) -> Finding:
    if c.qualifier == "ForAllValues":
        return Finding("SECURITY_WARNING", "FORALLVALUES_WITH_SINGLE_VALUED_KEY", where,
                       f"ForAllValues with the single-valued key {c.key} is also true when the key is missing; remove ForAllValues:")  # fmt: skip
    return Finding("SUGGESTION", "FORANYVALUE_WITH_SINGLE_VALUED_KEY", where,
                   f"{c.key} is single-valued; remove ForAnyValue: (the condition means the same without it)")  # fmt: skip


def _redundant_values(s: Statement, loc: str, policy: Policy) -> Iterator[Finding]:
    """An action or resource already matched by another pattern in the same list."""
    for element, values, ignore_case in (
        ("Action", s.action, True), ("NotAction", s.not_action, True),
        ("Resource", s.resource, False), ("NotResource", s.not_resource, False),
    ):  # fmt: skip
        values = values or ()
        for i, value in enumerate(values):
            for j, other in enumerate(values):
                if i != j and _pattern_covers(other, value, ignore_case) and (value != other or j < i):
                    code = "REDUNDANT_ACTION" if "Action" in element else "REDUNDANT_RESOURCE"
                    yield Finding(
                        "SUGGESTION",
                        code,
                        f"{loc}.{element}[{i}]",
                        f"{value!r} is already matched by {other!r}",
                    )
                    break


_STATEMENT_CHECKS = (
    _not_elements,
    _full_access,
    _public_principal,
    _not_principal,
    _arns,
    _conditions,
    _redundant_values,
)


# ---------------------------------------------------------------- across statements


def _location(s: Statement) -> str:
    return f"Statement[{s.index}]"


def _duplicate_sids(policy: Policy) -> Iterator[Finding]:
    """Identity policies refuse duplicate Sids at parse time; elsewhere it is a warning."""
    seen: set[str] = set()
    for s in policy.statements:
        if s.sid:
            if s.sid in seen and policy.kind is not PolicyKind.IDENTITY:
                yield Finding("WARNING", "DUPLICATE_SID", f"{_location(s)}.Sid",
                              f"Sid {s.sid!r} is used by an earlier statement; Sids should be unique")  # fmt: skip
            seen.add(s.sid)


def _redundant_statements(policy: Policy) -> Iterator[Finding]:
    """A statement whose every request is already matched by an unconditional one of the same
    effect adds nothing; exact duplicates report the later copy."""
    statements = policy.statements
    for later in statements:
        for other in statements:
            if other is later:
                continue
            if _covers(other, later) and (not _covers(later, other) or other.index < later.index):
                kind = "duplicates" if _same_rule(other, later) else "is covered by"
                yield Finding("SUGGESTION", "REDUNDANT_STATEMENT", _location(later),
                              f"statement {kind} Statement[{other.index}], which {other.effect.value.lower()}s everything it does without conditions")  # fmt: skip
                break


def _same_rule(a: Statement, b: Statement) -> bool:
    return (a.effect, a.action, a.not_action, a.resource, a.not_resource, a.principal, a.not_principal, a.conditions) == (
        b.effect, b.action, b.not_action, b.resource, b.not_resource, b.principal, b.not_principal, b.conditions)  # fmt: skip


def _covers(a: Statement, b: Statement) -> bool:
    """Does every request ``b`` matches also match ``a``? Sound, not complete: ``False`` when
    unsure (NotAction/NotResource other than identical, policy variables, principals that differ)."""
    if a.effect is not b.effect or (a.conditions and not _same_rule(a, b)):
        return False
    if (a.principal, a.not_principal) != (b.principal, b.not_principal):
        return False
    return _element_covers(
        a.action, a.not_action, b.action, b.not_action, ignore_case=True
    ) and _element_covers(a.resource, a.not_resource, b.resource, b.not_resource, ignore_case=False)


def _element_covers(
    a_pos: tuple[str, ...] | None, a_neg: tuple[str, ...] | None,
    b_pos: tuple[str, ...] | None, b_neg: tuple[str, ...] | None, *, ignore_case: bool,
) -> bool:  # fmt: skip
    if a_pos is None and a_neg is None:  # element absent (trust policy Resource): matches anything
        return True
    if a_neg is not None:
        return b_neg is not None and set(a_neg) == set(b_neg)
    assert a_pos is not None
    if b_pos is None:
        return "*" in a_pos
    return all(any(_pattern_covers(p, q, ignore_case) for p in a_pos) for q in b_pos)


def _pattern_covers(p: str, q: str, ignore_case: bool) -> bool:
    """Is every string matched by IAM pattern ``q`` matched by ``p``?

    Matching ``q``'s text against ``p`` is sound when a ``*`` in ``q`` can only be consumed by a
    ``*`` in ``p`` (then any expansion fits) -- which fails only if ``p`` has a ``?`` that could
    swallow it, so that case answers ``False``. Policy variables are never compared.
    """
    if p == "*":
        return True
    if "${" in p or "${" in q:
        return p == q
    if "*" in q and "?" in p:
        return p == q
    return compile_wildcard(p, ignore_case=ignore_case)(q)


def _has_pattern(text: str) -> bool:
    return "*" in text or "?" in text or "${" in text
