"""IAM wildcard patterns (``*`` and ``?``) compiled once into fast matchers.

IAM's pattern language is tiny: ``*`` matches any run of characters (including none, and it
crosses ``:`` and ``/``), ``?`` matches exactly one character, and every other character is
literal -- there are no ``[...]`` classes as in ``fnmatch``.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html

Why a compiler: a policy set may hold 100,000 statements sharing a few thousand patterns, and
the request path must not build regexes. :func:`compile_wildcard` picks the cheapest test for the
pattern's shape (``==``, ``startswith``, ``endswith``, ``in``, prefix+suffix, else a glob
matcher that never backtracks: see :func:`_glob_matcher`) and caches the result per
``(pattern, flags)``.

Escaped patterns (``escaped=True``) are what :meth:`iamguard.policy.variables.Template.render`
produces with ``escape_wildcards=True``: a backslash makes the next character literal, so a
``*`` that came from a substituted value (``${aws:username}``) can never act as a wildcard.
Without ``escaped`` a backslash is an ordinary literal character, as in IAM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import methodcaller

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
        return _glob_matcher(tokens)
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
    return _glob_matcher(tokens)


def _always(value: str) -> bool:
    return True


# The three commonest shapes are C-level callables (``methodcaller`` calls the value's own
# method): no Python frame per test, which a lambda costs on every candidate statement.


def _startswith(prefix: str) -> Matcher:
    return methodcaller("startswith", prefix)


def _endswith(suffix: str) -> Matcher:
    return methodcaller("endswith", suffix)


def _contains(middle: str) -> Matcher:
    return methodcaller("__contains__", middle)  # value.__contains__(middle): ``middle in value``


def _prefix_suffix(prefix: str, suffix: str) -> Matcher:
    minimum = len(prefix) + len(suffix)
    return lambda value: len(value) >= minimum and value.startswith(prefix) and value.endswith(suffix)


#: How many anchor hits may fail verification before :meth:`_Segment.find` switches to the
#: bit-parallel scan (the common case never gets there; a hostile ``?a?a?a?b`` pattern does).
_VERIFY_BUDGET = 8


class _Segment:
    """A run of the pattern between two stars: literal pieces at fixed offsets, ``?`` between.

    ``a?c?`` is ``length`` 4 with pieces ``((0, "a"), (2, "c"))``. ``anchor`` is the longest piece,
    the one :meth:`find` searches for with ``str.find`` (the others are then checked in place).
    """

    __slots__ = ("_masks", "_wild", "anchor", "length", "pieces")

    def __init__(self, tokens: list[_Token]) -> None:
        pieces: list[tuple[int, str]] = []
        offset = 0
        for token in tokens:
            if token is _ONE:
                offset += 1
            else:
                assert isinstance(token, str)
                pieces.append((offset, token))
                offset += len(token)
        self.length = offset
        self.pieces = tuple(pieces)
        self.anchor = max(pieces, key=lambda piece: len(piece[1])) if pieces else None
        self._masks: dict[str, int] | None = None  # built on first need by _scan
        self._wild = 0

    def matches_at(self, value: str, position: int) -> bool:
        """Does the segment match ``value`` at ``position``? (Caller checks it fits.)"""
        for offset, text in self.pieces:
            if not value.startswith(text, position + offset):
                return False
        return True

    def find(self, value: str, start: int, end: int) -> int:
        """The leftmost position ``p >= start`` where the segment matches inside ``value[:end]``,
        or -1. Positions only move forward: one call costs O(len(value) * len(pattern)) at worst.
        """
        last = end - self.length  # the last position the segment may start at
        anchor = self.anchor
        if anchor is None:  # only "?"s: any position that fits
            return start if start <= last else -1
        anchor_offset, anchor_text = anchor
        if len(self.pieces) == 1:  # one literal piece: str.find alone decides
            hit = value.find(anchor_text, start + anchor_offset, last + anchor_offset + len(anchor_text))
            return hit - anchor_offset if hit >= 0 else -1
        stop = last + anchor_offset + len(anchor_text)
        budget = _VERIFY_BUDGET
        while start <= last:
            hit = value.find(anchor_text, start + anchor_offset, stop)
            if hit < 0:
                return -1
            position = hit - anchor_offset
            if self.matches_at(value, position):
                return position
            start = position + 1
            budget -= 1
            if not budget:
                return self._scan(value, start, end)
        return -1

    def _scan(self, value: str, start: int, end: int) -> int:
        """:meth:`find` by shift-and (bitap): one pass over ``value[start:end]``, one integer
        shift per character, whatever the pattern. Bit ``j`` of ``state`` is set when the first
        ``j + 1`` characters of the segment match ending at the current character.
        """
        masks = self._masks
        if masks is None:
            masks, self._wild = self._build_masks()
        wild = self._wild
        high = 1 << (self.length - 1)
        state = 0
        get = masks.get
        for index, char in enumerate(value[start:end], start):
            state = ((state << 1) | 1) & get(char, wild)
            if state & high:
                return index - self.length + 1
        return -1

    def _build_masks(self) -> tuple[dict[str, int], int]:
        """Per character, the bits of the segment positions it can fill (its own or ``?``)."""
        wild = (1 << self.length) - 1
        masks: dict[str, int] = {}
        for offset, text in self.pieces:
            for index in range(offset, offset + len(text)):
                wild &= ~(1 << index)
        for offset, text in self.pieces:
            for index, char in enumerate(text, offset):
                masks[char] = masks.get(char, wild) | (1 << index)
        self._masks = masks
        return masks, wild


def _segments(tokens: list[_Token]) -> list[_Segment]:
    """The star-separated segments; ``n`` stars give ``n + 1`` (the outer ones may be empty)."""
    segments: list[_Segment] = []
    current: list[_Token] = []
    for token in tokens:
        if token is _STAR:
            segments.append(_Segment(current))
            current = []
        else:
            current.append(token)
    segments.append(_Segment(current))
    return segments


def _glob_matcher(tokens: list[_Token]) -> Matcher:
    """The general matcher: no regex, no backtracking.

    Why: a backtracking regex (``.*`` per star) takes time exponential in the number of stars
    on a non-matching value -- ``arn:aws:s3:::*/*/*/*.csv`` against an 800-character key took
    12 s -- and any caller can send such a pattern in its own session policy. Here the first and
    last segments are anchored at the ends, and each middle segment takes its leftmost match
    after the previous one: for ``*``-separated globs the leftmost match is never worse than any
    later one (whatever a later choice leaves to match, the leftmost leaves a superset of), so no
    choice is ever revisited. Cost: a few ``str.find`` calls for the usual pattern; a segment
    with ``?`` whose anchor keeps matching falls back to one shift-and pass. Worst case
    O(len(value) * len(pattern)), never exponential.
    """
    segments = _segments(tokens)
    if len(segments) == 1:
        (only,) = segments
        length = only.length
        return lambda value: len(value) == length and only.matches_at(value, 0)
    head, middle, tail = segments[0], tuple(segments[1:-1]), segments[-1]
    outer = head.length + tail.length

    def matches(value: str) -> bool:
        size = len(value)
        if size < outer or not head.matches_at(value, 0):
            return False
        end = size - tail.length
        if not tail.matches_at(value, end):
            return False
        position = head.length
        for segment in middle:
            found = segment.find(value, position, end)
            if found < 0:
                return False
            position = found + segment.length
        return True

    return matches
