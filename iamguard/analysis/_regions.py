"""Witness strings: one string for every region a set of IAM patterns cuts the string space into.

A *region* is a set of strings that every pattern treats alike: for patterns ``p1..pn`` the
region of a string ``s`` is its *signature* ``(s in L(p1), ..., s in L(pn))``. Two strings with
the same signature get the same answer from every test built from these patterns (an
``Action`` list, a ``NotResource``, ``StringLike`` values, ``ArnLike`` components), so trying
one string per signature decides every question about them.

Patterns are token sequences: a :class:`CharSet` consumes one character it accepts, a
:class:`Star` consumes any run of characters it accepts. This covers IAM globs (``*`` crosses
``:`` and ``/``; ``?`` is one character), exact strings, case-insensitive strings (each position
accepts every character whose ``lower()`` is the same), and ``ArnLike`` components, whose
wildcards cannot cross ``:``.

Completeness (why :func:`region_witnesses` returns one string for *every* non-empty region):

1. Each pattern is a non-deterministic automaton whose states are token positions; a string's
   signature is a function of the tuple of state sets the automata are in after reading it
   (the *product state*).
2. Two characters accepted by exactly the same tokens move every automaton identically, so one
   representative per such character class is enough, plus one character no token names
   (every such character behaves alike: it is accepted only by tokens that accept anything).
3. A breadth-first search from the start state over those representatives reaches every
   reachable product state (the classes partition all characters); so every signature some
   string has is the signature of a reached state, and the search records a string for it.

The search is bounded (``limit`` product states); past the bound the answer says it is
incomplete and the caller reports UNKNOWN rather than a PASS.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "READABLE_ARN",
    "CharSet",
    "Pattern",
    "Regions",
    "Star",
    "arn_tokens",
    "glob_tokens",
    "literal_tokens",
    "region_witnesses",
]


@dataclass(frozen=True, slots=True)
class CharSet:
    """One position: a character in ``chars`` (``None``: any) and not in ``excluded``."""

    chars: frozenset[str] | None
    excluded: frozenset[str] = frozenset()

    def accepts(self, char: str) -> bool:
        return (self.chars is None or char in self.chars) and char not in self.excluded


@dataclass(frozen=True, slots=True)
class Star:
    """Any run (possibly empty) of characters not in ``excluded``."""

    excluded: frozenset[str] = frozenset()

    def accepts(self, char: str) -> bool:
        return char not in self.excluded


Token = CharSet | Star
Pattern = tuple[Token, ...]

_ANY = CharSet(None)
_COLON = frozenset(":")


@functools.lru_cache(maxsize=256)
def _case_fold_class(char: str) -> frozenset[str]:
    """Every character ``c`` with ``c.lower() == char.lower()`` (one character long).

    Why scan: ``"\\u212a".lower() == "k"`` (KELVIN SIGN), so a case-insensitive ``k`` accepts
    three characters, not two; only a scan of the code space finds such pairs for sure.
    """
    target = char.lower()
    return frozenset(c for c in _lowers_to(target) if c.lower() == target)


#: Characters with a lower-case mapping all lie in the first two planes (the last is ADLAM
#: SMALL LETTER SHA's capital, U+1E921, as of Unicode 16); scanning them is a tenth of the space.
_CASED_PLANES_END = 0x20000


@functools.lru_cache(maxsize=1)
def _lower_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for code in range(_CASED_PLANES_END):
        c = chr(code)
        low = c.lower()
        if len(low) == 1 and low != c:
            index.setdefault(low, []).append(c)
    return {k: tuple(v) for k, v in index.items()}


def _lowers_to(target: str) -> tuple[str, ...]:
    return (target, *_lower_index().get(target, ()))


def literal_tokens(text: str, *, ignore_case: bool = False) -> Pattern:
    """The pattern accepting exactly ``text`` (compared with ``lower()`` under ``ignore_case``)."""
    if ignore_case:
        return tuple(CharSet(_case_fold_class(c)) for c in text)
    return tuple(CharSet(frozenset(c)) for c in text)


def glob_tokens(text: str, *, escaped: bool = False, star_excluded: frozenset[str] = frozenset()) -> Pattern:
    """An IAM wildcard pattern (``*``, ``?``; a backslash escapes the next character when
    ``escaped``, as :mod:`iamguard.policy.wildcard` reads rendered policy variables)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if escaped and char == "\\" and i + 1 < n:
            tokens.append(CharSet(frozenset(text[i + 1])))
            i += 2
            continue
        if char == "*":
            if not (tokens and isinstance(tokens[-1], Star)):
                tokens.append(Star(star_excluded))
        elif char == "?":
            tokens.append(CharSet(None, star_excluded))
        else:
            tokens.append(CharSet(frozenset(char)))
        i += 1
    return tuple(tokens)


def arn_tokens(text: str, *, escaped: bool = False) -> Pattern | None:
    """An ``ArnLike`` pattern: six colon-separated components, the first five without ``:``.

    ``None`` when the pattern is not ARN-shaped (it then matches nothing; see ``policy/arn.py``).
    INVARIANT: with ``escaped`` an escaped colon cannot occur (rendered text never escapes ``:``),
    so splitting on ``:`` splits components as the matcher does.
    """
    parts = text.split(":", 5)
    if len(parts) != 6:
        return None
    tokens: list[Token] = []
    for index, part in enumerate(parts):
        if index:
            tokens.append(CharSet(_COLON))
        tokens.extend(glob_tokens(part, escaped=escaped, star_excluded=_COLON if index < 5 else frozenset()))
    return tuple(tokens)


#: Strings the ARN operators can read: ``arn:`` then at least four more colons.
READABLE_ARN: Pattern = glob_tokens("arn:*:*:*:*:*")


@dataclass(frozen=True, slots=True)
class Regions:
    """Witnesses per signature; ``complete`` is False when the search hit its bound."""

    witnesses: dict[tuple[bool, ...], tuple[str, ...]]
    complete: bool


def _closure(pattern: Pattern, positions: Iterable[int]) -> frozenset[int]:
    out: set[int] = set()
    for position in positions:
        while True:
            out.add(position)
            if position < len(pattern) and isinstance(pattern[position], Star):
                position += 1
                continue
            break
    return frozenset(out)


class _Union:
    """The patterns' automata as one: a state is the set of live (pattern, position) pairs.

    The subset construction over this union is the product of the patterns' own subset
    constructions (completeness step 1), but a step costs only the live pairs, not one per
    pattern; each pair's move on a character is computed once.
    """

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = patterns
        self.moves: dict[tuple[int, int, str], tuple[tuple[int, int], ...]] = {}

    def step(self, state: frozenset[tuple[int, int]], char: str) -> frozenset[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        moves = self.moves
        for index, position in state:
            key = (index, position, char)
            found = moves.get(key)
            if found is None:
                found = moves[key] = self._move(index, position, char)
            out.update(found)
        return frozenset(out)

    def relevant(self, state: frozenset[tuple[int, int]], alphabet: Sequence[str]) -> list[str]:
        """The characters worth reading from ``state``: those a live position's token names,
        and one of the rest. Why one suffices: a character no live token names (in its set or
        its exclusions) is accepted exactly by the live tokens that accept any character, so
        all such characters lead to the same state."""
        named: set[str] = set()
        for index, position in state:
            pattern = self.patterns[index]
            if position < len(pattern):
                token = pattern[position]
                if isinstance(token, CharSet) and token.chars is not None:
                    named |= token.chars
                named |= token.excluded
        chosen = [c for c in alphabet if c in named]
        rest = next((c for c in alphabet if c not in named), None)
        if rest is not None:
            chosen.append(rest)
        return chosen

    def _move(self, index: int, position: int, char: str) -> tuple[tuple[int, int], ...]:
        pattern = self.patterns[index]
        if position >= len(pattern) or not pattern[position].accepts(char):
            return ()
        following = position if isinstance(pattern[position], Star) else position + 1
        return tuple((index, p) for p in _closure(pattern, (following,)))


def _alphabet(patterns: Sequence[Pattern], avoid: frozenset[str]) -> list[str]:
    """One character per class of characters the tokens cannot tell apart (completeness step 2)."""
    tokens = {token for pattern in patterns for token in pattern}
    named: set[str] = set()
    for token in tokens:
        if isinstance(token, CharSet) and token.chars is not None:
            named |= token.chars
        named |= token.excluded
    ordered = sorted(tokens, key=repr)
    classes: dict[tuple[bool, ...], str] = {}
    for char in sorted(named):
        if char in avoid:
            continue
        signature = tuple(t.accepts(char) for t in ordered)
        classes.setdefault(signature, char)
    fresh = next(c for c in _FRESH_CANDIDATES if c not in named and c not in avoid)
    signature = tuple(t.accepts(fresh) for t in ordered)
    classes.setdefault(signature, fresh)
    # Readable witnesses first: letters and digits before punctuation.
    return sorted(classes.values(), key=lambda c: (not c.isalnum(), c))


_FRESH_CANDIDATES = "xqzjkvwyabcdefghilmnoprstu0123456789XQZJKVWY-_." + "".join(
    chr(c) for c in range(0x100, 0x200)
)


def region_witnesses(
    patterns: Sequence[Pattern],
    *,
    limit: int = 20_000,
    avoid: frozenset[str] = frozenset(),
    per_region: int = 2,
) -> Regions:
    """Up to ``per_region`` witness strings for every signature some string has.

    ``avoid`` names characters left out of the alphabet (for example ``*`` and ``?`` in action
    names, which IAM never accepts there): the answer then covers the strings without them.
    Non-empty witnesses are listed first for each signature.
    """
    alphabet = _alphabet(patterns, avoid)
    finals = [len(p) for p in patterns]
    union = _Union(patterns)
    step = union.step
    start: frozenset[tuple[int, int]] = frozenset(
        (index, position) for index, pattern in enumerate(patterns) for position in _closure(pattern, (0,))
    )
    seen = {start}
    queue: deque[tuple[frozenset[tuple[int, int]], str]] = deque([(start, "")])
    found: dict[tuple[bool, ...], list[str]] = {}
    complete = True
    while queue:
        state, text = queue.popleft()
        accepted = {index for index, position in state if position == finals[index]}
        signature = tuple(index in accepted for index in range(len(patterns)))
        bucket = found.setdefault(signature, [])
        if len(bucket) < per_region + 1:
            bucket.append(text)
        if not state:
            continue  # every automaton is dead: nothing new past here
        for char in union.relevant(state, alphabet):
            following = step(state, char)
            if following in seen:
                continue
            if len(seen) >= limit:
                complete = False
                break
            seen.add(following)
            queue.append((following, text + char))
    witnesses = {
        signature: tuple(sorted(texts, key=lambda t: (t == "", len(t)))[:per_region])
        for signature, texts in found.items()
    }
    return Regions(witnesses, complete)
