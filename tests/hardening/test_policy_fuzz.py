"""Fuzzing the policy language: ``parse_policy`` returns a Policy or raises ``PolicyError``,
never anything else; every policy it returns evaluates to a Decision, without raising and
without a statement failing inside the engine.

Documents are random JSON-ish values in two families: **valid-shaped** (real elements, drawn
from pools of plausible and odd values: huge numbers, Unicode digits, odd operators and ARNs,
empty lists, null) and **mutated** (a valid-shaped document with one subtree replaced by any
JSON value, nested deeply or not). Each is parsed as a mapping and as JSON text, for every
policy kind.

Bounded for CI (fixed seed, ``derandomize=True``); ``IAMGUARD_FUZZ_EXAMPLES=N`` runs N examples
per test instead (see tests/hardening/README.md). The number of documents tried is printed at the
end of the module (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.authn.authenticators import ANONYMOUS
from iamguard.context import ContextValue
from iamguard.decision import Decision
from iamguard.errors import PolicyError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal

# A fuzz job: run by `python3 tasks.py test-slow` and CI (longer runs: see the module docstring).
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("IAMGUARD_FUZZ_EXAMPLES", "250"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TRIED: Counter[str] = Counter()

# ---------------------------------------------------------------- pools of values

A = A_ACCOUNT = "111122223333"

HUGE = [10**5000, -(10**4400), 10**4300, 2**64, -1, 0, 1.5, 1e308, -0.0]
ODD_NUMBER_TEXT = [
    "1" * 5000,
    "-" + "9" * 4301,
    "1e999999",
    "-1e-999999",
    "١٢٣",  # Arabic-Indic digits
    "１２",  # full-width digits
    "0x10",
    " 1",
    "1_000",
    "NaN",
    "Infinity",
    ".5",
    "5.",
    "+3",
]
ODD_DATES = [
    "2024-02-30T00:00:00Z",
    "2024-01-01T00:00:00+99:99",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2024-13-01",
    "99999999999999999999999",
    "-99999999999999999999",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:00.9999999999999Z",
]
ODD_IPS = [
    "10.0.0.0/33",
    "::1/129",
    "1.2.3.4/-1",
    "1.2.3",
    "fe80::1%eth0",
    "1.2.3.4/255.0.0.0",
    "٣.1.1.1",
    "",
]
ODD_BASE64 = ["QUJD", "QUJD=", "@@@", "é", "=" * 9, ""]
VARIABLE_TEXT = [
    "${aws:username}",
    "${aws:username, 'x'}",
    "${",
    "${}",
    "${*}",
    "${a,'",
    "${a, 'b''c'}",
    "${$}${?}",
]
STRINGS = st.one_of(
    st.sampled_from(ODD_NUMBER_TEXT + ODD_DATES + ODD_IPS + ODD_BASE64 + VARIABLE_TEXT),
    st.sampled_from(["true", "false", "TRUE", "*", "?", "", "arn:aws:s3:::b/*", "123456789012"]),
    st.text(max_size=12),
)


def _huge(index: int) -> int | float:
    """(Drawn by index: hypothesis cannot repr a 5,000-digit int when describing a strategy.)"""
    return HUGE[index]


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(0, len(HUGE) - 1).map(_huge), st.integers(), st.floats(), STRINGS
)

OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike",
    "NumericEquals", "NumericLessThan", "NumericGreaterThanEquals", "NumericNotEquals",
    "DateEquals", "DateLessThan", "DateGreaterThan", "DateNotEquals",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
    "ArnEquals", "ArnLike", "ArnNotLike", "Null",
]  # fmt: skip
ODD_OPERATORS = [
    "stringequals",
    "StringEqualsIfExistsIfExists",
    "ForAnyValue:",
    "ForAllValues:Null",
    "Foo:Bar",
    "",
]
OPERATOR_NAMES = st.one_of(
    st.sampled_from(OPERATORS),
    st.builds(
        lambda q, op, ie: f"{q}{op}{ie}",
        st.sampled_from(["", "ForAnyValue:", "ForAllValues:"]),
        st.sampled_from(OPERATORS),
        st.sampled_from(["", "IfExists"]),
    ),
    st.sampled_from(ODD_OPERATORS),
)
KEYS = st.sampled_from(
    ["aws:SourceIp", "aws:CurrentTime", "s3:max-keys", "aws:username", "aws:PrincipalTag/team", "aws:TagKeys",
     "aws:SecureTransport", "aws:SourceArn", "aws:EpochTime", "x", "", "AWS:SOURCEIP"]
)  # fmt: skip
CLEAN_KEYS = st.sampled_from(
    ["aws:SourceIp", "aws:CurrentTime", "s3:max-keys", "aws:username", "aws:TagKeys"]
)
ACTIONS = st.sampled_from(
    ["*", "s3:*", "s3:GetObject", "s3:?et*", "S3:getobject", "iam:*AccessKey*", "s3", ":", "s3:", ""]
)
RESOURCES = st.sampled_from(
    [
        "*",
        "arn:aws:s3:::bucket/*",
        "arn:aws:s3:::*/*/*/*.csv",
        "arn:aws:s3:::bucket/${aws:username}/*",
        "arn:aws:sqs:*",
        "arn:aws:logs:*",
        "arn:aws:*",
        "arn:*",
        "arn:aws:sqs:us-east-1:111122223333:q",
        "arn:aws:sqs:us-east-1:111122223333",
        "arn:nope:s3:::b",
        "arn:aws::::",
        "arn:aws:s3:::" + "?" * 40,
        "arn",
        "",
        "arn:aws:s3:::a\\*b",
    ]
)
AWS_PRINCIPALS = st.sampled_from(
    ["*", "111122223333", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/alice",
     "arn:aws:iam::111122223333:role/*", "arn:aws:iam::1:user/x", "12345", "arn:aws:sts::111122223333:assumed-role/Admin/s1"]
)  # fmt: skip


def _one_or_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, min_size=1, max_size=3))


CONDITIONS = st.dictionaries(
    OPERATOR_NAMES, st.dictionaries(KEYS, _one_or_list(SCALARS), max_size=2), max_size=3
)
PRINCIPALS_ELEMENT = st.one_of(
    st.just("*"),
    st.dictionaries(
        st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser", "aws", "Other"]),
        _one_or_list(
            st.one_of(AWS_PRINCIPALS, st.sampled_from(["s3.amazonaws.com", "cognito-identity.amazonaws.com"]))
        ),
        max_size=2,
    ),
    SCALARS,
)


def _pick(clean: bool, good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Only ``good`` values in a clean document (so enough documents parse for evaluation to be
    fuzzed), either kind otherwise."""
    return good if clean else st.one_of(good, odd)


#: Readable values per operator family, so conditions usually compile.
GOOD_VALUES = {
    "String": st.sampled_from(["alice", "a*", "?lice", "${aws:username}", "team-${aws:PrincipalTag/team}"]),
    "Numeric": st.sampled_from(["10", "-3", "2.5", "1e3", "0"]),
    "Date": st.sampled_from(
        ["2024-01-01T00:00:00Z", "2030-06-01", "1700000000", "2024-01-01T10:00:00+02:00"]
    ),
    "Bool": st.sampled_from(["true", "false", True, "${aws:SecureTransport}"]),
    "Binary": st.sampled_from(["QUJD", "AA=="]),
    "IpAddress": st.sampled_from(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]),
    "NotIpAddress": st.sampled_from(["10.0.0.0/8"]),
    "Arn": st.sampled_from(["arn:aws:s3:::b/*", "arn:aws:iam::*:role/x", "arn:aws:sqs:*"]),
    "Null": st.sampled_from(["true", "false", True]),
}


def _family(operator: str) -> str:
    base = operator.split(":")[-1].removesuffix("IfExists")
    for prefix in ("NotIpAddress", "IpAddress", "String", "Numeric", "Date", "Bool", "Binary", "Arn", "Null"):
        if base.startswith(prefix):
            return prefix
    return "String"


@st.composite
def conditions(draw: st.DrawFn, clean: bool) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        operator = draw(_pick(clean, st.sampled_from(OPERATORS), OPERATOR_NAMES))
        good = GOOD_VALUES[_family(operator)]
        values = draw(_pick(clean, _one_or_list(good), _one_or_list(SCALARS)))
        block.setdefault(operator, {})[draw(_pick(clean, CLEAN_KEYS, KEYS))] = values
    return block


GOOD_ACTIONS = st.sampled_from(
    ["*", "s3:*", "s3:GetObject", "s3:?et*", "S3:getobject", "iam:*AccessKey*", "sqs:Send*"]
)
GOOD_RESOURCES = st.sampled_from(
    ["*", "arn:aws:s3:::bucket/*", "arn:aws:s3:::*/*/*/*.csv", "arn:aws:s3:::bucket/${aws:username}/*",
     "arn:aws:sqs:us-east-1:111122223333:q", "arn:aws:s3:::a\\*b", "arn:aws:s3:::" + "?" * 40]
)  # fmt: skip
GOOD_PRINCIPALS = st.one_of(
    st.just("*"),
    st.fixed_dictionaries(
        {"AWS": _one_or_list(st.sampled_from(["*", A_ACCOUNT, f"arn:aws:iam::{A_ACCOUNT}:user/alice"]))}
    ),
    st.just({"Service": "s3.amazonaws.com"}),
)


@st.composite
def statements(draw: st.DrawFn, kind: PolicyKind, clean: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": draw(
            _pick(clean, st.sampled_from(["Allow", "Deny"]), st.sampled_from(["allow", "Maybe", None]))
        )
    }
    actions = _pick(clean, _one_or_list(GOOD_ACTIONS), _one_or_list(ACTIONS))
    statement["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = draw(actions)
    shape = draw(st.integers(0, 5))
    if shape < 4 or kind is PolicyKind.IDENTITY:
        resources = _pick(clean, _one_or_list(GOOD_RESOURCES), _one_or_list(RESOURCES))
        statement["Resource" if shape else "NotResource"] = draw(resources)
    wants_principal = kind is not PolicyKind.IDENTITY and (kind is PolicyKind.RESOURCE or draw(st.booleans()))
    if wants_principal or (not clean and draw(st.integers(0, 9)) == 0):
        principal = draw(_pick(clean, GOOD_PRINCIPALS, PRINCIPALS_ELEMENT))
        statement["NotPrincipal" if draw(st.integers(0, 4)) == 0 else "Principal"] = principal
    if draw(st.booleans()):
        statement["Condition"] = draw(_pick(clean, conditions(clean), CONDITIONS))
    if draw(st.integers(0, 3)) == 0:
        statement["Sid"] = draw(
            _pick(clean, st.sampled_from(["S1", "Two"]), st.one_of(st.sampled_from(["s-1", ""]), SCALARS))
        )
    return statement


@st.composite
def valid_shaped(draw: st.DrawFn, kind: PolicyKind) -> dict[str, Any]:
    clean = draw(st.booleans())
    document: dict[str, Any] = {}
    if draw(st.integers(0, 5)):
        document["Version"] = draw(
            _pick(clean, st.just("2012-10-17"), st.sampled_from(["2008-10-17", "2012-10-17 ", 2012]))
        )
    body = draw(_pick(clean, st.lists(statements(kind, clean), min_size=1, max_size=4), st.just([])))
    document["Statement"] = body[0] if len(body) == 1 and draw(st.booleans()) else body
    if draw(st.integers(0, 4)) == 0:
        document["Id"] = draw(_pick(clean, st.just("policy-1"), SCALARS))
    return document


JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"Statement": value}
    return value


def _subtrees(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _subtrees(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _subtrees(child, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, kind: PolicyKind) -> Any:
    document = draw(valid_shaped(kind))
    paths = list(_subtrees(document))
    path = draw(st.sampled_from(paths))
    replacement: Any = draw(
        st.one_of(JSON_VALUES, st.integers(1, 3000).map(_nested), st.just([]), st.just({}))
    )
    return _replace(document, path, replacement)


KINDS = st.sampled_from(list(PolicyKind))


@st.composite
def documents(draw: st.DrawFn) -> tuple[Any, PolicyKind]:
    kind = draw(KINDS)
    return draw(st.one_of(valid_shaped(kind), valid_shaped(kind), mutated(kind))), kind


# ---------------------------------------------------------------- requests

CALLERS = [
    Principal.from_arn(f"arn:aws:iam::{A}:user/alice", tags={"team": "red"}),
    Principal.from_arn(f"arn:aws:sts::{A}:assumed-role/Admin/s1"),
    Principal.from_arn(f"arn:aws:iam::{A}:root"),
    Principal.from_arn(f"arn:aws:sts::{A}:federated-user/fed"),
    Principal.from_arn("arn:aws:iam::444455556666:user/carol"),
    ANONYMOUS,
]
CONTEXT_KEYS = st.sampled_from(
    ["aws:sourceip", "aws:currenttime", "s3:max-keys", "aws:username", "aws:tagkeys", "aws:securetransport",
     "aws:sourcearn", "aws:epochtime", "x"]
)  # fmt: skip
CONTEXT_VALUES: st.SearchStrategy[ContextValue] = st.one_of(STRINGS, st.lists(STRINGS, max_size=3).map(tuple))
REQUESTS = st.builds(
    lambda principal, action, resource, context: Request(principal, action, resource, context),
    st.sampled_from(CALLERS),
    st.sampled_from(["s3:GetObject", "S3:PUTOBJECT", "iam:CreateAccessKey", "sqs:SendMessage", "", "*"]),
    st.one_of(
        st.sampled_from(
            [
                "arn:aws:s3:::bucket/alice/a.csv",
                "arn:aws:sqs:us-east-1:111122223333:q",
                "*",
                "",
                "arn:aws:s3:::" + "a/" * 300,
            ]
        ),
        st.text(max_size=20),
    ),
    st.dictionaries(CONTEXT_KEYS, CONTEXT_VALUES, max_size=4),
)

EVALUATOR = Evaluator()


def _parse_every_way(document: Any, kind: PolicyKind) -> list[Policy]:
    """Parse as a mapping and as JSON text; anything but a Policy or a PolicyError fails."""
    parsed: list[Policy] = []
    texts: list[Any] = [document]
    try:
        texts.append(json.dumps(document))
    except (ValueError, RecursionError):  # a number Python will not print, or nesting json.dumps refuses
        TRIED["unprintable"] += 1
    for form in texts:
        TRIED["parsed"] += 1
        try:
            parsed.append(parse_policy(form, kind=kind, name="fuzz"))
        except PolicyError:
            TRIED["rejected"] += 1
    return parsed


def _policy_sets(policy: Policy) -> list[PolicySet]:
    if policy.kind is PolicyKind.RESOURCE:
        return [PolicySet(resource=policy, resource_account=A), PolicySet(resource=policy)]
    return [
        PolicySet(identity=(policy,)),
        PolicySet(identity=(policy,), boundary=policy),
        PolicySet(identity=(policy,), session=(policy,)),
        PolicySet(session=()),
    ]


def _check_evaluations(policy: Policy, requests: list[Request]) -> None:
    for policy_set in _policy_sets(policy):
        for request in requests:
            TRIED["evaluations"] += 1
            decision = EVALUATOR.evaluate(request, policy_set)
            assert isinstance(decision, Decision)
            assert decision.errors == (), decision.errors  # a statement failed inside the engine


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\npolicy fuzz: {dict(TRIED)} (IAMGUARD_FUZZ_EXAMPLES={EXAMPLES})")


@FUZZ
@given(documents(), st.lists(REQUESTS, min_size=1, max_size=3))
def test_parse_returns_or_raises_policy_error_and_evaluation_never_raises(
    drawn: tuple[Any, PolicyKind], requests: list[Request]
) -> None:
    document, kind = drawn
    for policy in _parse_every_way(document, kind):
        TRIED["accepted"] += 1
        _check_evaluations(policy, requests)


@FUZZ
@given(JSON_VALUES, KINDS)
def test_any_json_value_parses_or_raises_policy_error(document: Any, kind: PolicyKind) -> None:
    _parse_every_way(document, kind)


@FUZZ
@given(st.text(alphabet='{}[]":,0123456789.eE-+tfnul \\a', max_size=60))
def test_any_text_parses_or_raises_policy_error(text: str) -> None:
    TRIED["texts"] += 1
    with contextlib.suppress(PolicyError):
        parse_policy(text)
