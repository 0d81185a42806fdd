#!/usr/bin/env python
"""Cost of iamguard's identity store: loading, resolving principals, writing, change propagation,
memory, for each backend (``memory://``, SQLite in a temp dir, PostgreSQL in its own schema).

Measured per backend, each backend in its own child process (so its memory figures are its own):

* **load**: 20,000 managed policies, 100 groups, 1,000 roles, 10,000 users (a few policies
  attached to each user, group and role; inline policies on every role and group and on every
  tenth user; users in one or two groups). The first 2,000 policies, every group, 250 roles and
  500 users go through the IAM API
  (``IdentityService.create_policy`` / ``create_user`` / ``attach_policy`` ... inside
  ``atomic()`` batches, every IAM rule checked); the rest is written as rows through the backend's
  own write transactions, which is faster still (no IAM checks, bigger batches). Both rates are
  reported.
* **resolve** (``resolve_policy_set``), median µs over sampled principals, for users with group
  memberships and for role sessions (``assumed-role/R/S``):
  *cold*: the first resolve through a new ``IdentityService`` over the same backend (parse cache
  empty); *re-read*: the first resolve after an unrelated write moved the generation (parse cache
  warm, rows read again); *warm*: repeated resolves (cached principal, one generation read),
  timed with ``harness.measure``.
* **writes/s** on the loaded store, single-threaded: ``create_user``, ``attach_policy``,
  ``put_inline_policy`` (each its own transaction).
* **propagation**: another process commits ``detach_policy`` / ``attach_policy``; this process
  notices through the change feed (``open_change_feed``: a 0.2 s poll for SQLite, LISTEN/NOTIFY for
  PostgreSQL) and, separately, by calling ``generation()`` every millisecond. Milliseconds from
  the writer's commit to the notice (wall clock, same host), median and p90 over the trials.
* **memory**: resident set size growth after loading, and after resolving every principal once
  (``/proc/self/statm``; peak from ``resource.getrusage``). tracemalloc is not used: it slows the
  allocation-heavy resolve path several times over, which would falsify the timings taken alongside.

Run: ``python benchmarks/store_bench.py [--quick] [--json PATH] [--markdown PATH]
[--backends memory,sqlite,postgres]``. PostgreSQL comes from ``IAMGUARD_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``) and is skipped, with a note, when
unreachable.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness
from iamguard.principal import Principal
from iamguard.resolve import resolve_policy_set
from iamguard.store import open_backend
from iamguard.store.feed import open_change_feed
from iamguard.store.protocols import Row, StoreBackend
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService, Quotas, new_unique_id

ACCOUNT = "123456789012"
PG_ENV = "IAMGUARD_TEST_POSTGRES_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = ROOT / "benchmarks" / "results"
#: Account quotas raised past the data set (AWS's defaults stop at 5,000 users / 1,500 policies).
QUOTAS = Quotas(users=10**7, groups=10**5, roles=10**6, customer_managed_policies=10**7)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@dataclass(frozen=True)
class Sizes:
    """How big the data set is and how many samples each measurement takes."""

    label: str
    users: int
    roles: int
    policies: int
    groups: int
    api_policies: int  # of ``policies``, created through the IAM API (the rest as rows)
    api_roles: int  # of ``roles``, likewise
    api_users: int  # of ``users``, likewise
    cold_samples: int  # principals of each kind resolved cold / re-read
    warm_principals: int  # principals the warm loop cycles through
    writes: int  # operations per write kind
    trials: int  # propagation trials per notice method
    resolve_all_budget_s: float  # stop resolving "every principal" after this long (noted)
    sample_budget_s: float  # stop a cold / re-read sample loop after this long (>= 5 samples)
    harness_settings: harness.Settings


FULL = Sizes("full", 10_000, 1_000, 20_000, 100, 2_000, 250, 500, 200, 500, 50, 20, 45.0, 10.0, harness.FULL)
QUICK = Sizes("quick", 1_000, 100, 2_000, 20, 400, 25, 100, 40, 100, 20, 8, 5.0, 2.0, harness.QUICK)
#: For the smoke test: every measurement at a handful of entities.
SMOKE = Sizes("smoke", 40, 8, 80, 4, 40, 4, 10, 4, 8, 3, 2, 5.0, 2.0, harness.QUICK)


# ---------------------------------------------------------------- the data set (deterministic)


def policy_name(i: int) -> str:
    return f"bench-policy-{i:05d}"


def policy_arn(i: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{policy_name(i)}"


def policy_document(i: int) -> dict[str, Any]:
    """2-4 statements on distinct services, some with conditions, some Deny: typical sizes."""
    services = ("s3", "dynamodb", "sqs", "sns", "ec2", "lambda", "kms")
    statements: list[dict[str, Any]] = [
        {
            "Sid": f"Read{i}",
            "Effect": "Allow",
            "Action": [f"{services[i % 7]}:Get*", f"{services[i % 7]}:List*"],
            "Resource": f"arn:aws:{services[i % 7]}:*:{ACCOUNT}:bench-{i}/*",
        },
        {
            "Effect": "Allow",
            "Action": f"{services[(i + 1) % 7]}:Put{i % 13}",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": f"team-{i % 17}"}},
        },
    ]
    if i % 3 == 0:
        statements.append(
            {
                "Effect": "Deny",
                "Action": f"{services[(i + 2) % 7]}:Delete*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    if i % 5 == 0:
        statements.append(
            {
                "Effect": "Allow",
                "NotAction": "iam:*",
                "Resource": f"arn:aws:s3:::bucket-{i}/${{aws:username}}/*",
                "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def inline_document(owner: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:*:{ACCOUNT}:{owner}"}
        ],
    }


def user_name(i: int) -> str:
    return f"user{i:05d}"


def group_name(g: int) -> str:
    return f"group{g:03d}"


def role_name(r: int) -> str:
    return f"role{r:04d}"


def role_path(r: int) -> str:
    return "/service/" if r % 2 else "/"


def user_policies(i: int, n: Sizes) -> list[int]:
    return sorted({(i * 3 + k) % n.policies for k in range(3)})


def user_groups(i: int, n: Sizes) -> list[int]:
    groups = {i % n.groups}
    if i % 3 == 0:
        groups.add((i // 3 + 1) % n.groups)
    return sorted(groups)


def user_has_inline(i: int) -> bool:
    return i % 10 == 0


def group_policies(g: int, n: Sizes) -> list[int]:
    return sorted({(2 * g + 11 + k) % n.policies for k in range(2)})


def role_policies(r: int, n: Sizes) -> list[int]:
    return sorted({(r * 4 + 7 + k) % n.policies for k in range(4)})


def expected_user_policies(i: int, n: Sizes) -> int:
    """Identity policies a user resolves to: its own (inline + attached) and its groups'."""
    own = len(user_policies(i, n)) + (1 if user_has_inline(i) else 0)
    return own + sum(1 + len(group_policies(g, n)) for g in user_groups(i, n))


def expected_role_policies(r: int, n: Sizes) -> int:
    return 1 + len(role_policies(r, n))


def user_principal(i: int) -> Principal:
    return Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/{user_name(i)}")


def role_session(r: int) -> Principal:
    """A role session ARN names the role without its path, as STS does."""
    return Principal.from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name(r)}/bench-session")


# ---------------------------------------------------------------- loading


def _batches(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now_text() -> str:
    return datetime.now(timezone.utc).isoformat()


def load_via_api_policies(service: IdentityService, n: Sizes, batch: int = 500) -> None:
    for chunk in _batches(range(n.api_policies), batch):
        with service.atomic():
            for i in chunk:
                service.create_policy(policy_name(i), policy_document(i))


def load_via_rows_policies(backend: StoreBackend, n: Sizes, batch: int = 2000) -> None:
    """The rows ``create_policy`` writes (after its checks), written directly in batches."""
    for chunk in _batches(range(n.api_policies, n.policies), batch):
        with backend.write() as tx:
            for i in chunk:
                now = _now_text()
                name = policy_name(i)
                tx.insert(
                    "policies",
                    {
                        "name_key": name.lower(),
                        "name": name,
                        "policy_id": new_unique_id("ANPA"),
                        "arn": policy_arn(i),
                        "path": "/",
                        "default_version": "v1",
                        "next_version": 2,
                        "description": "",
                        "create_date": now,
                        "update_date": now,
                        "revision": 1,
                        "tags": "[]",
                    },
                )
                tx.insert(
                    "policy_versions",
                    {
                        "policy_key": name.lower(),
                        "version_id": "v1",
                        "document": json.dumps(policy_document(i), separators=(",", ":")),
                        "create_date": now,
                    },
                )


def load_via_api_principals(service: IdentityService, n: Sizes, batch: int = 250) -> None:
    with service.atomic():
        for g in range(n.groups):
            service.create_group(group_name(g))
            service.put_inline_policy(
                PrincipalKind.GROUP, group_name(g), "group-inline", inline_document(group_name(g))
            )
            for p in group_policies(g, n):
                service.attach_policy(PrincipalKind.GROUP, group_name(g), policy_arn(p))
    for chunk in _batches(range(n.api_roles), batch):
        with service.atomic():
            for r in chunk:
                service.create_role(role_name(r), TRUST, path=role_path(r))
                service.put_inline_policy(
                    PrincipalKind.ROLE, role_name(r), "role-inline", inline_document(role_name(r))
                )
                for p in role_policies(r, n):
                    service.attach_policy(PrincipalKind.ROLE, role_name(r), policy_arn(p))
    for chunk in _batches(range(n.api_users), batch):
        with service.atomic():
            for i in chunk:
                name = user_name(i)
                service.create_user(name, tags={"team": f"team-{i % 17}"})
                for p in user_policies(i, n):
                    service.attach_policy(PrincipalKind.USER, name, policy_arn(p))
                for g in user_groups(i, n):
                    service.add_user_to_group(group_name(g), name)
                if user_has_inline(i):
                    service.put_inline_policy(PrincipalKind.USER, name, "user-inline", inline_document(name))


def _inline_row(kind: str, key: str, name: str, owner: str) -> Row:
    return {
        "owner_kind": kind,
        "owner_key": key,
        "name_key": name.lower(),
        "name": name,
        "document": json.dumps(inline_document(owner), separators=(",", ":")),
    }


def load_via_rows_roles(backend: StoreBackend, n: Sizes, batch: int = 1000) -> None:
    for chunk in _batches(range(n.api_roles, n.roles), batch):
        with backend.write() as tx:
            for r in chunk:
                name = role_name(r)
                key = name.lower()
                tx.insert(
                    "roles",
                    {
                        "name_key": key,
                        "name": name,
                        "role_id": new_unique_id("AROA"),
                        "path": role_path(r),
                        "create_date": _now_text(),
                        "trust_policy": json.dumps(TRUST, separators=(",", ":")),
                        "description": "",
                        "max_session_duration": 3600,
                        "tags": "[]",
                        "boundary_arn": None,
                    },
                )
                tx.insert("inline_policies", _inline_row("role", key, "role-inline", name))
                for p in role_policies(r, n):
                    tx.insert(
                        "attachments", {"owner_kind": "role", "owner_key": key, "policy_arn": policy_arn(p)}
                    )


def load_via_rows_users(backend: StoreBackend, n: Sizes, batch: int = 2000) -> None:
    for chunk in _batches(range(n.api_users, n.users), batch):
        with backend.write() as tx:
            for i in chunk:
                name = user_name(i)
                key = name.lower()
                row: Row = {
                    "name_key": key,
                    "name": name,
                    "user_id": new_unique_id("AIDA"),
                    "path": "/",
                    "create_date": _now_text(),
                    "tags": json.dumps([["team", f"team-{i % 17}"]]),
                    "boundary_arn": None,
                }
                tx.insert("users", row)
                for p in user_policies(i, n):
                    tx.insert(
                        "attachments", {"owner_kind": "user", "owner_key": key, "policy_arn": policy_arn(p)}
                    )
                for g in user_groups(i, n):
                    tx.insert("group_members", {"group_key": group_name(g).lower(), "user_key": key})
                if user_has_inline(i):
                    tx.insert("inline_policies", _inline_row("user", key, "user-inline", name))


def populate(service: IdentityService, n: Sizes) -> dict[str, float]:
    """Load the data set; seconds per phase and entities per second.

    The API share comes first and refers only to policies the API created, so IAM's checks (the
    attached policy exists, quotas, names) run against a store of that share's size.
    """
    referenced = [p for r in range(n.api_roles) for p in role_policies(r, n)]
    referenced += [p for i in range(n.api_users) for p in user_policies(i, n)]
    referenced += [p for g in range(n.groups) for p in group_policies(g, n)]
    if max(referenced) >= n.api_policies:
        raise ValueError("the API share attaches policies the API share does not create")
    timings: dict[str, float] = {}
    api_entities = n.api_policies + n.groups + n.api_roles + n.api_users
    row_entities = (n.policies - n.api_policies) + (n.roles - n.api_roles) + (n.users - n.api_users)
    start = time.perf_counter()
    load_via_api_policies(service, n)
    load_via_api_principals(service, n)
    api_s = time.perf_counter() - start
    start = time.perf_counter()
    load_via_rows_policies(service.backend, n)
    load_via_rows_roles(service.backend, n)
    load_via_rows_users(service.backend, n)
    rows_s = time.perf_counter() - start
    timings["api_s"] = api_s
    timings["api_entities"] = api_entities
    timings["api_per_s"] = api_entities / api_s if api_s else 0.0
    timings["rows_s"] = rows_s
    timings["rows_entities"] = row_entities
    timings["rows_per_s"] = row_entities / rows_s if rows_s else 0.0
    timings["total_s"] = api_s + rows_s
    return timings


# ---------------------------------------------------------------- resolving


def _sample(count: int, wanted: int) -> list[int]:
    """``wanted`` indices spread evenly over ``range(count)`` (both load paths covered)."""
    wanted = max(1, min(count, wanted))
    step = count / wanted
    return sorted({int(k * step) for k in range(wanted)})


def _checked_resolve(service: IdentityService, principal: Principal, expected: int) -> int:
    """Nanoseconds for one ``resolve_policy_set``; refuses a wrong answer (a fast wrong resolve
    would make the numbers meaningless)."""
    start = time.perf_counter_ns()
    policy_set = resolve_policy_set(principal, service)
    elapsed = time.perf_counter_ns() - start
    if len(policy_set.identity) != expected:
        raise AssertionError(
            f"{principal.arn}: {len(policy_set.identity)} identity policies, expected {expected}"
        )
    return elapsed


def _median_us(values: Sequence[int]) -> float:
    return statistics.median(values) / 1000.0


def _targets(n: Sizes, samples: int) -> dict[str, list[tuple[Principal, int]]]:
    """Sampled principals in a fixed shuffled order, so a sample cut short by its time budget
    still covers both the API-loaded and the row-loaded entities."""
    users = _sample(n.users, samples)
    roles = _sample(n.roles, samples)
    random.Random(20).shuffle(users)
    random.Random(21).shuffle(roles)
    return {
        "user": [(user_principal(i), expected_user_policies(i, n)) for i in users],
        "role session": [(role_session(r), expected_role_policies(r, n)) for r in roles],
    }


def measure_resolve(service: IdentityService, n: Sizes) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for kind, targets in _targets(n, n.cold_samples).items():
        cold = []
        start = time.perf_counter()
        for principal, expected in targets:
            fresh = IdentityService(service.backend, quotas=QUOTAS)  # empty parse cache
            cold.append(_checked_resolve(fresh, principal, expected))
            if len(cold) >= 5 and time.perf_counter() - start > n.sample_budget_s:
                break
        targets = targets[: len(cold)]
        # Re-read: parse cache warm (filled by the first pass), generation moved by a write.
        reread_service = IdentityService(service.backend, quotas=QUOTAS)
        for principal, expected in targets:
            _checked_resolve(reread_service, principal, expected)
        reread_service.tag_user(user_name(0), {"bench": "bump"})  # any write moves the generation
        reread = [_checked_resolve(reread_service, principal, expected) for principal, expected in targets]
        results[kind] = {
            "cold_us": _median_us(cold),
            "reread_us": _median_us(reread),
            "samples": len(targets),
        }
    for kind, targets in _targets(n, n.warm_principals).items():
        start = time.perf_counter()
        primed = 0
        for principal, expected in targets:
            _checked_resolve(service, principal, expected)
            primed += 1
            if primed >= 5 and time.perf_counter() - start > n.sample_budget_s:
                break
        targets = targets[:primed]
        cycle = itertools.cycle([principal for principal, _ in targets])

        def call(cycle: Iterator[Principal] = cycle) -> object:
            return resolve_policy_set(next(cycle), service)

        stats = harness.measure({kind: call}, n.harness_settings)[kind]
        results[kind]["warm_us"] = stats.median_us
        results[kind]["warm_p90_us"] = stats.p90_us
        results[kind]["warm_principals"] = primed
    return results


# ---------------------------------------------------------------- writes


def measure_writes(service: IdentityService, n: Sizes) -> dict[str, dict[str, float]]:
    """Single-threaded writes on the loaded store, each in its own transaction."""
    names = [f"writer{k:05d}" for k in range(n.writes)]
    ops: dict[str, Callable[[int], object]] = {
        "create_user": lambda k: service.create_user(names[k]),
        "attach_policy": lambda k: service.attach_policy(
            PrincipalKind.USER, names[k], policy_arn(k % n.policies)
        ),
        "put_inline_policy": lambda k: service.put_inline_policy(
            PrincipalKind.USER, names[k], "writer-inline", inline_document(names[k])
        ),
    }
    results = {}
    for op, run in ops.items():
        times = []
        for k in range(n.writes):
            start = time.perf_counter_ns()
            run(k)
            times.append(time.perf_counter_ns() - start)
        results[op] = {
            "per_s": n.writes / (sum(times) / 1e9),
            "median_ms": statistics.median(times) / 1e6,
            "p90_ms": harness._p90([t / 1e6 for t in times]),
            "ops": n.writes,
        }
    return results


# ---------------------------------------------------------------- propagation between processes


def commit_child(url: str) -> int:
    """Process B: for each line on stdin, detach (or re-attach) one policy of ``user00000`` and
    print the wall-clock time right after the commit."""
    service = IdentityService(open_backend(url), quotas=QUOTAS)
    attached = True
    arn = policy_arn(0)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        began = time.time()
        if attached:
            service.detach_policy(PrincipalKind.USER, user_name(0), arn)
        else:
            service.attach_policy(PrincipalKind.USER, user_name(0), arn)
        committed = time.time()
        attached = not attached
        print(json.dumps({"began": began, "committed": committed}), flush=True)
    service.backend.close()
    return 0


def _noticed_by_feed(
    service: IdentityService,
) -> tuple[Callable[[int], int], Callable[[], int], Callable[[], None]]:
    feed = open_change_feed(service)
    return (lambda before: feed.wait_for_change(before, timeout=10.0)), feed.current, feed.close


def _noticed_by_polling(
    service: IdentityService,
) -> tuple[Callable[[int], int], Callable[[], int], Callable[[], None]]:
    def wait(before: int) -> int:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            now = service.generation()
            if now != before:
                return now
            time.sleep(0.001)
        return before

    return wait, service.generation, lambda: None


def measure_propagation(service: IdentityService, url: str, n: Sizes) -> dict[str, dict[str, float]]:
    """Commit in a child process, notice here; ms from its commit to our notice."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--commit-child", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdin is not None and child.stdout is not None
    results = {}
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the committing process did not start")
        if "postgres" in type(service.backend).__module__:
            methods = {
                "change feed (LISTEN/NOTIFY)": _noticed_by_feed,
                "generation() every 1 ms": _noticed_by_polling,
            }
        else:
            methods = {
                "change feed (0.2 s poll)": _noticed_by_feed,
                "generation() every 1 ms": _noticed_by_polling,
            }
        for method, make in methods.items():
            wait, current, close = make(service)
            delays, signed, writes = [], [], []
            try:
                for _ in range(n.trials):
                    before = current()
                    child.stdin.write("go\n")
                    child.stdin.flush()
                    after = wait(before)
                    noticed = time.time()
                    stamps = json.loads(child.stdout.readline())
                    if after == before:
                        raise RuntimeError(f"{method}: the change was not noticed within 10 s")
                    delays.append((noticed - stamps["began"]) * 1000.0)
                    signed.append((noticed - stamps["committed"]) * 1000.0)
                    writes.append((stamps["committed"] - stamps["began"]) * 1000.0)
                    time.sleep(0.05)  # let the feed settle so trials are independent
            finally:
                close()
            results[method] = {
                "median_ms": statistics.median(delays),
                "p90_ms": harness._p90(delays),
                "after_commit_returned_median_ms": statistics.median(signed),
                "write_median_ms": statistics.median(writes),
                "trials": len(delays),
            }
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    return results


# ---------------------------------------------------------------- memory


def _rss_mb() -> float:
    """Current resident set size (MiB): /proc/self/statm where present, else the peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def resolve_everyone(service: IdentityService, n: Sizes) -> dict[str, float]:
    """Resolve every principal once (users, then role sessions), within the time budget."""
    principals = [user_principal(i) for i in range(n.users)] + [role_session(r) for r in range(n.roles)]
    start = time.perf_counter()
    done = 0
    for principal in principals:
        resolve_policy_set(principal, service)
        done += 1
        if time.perf_counter() - start > n.resolve_all_budget_s:
            break
    elapsed = time.perf_counter() - start
    return {
        "resolved": done,
        "of": len(principals),
        "seconds": elapsed,
        "per_principal_us": elapsed / done * 1e6,
    }


# ---------------------------------------------------------------- one backend


def _postgres_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def postgres_reachable(base: str) -> str | None:
    """``None`` when the server answers, else why not."""
    try:
        import psycopg
    except ModuleNotFoundError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(base, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


def _drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run_backend(name: str, sizes: Sizes, pg_base: str) -> dict[str, Any]:
    """Every measurement for one backend (meant to run in a fresh child process)."""
    tmp = tempfile.TemporaryDirectory(prefix="iamguard-store-bench-")
    schema = f"iamguard_bench_{os.getpid()}"
    if name == "memory":
        url = "memory://"
    elif name == "sqlite":
        url = f"sqlite:///{Path(tmp.name) / 'store.db'}"
    else:
        url = _postgres_url(pg_base, schema)
    result: dict[str, Any] = {"backend": name}
    rss_start = _rss_mb()
    try:
        service = IdentityService(open_backend(url, create=True), account_id=ACCOUNT, quotas=QUOTAS)
        rss_open = _rss_mb()
        result["load"] = populate(service, sizes)
        rss_loaded = _rss_mb()
        result["resolve"] = measure_resolve(service, sizes)
        everyone_service = IdentityService(service.backend, quotas=QUOTAS)
        rss_before_all = _rss_mb()
        result["resolve_all"] = resolve_everyone(everyone_service, sizes)
        rss_after_all = _rss_mb()
        result["memory"] = {
            "rss_start_mb": rss_start,
            "load_growth_mb": rss_loaded - rss_open,
            "resolve_all_growth_mb": rss_after_all - rss_before_all,
            "peak_rss_mb": _peak_rss_mb(),
        }
        result["writes"] = measure_writes(service, sizes)
        if name == "memory":
            result["propagation_note"] = "memory:// is private to one process; nothing to propagate"
        else:
            result["propagation"] = measure_propagation(service, url, sizes)
        service.backend.close()
    finally:
        if name == "postgres":
            _drop_schema(pg_base, schema)
        tmp.cleanup()
    return result


def run_in_child(name: str, sizes: Sizes, pg_base: str) -> dict[str, Any]:
    """:func:`run_backend` in a spawned process, so memory figures start from a clean slate."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        outcome: dict[str, Any] = pool.apply(run_backend, (name, sizes, pg_base))
    return outcome


# ---------------------------------------------------------------- report


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_markdown(report: dict[str, Any]) -> str:
    runs = report["backends"]
    names = [r["backend"] for r in runs]
    lines = [
        "# iamguard identity store benchmark",
        "",
        (
            f"{report['mode']} run, {report['when']}, iamguard at {report['commit']}, Python {report['python']} "
            f"on {report['machine']}. Data set: {report['sizes']['policies']:,} managed policies, "
            f"{report['sizes']['groups']:,} groups, {report['sizes']['roles']:,} roles, {report['sizes']['users']:,} users "
            "(3 policies attached per user, 2 per group, 4 per role; inline policies on every group and role and "
            "every tenth user; every user in 1-2 groups). Produced by `python benchmarks/store_bench.py`."
        ),
        "",
        "| measurement | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in runs) + " |")

    row("load, total (s)", lambda r: _fmt(r["load"]["total_s"]))
    row(
        "load through the IAM API (entities/s)",
        lambda r: (
            f"{_fmt(r['load']['api_per_s'])} ({r['load']['api_entities']:,.0f} in {_fmt(r['load']['api_s'])} s)"
        ),
    )
    row(
        "load as rows, backend transactions (entities/s)",
        lambda r: (
            f"{_fmt(r['load']['rows_per_s'])} ({r['load']['rows_entities']:,.0f} in {_fmt(r['load']['rows_s'])} s)"
        ),
    )
    for kind in ("user", "role session"):
        stats = [r["resolve"][kind] for r in runs]
        lines.append(
            f"| resolve {kind}: cold (µs; principals sampled) | "
            + " | ".join(f"{_fmt(s['cold_us'])} ({s['samples']})" for s in stats)
            + " |"
        )
        lines.append(
            f"| resolve {kind}: re-read after a write (µs) | "
            + " | ".join(_fmt(s["reread_us"]) for s in stats)
            + " |"
        )
        lines.append(
            f"| resolve {kind}: warm (µs) | "
            + " | ".join(f"{_fmt(s['warm_us'])} (p90 {_fmt(s['warm_p90_us'])})" for s in stats)
            + " |"
        )
    for op in ("create_user", "attach_policy", "put_inline_policy"):
        writes = [r["writes"][op] for r in runs]
        lines.append(
            f"| {op} (writes/s) | "
            + " | ".join(f"{_fmt(w['per_s'])} (median {_fmt(w['median_ms'])} ms)" for w in writes)
            + " |"
        )

    def propagation(r: dict[str, Any], feed: bool) -> str:
        if "propagation" not in r:
            return "–"
        for method, stats in r["propagation"].items():
            if method.startswith("change feed") == feed:
                return (
                    f"{_fmt(stats['median_ms'])} (p90 {_fmt(stats['p90_ms'])}; "
                    f"the write itself {_fmt(stats['write_median_ms'])})"
                )
        return "–"

    row("change seen by another process, change feed (ms from write start)", lambda r: propagation(r, True))
    row(
        "change seen by another process, generation() every 1 ms (ms from write start)",
        lambda r: propagation(r, False),
    )
    row("RSS growth after load (MiB)", lambda r: _fmt(r["memory"]["load_growth_mb"]))
    row(
        "RSS growth after resolving every principal once (MiB)",
        lambda r: _fmt(r["memory"]["resolve_all_growth_mb"]),
    )
    row(
        "resolving every principal once (s; principals)",
        lambda r: (
            f"{_fmt(r['resolve_all']['seconds'])} ({r['resolve_all']['resolved']:,}/{r['resolve_all']['of']:,})"
        ),
    )
    row("peak RSS (MiB)", lambda r: _fmt(r["memory"]["peak_rss_mb"]))
    lines += ["", "Notes:", ""]
    lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def _notes(report: dict[str, Any]) -> list[str]:
    notes = [
        (
            "Each backend runs in its own spawned process. SQLite: a file in a temp dir (WAL, synchronous=NORMAL). "
            "PostgreSQL: its own schema, dropped afterwards; the server is local (same 2 CPUs)."
        ),
        (
            "Load: the API share (the first policies, every group, the first roles and users) goes through "
            "`IdentityService` (every IAM rule checked) in `atomic()` batches; the rest are inserted as the same rows "
            "through `backend.write()` batches. Quota checks use the backend transaction's `count` (`SELECT COUNT(*)` "
            "on SQL, a length or one index bucket in memory), so an API create costs the same on a loaded store; "
            "the writes/s rows are measured on the loaded store."
        ),
        (
            "Resolve cold: first `resolve_policy_set` through a new `IdentityService` over the same backend (parse "
            "cache empty: every policy of the principal parsed). Re-read: first resolve after a write moved the "
            "generation (rows read again, parse cache warm) — what every principal pays once after any write. Warm: "
            "cached principal, one generation read, `harness.measure` cycling over the sampled principals (PostgreSQL: "
            "the default `generation()` query per resolve; `generation_from_feed=True` serves it from the change feed "
            "instead). The memory backend keeps rows in key order with secondary indexes, so its `select` costs the rows "
            "it returns, not the table."
        ),
        (
            "Propagation: a second process commits `detach_policy`/`attach_policy` on one user; this process notices by "
            "the change feed (`open_change_feed`: 0.2 s poll on SQLite, LISTEN/NOTIFY on PostgreSQL) or by calling "
            "`generation()` every 1 ms. Reported: wall-clock ms from the writer starting its write to this process's "
            "notice (median, p90), and how long the write itself took in the writer (so notice − write ≈ propagation). "
            "The JSON also has the time after the writer's commit call returned, which can be negative: a NOTIFY can "
            "arrive before the writer's COMMIT round trip ends."
        ),
        (
            "Memory: RSS from /proc/self/statm; 'every principal' resolves through a fresh service with the default "
            "caches (4,096 parsed policies, 4,096 principals), so the growth is bounded by the cache sizes, not the store."
        ),
    ]
    for run in report["backends"]:
        done = run["resolve_all"]
        if done["resolved"] < done["of"]:
            notes.append(
                f"{run['backend']}: resolving every principal stopped at its time budget after "
                f"{done['resolved']:,} of {done['of']:,} ({_fmt(done['per_principal_us'])} µs each)."
            )
    notes += report.get("skipped", [])
    return notes


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def run(
    sizes: Sizes, backends: Sequence[str], pg_base: str, log: Callable[[str], None] = print
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "mode": sizes.label,
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()} ({os.cpu_count()} CPUs)",
        "sizes": {k: v for k, v in asdict(sizes).items() if k != "harness_settings"},
        "backends": [],
        "skipped": [],
    }
    for name in backends:
        if name == "postgres":
            why = postgres_reachable(pg_base)
            if why is not None:
                note = f"PostgreSQL skipped: {pg_base.split('@')[-1]} is unreachable ({why})"
                log(note)
                report["skipped"].append(note)
                continue
        log(f"{name}: running ...")
        start = time.perf_counter()
        report["backends"].append(run_in_child(name, sizes, pg_base))
        log(f"{name}: done in {time.perf_counter() - start:.1f} s")
    report["notes"] = _notes(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller data set (< 60 s)")
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here")
    parser.add_argument("--backends", default="memory,sqlite,postgres")
    parser.add_argument("--commit-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.commit_child:
        return commit_child(args.commit_child)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"memory", "sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    pg_base = os.environ.get(PG_ENV, PG_DEFAULT)
    report = run(sizes, backends, pg_base)
    harness.write_results(report, render_markdown(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
