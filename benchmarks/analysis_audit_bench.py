#!/usr/bin/env python
"""Policy generation from 100,000 audit events, and the escalation graph of 1,000 principals.

**Generation.** A synthetic audit trail of ``--events`` events (default 100,000): 70% by the
principal the policy is generated for (a user calling 24 actions of S3, SQS, DynamoDB and KMS
on objects under a few prefixes, from addresses in three /24 networks; 10% of its requests
denied), 30% by 200 other principals. Timed, ``--repeat`` times each (median reported):

* from events in memory (``generate_policy(list_of_AuditEvent, ...)``), the whole call;
* the same split into its stages: grouping and generalizing (the document), parsing it, and the
  replay proof (every logged allowed request evaluated against the generated policy);
* from the JSON-lines file a ``JsonLinesAuditSink`` wrote (reading and parsing every line too).

**Escalation.** An in-memory account of ``--principals`` principals (default 1,000: 70% users,
30% roles) shaped like a real one: most principals hold service policies, users sit in 40
groups, 1% are admins, 2% hold IAM permissions (key resets on a path, self-service policy
attachment, trust editing), roles trust the account (delegating to identity policies) or named
users, and a few customer managed policies have older versions. Timed: loading and resolving
the principals, deciding every edge with the evaluator, and the graph search with path
explanations; the account's build time is reported apart.

Run: ``python benchmarks/analysis_audit_bench.py [--events N] [--principals N] [--repeat N]
[--markdown PATH]``; results go to ``benchmarks/results/analysis_audit_latest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sigv4_bench import git_head
from iamguard.analysis import generate as generation
from iamguard.analysis._escalation_edges import decide_edges, load_nodes
from iamguard.analysis.escalation import _Graph, escalation_paths
from iamguard.enforce.audit import AuditEvent, JsonLinesAuditSink
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService

ACCOUNT = "123456789012"
TARGET = f"arn:aws:iam::{ACCOUNT}:user/etl"
ADMIN = "arn:aws:iam::iamguard:policy/AdministratorAccess"
_ACTIONS = {
    "s3": ["GetObject", "PutObject", "ListBucket", "GetObjectTagging", "DeleteObject", "GetBucketLocation"],
    "sqs": ["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueUrl", "GetQueueAttributes", "ChangeMessageVisibility"],
    "dynamodb": ["GetItem", "PutItem", "Query", "UpdateItem", "BatchGetItem", "DescribeTable"],
    "kms": ["Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey", "GetPublicKey", "ReEncryptFrom"],
}  # fmt: skip


# ---------------------------------------------------------------- generation


def audit_events(count: int, seed: int = 7) -> list[AuditEvent]:
    rng = random.Random(seed)
    others = [f"arn:aws:iam::{ACCOUNT}:user/app-{i}" for i in range(200)]
    start = 1_790_000_000.0
    events = []
    for n in range(count):
        principal = TARGET if rng.random() < 0.7 else rng.choice(others)
        service = rng.choice(list(_ACTIONS))
        action = f"{service}:{rng.choice(_ACTIONS[service])}"
        decision = "allowed" if rng.random() < 0.9 else rng.choice(["implicitDeny", "explicitDeny"])
        address = f"10.{rng.randrange(3)}.{rng.randrange(3)}.{rng.randrange(1, 255)}"
        events.append(
            AuditEvent(
                start + n, f"req-{n}", principal, action, _resource(rng, service), decision, (), address, 50
            )
        )
    return events


def _resource(rng: random.Random, service: str) -> str:
    if service == "s3":
        return f"arn:aws:s3:::{rng.choice(['raw', 'clean', 'reports'])}/{rng.randrange(2024, 2027)}/{rng.randrange(1, 13):02d}/part-{rng.randrange(10_000)}.json"
    if service == "sqs":
        return f"arn:aws:sqs:us-east-1:{ACCOUNT}:{rng.choice(['jobs', 'results', 'dead-letter'])}"
    if service == "dynamodb":
        return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{rng.choice(['orders', 'customers', 'ledger', 'audit'])}"
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{rng.choice(['k1', 'k2'])}"


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over ``repeat`` calls, and the last result."""
    samples, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples), result


def bench_generation(count: int, repeat: int) -> dict[str, Any]:
    events = audit_events(count)
    used: dict[Any, int] = {}
    for e in events:
        if e.decision == "allowed" and e.principal == TARGET:
            key = generation._Logged(e.principal, e.action, e.resource, e.source_ip)
            used[key] = used.get(key, 0) + 1
    whole, generated = timed(lambda: generation.generate_policy(events, TARGET), repeat)
    document_s, document = timed(lambda: generation._document(used, 10, True), repeat)
    text = json.dumps(document, indent=2)
    parse_s, policy = timed(lambda: parse_policy(text, name="generated", kind=PolicyKind.IDENTITY), repeat)
    replay_s, allowed = timed(lambda: generation._replay(policy, used), repeat)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.jsonl"
        sink = JsonLinesAuditSink(path, maxsize=count + 10)
        for event in events:
            sink.record(event)
        sink.close()
        size = path.stat().st_size
        from_file, _ = timed(lambda: generation.generate_policy(path, TARGET), repeat)
    return {
        "events": count,
        "used": sum(used.values()),
        "distinct": len(used),
        "statements": len(json.loads(generated.document)["Statement"]),
        "document_chars": len(generated.document),
        "replayed": generated.replayed,
        "replay_allowed": allowed,
        "file_bytes": size,
        "whole_s": whole,
        "document_s": document_s,
        "parse_s": parse_s,
        "replay_s": replay_s,
        "file_s": from_file,
    }


# ---------------------------------------------------------------- escalation


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def build_account(principals: int, seed: int = 11) -> IdentityService:
    rng = random.Random(seed)
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"b": bytes(32)}, "b"))
    users, roles = int(principals * 0.7), principals - int(principals * 0.7)
    with store.atomic():
        for g in range(40):
            store.create_group(f"team-{g}")
            service = rng.choice(list(_ACTIONS))
            store.put_inline_policy(PrincipalKind.GROUP, f"team-{g}", "svc", _doc(
                {"Effect": "Allow", "Action": f"{service}:*", "Resource": "*"}))  # fmt: skip
        for p in range(5):
            arn = store.create_policy(
                f"shared-{p}", _doc({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"})
            ).arn
            store.create_policy_version(
                arn, _doc({"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}), set_as_default=True
            )
        for u in range(users):
            name = f"user-{u}"
            store.create_user(name, path="/eng/" if u % 3 else "/ops/")
            store.add_user_to_group(f"team-{u % 40}", name)
            _grant_user(store, rng, name, u)
        for r in range(roles):
            _role(store, rng, r, users)
    return store


def _grant_user(store: IdentityService, rng: random.Random, name: str, index: int) -> None:
    roll = rng.random()
    if index % 100 == 0:
        store.attach_user_policy(name, ADMIN)
    elif roll < 0.005:
        store.put_inline_policy(PrincipalKind.USER, name, "helpdesk", _doc(
            {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:UpdateLoginProfile"],
             "Resource": f"arn:aws:iam::{ACCOUNT}:user/eng/*"}))  # fmt: skip
    elif roll < 0.01:
        store.put_inline_policy(PrincipalKind.USER, name, "self-service", _doc(
            {"Effect": "Allow", "Action": "iam:AttachUserPolicy",
             "Resource": f"arn:aws:iam::{ACCOUNT}:user/*/{name}"}))  # fmt: skip
    elif roll < 0.02:
        store.put_inline_policy(PrincipalKind.USER, name, "assume", _doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/deploy-*"}))  # fmt: skip
    else:
        service = rng.choice(list(_ACTIONS))
        store.put_inline_policy(PrincipalKind.USER, name, "svc", _doc(
            {"Effect": "Allow", "Action": [f"{service}:{a}" for a in _ACTIONS[service][:3]], "Resource": "*"}))  # fmt: skip
        if rng.random() < 0.2:
            store.attach_user_policy(name, f"arn:aws:iam::{ACCOUNT}:policy/shared-{rng.randrange(5)}")


def _role(store: IdentityService, rng: random.Random, index: int, users: int) -> None:
    kind = "deploy" if index % 10 == 0 else "svc"
    if rng.random() < 0.7:
        principal: Any = f"arn:aws:iam::{ACCOUNT}:root"
    else:
        principal = f"arn:aws:iam::{ACCOUNT}:user/eng/user-{rng.randrange(1, users)}"
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})
    name = f"{kind}-{index}"
    store.create_role(name, trust)
    if index % 50 == 0:
        store.attach_role_policy(name, ADMIN)
    elif index % 25 == 7:
        store.put_inline_policy(PrincipalKind.ROLE, name, "trust-admin", _doc(
            {"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"}))  # fmt: skip
    else:
        service = rng.choice(list(_ACTIONS))
        store.put_inline_policy(PrincipalKind.ROLE, name, "svc", _doc(
            {"Effect": "Allow", "Action": f"{service}:*", "Resource": "*"}))  # fmt: skip


def bench_escalation(principals: int, repeat: int) -> dict[str, Any]:
    began = time.perf_counter()
    store = build_account(principals)
    build_s = time.perf_counter() - began
    load_s, nodes = timed(lambda: load_nodes(store), repeat)
    edges_s, (edges, _conditional) = timed(lambda: decide_edges(store, nodes), repeat)

    def search() -> Any:
        graph = _Graph(nodes, edges)
        return [graph.path(arn) for arn in sorted(graph.escalating())]

    search_s, paths = timed(search, repeat)
    whole_s, report = timed(lambda: escalation_paths(store), repeat)
    lengths = [len(p.steps) for p in report.paths]
    return {
        "principals": report.principals,
        "build_s": build_s,
        "load_s": load_s,
        "edges_s": edges_s,
        "search_s": search_s,
        "whole_s": whole_s,
        "edges": len(report.edges),
        "act_as": sum(e.kind == "act-as" for e in report.edges),
        "grants": sum(e.kind == "grant" for e in report.edges),
        "conditional": len(report.conditional_edges),
        "admins": len(report.admins),
        "escalating": len(report.paths),
        "paths_checked": len(paths),
        "longest": max(lengths, default=0),
    }


# ---------------------------------------------------------------- report


def markdown(
    generation_result: dict[str, Any],
    escalation_result: dict[str, Any],
    repeat: int,
    load: tuple[float, float],
) -> str:
    g, e = generation_result, escalation_result
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    per_event = g["whole_s"] / g["events"] * 1e6
    lines = [
        "# Policy analysis from the audit log: generation and escalation",
        "",
        f"Generated {stamp} by `benchmarks/analysis_audit_bench.py` at {git_head()} — Python "
        f"{platform.python_version()}, {platform.platform()}; median of {repeat} runs each, one process, "
        f"on a machine shared with other work: {os.cpu_count()} cores, 1-minute load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end (above the core count, every figure "
        "here is inflated by waiting for a core).",
        "",
        "## Least-privilege policy from the audit log",
        "",
        f"{g['events']:,} audit events, {g['used']:,} of them allowed requests of the principal "
        f"(the rest: its denied requests and 200 other principals). Generated policy: "
        f"{g['statements']} statements, {g['document_chars']:,} characters.",
        "",
        "| stage | seconds |",
        "|---|---:|",
        f"| whole `generate_policy`, events in memory | {g['whole_s']:.3f} |",
        f"| … grouping and generalizing (document) | {g['document_s']:.3f} |",
        f"| … parsing the generated policy | {g['parse_s']:.4f} |",
        f"| … replay proof: {g['replayed']:,} logged requests ({g['distinct']:,} distinct, each evaluated once), "
        f"{g['replay_allowed']:,} allowed | {g['replay_s']:.3f} |",
        f"| whole `generate_policy` from the JSON-lines file ({g['file_bytes'] / 1e6:.1f} MB) | {g['file_s']:.3f} |",
        "",
        f"{per_event:.1f} µs per audit event in memory. IAM Access Analyzer's policy generation, for "
        "comparison, is an online job: `StartPolicyGeneration` returns a job id and the result is "
        "polled with `GetGeneratedPolicy` until its status leaves `IN_PROGRESS` "
        "(https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_StartPolicyGeneration.html, "
        "https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_PolicyGeneration.html); its "
        "quotas allow one generation at a time, 50 a day in most Regions, at most 100,000 CloudTrail log "
        "files or 25 GB and 90 days per generation "
        "(https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-quotas.html). I found no "
        "published figure for how long a job takes, so none is quoted here.",
        "",
        "## Privilege-escalation graph",
        "",
        f"{e['principals']:,} principals (users and roles), {e['admins']} of them admin; "
        f"{e['edges']:,} edges ({e['act_as']:,} act-as, {e['grants']:,} grant) and "
        f"{e['conditional']:,} conditional refusals; {e['escalating']:,} principals reach admin, "
        f"longest path {e['longest']} steps.",
        "",
        "| stage | seconds |",
        "|---|---:|",
        f"| building the account (not part of the analysis) | {e['build_s']:.2f} |",
        f"| loading and resolving every principal, admin test | {e['load_s']:.3f} |",
        f"| deciding every edge with the evaluator | {e['edges_s']:.3f} |",
        f"| graph search and path explanations | {e['search_s']:.4f} |",
        f"| whole `escalation_paths(store)` | {e['whole_s']:.3f} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--principals", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--markdown", type=Path, default=ROOT / "benchmarks" / "results" / "analysis_audit_latest.md"
    )
    args = parser.parse_args(argv)
    before = os.getloadavg()[0]
    generation_result = bench_generation(args.events, args.repeat)
    escalation_result = bench_escalation(args.principals, args.repeat)
    text = markdown(generation_result, escalation_result, args.repeat, (before, os.getloadavg()[0]))
    args.markdown.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
