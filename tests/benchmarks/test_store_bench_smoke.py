"""Smoke test of ``benchmarks/store_bench.py``: every measurement runs at a tiny size and gives
sane numbers (positive, finite, every principal resolved to the policies the data set attaches).
Nothing about speed is asserted.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

from benchmarks import store_bench as bench
from iamguard.resolve import resolve_policy_set
from iamguard.store import open_store

# A benchmark smoke test: run by `python3 tasks.py test-slow` and CI, not by `python3 tasks.py test`.
pytestmark = pytest.mark.slow

PG_BASE = os.environ.get(bench.PG_ENV, bench.PG_DEFAULT)


def _positive(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def _check_backend(result: dict[str, Any], sizes: bench.Sizes) -> None:
    load = result["load"]
    assert load["api_entities"] == sizes.api_policies + sizes.groups + sizes.api_roles + sizes.api_users
    assert load["rows_entities"] == (
        sizes.policies - sizes.api_policies + sizes.roles - sizes.api_roles + sizes.users - sizes.api_users
    )
    assert all(_positive(load[k]) for k in ("api_s", "rows_s", "total_s", "api_per_s", "rows_per_s"))
    for kind in ("user", "role session"):
        stats = result["resolve"][kind]
        assert stats["samples"] >= 1
        for key in ("cold_us", "reread_us", "warm_us", "warm_p90_us"):
            assert _positive(stats[key]), (kind, key, stats)
        assert stats["warm_p90_us"] >= stats["warm_us"]
    everyone = result["resolve_all"]
    assert everyone["resolved"] == everyone["of"] == sizes.users + sizes.roles
    for op in ("create_user", "attach_policy", "put_inline_policy"):
        assert result["writes"][op]["ops"] == sizes.writes
        assert _positive(result["writes"][op]["per_s"])
    memory = result["memory"]
    assert _positive(memory["peak_rss_mb"])
    assert all(math.isfinite(memory[k]) for k in ("load_growth_mb", "resolve_all_growth_mb"))
    if result["backend"] == "memory":
        assert "propagation" not in result
        return
    methods = result["propagation"]
    assert len(methods) == 2
    for stats in methods.values():
        assert stats["trials"] == sizes.trials
        assert _positive(stats["median_ms"]) and stats["p90_ms"] >= stats["median_ms"]
        assert stats["median_ms"] < 10_000  # noticed at all (the wait gives up after 10 s)


def test_data_set_resolves_to_the_attached_policies(tmp_path: Path) -> None:
    """The loader writes what the expected counts say: API and row-loaded principals alike."""
    sizes = bench.SMOKE
    store = open_store(
        f"sqlite:///{tmp_path / 's.db'}", create=True, account_id=bench.ACCOUNT, quotas=bench.QUOTAS
    )
    bench.populate(store, sizes)
    for i in range(sizes.users):
        names = resolve_policy_set(bench.user_principal(i), store).identity
        assert len(names) == bench.expected_user_policies(i, sizes)
    for r in range(sizes.roles):
        assert len(resolve_policy_set(bench.role_session(r), store).identity) == bench.expected_role_policies(
            r, sizes
        )
    assert len(store.list_users()) == sizes.users
    assert len(store.list_policies(scope="local")) == sizes.policies
    store.backend.close()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_every_measurement_runs(backend: str) -> None:
    _check_backend(bench.run_backend(backend, bench.SMOKE, PG_BASE), bench.SMOKE)


def test_postgres_measurements_run_in_their_own_schema() -> None:
    why = bench.postgres_reachable(PG_BASE)
    if why is not None:
        pytest.skip(f"PostgreSQL unreachable: {why}")
    result = bench.run_backend("postgres", bench.SMOKE, PG_BASE)
    _check_backend(result, bench.SMOKE)
    import psycopg

    with psycopg.connect(PG_BASE) as conn:
        left = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            (f"iamguard_bench_{os.getpid()}",),  # run_backend names its schema after the process
        ).fetchone()
    assert left is not None and left[0] == 0  # the schema was dropped


def test_report_renders_every_backend() -> None:
    report = bench.run(bench.SMOKE, ["memory"], "postgresql://nobody@127.0.0.1:1/none", log=lambda _m: None)
    text = bench.render_markdown(report)
    assert "| measurement | memory |" in text
    assert "resolve role session: warm" in text
    assert not report["skipped"]
    skipped = bench.run(
        bench.SMOKE, ["postgres"], "postgresql://nobody@127.0.0.1:1/none", log=lambda _m: None
    )
    assert skipped["backends"] == [] and skipped["skipped"][0].startswith("PostgreSQL skipped")
