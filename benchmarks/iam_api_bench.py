#!/usr/bin/env python
"""IAM API calls per second: CreateUser, ListUsers (a page of 100), SimulatePrincipalPolicy, on
SQLite and PostgreSQL.

Each call is a botocore-signed IAM Query request handed to the WSGI app ``iamguard serve`` runs
(:class:`~iamguard.iam.wsgi.IamStsWsgiApp`) in-process, without sockets: routing by the
signature's scope, body read, SigV4 verification against the store's access key, parameter
validation from AWS's model, authorization of ``iam:<Action>`` by iamguard's engine (the caller
is an IAM user with an ``iam:*`` policy, so a real decision is made), the store transaction and
the XML answer. Requests are signed before the clock starts (signing is the client's cost;
SigV4 allows replays in its 15-minute window, which lets read requests be reused). Beside each,
the operations layer alone (``IamService.call`` as the same user, no wire) shows what the
protocol adds. Every figure is the median of ``--rounds`` rounds on one thread.

* ``ListUsers`` (page of 100): the first page of a store holding ``--users`` users (reads are
  measured first, before the writes below add users);
* ``CreateUser``: a new user per call (distinct names), one write transaction each;
* ``SimulatePrincipalPolicy``: when the operation exists (another module provides it), one action
  on one resource for a user with three policies.

Run: ``python benchmarks/iam_api_bench.py [--calls 300] [--rounds 5] [--users 1000]``; PostgreSQL
from ``IAMGUARD_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``) in a
schema of its own, dropped afterwards (``--no-postgres`` skips it).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness
from iamguard.authn.session_token import SessionTokenService
from iamguard.iam import IamEndpoint, IamService, IamStsWsgiApp, IamWsgiApp
from iamguard.iam._registry import operations
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

ACCOUNT = "111122223333"
HOST = "iam.bench.local"
PG_ENV = "IAMGUARD_TEST_POSTGRES_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = ROOT / "benchmarks" / "results"
BOX = SecretBox({"b": bytes(32)}, "b")
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
DENY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"}],
}
Environ = dict[str, Any]


def _signed(key_id: str, secret: str, params: dict[str, str]) -> Callable[[], Environ]:
    """A botocore-signed IAM request as a WSGI environ factory."""
    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    body = urlencode({**params, "Version": "2010-05-08"}).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key_id, secret), "iam", "us-east-1").add_auth(request)
    base: Environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": request.headers["Content-Type"],
        "HTTP_HOST": HOST,
    }
    for name, value in request.headers.items():
        if name.lower() != "content-type":
            base["HTTP_" + name.upper().replace("-", "_")] = value
    return lambda: {**base, "wsgi.input": io.BytesIO(body)}


class Bench:
    """One store with an ``iam:*`` admin user, the app over it, and the user's signing key."""

    def __init__(self, store: IdentityService, users: int) -> None:
        self.store = store
        with store.atomic():
            store.create_user("admin")
            store.put_inline_policy(PrincipalKind.USER, "admin", "iam", ADMIN)
            store.create_user("subject")
            store.put_inline_policy(PrincipalKind.USER, "subject", "s3", S3)
            store.put_inline_policy(PrincipalKind.USER, "subject", "deny", DENY)
            for i in range(users - 2):
                store.create_user(f"seeded{i:05d}")
        created = store.create_access_key("admin")
        self.key = (created.access_key_id, created.secret_access_key)
        tokens = SessionTokenService(KeyRing.generate())
        self.app = IamStsWsgiApp(
            IamWsgiApp(IamEndpoint(store, sessions=tokens)), StsWsgiApp(TokenService(store, tokens))
        )
        self.service = IamService(store)
        self.caller = self.service.as_user("admin")

    def signed(self, params: dict[str, str]) -> Callable[[], Environ]:
        return _signed(self.key[0], self.key[1], params)

    def call(self, environ: Environ) -> str:
        statuses: list[str] = []
        body = b"".join(self.app(environ, lambda status, headers: statuses.append(status)))
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{statuses[0]}: {body[:300]!r}")
        return statuses[0]


def _rate(run: Callable[[int], object], calls: int, rounds: int) -> float:
    """Median calls per second of ``run(calls)`` over ``rounds`` rounds."""
    samples = []
    for r in range(rounds):
        start = time.perf_counter()
        run(r)
        samples.append(calls / (time.perf_counter() - start))
    return statistics.median(samples)


def _each(call: Callable[[Any], object], batches: list[list[Any]]) -> Callable[[int], None]:
    """A round runner: ``call`` on every item of round ``r``'s batch."""

    def run(r: int) -> None:
        for item in batches[r]:
            call(item)

    return run


def measure(bench: Bench, calls: int, rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}

    def layer(action: str) -> Callable[[dict[str, Any]], object]:
        return lambda params: bench.service.call(action, params, caller=bench.caller)

    # Reads first, on a store of exactly the seeded users; the writes add users after.
    reads: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ("ListUsers (page of 100)", {"Action": "ListUsers", "MaxItems": "100"}, {"MaxItems": 100})
    ]
    if "SimulatePrincipalPolicy" in operations():
        subject = f"arn:aws:iam::{ACCOUNT}:user/subject"
        wire_params = {
            "Action": "SimulatePrincipalPolicy",
            "PolicySourceArn": subject,
            "ActionNames.member.1": "s3:GetObject",
            "ResourceArns.member.1": "arn:aws:s3:::b/k",
        }
        params = {
            "PolicySourceArn": subject,
            "ActionNames": ["s3:GetObject"],
            "ResourceArns": ["arn:aws:s3:::b/k"],
        }
        reads.append(("SimulatePrincipalPolicy", wire_params, params))
    for name, wire_params, params in reads:
        signed = bench.signed(wire_params)
        bench.call(signed())  # warm: the first call parses and caches the caller's policies
        action = wire_params["Action"]
        results[name] = {
            "wire": _rate(
                _each(bench.call, [[signed() for _ in range(calls)] for _ in range(rounds)]), calls, rounds
            ),
            "layer": _rate(_each(layer(action), [[params] * calls for _ in range(rounds)]), calls, rounds),
        }
    # CreateUser: every request distinct (a new name), all signed before timing.
    wire = [
        [bench.signed({"Action": "CreateUser", "UserName": f"w{r}x{i}"})() for i in range(calls)]
        for r in range(rounds)
    ]
    direct = [[{"UserName": f"l{r}x{i}"} for i in range(calls)] for r in range(rounds)]
    results["CreateUser"] = {
        "wire": _rate(_each(bench.call, wire), calls, rounds),
        "layer": _rate(_each(layer("CreateUser"), direct), calls, rounds),
    }
    return results


def _postgres(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def _drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run(calls: int, rounds: int, users: int, pg_base: str | None) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    backends: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/iam.db", create=True, account_id=ACCOUNT, secret_box=BOX)
        backends["SQLite"] = measure(Bench(store, users), calls, rounds)
    if pg_base is not None:
        schema = f"iamguard_iam_bench_{os.getpid()}"
        try:
            store = open_store(_postgres(pg_base, schema), create=True, account_id=ACCOUNT, secret_box=BOX)
            backends["PostgreSQL"] = measure(Bench(store, users), calls, rounds)
            store.backend.close()  # type: ignore[attr-defined]
        finally:
            _drop_schema(pg_base, schema)
    return {
        "calls": calls,
        "rounds": rounds,
        "users": users,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "backends": backends,
    }


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# IAM API calls per second",
        "",
        f"`python benchmarks/iam_api_bench.py`: {report['calls']} calls per round, median of "
        f"{report['rounds']} rounds, one thread; Python {report['python']} on {report['machine']} "
        "(shared with other work). *wire*: a botocore-signed request through the WSGI app `iamguard "
        "serve` runs (routing, SigV4, validation, authorization, transaction, XML), no sockets; "
        "*layer*: `IamService.call` alone. The caller is an IAM user with an `iam:*` policy. "
        f"ListUsers pages through a store of {report['users']} users. 1-minute load average "
        f"{report['load_average'][0]} at the start, {report['load_average'][1]} at the end: other "
        "work shared the 2 CPUs, so compare figures from one run, not across runs.",
        "",
        "| call | backend | wire calls/s | layer calls/s |",
        "|---|---|---|---|",
    ]
    for backend, results in report["backends"].items():
        for name, rates in results.items():
            lines.append(f"| {name} | {backend} | {rates['wire']:,.0f} | {rates['layer']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS / "iam_api_latest.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "iam_api_latest.md")
    args = parser.parse_args(argv)
    pg_base = None if args.no_postgres else os.environ.get(PG_ENV, PG_DEFAULT)
    report = run(args.calls, args.rounds, args.users, pg_base)
    harness.write_results(report, render_markdown(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
