#!/usr/bin/env python
"""Time per policy check: ``check_no_new_access`` and ``check_no_public_access`` on realistic
policies of 1, 10 and 100 statements.

**Identity policies** (seeded, reproducible): each statement grants one to three actions of S3,
SQS, DynamoDB, KMS or CloudWatch Logs (15% as a ``Get*`` wildcard) on its own resources (a
bucket and its objects, a queue, a table, a key, a log group), about half with conditions
(``IpAddress`` on two CIDR blocks, ``StringEquals`` on the region, ``StringLike`` on
``s3:prefix``, ``Bool`` plus ``NumericLessThan``), and one in ten is a regional ``Deny`` on
``Delete*``. Two questions per size:

* **widened** (FAIL): the new version turns one statement's actions into ``service:*``;
* **narrowed** (PASS, the complete search): the new version keeps one action of one statement
  and adds ``aws:SecureTransport`` to it; every other statement is unchanged.

**Bucket policies**: statements granting ``s3:GetObject``/``s3:PutObject`` on prefixes to named
accounts, to roles, and to everyone limited by ``aws:PrincipalOrgID`` or a ``/24`` in
``aws:SourceIp``, plus a TLS-only ``Deny``; the **public** variant turns one grant into
``"Principal": "*"`` without a condition (FAIL), the **private** one is as generated (PASS).

**Dense policies** (``dense_policy``): every statement reaches the same three resources and
tests two to four of six shared keys (``aws:SourceIp``, ``aws:RequestedRegion``,
``aws:PrincipalTag/team``, ``s3:prefix``, ``aws:MultiFactorAuthAge``, ``aws:SecureTransport``),
one in twelve a ``Deny`` of writes from outside three networks: **dense narrowed** (PASS) as
above, **dense widened** (FAIL: one grant also allows ``s3:GetBucketPolicy``), and **dense
public** (a bucket policy for everyone limited by shared keys, one grant made public: FAIL).

Each check is timed from the JSON document (parsing and compiling included, as a caller pays
them), ``--repeat`` times (default 9); the median and the slowest are reported with the verdict
and the number of requests the search evaluated.

Run: ``python benchmarks/analysis_bench.py [--repeat N] [--markdown PATH]``; results go to
``benchmarks/results/analysis_latest.md``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sigv4_bench import git_head
from iamguard.analysis import AnalysisResult, check_no_new_access, check_no_public_access

SIZES = (1, 10, 100)
SERVICES = {
    "s3": ["GetObject", "PutObject", "DeleteObject", "ListBucket", "GetObjectTagging", "PutObjectTagging"],
    "sqs": ["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes"],
    "dynamodb": ["GetItem", "PutItem", "Query", "Scan", "UpdateItem"],
    "kms": ["Decrypt", "Encrypt", "GenerateDataKey"],
    "logs": ["CreateLogStream", "PutLogEvents", "DescribeLogStreams"],
}
ACCOUNT = "123456789012"
Document = dict[str, Any]


def _resources(service: str, i: int) -> list[str]:
    return {
        "s3": [f"arn:aws:s3:::team{i}-data", f"arn:aws:s3:::team{i}-data/*"],
        "sqs": [f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-{i}"],
        "dynamodb": [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-{i}"],
        "kms": [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/key-{i}"],
        "logs": [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/app/{i}:*"],
    }[service]


def _condition(i: int, rng: random.Random) -> dict[str, Any] | None:
    roll = rng.random()
    if roll < 0.2:
        return {"IpAddress": {"aws:SourceIp": [f"10.{i % 250}.0.0/16", "192.0.2.0/24"]}}
    if roll < 0.35:
        return {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    if roll < 0.45:
        return {"StringLike": {"s3:prefix": [f"home/{i}/*"]}}
    if roll < 0.5:
        return {"Bool": {"aws:SecureTransport": "true"}, "NumericLessThan": {"s3:max-keys": "100"}}
    return None


def identity_policy(size: int, rng: random.Random) -> Document:
    statements = []
    for i in range(size):
        service = rng.choice(list(SERVICES))
        if rng.random() < 0.1 and size > 1:
            statements.append(
                {
                    "Sid": f"DenyDelete{i}",
                    "Effect": "Deny",
                    "Action": f"{service}:Delete*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
                }
            )
            continue
        names = rng.sample(SERVICES[service], k=min(len(SERVICES[service]), rng.randint(1, 3)))
        actions = [f"{service}:Get*"] if rng.random() < 0.15 else [f"{service}:{n}" for n in names]
        statement: Document = {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": actions,
            "Resource": _resources(service, i),
        }
        condition = _condition(i, rng)
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _an_allow(document: Document, rng: random.Random) -> Document:
    return rng.choice([s for s in document["Statement"] if s["Effect"] == "Allow"])  # type: ignore[no-any-return]


def widened(document: Document, rng: random.Random) -> Document:
    changed = copy.deepcopy(document)
    statement = _an_allow(changed, rng)
    statement["Action"] = [statement["Action"][0].split(":")[0] + ":*"]
    return changed


def narrowed(document: Document, rng: random.Random) -> Document:
    changed = copy.deepcopy(document)
    statement = _an_allow(changed, rng)
    statement["Action"] = statement["Action"][:1]
    statement.setdefault("Condition", {}).setdefault("Bool", {})["aws:SecureTransport"] = "true"
    return changed


def bucket_policy(size: int, rng: random.Random) -> Document:
    bucket = "example-reports"
    statements: list[Document] = [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    for i in range(size - 1):
        grant: Document = {
            "Sid": f"Grant{i}",
            "Effect": "Allow",
            "Action": rng.choice([["s3:GetObject"], ["s3:GetObject", "s3:PutObject"], ["s3:ListBucket"]]),
            "Resource": f"arn:aws:s3:::{bucket}/prefix-{i}/*",
        }
        roll = rng.random()
        if roll < 0.4:
            grant["Principal"] = {"AWS": f"{111111111111 + i:012d}"}
        elif roll < 0.6:
            grant["Principal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader-{i}"}
        elif roll < 0.8:
            grant["Principal"] = "*"
            grant["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
        else:
            grant["Principal"] = {"AWS": "*"}
            grant["Condition"] = {"IpAddress": {"aws:SourceIp": f"198.51.{i % 250}.0/24"}}
        statements.append(grant)
    return {"Version": "2012-10-17", "Statement": statements}


def made_public(document: Document, rng: random.Random) -> Document:
    changed = copy.deepcopy(document)
    grants = [s for s in changed["Statement"] if s["Effect"] == "Allow"]
    if not grants:
        grants = [{"Sid": "Public", "Effect": "Allow", "Resource": "arn:aws:s3:::example-reports/*"}]
        changed["Statement"].append(grants[0])
    statement = rng.choice(grants)
    statement["Principal"] = "*"
    statement["Action"] = ["s3:GetObject"]
    statement.pop("Condition", None)
    return changed


# Dense policies: every statement reaches the same few buckets and tests two to four of the same
# condition keys, so a request reaches dozens of statements at once and the condition keys'
# classes multiply (20^6 contexts before ``_search`` merged and stopped partial assignments).
DENSE_CIDRS = [f"10.{i}.0.0/16" for i in range(8)] + ["192.0.2.0/24", "198.51.100.0/24"]
DENSE_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
DENSE_TEAMS = [f"team{i}" for i in range(10)]
DENSE_RESOURCES = ["arn:aws:s3:::datalake", "arn:aws:s3:::datalake/*", "arn:aws:s3:::reports/*"]
DENSE_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetObjectTagging"]


def _dense_condition(rng: random.Random) -> dict[str, Any]:
    condition: dict[str, Any] = {}
    for key in rng.sample(["ip", "region", "team", "prefix", "mfa", "tls"], k=rng.randint(2, 4)):
        if key == "ip":
            condition.setdefault("IpAddress", {})["aws:SourceIp"] = rng.sample(
                DENSE_CIDRS, k=rng.randint(1, 2)
            )
        elif key == "region":
            condition.setdefault("StringEquals", {})["aws:RequestedRegion"] = rng.sample(
                DENSE_REGIONS, k=rng.randint(1, 2)
            )
        elif key == "team":
            condition.setdefault("StringEquals", {})["aws:PrincipalTag/team"] = rng.choice(DENSE_TEAMS)
        elif key == "prefix":
            condition.setdefault("StringLike", {})["s3:prefix"] = [f"home/{rng.choice(DENSE_TEAMS)}/*"]
        elif key == "mfa":
            condition.setdefault("NumericLessThan", {})["aws:MultiFactorAuthAge"] = str(
                rng.choice([3600, 7200, 86400])
            )
        else:
            condition.setdefault("Bool", {})["aws:SecureTransport"] = "true"
    return condition


def dense_policy(size: int, rng: random.Random) -> Document:
    """``size`` statements on three shared resources, each testing 2-4 of six shared keys;
    one in twelve a ``Deny`` of writes from outside three of the networks."""
    statements: list[Document] = []
    for i in range(size):
        if i % 12 == 11:
            statements.append(
                {
                    "Sid": f"DenyOutside{i}",
                    "Effect": "Deny",
                    "Action": rng.choice(["s3:Delete*", "s3:Put*"]),
                    "Resource": rng.choice(DENSE_RESOURCES),
                    "Condition": {"NotIpAddress": {"aws:SourceIp": rng.sample(DENSE_CIDRS, k=3)}},
                }
            )
            continue
        statements.append(
            {
                "Sid": f"Grant{i}",
                "Effect": "Allow",
                "Action": rng.sample(DENSE_ACTIONS, k=rng.randint(1, 3)),
                "Resource": rng.choice(DENSE_RESOURCES),
                "Condition": _dense_condition(rng),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def dense_widened(document: Document, rng: random.Random) -> Document:
    """One grant also allows ``s3:GetBucketPolicy``, which nothing else names: new access."""
    changed = copy.deepcopy(document)
    _an_allow(changed, rng)["Action"].append("s3:GetBucketPolicy")
    return changed


def dense_public_policy(size: int, rng: random.Random) -> Document:
    """A bucket policy of ``size`` statements for everyone, each limited by 2-4 shared keys
    (``aws:PrincipalOrgID``, a ``/24`` of ``aws:SourceIp``, ``aws:SourceVpce``, the region),
    plus a TLS-only ``Deny``: no statement is public by S3's definition."""
    statements: list[Document] = [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::datalake", "arn:aws:s3:::datalake/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    for i in range(size - 1):
        condition: dict[str, Any] = {}
        for key in rng.sample(["org", "ip", "vpce", "region"], k=rng.randint(2, 4)):
            if key == "org":
                condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = rng.choice(
                    ["o-a1b2c3d4e5", "o-f6g7h8i9j0"]
                )
            elif key == "ip":
                condition.setdefault("IpAddress", {})["aws:SourceIp"] = f"198.51.{rng.randrange(8)}.0/24"
            elif key == "vpce":
                condition.setdefault("StringEquals", {})["aws:SourceVpce"] = f"vpce-{rng.randrange(6):04d}"
            else:
                condition.setdefault("StringEquals", {})["aws:RequestedRegion"] = rng.choice(DENSE_REGIONS)
        statements.append(
            {
                "Sid": f"Grant{i}",
                "Effect": "Allow",
                "Principal": "*",
                "Action": rng.sample(DENSE_ACTIONS, k=rng.randint(1, 2)),
                "Resource": "arn:aws:s3:::datalake/*",
                "Condition": condition,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _time(check: Callable[[], AnalysisResult], repeat: int) -> tuple[list[float], AnalysisResult]:
    result = check()  # warm-up: imports and the one-time Unicode case table
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = check()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def run(repeat: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in SIZES:
        rng = random.Random(size)
        old = identity_policy(size, rng)
        bucket = bucket_policy(size, rng)
        cases: list[tuple[str, str, Callable[[], AnalysisResult]]] = [
            ("no new access", "widened", functools.partial(check_no_new_access, widened(old, rng), old)),
            ("no new access", "narrowed", functools.partial(check_no_new_access, narrowed(old, rng), old)),
            ("public access", "public", functools.partial(check_no_public_access, made_public(bucket, rng))),
            ("public access", "private", functools.partial(check_no_public_access, bucket)),
        ]
        dense_rng = random.Random(1000 + size)
        dense = dense_policy(size, dense_rng)
        dense_bucket = dense_public_policy(size, dense_rng)
        cases += [
            (
                "no new access",
                "dense narrowed",
                functools.partial(check_no_new_access, narrowed(dense, dense_rng), dense),
            ),
            (
                "no new access",
                "dense widened",
                functools.partial(check_no_new_access, dense_widened(dense, dense_rng), dense),
            ),
            (
                "public access",
                "dense public",
                functools.partial(check_no_public_access, made_public(dense_bucket, dense_rng)),
            ),
        ]
        for check, variant, call in cases:
            times, result = _time(call, repeat)
            rows.append(
                {
                    "check": check,
                    "statements": size,
                    "variant": variant,
                    "verdict": result.verdict.value,
                    "median_ms": statistics.median(times),
                    "max_ms": max(times),
                    "requests": result.requests_tried,
                }
            )
            print(
                f"{check:14} {size:4} {variant:15} {result.verdict.value:8} "
                f"median {statistics.median(times):8.1f} ms  max {max(times):8.1f} ms  "
                f"requests {result.requests_tried}"
            )
    return rows


def markdown(rows: list[dict[str, Any]], repeat: int) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Policy analysis: time per check",
        "",
        f"`python benchmarks/analysis_bench.py --repeat {repeat}` at {git_head()}, {now}, "
        f"Python {platform.python_version()} on {platform.machine()} ({platform.system()}), "
        f"a {os.cpu_count()}-core machine shared with other jobs while it ran (load average "
        f"{os.getloadavg()[0]:.1f} at the end).",
        "",
        "Each check runs from the JSON documents (parsing and compiling included); median and",
        "slowest of the repeats. *requests* is how many requests iamguard's evaluator decided in the",
        "search (a FAIL stops at the first separating one; a PASS is the complete search).",
        "",
        "| check | statements | variant | verdict | median (ms) | slowest (ms) | requests |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['check']} | {row['statements']} | {row['variant']} | {row['verdict']} | "
            f"{row['median_ms']:.1f} | {row['max_ms']:.1f} | {row['requests']} |"
        )
    lines += [
        "",
        "## Reference points (not measured here)",
        "",
        "* **Cedar's symbolic analysis**: AWS reports about 75 ms per analysis query (Cedar's",
        "  symbolic compiler with the cvc5 SMT solver), the figure issue 16 names; Cedar analyses Cedar",
        "  policies only, and no Cedar toolchain was run on this machine.",
        "* **IAM Access Analyzer custom policy checks** (`CheckNoNewAccess`, `CheckNoPublicAccess`,",
        "  `CheckAccessNotGranted`): an online, per-call, paid API; the time is a network round trip",
        "  plus the service's own, and the answer is PASS/FAIL with reasons but no concrete request.",
        "  No figure is published to compare with; it was not called from here (no network).",
        "",
        "iamguard answers offline, with a request iamguard's evaluator separates for every FAIL.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--markdown", default=str(ROOT / "benchmarks" / "results" / "analysis_latest.md"))
    args = parser.parse_args(argv)
    rows = run(args.repeat)
    Path(args.markdown).write_text(markdown(rows, args.repeat), encoding="utf-8")
    print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
