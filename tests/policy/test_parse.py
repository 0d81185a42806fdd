"""parse_policy: table of valid/invalid documents (tests/data/parse/cases.json), size limits,
round trip and fuzz properties."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.errors import PolicySyntaxError, PolicyValidationError
from iamguard.policy.limits import PolicyLimits, policy_size
from iamguard.policy.model import Effect, Policy, PolicyKind
from iamguard.policy.parse import parse_policy

CASES = json.loads((Path(__file__).parents[1] / "data" / "parse" / "cases.json").read_text())


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in rows]


@pytest.mark.parametrize("row", CASES["invalid"], ids=_ids(CASES["invalid"]))
def test_invalid_documents_list_every_problem(row: dict[str, Any]) -> None:
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(row["policy"], kind=PolicyKind(row["kind"]))
    problems = caught.value.problems
    assert [p.location for p in problems] == [e["location"] for e in row["problems"]], problems
    for problem, expected in zip(problems, row["problems"], strict=False):
        assert expected["message_contains"] in problem.message
    # the same problems whether the document arrives as text or as a mapping
    with pytest.raises(PolicyValidationError) as again:
        parse_policy(json.dumps(row["policy"]), kind=PolicyKind(row["kind"]))
    assert again.value.problems == problems


@pytest.mark.parametrize("row", CASES["syntax"], ids=_ids(CASES["syntax"]))
def test_syntax_errors(row: dict[str, Any]) -> None:
    if "nest" in row:
        document: str | bytes = "[" * row["nest"] + "]" * row["nest"]
    elif "bytes_hex" in row:
        document = bytes.fromhex(row["bytes_hex"])
    else:
        document = row["text"]
    with pytest.raises(PolicySyntaxError) as caught:
        parse_policy(document)
    assert caught.value.location == row["location"]
    assert row["message_contains"] in str(caught.value)


@pytest.mark.parametrize("row", CASES["valid"], ids=_ids(CASES["valid"]))
def test_valid_documents(row: dict[str, Any]) -> None:
    policy = parse_policy(row["policy"], name=row["name"], kind=PolicyKind(row["kind"]))
    assert policy.name == row["name"] and policy.kind is PolicyKind(row["kind"])
    assert policy.version == row.get("version", "2012-10-17")
    assert [s.index for s in policy.statements] == list(range(len(policy.statements)))
    for (operator, key, values), condition in zip(
        row.get("conditions", []), policy.statements[0].conditions, strict=False
    ):
        assert (condition.operator, condition.key, list(condition.values)) == (operator, key, values)
    assert parse_policy(policy.to_json(), name=row["name"], kind=PolicyKind(row["kind"])) == policy


def test_model_values() -> None:
    policy = parse_policy(
        b'{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*","sts:*"],'
        b'"NotResource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"team*"}}}]}'
    )
    (statement,) = policy.statements
    assert policy.id == "p1" and policy.variables_enabled
    assert statement.effect is Effect.DENY and statement.sid == "A"
    assert statement.not_action == ("iam:*", "sts:*") and statement.action is None
    assert statement.not_resource == ("*",)
    (condition,) = statement.conditions
    assert (condition.base_operator, condition.qualifier, condition.if_exists) == (
        "StringLike",
        "ForAnyValue",
        True,
    )


def test_principal_block() -> None:
    policy = parse_policy(
        {"Statement": {"Effect": "Allow", "Principal": {"AWS": ["123456789012", "*"], "Service": "s3.amazonaws.com"},
                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}},
        kind=PolicyKind.RESOURCE,
    )  # fmt: skip
    principal = policy.statements[0].principal
    assert principal is not None and not principal.any_principal
    assert principal.get("AWS") == ("123456789012", "*") and principal.get("Service") == ("s3.amazonaws.com",)


# ---------------------------------------------------------------- size limits
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: white space not counted


def _policy_of_size(actions: int) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": [f"s3:A{i:05d}" for i in range(actions)], "Resource": "*"}
        ],
    }


@pytest.mark.parametrize(
    ("preset", "chars"),
    [
        ("MANAGED", 6144),
        ("USER_INLINE", 2048),
        ("ROLE_INLINE", 10240),
        ("GROUP_INLINE", 5120),
        ("TRUST", 2048),
        ("SESSION", 2048),
    ],
)
def test_presets_are_aws_defaults(preset: str, chars: int) -> None:
    assert getattr(PolicyLimits, preset).max_chars == chars


def test_size_limit_counts_non_whitespace_only() -> None:
    document = _policy_of_size(200)
    compact = json.dumps(document, separators=(",", ":"))
    size = policy_size(compact)
    pretty = json.dumps(document, indent=8)
    assert policy_size(pretty) == size  # indentation is free
    parse_policy(pretty, limits=PolicyLimits(size))
    parse_policy(document, limits=PolicyLimits(size))
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(pretty, limits=PolicyLimits(size - 1, "managed"))
    assert "managed" in str(caught.value) and str(size) in str(caught.value)
    with pytest.raises(PolicyValidationError):
        parse_policy(document, limits=PolicyLimits(size - 1))


def test_no_limit_unless_asked() -> None:
    parse_policy(_policy_of_size(2000))
    with pytest.raises(PolicyValidationError):
        parse_policy(_policy_of_size(2000), limits=PolicyLimits.ROLE_INLINE)


def test_huge_text_refused_before_decoding() -> None:
    with pytest.raises(PolicyValidationError):
        parse_policy(" " * 2_000_000 + "{}")


# ---------------------------------------------------------------- properties

_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8
)
_patterns = st.text(alphabet="abcXYZ019*?", min_size=1, max_size=8)
_actions = st.one_of(
    st.just("*"),
    st.builds(lambda s, a: f"{s}:{a}", st.sampled_from(["s3", "iam", "ec2", "dynamodb"]), _patterns),
)
_resources = st.one_of(
    st.just("*"),
    st.builds(lambda b, k: f"arn:aws:s3:::{b}/{k}", _names, _patterns),
    st.builds(lambda r, n: f"arn:aws:sqs:{r}:123456789012:{n}", st.sampled_from(["us-east-1", "*"]), _names),
)


def _one_or_list(values: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, min_size=2, max_size=4, unique=True))


_conditions = st.one_of(
    st.fixed_dictionaries(
        {
            "StringEquals": st.dictionaries(
                st.sampled_from(["aws:username", "s3:prefix"]), _one_or_list(_names), min_size=1
            )
        }
    ),
    st.fixed_dictionaries(
        {"Bool": st.fixed_dictionaries({"aws:SecureTransport": st.sampled_from(["true", "false"])})}
    ),
    st.fixed_dictionaries(
        {"NumericLessThan": st.fixed_dictionaries({"s3:max-keys": st.integers(0, 1000).map(str)})}
    ),
    st.fixed_dictionaries(
        {
            "ForAnyValue:IpAddressIfExists": st.fixed_dictionaries(
                {"aws:SourceIp": st.sampled_from(["192.0.2.0/24", "2001:db8::/32"])}
            )
        }
    ),
)


@st.composite
def _statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.booleans()):
        statement["Sid"] = draw(_names)
    statement[draw(st.sampled_from(["Action", "NotAction"]))] = draw(_one_or_list(_actions))
    statement[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(_one_or_list(_resources))
    if draw(st.booleans()):
        statement["Condition"] = draw(_conditions)
    return statement


_policies = st.fixed_dictionaries(
    {
        "Version": st.sampled_from(["2012-10-17", "2008-10-17"]),
        "Statement": st.lists(_statements(), min_size=1, max_size=4),
    },
    optional={"Id": _names},
)


@given(_policies)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(document: dict[str, Any]) -> None:
    policy = parse_policy(json.dumps(document))
    again = parse_policy(json.dumps(policy.to_json()))
    assert again == policy
    assert isinstance(again, Policy)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
_keys = st.sampled_from(
    [
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "Condition",
        "Principal",
        "StringEquals",
        "AWS",
        "x",
    ]
)
_policy_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["*", "Allow", "2012-10-17", "s3:Get*", "arn:aws:s3:::b", "true", "1.2.3.4"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=40,
)


@given(st.one_of(_json, _policy_like), st.sampled_from(list(PolicyKind)))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_only_policy_errors(document: Any, kind: PolicyKind) -> None:
    for form in (document, json.dumps(document)):
        with contextlib.suppress(PolicySyntaxError, PolicyValidationError):
            parse_policy(form, kind=kind)


@given(st.text(max_size=60))
def test_fuzz_text(text: str) -> None:
    with contextlib.suppress(PolicySyntaxError, PolicyValidationError):
        parse_policy(text)
