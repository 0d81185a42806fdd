#!/usr/bin/env python3
"""Instructions per decision on the outside kits' shapes, counted by valgrind's callgrind.

    python benchmarks/kits_instructions.py                    every kit, uncached + cached hit/miss
    python benchmarks/kits_instructions.py --only kit-10 --modes uncached
    python benchmarks/kits_instructions.py --scale 0.1        kit-10k/kit-100k at a tenth

Why: times on this shared 2-core machine drift with the other processes; instruction counts do
not. Each (kit, mode) runs twice in a fresh process under callgrind, with ``low`` and ``high``
decisions of the kit's ``fresh`` stream (``repeat`` for a cached hit); the difference divided by
``high - low`` is one decision, start-up and loading cancelled out. Instructions are not time
(a cache miss of the CPU costs none), so the many-principal kits are also worth timing.

Modes: ``uncached`` (``Evaluator.evaluate``), ``miss`` (``CachedEvaluator`` on the fresh stream,
every request new) and ``hit`` (the repeat stream after it is cached), each beside ``driver``
(only the stream step) so the engine's own share can be read off.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.kit_shapes import kit_store, streams

MODES = ("uncached", "miss", "hit", "driver")


def _prepare(kit: str, scale: float, mode: str, length: int) -> tuple[Any, list[tuple[Any, ...]]]:
    """(decide, argument tuples) for ``mode`` on ``kit``, loaded as ``kits.py`` loads it."""
    from iamguard.context import make_context
    from iamguard.evaluate.cached import CachedEvaluator
    from iamguard.evaluate.engine import Evaluator
    from iamguard.evaluate.inputs import PolicySet, Request
    from iamguard.policy.model import PolicyKind
    from iamguard.policy.parse import parse_policy
    from iamguard.principal import Principal

    store = kit_store(kit, scale)
    parsed = {
        name: parse_policy(json.dumps(doc), name=name, kind=PolicyKind.IDENTITY)
        for name, doc in store.documents.items()
    }
    principals = [Principal.from_arn(arn) for arn, _ in store.principals]
    sets = [PolicySet(identity=tuple(parsed[n] for n in names)) for _, names in store.principals]
    stream = streams(store, length)["repeat" if mode == "hit" else "fresh"]
    items = [
        (Request(principals[r.principal], r.action, r.resource, make_context(r.context)), sets[r.principal])
        for r in stream
    ]
    if mode == "driver":
        return (lambda *args: None), items
    # Warm-up over the stream: compiled sets, indexes and cache-key parts are built once per
    # principal, not per decision; a hit's cache keeps what it saw, a miss starts empty.
    warm = CachedEvaluator() if mode != "uncached" else Evaluator()
    for args in items:
        warm.evaluate(*args)
    if mode == "hit":
        return warm.evaluate, items
    return (CachedEvaluator().evaluate if mode == "miss" else warm.evaluate), items


def run(kit: str, scale: float, mode: str, count: int, length: int) -> None:
    """Load, then make ``count`` decisions (the part callgrind's difference isolates)."""
    decide, items = _prepare(kit, scale, mode, length)
    # As the timing harness does: no collection inside the counted calls (a full collection of
    # the loaded store lands in one run and not the other, thousands of instructions a call).
    gc.collect()
    gc.disable()
    following = itertools.cycle(items).__next__
    if mode == "miss":
        following = iter(items[:count]).__next__  # never repeats: every call is a miss
    for _ in range(count):
        decide(*following())


def _total(kit: str, scale: float, mode: str, count: int, length: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        f"{kit}:{mode}:{count}",
        "--scale",
        str(scale),
        "--length",
        str(length),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=environment, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total for {kit}:{mode}: {done.stderr[-500:]}")
    return int(found.group(1))


def count(kit: str, scale: float, mode: str, low: int, high: int) -> float:
    """Instructions per decision of ``mode`` on ``kit`` (see the module docstring)."""
    length = max(high, 1_000)
    totals = [_total(kit, scale, mode, n, length) for n in (low, high)]
    return (totals[1] - totals[0]) / (high - low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="kit-10,kit-conditions,kit-10k,kit-100k", help="kit keys")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated of " + ", ".join(MODES))
    parser.add_argument("--scale", type=float, default=0.1, help="principals scale (default 0.1)")
    parser.add_argument("--low", type=int, default=1_000)
    parser.add_argument("--high", type=int, default=4_000)
    parser.add_argument("--length", type=int, default=4_000, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # kit:mode:count
    args = parser.parse_args(argv)
    if args.child:
        kit, mode, number = args.child.split(":")
        run(kit, args.scale, mode, int(number), args.length)
        return 0
    print(f"{'kit':<16}{'mode':<10}{'instructions/decision':>24}", flush=True)
    for kit in args.only.split(","):
        for mode in args.modes.split(","):
            per = count(kit, args.scale, mode, args.low, args.high)
            print(f"{kit:<16}{mode:<10}{per:>24,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
