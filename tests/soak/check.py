"""The soak test's checker: from the logs alone, was anything revoked allowed after its commit?

Inputs (all times ``time.monotonic()``, one CLOCK_MONOTONIC shared by every process):

* worker lines (tests/soak/app.py): ``rid``, ``pid``, ``akid``, ``status``, ``code``, ``t_in``
  (read on entry, before the worker reads the store or the keyring) and ``t_out``;
* client records (tests/soak/soak.py): ``rid``, ``cred``, ``t_send``, ``t_recv``, ``status`` or
  ``conn_error``;
* revocations (tests/soak/admin.py): ``targets`` (credential ids), ``t_begin`` (read before the
  write started), ``t_commit`` (read after it committed) and ``bound`` (how long after the commit
  the design may still allow: 0 for a store write, the re-read interval for the keyring file).

Why the comparisons are sound: a request whose ``t_in`` is later than ``t_commit`` began after
the commit had returned to the admin, so every store read it made sees the write (PostgreSQL
makes a commit visible before acknowledging it). ``t_in`` is read *before* those reads and
``t_commit`` *after* the commit, so both errors of clock placement make an allowed request look
earlier, never later: the check cannot blame a request that was in flight. ``TOLERANCE`` only
covers reading the clock itself (vDSO, nanosecond resolution, well under a microsecond per
read); 1 ms is far above that and far below one request (several ms here), so it hides no
real violation.

A **violation** is an allowed response (2xx) to a revoked credential with
``t_in > t_commit + bound + TOLERANCE``. A **refusal** is a 403, or S3's 400 ``InvalidToken``/``ExpiredToken`` for a session token. An
**unexpected refusal** is a refusal of a credential
whose every revocation began after the response was finished (``t_out < t_begin``), or that was
never revoked. **Revocation latency** is, per revocation, the time from ``t_commit`` until every
worker that was up at the commit (served before it, and still serving ``LATENCY_WINDOW`` seconds
later) had finished refusing a target request that began after ``t_begin``; it includes the wait
for that worker's next probe of a target.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

TOLERANCE = 0.001
LATENCY_WINDOW = 3.0
#: S3 answers a session token it does not accept with 400 InvalidToken / ExpiredToken
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html); all else is 403.
REFUSED_400 = frozenset({"InvalidToken", "ExpiredToken"})


def refused(line: Mapping[str, Any]) -> bool:
    """Whether a worker line is a refusal of the caller (not a fault of the server)."""
    status = int(line["status"])
    return status == 403 or (status == 400 and line["code"] in REFUSED_400)


def refusal_label(line: Mapping[str, Any]) -> str:
    """The error code, or for a HEAD (no body) the decision that refused it."""
    return str(line["code"]) or "(HEAD) " + ",".join(line["decisions"])


@dataclass
class Report:
    requests_sent: int = 0
    responses: int = 0
    served_by_workers: int = 0
    allowed: int = 0
    refused_by_code: dict[str, int] = field(default_factory=dict)
    http_errors_by_code: dict[str, int] = field(default_factory=dict)
    http_5xx: int = 0
    connection_errors: int = 0
    connection_errors_at_kill: int = 0
    unattributed: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)
    unexpected_refusals: list[dict[str, Any]] = field(default_factory=list)
    revocations: int = 0
    revocations_by_kind: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    latency_by_kind: dict[str, list[float]] = field(default_factory=dict)
    latency_incomplete: int = 0
    workers_seen: list[int] = field(default_factory=list)
    killed_pid: int | None = None
    replacement_pids: list[int] = field(default_factory=list)
    served_by_replacements: int = 0
    allowed_by_replacements: int = 0

    @property
    def latency_p50(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    @property
    def latency_max(self) -> float | None:
        return max(self.latencies) if self.latencies else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["latency_p50"], data["latency_max"] = self.latency_p50, self.latency_max
        return data


def check(
    client: Sequence[Mapping[str, Any]],
    workers: Sequence[Mapping[str, Any]],
    revocations: Sequence[Mapping[str, Any]],
    credentials: Mapping[str, str],
    *,
    initial_pids: Iterable[int] = (),
    kill: Mapping[str, Any] | None = None,
) -> Report:
    """The report of one run; ``credentials`` maps access key id to credential id."""
    report = Report(requests_sent=len(client), revocations=len(revocations), served_by_workers=len(workers))
    report.revocations_by_kind = dict(Counter(str(r["kind"]) for r in revocations))
    _count_client(report, client, workers, kill)
    by_cred: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for revocation in revocations:
        for target in revocation["targets"]:
            by_cred[target].append(revocation)
    refusals: Counter[str] = Counter()
    for line in workers:
        cred = credentials.get(str(line["akid"]), "")
        status = int(line["status"])
        if 200 <= status < 300:
            report.allowed += 1
            for revocation in by_cred.get(cred, ()):
                if line["t_in"] > revocation["t_commit"] + revocation["bound"] + TOLERANCE:
                    report.violations.append(
                        {
                            **line,
                            "cred": cred,
                            "revocation": revocation["kind"],
                            "after_commit": line["t_in"] - revocation["t_commit"],
                        }
                    )
        elif refused(line):
            refusals[refusal_label(line)] += 1
            if all(line["t_out"] < r["t_begin"] for r in by_cred.get(cred, ())):
                report.unexpected_refusals.append({**line, "cred": cred})
    report.refused_by_code = dict(refusals)
    _latencies(report, workers, revocations, credentials)
    _workers(report, workers, initial_pids, kill)
    return report


def _count_client(
    report: Report,
    client: Sequence[Mapping[str, Any]],
    workers: Sequence[Mapping[str, Any]],
    kill: Mapping[str, Any] | None,
) -> None:
    served = {line["rid"]: line for line in workers}
    other: Counter[str] = Counter()
    for record in client:
        if record.get("conn_error"):
            report.connection_errors += 1
            if (
                kill is not None
                and record["t_send"] <= kill["t"] + TOLERANCE <= record["t_recv"] + 2 * TOLERANCE
            ):
                report.connection_errors_at_kill += 1
            continue
        report.responses += 1
        status = int(record["status"])
        line = served.get(record["rid"])
        if line is None:
            report.unattributed += 1
        if status >= 500:
            report.http_5xx += 1
        if status >= 400 and (line is None or not refused(line)):
            other[f"{status} {record.get('code', '')}"] += 1
    report.http_errors_by_code = dict(other)


def _latencies(
    report: Report,
    workers: Sequence[Mapping[str, Any]],
    revocations: Sequence[Mapping[str, Any]],
    credentials: Mapping[str, str],
) -> None:
    spans: dict[int, tuple[float, float]] = {}
    for line in workers:
        began, last = spans.get(line["pid"], (line["t_in"], line["t_in"]))
        spans[line["pid"]] = (min(began, line["t_in"]), max(last, line["t_in"]))
    for revocation in revocations:
        targets = set(revocation["targets"])
        if not targets:
            continue
        commit = revocation["t_commit"]
        first: dict[int, float] = {}
        for line in workers:
            if (
                refused(line)
                and line["t_in"] >= revocation["t_begin"]
                and credentials.get(str(line["akid"]), "") in targets
            ):
                first[line["pid"]] = min(first.get(line["pid"], float("inf")), line["t_out"])
        # Every worker up at the commit: started before it, and still serving a window later
        # (or refused before it died). A worker started later read the store after the commit.
        active = {
            pid
            for pid, (began, last) in spans.items()
            if began <= commit and (last >= commit + LATENCY_WINDOW or pid in first)
        }
        if not active or not active <= set(first):
            report.latency_incomplete += 1
            continue
        latency = max(0.0, max(first[pid] for pid in active) - revocation["t_commit"])
        report.latencies.append(latency)
        report.latency_by_kind.setdefault(str(revocation["kind"]), []).append(latency)


def _workers(
    report: Report,
    workers: Sequence[Mapping[str, Any]],
    initial_pids: Iterable[int],
    kill: Mapping[str, Any] | None,
) -> None:
    initial = set(initial_pids)
    report.workers_seen = sorted({int(line["pid"]) for line in workers})
    if kill is None:
        return
    report.killed_pid = int(kill["pid"])
    report.replacement_pids = [pid for pid in report.workers_seen if pid not in initial]
    for line in workers:
        if line["pid"] in report.replacement_pids:
            report.served_by_replacements += 1
            report.allowed_by_replacements += 200 <= int(line["status"]) < 300
