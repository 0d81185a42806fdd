"""``examples/s3_client_chain.py`` end to end: a role profile, iamguard's STS, the S3 example.

The S3 example and iamguard's STS endpoint run on loopback ports over a store seeded from
``examples/s3_service/seed.yaml``. alice gets an access key, which goes into a temporary shared
credentials file under profile ``alice``; the config file holds profile ``analyst`` with
``role_arn`` + ``source_profile = alice`` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html).
With ``AWS_PROFILE=analyst`` and ``AWS_ENDPOINT_URL_STS`` pointing at the STS endpoint
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html), the script must:

* report the assume-role provider as the winner, not the static keys sitting beside it;
* list and read with the role session's temporary (``ASIA``) keys, which the ``analyst`` role's
  read-only policy allows;
* be denied a write through the same chain, S3 naming the assumed-role session as the caller
  (implicit deny: no policy of the role allows ``s3:PutObject``;
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from examples.s3_service.serve import Services, seed_store, start_services
from iamguard.credentials.chain import botocore_order, default_credential_chain
from iamguard.store import open_store

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = ROOT / "examples" / "s3_client_chain.py"
ACCOUNT = "123456789012"
BUCKET = "alice-reports"
KEY = "reports/q3.csv"
BODY = b"year,revenue\n2026,42\n"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/analyst/s3-client-chain"


@dataclass(frozen=True)
class Stack:
    services: Services
    alice: tuple[str, str]
    bob: tuple[str, str]
    config_file: Path
    credentials_file: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("s3-client-chain")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")  # the store's development master key
        store = open_store(f"sqlite:///{folder / 'iam.db'}", create=True)
        seed_store(store)
        keys = {}
        for user in ("alice", "bob"):
            created = store.create_access_key(user)
            keys[user] = (created.access_key.access_key_id, created.secret_access_key)
    credentials_file = folder / "credentials"
    credentials_file.write_text(
        f"[alice]\naws_access_key_id = {keys['alice'][0]}\naws_secret_access_key = {keys['alice'][1]}\n"
    )
    config_file = folder / "config"
    config_file.write_text(
        "[profile analyst]\n"
        f"role_arn = arn:aws:iam::{ACCOUNT}:role/analyst\n"
        "source_profile = alice\n"
        "role_session_name = s3-client-chain\n"
        "region = us-east-1\n"
    )
    with start_services(store, data=str(folder / "objects.db")) as services:
        alice = boto3.client(
            "s3",
            endpoint_url=services.s3_url,
            region_name="us-east-1",
            aws_access_key_id=keys["alice"][0],
            aws_secret_access_key=keys["alice"][1],
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        alice.create_bucket(Bucket=BUCKET)
        alice.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)  # alice's own keys may write
        yield Stack(services, keys["alice"], keys["bob"], config_file, credentials_file)


@pytest.fixture
def aws_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the settings under test: no AWS_* variable of the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(stack.config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(stack.credentials_file))
    monkeypatch.setenv("AWS_PROFILE", "analyst")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stack.services.sts_url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe 169.254.169.254


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )


def attempts(stdout: str) -> dict[str, str]:
    """The explain() table: provider name → its line (outcome and reason)."""
    table = {}
    for line in stdout.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name, _, rest = line.strip().partition(" ")
            table[name] = rest.strip()
    return table


def test_role_profile_wins_and_reads_the_bucket(stack: Stack, aws_env: None) -> None:
    done = run_script("--endpoint-url", stack.services.s3_url, BUCKET, KEY)
    assert done.returncode == 0, done.stderr
    head = done.stdout.splitlines()[0]
    assert head.startswith("credentials from assume-role (access key ASIA"), done.stdout
    table = attempts(done.stdout)
    assert table["assume-role"].startswith("used") and "temporary" in table["assume-role"]
    for earlier in ("explicit", "web-identity"):
        assert table[earlier].startswith("skipped")
    for later in ("env", "shared-files"):  # the static keys are never reached
        assert table[later].startswith("not tried")
    assert f"s3://{BUCKET}/: 1 key(s)" in done.stdout
    assert f"\n  {KEY}\n" in done.stdout
    assert f"GetObject {KEY}: {len(BODY)} bytes\n{BODY.decode()}" in done.stdout


def test_endpoint_from_the_environment(stack: Stack, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``AWS_ENDPOINT_URL_S3`` replaces ``--endpoint-url`` (service-specific endpoint variable)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", stack.services.s3_url)
    done = run_script("--prefix", "reports/", BUCKET, KEY)
    assert done.returncode == 0, done.stderr
    assert f"s3://{BUCKET}/reports/: 1 key(s)" in done.stdout


def test_stray_static_keys_do_not_replace_the_role(
    stack: Stack, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's long-term keys left in the environment: botocore's order would sign as bob, the
    roles-first chain still assumes the configured role."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", stack.bob[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", stack.bob[1])
    assert default_credential_chain(order=botocore_order()).explain().winner == "env"
    done = run_script("--endpoint-url", stack.services.s3_url, BUCKET, KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("credentials from assume-role (access key ASIA")
    assert attempts(done.stdout)["env"].startswith("not tried")
    assert stack.bob[0] not in done.stdout


def test_a_write_through_the_same_chain_is_denied_to_the_role_session(stack: Stack, aws_env: None) -> None:
    done = run_script("--endpoint-url", stack.services.s3_url, "--put", BUCKET, KEY)
    assert done.returncode == 1
    assert f"GetObject {KEY}: {len(BODY)} bytes" in done.stdout  # the read succeeded first
    assert f"PutObject {KEY} failed with HTTP 403: AccessDenied: " in done.stderr
    assert f"User: {SESSION_ARN} is not authorized to perform: s3:PutObject" in done.stderr
    assert "because no identity-based policy allows the s3:PutObject action. (+ an encoded" in done.stderr


def test_missing_object_fails_with_s3s_error(stack: Stack, aws_env: None) -> None:
    done = run_script("--endpoint-url", stack.services.s3_url, BUCKET, "reports/absent.csv")
    assert done.returncode == 1
    assert "GetObject reports/absent.csv failed with HTTP 404: NoSuchKey: " in done.stderr


def test_no_credentials_is_a_clear_failure(
    stack: Stack, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    done = run_script("--endpoint-url", stack.services.s3_url, BUCKET, KEY)
    assert done.returncode == 1
    assert done.stdout.startswith("no credentials found")
    assert "no credentials: configure one of the sources above" in done.stderr


def test_source_profile_without_access_to_the_role_fails_at_sts(
    stack: Stack, aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """bob's keys as the source: the role's trust policy names only alice, so AssumeRole is
    refused and the script stops before any S3 request."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[alice]\naws_access_key_id = {stack.bob[0]}\naws_secret_access_key = {stack.bob[1]}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    done = run_script("--endpoint-url", stack.services.s3_url, BUCKET, KEY)
    assert done.returncode == 1
    assert attempts(done.stdout)["assume-role"].startswith("failed")
    assert done.stderr.startswith("no credentials: assume-role failed: STSError: ")
    assert "AccessDenied" in done.stderr or "not authorized" in done.stderr
    assert "s3://" not in done.stdout
