"""Live conformance job: fresh random cases, iamguard against iam-simulate, exit 1 on any difference.

    python tests/differential/live.py --count 2000 --seed 7

Each disagreement is shrunk (policies, statements, condition entries and context keys dropped
while the two still differ) and printed as a readable case. Needs node and npm (the pinned
oracle is installed with ``npm ci`` on first use) and an importable iamguard.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make the ``tests`` package importable
    sys.path.insert(0, str(ROOT))

from tests.differential.generate import generate_cases  # noqa: E402
from tests.differential.harness import iamguard_decision, minimize, run_oracle  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare iamguard with iam-simulate on random cases.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--show", type=int, default=10, help="minimize and print at most this many")
    parser.add_argument("--no-minimize", action="store_true")
    args = parser.parse_args(argv)

    cases = generate_cases(args.seed, args.count)
    info, results = run_oracle(cases)
    outcomes: collections.Counter[str] = collections.Counter()
    failures = []
    for case, result in zip(cases, results, strict=False):
        expected = result["decision"]
        if expected is None:
            outcomes["refused by oracle"] += 1
            continue
        actual = iamguard_decision(case)
        if actual == expected:
            outcomes["agree"] += 1
        else:
            outcomes[f"oracle {expected} / iamguard {actual.split(':')[0]}"] += 1
            failures.append((case, expected, actual))

    print(f"oracle {info.get('name')} {info.get('version')}; seed {args.seed}, {args.count} cases")
    for outcome, n in outcomes.most_common():
        print(f"  {n:6d}  {outcome}")
    for case, expected, actual in failures[: args.show]:
        small = case if args.no_minimize else minimize(case)
        _, (small_result,) = run_oracle([small])
        print(
            f"\n--- {case['id']}: oracle says {small_result['decision']}, iamguard says {iamguard_decision(small)}"
        )
        print(f"    (unminimized: oracle {expected}, iamguard {actual})")
        print(json.dumps(small, indent=2))
    if len(failures) > args.show:
        print(f"\n... and {len(failures) - args.show} more disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
