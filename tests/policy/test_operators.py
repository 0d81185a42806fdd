"""Condition operators: table-driven cases from tests/data/operators/*.json plus properties.

Every row names the operator as written, the key, the policy values, the request context
(lists become multivalued tuples), the expected result (or "error" when compile_condition must
reject the policy value), and the AWS documentation rule it checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.context import ContextValue, make_context
from iamguard.errors import PolicyValidationError
from iamguard.policy import operators
from iamguard.policy.model import Condition
from iamguard.policy.operator_names import BASE_OPERATORS, NEGATED_OPERATORS, split_operator
from iamguard.policy.operators import CompiledCondition, compile_condition

DATA = Path(__file__).parent.parent / "data" / "operators"


def _condition(operator: str, key: str, values: Any) -> Condition:
    name = split_operator(operator)
    assert name is not None, operator
    vals = (values,) if isinstance(values, str) else tuple(values)
    return Condition(operator, name.base, name.qualifier, name.if_exists, key, vals)


def _context(raw: dict[str, Any]) -> dict[str, ContextValue]:
    """Rows write keys in any case; a request context holds them lower-cased (context.py)."""
    return make_context(raw)


def _rows() -> list[Any]:
    params = []
    for path in sorted(DATA.glob("*.json")):
        for index, case in enumerate(json.loads(path.read_text())["cases"]):
            params.append(pytest.param(case, id=f"{path.stem}[{index}]-{case['operator']}"))
    return params


ROWS = _rows()


def test_table_is_large_and_covers_every_operator() -> None:
    cases = [p.values[0] for p in ROWS]
    assert len(cases) >= 500
    seen = {split_operator(c["operator"]).base for c in cases}  # type: ignore[union-attr]
    assert seen == set(BASE_OPERATORS)
    qualifiers = {split_operator(c["operator"]).qualifier for c in cases}  # type: ignore[union-attr]
    assert qualifiers == {None, "ForAnyValue", "ForAllValues"}


@pytest.mark.parametrize("case", ROWS)
def test_operator_table(case: dict[str, Any]) -> None:
    condition = _condition(case["operator"], case["key"], case["values"])
    variables = case.get("variables", True)
    if case["expected"] == "error":
        with pytest.raises(PolicyValidationError) as info:
            compile_condition(condition, variables=variables)
        assert case["key"] in str(info.value)
        return
    compiled = compile_condition(condition, variables=variables)
    assert compiled(_context(case["context"])) is case["expected"], case["rule"]


# ---------------------------------------------------------------- API details


def test_compiled_condition_exposes_key_and_referenced_keys() -> None:
    compiled: CompiledCondition = compile_condition(
        _condition(
            "StringLike", "S3:Prefix", ["home/${aws:username}/*", "${aws:PrincipalTag/Team, 'x'}", "${*}"]
        ),
        variables=True,
    )
    assert compiled.key == "s3:prefix"
    assert compiled.referenced_keys == frozenset({"s3:prefix", "aws:username", "aws:principaltag/team"})


def test_without_variables_only_the_key_is_referenced() -> None:
    compiled = compile_condition(_condition("StringEquals", "aws:username", "${aws:userid}"), variables=False)
    assert compiled.referenced_keys == frozenset({"aws:username"})


def test_variables_ignored_where_aws_does_not_support_them() -> None:
    # NumericEquals does not support variables: the text is validated (and rejected) as a number.
    with pytest.raises(PolicyValidationError):
        compile_condition(_condition("NumericEquals", "k", "${aws:username}"), variables=True)


def test_validation_error_lists_every_bad_value_location() -> None:
    with pytest.raises(PolicyValidationError) as info:
        compile_condition(
            _condition("DateLessThan", "aws:CurrentTime", ["2020-01-01", "nope"]), variables=False
        )
    assert info.value.location == "Condition.DateLessThan.aws:CurrentTime"
    assert "'nope'" in str(info.value)


# ---------------------------------------------------------------- properties

_text = st.text(alphabet="ab*?:/xX", max_size=6)
_values = st.lists(st.text(alphabet="abcAB", max_size=3), min_size=1, max_size=4)
_ctx_values = st.lists(st.text(alphabet="abcAB", max_size=3), max_size=4)


@given(_values, _ctx_values)
def test_for_any_value_string_equals_is_set_intersection(
    values: list[str], request_values: list[str]
) -> None:
    compiled = compile_condition(_condition("ForAnyValue:StringEquals", "k", values), variables=False)
    assert compiled({"k": tuple(request_values)}) is bool(set(values) & set(request_values))


@given(_values, _ctx_values)
def test_for_all_values_string_equals_is_subset(values: list[str], request_values: list[str]) -> None:
    compiled = compile_condition(_condition("ForAllValues:StringEquals", "k", values), variables=False)
    assert compiled({"k": tuple(request_values)}) is set(request_values).issubset(values)


@given(_values, _ctx_values)
def test_for_any_value_negated_means_some_value_equals_none(
    values: list[str], request_values: list[str]
) -> None:
    """ForAnyValue:StringNotEquals: "at least one request value does not equal any policy value"."""
    compiled = compile_condition(_condition("ForAnyValue:StringNotEquals", "k", values), variables=False)
    assert compiled({"k": tuple(request_values)}) is any(v not in values for v in request_values)


@given(_values, st.text(alphabet="abcAB", max_size=3))
def test_negated_string_operators_are_complements_when_key_present(values: list[str], value: str) -> None:
    for positive, negated in (
        ("StringEquals", "StringNotEquals"),
        ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"),
        ("StringLike", "StringNotLike"),
    ):
        pos = compile_condition(_condition(positive, "k", values), variables=False)
        neg = compile_condition(_condition(negated, "k", values), variables=False)
        assert pos({"k": value}) is not neg({"k": value})


@given(_values, st.text(alphabet="abcAB", max_size=3))
def test_single_value_equals_one_element_set_for_qualifiers(values: list[str], value: str) -> None:
    plain = compile_condition(_condition("StringLike", "k", values), variables=False)({"k": value})
    for qualifier in ("ForAnyValue", "ForAllValues"):
        compiled = compile_condition(_condition(f"{qualifier}:StringLike", "k", values), variables=False)
        assert compiled({"k": value}) is plain
        assert compiled({"k": (value,)}) is plain


_SAMPLE_VALUES = {
    "Numeric": "1",
    "Date": "2020-01-01T00:00:00Z",
    "Bool": "true",
    "BinaryEquals": "AAEC",
    "IpAddress": "10.0.0.0/8",
    "NotIpAddress": "10.0.0.0/8",
    "Arn": "arn:aws:s3:::b*",
    "String": "a*",
    "Null": "true",
}


def _sample_value(base: str) -> str:
    for prefix, value in _SAMPLE_VALUES.items():
        if base.startswith(prefix):
            return value
    raise AssertionError(base)


@given(st.one_of(st.text(max_size=12), st.lists(st.text(max_size=8), max_size=3)))
def test_no_operator_raises_on_any_context_value(raw: Any) -> None:
    value: ContextValue = tuple(raw) if isinstance(raw, list) else raw
    for base in BASE_OPERATORS:
        for prefix in ("", "ForAnyValue:", "ForAllValues:"):
            if base == "Null" and prefix:
                continue
            compiled = compile_condition(_condition(prefix + base, "k", _sample_value(base)), variables=True)
            assert compiled({"k": value}) in (True, False)


@given(st.sampled_from(sorted(BASE_OPERATORS)), st.text(alphabet="abc01.:/-", max_size=10))
def test_if_exists_equals_base_when_key_present(base: str, value: str) -> None:
    if base == "Null":
        return
    sample = _sample_value(base)
    plain = compile_condition(_condition(base, "k", sample), variables=False)
    if_exists = compile_condition(_condition(base + "IfExists", "k", sample), variables=False)
    assert plain({"k": value}) is if_exists({"k": value})
    assert if_exists({}) is True
    assert plain({}) is (base in NEGATED_OPERATORS)


# ---------------------------------------------------------------- fast path = general path
#
# ``operators._FAST_PATHS`` rewrites the single-string case of common plain operators (StringEquals,
# Bool, IpAddress, Numeric*, Date*) as one closure; every decision must stay the one the general
# evaluator gives. Each operator (positive, negated and ``IfExists`` forms) is compiled twice --
# with the fast paths and with them switched off -- and both are asked about generated contexts:
# a missing key, an empty set, one string (readable or not, matching or not, odd casing), one- and
# multi-element tuples. The semantics themselves are pinned row by row by the table above.

#: per family: readable policy values and context strings worth probing (matches, near misses,
#: unreadable text, other casings)
_SAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "String": (
        ["apollo", "Apollo", "", "a*", "gemini"],
        ["apollo", "APOLLO", "Apollo", "", "a*", "gemini", "zeus", " apollo"],
    ),
    "Bool": (["true", "false", "TRUE", "False"], ["true", "false", "True", "FALSE", "yes", "", "1"]),
    "Ip": (
        ["203.0.113.0/24", "198.51.100.20", "10.0.0.0/8", "2001:db8::/32", "::1"],
        [
            "203.0.113.7",
            "198.51.100.20",
            "198.51.100.21",
            "10.1.2.3",
            "2001:db8::5",
            "::1",
            "nope",
            "",
            "300.1.1.1",
        ],
    ),
    "Numeric": (
        ["10", "-3", "2.5", "1e3", "0"],
        ["10", "10.0", "9", "11", "-3", "2.5", "1000", "abc", "", "+10", "1e3"],
    ),
    "Date": (
        ["2030-01-01T00:00:00Z", "2020-06-01", "1700000000", "2026-11-29T12:00:00+02:00"],
        [
            "2026-11-29T12:00:00Z",
            "2030-01-01T00:00:00Z",
            "2020-06-01",
            "1700000000",
            "1800000000",
            "soon",
            "",
        ],
    ),
}

_OPERATORS: dict[str, list[str]] = {
    "String": ["StringEquals", "StringNotEquals"],
    "Bool": ["Bool"],
    "Ip": ["IpAddress", "NotIpAddress"],
    "Numeric": [
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ],
    "Date": [
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    ],
}

_CASES = [
    (family, op + suffix) for family, ops in _OPERATORS.items() for op in ops for suffix in ("", "IfExists")
]

_KEY = "aws:ResourceTag/Project"


@contextmanager
def _without_fast_paths() -> Iterator[None]:
    saved = dict(operators._FAST_PATHS)
    operators._FAST_PATHS.clear()
    try:
        yield
    finally:
        operators._FAST_PATHS.update(saved)


def _compiled_pair(operator: str, values: tuple[str, ...]) -> tuple[Callable[..., bool], Callable[..., bool]]:
    condition = _condition(operator, _KEY, values)
    fast = operators.compile_condition(condition, variables=True)
    with _without_fast_paths():
        general = operators.compile_condition(condition, variables=True)
    return fast, general


def _contexts(strings: list[str]) -> st.SearchStrategy[Mapping[str, ContextValue]]:
    one = st.sampled_from(strings)
    value: st.SearchStrategy[ContextValue] = st.one_of(
        one, st.tuples(one), st.lists(one, min_size=0, max_size=3).map(tuple)
    )
    present = value.map(lambda v: {_KEY.lower(): v, "aws:sourceip": "203.0.113.7"})
    return st.one_of(st.just({"aws:sourceip": "203.0.113.7"}), present)


@pytest.mark.parametrize(("family", "operator"), _CASES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fast_path_agrees_with_general_evaluator(family: str, operator: str, data: st.DataObject) -> None:
    policy_values, context_strings = _SAMPLES[family]
    values = tuple(
        data.draw(st.lists(st.sampled_from(policy_values), min_size=1, max_size=3), label="values")
    )
    fast, general = _compiled_pair(operator, values)
    context = data.draw(_contexts(context_strings), label="context")
    expected = general(context)
    assert fast(context) is expected
    assert fast(context) is expected  # again: IpAddress/Numeric/Date answer from their memo now


def test_remembered_verdicts_stay_right_past_the_memo_bound() -> None:
    """More distinct context strings than the memo holds: it is cleared, never wrong."""
    fast, general = _compiled_pair("NotIpAddress", ("10.0.0.0/8", "192.0.2.0/24"))
    addresses = [f"{a}.0.{b}.1" for a in (10, 192, 198) for b in range(120)]
    assert len(addresses) > operators._REMEMBERED_VERDICTS
    for _ in range(2):
        for address in addresses:
            context = {_KEY.lower(): address}
            assert fast(context) is general(context), address


@pytest.mark.parametrize(("family", "operator"), _CASES)
def test_fast_path_is_in_use(family: str, operator: str) -> None:
    """The plain forms of these operators get their single closure (else this file tests nothing)."""
    values = (_SAMPLES[family][0][0],)
    fast, general = _compiled_pair(operator, values)
    assert fast._evaluate.__qualname__ != general._evaluate.__qualname__  # type: ignore[attr-defined]
    assert fast._evaluate.__module__ == operators.__name__  # type: ignore[attr-defined]
