"""``iamguard ... --json`` against what the AWS CLI prints for the same store, read through
``iamguard serve`` (the IAM Query API): the two must be the same JSON, so a script written for
``aws iam ... --output json`` reads iamguard's output unchanged. Rows:
``tests/data/cli/aws_cli_pairs.json``."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config

from iamguard.cli.serve import build_app
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.store import mfa, open_store
from iamguard.store.passwords import PasswordPolicy
from iamguard.store.records import PrincipalKind

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, TRUST_ACCOUNT, Cli

cli = support.cli

ROWS = json.loads((Path(__file__).resolve().parents[1] / "data" / "cli" / "aws_cli_pairs.json").read_text())[
    "rows"
]

_VENV_AWS = Path(sys.executable).with_name("aws")
AWS = str(_VENV_AWS) if _VENV_AWS.exists() else shutil.which("aws")
_PAGING = ("IsTruncated", "Marker", "ResponseMetadata")
ALLOW_DENY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    ],
}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Served:
    url: str
    key_id: str
    secret: str
    folder: Path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's folder, with the development master key the cli fixture uses set meanwhile
    (the rows only read, so one store and one server serve them all)."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("IAMGUARD_MASTER_KEY", raising=False)
        env.delenv("IAMGUARD_MASTER_KEY_FILE", raising=False)
        env.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
        yield tmp_path_factory.mktemp("aws-cli-diff")


@pytest.fixture(scope="module")
def store_url(folder: Path) -> str:
    """A store with a user, group, role, managed and inline policies, a key, an MFA device, a
    login profile and a password policy."""
    url = f"sqlite:///{folder}/s.db"
    store = open_store(url, create=True)
    doc = json.dumps(ALLOW_S3_READ)
    arn = "arn:aws:iam::123456789012:policy/P"
    store.create_policy("P", doc, description="read the bucket", tags={"owner": "data"})
    store.create_policy_version(arn, doc)
    store.create_user("alice", path="/eng/", tags={"team": "data"})
    store.put_user_permissions_boundary("alice", arn)
    store.create_user("bob")
    store.create_group("devs")
    store.add_user_to_group("devs", "alice")
    store.attach_policy(PrincipalKind.GROUP, "devs", arn)
    store.attach_policy(PrincipalKind.USER, "alice", arn)
    store.create_role("deployer", json.dumps(TRUST_ACCOUNT), description="CI", max_session_duration=7200)
    store.tag_role("deployer", {"env": "prod"})
    store.attach_policy(PrincipalKind.ROLE, "deployer", arn)
    store.put_inline_policy(PrincipalKind.USER, "alice", "Inline", doc)
    store.put_inline_policy(PrincipalKind.ROLE, "deployer", "RInline", doc)
    store.create_user("dana")  # an Allow and an explicit Deny, under a boundary that allows s3:GetObject only
    store.put_inline_policy(PrincipalKind.USER, "dana", "AllowDeny", json.dumps(ALLOW_DENY))
    store.put_user_permissions_boundary("dana", arn)
    store.create_access_key("alice")
    device = store.create_virtual_mfa_device("alice-phone")
    now = time.time()
    seed = device.base32_seed
    store.enable_mfa_device(
        "alice", device.device.serial_number, mfa.totp(seed, now), mfa.totp(seed, now + 30)
    )
    store.create_virtual_mfa_device("spare")  # unassigned
    store.create_login_profile("alice", "Correct-Horse-9-battery")
    store.update_account_password_policy(PasswordPolicy.from_json({"MinimumPasswordLength": 14}))
    store.backend.close()
    return url


@pytest.fixture(scope="module")
def served(store_url: str, folder: Path) -> Iterator[Served]:
    with serving(store_url, folder) as running:
        yield running


@contextlib.contextmanager
def serving(store_url: str, folder: Path) -> Iterator[Served]:
    """``iamguard serve``'s app over the store, on a loopback port; the root user's key signs."""
    root = open_store(store_url).create_access_key(None)
    args = argparse.Namespace(store=store_url, keys_file=None, oidc_provider=[], saml_provider=[])
    server = make_server(
        "127.0.0.1", 0, build_app(args, io.StringIO()), server_class=ThreadingWSGIServer, handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield Served(
            f"http://127.0.0.1:{server.server_port}", root.access_key_id, root.secret_access_key, folder
        )
    finally:
        server.shutdown()
        server.server_close()


def as_the_aws_cli_prints(value: Any) -> Any:
    """botocore's parsed answer as ``--output json`` prints it: dates ISO 8601, paging dropped."""
    if isinstance(value, dict):
        return {k: as_the_aws_cli_prints(v) for k, v in value.items() if k not in _PAGING}
    if isinstance(value, list):
        return [as_the_aws_cli_prints(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _boto3(served: Served) -> Any:
    return boto3.client(
        "iam",
        endpoint_url=served.url,
        region_name="us-east-1",
        aws_access_key_id=served.key_id,
        aws_secret_access_key=served.secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _aws_cli(served: Served, argv: list[str]) -> Any:
    assert AWS is not None, "the AWS CLI comes with the test extra (awscli)"
    (served.folder / "credentials").write_text(
        f"[default]\naws_access_key_id = {served.key_id}\naws_secret_access_key = {served.secret}\n"
    )
    # AWS CLI v2 prints dates as ISO 8601 with an offset (cli_timestamp_format = iso8601, its
    # default); v1, which the test extra installs, prints the wire text unless told the same.
    # https://docs.aws.amazon.com/cli/latest/userguide/cliv2-migration-changes.html#cliv2-migration-timestamp
    (served.folder / "config").write_text("[default]\ncli_timestamp_format = iso8601\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(served.folder),
        "AWS_SHARED_CREDENTIALS_FILE": str(served.folder / "credentials"),
        "AWS_CONFIG_FILE": str(served.folder / "config"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_IAM": served.url,
        "AWS_PAGER": "",
    }
    done = subprocess.run(
        [AWS, *argv, "--output", "json"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return as_the_aws_cli_prints(json.loads(done.stdout))


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r["iamguard"]) for r in ROWS])
def test_iamguard_json_is_what_the_aws_cli_prints(cli: Cli, served: Served, row: dict[str, Any]) -> None:
    files = {"{doc}": ALLOW_S3_READ, "{allow_deny}": ALLOW_DENY}
    for placeholder, document in files.items():
        (served.folder / f"{placeholder[1:-1]}.json").write_text(json.dumps(document))
    texts = {f"{p[:-1]}_text}}": json.dumps(doc) for p, doc in files.items()}
    ours = cli(
        *(str(served.folder / f"{a[1:-1]}.json") if a in files else a for a in row["iamguard"]), "--json"
    )
    assert ours.code == row.get("exit", 0), ours.err
    operation, params = row["call"]
    params = {k: [texts.get(v, v) for v in vs] if isinstance(vs, list) else vs for k, vs in params.items()}
    theirs = as_the_aws_cli_prints(getattr(_boto3(served), xform_name(operation))(**params))
    assert ours.json == theirs
    if "aws" in row:
        assert ours.json == _aws_cli(served, row["aws"])


#: Commands that create something (the values differ run to run): the CLI's answer and the IAM
#: API's must have the same members, recursively, with values of the same JSON types.
CREATES: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
    (("user", "create", "u1", "--path", "/x/", "--tag", "a=b"), "CreateUser",
     {"UserName": "u2", "Path": "/x/", "Tags": [{"Key": "a", "Value": "b"}]}),
    (("group", "create", "g1"), "CreateGroup", {"GroupName": "g2"}),
    (("role", "create", "r1", "--trust-policy", json.dumps(TRUST_ACCOUNT), "--description", "d", "--tag", "a=b"),
     "CreateRole",
     {"RoleName": "r2", "AssumeRolePolicyDocument": json.dumps(TRUST_ACCOUNT), "Description": "d",
      "Tags": [{"Key": "a", "Value": "b"}]}),
    (("policy", "create", "P1", json.dumps(ALLOW_S3_READ), "--description", "d", "--tag", "a=b"), "CreatePolicy",
     {"PolicyName": "P2", "PolicyDocument": json.dumps(ALLOW_S3_READ), "Description": "d",
      "Tags": [{"Key": "a", "Value": "b"}]}),
    (("policy", "version", "create", "P", json.dumps(ALLOW_S3_READ)), "CreatePolicyVersion",
     {"PolicyArn": "arn:aws:iam::123456789012:policy/P", "PolicyDocument": json.dumps(ALLOW_S3_READ)}),
    (("access-key", "create", "--user", "bob"), "CreateAccessKey", {"UserName": "bob"}),
]  # fmt: skip


def skeleton(value: Any) -> Any:
    """``value`` with every leaf replaced by its JSON type (lists by their first item)."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(value[0])] if value else []
    return type(value).__name__


def test_created_records_have_the_members_the_aws_cli_prints(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    store = open_store(url, create=True)
    store.create_policy("P", json.dumps(ALLOW_S3_READ))
    store.create_user("bob")
    store.backend.close()
    monkeypatch.setenv("IAMGUARD_STORE", url)
    with serving(url, tmp_path) as running:
        iam = _boto3(running)
        for argv, operation, params in CREATES:
            ours = cli(*argv, "--json")
            assert ours.code == 0, ours.err
            theirs = as_the_aws_cli_prints(getattr(iam, xform_name(operation))(**params))
            assert skeleton(ours.json) == skeleton(theirs), (operation, ours.json, theirs)
