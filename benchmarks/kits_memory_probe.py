#!/usr/bin/env python3
"""Why 20,000 principals cost more than one: the same decisions on the 100,000-statement kit,
timed on the random stream and on one principal's requests, beside probes that only reach the
data a decision must read.

    python benchmarks/kits_memory_probe.py [--scale 1.0]

* ``decide``: ``Evaluator.evaluate`` (as ``kits.py`` times it);
* ``reach plan``: the set's compiled form, its plan for the action and the principal's type;
* ``reach allows``: that, plus the plan's Allow side and its parts (what a fused decision reads).

On one principal everything stays in the CPU's caches; spread over 20,000 each dependent load
is likely a miss. The difference between the two columns is that wait, not computation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness
from benchmarks.kit_shapes import kit_store, streams
from benchmarks.kits import IamguardEngine


def _reach_plan(request: Any, policies: Any) -> object:
    plan = policies._compiled.plans.get(request.action)
    return plan, request.principal.type


def _reach_allows(request: Any, policies: Any) -> object:
    _deny, allow, _keys = policies._compiled.plans.get(request.action)
    if allow is not None:
        return allow.always, allow.prefixes, allow.exact, allow.rest, request.principal.type
    return request.principal.type


def _cycle(func: Callable[..., object], items: list[tuple[Any, ...]]) -> Callable[[], object]:
    following = itertools.cycle(items).__next__
    return lambda: func(*following())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    store = kit_store("kit-100k", args.scale)
    engine = IamguardEngine(store, {name: json.dumps(doc) for name, doc in store.documents.items()})
    spread = [engine.args(r) for r in streams(store, 100_000)["fresh"]]
    decide = engine.evaluator.evaluate
    for request_args in spread:
        decide(*request_args)  # every plan built: the probes read, never build
    first_set = spread[0][1]
    one = [a for a in spread if a[1] is first_set] * 50
    calls = {}
    for name, func in (("decide", decide), ("reach plan", _reach_plan), ("reach allows", _reach_allows)):
        calls[f"{name}, 20,000 principals"] = _cycle(func, spread)
        calls[f"{name}, one principal"] = _cycle(func, one)
    calls["driver"] = _cycle(lambda *a: None, spread)
    stats = harness.measure(calls, harness.FULL)
    driver = stats.pop("driver").median_us
    print(f"µs per call, net of the stream driver ({driver:.2f} µs):")
    for name, stat in stats.items():
        print(f"  {name}: {stat.median_us - driver:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
