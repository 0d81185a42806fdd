"""Condition operator names: the closed set IAM accepts, and how a written name splits.

A written operator is ``[ForAllValues:|ForAnyValue:]BaseName[IfExists]``. Splitting lives here,
apart from the operator implementations, so the parser can validate names without importing
matching code.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

from typing import NamedTuple

STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
)
NUMERIC_OPERATORS = (
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
)
DATE_OPERATORS = (
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
)
ARN_OPERATORS = ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")
OTHER_OPERATORS = ("Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "Null")

BASE_OPERATORS: tuple[str, ...] = (
    STRING_OPERATORS + NUMERIC_OPERATORS + DATE_OPERATORS + ARN_OPERATORS + OTHER_OPERATORS
)

#: Operators that are true when the key is missing (they negate a positive test).
NEGATED_OPERATORS = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "NumericNotEquals",
        "DateNotEquals",
        "ArnNotEquals",
        "ArnNotLike",
        "NotIpAddress",
    }
)

QUALIFIERS = ("ForAllValues", "ForAnyValue")

_BY_LOWER = {name.lower(): name for name in BASE_OPERATORS}
_QUALIFIER_BY_LOWER = {q.lower(): q for q in QUALIFIERS}


class OperatorName(NamedTuple):
    base: str  # canonical spelling, e.g. "StringLike"
    qualifier: str | None  # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool


def split_operator(written: str) -> OperatorName | None:
    """Split a written operator name; ``None`` if IAM would not accept it.

    Names are matched case-insensitively, as IAM does. ``Null`` takes no ``IfExists``
    suffix (the combination is meaningless and IAM rejects it).
    """
    qualifier: str | None = None
    rest = written
    if ":" in written:
        prefix, rest = written.split(":", 1)
        qualifier = _QUALIFIER_BY_LOWER.get(prefix.lower())
        if qualifier is None:
            return None
    lowered = rest.lower()
    if_exists = lowered.endswith("ifexists") and lowered not in _BY_LOWER
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    base = _BY_LOWER.get(lowered)
    if base is None or (base == "Null" and (if_exists or qualifier)):
        return None
    return OperatorName(base, qualifier, if_exists)
