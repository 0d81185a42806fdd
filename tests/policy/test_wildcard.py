"""IAM wildcard patterns, checked against an independent dynamic-programming matcher."""

from __future__ import annotations

import functools
from typing import Any

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


# ---------------------------------------------------------------- escapes, unicode, ignore_case
# The reference works on tokens, so escapes are decided once, independently of the matcher's
# own tokenizer: ("*",) any run, ("?",) one character, ("=", c) the literal character c.


def _reference_tokens(pattern: str, escaped: bool) -> list[tuple[str, ...]]:
    tokens: list[tuple[str, ...]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if escaped and char == "\\" and i + 1 < len(pattern):
            tokens.append(("=", pattern[i + 1]))
            i += 2
            continue
        tokens.append((char,) if char in "*?" else ("=", char))
        i += 1
    return tokens


def reference_match_tokens(pattern: str, value: str, *, escaped: bool = False) -> bool:
    tokens = _reference_tokens(pattern, escaped)

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(tokens):
            return j == len(value)
        token = tokens[i]
        if token == ("*",):
            return match(i + 1, j) or (j < len(value) and match(i, j + 1))
        if j == len(value):
            return False
        return (token == ("?",) or token[1] == value[j]) and match(i + 1, j + 1)

    return match(0, 0)


# Few distinct characters so that matches (and near misses) are common; "é"/"ß"/"İ" and an
# astral character for unicode, "\\" for escapes.
_PATTERN_CHARS = "ab/*?\\é𝔸"
_VALUE_CHARS = "ab/*?\\é𝔸"


@given(
    st.text(alphabet=_PATTERN_CHARS, max_size=12), st.text(alphabet=_VALUE_CHARS, max_size=24), st.booleans()
)
def test_agrees_with_reference_escapes_and_unicode(pattern: str, value: str, escaped: bool) -> None:
    assert compile_wildcard(pattern, escaped=escaped)(value) is reference_match_tokens(
        pattern, value, escaped=escaped
    )


@given(st.text(alphabet="aAßİé*?\\", max_size=10), st.text(alphabet="aAßİéI", max_size=16), st.booleans())
def test_ignore_case_agrees_with_reference(pattern: str, value: str, escaped: bool) -> None:
    """Both sides lower-cased first (``"İ".lower()`` is two characters: still consistent)."""
    expected = reference_match_tokens(pattern.lower(), value.lower(), escaped=escaped)
    assert compile_wildcard(pattern, ignore_case=True, escaped=escaped)(value) is expected


@given(
    st.lists(st.text(alphabet="ab?", min_size=1, max_size=6), min_size=1, max_size=5),
    st.text(alphabet="ab", max_size=40),
    st.booleans(),
    st.booleans(),
)
def test_glob_shapes_agree_with_reference(parts: list[str], value: str, lead: bool, trail: bool) -> None:
    """Several stars between ``?``-bearing segments over long, repetitive values: the shapes
    that took the old regex exponential time and that push a segment past its verification
    budget into the shift-and scan."""
    pattern = ("*" if lead else "") + "*".join(parts) + ("*" if trail else "")
    assert compile_wildcard(pattern)(value) is reference_match(pattern, value)


@pytest.mark.parametrize("budget", [1, 2])
@given(st.text(alphabet="ab?*", max_size=10), st.text(alphabet="ab", max_size=30))
def test_shift_and_scan_agrees_with_reference(budget: int, pattern: str, value: str) -> None:
    """With a tiny verification budget every ``?`` segment is found by the shift-and scan."""
    import iamguard.policy.wildcard as wildcard

    saved = wildcard._VERIFY_BUDGET
    wildcard._VERIFY_BUDGET = budget
    try:
        assert compile_wildcard(pattern)(value) is reference_match(pattern, value)
    finally:
        wildcard._VERIFY_BUDGET = saved


# ---------------------------------------------------------------- no backtracking (ReDoS)


class _CountingStr(str):
    """A str that counts the operations a matcher performs on it."""

    calls = 0

    def find(self, *args: Any) -> int:
        _CountingStr.calls += 1
        return super().find(*args)

    def startswith(self, *args: Any) -> bool:
        _CountingStr.calls += 1
        return super().startswith(*args)

    def endswith(self, *args: Any) -> bool:
        _CountingStr.calls += 1
        return super().endswith(*args)

    def __getitem__(self, key: Any) -> str:
        _CountingStr.calls += 1
        return super().__getitem__(key)


def reference_match_iterative(pattern: str, value: str) -> bool:
    """The same recursion as :func:`reference_match`, bottom-up (no recursion limit)."""
    row = [True] + [False] * len(value)  # row[j]: pattern[:i] matches value[:j]
    for char in pattern:
        new = [row[0] and char == "*"] + [False] * len(value)
        for j in range(1, len(value) + 1):
            if char == "*":
                new[j] = row[j] or new[j - 1]
            else:
                new[j] = row[j - 1] and (char == "?" or char == value[j - 1])
        row = new
    return row[-1]


REDOS_CASES = [
    # (pattern, value, most str operations allowed) -- shapes that took a backtracking regex
    # 12 s to minutes (security regression: any caller can put one in its own session policy).
    ("arn:aws:s3:::*/*/*/*.csv", "arn:aws:s3:::" + "a/" * 400, 20),
    ("*a*a*a*a*a*a*a*b", "a" * 1600, 20),
    ("*a*b*c*d*e*", "x" * 400, 20),
    ("*?a?a?a?b*", "a" * 1600, 1700),  # anchor hits everywhere: budget, then one linear scan
    ("*" + "?a" * 200 + "?b*", "a" * 1600, 1700 + 8 * 200),
]


@pytest.mark.parametrize(("pattern", "value", "bound"), REDOS_CASES)
def test_worst_case_patterns_do_bounded_work(pattern: str, value: str, bound: int) -> None:
    """The matcher's work is counted, not timed (speed lives in benchmarks/wildcard_bench.py).

    Zero operations would mean the value went to an opaque engine (a regex) whose work this
    test cannot bound: that is what made these patterns take minutes, so it fails too.
    """
    matcher = compile_wildcard(pattern)
    _CountingStr.calls = 0
    assert matcher(_CountingStr(value)) is reference_match_iterative(pattern, value)
    assert 0 < _CountingStr.calls <= bound
