"""The completeness claim of ``analysis/_regions.py``, checked by brute force.

For random small pattern sets, every string over a small alphabet (pattern characters, a
character no pattern names, an upper-case letter) up to length 5 has a signature that
``region_witnesses`` lists, and every listed witness really has the signature it is listed
under. The reference matchers are the engine's own (``compile_wildcard``, ``compile_arn_pattern``)
and plain ``str.lower`` comparison.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.analysis._regions import (
    READABLE_ARN,
    Pattern,
    arn_tokens,
    glob_tokens,
    literal_tokens,
    region_witnesses,
)
from iamguard.policy.arn import compile_arn_pattern
from iamguard.policy.wildcard import compile_wildcard

ALPHABET = "ab:Kc"  # "c" is named by no pattern; "K" only through case-insensitive ones
Spec = tuple[str, str]  # (kind, text)

spec = st.one_of(
    st.tuples(st.just("glob"), st.text("ab:*?", max_size=4)),
    st.tuples(st.just("literal"), st.text("ab:", max_size=3)),
    st.tuples(st.just("ignore_case"), st.text("abk", max_size=3)),
)


def _build(kind: str, text: str) -> tuple[Pattern, Callable[[str], bool]]:
    if kind == "glob":
        return glob_tokens(text), compile_wildcard(text)
    if kind == "literal":
        return literal_tokens(text), text.__eq__
    return literal_tokens(text, ignore_case=True), lambda s: s.lower() == text.lower()


def _strings(max_length: int) -> list[str]:
    return ["".join(p) for n in range(max_length + 1) for p in itertools.product(ALPHABET, repeat=n)]


STRINGS = _strings(5)


@settings(max_examples=60, deadline=None)
@given(st.lists(spec, min_size=1, max_size=4))
def test_every_signature_has_a_witness(specs: list[Spec]) -> None:
    built = [_build(kind, text) for kind, text in specs]
    regions = region_witnesses([p for p, _ in built])
    assert regions.complete
    for signature, witnesses in regions.witnesses.items():
        for witness in witnesses:
            assert tuple(m(witness) for _, m in built) == signature, (witness, specs)
    for text in STRINGS:
        assert tuple(m(text) for _, m in built) in regions.witnesses, (text, specs)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("ab*?", max_size=3), min_size=1, max_size=3))
def test_arn_components_never_cross_colons(components: list[str]) -> None:
    """ArnLike patterns (wildcards stop at ``:`` in the first five components) and the "can the
    ARN operators read it" pattern, against the engine's ARN matcher."""
    texts = [f"arn:{c}:s::a:{c}" for c in components]
    patterns: list[Pattern] = []
    for text in texts:
        tokens = arn_tokens(text)
        assert tokens is not None
        patterns.append(tokens)
    regions = region_witnesses([*patterns, READABLE_ARN])
    matchers = [compile_arn_pattern(t) for t in texts]

    def signature(value: str) -> tuple[bool, ...]:
        readable = value.startswith("arn:") and value.count(":") >= 5
        return (*(m(value) for m in matchers), readable)

    for key, witnesses in regions.witnesses.items():
        for witness in witnesses:
            assert signature(witness) == key, witness
    probes = [f"arn:{a}:s:{b}:a:{c}" for a, b, c in itertools.product(["", "a", "a:b", "ab", "b?"], repeat=3)]
    for probe in probes:
        assert signature(probe) in regions.witnesses, probe


def test_a_bound_makes_the_answer_incomplete() -> None:
    patterns = [glob_tokens(f"*{c}*{c}*") for c in "abcdefgh"]
    regions = region_witnesses(patterns, limit=50)
    assert not regions.complete


def test_kelvin_sign_is_a_case_insensitive_k() -> None:
    """``"\\u212a".lower() == "k"``: the case-insensitive pattern accepts it, so must its region."""
    pattern = literal_tokens("k", ignore_case=True)
    assert pattern[0].accepts("\u212a")


def test_no_character_past_the_scanned_planes_has_a_lower_case() -> None:
    """The case-insensitive classes scan only the first two planes; a Python whose Unicode data
    maps a later character would make them incomplete, and this test would say so."""
    import sys

    from iamguard.analysis._regions import _CASED_PLANES_END

    assert all(chr(c).lower() == chr(c) for c in range(_CASED_PLANES_END, sys.maxunicode + 1))
