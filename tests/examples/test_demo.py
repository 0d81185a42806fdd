"""``examples/demo.py`` (what ``python3 tasks.py demo`` runs) as a user runs it: a subprocess that
must finish by itself, exit 0, and show each step of the story with its expected outcome."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from iamguard.store.records import PrincipalKind

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.py"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMGUARD_"))}
    return subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
        cwd=tmp_path_factory.mktemp("demo-cwd"),  # the demo must not depend on the working directory
    )


def test_demo_exits_zero_by_itself(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, demo_run.stdout[-3000:] + demo_run.stderr[-3000:]
    assert "demo finished: every step behaved as expected" in demo_run.stdout
    assert "client finished: every step behaved as expected" in demo_run.stdout
    assert "!!" not in demo_run.stdout


@pytest.mark.parametrize(
    "line",
    [
        "Part 1: the policy engine, offline",
        "Plan: 4 to create, 1 to update, 0 to delete.",
        "=== Step 1: alice creates her bucket and attaches a bucket policy",
        "alice GetObject reports/q3.csv: allowed",
        "=== Step 4: Explicit deny: the bucket policy's Deny beats alice's own Allow",
        "with an explicit deny in a resource-based",
        "=== Step 5: Implicit deny: no policy allows bob to write",
        "because no identity-based policy allows the",
        "GET -> 200, b'year,revenue\\n2026,42\\n'",
        "ok: the SigV2 URL is refused, naming the fix",
        "GetCallerIdentity: arn:aws:sts::123456789012:assumed-role/analyst/q3-review",
        "analyst PutObject reports/by-role.csv: AccessDenied (403)",
        "allowed: False, explicitDeny: True",
        "matched: DENY statement AuditLogsAreAppendOnly of the resource policy",
        "Part 3: the IAM API: the AWS CLI manages the account through `iamguard serve`",
        "$ aws iam create-user --user-name carol --endpoint-url http://127.0.0.1:",
        "$ aws iam attach-user-policy --user-name carol --policy-arn arn:aws:iam::iamguard:policy/ReadOnlyAccess",
        "created arn:aws:iam::123456789012:user/carol",
        "carol ListBuckets: allowed, ['alice-reports']",
        "carol GetObject reports/q3.csv: allowed, b'year,revenue\\n2026,42\\n'",
        "carol CreateBucket carol-bucket: AccessDenied: User: arn:aws:iam::123456789012:user/carol is not "
        "authorized to perform: s3:CreateBucket",
        "=== Servers stopped, temporary store removed",
    ],
)
def test_demo_shows_each_step(demo_run: subprocess.CompletedProcess[str], line: str) -> None:
    assert line in demo_run.stdout


def test_demo_leaves_no_secret_in_its_output(demo_run: subprocess.CompletedProcess[str]) -> None:
    """Access key ids are shown; secret access keys never are (they travel in a 0600 file)."""
    secret_shaped = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
    found = [
        t
        for t in secret_shaped.findall(demo_run.stdout + demo_run.stderr)
        if re.search(r"[0-9]", t) and re.search(r"[A-Z]", t) and re.search(r"[a-z]", t)
    ]
    assert found == []
    assert re.search(r"alice: AKIA[A-Z0-9]{16}", demo_run.stdout)


def test_client_fails_when_a_step_misbehaves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's exit status is not decoration: give bob write access and the implicit-deny
    step (and only the steps that depend on it) must be reported, with a non-zero exit."""
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    from examples.s3_service.serve import BUCKET_POLICY, seed_store, start_services
    from iamguard.store import open_store
    from iamguard.store.records import PrincipalKind

    store = open_store(f"sqlite:///{tmp_path / 'iam.db'}", create=True)
    seed_store(store)
    too_generous = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
    }
    store.put_inline_policy(PrincipalKind.USER, "bob", "Oops", too_generous)
    config: dict[str, object] = {
        "bucket_policy": str(BUCKET_POLICY),
        "role_arn": "arn:aws:iam::123456789012:role/analyst",
    }
    for user in ("alice", "bob"):
        created = store.create_access_key(user)
        config[user] = [created.access_key.access_key_id, created.secret_access_key]
    with start_services(store, data=str(tmp_path / "objects.db")) as services:
        config.update(s3_url=services.s3_url, sts_url=services.sts_url)
        (tmp_path / "client.json").write_text(json.dumps(config))
        result = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "s3_demo_client.py"), str(tmp_path / "client.json")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert "!! UNEXPECTED: bob PutObject reports/bob.csv is denied did not hold" in result.stdout
    assert result.stdout.count("!! UNEXPECTED") == 1
    assert "client finished: 1 unexpected result(s)" in result.stdout


def test_without_the_aws_cli_the_iam_step_uses_boto3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ``aws`` binary: the demo says so and makes the same three calls with boto3's iam client;
    the key still reads and is refused a write."""
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    monkeypatch.delenv("IAMGUARD_STORE", raising=False)
    from examples import demo
    from examples.s3_service.serve import seed_store, start_services
    from iamguard.store import open_store

    monkeypatch.setattr(demo, "_aws_binary", lambda: None)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    store = open_store(url, create=True)
    seed_store(store)
    with start_services(store, data=str(tmp_path / "objects.db")) as services:
        assert demo.iam_api_part(url, tmp_path, services.s3_url) == 0
    out = capsys.readouterr().out
    assert "(the AWS CLI `aws` is not installed: the same calls go through boto3's iam client)" in out
    assert "$ boto3 iam.create_user({'UserName': 'carol'})" in out
    assert "carol ListBuckets: allowed, []" in out and "carol CreateBucket carol-bucket: AccessDenied" in out
    assert [p.name for p in store.list_attached_policies(PrincipalKind.USER, "carol")] == ["ReadOnlyAccess"]
