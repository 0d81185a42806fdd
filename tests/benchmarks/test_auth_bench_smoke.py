"""Smoke test of ``benchmarks/sigv4_bench.py`` and ``benchmarks/middleware_load.py`` at tiny sizes.

They must run end to end and give sane numbers: every timing positive and finite, every signed
request accepted (and a tampered one refused) by ``verify_sigv4``, every load request answered
``200 hello`` by real servers on loopback, the servers gone afterwards. Nothing about speed is
asserted.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import harness
from benchmarks import middleware_load as load
from benchmarks import sigv4_bench as sigv4
from iamguard.authn.sigv4 import verify_sigv4

# A benchmark smoke test: run by `python3 tasks.py test-slow` and CI, not by `python3 tasks.py test`.
pytestmark = pytest.mark.slow

TINY = harness.Settings(rounds=2, min_samples=2, batch_ns=200_000, budget_ns=0)


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.parametrize("make", sigv4.CASES, ids=lambda make: make.__name__)
def test_each_case_is_signed_by_botocore_and_verified(make: Any) -> None:
    case = make()
    wire = sigv4.wire_of(case.sign())
    verified = verify_sigv4(
        wire.view(), {sigv4.AKID: sigv4.SECRET}.get, now=wire.now, service_hint=case.service
    )
    assert verified.access_key_id == sigv4.AKID
    assert verified.presigned is (case.name == "presigned")
    # s3-get is the UNSIGNED-PAYLOAD case; the STS POST signs its body.
    expected_payload = {"s3-get": "UNSIGNED-PAYLOAD", "presigned": "UNSIGNED-PAYLOAD"}.get(case.name)
    if expected_payload is not None:
        assert verified.payload_hash == expected_payload
    else:
        assert len(verified.payload_hash) == 64
    prepared = sigv4.calls_for(case)  # also proves a tampered request is refused
    assert set(prepared.calls) >= {"verify", "floor", "botocore_sign"}
    assert prepared.canonical_bytes > prepared.string_to_sign_bytes > 100


def test_sigv4_bench_runs_and_reports() -> None:
    result = sigv4.run(TINY)
    assert set(result["cases"]) == {"s3-get", "sts-post", "presigned"}
    for row in result["cases"].values():
        for name, stats in row["stats"].items():
            assert _positive(stats["median_us"]), name
            assert stats["batches"] >= 2
        for ratio in (
            "verify_over_floor",
            "verify_over_hash_floor",
            "verify_over_botocore_sign",
            "botocore_net_sign_us",
        ):
            assert _positive(row[ratio]), ratio
    markdown = sigv4.to_markdown(result)
    # three tables (costs, sizes, where verify's time goes), each with a row per request
    assert markdown.count("| s3-get") == 3 and "verify / hash floor" in markdown


def test_percentile_and_summary() -> None:
    values = [float(v) for v in range(1, 101)]
    assert load.percentile(values, 0.5) in (50.0, 51.0)
    assert load.percentile(values, 0.99) == 99.0
    assert math.isnan(load.percentile([], 0.5))
    runs = [load.Run([100.0, 200.0], 0.5, 0, False, 0.02), load.Run([300.0, 400.0], 1.0, 1, True, None)]
    summary = load.summarize(runs)
    assert summary.requests == 4 and summary.errors == 1 and summary.capped_rounds == 1
    assert summary.rps == 3.0  # median of 4/s and 2/s
    assert summary.server_cpu_us_per_request == pytest.approx(10_000.0)  # 0.02 s over the 2 timed requests


def test_middleware_load_runs_against_real_servers() -> None:
    settings = load.Settings(requests=12, clients=(1, 2), rounds=2, cap_s=10.0, warmup=3)
    result = load.run(settings)
    assert set(result["configurations"]) == {"flask/c1", "flask/c2", "fastapi/c1", "fastapi/c2"}
    for row in result["configurations"].values():
        for mode in ("bare", "guarded"):
            summary = row[mode]
            assert summary["errors"] == 0, (row["framework"], mode)
            assert summary["requests"] == 12 and summary["capped_rounds"] == 0
            assert all(_positive(summary[k]) for k in ("rps", "p50_us", "p90_us", "p99_us", "mean_us"))
            assert summary["p50_us"] <= summary["p90_us"] <= summary["p99_us"]
        assert _positive(row["rps_ratio"])
    markdown = load.to_markdown(result)
    assert "| flask | 1 | guarded |" in markdown and "| fastapi | 2 | bare |" in markdown


def test_guarded_server_refuses_unsigned_and_stops() -> None:
    """The guarded server really enforces (so the load numbers are of a working guard)."""
    import httpx

    server = load.start_server("flask-guarded")
    try:
        url = f"http://{load.HOST}:{server.port}/hello"
        with httpx.Client(trust_env=False, timeout=10.0) as client:
            assert client.get(url).status_code == 403
            signed = load.signed_headers(server.port, server.akid, server.secret)
            response = client.get(url, headers=signed)
            assert (response.status_code, response.content) == (200, b"hello")
    finally:
        server.stop()
    assert not server.process.is_alive()


def test_middleware_bench_runs_every_mode_and_writes_its_page(tmp_path: Path) -> None:
    from benchmarks import middleware_bench as mb

    page = tmp_path / "middleware.md"
    assert mb.main(["--requests", "20", "--rounds", "2", "--markdown", str(page)]) == 0
    text = page.read_text()
    for app, modes in mb._MODES.items():
        for mode in modes:
            assert f"| {app} | {mode} |" in text
    # Every mode answers 200 (the calls assert it) and times are positive.
    times = mb.bench_flask(10, 2)
    assert all(_positive(times[m]) for m in ("bare", "sigv4", "authorize"))


def test_callgrind_counts_instructions_of_one_mode() -> None:
    import shutil

    from benchmarks import middleware_bench as mb

    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is needed for the instruction counts (apt-get install valgrind)")
    assert mb._callgrind_total("flask:bare", 1) > 1_000_000
