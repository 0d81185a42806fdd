#!/usr/bin/env python
"""Multi-process soak test: gunicorn workers serving the S3 example on one PostgreSQL store, an
admin revoking meanwhile, one worker killed and replaced; checks that nothing revoked was
allowed after its commit.

Processes (all on 127.0.0.1; nothing else is ever contacted):

* ``gunicorn`` with ``--workers`` sync workers running tests/soak/app.py (the S3 example behind
  iamguard, keyring from a file every worker follows), each logging every request it serves;
* the admin (tests/soak/admin.py): deactivates and deletes access keys, detaches policies,
  revokes role sessions, stages a new STS signing key and retires the old one, printing each
  commit's time;
* this driver: seeds the store (its own schema of ``IAMGUARD_TEST_POSTGRES_URL``, dropped at the
  end), runs a bounded load of botocore-signed GET/HEAD/ListObjectsV2 requests (``--clients``
  threads, at most ``--rate`` requests/s, a fresh connection each so every worker is probed),
  SIGKILLs one worker mid-run (gunicorn's master starts a replacement), then hands the logs to
  tests/soak/check.py.

Run: ``python tests/soak/soak.py [--duration 40] [--workers 4] [--seed 1] [--rate 150]
[--json PATH] [--markdown PATH]``. Exit status 0 when the run is clean (see :func:`clean`).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make ``tests.soak`` and ``examples`` importable
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from botocore.auth import S3SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

from examples.s3_service.storage import ObjectStorage  # noqa: E402
from iamguard.store import open_store  # noqa: E402
from iamguard.store.records import PrincipalKind  # noqa: E402
from iamguard.sts.keyring_source import write_keyring_file  # noqa: E402
from iamguard.sts.keys import ENV_KEYS_FILE, KeyRing  # noqa: E402
from tests.soak.admin import STAGE_LEAD  # noqa: E402
from tests.soak.check import LATENCY_WINDOW, TOLERANCE, Report, check, refused  # noqa: E402

HOST = "127.0.0.1"  # INVARIANT: the only address this test ever talks to
BUCKET = "soak-bucket"
OBJECTS = 8
ROLE, MINTER, POLICY = "soak-reader", "soak-minter", "soak-read"
ENV_PG = "IAMGUARD_TEST_POSTGRES_URL"
FOCUS_AFTER = 2.5  # seconds the load keeps probing a revocation's targets after its commit
USER_KINDS = ("deactivate_key", "delete_key", "detach_policy")


# ---------------------------------------------------------------- setup


@dataclass
class Credential:
    cid: str
    akid: str
    secret: str
    token: str | None = None


def make_plan(duration: float, seed: int, period: float) -> dict[str, Any]:
    """The admin's schedule: user revocations shuffled by ``seed``, role-session revocations,
    a staged key at ~25 % of the run and the old key's retirement at ~60 %; none in the last
    ``LATENCY_WINDOW`` + 2 s, so every latency can be measured."""
    rng = random.Random(seed)
    end = duration - LATENCY_WINDOW - 2.0
    actions: list[dict[str, Any]] = []
    users, staged, retired, at, i = 0, False, False, 2.0, 0
    while at <= end:
        if not staged and at >= 0.25 * duration:
            actions.append({"at": at, "kind": "stage_key"})
            staged, at = True, at + period + STAGE_LEAD  # the admin waits for the key to sign
            continue
        if staged and not retired and at >= 0.6 * duration:
            actions.append({"at": at, "kind": "retire_key"})
            retired = True
        elif i % 4 == 3:
            actions.append({"at": at, "kind": "revoke_sessions"})
        else:
            actions.append({"at": at, "kind": rng.choice(USER_KINDS), "user": f"u{users:03d}"})
            users += 1
        at, i = at + period, i + 1
    return {"actions": actions, "users": users + 6, "initial_sessions": 4}


def create_store(url: str) -> Any:
    """A new store at ``url`` (explicit creation where the store API asks for it)."""
    try:
        return open_store(url, create=True)
    except TypeError:
        return open_store(url)


def seed(url: str, data: str, users: int) -> tuple[dict[str, Credential], dict[str, str], str]:
    """Users with keys and a read policy, the role and its minter, the bucket and its objects."""
    store = create_store(url)
    account = store.account().account_id
    read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            }
        ],
    }
    policy_arn = store.create_policy(POLICY, read).arn
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    store.create_role(ROLE, trust)
    store.attach_policy(PrincipalKind.ROLE, ROLE, policy_arn)
    store.create_user(MINTER)
    store.put_inline_policy(
        PrincipalKind.USER,
        MINTER,
        "assume",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": f"arn:aws:iam::{account}:role/{ROLE}",
                }
            ],
        },
    )
    credentials: dict[str, Credential] = {}
    keys: dict[str, str] = {}
    for i in range(users):
        name = f"u{i:03d}"
        store.create_user(name)
        store.attach_policy(PrincipalKind.USER, name, policy_arn)
        created = store.create_access_key(name)
        akid = created.access_key.access_key_id
        credentials[f"key:{name}"] = Credential(f"key:{name}", akid, created.secret_access_key)
        keys[name] = akid
    store.backend.close()
    objects = ObjectStorage(data)
    objects.create_bucket(BUCKET, owner_account=account)
    for i in range(OBJECTS):
        objects.put_object(BUCKET, f"obj-{i}", f"object {i}\n".encode() * 16)
    objects.close()
    return credentials, keys, policy_arn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


# ---------------------------------------------------------------- load


@dataclass
class Load:
    """The load generator's shared state: credentials, the admin's announcements, records."""

    port: int
    rng: random.Random
    credentials: dict[str, Credential]
    focus: dict[str, float] = field(default_factory=dict)  # cid -> probe until (monotonic)
    revoked: set[str] = field(default_factory=set)
    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0

    def pick(self) -> Credential:
        with self.lock:
            now = time.monotonic()
            focus = [cid for cid, until in self.focus.items() if until >= now]
            live = [cid for cid in self.credentials if cid not in self.revoked]
            dead = sorted(self.revoked)
            roll = self.rng.random()
            pool = focus if focus and roll < 0.5 else dead if dead and roll > 0.9 else live or dead
            return self.credentials[self.rng.choice(pool)]

    def request(self, rid: str, credential: Credential) -> dict[str, Any]:
        roll = self.rng.random()
        method, path = ("GET", f"/{BUCKET}/obj-{self.rng.randrange(OBJECTS)}")
        if roll > 0.9:
            method, path = "GET", f"/{BUCKET}?list-type=2&max-keys=5"
        elif roll > 0.8:
            method = "HEAD"
        request = AWSRequest(
            method=method, url=f"http://{HOST}:{self.port}{path}", headers={"x-soak-id": rid}
        )
        S3SigV4Auth(
            Credentials(credential.akid, credential.secret, credential.token), "s3", "us-east-1"
        ).add_auth(request)
        record: dict[str, Any] = {
            "rid": rid,
            "cred": credential.cid,
            "method": method,
            "t_send": time.monotonic(),
        }
        connection = http.client.HTTPConnection(HOST, self.port, timeout=15)
        try:
            connection.request(method, path, headers=dict(request.headers.items()))
            response = connection.getresponse()
            body = response.read()
            record.update(status=response.status, worker=response.getheader("x-soak-worker"))
            if response.status >= 400 and b"<Code>" in body:
                record["code"] = body.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()
        except (OSError, http.client.HTTPException) as exc:
            record["conn_error"] = type(exc).__name__
        finally:
            connection.close()
        record["t_recv"] = time.monotonic()
        return record

    def run_client(self, index: int, deadline: float, share: float, limit: int) -> None:
        next_at = time.monotonic()
        n = 0
        while time.monotonic() < deadline:
            with self.lock:
                if self.sent >= limit:
                    return
                self.sent += 1
            record = self.request(f"c{index}-{n}", self.pick())
            n += 1
            with self.lock:
                self.records.append(record)
            next_at = max(next_at + share, time.monotonic() - 1.0)
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def follow_admin(self, stream: Any, events: list[dict[str, Any]]) -> None:
        """Read the admin's lines: new sessions join the pool; plans and commits steer probes."""
        for raw in stream:
            event = json.loads(raw)
            with self.lock:
                if event["ev"] == "session":
                    self.credentials[event["id"]] = Credential(
                        event["id"], event["akid"], event["secret"], event["token"]
                    )
                    event = {k: v for k, v in event.items() if k not in ("secret", "token")}
                elif event["ev"] == "plan":
                    for cid in event["targets"]:
                        self.focus[cid] = time.monotonic() + 5.0
                elif event["ev"] == "revoke":
                    self.revoked.update(event["targets"])
                    for cid in event["targets"]:
                        self.focus[cid] = time.monotonic() + FOCUS_AFTER + event["bound"]
                events.append(event)


# ---------------------------------------------------------------- the run


@contextmanager
def schema(base_url: str) -> Iterator[str]:
    name = f"iamguard_soak_{secrets.token_hex(4)}"
    parts = urlsplit(base_url)
    query = "&".join(q for q in [parts.query, f"schema={name}"] if q)
    try:
        yield parts._replace(query=query).geturl()
    finally:
        with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _wait(what: str, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"soak: timed out waiting for {what}")
        time.sleep(0.05)


def run(args: argparse.Namespace, work: Path) -> tuple[Report, dict[str, Any]]:
    """One soak run in ``work`` (logs stay there); the checker's report and the run's facts."""
    base_url = args.store_url or os.environ.get(ENV_PG)
    if not base_url:
        raise SystemExit(f"soak: set {ENV_PG} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    plan = make_plan(args.duration, args.seed, args.period)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    keyring = work / "keyring.json"
    write_keyring_file(KeyRing.generate(), keyring)
    env = {
        **os.environ,
        "IAMGUARD_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        ENV_KEYS_FILE: str(keyring),
        "SOAK_DATA": str(work / "objects.db"),
        "SOAK_LOG_DIR": str(logs),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        ),
    }
    os.environ["IAMGUARD_MASTER_KEY"] = env["IAMGUARD_MASTER_KEY"]
    with schema(base_url) as url:
        env["SOAK_STORE_URL"] = url
        credentials, keys, policy_arn = seed(url, env["SOAK_DATA"], plan["users"])
        plan.update(store_url=url, keys=keys, policy_arn=policy_arn, role=ROLE, minter=MINTER)
        (work / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        return _serve_and_load(args, work, env, plan, credentials)


def _serve_and_load(
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    plan: dict[str, Any],
    credentials: dict[str, Credential],
) -> tuple[Report, dict[str, Any]]:
    port = free_port()
    output = (work / "gunicorn.out").open("w")
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"{HOST}:{port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "3",
            "--error-logfile",
            str(work / "gunicorn.log"),
            "tests.soak.app:application",
        ],
        env=env,
        cwd=str(ROOT),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    admin = subprocess.Popen(
        [sys.executable, "-m", "tests.soak.admin", str(work / "plan.json")],
        env=env,
        cwd=str(ROOT),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    events: list[dict[str, Any]] = []
    load = Load(port, random.Random(args.seed), dict(credentials))
    try:
        assert admin.stdout is not None and admin.stdin is not None
        for raw in admin.stdout:  # the initial sessions, then "ready"
            event = json.loads(raw)
            if event["ev"] == "ready":
                break
            load.credentials[event["id"]] = Credential(
                event["id"], event["akid"], event["secret"], event["token"]
            )
            events.append({k: v for k, v in event.items() if k not in ("secret", "token")})
        follower = threading.Thread(target=load.follow_admin, args=(admin.stdout, events), daemon=True)
        follower.start()
        _wait("gunicorn workers", lambda: _ready(gunicorn.pid, args.workers, work), 60)
        initial = children(gunicorn.pid)
        admin.stdin.write("go\n")
        admin.stdin.flush()
        kill = _load(args, load, gunicorn.pid)
        admin.wait(timeout=30)
        follower.join(timeout=5)
        replacement_ready = sorted(set(children(gunicorn.pid)) - set(initial))
    finally:
        for process in (admin, gunicorn):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (admin, gunicorn):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.close()
    workers = [
        json.loads(line)
        for path in sorted((work / "logs").glob("worker-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line
    ]
    revocations = [e for e in events if e["ev"] == "revoke"]
    akids = {c.akid: c.cid for c in load.credentials.values()}
    report = check(load.records, workers, revocations, akids, initial_pids=initial, kill=kill)
    (work / "client.jsonl").write_text("".join(json.dumps(r) + "\n" for r in load.records), encoding="utf-8")
    (work / "admin.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    staged = {e["kid"] for e in events if e["ev"] == "staged"}
    by_new_key = {e["akid"] for e in events if e["ev"] == "session" and e["kid"] in staged}
    new_key_lines = [line for line in workers if line["akid"] in by_new_key]
    facts = {
        "new_key_allowed": sum(200 <= line["status"] < 300 for line in new_key_lines),
        "new_key_refused": sum(refused(line) for line in new_key_lines),
        "new_key_workers": len({line["pid"] for line in new_key_lines if line["status"] == 200}),
        "duration": args.duration,
        "workers": args.workers,
        "seed": args.seed,
        "rate": args.rate,
        "clients": args.clients,
        "initial_pids": initial,
        "kill": kill,
        "replacements_alive_at_end": replacement_ready,
        "events": len(events),
        "tolerance": TOLERANCE,
        "latency_window": LATENCY_WINDOW,
        "stage_events": [e for e in events if e["ev"] == "staged"],
    }
    return report, facts


def _ready(master: int, count: int, work: Path) -> bool:
    pids = children(master)
    return len(pids) == count and all((work / "logs" / f"ready-{pid}").exists() for pid in pids)


def _load(args: argparse.Namespace, load: Load, master: int) -> dict[str, Any]:
    """Run the clients for ``--duration`` seconds; SIGKILL one worker at ~45 %. The kill's facts."""
    start = time.monotonic()
    deadline = start + args.duration
    limit = int(args.rate * args.duration * 1.1)
    share = args.clients / args.rate
    threads = [
        threading.Thread(target=load.run_client, args=(i, deadline, share, limit), daemon=True)
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.45 * args.duration)
    victim = random.Random(args.seed).choice(children(master))
    t_kill = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=args.duration + 30)
    return {"pid": victim, "t": t_kill, "at": t_kill - start}


# ---------------------------------------------------------------- reporting


def clean(report: Report, facts: dict[str, Any]) -> list[str]:
    """Why the run is not clean (empty when it is)."""
    problems = []
    if facts["new_key_workers"] < facts["workers"]:
        problems.append(
            f"sessions signed by the staged key were allowed by {facts['new_key_workers']} "
            f"workers only ({facts['new_key_allowed']} requests)"
        )
    if report.violations:
        problems.append(f"{len(report.violations)} revoked-but-allowed responses")
    if report.unexpected_refusals:
        problems.append(f"{len(report.unexpected_refusals)} refusals of credentials not (yet) revoked")
    if report.http_5xx:
        problems.append(f"{report.http_5xx} HTTP 5xx responses")
    if report.http_errors_by_code:
        problems.append(f"unexpected HTTP errors {report.http_errors_by_code}")
    if report.connection_errors != report.connection_errors_at_kill:
        problems.append(
            f"{report.connection_errors - report.connection_errors_at_kill} connection errors "
            "not on the killed worker's connections"
        )
    if report.unattributed:
        problems.append(f"{report.unattributed} responses no worker logged")
    if not report.allowed_by_replacements:
        problems.append("the replacement of the killed worker allowed nothing")
    if report.latency_incomplete:
        problems.append(f"{report.latency_incomplete} revocations whose latency could not be measured")
    return problems


def markdown(report: Report, facts: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value * 1000:.1f} ms"

    lines = [
        "# Soak test: revocation across gunicorn workers on PostgreSQL",
        "",
        (
            f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}: `python tests/soak/soak.py "
            f"--duration {facts['duration']:g} --workers {facts['workers']} --seed {facts['seed']} "
            f"--rate {facts['rate']:g} --clients {facts['clients']}` on this project's shared 2-core machine."
        ),
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests sent | {report.requests_sent} |",
        f"| responses (served and logged by a worker) | {report.responses} ({report.served_by_workers}) |",
        f"| allowed (2xx) | {report.allowed} |",
        f"| refused (403) by code | {', '.join(f'{k} {v}' for k, v in sorted(report.refused_by_code.items())) or '0'} |",
        f"| other HTTP errors / 5xx | {report.http_errors_by_code or 0} / {report.http_5xx} |",
        (
            f"| connection errors (on the killed worker's connections) | {report.connection_errors} "
            f"({report.connection_errors_at_kill}) |"
        ),
        f"| revocations (by kind) | {report.revocations} ({', '.join(f'{k} {v}' for k, v in sorted(report.revocations_by_kind.items()))}) |",
        f"| revocation latency p50 / max | {ms(report.latency_p50)} / {ms(report.latency_max)} |",
        *(
            f"| … {kind} p50 / max | {ms(statistics.median(v))} / {ms(max(v))} |"
            for kind, v in sorted(report.latency_by_kind.items())
        ),
        f"| revocations without a latency figure | {report.latency_incomplete} |",
        f"| **revoked but allowed after commit (violations)** | **{len(report.violations)}** |",
        f"| refusals of credentials not revoked | {len(report.unexpected_refusals)} |",
        (
            f"| workers seen / killed pid / replacement pids | {len(report.workers_seen)} / {report.killed_pid} / "
            f"{report.replacement_pids} |"
        ),
        f"| served / allowed by the replacement | {report.served_by_replacements} / {report.allowed_by_replacements} |",
        (
            f"| sessions signed by the staged key: allowed (by how many workers) / refused after a revocation | "
            f"{facts['new_key_allowed']} ({facts['new_key_workers']}) / {facts['new_key_refused']} |"
        ),
        "",
        (
            f"Killed at {facts['kill']['at']:.1f} s of {facts['duration']:g} s. Clock tolerance {facts['tolerance'] * 1000:g} ms; "
            "latency = from the admin's commit until every worker up at the commit (and still serving "
            f"{facts['latency_window']:g} s later) had answered a refusal to a target credential; it includes "
            "the wait for each worker's next probe of a target. Store revocations apply to any request that "
            "starts after the commit; a keyring retirement may take up to the workers' 1 s re-read interval "
            "by design. Definitions and the tolerance's justification: tests/soak/check.py."
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=150.0, help="requests/s cap (all clients)")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--period", type=float, default=2.5, help="seconds between admin actions")
    parser.add_argument("--store-url", default=None, help=f"PostgreSQL URL (default ${ENV_PG})")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs in this directory")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iamguard-soak-") as tmp:
        work = args.keep or Path(tmp)
        report, facts = run(args, work)
    print(markdown(report, facts))
    if args.json:
        args.json.write_text(
            json.dumps({"report": report.to_json(), "facts": facts}, indent=1), encoding="utf-8"
        )
    if args.markdown:
        args.markdown.write_text(markdown(report, facts), encoding="utf-8")
    problems = clean(report, facts)
    for problem in problems:
        print("NOT CLEAN:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
