"""The S3 example driven by the real AWS CLI (``aws`` on PATH), as a user would type it.

The CLI runs in a subprocess with its own throwaway config and credentials files (never the
user's), against the S3 app and iamguard's STS endpoint on 127.0.0.1 ephemeral ports. The CLI
needs ``Last-Modified`` on HeadObject/GetObject (``aws s3 cp`` and ``ls`` print and compare it)
and a non-empty ``<Message>`` in error XML (it prints it), which these tests check end to end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.s3_service.serve import BUCKET_POLICY, Services, seed_store, start_services
from iamguard.store import IdentityService, open_store

# The AWS CLI installed with the test extras (awscli, in this interpreter's environment) comes
# first, so the tests never depend on whatever `aws` the machine happens to carry.
_VENV_AWS = Path(sys.executable).with_name("aws")
AWS = str(_VENV_AWS) if _VENV_AWS.exists() else shutil.which("aws")
# Each CLI run starts a Python interpreter (~1 s): the module takes tens of seconds.
pytestmark = [pytest.mark.skipif(AWS is None, reason="the AWS CLI (aws) is not installed"), pytest.mark.slow]
ACCOUNT = "123456789012"
BUCKET = "alice-cli"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, Path]]:
    old = os.environ.get("IAMGUARD_DEV_MASTER_KEY")
    os.environ["IAMGUARD_DEV_MASTER_KEY"] = "1"
    folder = tmp_path_factory.mktemp("awscli")
    store: IdentityService = open_store(f"sqlite:///{folder / 'iam.db'}", create=True)
    seed_store(store)
    profiles = []
    for user in ("alice", "bob"):
        created = store.create_access_key(user)
        profiles.append(
            f"[{user}]\naws_access_key_id = {created.access_key.access_key_id}\n"
            f"aws_secret_access_key = {created.secret_access_key}\n"
        )
    (folder / "credentials").write_text("\n".join(profiles))
    # SigV4 presigning must be asked for: the CLI (like boto3) presigns with SigV2 otherwise.
    (folder / "config").write_text(
        "[default]\nregion = us-east-1\n"
        "[profile alice]\nregion = us-east-1\ns3 =\n  signature_version = s3v4\n  addressing_style = path\n"
        "[profile bob]\nregion = us-east-1\ns3 =\n  signature_version = s3v4\n  addressing_style = path\n"
        "[profile legacy]\nregion = us-east-1\n"
    )
    with open(folder / "credentials", "a") as handle:  # the legacy profile reuses alice's key
        handle.write("\n" + profiles[0].replace("[alice]", "[legacy]"))
    with start_services(store, data=str(folder / "objects.db")) as services:
        yield services, folder
    if old is None:
        os.environ.pop("IAMGUARD_DEV_MASTER_KEY", None)
    else:
        os.environ["IAMGUARD_DEV_MASTER_KEY"] = old


def aws(
    stack: tuple[Services, Path],
    profile: str,
    *args: str,
    endpoint: str = "s3",
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``aws --profile P --endpoint-url URL ARGS`` with only the test's config files."""
    services, folder = stack
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_CONFIG_FILE": str(folder / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra_env or {})
    url = services.s3_url if endpoint == "s3" else services.sts_url
    command = [str(AWS), "--endpoint-url", url, "--output", "json"]
    if profile:
        command += ["--profile", profile]
    return subprocess.run(
        command + list(args), capture_output=True, text=True, env=env, cwd=folder, timeout=60, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def bucket(stack: tuple[Services, Path]) -> str:
    ok(aws(stack, "alice", "s3api", "create-bucket", "--bucket", BUCKET))
    # The bucket policy with the explicit Deny, for alice-reports, adapted to this bucket.
    policy = BUCKET_POLICY.read_text().replace("alice-reports", BUCKET)
    (stack[1] / "policy.json").write_text(policy)
    ok(
        aws(
            stack, "alice", "s3api", "put-bucket-policy", "--bucket", BUCKET, "--policy", "file://policy.json"
        )
    )
    return BUCKET


def test_s3api_object_roundtrip(stack: tuple[Services, Path], bucket: str) -> None:
    """put-object, head-object (Last-Modified, ETag, ContentLength), get-object with and without Range."""
    folder = stack[1]
    body = b"year,revenue\n2026,42\n"
    (folder / "q3.csv").write_bytes(body)
    put = json.loads(
        ok(
            aws(
                stack,
                "alice",
                "s3api",
                "put-object",
                "--bucket",
                bucket,
                "--key",
                "reports/q3.csv",
                "--body",
                "q3.csv",
                "--content-type",
                "text/csv",
            )
        )
    )
    assert put["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    head = json.loads(
        ok(aws(stack, "alice", "s3api", "head-object", "--bucket", bucket, "--key", "reports/q3.csv"))
    )
    assert head["ContentLength"] == 21 and head["ETag"] == put["ETag"] and head["ContentType"] == "text/csv"
    assert head["LastModified"]
    got = json.loads(
        ok(
            aws(
                stack,
                "alice",
                "s3api",
                "get-object",
                "--bucket",
                bucket,
                "--key",
                "reports/q3.csv",
                "out.csv",
            )
        )
    )
    assert (folder / "out.csv").read_bytes() == body and got["LastModified"]
    ranged = json.loads(
        ok(
            aws(
                stack,
                "alice",
                "s3api",
                "get-object",
                "--bucket",
                bucket,
                "--key",
                "reports/q3.csv",
                "--range",
                "bytes=0-3",
                "part.csv",
            )
        )
    )
    assert ranged["ContentRange"] == "bytes 0-3/21" and (folder / "part.csv").read_bytes() == b"year"


def test_s3_high_level_commands(stack: tuple[Services, Path], bucket: str) -> None:
    """``aws s3 cp``/``sync``/``ls``/``rm``: the commands people use, built on the same API."""
    folder = stack[1]
    tree = folder / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha")
    (tree / "sub" / "b.txt").write_text("beta")
    ok(aws(stack, "alice", "s3", "sync", str(tree), f"s3://{bucket}/synced/"))
    listing = ok(aws(stack, "alice", "s3", "ls", f"s3://{bucket}/synced/"))
    assert "a.txt" in listing and "PRE sub/" in listing
    recursive = ok(aws(stack, "alice", "s3", "ls", "--recursive", f"s3://{bucket}/synced/"))
    assert "synced/sub/b.txt" in recursive
    ok(aws(stack, "alice", "s3", "cp", f"s3://{bucket}/synced/sub/b.txt", "downloaded.txt"))
    assert (folder / "downloaded.txt").read_text() == "beta"
    ok(aws(stack, "alice", "s3", "rm", f"s3://{bucket}/synced/a.txt"))
    assert "a.txt" not in ok(aws(stack, "alice", "s3", "ls", f"s3://{bucket}/synced/"))
    buckets = ok(aws(stack, "bob", "s3", "ls"))
    assert bucket in buckets


def test_list_objects_v2_with_delimiter(stack: tuple[Services, Path], bucket: str) -> None:
    folder = stack[1]
    (folder / "x").write_text("x")
    for key in ("logs/2026/a", "logs/2026/b", "logs/top"):
        ok(aws(stack, "alice", "s3api", "put-object", "--bucket", bucket, "--key", key, "--body", "x"))
    listed = json.loads(
        ok(
            aws(
                stack,
                "bob",
                "s3api",
                "list-objects-v2",
                "--bucket",
                bucket,
                "--prefix",
                "logs/",
                "--delimiter",
                "/",
            )
        )
    )
    assert [c["Key"] for c in listed["Contents"]] == ["logs/top"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["logs/2026/"]
    assert listed["Contents"][0]["LastModified"]


def test_denials_print_the_s3_message(stack: tuple[Services, Path], bucket: str) -> None:
    """Implicit deny (bob writes) and explicit deny (the bucket policy) as the CLI shows them."""
    folder = stack[1]
    (folder / "note.txt").write_text("hi")
    implicit = aws(
        stack, "bob", "s3api", "put-object", "--bucket", bucket, "--key", "bob.txt", "--body", "note.txt"
    )
    assert implicit.returncode != 0
    assert (
        "An error occurred (AccessDenied) when calling the PutObject operation: User: "
        f"arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: s3:PutObject" in implicit.stderr
    )
    assert "because no identity-based policy allows the s3:PutObject action" in implicit.stderr
    ok(
        aws(
            stack,
            "alice",
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            "audit/x.log",
            "--body",
            "note.txt",
        )
    )
    explicit = aws(stack, "alice", "s3", "rm", f"s3://{bucket}/audit/x.log")
    assert explicit.returncode != 0
    assert "AccessDenied" in explicit.stderr and "explicit deny in a resource-based policy" in explicit.stderr
    missing = aws(stack, "alice", "s3api", "get-object", "--bucket", bucket, "--key", "nope", "out")
    assert (
        missing.returncode != 0
        and "(NoSuchKey)" in missing.stderr
        and "The specified key does not exist." in missing.stderr
    )


def test_presign_sigv4_and_legacy(stack: tuple[Services, Path], bucket: str) -> None:
    """``aws s3 presign``: SigV4 with ``signature_version = s3v4`` works with plain HTTP; the
    default (SigV2) URL is refused with an error naming that setting."""
    folder = stack[1]
    (folder / "shared.txt").write_text("shared")
    ok(aws(stack, "alice", "s3", "cp", "shared.txt", f"s3://{bucket}/shared.txt"))
    url = ok(aws(stack, "alice", "s3", "presign", f"s3://{bucket}/shared.txt", "--expires-in", "300")).strip()
    assert "X-Amz-Signature=" in url
    assert httpx.get(url).text == "shared"
    legacy = ok(aws(stack, "legacy", "s3", "presign", f"s3://{bucket}/shared.txt")).strip()
    answer = httpx.get(legacy)
    assert answer.status_code == 400 and 'signature_version="s3v4"' in answer.text


def test_bucket_policy_commands(stack: tuple[Services, Path], bucket: str) -> None:
    got = json.loads(ok(aws(stack, "alice", "s3api", "get-bucket-policy", "--bucket", bucket)))
    assert json.loads(got["Policy"])["Statement"][0]["Sid"] == "AuditLogsAreAppendOnly"
    denied = aws(stack, "bob", "s3api", "get-bucket-policy", "--bucket", bucket)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr


def test_assume_role_with_the_cli(stack: tuple[Services, Path], bucket: str) -> None:
    """``aws sts assume-role`` at iamguard's STS, then the session reads (and cannot write) via the CLI."""
    (stack[1] / "r.txt").write_text("report")
    ok(
        aws(
            stack,
            "alice",
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            "reports/r.txt",
            "--body",
            "r.txt",
        )
    )
    assumed = json.loads(
        ok(
            aws(
                stack,
                "alice",
                "sts",
                "assume-role",
                "--role-arn",
                f"arn:aws:iam::{ACCOUNT}:role/analyst",
                "--role-session-name",
                "cli",
                endpoint="sts",
            )
        )
    )
    creds = assumed["Credentials"]
    session_env = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    listed = json.loads(
        ok(aws(stack, "", "s3api", "list-objects-v2", "--bucket", bucket, extra_env=session_env))
    )
    assert "reports/r.txt" in [c["Key"] for c in listed["Contents"]]
    who = json.loads(ok(aws(stack, "", "sts", "get-caller-identity", endpoint="sts", extra_env=session_env)))
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/analyst/cli"
    (stack[1] / "w.txt").write_text("w")
    write = aws(
        stack,
        "",
        "s3api",
        "put-object",
        "--bucket",
        bucket,
        "--key",
        "reports/w.txt",
        "--body",
        "w.txt",
        extra_env=session_env,
    )
    assert write.returncode != 0 and "assumed-role/analyst/cli is not authorized" in write.stderr
