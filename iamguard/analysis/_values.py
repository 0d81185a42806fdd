"""Witness values for one condition key: a value from every region its conditions cut out.

For the condition entries that test one key, the values a request can carry fall into finitely
many classes that every entry treats alike; this module lists one value per class (plus a second
one where a class has several, for multi-valued requests). The operator families:

* **Strings** (``String*``, ``Arn*``, ``Bool``): every policy value becomes a pattern
  (exact, case-insensitive, wildcard, ARN component-wise; ``Bool`` is a case-insensitive
  ``true``/``false``; "can the ARN operators read it" is a pattern too) and
  :func:`~iamguard.analysis._regions.region_witnesses` gives one string per signature. Complete
  by the argument in ``_regions``.
* **Numbers and dates**: a context value's class is its reading (None when unreadable) compared
  with the sorted bounds ``b1 < ... < bk``; the classes are ``(-inf, b1)``, ``{b1}``,
  ``(b1, b2)``, ..., ``{bk}``, ``(bk, inf)`` and *unreadable*. One value each: every bound, a
  point strictly inside every open interval (checked by reading it back), ``b1 - 1``,
  ``bk + 1`` and ``"x"``. Complete because ``<, <=, =, >=, >`` against the bounds are constant
  on each class.
* **IP addresses**: per IP version, every CIDR block is an interval of addresses; membership is
  constant between consecutive boundaries (each block's first address and the one after its
  last), so the lowest address of each elementary interval, per version, plus an unreadable
  value, covers every class.
* **Binary**: ``BinaryEquals`` compares decoded bytes: each policy value, one valid base64 text
  decoding to other bytes, and an unreadable text.
* **Null** reads only presence.

A key tested by families of different kinds (``StringLike`` and ``NumericLessThan`` on one key)
gets the union of both lists, which is not proven complete: the answer says so. So does a value
holding a policy variable (its classes depend on another key).
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from iamguard.analysis._regions import (
    READABLE_ARN,
    Pattern,
    arn_tokens,
    glob_tokens,
    literal_tokens,
    region_witnesses,
)
from iamguard.policy.model import Condition
from iamguard.policy.operators import read_binary, read_date, read_network, read_number
from iamguard.policy.variables import compile_template

__all__ = ["KeyValues", "key_values"]

_STRINGS = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnLike", "Bool"}
_NUMBERS = {
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
}
_DATES = {"DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"}
_POSITIVE = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnEquals": "ArnLike",
    "ArnNotEquals": "ArnLike",
    "ArnNotLike": "ArnLike",
}
_VARIABLE_FAMILIES = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnLike", "Bool"}


@dataclass(frozen=True, slots=True)
class KeyValues:
    """Single values to try for one key (absence is always tried besides); ``complete`` is
    False with the reasons when the list is not proven to cover every class."""

    values: tuple[str, ...]
    complete: bool
    reasons: tuple[str, ...] = ()


def family_of(condition: Condition) -> str:
    """The positive operator family name (``Null`` stays ``Null``)."""
    return _POSITIVE.get(condition.base_operator, condition.base_operator)


def key_values(conditions: Sequence[Condition], variables: bool, *, limit: int = 20_000) -> KeyValues:
    """Witness values for the conditions (all on one key; ``variables``: 2012-10-17 policy)."""
    kinds: dict[str, list[Condition]] = {}
    for condition in conditions:
        family = family_of(condition)
        kind = (
            "string"
            if family in _STRINGS
            else "number"
            if family in _NUMBERS
            else "date"
            if family in _DATES
            else "ip"
            if family == "IpAddress"
            else "binary"
            if family == "BinaryEquals"
            else "null"
        )
        kinds.setdefault(kind, []).append(condition)
    kinds.pop("null", None)
    reasons: list[str] = []
    if len(kinds) > 1:
        key = conditions[0].key
        reasons.append(
            f"condition key {key} is tested by operators of different types ({', '.join(sorted(kinds))})"
        )
    values: list[str] = []
    complete = not reasons
    for kind, group in kinds.items():
        found, ok, why = _BUILDERS[kind](group, variables, limit)
        values.extend(v for v in found if v not in values)
        complete = complete and ok
        reasons.extend(why)
    if not kinds:
        values.append("x")
    return KeyValues(tuple(values), complete, tuple(reasons))


def _string_values(group: list[Condition], variables: bool, limit: int) -> tuple[list[str], bool, list[str]]:
    patterns: list[Pattern] = []
    reasons: list[str] = []
    literals: list[str] = []
    for condition in group:
        family = family_of(condition)
        for raw in condition.values:
            text, escaped = raw, False
            if variables and family in _VARIABLE_FAMILIES and "${" in raw:
                template = compile_template(raw)
                if template.has_variables:
                    reasons.append(
                        f"{condition.operator} {condition.key} value {raw!r} holds a policy variable"
                    )
                    continue
                rendered = template.render({}, escape_wildcards=family in ("StringLike", "ArnLike"))
                assert rendered is not None
                text, escaped = rendered, family in ("StringLike", "ArnLike")
            literals.append(text)
            if family == "StringEqualsIgnoreCase" and any(len(c.lower()) != 1 or c == "\u0307" for c in text):
                # "\u0130".lower() is two characters: lower-casing changes the length, and the
                # per-position classes below would no longer describe the comparison.
                reasons.append(
                    f"{condition.operator} {condition.key} value {raw!r} changes length when lower-cased"
                )
            pattern = _pattern(family, text, escaped)
            if pattern is not None:
                patterns.append(pattern)
        if family == "ArnLike":
            patterns.append(READABLE_ARN)
        if family == "Bool":
            patterns.extend(
                (literal_tokens("true", ignore_case=True), literal_tokens("false", ignore_case=True))
            )
    regions = region_witnesses(patterns, limit=limit)
    values = [v for texts in regions.witnesses.values() for v in texts]
    if not regions.complete:
        reasons.append(f"condition key {group[0].key}: too many string regions (over {limit})")
    return values, regions.complete and not reasons, reasons


def _pattern(family: str, text: str, escaped: bool) -> Pattern | None:
    if family == "StringLike":
        return glob_tokens(text, escaped=escaped)
    if family == "ArnLike":
        return arn_tokens(text, escaped=escaped)
    if family in ("StringEqualsIgnoreCase", "Bool"):
        return literal_tokens(text, ignore_case=True)
    return literal_tokens(text)


def _ordered_values(
    reader: Callable[[str], Any], render: Callable[[Fraction], str]
) -> Callable[[list[Condition], bool, int], tuple[list[str], bool, list[str]]]:
    def build(group: list[Condition], variables: bool, limit: int) -> tuple[list[str], bool, list[str]]:
        try:
            bounds = sorted({Fraction(reader(v)) for c in group for v in c.values if reader(v) is not None})
        except (OverflowError, ValueError):  # a bound such as 1e999 reads as infinity
            return ["x"], False, [f"condition key {group[0].key}: a bound is not a finite number"]
        if not bounds:
            return ["x"], True, []
        points: list[Fraction] = [bounds[0] - 1, bounds[-1] + 1]
        for bound in bounds:
            points.append(bound)
        for low, high in itertools.pairwise(bounds):
            points.extend((low + (high - low) / 3, low + 2 * (high - low) / 3))
        values, reasons = ["x"], []
        for point in points:
            text = render(point)
            value = reader(text)
            if value is None or (Fraction(value) != point and not _same_gap(Fraction(value), point, bounds)):
                reasons.append(f"cannot write a value between the bounds near {float(point)!r} exactly")
                continue
            values.append(text)
        return values, not reasons, reasons

    return build


def _same_gap(value: Fraction, point: Fraction, bounds: list[Fraction]) -> bool:
    """Does ``value`` fall in the same open gap between bounds as ``point``?"""
    if point in bounds or value in bounds:
        return False
    return sum(b < value for b in bounds) == sum(b < point for b in bounds)


def _render_number(point: Fraction) -> str:
    if point.denominator == 1:
        return str(point.numerator)
    return repr(float(point))


def _render_date(point: Fraction) -> str:
    if point.denominator == 1:
        return str(point.numerator)  # epoch seconds: read_date reads an all-digit value so
    return f"{float(point):.6f}"


def _ip_values(group: list[Condition], variables: bool, limit: int) -> tuple[list[str], bool, list[str]]:
    starts: dict[int, set[int]] = {4: {0}, 6: {0}}
    top = {4: 2**32 - 1, 6: 2**128 - 1}
    for condition in group:
        for raw in condition.values:
            network = read_network(raw)
            if network is None:
                continue
            version, address, mask = network
            size = (top[version] & ~mask) + 1
            starts[version].add(address)
            if address + size <= top[version]:
                starts[version].add(address + size)
    values = ["x"]
    for version, points in starts.items():
        for point in sorted(points):
            values.append(str(ipaddress.ip_address(point) if version == 4 else ipaddress.IPv6Address(point)))
            if point + 1 not in points and point < top[version]:
                following = point + 1
                values.append(
                    str(
                        ipaddress.IPv4Address(following) if version == 4 else ipaddress.IPv6Address(following)
                    )
                )
    return values, True, []


def _binary_values(group: list[Condition], variables: bool, limit: int) -> tuple[list[str], bool, list[str]]:
    seen = {read_binary(v) for c in group for v in c.values}
    values = [v for c in group for v in c.values] + ["!"]
    filler = 0
    while True:
        candidate = base64.b64encode(filler.to_bytes(4, "big")).decode("ascii")
        if read_binary(candidate) not in seen:
            values.append(candidate)
            break
        filler += 1
    return values, True, []


_BUILDERS: dict[str, Callable[[list[Condition], bool, int], tuple[list[str], bool, list[str]]]] = {
    "string": _string_values,
    "number": _ordered_values(read_number, _render_number),
    "date": _ordered_values(read_date, _render_date),
    "ip": _ip_values,
    "binary": _binary_values,
}
