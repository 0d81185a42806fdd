"""Public access: does a resource policy grant access to anyone, as S3 defines "public"?

S3 calls a bucket (or access point) policy *public* unless each statement that grants access to
everyone (``"Principal": "*"``, ``{"AWS": "*"}``, or an ``Allow`` with ``NotPrincipal``) is
limited to fixed values (no wildcard, no policy variable) of certain condition keys, or to
non-wide CIDR blocks in ``aws:SourceIp``. The keys are :data:`NON_PUBLIC_KEYS` below, each with
the page that names it.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html

So the verdict follows S3's (syntactic) definition, and a FAIL then carries a concrete request
from outside the account (an IAM user of an account no policy names, whose own account allows
everything) that iamguard's evaluator allows through the public statements. When S3's definition
calls a statement public but no outside request gets through it (a Deny covers it), the answer is
UNKNOWN with that reason: S3 would still refuse the policy under BlockPublicPolicy.

The grammar of "fixed" is iamguard's reading of those pages: the condition must hold only for the
listed values, so the operator is a positive string/ARN operator (``StringEquals``,
``StringEqualsIgnoreCase``, ``StringLike``, ``ArnEquals``, ``ArnLike``; ``IpAddress`` for
``aws:SourceIp``), without ``IfExists`` (true when the key is absent) and without
``ForAllValues`` (true for an empty set).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace

from iamguard.analysis._inputs import ALLOW_ALL, PolicyInput, to_policy
from iamguard.analysis._verdict import DEFAULT_BUDGET, run_check
from iamguard.analysis.principals import CALLER_ACCOUNT, OUTSIDE_ACCOUNT, principal_from_arn
from iamguard.analysis.results import AnalysisResult, Verdict
from iamguard.decision import Decision
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Condition, Effect, Policy, PolicyKind, Statement

__all__ = ["NON_PUBLIC_KEYS", "PUBLIC_RESOURCE_TYPES", "check_no_public_access", "public_statements"]

_S3_PUBLIC = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
    "#access-control-block-public-access-policy-status"
)
_S3_API = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html"

#: Condition keys whose fixed values make an everyone-statement non-public (lower-cased key ->
#: where S3 says so). aws:SourceIp counts only with non-wide blocks (see ``_WIDEST_PREFIX``).
NON_PUBLIC_KEYS: Mapping[str, str] = {
    "aws:sourceip": _S3_API,
    "aws:sourcearn": _S3_API,
    "aws:sourcevpc": _S3_API,
    "aws:sourcevpce": _S3_API,
    "aws:sourceowner": _S3_API,
    "aws:sourceaccount": _S3_API,
    "s3:x-amz-server-side-encryption-aws-kms-key-id": _S3_API,
    "aws:userid": _S3_API,  # outside the pattern "AROLEID:*": a fixed value has no wildcard
    "aws:principalarn": _S3_PUBLIC,  # "a fixed AWS principal, user, role, or service principal"
    "aws:principalaccount": _S3_PUBLIC,
    "aws:principalorgid": _S3_PUBLIC,
    "aws:principalorgpaths": _S3_PUBLIC,
    "s3:dataaccesspointarn": _S3_PUBLIC,
    "s3:dataaccesspointaccount": _S3_PUBLIC,
}

#: The widest aws:SourceIp block that still limits access, per IP version (iamguard's reading:
#: a /0../7 IPv4 or /0../31 IPv6 block covers a large part of the internet).
_WIDEST_PREFIX = {4: 8, 6: 32}

_EVALUATOR = Evaluator()

_FIXING_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
)

#: Resource types with S3's definition (Access Analyzer's names).
PUBLIC_RESOURCE_TYPES = ("AWS::S3::Bucket", "AWS::S3::AccessPoint")


def check_no_public_access(
    resource_policy: PolicyInput,
    *,
    resource_type: str = "AWS::S3::Bucket",
    resource_account: str | None = None,
    budget: int = DEFAULT_BUDGET,
) -> AnalysisResult:
    """PASS when no statement of ``resource_policy`` is public by S3's definition; FAIL with an
    outside request its public statements allow; UNKNOWN when S3 calls it public but no outside
    request gets through (see the module docstring)."""
    if resource_type not in PUBLIC_RESOURCE_TYPES:
        raise InvalidParameterError(
            f"resource_type {resource_type!r} is not supported; use one of {', '.join(PUBLIC_RESOURCE_TYPES)}"
        )
    policy = to_policy(resource_policy, "resource-policy", PolicyKind.RESOURCE)
    public = public_statements(policy)
    if not public:
        return AnalysisResult(
            Verdict.PASS,
            None,
            (f"no statement grants access to everyone without a fixed-value condition ({_S3_PUBLIC})",),
        )
    owner = resource_account or CALLER_ACCOUNT
    kept = tuple(s for s in policy.statements if s in public or s.effect is Effect.DENY)
    exposed = replace(policy, statements=kept, name=f"{policy.name or 'resource-policy'} (public statements)")
    # Two callers from outside: an IAM user of another account (whose own account consents to
    # everything, so only this policy decides) and the anonymous caller (no identity policies).
    # The search reads only the public statements and the Denies: whatever they allow, the whole
    # policy allows too (more Allow statements never deny), and the replay checks it again.
    outsider = principal_from_arn(f"arn:aws:iam::{_outside(policy, owner)}:user/outsider")
    result = run_check(
        [(PolicySet(identity=(ALLOW_ALL,), resource=exposed, resource_account=owner),)],
        _allowed,
        budget=budget,
        principals=(outsider,),
        wants=(1,),
    )
    if result.verdict is not Verdict.FAIL:
        result = run_check(
            [(PolicySet(resource=exposed, resource_account=owner),)],
            _allowed,
            budget=budget,
            principals=(principal_from_arn("*"),),
            wants=(1,),
        )
    if result.verdict is Verdict.FAIL and not _replays_on(policy, owner, result):
        return AnalysisResult(
            Verdict.UNKNOWN, None, ("internal error: the public request is denied by the whole policy",)
        )
    where = ", ".join(f"Statement[{s.index}]" + (f" (Sid {s.sid})" if s.sid else "") for s in public)
    if result.verdict is Verdict.FAIL:
        return replace(
            result, reasons=(f"public by S3's definition: {where} ({_S3_PUBLIC})", *result.reasons)
        )
    return AnalysisResult(
        Verdict.UNKNOWN,
        None,
        (
            f"S3 counts {where} as public, but no request from outside the account gets through "
            "it in iamguard's evaluation (an explicit deny or its conditions stop every request)",
            *(result.reasons if result.verdict is Verdict.UNKNOWN else ()),
        ),
        result.requests_tried,
    )


def public_statements(policy: Policy) -> tuple[Statement, ...]:
    """The statements S3's definition calls public (Allow, everyone, no fixed-value limit)."""
    return tuple(
        s
        for s in policy.statements
        if s.effect is Effect.ALLOW and _names_everyone(s) and not any(_limits(c) for c in s.conditions)
    )


def _names_everyone(statement: Statement) -> bool:
    if statement.not_principal is not None:
        return True  # Allow + NotPrincipal grants everyone but the listed
    block = statement.principal
    return block is not None and (block.any_principal or any("*" in values for _, values in block.values))


def _limits(condition: Condition) -> bool:
    """Does this entry limit the statement to fixed values of a key S3 accepts?"""
    key = condition.key.lower()
    if key not in NON_PUBLIC_KEYS or condition.if_exists or condition.qualifier == "ForAllValues":
        return False
    if any(("*" in v or "?" in v or "${" in v) for v in condition.values):
        return False
    if key == "aws:sourceip":
        return condition.base_operator == "IpAddress" and all(_narrow(v) for v in condition.values)
    return condition.base_operator in _FIXING_OPERATORS


def _narrow(block: str) -> bool:
    try:
        network = ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False
    return network.prefixlen >= _WIDEST_PREFIX[network.version]


def _outside(policy: Policy, owner: str) -> str:
    text = repr(policy.to_json())
    account = OUTSIDE_ACCOUNT
    while account in text or account == owner:
        account = f"{int(account) - 1:012d}"
    return account


def _allowed(request: Request, decisions: tuple[Decision, ...]) -> bool:
    return decisions[0].allowed


def _replays_on(policy: Policy, owner: str, result: AnalysisResult) -> bool:
    """Does the whole policy allow the counterexample found on its public statements?"""
    example = result.counterexample
    assert example is not None
    principal = principal_from_arn(example.principal)
    identity = () if example.principal == "*" else (ALLOW_ALL,)
    context = {k.lower(): v for k, v in example.context.items()}
    request = Request(principal, example.action, example.resource, context)
    side = PolicySet(identity=identity, resource=policy, resource_account=owner)
    return _EVALUATOR.evaluate(request, side).allowed
