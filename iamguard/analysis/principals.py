"""The callers a check tries: one principal per class the policies can tell apart.

Identity-based policies never name the caller; they see it only through context keys
(``aws:PrincipalArn``, ``aws:username``, tags...), which the search sets freely. Two principals
are enough there: an IAM user (carries ``aws:username``) and a role session (does not, and
carries ``aws:MultiFactorAuthPresent``), so every key can also be absent. The account root user
is left out: it needs no Allow in its own account, and identity policies are never attached to
it.

A resource-based policy names principals in ``Principal``/``NotPrincipal``; the engine compares
the caller's ARN, its role's ARN, its account and its type with the listed values exactly
(``evaluate/principal_match.py``), and compares the caller's account with the resource's. So
the classes are: each named ARN (a named role also through a session of it), and for each
named account, the resource's account, the caller account and one account nobody names, its
root user, an IAM user and a role session; plus the anonymous caller and each named service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from iamguard.errors import InvalidParameterError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Policy
from iamguard.principal import Principal, PrincipalType

__all__ = [
    "ANONYMOUS_ARN",
    "CALLER_ACCOUNT",
    "OUTSIDE_ACCOUNT",
    "identity_principals",
    "principal_from_arn",
    "resource_principals",
]

#: The account of the simulated caller (the IAM docs' example account, as ``iamguard.simulate``).
CALLER_ACCOUNT = "123456789012"
#: An account no policy names, for callers from outside.
OUTSIDE_ACCOUNT = "999999999999"
#: How a counterexample writes the anonymous (unsigned) caller.
ANONYMOUS_ARN = "*"


def principal_from_arn(arn: str) -> Principal:
    """The principal a counterexample names: an IAM ARN, ``*`` (anonymous) or a service name."""
    if arn == ANONYMOUS_ARN:
        return Principal(arn="*", account="", type=PrincipalType.ANONYMOUS)
    if not arn.startswith("arn:"):
        return Principal(arn=arn, account="", type=PrincipalType.USER, is_service=True)
    return Principal.from_arn(arn)


def identity_principals(account: str = CALLER_ACCOUNT) -> tuple[Principal, ...]:
    """An IAM user and a role session in ``account`` (see the module docstring)."""
    return (
        Principal.from_arn(f"arn:aws:iam::{account}:user/simulated"),
        Principal.from_arn(f"arn:aws:sts::{account}:assumed-role/simulated-role/simulated-session"),
    )


def resource_principals(
    sides: Sequence[PolicySet], *, caller_account: str = CALLER_ACCOUNT, callers_only: bool = False
) -> tuple[tuple[Principal, ...], tuple[str, ...]]:
    """The candidate callers for sides with resource policies, and reasons the list may be partial.

    ``callers_only``: the sides hold the caller's own identity policies, so only principals of
    the caller's account that can hold them are tried (users and role sessions: not the root
    user, not anonymous callers), the named ones among them included.
    """
    if callers_only:
        found, partial = resource_principals(sides, caller_account=caller_account)
        kept = tuple(
            p
            for p in found
            if p.account == caller_account and p.type not in (PrincipalType.ACCOUNT, PrincipalType.ANONYMOUS)
        )
        return kept, partial
    arns: dict[str, None] = {}
    accounts: dict[str, None] = {caller_account: None}
    services: dict[str, None] = {}
    reasons: list[str] = []
    for side in sides:
        if side.resource_account:
            accounts[side.resource_account] = None
        if side.resource is not None:
            _collect(side.resource, arns, accounts, services, reasons)
    outside = next(a for a in _outside_accounts() if a not in accounts)
    accounts[outside] = None
    candidates: dict[str, Principal] = {}
    for account in accounts:
        for principal in (
            Principal.from_arn(f"arn:aws:iam::{account}:root"),
            *identity_principals(account),
        ):
            candidates.setdefault(principal.arn, principal)
    for arn in arns:
        for principal in _named(arn):
            candidates.setdefault(principal.arn, principal)
    for service in services:
        candidates.setdefault(service, principal_from_arn(service))
    candidates.setdefault(ANONYMOUS_ARN, principal_from_arn(ANONYMOUS_ARN))
    return tuple(candidates.values()), tuple(reasons)


def _outside_accounts() -> Iterable[str]:
    yield OUTSIDE_ACCOUNT
    for n in range(1, 1000):
        yield f"{999999999999 - n:012d}"


def _collect(
    policy: Policy,
    arns: dict[str, None],
    accounts: dict[str, None],
    services: dict[str, None],
    reasons: list[str],
) -> None:
    for statement in policy.statements:
        for block in (statement.principal, statement.not_principal):
            if block is None:
                continue
            for kind, values in block.values:
                for value in values:
                    if value == "*":
                        continue
                    if kind == "Service":
                        services[value.lower()] = None
                    elif kind == "AWS" and value.isdigit() and len(value) == 12:
                        accounts[value] = None
                    elif kind == "AWS":
                        arns[value] = None
                        parts = value.split(":")
                        if len(parts) >= 5 and parts[4]:
                            accounts[parts[4]] = None
                    else:
                        reasons.append(f"{kind} principals ({value}) are not enumerated")


def _named(arn: str) -> list[Principal]:
    """The principal an ARN names, and for a role a session of it."""
    try:
        principal = Principal.from_arn(arn)
    except InvalidParameterError:
        return []
    out = [principal]
    parts = arn.split(":", 5)
    if parts[2] == "iam" and parts[5].startswith("role/"):
        name = parts[5].rsplit("/", 1)[-1]
        out.append(
            Principal.from_arn(f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/simulated-session")
        )
    return out
