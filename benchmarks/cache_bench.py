#!/usr/bin/env python3
"""What the decision cache costs and saves on the outside kits' streams, each way it can run.

    python benchmarks/cache_bench.py --only kit-10,kit-conditions,kit-10k

Per kit, in one interleaved harness run per stream (``fresh`` never repeats, ``repeat`` cycles
through 1,000, ``mix`` alternates them; see ``kit_shapes.streams``):

* ``uncached``: ``Evaluator.evaluate``;
* ``judged``: ``CachedEvaluator.evaluate`` as shipped (the judge picks caching or bypassing);
* ``caching``: the same with the judge never probing (every call through the cache), timed in
  a run of its own (its misses churn the CPU caches for whatever runs next);
* ``bypass``: the same held in bypass (the evaluator behind one more call), never probing;
* ``lru hit`` (repeat only): a ``cachetools.cached(LRUCache)`` function of three strings, the
  floor a plain cache reaches, to read a hit's cost against;
* ``driver``: taking the next request alone (included in every other figure).

So ``judged - bypass`` on ``fresh`` is what the probes cost, ``bypass - uncached`` what the
extra call costs, and ``caching`` on ``mix`` what the judge saves when it bypasses.
"""

from __future__ import annotations

import argparse
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
from benchmarks.kits import IamguardEngine, _stream_call


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
        calls = {name: _stream_call(_cached(name), items) for name in ("judged", "bypass")}
        if stream != "repeat":
            calls["uncached"] = _stream_call(ours.evaluator.evaluate, items)
        else:
            strings = [(ours.principals[r.principal].arn, r.action, r.resource) for r in requests]
            calls["lru hit"] = _stream_call(_lru_hit(), strings)
        step = _stream_call(lambda *args: None, [(r,) for r in requests])
        stats = harness.measure({**calls, "driver": step}, settings)
        # Apart: a batch of misses churns megabytes, and in the harness's rotation the same
        # variant would always follow it into a cold CPU cache (bypass ran 25% slow so).
        apart = harness.measure(
            {"caching": _stream_call(_cached("caching"), items), "driver": step}, settings
        )
        stats["caching"] = harness.Stats(
            apart["caching"].median_us - apart["driver"].median_us + stats["driver"].median_us,
            apart["caching"].p90_us,
            apart["caching"].samples,
            apart["caching"].per_batch,
        )
        out["streams"][stream] = {name: s.to_json() for name, s in stats.items()}
        driver = stats["driver"].median_us
        shown = ", ".join(f"{n} {s.median_us - driver:.3f}" for n, s in stats.items() if n != "driver")
        print(f"    {stream} (µs, net of the driver {driver:.3f}): {shown}", flush=True)
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
