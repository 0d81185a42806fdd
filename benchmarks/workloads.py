"""The benchmark workloads, written once as AWS IAM JSON plus requests and their expected answers.

Every adapter (``benchmarks/peers/*``) translates these same documents into its library's own
terms, so the libraries answer the same questions. The expected decisions follow AWS's
evaluation logic (an explicit Deny wins, then any Allow, else the implicit deny):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html

Only the policy features every peer can be asked about are used: ``Effect``, ``Action`` and
``Resource`` (string or list, ``*`` wildcards), and the condition operators ``StringEquals``,
``IpAddress``, ``DateLessThan`` and ``Bool``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
PRINCIPAL_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
VERSION = "2012-10-17"

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

#: Statement counts of the scaling curve (workload 4).
CURVE_SIZES = (100, 1_000, 10_000, 100_000)
#: Statements per generated policy document in the curve (AWS spreads permissions over many
#: policies too; one document per 100 statements keeps each policy a realistic size).
CURVE_POLICY_SIZE = 100


@dataclass(frozen=True, slots=True)
class BenchRequest:
    """One authorization question and the answer AWS would give.

    ``context`` uses IAM condition key names as AWS spells them (``aws:SourceIp``); values
    are IAM's string forms.
    """

    label: str
    action: str
    resource: str
    expected: str  # ALLOWED | EXPLICIT_DENY | IMPLICIT_DENY
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Workload:
    """Policies of one principal (identity-based only) and the requests asked against them."""

    key: str  # stable id used in JSON output, e.g. "small"
    title: str  # human label for the table
    policies: tuple[dict[str, Any], ...]
    requests: tuple[BenchRequest, ...]
    cached: bool = False  # time a repeated decision through each library's decision cache
    principal_arn: str = PRINCIPAL_ARN

    @property
    def statement_count(self) -> int:
        return sum(len(doc["Statement"]) for doc in self.policies)

    @property
    def has_conditions(self) -> bool:
        return any("Condition" in st for doc in self.policies for st in doc["Statement"])


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


_ORDERS = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"

#: A typical application principal: 3 policies, 10 statements.
SMALL_POLICIES: tuple[dict[str, Any], ...] = (
    _doc(
        _allow(["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]),
        _allow("s3:*Object", "arn:aws:s3:::uploads/alice/*"),
        _allow("s3:Get*", "arn:aws:s3:::public-*/*"),
        _deny("s3:DeleteObject", "*"),
    ),
    _doc(
        _allow(["dynamodb:GetItem", "dynamodb:Query"], _ORDERS),
        _allow("dynamodb:PutItem", _ORDERS),
        _deny("dynamodb:DeleteTable", "*"),
    ),
    _doc(
        _allow("ec2:Describe*", "*"),
        _allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"),
        _deny("s3:*", "arn:aws:s3:::secrets/*"),
    ),
)

SMALL_REQUESTS = (
    BenchRequest("allowed", "s3:GetObject", "arn:aws:s3:::reports/2026/q3.csv", ALLOWED),
    # s3:*Object allows it, the Deny on s3:DeleteObject wins.
    BenchRequest("explicit deny", "s3:DeleteObject", "arn:aws:s3:::uploads/alice/draft.txt", EXPLICIT_DENY),
    BenchRequest("implicit deny", "dynamodb:Scan", _ORDERS, IMPLICIT_DENY),
)

_NOW = "2026-11-29T12:00:00Z"
_GOOD_CONTEXT = {
    "aws:ResourceTag/project": "apollo",
    "aws:SourceIp": "198.51.100.20",
    "aws:CurrentTime": _NOW,
    "aws:SecureTransport": "true",
}

#: Statements with the common condition operators; one key (classification) is never supplied,
#: so its statement must not match (a condition on a missing key is false without IfExists:
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists).
CONDITION_POLICIES: tuple[dict[str, Any], ...] = (
    _doc(
        _allow(
            "s3:GetObject",
            "arn:aws:s3:::reports/*",
            Condition={
                "StringEquals": {"aws:ResourceTag/project": "apollo"},
                "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]},
                "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        ),
        _allow(
            "s3:PutObject", "arn:aws:s3:::uploads/*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
        ),
        _allow(
            "dynamodb:*",
            _ORDERS,
            Condition={
                "StringEquals": {"aws:ResourceTag/project": "apollo"},
                "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
            },
        ),
        _deny(
            "s3:GetObject",
            "arn:aws:s3:::reports/*",
            Condition={"StringEquals": {"aws:ResourceTag/classification": "secret"}},
        ),
        _deny("*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
    ),
)

CONDITION_REQUESTS = (
    BenchRequest(
        "all conditions hold",
        "s3:GetObject",
        "arn:aws:s3:::reports/2026/q3.csv",
        ALLOWED,
        dict(_GOOD_CONTEXT),
    ),
    BenchRequest(
        "IP outside ranges",
        "s3:GetObject",
        "arn:aws:s3:::reports/2026/q3.csv",
        IMPLICIT_DENY,
        {**_GOOD_CONTEXT, "aws:SourceIp": "192.0.2.10"},
    ),
    BenchRequest(
        "insecure transport",
        "s3:GetObject",
        "arn:aws:s3:::reports/2026/q3.csv",
        EXPLICIT_DENY,
        {**_GOOD_CONTEXT, "aws:SecureTransport": "false"},
    ),
)


def curve_statement(i: int) -> dict[str, Any]:
    """Statement ``i`` of the generated curve: distinct actions and resources, a few wildcards
    and denies, none of which matches the curve's request (its action has no ``-`` and its
    service is ``reports``)."""
    service = f"svc{i % 97}"
    if i % 50 == 49:
        return _deny(f"{service}:Delete{i}", "*")
    if i % 10 == 9:
        return _allow(f"{service}:Op{i}-*", f"arn:aws:s3:::bucket-{i}/*/archive/*")
    return _allow([f"{service}:Op{i}", f"{service}:Get{i}"], f"arn:aws:s3:::bucket-{i}/*")


def curve_workload(total: int) -> Workload:
    """``total`` statements in documents of :data:`CURVE_POLICY_SIZE`; the last one matches."""
    statements = [curve_statement(i) for i in range(total - 1)]
    statements.append(_allow("reports:GetReport", "arn:aws:s3:::bucket-reports/*"))
    policies = tuple(
        _doc(*statements[start : start + CURVE_POLICY_SIZE]) for start in range(0, total, CURVE_POLICY_SIZE)
    )
    request = BenchRequest(
        "match one", "reports:GetReport", "arn:aws:s3:::bucket-reports/2026/q3.csv", ALLOWED
    )
    return Workload(f"curve-{total}", f"{total:,} statements", policies, (request,))


def cached_workload() -> Workload:
    return Workload("cached", "cached repeat decision", SMALL_POLICIES, SMALL_REQUESTS[:1], cached=True)


def small_workload() -> Workload:
    return Workload("small", "small principal (3 policies / 10 statements)", SMALL_POLICIES, SMALL_REQUESTS)


def conditions_workload() -> Workload:
    return Workload("conditions", "with conditions", CONDITION_POLICIES, CONDITION_REQUESTS)


def all_workloads(curve_sizes: tuple[int, ...] = CURVE_SIZES) -> list[Workload]:
    return [
        cached_workload(),
        small_workload(),
        conditions_workload(),
        *(curve_workload(n) for n in curve_sizes),
    ]
