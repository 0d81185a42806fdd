"""IAM wildcard patterns (``*`` and ``?``) compiled once into fast matchers.

IAM's pattern language is tiny: ``*`` matches any run of characters (including none, and it
crosses ``:`` and ``/``), ``?`` matches exactly one character, and every other character is
literal -- there are no ``[...]`` classes as in ``fnmatch``.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html

Why a compiler: a policy set may hold 100,000 statements sharing a few thousand patterns, and
the request path must not build regexes. :func:`compile_wildcard` picks the cheapest test for the
pattern's shape (``==``, ``startswith``, ``endswith``, ``in``, prefix+suffix, else one
precompiled ``re`` fullmatch) and caches the result per ``(pattern, flags)``.

Escaped patterns (``escaped=True``) are what :meth:`iamguard.policy.variables.Template.render`
produces with ``escape_wildcards=True``: a backslash makes the next character literal, so a
``*`` that came from a substituted value (``${aws:username}``) can never act as a wildcard.
Without ``escaped`` a backslash is an ordinary literal character, as in IAM.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

__all__ = ["Matcher", "compile_wildcard", "has_wildcard"]

Matcher = Callable[[str], bool]

#: Bounded so per-request patterns (rendered policy variables) cannot grow memory without limit.
_CACHE_SIZE = 65536

_STAR = object()
_ONE = object()
_Token = object  # str (a literal run) | _STAR | _ONE


def has_wildcard(text: str) -> bool:
    """True when ``text`` contains ``*`` or ``?`` (and so needs pattern matching)."""
    return "*" in text or "?" in text


def compile_wildcard(pattern: str, *, ignore_case: bool = False, escaped: bool = False) -> Matcher:
    """A predicate telling whether a string matches the IAM wildcard ``pattern``.

    ``ignore_case`` (used for actions, which IAM compares case-insensitively) lower-cases both
    the pattern and the candidate. ``escaped`` enables backslash escapes (see module docstring).
    """
    return _compile_cached(pattern, ignore_case, escaped)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_cached(pattern: str, ignore_case: bool, escaped: bool) -> Matcher:
    if ignore_case:
        inner = _compile_tokens(_tokenize(pattern.lower(), escaped))
        return lambda value: inner(value.lower())
    return _compile_tokens(_tokenize(pattern, escaped))


def _tokenize(pattern: str, escaped: bool) -> list[_Token]:
    """Split a pattern into literal runs, ``_STAR`` and ``_ONE``; consecutive stars collapse."""
    tokens: list[_Token] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if escaped and char == "\\" and i + 1 < n:
            literal.append(pattern[i + 1])
            i += 2
            continue
        if char == "*" or char == "?":
            if literal:
                tokens.append("".join(literal))
                literal = []
            token = _STAR if char == "*" else _ONE
            if not (token is _STAR and tokens and tokens[-1] is _STAR):
                tokens.append(token)
        else:
            literal.append(char)
        i += 1
    if literal:
        tokens.append("".join(literal))
    return tokens


def _compile_tokens(tokens: list[_Token]) -> Matcher:
    """Choose the cheapest matcher for the token shape."""
    stars = sum(1 for t in tokens if t is _STAR)
    if any(t is _ONE for t in tokens) or stars > 2:
        return _regex_matcher(tokens)
    if stars == 0:
        text = tokens[0] if tokens else ""
        assert isinstance(text, str)
        return text.__eq__
    if tokens == [_STAR]:
        return _always
    first, last = tokens[0], tokens[-1]
    if stars == 1:
        if last is _STAR:  # "prefix*"
            assert isinstance(first, str)
            return _startswith(first)
        if first is _STAR:  # "*suffix"
            assert isinstance(last, str)
            return _endswith(last)
        assert isinstance(first, str) and isinstance(last, str)
        return _prefix_suffix(first, last)
    if first is _STAR and last is _STAR and len(tokens) == 3:  # "*middle*"
        middle = tokens[1]
        assert isinstance(middle, str)
        return _contains(middle)
    return _regex_matcher(tokens)


def _always(value: str) -> bool:
    return True


def _startswith(prefix: str) -> Matcher:
    return lambda value: value.startswith(prefix)


def _endswith(suffix: str) -> Matcher:
    return lambda value: value.endswith(suffix)


def _contains(middle: str) -> Matcher:
    return lambda value: middle in value


def _prefix_suffix(prefix: str, suffix: str) -> Matcher:
    minimum = len(prefix) + len(suffix)
    return lambda value: len(value) >= minimum and value.startswith(prefix) and value.endswith(suffix)


def _regex_matcher(tokens: list[_Token]) -> Matcher:
    parts: list[str] = []
    for token in tokens:
        if token is _STAR:
            parts.append(".*")
        elif token is _ONE:
            parts.append(".")
        else:
            assert isinstance(token, str)
            parts.append(re.escape(token))
    compiled = re.compile("".join(parts), re.DOTALL)
    fullmatch = compiled.fullmatch
    return lambda value: fullmatch(value) is not None
