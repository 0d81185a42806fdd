#!/usr/bin/env python
"""Worst cases of IAM wildcard matching (``compile_wildcard``), against the regex it replaced.

Until commit a29b1b2 every pattern with a ``?`` or more than two ``*`` went to a backtracking
``re`` fullmatch (``.*`` per star), which is exponential in the number of stars on a value that
does not match: ``arn:aws:s3:::*/*/*/*.csv`` against an 800-character resource took seconds. Any
caller can put such a pattern in its own AssumeRole session policy, and a bucket owner in a
bucket policy. The glob matcher of ``iamguard/policy/wildcard.py`` never backtracks.

Per case:

* ``glob``: the compiled matcher, timed by :func:`benchmarks.harness.measure` (interleaved
  batches, GC off, median of the batches);
* ``old regex``: the pattern the old code built, run once in a child process with a timeout
  (a C regex cannot be interrupted in-process); "> N s" when it did not finish.

Run: ``python benchmarks/wildcard_bench.py [--quick] [--json PATH] [--markdown PATH]``; results
go to ``benchmarks/results/wildcard_latest.{md,json}`` by default.
"""

from __future__ import annotations

import argparse
import functools
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness
from benchmarks.sigv4_bench import git_head
from iamguard.policy.wildcard import compile_wildcard

RESULTS = ROOT / "benchmarks" / "results"
#: The brief's target for the 7-star pattern against a 1,600-character resource.
TARGET_US = 50.0


@dataclass(frozen=True)
class Case:
    name: str
    pattern: str
    value: str
    note: str


def _cases() -> tuple[Case, ...]:
    s3 = "arn:aws:s3:::"
    seven = s3 + "*/*/*/*/*/*/*/*.csv"  # 7 stars
    return (
        Case("fast path", s3 + "bucket/*", s3 + "bucket/" + "k" * 1600, "prefix*: str.startswith"),
        Case("4 stars, 800", s3 + "*/*/*/*.csv", s3 + "a/" * 400, "the reported 12.3 s case"),
        Case("4 stars, 1600", s3 + "*/*/*/*.csv", s3 + "a/" * 800, ""),
        Case("5 stars, 400", "*a*a*a*a*b", "a" * 400, "the reported > 60 s shape"),
        Case("7 stars, 100", seven, s3 + "a/" * 44, "short: the old regex finishes (or not)"),
        Case("7 stars, 1600", seven, s3 + "a/" * 794, "target < 50 µs"),
        Case("7 stars, 1600, .csv end", seven, s3 + "a" * 1583 + ".csv", "tail matches, middles fail"),
        Case("7 one-char stars, 1600", "*a*a*a*a*a*a*a*b", "a" * 1600, "every find hits"),
        Case("? segment, 1600", "*?a?a?a?b*", "a" * 1600, "anchor hits everywhere: shift-and scan"),
        Case("? x 200, 1600", "*" + "?a" * 200 + "?b*", "a" * 1600, "a 400-character ? segment"),
        Case("8 ? between stars, 1600", "a*?*?*?*?*?*?*?*?b", "a" * 1600, ""),
    )


def _old_regex(pattern: str) -> str:
    """The regex the pre-fix ``_regex_matcher`` built (no escapes in these patterns)."""
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            if not (parts and parts[-1] == ".*"):
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


_CHILD = """
import re, sys, time
pattern, value = sys.argv[1], sys.argv[2]
compiled = re.compile(pattern, re.DOTALL)
start = time.perf_counter()
result = compiled.fullmatch(value) is not None
print(time.perf_counter() - start, result)
"""


def time_old_regex(case: Case, timeout_s: float) -> dict[str, Any]:
    """One fullmatch of the old regex in a child process: seconds, or a timeout."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, _old_regex(case.pattern), case.value],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timeout_s": timeout_s}
    seconds, result = done.stdout.split()
    return {"seconds": float(seconds), "matched": result == "True"}


def run(
    settings: harness.Settings, timeout_s: float, cases: tuple[Case, ...] | None = None
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for case in cases or _cases():
        matcher = compile_wildcard(case.pattern)
        started = time.perf_counter()
        matched = matcher(case.value)
        value = case.value
        stats = harness.measure({"glob": functools.partial(matcher, value)}, settings)["glob"]
        old = time_old_regex(case, timeout_s)
        if "matched" in old and old["matched"] is not matched:
            raise AssertionError(f"{case.name}: glob and old regex disagree")
        rows[case.name] = {
            "pattern": case.pattern,
            "value_chars": len(case.value),
            "matched": matched,
            "note": case.note,
            "first_call_s": time.perf_counter() - started,
            "glob": stats.to_json(),
            "old_regex": old,
        }
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_head(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "old_regex_timeout_s": timeout_s,
        "target_us": TARGET_US,
        "cases": rows,
    }


def _old_text(old: dict[str, Any]) -> str:
    if old.get("seconds") is None:
        return f"> {old['timeout_s']:g} s (killed)"
    seconds = float(old["seconds"])
    return f"{seconds * 1e6:.1f} µs" if seconds < 0.01 else f"{seconds:.2f} s"


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Wildcard matching: worst cases",
        "",
        (
            f"Generated {result['generated']} by `benchmarks/wildcard_bench.py` at {result['commit']} — "
            f"Python {result['python']}, {result['platform']}. Glob: median µs per match over interleaved "
            "batches (`benchmarks/harness.py`); old regex: one fullmatch in a child process, killed after "
            f"{result['old_regex_timeout_s']:g} s. Every case is a non-match unless marked."
        ),
        "",
        "| case | pattern | value chars | glob µs (p90) | old regex, one call | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, row in result["cases"].items():
        glob = row["glob"]
        pattern = row["pattern"] if len(row["pattern"]) <= 40 else row["pattern"][:37] + "..."
        note = row["note"] + (" (matches)" if row["matched"] else "")
        lines.append(
            f"| {name} | `{pattern}` | {row['value_chars']} | {glob['median_us']:.2f} ({glob['p90_us']:.2f}) | "
            f"{_old_text(row['old_regex'])} | {note} |"
        )
    seven = result["cases"].get("7 stars, 1600")
    if seven is not None:
        verdict = "meets" if seven["glob"]["median_us"] < result["target_us"] else "misses"
        lines += [
            "",
            f"7 stars vs 1,600 characters: {seven['glob']['median_us']:.2f} µs, {verdict} the "
            f"{result['target_us']:g} µs target.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short batches, old regex killed after 2 s")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before the old regex is killed")
    parser.add_argument("--json", type=Path, default=RESULTS / "wildcard_latest.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "wildcard_latest.md")
    args = parser.parse_args(argv)
    settings = harness.QUICK if args.quick else harness.FULL
    timeout = args.timeout if args.timeout is not None else (2.0 if args.quick else 20.0)
    result = run(settings, timeout)
    harness.write_results(result, to_markdown(result), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
