"""``iamguard analyze ...``: every verb end to end through ``iamguard.cli.main``, exit codes and
``--json``, against a SQLite store in the test's directory (the admin CLI tests' fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iamguard.enforce.audit import AccessTracker, AuditEvent, JsonLinesAuditSink
from iamguard.store.records import PrincipalKind

from ..cli import admin_cli_support as support
from ..cli.admin_cli_support import Cli, write_json

cli = support.cli
store_url = support.store_url

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


S3_ALL = _policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
S3_READ = _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
PUBLIC = _policy(
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}
)
PRIVATE = _policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:*",
        "Resource": "*",
    }
)


def test_no_new_access_pass_fail_and_the_counterexample_replays(cli: Cli, tmp_path: Path) -> None:
    wide, narrow = write_json(tmp_path / "wide.json", S3_ALL), write_json(tmp_path / "narrow.json", S3_READ)
    passed = cli("analyze", "no-new-access", "--new", narrow, "--old", wide)
    assert (passed.code, passed.out.splitlines()[0]) == (0, "PASS")
    failed = cli("analyze", "no-new-access", "--new", wide, "--old", narrow, "--json")
    assert failed.code == 1
    example = failed.json["counterexample"]
    assert failed.json["verdict"] == "FAIL"
    # The counterexample is a request `iamguard simulate` allows under NEW and denies under OLD.
    replay = [
        "--caller-arn",
        example["principal"],
        "--action",
        example["action"],
        "--resource",
        example["resource"],
    ]
    assert cli("simulate", wide, *replay, "--json").code == 0
    assert cli("simulate", narrow, *replay, "--json").code == 1
    text = cli("analyze", "no-new-access", "--new", wide, "--old", narrow)
    assert "counterexample:" in text.out and "replay: iamguard simulate" in text.out


def test_access_not_granted_public_access_and_equivalent(cli: Cli, tmp_path: Path) -> None:
    wide, narrow = write_json(tmp_path / "wide.json", S3_ALL), write_json(tmp_path / "narrow.json", S3_READ)
    assert cli("analyze", "access-not-granted", narrow, "--action", "s3:DeleteObject").code == 0
    assert cli("analyze", "access-not-granted", wide, "--action", "s3:DeleteObject").code == 1
    usage = cli("analyze", "access-not-granted", wide)
    assert usage.code == 2 and "give --action, --resource or both" in usage.err
    public, private = (
        write_json(tmp_path / "public.json", PUBLIC),
        write_json(tmp_path / "private.json", PRIVATE),
    )
    assert cli("analyze", "public-access", public, "--json").json["verdict"] == "FAIL"
    assert cli("analyze", "public-access", private).code == 0
    assert cli("analyze", "equivalent", wide, wide).code == 0
    assert cli("analyze", "equivalent", wide, narrow).code == 1
    missing = cli("analyze", "equivalent", wide, str(tmp_path / "nope.json"))
    assert missing.code == 2 and "nope.json" in missing.err and "Traceback" not in missing.err


def _audit_file(tmp_path: Path, events: list[AuditEvent]) -> str:
    sink = JsonLinesAuditSink(tmp_path / "audit.jsonl")
    for event in events:
        sink.record(event)
    sink.close()
    return str(tmp_path / "audit.jsonl")


def _event(action: str, resource: str, decision: str = "allowed") -> AuditEvent:
    return AuditEvent(1_790_000_000.0, "r", ALICE, action, resource, decision, (), "192.0.2.8", 5)


def test_generate_policy_prints_the_policy_and_its_proof(cli: Cli, tmp_path: Path, store_url: str) -> None:
    store = support.service(store_url)
    store.create_user("alice")
    store.put_inline_policy(PrincipalKind.USER, "alice", "current", S3_ALL)
    log = _audit_file(
        tmp_path,
        [
            _event("s3:GetObject", "arn:aws:s3:::b/1"),
            _event("s3:GetObject", "arn:aws:s3:::b/2"),
            _event("s3:DeleteBucket", "arn:aws:s3:::b", "explicitDeny"),
        ],
    )
    text = cli("analyze", "generate-policy", "--principal", ALICE, "--audit-log", log, "--store", store_url)
    assert text.code == 0, text.err
    document = json.loads(text.out)
    assert [s["Action"] for s in document["Statement"]] == ["s3:GetObject"]
    assert "replayed 2 allowed requests" in text.err and "2 allowed" in text.err
    assert "no new access compared with the current policies: PASS" in text.err
    data = cli(
        "analyze", "generate-policy", "--principal", ALICE, "--audit-log", log, "--json", "--no-conditions"
    ).json
    assert data["Replay"] == {"Replayed": 2, "Allowed": 2, "DistinctRequests": 2}
    assert "Condition" not in data["PolicyDocument"]["Statement"][0]
    # A request the current identity policy does not allow: the comparison FAILs (exit 1).
    store.put_inline_policy(PrincipalKind.USER, "alice", "current", S3_READ)
    log = _audit_file(
        tmp_path, [_event("s3:GetObject", "arn:aws:s3:::b/1"), _event("s3:PutObject", "arn:aws:s3:::b/1")]
    )
    failed = cli(
        "analyze", "generate-policy", "--principal", ALICE, "--audit-log", log, "--store", store_url, "--json"
    )
    assert failed.code == 1
    assert failed.json["NoNewAccess"] == "FAIL"
    assert failed.json["NoNewAccessResult"]["counterexample"]["action"].lower() == "s3:putobject"
    nobody = cli(
        "analyze", "generate-policy", "--principal", f"arn:aws:iam::{ACCOUNT}:user/bob", "--audit-log", log
    )
    assert nobody.code == 2 and "no allowed request by" in nobody.err
    bad = cli("analyze", "generate-policy", "--principal", ALICE, "--audit-log", log, "--since", "30 days")
    assert bad.code == 2 and "not a duration" in bad.err


def test_unused_findings_and_exit_codes(cli: Cli, store_url: str) -> None:
    store = support.service(store_url)
    user = store.create_user("alice")
    store.put_inline_policy(
        PrincipalKind.USER,
        "alice",
        "p",
        _policy({"Effect": "Allow", "Action": ["s3:*", "sqs:*"], "Resource": "*"}),
    )
    tracker = AccessTracker(store, interval=None)
    tracker.note(entity_arn=user.arn, action="s3:GetObject")
    tracker.flush()
    found = cli("analyze", "unused", "--days", "30", "--json")
    assert found.code == 1
    assert [(f["Kind"], f["Service"]) for f in found.json["Findings"]] == [("service", "sqs")]
    assert (
        "service sqs (sqs:*) not used in 30 days (never used)" in cli("analyze", "unused", "--days", "30").out
    )
    store.put_inline_policy(
        PrincipalKind.USER, "alice", "p", _policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    )
    clean = cli("analyze", "unused")
    assert (clean.code, clean.out.strip()) == (0, "no unused access in the last 90 days")


def test_escalation_lists_paths_statement_by_statement(cli: Cli, store_url: str) -> None:
    store = support.service(store_url)
    store.create_user("boss")
    store.attach_user_policy("boss", "arn:aws:iam::iamguard:policy/AdministratorAccess")
    store.create_user("helpdesk")
    keys = _policy({"Sid": "ResetKeys", "Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "*"})
    store.put_inline_policy(PrincipalKind.USER, "helpdesk", "keys", keys)
    text = cli("analyze", "escalation")
    assert text.code == 1
    assert f"{ACCOUNT}:user/helpdesk can reach admin" in text.out
    assert "allowed by identity policy user/helpdesk/inline/keys Statement[0] (Sid ResetKeys)" in text.out
    data = cli("analyze", "escalation", "--json", "--edges").json
    assert data["Admins"] == [f"arn:aws:iam::{ACCOUNT}:user/boss"]
    assert [p["Principal"] for p in data["EscalationPaths"]] == [f"arn:aws:iam::{ACCOUNT}:user/helpdesk"]
    assert data["EscalationPaths"][0]["Steps"][0]["Technique"] == "iam:CreateAccessKey"
    assert {e["Technique"] for e in data["Edges"]} == {"iam:CreateAccessKey"}
    store.delete_inline_policy(PrincipalKind.USER, "helpdesk", "keys")
    quiet = cli("analyze", "escalation")
    assert quiet.code == 0 and "no principal can reach admin" in quiet.out
