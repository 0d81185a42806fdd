"""Condition operators: one (operator, key, values) entry compiled into a fast predicate.

``compile_condition`` runs once per policy version; everything that can be decided from the
policy alone (numbers, dates, CIDRs, base64, wildcard matchers, the shape of the set logic) is
decided then, and the returned :class:`CompiledCondition` only looks up the key and compares.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

Semantics (each rule is a row in ``tests/data/operators/``):

* Several policy values are OR'ed for positive operators. A negated operator (``StringNotEquals``,
  ``NotIpAddress``...) is true for a context value when it matches *none* of the policy values.
* Missing key: positive operators are false, negated ones true; ``...IfExists`` makes any
  operator true; ``Null`` tests presence ("true" = absent). An empty tuple counts as absent
  ("context keys with empty values", multi-valued examples page).
* ``ForAnyValue:`` is true when at least one context value satisfies the (possibly negated)
  per-value test -- so ``ForAnyValue:StringNotEquals`` means "some request value equals no policy
  value"; false for a missing key unless ``IfExists``. ``ForAllValues:`` is true when every
  context value satisfies it, and true for a missing key. A single-valued context value is a
  one-element set for both.
* A plain (unqualified) operator on a context key with several values never matches, negated
  or not, as the AWS docs require a set operator there and iam-simulate
  (cloud-copilot/iam-simulate ``singleValueMatch``) evaluates it to no-match. A one-element tuple
  is treated as a single value.
* A context value that cannot be read as the operator's type (``"abc"`` for ``NumericEquals``)
  makes the per-value test false for positive *and* negated operators (never raises).
  A policy value that cannot be read makes :func:`compile_condition` raise
  :class:`~iamguard.errors.PolicyValidationError`.
* Policy variables are substituted (``variables=True``) only where AWS supports them: String,
  Bool and ARN operators. A value whose variable cannot be resolved matches nothing. For
  ``StringLike``/``Arn*`` substituted text is matched literally (see ``variables.py``).
* ``DateXxx`` values: W3C ISO 8601 profiles (``YYYY-MM-DD``, ``...Thh:mm[:ss[.s]]`` with ``Z``,
  ``±hh:mm`` or no zone = UTC) or epoch seconds; an all-digit value is epoch seconds (as
  iam-simulate reads it). Values are compared as instants.
* ``IpAddress``: a CIDR or a bare address (/32, /128); IPv4 addresses never match IPv6 ranges.
* ``ArnEquals`` and ``ArnLike`` are the same test (both accept wildcards, per component).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import functools
import ipaddress
import operator as _op
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from iamguard.context import ContextValue
from iamguard.errors import PolicyProblem, PolicyValidationError
from iamguard.policy.arn import compile_arn_pattern
from iamguard.policy.model import Condition
from iamguard.policy.operator_names import NEGATED_OPERATORS
from iamguard.policy.variables import Template, compile_template
from iamguard.policy.wildcard import compile_wildcard

__all__ = ["CompiledCondition", "compile_condition"]

Context = Mapping[str, ContextValue]
#: Per context value: True/False, or None when the value cannot be read as the operator's type
#: (then positive *and* negated operators fail for it).
ValueTest = Callable[[str], bool | None]


class CompiledCondition(Protocol):
    """A compiled condition entry: ``condition(context) -> bool``."""

    key: str  # lower-cased condition key
    referenced_keys: frozenset[str]  # key + keys referenced by ${...} in values (lower-cased)

    def __call__(self, context: Context) -> bool: ...


class _CompiledCondition:
    """The one implementation of :class:`CompiledCondition`; ``condition`` is kept for
    explanations."""

    __slots__ = ("_evaluate", "condition", "key", "referenced_keys")

    def __init__(self, condition: Condition, referenced: frozenset[str], evaluate: Callable[[Context], bool]):
        self.key = condition.key.lower()
        self.referenced_keys = referenced | {self.key}
        self.condition = condition
        self._evaluate = evaluate

    def __call__(self, context: Context) -> bool:
        return self._evaluate(context)

    def __repr__(self) -> str:
        return f"<CompiledCondition {self.condition.operator} {self.condition.key!r}>"


# ---------------------------------------------------------------- value readers
# Each reader turns IAM's string form into a comparable value, or None when it cannot.

# re.ASCII: ``\d`` would otherwise accept any Unicode digit ("١٢٣" read as 123).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_ISO_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?)?)?",
    re.ASCII,
)
_UTC = _dt.timezone.utc

#: Longest number text read. Why: ``int()`` refuses more than 4,300 digits (a ``ValueError``
#: that escaped the parser), and no real quantity needs a thousand; a longer policy value is
#: "not a valid number", a longer context value is unreadable (fails positive and negated tests).
_MAX_NUMBER_CHARS = 1000


def _read_number(text: str) -> int | float | None:
    if len(text) > _MAX_NUMBER_CHARS:
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return None


@functools.lru_cache(maxsize=1024)
def _read_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 (W3C profile) date or an epoch number."""
    if _EPOCH.fullmatch(text):
        return float(text)
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = _UTC if zone is None or zone in ("Z", "z") else _read_zone(zone)
        moment = _dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return moment.timestamp()


def _read_zone(zone: str) -> _dt.timezone:
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return _dt.timezone(_dt.timedelta(minutes=-minutes if zone[0] == "-" else minutes))


def _read_bool(text: str) -> str | None:
    lowered = text.lower()
    return lowered if lowered in ("true", "false") else None


def _read_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=1024)
def _read_ip(text: str) -> tuple[int, int] | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


def _read_network(text: str) -> tuple[int, int, int] | None:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return network.version, int(network.network_address), int(network.netmask)


#: The readers under public names, for the policy analysis (``iamguard.analysis``), which must
#: read a value exactly as the operators do to cut the values of a key into classes.
read_number = _read_number
read_date = _read_date
read_network = _read_network
read_binary = _read_binary


# ---------------------------------------------------------------- per-family compilers
# A family compiles the policy values into a test "does this context string satisfy the
# positive operator for any policy value". ``_Invalid`` marks a policy value it cannot read.


class _Invalid(ValueError):
    pass


def _need(value: Any, text: str, what: str) -> Any:
    if value is None:
        shown = repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text)} characters)"
        raise _Invalid(f"{shown} is not a valid {what}")
    return value


def _any_of(reader: Callable[[str], Any], predicates: Sequence[Callable[[Any], bool]]) -> ValueTest:
    if len(predicates) == 1:
        only = predicates[0]

        def single(text: str) -> bool | None:
            parsed = reader(text)
            return None if parsed is None else only(parsed)

        return single

    def several(text: str) -> bool | None:
        parsed = reader(text)
        if parsed is None:
            return None
        for predicate in predicates:
            if predicate(parsed):
                return True
        return False

    return several


def _string_equals(values: Sequence[str], escaped: bool) -> ValueTest:
    accepted = frozenset(values)
    return accepted.__contains__


def _string_equals_ignore_case(values: Sequence[str], escaped: bool) -> ValueTest:
    accepted = frozenset(v.lower() for v in values)
    return lambda text: text.lower() in accepted


def _string_like(values: Sequence[str], escaped: bool) -> ValueTest:
    matchers = [compile_wildcard(v, escaped=escaped) for v in values]
    if len(matchers) == 1:
        return matchers[0]
    return lambda text: any(m(text) for m in matchers)


def _read_arn(text: str) -> str | None:
    """The text itself when it has the six ARN components, else None (unreadable)."""
    return text if text.startswith("arn:") and text.count(":") >= 5 else None


def _arn_like(values: Sequence[str], escaped: bool) -> ValueTest:
    return _any_of(_read_arn, [compile_arn_pattern(v, escaped=escaped) for v in values])


def _ordered(
    reader: Callable[[str], Any], what: str, compare: Callable[[Any, Any], bool]
) -> Callable[..., ValueTest]:
    """Numeric/Date families: the context value is the left operand (``context < policy``)."""

    def family(values: Sequence[str], escaped: bool) -> ValueTest:
        bounds = [_need(reader(v), v, what) for v in values]
        return _any_of(reader, [_against(compare, b) for b in bounds])

    return family


def _against(compare: Callable[[Any, Any], bool], bound: Any) -> Callable[[Any], bool]:
    return lambda value: compare(value, bound)


def _bool(values: Sequence[str], escaped: bool) -> ValueTest:
    accepted = frozenset(_need(_read_bool(v), v, "boolean (true or false)") for v in values)
    return _any_of(_read_bool, [accepted.__contains__])


def _binary(values: Sequence[str], escaped: bool) -> ValueTest:
    accepted = frozenset(_need(_read_binary(v), v, "base64 value") for v in values)
    return _any_of(_read_binary, [accepted.__contains__])


def _ip_address(values: Sequence[str], escaped: bool) -> ValueTest:
    networks = tuple(_need(_read_network(v), v, "IP address or CIDR block") for v in values)

    def test(text: str) -> bool | None:
        address = _read_ip(text)
        if address is None:
            return None
        version, number = address
        for net_version, net, mask in networks:
            if net_version == version and number & mask == net:
                return True
        return False

    return test


_Family = Callable[[Sequence[str], bool], ValueTest]

#: base operator -> (family compiler, supports policy variables, matches by pattern)
_FAMILIES: dict[str, tuple[_Family, bool, bool]] = {
    "StringEquals": (_string_equals, True, False),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, True, False),
    "StringLike": (_string_like, True, True),
    "NumericEquals": (_ordered(_read_number, "number", _op.eq), False, False),
    "NumericLessThan": (_ordered(_read_number, "number", _op.lt), False, False),
    "NumericLessThanEquals": (_ordered(_read_number, "number", _op.le), False, False),
    "NumericGreaterThan": (_ordered(_read_number, "number", _op.gt), False, False),
    "NumericGreaterThanEquals": (_ordered(_read_number, "number", _op.ge), False, False),
    "DateEquals": (_ordered(_read_date, "date", _op.eq), False, False),
    "DateLessThan": (_ordered(_read_date, "date", _op.lt), False, False),
    "DateLessThanEquals": (_ordered(_read_date, "date", _op.le), False, False),
    "DateGreaterThan": (_ordered(_read_date, "date", _op.gt), False, False),
    "DateGreaterThanEquals": (_ordered(_read_date, "date", _op.ge), False, False),
    "Bool": (_bool, True, False),
    "BinaryEquals": (_binary, False, False),
    "IpAddress": (_ip_address, False, False),
    "ArnLike": (_arn_like, True, True),
}

#: Negated operators and their positive twin; ArnEquals is ArnLike (both take wildcards).
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


# ---------------------------------------------------------------- fast paths (plain operators)
# Why: the general evaluator above costs four or five Python calls per condition (``plain`` →
# value test → reader → comparison); a request usually carries one string per key, so for the
# common operators the whole single-string case is written out in one closure, built once with
# the policy values already read. Anything else (a tuple, an odd value type) goes to the general
# evaluator, so only the single-string path is duplicated -- and it gives exactly
# ``test(raw) is True``, as ``plain`` does (a property test compares the two).
# INVARIANT: the family compiler has already validated ``values`` (readers cannot fail here).

_FastPath = Callable[
    [str, bool, Sequence[str], bool, Callable[[Context], bool]], Callable[[Context], bool] | None
]


def _fast_string_equals(
    key: str, missing: bool, values: Sequence[str], negated: bool, general: Callable[[Context], bool]
) -> Callable[[Context], bool]:
    """``StringEquals``/``StringNotEquals``: ``==`` for one value, else one set lookup."""
    accepted = frozenset(values)
    if len(accepted) == 1 and not negated:
        (only,) = accepted

        def equals_one(context: Context) -> bool:
            raw = context.get(key)
            if raw.__class__ is str:
                return raw == only
            return missing if raw is None else general(context)

        return equals_one

    def equals_any(context: Context) -> bool:
        raw = context.get(key)
        if raw.__class__ is str:
            return (raw in accepted) is not negated
        return missing if raw is None else general(context)

    return equals_any


def _fast_bool(
    key: str, missing: bool, values: Sequence[str], negated: bool, general: Callable[[Context], bool]
) -> Callable[[Context], bool] | None:
    """``Bool``: the lower-cased value is one of the accepted ``"true"``/``"false"``.

    (An unreadable value such as ``"yes"`` is in neither, so it fails, as ``_read_bool`` makes it.)
    """
    if negated:  # no negated Bool operator exists
        return None
    accepted = frozenset(_read_bool(v) for v in values)

    def bool_is(context: Context) -> bool:
        raw = context.get(key)
        if raw.__class__ is str:
            return raw.lower() in accepted
        return missing if raw is None else general(context)

    return bool_is


#: How many context strings each IpAddress/Numeric/Date fast path remembers its verdict for.
_REMEMBERED_VERDICTS = 256


def _remembering(
    key: str, missing: bool, general: Callable[[Context], bool], verdict_for: Callable[[str], bool]
) -> Callable[[Context], bool]:
    """A plain-operator evaluator that remembers its verdict per context string.

    Why: reading an address or a date and comparing it costs several times a dict lookup, and
    the same values recur (a client's ``aws:SourceIp``, ``aws:CurrentTime`` within a second).
    # INVARIANT: ``verdict_for`` is pure (policy values are fixed at compile time), so a
    # remembered verdict is always the one it would compute. Bounded: cleared when full, and
    # dict operations are atomic, so threads may share it.
    """
    verdicts: dict[str, bool] = {}

    def evaluate(context: Context) -> bool:
        raw = context.get(key)
        if raw.__class__ is str:
            verdict = verdicts.get(raw)
            if verdict is None:
                verdict = verdict_for(raw)
                if len(verdicts) >= _REMEMBERED_VERDICTS:
                    verdicts.clear()
                verdicts[raw] = verdict
            return verdict
        return missing if raw is None else general(context)

    return evaluate


def _fast_ip_address(
    key: str, missing: bool, values: Sequence[str], negated: bool, general: Callable[[Context], bool]
) -> Callable[[Context], bool]:
    """``IpAddress``/``NotIpAddress`` against networks read once; unreadable addresses fail both."""
    networks = tuple(_read_network(v) for v in values)

    def verdict_for(text: str) -> bool:
        address = _read_ip(text)
        if address is None:
            return False
        version, number = address
        for net_version, net, mask in networks:  # type: ignore[misc]
            if net_version == version and number & mask == net:
                return not negated
        return negated

    return _remembering(key, missing, general, verdict_for)


def _fast_ordered(reader: Callable[[str], Any], compare: Callable[[Any, Any], bool]) -> _FastPath:
    """Numeric/Date operators against bounds read once (the context value is the left operand)."""

    def build(
        key: str, missing: bool, values: Sequence[str], negated: bool, general: Callable[[Context], bool]
    ) -> Callable[[Context], bool]:
        bounds = tuple(reader(v) for v in values)

        def verdict_for(text: str) -> bool:
            value = reader(text)
            if value is None:
                return False
            for bound in bounds:
                if compare(value, bound):
                    return not negated
            return negated

        return _remembering(key, missing, general, verdict_for)

    return build


#: positive operator -> builder of its plain (unqualified, no policy variables) fast path
_FAST_PATHS: dict[str, _FastPath] = {
    "StringEquals": _fast_string_equals,
    "Bool": _fast_bool,
    "IpAddress": _fast_ip_address,
    "NumericEquals": _fast_ordered(_read_number, _op.eq),
    "NumericLessThan": _fast_ordered(_read_number, _op.lt),
    "NumericLessThanEquals": _fast_ordered(_read_number, _op.le),
    "NumericGreaterThan": _fast_ordered(_read_number, _op.gt),
    "NumericGreaterThanEquals": _fast_ordered(_read_number, _op.ge),
    "DateEquals": _fast_ordered(_read_date, _op.eq),
    "DateLessThan": _fast_ordered(_read_date, _op.lt),
    "DateLessThanEquals": _fast_ordered(_read_date, _op.le),
    "DateGreaterThan": _fast_ordered(_read_date, _op.gt),
    "DateGreaterThanEquals": _fast_ordered(_read_date, _op.ge),
}


def _with_fast_path(
    positive: str,
    key: str,
    missing: bool,
    values: Sequence[str],
    negated: bool,
    general: Callable[[Context], bool],
) -> Callable[[Context], bool]:
    """The one-closure evaluator of a plain operator when there is one, else ``general``."""
    build = _FAST_PATHS.get(positive)
    fast = build(key, missing, values, negated, general) if build is not None else None
    return general if fast is None else fast


# ---------------------------------------------------------------- compile


def compile_condition(condition: Condition, *, variables: bool) -> CompiledCondition:
    """Compile one condition entry; raises ``PolicyValidationError`` for unreadable values."""
    base = condition.base_operator
    location = f"Condition.{condition.operator}.{condition.key}"
    key = condition.key.lower()
    if base == "Null":
        return _CompiledCondition(condition, frozenset(), _compile_null(key, condition.values, location))
    positive = _POSITIVE.get(base, base)
    if positive not in _FAMILIES:
        raise PolicyValidationError(
            PolicyProblem(location, f"unknown condition operator {condition.operator!r}")
        )
    family, takes_variables, pattern = _FAMILIES[positive]
    static_texts, templates, escaped = _split_values(condition.values, variables and takes_variables, pattern)
    try:
        static_test = family(static_texts, escaped) if static_texts or not templates else None
    except _Invalid as error:
        raise PolicyValidationError(PolicyProblem(location, str(error))) from None
    negated = base in NEGATED_OPERATORS
    missing = condition.if_exists or negated
    if not templates:
        assert static_test is not None
        test = _negate(static_test) if negated else static_test
        evaluate = _static_evaluator(key, condition.qualifier, missing, condition.if_exists, test)
        if condition.qualifier is None:
            evaluate = _with_fast_path(positive, key, missing, static_texts, negated, evaluate)
    else:
        test_for = _dynamic_test(family, static_test, templates, escaped, negated)
        evaluate = _dynamic_evaluator(key, condition.qualifier, missing, condition.if_exists, test_for)
    referenced = frozenset().union(*(t.referenced_keys for t in templates))
    return _CompiledCondition(condition, referenced, evaluate)


def _split_values(
    values: Sequence[str], substitute: bool, pattern: bool
) -> tuple[list[str], list[Template], bool]:
    """Policy values that are fixed text, those that depend on the request, and whether the
    fixed texts are escaped patterns (variables.py format)."""
    if not substitute:
        return list(values), [], False
    fixed: list[str] = []
    templates: list[Template] = []
    for value in values:
        template = compile_template(value)
        if template.has_variables:
            templates.append(template)
        else:  # only ${*} ${?} ${$} or nothing: render once
            rendered = template.render({}, escape_wildcards=pattern)
            assert rendered is not None
            fixed.append(rendered)
    return fixed, templates, pattern


def _negate(test: ValueTest) -> ValueTest:
    """Negated operator: true when the value is readable and matches no policy value."""
    return lambda text: test(text) is False


_RECENT_RENDERINGS = 256


def _dynamic_test(
    family: _Family, static_test: ValueTest | None, templates: list[Template], escaped: bool, negated: bool
) -> Callable[[Context], ValueTest]:
    """Per request: render the variable values, compile them (cached) and OR with the fixed ones."""
    # Tests built for recently seen renderings (a few users/tags repeat a lot); bounded, and
    # cleared wholesale when full -- dict operations are atomic, so threads may share it.
    recent: dict[tuple[str, ...], ValueTest] = {}

    def build(texts: tuple[str, ...]) -> ValueTest:
        try:
            dynamic = family(texts, escaped)
        except _Invalid:  # e.g. Bool "${aws:username}" rendering to "alice": matches nothing
            dynamic = family([], escaped)
        combined = dynamic if static_test is None else _either(static_test, dynamic)
        return _negate(combined) if negated else combined

    def test_for(context: Context) -> ValueTest:
        texts = tuple(
            [r for t in templates if (r := t.render(context, escape_wildcards=escaped)) is not None]
        )
        test = recent.get(texts)
        if test is None:
            if len(recent) >= _RECENT_RENDERINGS:
                recent.clear()
            test = recent[texts] = build(texts)
        return test

    return test_for


def _either(first: ValueTest, second: ValueTest) -> ValueTest:
    return lambda text: first(text) or second(text)


# ---------------------------------------------------------------- key and set logic


def _absent(raw: ContextValue | None) -> bool:
    """A missing key, or a key whose value set is empty, counts as absent."""
    return raw is None or raw == ()


def _static_evaluator(
    key: str, qualifier: str | None, missing: bool, if_exists: bool, test: ValueTest
) -> Callable[[Context], bool]:
    if qualifier is None:

        def plain(context: Context) -> bool:
            raw = context.get(key)
            if raw is None:
                return missing
            if isinstance(raw, str):
                return test(raw) is True
            if len(raw) == 1:
                return test(raw[0]) is True
            return missing if not raw else False  # several values need a set operator

        return plain
    if qualifier == "ForAnyValue":

        def for_any_value(context: Context) -> bool:
            raw = context.get(key)
            if isinstance(raw, str):
                return test(raw) is True
            if not raw:
                return if_exists
            return any(test(v) for v in raw)

        return for_any_value

    def for_all_values(context: Context) -> bool:
        raw = context.get(key)
        if isinstance(raw, str):
            return test(raw) is True
        if not raw:
            return True
        return all(test(v) for v in raw)

    return for_all_values


def _dynamic_evaluator(
    key: str, qualifier: str | None, missing: bool, if_exists: bool, test_for: Callable[[Context], ValueTest]
) -> Callable[[Context], bool]:
    if qualifier is None:
        when_absent = missing
    else:
        when_absent = if_exists if qualifier == "ForAnyValue" else True

    def evaluate(context: Context) -> bool:
        raw = context.get(key)
        if _absent(raw):
            return when_absent
        assert raw is not None
        values = (raw,) if isinstance(raw, str) else raw
        test = test_for(context)
        if qualifier is None:
            return test(values[0]) is True if len(values) == 1 else False
        if qualifier == "ForAnyValue":
            return any(test(v) for v in values)
        return all(test(v) for v in values)

    return evaluate


def _compile_null(key: str, values: Sequence[str], location: str) -> Callable[[Context], bool]:
    """``Null``: "true" means the key is absent (or an empty set), "false" that it is present."""
    wanted: set[bool] = set()
    for value in values:
        flag = _read_bool(value)
        if flag is None:
            raise PolicyValidationError(
                PolicyProblem(location, f"{value!r} is not a valid boolean (true or false)")
            )
        wanted.add(flag == "true")
    absent_ok, present_ok = True in wanted, False in wanted

    def evaluate(context: Context) -> bool:
        raw = context.get(key)
        return absent_ok if raw is None or raw == () else present_ok  # _absent(), inlined

    return evaluate
