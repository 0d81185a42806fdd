"""The soak test in CI: 4 gunicorn workers on PostgreSQL for ~40 s, an admin revoking and rotating
the STS keyring meanwhile, one worker SIGKILLed and replaced (tests/soak/soak.py), and the
checker's own power on planted logs (a checker that finds nothing must be able to find something).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from ..store import _pg
from .check import LATENCY_WINDOW, TOLERANCE, check

COMMIT = 100.0
REVOCATION = {
    "kind": "detach_policy",
    "targets": ["key:u1"],
    "t_begin": COMMIT - 0.002,
    "t_commit": COMMIT,
    "bound": 0.0,
}
CREDENTIALS = {"AKIAU1": "key:u1", "AKIAU2": "key:u2"}


def _line(rid: str, pid: int, akid: str, status: int, t_in: float, code: str = "") -> dict[str, Any]:
    return {
        "rid": rid,
        "pid": pid,
        "akid": akid,
        "status": status,
        "code": code,
        "decisions": [],
        "t_in": t_in,
        "t_out": t_in + 0.004,
    }


def _client(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "rid": line["rid"],
            "cred": CREDENTIALS[line["akid"]],
            "t_send": line["t_in"] - 0.001,
            "t_recv": line["t_out"] + 0.001,
            "status": line["status"],
            "code": line["code"],
        }
        for line in lines
    ]


def _clean_run() -> list[dict[str, Any]]:
    """Two workers; u1 allowed before the commit (one response in flight across it), then refused."""
    lines = [
        _line("a", 1, "AKIAU1", 200, COMMIT - 1.0),
        _line("b", 2, "AKIAU1", 200, COMMIT - 0.5),
        _line("c", 1, "AKIAU1", 200, COMMIT - 0.001),  # in flight across the commit: not a violation
        _line("d", 1, "AKIAU1", 403, COMMIT + 0.010, "AccessDenied"),
        _line("e", 2, "AKIAU1", 403, COMMIT + 0.030, "AccessDenied"),
    ]
    lines += [
        _line(f"k{i}", 1 + i % 2, "AKIAU2", 200, COMMIT + i * 0.5) for i in range(int(LATENCY_WINDOW * 2) + 4)
    ]
    return lines


def test_the_checker_passes_a_clean_run_and_measures_its_latency() -> None:
    lines = _clean_run()
    report = check(_client(lines), lines, [REVOCATION], CREDENTIALS)
    assert report.violations == [] and report.unexpected_refusals == []
    assert report.latencies == [pytest.approx(0.034)]  # worker 2's refusal ended 34 ms after the commit
    assert report.allowed == len(lines) - 2 and report.refused_by_code == {"AccessDenied": 2}


def test_the_checker_finds_a_revoked_credential_allowed_after_its_commit() -> None:
    lines = [*_clean_run(), _line("late", 2, "AKIAU1", 200, COMMIT + 2 * TOLERANCE)]
    report = check(_client(lines), lines, [REVOCATION], CREDENTIALS)
    assert [v["rid"] for v in report.violations] == ["late"]


def test_the_checker_allows_the_keyring_bound_and_not_a_moment_more() -> None:
    retire = {**REVOCATION, "kind": "retire_key", "bound": 1.0}
    lines = [
        *_clean_run(),
        _line("inside", 2, "AKIAU1", 200, COMMIT + 0.9),
        _line("outside", 2, "AKIAU1", 200, COMMIT + 1.0 + 2 * TOLERANCE),
    ]
    report = check(_client(lines), lines, [retire], CREDENTIALS)
    assert [v["rid"] for v in report.violations] == ["outside"]


def test_the_checker_finds_refusals_before_any_revocation_and_unlogged_responses() -> None:
    lines = [
        *_clean_run(),
        _line("early", 1, "AKIAU1", 403, COMMIT - 0.3, "AccessDenied"),
        _line("other", 1, "AKIAU2", 403, COMMIT + 0.3, "AccessDenied"),
    ]
    client = [
        *_client(lines),
        {"rid": "ghost", "cred": "key:u2", "t_send": 1.0, "t_recv": 1.1, "status": 200},
    ]
    report = check(client, lines, [REVOCATION], CREDENTIALS)
    assert sorted(r["rid"] for r in report.unexpected_refusals) == ["early", "other"]
    assert report.unattributed == 1


def test_the_checker_counts_connection_errors_at_the_kill_apart() -> None:
    lines = _clean_run()
    client = [
        *_client(lines),
        {"rid": "x1", "cred": "key:u2", "t_send": 50.0, "t_recv": 50.2, "conn_error": "RemoteDisconnected"},
        {"rid": "x2", "cred": "key:u2", "t_send": 70.0, "t_recv": 70.1, "conn_error": "ConnectionResetError"},
    ]
    report = check(client, lines, [REVOCATION], CREDENTIALS, initial_pids=[1, 2], kill={"pid": 3, "t": 50.1})
    assert (report.connection_errors, report.connection_errors_at_kill) == (2, 1)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_soak_run_on_postgres_allows_nothing_revoked(tmp_path: Path) -> None:
    from . import soak

    args = argparse.Namespace(
        duration=40.0,
        workers=4,
        seed=7,
        rate=120.0,
        clients=6,
        period=2.5,
        store_url=_pg.server_url(),
        keep=None,
        json=None,
        markdown=None,
    )
    report, facts = soak.run(args, tmp_path)
    print(soak.markdown(report, facts))
    assert report.violations == []
    assert report.unexpected_refusals == []
    assert report.http_5xx == 0 and report.http_errors_by_code == {}
    assert report.connection_errors == report.connection_errors_at_kill  # only the killed worker's
    assert report.unattributed == 0
    assert report.revocations >= 8 and set(report.revocations_by_kind) >= {"revoke_sessions", "retire_key"}
    assert report.latency_incomplete == 0 and report.latencies
    assert report.refused_by_code.get("InvalidToken", 0) > 0  # the retired key's sessions
    assert report.killed_pid in facts["initial_pids"] and report.replacement_pids
    assert report.allowed_by_replacements > 0  # the restarted worker serves
    assert facts["new_key_workers"] >= 4  # every worker accepted the new primary's sessions
    assert soak.clean(report, facts) == []
