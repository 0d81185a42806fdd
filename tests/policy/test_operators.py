"""Condition operators: table-driven cases from tests/data/operators/*.json plus properties.

Every row names the operator as written, the key, the policy values, the request context
(lists become multivalued tuples), the expected result (or "error" when compile_condition must
reject the policy value), and the AWS documentation rule it checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard.context import ContextValue, make_context
from iamguard.errors import PolicyValidationError
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
        _condition("StringLike", "S3:Prefix", ["home/${aws:username}/*", "${aws:PrincipalTag/Team, 'x'}", "${*}"]),
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
        compile_condition(_condition("DateLessThan", "aws:CurrentTime", ["2020-01-01", "nope"]), variables=False)
    assert info.value.location == "Condition.DateLessThan.aws:CurrentTime"
    assert "'nope'" in str(info.value)


# ---------------------------------------------------------------- properties

_text = st.text(alphabet="ab*?:/xX", max_size=6)
_values = st.lists(st.text(alphabet="abcAB", max_size=3), min_size=1, max_size=4)
_ctx_values = st.lists(st.text(alphabet="abcAB", max_size=3), max_size=4)


@given(_values, _ctx_values)
def test_for_any_value_string_equals_is_set_intersection(values: list[str], request_values: list[str]) -> None:
    compiled = compile_condition(_condition("ForAnyValue:StringEquals", "k", values), variables=False)
    assert compiled({"k": tuple(request_values)}) is bool(set(values) & set(request_values))


@given(_values, _ctx_values)
def test_for_all_values_string_equals_is_subset(values: list[str], request_values: list[str]) -> None:
    compiled = compile_condition(_condition("ForAllValues:StringEquals", "k", values), variables=False)
    assert compiled({"k": tuple(request_values)}) is set(request_values).issubset(values)


@given(_values, _ctx_values)
def test_for_any_value_negated_means_some_value_equals_none(values: list[str], request_values: list[str]) -> None:
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
