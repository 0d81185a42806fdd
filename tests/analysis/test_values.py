"""The completeness claim of ``analysis/_values.py``: for random conditions on one key, every
probe value is answered by the compiled conditions exactly as some witness value is.

Probes come from a wide pool per family (the policy's own bounds and their neighbours, random
numbers, dates in both notations, addresses in and around the blocks, strings built from the
patterns' characters, unreadable text), so a class the witnesses missed would show up as a probe
whose answers no witness gives.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.analysis._values import key_values
from iamguard.policy.model import Condition
from iamguard.policy.operators import compile_condition

KEY = "k"
QUALIFIERS = [None, "ForAnyValue", "ForAllValues"]


def _condition(operator: str, values: list[str], qualifier: str | None, if_exists: bool) -> Condition:
    written = (f"{qualifier}:" if qualifier else "") + operator + ("IfExists" if if_exists else "")
    return Condition(written, operator, qualifier, if_exists, KEY, tuple(values))


numbers = st.integers(-5, 5).map(str) | st.sampled_from(["0.5", "-1.25", "3.0"])
dates = st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01", "1704067200", "2024-06-01T12:00:00+02:00"])
cidrs = st.sampled_from(["10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "::1", "2001:db8::/32", "0.0.0.0/1"])
strings = st.text("ab*?", min_size=0, max_size=3)

family = st.one_of(
    st.tuples(
        st.sampled_from(["NumericEquals", "NumericLessThan", "NumericGreaterThanEquals", "NumericNotEquals"]),
        st.lists(numbers, min_size=1, max_size=3),
    ),
    st.tuples(
        st.sampled_from(["DateLessThan", "DateEquals", "DateGreaterThan"]),
        st.lists(dates, min_size=1, max_size=2),
    ),
    st.tuples(st.sampled_from(["IpAddress", "NotIpAddress"]), st.lists(cidrs, min_size=1, max_size=3)),
    st.tuples(
        st.sampled_from(
            ["StringEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "StringNotEquals"]
        ),
        st.lists(strings, min_size=1, max_size=3),
    ),
    st.tuples(st.just("Bool"), st.lists(st.sampled_from(["true", "false"]), min_size=1, max_size=1)),
)


def _probes(conditions: list[Condition]) -> list[Any]:
    probes: list[Any] = ["", "x", "true", "FALSE", "yes", "arn:a:b:c:d:e"]
    probes += [str(n) for n in range(-7, 8)] + ["0.25", "4.99", "5.01", "-0.5", "1e1", "+3"]
    probes += [
        "2023-12-31T23:59:59Z",
        "2024-01-01T00:00:01Z",
        "1704067199.5",
        "2024-06-01T10:00:00Z",
        "1717236000",
    ]
    for text in [
        "9.255.255.255",
        "10.0.0.0",
        "10.1.255.255",
        "10.2.0.0",
        "192.0.2.1",
        "192.0.2.2",
        "127.0.0.1",
        "::",
        "::1",
        "::2",
        "2001:db8::5",
        "2001:db9::",
        "128.0.0.0",
    ]:
        probes.append(str(ipaddress.ip_address(text)))
    chars = sorted({c for cond in conditions for v in cond.values for c in v if c not in "*?"} | {"c"})
    probes += ["".join(t) for t in [(a,) for a in chars] + [(a, b) for a in chars for b in chars]]
    probes += [c.upper() for c in chars] + ["aA", "Ab"]
    return probes


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(family, st.sampled_from(QUALIFIERS), st.booleans()), min_size=1, max_size=3))
def test_every_probe_is_answered_like_a_witness(entries: list[Any]) -> None:
    conditions = [_condition(op, values, q, ie) for (op, values), q, ie in entries]
    found = key_values(conditions, variables=False)
    tests = [compile_condition(c, variables=False) for c in conditions]

    def answers(context: dict[str, Any]) -> tuple[bool, ...]:
        return tuple(t(context) for t in tests)

    witnessed = {answers({})} | {answers({KEY: v}) for v in found.values}
    if not found.complete:
        assert found.reasons  # an incomplete list always says why
        return
    for probe in _probes(conditions):
        assert answers({KEY: probe}) in witnessed, (probe, conditions, found.values)


def test_a_case_insensitive_value_that_changes_length_is_not_decided() -> None:
    """``"\\u0130".lower()`` is ``"i\\u0307"``: a request value ``"\\u0130"`` equals the policy's
    ``"i\\u0307"`` ignoring case, which per-character classes cannot express."""
    condition = _condition("StringEqualsIgnoreCase", ["i\u0307"], None, False)
    test = compile_condition(condition, variables=False)
    assert test({KEY: "\u0130"})  # the engine's answer the classes would miss
    found = key_values([condition], variables=False)
    assert not found.complete and found.reasons
