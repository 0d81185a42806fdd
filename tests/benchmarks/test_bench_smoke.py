"""Smoke test of the benchmark suite: every installed library answers every workload request,
and they all give the answer AWS's evaluation logic gives (no timing is asserted).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import harness, run
from benchmarks.peers.base import DENIED, Adapter, Unsupported
from benchmarks.peers.naive import wildcard_match
from benchmarks.workloads import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Workload,
    all_workloads,
    curve_workload,
)

# A benchmark smoke test: run by `python3 tasks.py test-slow` and CI, not by `python3 tasks.py test`.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:keys will default to True:DeprecationWarning"),
]

#: Small curve sizes keep the slow peers (casbin, moto) fast enough for a unit test.
SMOKE_SIZES = (100, 1_000)
ADAPTERS, SKIPPED = run.load_adapters(log=lambda _message: None)
WORKLOADS = all_workloads(SMOKE_SIZES)
#: What a library may not express, and nothing else (anything new must be looked at).
EXPECTED_UNSUPPORTED = {("moto", "conditions")}


def _adapter_ids(items: list[Adapter]) -> list[str]:
    return [item.name for item in items]


def _workload_ids(items: list[Workload]) -> list[str]:
    return [item.key for item in items]


def test_core_adapters_are_available() -> None:
    """iamguard and the in-tree floor never depend on an optional install."""
    names = {adapter.name for adapter in ADAPTERS}
    assert {"iamguard", "naive loop"} <= names, SKIPPED


@pytest.mark.parametrize("workload", WORKLOADS, ids=_workload_ids(WORKLOADS))
@pytest.mark.parametrize("adapter", ADAPTERS, ids=_adapter_ids(ADAPTERS))
def test_every_adapter_answers_like_aws(adapter: Adapter, workload: Workload) -> None:
    try:
        prepared = adapter.prepare(workload)
    except Unsupported:
        assert (adapter.name, workload.key) in EXPECTED_UNSUPPORTED
        return
    assert (adapter.name, workload.key) not in EXPECTED_UNSUPPORTED
    assert len(prepared.calls) == len(workload.requests)
    for call, request in zip(prepared.calls, workload.requests, strict=False):
        for _ in range(5):  # a handful of iterations: repeated (and cached) calls stay right
            got = prepared.outcome(call())
            assert run.outcome_ok(got, request.expected), (adapter.name, workload.key, request.label, got)


@pytest.mark.parametrize("workload", WORKLOADS, ids=_workload_ids(WORKLOADS))
def test_adapters_agree_with_each_other(workload: Workload) -> None:
    """Three-valued libraries agree exactly; allow/deny-only ones agree on allow vs deny."""
    answers: dict[str, list[str]] = {}
    for adapter in ADAPTERS:
        try:
            prepared = adapter.prepare(workload)
        except Unsupported:
            continue
        answers[adapter.name] = [prepared.outcome(call()) for call in prepared.calls]
    assert len(answers) >= 2
    exact = [a for a in answers.values() if DENIED not in a]
    assert all(a == exact[0] for a in exact), answers
    allowed = {name: [x == ALLOWED for x in a] for name, a in answers.items()}
    assert len({tuple(v) for v in allowed.values()}) == 1, answers


def test_workloads_cover_all_three_outcomes() -> None:
    expected = {request.expected for workload in WORKLOADS for request in workload.requests}
    assert expected == {ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY}


@pytest.mark.parametrize("total", [100, 1_000, 10_000])
def test_curve_has_the_requested_size(total: int) -> None:
    workload = curve_workload(total)
    assert workload.statement_count == total
    assert [r.expected for r in workload.requests] == [ALLOWED]


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get*", "s3:PutObject", False),
        ("*", "", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("arn:aws:s3:::public-*/*", "arn:aws:s3:::public-x/y/z", True),
        ("arn:aws:s3:::public-*/*", "arn:aws:s3:::public-x", False),
        ("*a*b", "xaxxb", True),
        ("[ab]", "a", False),  # no fnmatch classes in IAM
    ],
)
def test_naive_wildcard(pattern: str, text: str, matches: bool) -> None:
    """IAM wildcards: '*' any run, '?' one character, nothing else special.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards"""
    assert wildcard_match(pattern, text) is matches


def test_harness_measures_every_call() -> None:
    counter = {"a": 0, "b": 0}
    tiny = harness.Settings(rounds=3, min_samples=2, batch_ns=10_000, budget_ns=100_000)
    stats = harness.measure(
        {
            "a": lambda: counter.__setitem__("a", counter["a"] + 1),
            "b": lambda: counter.__setitem__("b", counter["b"] + 1),
        },
        tiny,
    )
    assert set(stats) == {"a", "b"}
    for name, s in stats.items():
        assert s.samples >= 2 and s.per_batch >= 1 and 0 < s.median_us <= s.p90_us
        assert counter[name] >= s.samples * s.per_batch


def test_report_renders_every_library(tmp_path: Path) -> None:
    """A tiny end-to-end run writes the markdown table and JSON with one column per library."""
    code = run.main(
        [
            "--quick",
            "--sizes",
            "100",
            "--json",
            str(tmp_path / "r.json"),
            "--markdown",
            str(tmp_path / "r.md"),
        ]
    )
    assert code == 0
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    for adapter in ADAPTERS:
        assert adapter.name in text
    assert "wrong" not in text
