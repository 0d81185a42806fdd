"""Timing: every library answers the same request in interleaved batches, so machine noise
(another process, a frequency change) lands on all of them alike.

For one cell (workload request), each library's batch size is calibrated so a batch lasts about
``batch_ns``; then in each round every library runs one batch, in a rotated order, with the
garbage collector disabled, timed with ``time.perf_counter_ns``. A library stops taking part once
it has ``min_samples`` batches and has spent its time budget, so a library needing seconds per
decision still gets a few samples without holding the whole run hostage. The reported figure is
the median (and 90th percentile) of the per-decision time of the batches.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    rounds: int  # batches per library per cell, when its budget allows
    min_samples: int  # batches every library gets, however slow
    batch_ns: int  # target duration of one batch
    budget_ns: int  # time one library may spend on one cell beyond min_samples


QUICK = Settings(rounds=7, min_samples=3, batch_ns=1_000_000, budget_ns=150_000_000)
FULL = Settings(rounds=25, min_samples=3, batch_ns=5_000_000, budget_ns=2_000_000_000)


@dataclass(frozen=True)
class Stats:
    median_us: float
    p90_us: float
    samples: int  # batches
    per_batch: int  # decisions per batch

    def to_json(self) -> dict[str, float | int]:
        return {
            "median_us": self.median_us,
            "p90_us": self.p90_us,
            "batches": self.samples,
            "per_batch": self.per_batch,
        }


def _time_batch(call: Callable[[], object], n: int) -> int:
    """Nanoseconds for ``n`` calls of ``call`` (the loop overhead is the same for everyone)."""
    loop = range(n)
    start = time.perf_counter_ns()
    for _ in loop:
        call()
    return time.perf_counter_ns() - start


def _batch_size(call: Callable[[], object], target_ns: int) -> int:
    single = _time_batch(call, 1)
    if single >= target_ns:
        return 1
    n = max(1, min(1_000_000, target_ns // max(single, 1)))
    # Re-estimate on a real batch: the first call is often slower than the steady state.
    elapsed = _time_batch(call, n)
    return max(1, min(1_000_000, int(n * target_ns / max(elapsed, 1))))


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def measure(calls: dict[str, Callable[[], object]], settings: Settings) -> dict[str, Stats]:
    """Interleaved timing of ``calls`` (library name → zero-argument decision call)."""
    names = list(calls)
    sizes = {name: _batch_size(calls[name], settings.batch_ns) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    spent = dict.fromkeys(names, 0)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in names:  # warm-up batch, not recorded (calibration warmed the slow ones)
            if sizes[name] > 1:
                _time_batch(calls[name], sizes[name])
        for round_no in range(settings.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            active = False
            for name in order:
                taken = len(samples[name])
                if taken >= settings.min_samples and spent[name] >= settings.budget_ns:
                    continue
                active = True
                elapsed = _time_batch(calls[name], sizes[name])
                spent[name] += elapsed
                samples[name].append(elapsed / sizes[name] / 1000.0)
            if not active:
                break
    finally:
        if was_enabled:
            gc.enable()
    return {
        name: Stats(statistics.median(values), _p90(values), len(values), sizes[name])
        for name, values in samples.items()
    }


def time_once(func: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call takes (for load and first-decision latency), and its result."""
    gc.collect()
    start = time.perf_counter_ns()
    result = func()
    return (time.perf_counter_ns() - start) / 1e9, result


def write_results(data: Any, markdown: str, json_path: Path | None, markdown_path: Path | None) -> None:
    """Write a benchmark's results page and its JSON (each only when a path is given), then
    print the page: the one way every benchmark script reports."""
    for path, text in ((json_path, json.dumps(data, indent=2) + "\n"), (markdown_path, markdown)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    print(markdown)
