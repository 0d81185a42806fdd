"""ARN parsing and segment-wise ArnLike matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard.policy.arn import Arn, arn_matches, compile_arn_pattern, parse_arn

ARNS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arn:aws:s3:::bucket/key", Arn("aws", "s3", "", "", "bucket/key")),
        ("arn:aws:iam::123456789012:role/path/name", Arn("aws", "iam", "", "123456789012", "role/path/name")),
        (
            "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s",
            Arn("aws", "logs", "us-east-1", "123456789012", "log-group:app:log-stream:s"),
        ),
        ("arn:aws-cn:ec2:cn-north-1:1:instance/i-1", Arn("aws-cn", "ec2", "cn-north-1", "1", "instance/i-1")),
        ("arn:aws:sns:us-east-1:123456789012:", Arn("aws", "sns", "us-east-1", "123456789012", "")),
        ("arn:aws:iam::123456789012", None),
        ("ARN:aws:s3:::b", None),
        ("*", None),
        ("", None),
        ("urn:aws:s3:::b", None),
    ],
)
def test_parse_arn(text: str, expected: Arn | None) -> None:
    assert parse_arn(text) == expected, ARNS
    if expected is not None:
        assert str(expected) == text


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket-2/x", True),
        ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123:instance/i-1", True),
        ("arn:aws:ec2:*:instance/*", "arn:aws:ec2:us-east-1:123:instance/i-1", False),
        ("arn:aws:ec2:*", "arn:aws:ec2:us-east-1:123:instance/i-1", False),
        ("arn:aws:ec2:us-*:123:*", "arn:aws:ec2:us-east-1:123:instance/i-1", True),
        ("arn:aws:ec2:us-*:123:*", "arn:aws:ec2:eu-west-1:123:instance/i-1", False),
        ("arn:aws:ec2:*1:123:*", "arn:aws:ec2:us-east-1:123:instance/i-1", True),
        # a region wildcard must not swallow the account: components are matched separately
        ("arn:aws:ec2:us*:instance/x", "arn:aws:ec2:us-east-1:123:instance/x", False),
        ("arn:aws:logs:*:*:log-group:app:*", "arn:aws:logs:us-east-1:1:log-group:app:log-stream:s", True),
        ("arn:aws:logs:*:*:log-group:*", "arn:aws:logs:us-east-1:1:log-group:app:log-stream:s", True),
        ("arn:aws:iam::123:role/?dmin", "arn:aws:iam::123:role/admin", True),
        ("arn:aws:iam::123:role/admin", "arn:aws:iam::123:role/Admin", False),
        ("arn:aws:iam:?:123:role/admin", "arn:aws:iam::123:role/admin", False),
        ("*:aws:iam::123:role/admin", "arn:aws:iam::123:role/admin", True),
        ("arn:aws:iam::123:role/admin", "not an arn", False),
        ("arn:aws:iam::123:role/admin", "arn:aws:iam::123", False),
        ("*", "arn:aws:iam::123:role/admin", False),
    ],
)
def test_arn_matches(pattern: str, value: str, expected: bool) -> None:
    assert arn_matches(pattern, value) is expected


def test_escaped_arn_pattern() -> None:
    assert arn_matches("arn:aws:s3:::b/a\\*/*", "arn:aws:s3:::b/a*/x", escaped=True)
    assert not arn_matches("arn:aws:s3:::b/a\\*/*", "arn:aws:s3:::b/ab/x", escaped=True)
    assert arn_matches("arn:aws:s3:::b/a\\*/*", "arn:aws:s3:::b/a\\b/x")  # unescaped: '\' literal


def test_compiled_patterns_are_cached() -> None:
    assert compile_arn_pattern("arn:aws:s3:::x/*") is compile_arn_pattern("arn:aws:s3:::x/*")


_segment = st.text(alphabet="ab-/", max_size=4)


@given(_segment, _segment, _segment, st.text(alphabet="ab:/-", max_size=8))
def test_literal_arn_matches_itself_and_wildcards_per_component(
    service: str, region: str, account: str, resource: str
) -> None:
    value = f"arn:aws:{service}:{region}:{account}:{resource}"
    assert arn_matches(value, value)
    assert arn_matches("arn:*:*:*:*:*", value)
    assert arn_matches(f"arn:aws:{service}:*:{account}:{resource}", value)
    parsed = parse_arn(value)
    assert parsed is not None and parsed.resource == resource and str(parsed) == value


@given(st.text(alphabet="ab:", max_size=12))
def test_non_arns_never_match(value: str) -> None:
    if parse_arn(value) is None:
        assert not arn_matches("arn:*:*:*:*:*", value)
