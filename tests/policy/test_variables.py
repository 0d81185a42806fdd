"""Policy variables: rendering table (tests/data/variables/render.json) and properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard.context import make_context
from iamguard.policy.arn import arn_matches
from iamguard.policy.variables import compile_template, escape_literal
from iamguard.policy.wildcard import compile_wildcard

CASES = json.loads((Path(__file__).parent.parent / "data" / "variables" / "render.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"] or "<empty>" for c in CASES])
def test_render_table(case: dict[str, Any]) -> None:
    template = compile_template(case["text"])
    context = make_context(case["context"])
    assert template.text == case["text"]
    assert template.render(context) == case["plain"], case["rule"]
    assert template.render(context, escape_wildcards=True) == case["escaped"], case["rule"]
    assert template.referenced_keys == frozenset(case["referenced_keys"])


def test_has_variables_only_when_output_depends_on_request() -> None:
    assert compile_template("arn:aws:s3:::b/${aws:username}").has_variables
    assert not compile_template("arn:aws:s3:::b/${*}").has_variables
    assert not compile_template("arn:aws:s3:::b/*").has_variables


def test_escaped_render_makes_substituted_wildcards_literal_for_resources() -> None:
    """The engine's use: Resource "arn:aws:s3:::bucket/${aws:username}/*" for user "a*"."""
    template = compile_template("arn:aws:s3:::bucket/${aws:username}/*")
    pattern = template.render({"aws:username": "a*"}, escape_wildcards=True)
    assert pattern is not None
    assert arn_matches(pattern, "arn:aws:s3:::bucket/a*/file", escaped=True)
    assert not arn_matches(pattern, "arn:aws:s3:::bucket/alice/file", escaped=True)
    matcher = compile_wildcard(pattern, escaped=True)
    assert matcher("arn:aws:s3:::bucket/a*/x/y")
    assert not matcher("arn:aws:s3:::bucket/ab/x")


_value = st.text(alphabet="ab*?\\/:$'{} ", max_size=8)


@given(_value)
def test_substituted_value_always_matches_itself_literally(value: str) -> None:
    template = compile_template("p/${aws:username}/s")
    pattern = template.render({"aws:username": value}, escape_wildcards=True)
    assert pattern is not None
    matcher = compile_wildcard(pattern, escaped=True)
    assert matcher(f"p/{value}/s")
    # and nothing else of the same shape matches unless it is the same text
    assert matcher(f"p/{value}x/s") is False


@given(_value, _value)
def test_escape_literal_matches_exactly_itself(text: str, other: str) -> None:
    matcher = compile_wildcard(escape_literal(text), escaped=True)
    assert matcher(text)
    assert matcher(other) is (other == text)


@given(st.text(max_size=20))
def test_compile_template_never_raises_and_plain_text_roundtrips(text: str) -> None:
    template = compile_template(text)
    if "${" not in text:
        assert template.render({}) == text
        assert not template.has_variables
