#!/usr/bin/env python3
"""Where iamguard spends a decision: cProfile over one benchmark workload.

    python benchmarks/profile_iamguard.py small            # or cached, conditions, 100000 ...
    python benchmarks/profile_iamguard.py 100000 --load    # parse + compile of the curve instead

Prints the functions with the most own time, each as a share of the total, so a regression or a
missed target can be traced to a line of the engine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads
from benchmarks.peers.iamguard_adapter import IamguardAdapter, documents_as_json


def _workload(key: str) -> workloads.Workload:
    named = {
        "cached": workloads.cached_workload,
        "small": workloads.small_workload,
        "conditions": workloads.conditions_workload,
    }
    return named[key]() if key in named else workloads.curve_workload(int(key.removeprefix("curve-")))


def report(profile: cProfile.Profile, top: int) -> str:
    stats = pstats.Stats(profile)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in entries.values()) or 1.0
    rows = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines = [f"{'own %':>6} {'cum %':>6} {'calls':>9}  function"]
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in rows:
        where = filename.replace(str(ROOT) + "/", "")
        lines.append(
            f"{100 * tottime / total:6.1f} {100 * cumtime / total:6.1f} {calls:9d}  {where}:{line}({name})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workload", help="cached | small | conditions | <curve size>")
    parser.add_argument("--iterations", type=int, default=20_000, help="decisions per request")
    parser.add_argument("--load", action="store_true", help="profile parse + compile + first decision")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)

    adapter = IamguardAdapter()
    workload = _workload(args.workload)
    profile = cProfile.Profile()
    if args.load:
        from iamguard.context import make_context
        from iamguard.evaluate.engine import Evaluator
        from iamguard.evaluate.inputs import PolicySet, Request
        from iamguard.principal import Principal

        texts = documents_as_json(workload)
        first = workload.requests[0]
        request = Request(
            Principal.from_arn(workload.principal_arn),
            first.action,
            first.resource,
            make_context(first.context),
        )
        profile.enable()
        policies = adapter.parse_all(texts)
        Evaluator().evaluate(request, PolicySet(identity=policies))  # compiles every policy
        profile.disable()
    else:
        prepared = adapter.prepare(workload)
        for call in prepared.calls:  # compile, fill memos
            call()
        profile.enable()
        for call in prepared.calls:
            for _ in range(args.iterations):
                call()
        profile.disable()
    print(report(profile, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
