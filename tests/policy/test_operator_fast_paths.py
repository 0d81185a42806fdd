"""The one-closure fast paths of plain operators agree with the general evaluator.

``operators._FAST_PATHS`` rewrites the single-string case of common plain operators (StringEquals,
Bool, IpAddress, Numeric*, Date*) for speed; every decision must stay the same. Here each
operator (positive, negated and ``IfExists`` forms) is compiled twice -- with the fast paths and
with them switched off -- and both are asked about generated contexts: a missing key, an empty
set, one string (readable or not, matching or not, odd casing), one-element and multi-element
tuples. The semantics themselves are pinned, row by row with their AWS rules, by
``tests/data/operators/`` (test_operators.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.context import ContextValue
from iamguard.policy import operators
from iamguard.policy.model import Condition
from iamguard.policy.operator_names import split_operator

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
        ["203.0.113.7", "198.51.100.20", "198.51.100.21", "10.1.2.3", "2001:db8::5", "::1", "nope", "", "300.1.1.1"],
    ),
    "Numeric": (
        ["10", "-3", "2.5", "1e3", "0"],
        ["10", "10.0", "9", "11", "-3", "2.5", "1000", "abc", "", "+10", "1e3"],
    ),
    "Date": (
        ["2030-01-01T00:00:00Z", "2020-06-01", "1700000000", "2026-11-29T12:00:00+02:00"],
        ["2026-11-29T12:00:00Z", "2030-01-01T00:00:00Z", "2020-06-01", "1700000000", "1800000000", "soon", ""],
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

_CASES = [(family, op + suffix) for family, ops in _OPERATORS.items() for op in ops for suffix in ("", "IfExists")]

_KEY = "aws:ResourceTag/Project"


def _condition(operator: str, values: tuple[str, ...]) -> Condition:
    name = split_operator(operator)
    assert name is not None
    return Condition(operator, name.base, name.qualifier, name.if_exists, _KEY, values)


@contextmanager
def _without_fast_paths() -> Iterator[None]:
    saved = dict(operators._FAST_PATHS)
    operators._FAST_PATHS.clear()
    try:
        yield
    finally:
        operators._FAST_PATHS.update(saved)


def _compiled_pair(operator: str, values: tuple[str, ...]) -> tuple[Callable[..., bool], Callable[..., bool]]:
    condition = _condition(operator, values)
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
    values = tuple(data.draw(st.lists(st.sampled_from(policy_values), min_size=1, max_size=3), label="values"))
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
