"""One account built two ways exports the same: through the real ``aws iam`` CLI against
``iamguard serve``, and through ``iamguard apply`` of one account file.

The account has users (paths, tags, a permissions boundary, group membership, inline and attached
policies), a group with inline and attached policies, a role with a trust policy, description,
session duration, tags, boundary and policies, customer managed policies (one with a second
version made the default, one with tags), a built-in policy attached by ARN, an account alias and
a password policy.

The export format carries no generated ids, dates or keys (no user/role/policy ids, creation
dates, access keys or version ids), so nothing is ignored in the comparison: both exports must be
equal as text. A managed policy's versions are not in the format, only the default version's
document, so the CLI-built policy with two versions and the file-built policy with one export the
same. The file is itself in the export format, so applying it and exporting gives the file back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import iamguard.cli
from iamguard.store import open_store

from .test_awscli import AWS, Stack

pytestmark = [pytest.mark.skipif(AWS is None, reason="the AWS CLI (aws) is not installed"), pytest.mark.slow]

ACCOUNT = "123456789012"
READ_ONLY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"


def _doc(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


S3_READ_V1 = _doc("s3:GetObject")
S3_READ_V2 = _doc("s3:GetObject", "s3:ListBucket")
BOUND = _doc("s3:*", "logs:*")
LOGS = _doc("logs:PutLogEvents", resource="arn:aws:logs:*:*:*")
OWN = _doc("s3:PutObject", resource="arn:aws:s3:::home/alice/*")
DEPLOY = _doc("s3:PutObject", resource="arn:aws:s3:::releases/*")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}
PASSWORD_POLICY = {
    "MinimumPasswordLength": 12,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": False,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 5,
    "HardExpiry": False,
}

#: The account, in the export format (keys in the order ``iamguard export`` writes them).
ACCOUNT_FILE: dict[str, Any] = {
    "version": 1,
    "account": {"account_id": ACCOUNT, "alias": "parity-co", "password_policy": PASSWORD_POLICY},
    "policies": [
        {"name": "Bound", "path": "/", "description": "", "tags": {}, "document": BOUND},
        {
            "name": "S3Read",
            "path": "/team/",
            "description": "read objects",
            "tags": {"owner": "data"},
            "document": S3_READ_V2,
        },
    ],
    "groups": [
        {"name": "devs", "path": "/eng/", "inline_policies": {"Logs": LOGS}, "attached_policies": ["S3Read"]},
        {"name": "Empty", "path": "/", "inline_policies": {}, "attached_policies": []},
    ],
    "users": [
        {
            "name": "alice",
            "path": "/eng/",
            "tags": {"cc": "", "team": "data"},
            "groups": ["devs"],
            "permissions_boundary": "Bound",
            "inline_policies": {"Own": OWN},
            "attached_policies": [READ_ONLY],
        },
        {
            "name": "bob",
            "path": "/",
            "tags": {"on-call": "yes"},
            "groups": ["devs"],
            "permissions_boundary": None,
            "inline_policies": {},
            "attached_policies": [],
        },
    ],
    "roles": [
        {
            "name": "deployer",
            "path": "/ci/",
            "description": "deploys releases",
            "max_session_duration": 7200,
            "tags": {"env": "prod"},
            "permissions_boundary": "Bound",
            "trust_policy": TRUST,
            "inline_policies": {"Deploy": DEPLOY},
            "attached_policies": ["S3Read"],
        },
        {
            "name": "reader",
            "path": "/",
            "description": "",
            "max_session_duration": 3600,
            "tags": {"note": "lecture seule: équipe données"},
            "permissions_boundary": None,
            "trust_policy": TRUST,
            "inline_policies": {},
            "attached_policies": [READ_ONLY],
        },
    ],
}


def _build_with_aws_cli(stack: Stack, folder: Path) -> None:
    """The account above, one ``aws iam`` command at a time (documents as ``file://``)."""

    def doc(name: str, body: dict[str, Any]) -> str:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(body), encoding="utf-8")
        return f"file://{path}"

    arn = f"arn:aws:iam::{ACCOUNT}:policy"
    aws = stack.aws
    aws("iam", "create-account-alias", "--account-alias", "parity-co")
    aws("iam", "update-account-password-policy", "--minimum-password-length", "12", "--require-symbols",
        "--require-numbers", "--require-lowercase-characters", "--allow-users-to-change-password",
        "--max-password-age", "90", "--password-reuse-prevention", "5")  # fmt: skip
    aws("iam", "create-policy", "--policy-name", "Bound", "--policy-document", doc("bound", BOUND))
    aws("iam", "create-policy", "--policy-name", "S3Read", "--path", "/team/", "--description", "read objects",
        "--policy-document", doc("v1", S3_READ_V1), "--tags", "Key=owner,Value=data")  # fmt: skip
    aws("iam", "create-policy-version", "--policy-arn", f"{arn}/team/S3Read",
        "--policy-document", doc("v2", S3_READ_V2), "--set-as-default")  # fmt: skip
    aws("iam", "create-group", "--group-name", "devs", "--path", "/eng/")
    aws("iam", "put-group-policy", "--group-name", "devs", "--policy-name", "Logs",
        "--policy-document", doc("logs", LOGS))  # fmt: skip
    aws("iam", "attach-group-policy", "--group-name", "devs", "--policy-arn", f"{arn}/team/S3Read")
    aws("iam", "create-user", "--user-name", "alice", "--path", "/eng/", "--permissions-boundary",
        f"{arn}/Bound", "--tags", "Key=team,Value=data", "Key=cc,Value=")  # fmt: skip
    aws("iam", "add-user-to-group", "--group-name", "devs", "--user-name", "alice")
    aws("iam", "put-user-policy", "--user-name", "alice", "--policy-name", "Own", "--policy-document",
        doc("own", OWN))  # fmt: skip
    aws("iam", "attach-user-policy", "--user-name", "alice", "--policy-arn", READ_ONLY)
    aws("iam", "create-user", "--user-name", "bob")
    aws("iam", "tag-user", "--user-name", "bob", "--tags", "Key=on-call,Value=yes")
    aws("iam", "add-user-to-group", "--group-name", "devs", "--user-name", "bob")
    aws("iam", "create-role", "--role-name", "deployer", "--path", "/ci/", "--description", "first draft",
        "--assume-role-policy-document", doc("trust", TRUST), "--tags", "Key=env,Value=prod")  # fmt: skip
    aws("iam", "update-role", "--role-name", "deployer", "--description", "deploys releases",
        "--max-session-duration", "7200")  # fmt: skip
    aws(
        "iam",
        "put-role-permissions-boundary",
        "--role-name",
        "deployer",
        "--permissions-boundary",
        f"{arn}/Bound",
    )
    aws("iam", "put-role-policy", "--role-name", "deployer", "--policy-name", "Deploy", "--policy-document",
        doc("deploy", DEPLOY))  # fmt: skip
    aws("iam", "attach-role-policy", "--role-name", "deployer", "--policy-arn", f"{arn}/team/S3Read")
    aws("iam", "create-group", "--group-name", "Empty")
    aws("iam", "create-role", "--role-name", "reader", "--assume-role-policy-document", doc("trust", TRUST),
        "--tags", "Key=note,Value=lecture seule: équipe données")  # fmt: skip
    aws("iam", "attach-role-policy", "--role-name", "reader", "--policy-arn", READ_ONLY)


def _export(url: str, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert iamguard.cli.main(["export", "--store", url, "-o", str(out)]) == 0, capsys.readouterr().err
    return out.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _dev_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    for name in ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_STORE"):
        monkeypatch.delenv(name, raising=False)


def test_an_account_built_with_aws_iam_exports_as_the_applied_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "served").mkdir()
    running = Stack(tmp_path / "served")
    try:
        _build_with_aws_cli(running, tmp_path)
    finally:
        running.close()
    account_file = tmp_path / "account.json"
    account_file.write_text(json.dumps(ACCOUNT_FILE, indent=2), encoding="utf-8")
    applied_url = f"sqlite:///{tmp_path / 'applied.db'}"
    assert iamguard.cli.main(["apply", str(account_file), "--store", applied_url, "--create"]) == 0
    capsys.readouterr()

    from_cli = _export(running.url_store, tmp_path / "from-cli.json", capsys)
    from_file = _export(applied_url, tmp_path / "from-file.json", capsys)
    assert json.loads(from_cli) == ACCOUNT_FILE  # what was built is what the file says ...
    assert from_cli == from_file  # ... and both exports are the same text
    # the CLI-built policy kept both versions; the format carries the default's document only
    versions = open_store(running.url_store).list_policy_versions(
        f"arn:aws:iam::{ACCOUNT}:policy/team/S3Read"
    )
    assert [(v.version_id, v.is_default) for v in versions] == [("v1", False), ("v2", True)]
