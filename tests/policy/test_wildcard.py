"""IAM wildcard patterns, checked against an independent dynamic-programming matcher."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard.policy.wildcard import compile_wildcard, has_wildcard

DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"


def reference_match(pattern: str, value: str) -> bool:
    """Textbook recursion: '*' any run, '?' one character, everything else literal."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        char = pattern[i]
        if char == "*":
            return match(i + 1, j) or (j < len(value) and match(i, j + 1))
        if j == len(value):
            return False
        return (char == "?" or char == value[j]) and match(i + 1, j + 1)

    return match(0, 0)


CASES = [
    # (pattern, value, expected, rule)
    ("s3:GetObject", "s3:GetObject", True, "no wildcard: exact"),
    ("s3:GetObject", "s3:GetObjectAcl", False, "no wildcard: exact"),
    ("s3:Get*", "s3:GetObjectAcl", True, "trailing *: prefix"),
    ("s3:Get*", "s3:Get", True, "* matches the empty run"),
    ("s3:Get*", "s3:Put", False, "prefix differs"),
    ("*Object", "s3:GetObject", True, "leading *: suffix"),
    ("*Object", "s3:GetObjectAcl", False, "suffix differs"),
    ("*Obj*", "s3:GetObjectAcl", True, "contains"),
    ("*Obj*", "s3:GetBucket", False, "contains"),
    ("s3:*Acl", "s3:GetObjectAcl", True, "prefix and suffix"),
    ("ab*ba", "aba", False, "prefix and suffix must not overlap"),
    ("ab*ba", "abba", True, "prefix and suffix adjacent"),
    ("*", "", True, "* matches anything, even empty"),
    ("*", "arn:aws:s3:::b/k", True, "* crosses ':' and '/'"),
    ("?", "", False, "? needs one character"),
    ("?", "é", True, "? is one (unicode) character"),
    ("a?c", "abc", True, "? one character"),
    ("a?c", "a/c", True, "? matches '/'"),
    ("a?c", "abbc", False, "? exactly one"),
    ("a*b*c", "aXbYc", True, "several stars"),
    ("a*b*c", "acb", False, "order matters"),
    ("a**c", "ac", True, "consecutive stars"),
    ("[ab]", "a", False, "no character classes"),
    ("[ab]", "[ab]", True, "brackets are literal"),
    ("a.c", "abc", False, "regex metacharacters are literal"),
    ("a+", "aa", False, "regex metacharacters are literal"),
    ("(a|b)", "(a|b)", True, "regex metacharacters are literal"),
    ("a\\*", "a\\bc", True, "backslash is literal without escaped=True"),
    ("x*", "x\ny", True, "* crosses newlines"),
    ("", "", True, "empty pattern matches empty"),
    ("", "a", False, "empty pattern matches only empty"),
]


@pytest.mark.parametrize(("pattern", "value", "expected", "rule"), CASES)
def test_wildcard_table(pattern: str, value: str, expected: bool, rule: str) -> None:
    assert compile_wildcard(pattern)(value) is expected, f"{rule} ({DOC})"
    assert reference_match(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("s3:get*", "S3:GetObject", True),
        ("S3:GETOBJECT", "s3:getobject", True),
        ("iam:*accesskey*", "iam:CreateAccessKey", True),
        ("iam:?etUser", "IAM:GETUSER", True),
        ("ec2:Describe*", "ec2:RunInstances", False),
    ],
)
def test_ignore_case_for_actions(pattern: str, value: str, expected: bool) -> None:
    """Action names are case-insensitive (reference_policies_elements_action.html)."""
    assert compile_wildcard(pattern, ignore_case=True)(value) is expected
    assert compile_wildcard(pattern)(value) is (pattern == value)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("a\\?", "a?", True),
        ("a\\?", "ab", False),
        ("a\\\\*", "a\\xyz", True),
        ("a\\\\", "a\\", True),
        ("\\*x*", "*xyz", True),
        ("trailing\\", "trailing\\", True),
    ],
)
def test_escaped_patterns(pattern: str, value: str, expected: bool) -> None:
    assert compile_wildcard(pattern, escaped=True)(value) is expected


def test_has_wildcard() -> None:
    assert has_wildcard("a*")
    assert has_wildcard("a?")
    assert not has_wildcard("arn:aws:s3:::b/[x]")


def test_compiled_matchers_are_cached() -> None:
    assert compile_wildcard("cache*me") is compile_wildcard("cache*me")
    assert compile_wildcard("cache*me", ignore_case=True) is not compile_wildcard("cache*me")


_alphabet = "ab:/*?"


@given(st.text(alphabet=_alphabet, max_size=8), st.text(alphabet="ab:/*?.", max_size=10))
def test_agrees_with_reference_matcher(pattern: str, value: str) -> None:
    assert compile_wildcard(pattern)(value) is reference_match(pattern, value)


@given(st.text(alphabet="aAbB*?", max_size=6), st.text(alphabet="aAbB", max_size=8))
def test_ignore_case_agrees_with_reference_on_lowercased(pattern: str, value: str) -> None:
    expected = reference_match(pattern.lower(), value.lower())
    assert compile_wildcard(pattern, ignore_case=True)(value) is expected


@given(st.text(max_size=12))
def test_literal_text_matches_itself(text: str) -> None:
    if not has_wildcard(text):
        assert compile_wildcard(text)(text)
