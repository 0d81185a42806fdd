"""Smoke test of ``benchmarks/iam_api_bench.py``: each measurement runs at a tiny size on SQLite,
every timed call answers 200, and the writes really happened. Nothing about speed is asserted."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import iam_api_bench as bench
from iamguard.store import open_store

# A benchmark smoke test: run by `python3 tasks.py test-slow` and CI, not by `python3 tasks.py test`.
pytestmark = pytest.mark.slow


def test_the_benchmark_measures_real_calls(tmp_path: Path) -> None:
    store = open_store(
        f"sqlite:///{tmp_path}/iam.db", create=True, account_id=bench.ACCOUNT, secret_box=bench.BOX
    )
    setup = bench.Bench(store, 30)
    results = bench.measure(setup, calls=5, rounds=2)  # Bench.call raises unless the answer is 200
    assert {"CreateUser", "ListUsers (page of 100)"} <= set(results)
    for rates in results.values():
        assert all(math.isfinite(v) and v > 0 for v in (rates["wire"], rates["layer"]))
    names = {u.name for u in store.list_users()}
    assert {f"w{r}x{i}" for r in range(2) for i in range(5)} <= names  # through the wire
    assert {f"l{r}x{i}" for r in range(2) for i in range(5)} <= names  # through the layer
    page = bench.render_markdown(
        {
            "calls": 5,
            "rounds": 2,
            "users": 30,
            "python": "3",
            "machine": "m",
            "load_average": [1.0, 1.0],
            "backends": {"SQLite": results},
        }
    )
    assert "| CreateUser | SQLite |" in page
