"""Record oracle answers: generate cases, ask iam-simulate, write ``tests/data/oracle/cases.json``.

    python tests/differential/record.py --count 2500 --seed 20240601

Needs node (the pinned oracle is installed with ``npm ci`` on first use), not iamguard. Cases
the oracle refuses (it validates policies, actions and resource types) are dropped and counted;
a case whose context keys the oracle would ignore is a generator bug and stops the run.
``--known FILE`` carries ``known_disagreement`` notes (``{case_id: reason}``) into the file so
the recorded test can mark exactly those cases as expected failures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make the ``tests`` package importable
    sys.path.insert(0, str(ROOT))

from tests.differential.generate import generate_cases  # noqa: E402
from tests.differential.harness import RECORDED, run_oracle  # noqa: E402


def record(seed: int, count: int, known: dict[str, str]) -> dict[str, Any]:
    cases = generate_cases(seed, count)
    info, results = run_oracle(cases)
    kept: list[dict[str, Any]] = []
    refused = 0
    for case, result in zip(cases, results, strict=False):
        if result["id"] != case["id"]:
            raise RuntimeError(f"oracle answered {result['id']} for {case['id']}")
        if result["ignored_context_keys"]:
            raise RuntimeError(f"{case['id']}: oracle ignored context keys {result['ignored_context_keys']}")
        if result["decision"] is None:
            refused += 1
            continue
        row = dict(case, expected=result["decision"])
        if case["id"] in known:
            row["known_disagreement"] = known[case["id"]]
        kept.append(row)
    return {
        "oracle": info,
        "generator": {"seed": seed, "count": count, "refused_by_oracle": refused},
        "cases": kept,
    }


def write(document: dict[str, Any], path: Path) -> None:
    """One case per line: small diffs when re-recorded, and the file stays a few MB."""
    head = {k: v for k, v in document.items() if k != "cases"}
    lines = [json.dumps(case, separators=(",", ":"), sort_keys=False) for case in document["cases"]]
    body = ",\n".join(lines)
    text = json.dumps(head, indent=1)[:-2] + ',\n "cases": [\n' + body + "\n ]\n}\n"
    json.loads(text)  # INVARIANT: the hand-assembled text is valid JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record iam-simulate's decisions for generated cases.")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--count", type=int, default=2500)
    parser.add_argument("--out", type=Path, default=RECORDED)
    parser.add_argument("--known", type=Path, help="JSON object {case_id: reason} of known disagreements")
    args = parser.parse_args(argv)
    known = json.loads(args.known.read_text()) if args.known else {}
    document = record(args.seed, args.count, known)
    write(document, args.out)
    decisions: dict[str, int] = {}
    for case in document["cases"]:
        decisions[case["expected"]] = decisions.get(case["expected"], 0) + 1
    print(
        f"recorded {len(document['cases'])} cases with {document['oracle']['name']} "
        f"{document['oracle']['version']} -> {args.out} ({decisions}; "
        f"{document['generator']['refused_by_oracle']} refused)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
