#!/usr/bin/env python3
"""What the decision cache costs and saves on the outside kits' streams, each way it can run.

    python benchmarks/cache_bench.py --only kit-10,kit-conditions,kit-10k

Per kit, in one interleaved harness run per stream (``fresh`` never repeats, ``repeat`` cycles
through 1,000, ``mix`` alternates them; see ``kit_shapes.streams``):

* ``uncached``: ``Evaluator.evaluate``;
* ``judged``: ``CachedEvaluator.evaluate`` as shipped (the judge picks caching or bypassing);
* ``caching``: the same with the judge never probing (every call through the cache);
* ``bypass``: the same held in bypass (the evaluator behind one more call), never probing;
* ``lru hit`` (repeat only): a ``cachetools.cached(LRUCache)`` function of three strings, the
  floor a plain cache reaches, to read a hit's cost against;
* ``driver``: taking the next request alone (subtracted from every other figure).

Each figure is the median of three harness runs with the variants in different orders.

So ``judged - bypass`` on ``fresh`` is what the probes cost, ``bypass - uncached`` what the
extra call costs, and ``caching`` on ``mix`` what the judge saves when it bypasses.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness
from benchmarks.kit_shapes import kit_store, streams
from benchmarks.kits import IamguardEngine, _stream_call

#: Harness runs per stream, each with the variants in another order (see _net_medians).
ORDERS = 3


def _cached(mode: str) -> Callable[..., Any]:
    """A new CachedEvaluator's ``evaluate``, held in ``mode`` (judged, caching or bypass)."""
    from iamguard.evaluate.cached import CachedEvaluator

    cache = CachedEvaluator()
    if mode == "caching":
        cache._misses = -(10**15)  # the miss window is never reached: no probe
    elif mode == "bypass":
        cache._left, cache._rounds = 256, 10**15  # bypass rounds that never end
    return cache.evaluate


def _lru_hit() -> Callable[..., Any]:
    import cachetools

    @cachetools.cached(cachetools.LRUCache(maxsize=65536))
    def decide(arn: str, action: str, resource: str) -> tuple[str, str, str]:
        return (arn, action, resource)

    return decide


def _warm(ours: IamguardEngine, requests: list[Any]) -> None:
    """Answer every request once, cached and not, as ``kits.py`` checks them before timing: what
    is built once per policy set (compiled forms, action indexes, cache-key parts) is then
    built, and no timed call pays for it."""
    cache = _cached("caching")
    for request in requests:
        args = ours.args(request)
        ours.evaluator.evaluate(*args)
        cache(*args)


def _net_medians(calls: dict[str, Callable[[], Any]], settings: harness.Settings) -> dict[str, float]:
    """µs per call of each variant net of ``driver``: the median over ``ORDERS`` harness runs,
    each with the variants in another order. Why: the harness rotates one order, so a variant
    always runs after the same neighbour, and a neighbour whose misses churn megabytes (the
    always-caching one) hands it a cold CPU cache (bypass read 25% slow so)."""
    names = list(calls)
    runs: dict[str, list[float]] = {name: [] for name in names if name != "driver"}
    for order in range(ORDERS):
        shuffled = list(names)
        random.Random(order).shuffle(shuffled)
        stats = harness.measure({name: calls[name] for name in shuffled}, settings)
        for name in runs:
            runs[name].append(stats[name].median_us - stats["driver"].median_us)
    return {name: statistics.median(values) for name, values in runs.items()}


def run_kit(key: str, scale: float, length: int, settings: harness.Settings) -> dict[str, Any]:
    store = kit_store(key, scale)
    print(f"{store.title}: {len(store.principals):,} principals", flush=True)
    texts = {name: json.dumps(doc) for name, doc in store.documents.items()}
    ours = IamguardEngine(store, texts)
    out: dict[str, Any] = {"key": key, "title": store.title, "streams": {}}
    stream_map = streams(store, length)
    _warm(ours, [r for requests in stream_map.values() for r in requests])
    for stream, requests in stream_map.items():
        items = [ours.args(r) for r in requests]
        calls = {name: _stream_call(_cached(name), items) for name in ("judged", "bypass", "caching")}
        if stream != "repeat":
            calls["uncached"] = _stream_call(ours.evaluator.evaluate, items)
        else:
            strings = [(ours.principals[r.principal].arn, r.action, r.resource) for r in requests]
            calls["lru hit"] = _stream_call(_lru_hit(), strings)
        calls["driver"] = _stream_call(lambda *args: None, [(r,) for r in requests])
        net = _net_medians(calls, settings)
        out["streams"][stream] = net
        shown = ", ".join(f"{name} {us:.3f}" for name, us in net.items())
        print(f"    {stream} (µs, net of the driver): {shown}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="kit-10,kit-conditions,kit-10k")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--length", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = harness.QUICK if args.quick else harness.FULL
    results = [run_kit(key, args.scale, args.length, settings) for key in args.only.split(",")]
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
