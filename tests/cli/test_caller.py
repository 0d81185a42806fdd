"""Who the administration verbs act as: the root user, ``--as-user``, ``--access-key-id`` or
``--env-credentials``; each verb is an IAM action that caller's policies must allow.

The delegation case is AWS's documented pattern: an administrator may create users only with a
given permissions boundary.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.store.records import PrincipalKind

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, TRUST_ACCOUNT, Cli, service, write_json

cli = support.cli
store_url = support.store_url

BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/Bound"


def _delegated_admin(cli: Cli, tmp_path: Path) -> None:
    """User ``deputy`` may list users and policies, and create users only bounded by Bound."""
    assert cli("policy", "create", "Bound", write_json(tmp_path / "b.json", ALLOW_S3_READ)).code == 0
    delegation = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:CreateUser",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
            },
            {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:ListPolicies"], "Resource": "*"},
        ],
    }
    assert cli("policy", "create", "Delegate", json.dumps(delegation)).code == 0
    assert cli("user", "create", "deputy").code == 0
    assert cli("policy", "attach", "Delegate", "--user", "deputy").code == 0


def test_a_delegated_admin_is_refused_an_unbounded_user(cli: Cli, store_url: str, tmp_path: Path) -> None:
    _delegated_admin(cli, tmp_path)
    refused = cli("user", "create", "intern", "--as-user", "deputy")
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert "AccessDenied" in refused.err and "iam:CreateUser" in refused.err
    assert "arn:aws:iam::123456789012:user/deputy" in refused.err
    assert "intern" not in [u.name for u in service(store_url).list_users()]
    allowed = cli("user", "create", "intern", "--boundary", "Bound", "--as-user", "deputy")
    assert allowed.code == 0, allowed.err
    assert service(store_url).get_user("intern").permissions_boundary == BOUNDARY_ARN
    # the caller option may come before the command too
    listed = cli("--as-user", "deputy", "user", "list", "--json").json["Users"]
    assert {u["UserName"] for u in listed} == {"deputy", "intern"}
    escalate = cli("--as-user", "deputy", "policy", "attach", "AdministratorAccess", "--user", "deputy")
    assert escalate.code == 1 and "iam:AttachUserPolicy" in escalate.err
    assert [p.name for p in service(store_url).list_attached_policies(PrincipalKind.USER, "deputy")] == [
        "Delegate"
    ]


def test_root_may_do_anything_a_user_only_what_it_is_allowed(cli: Cli, store_url: str) -> None:
    assert cli("user", "create", "nobody").code == 0
    assert cli("group", "create", "devs").code == 0  # root (the default caller)
    refused = cli("group", "delete", "devs", "--as-user", "nobody")
    assert refused.code == 1 and "iam:DeleteGroup" in refused.err
    assert [g.name for g in service(store_url).list_groups()] == ["devs"]
    assert "NoSuchEntity" in cli("user", "list", "--as-user", "ghost").err


def test_access_key_id_acts_as_its_owner(cli: Cli, store_url: str, tmp_path: Path) -> None:
    _delegated_admin(cli, tmp_path)
    key = cli("access-key", "create", "--user", "deputy", "--json").json["AccessKey"]
    listed = cli("user", "list", "--access-key-id", key["AccessKeyId"], "--json")
    assert listed.code == 0 and "deputy" in listed.out
    refused = cli("group", "create", "admins", "--access-key-id", key["AccessKeyId"])
    assert refused.code == 1 and "iam:CreateGroup" in refused.err and "user/deputy" in refused.err
    assert cli("access-key", "update", key["AccessKeyId"], "--status", "Inactive").code == 0
    inactive = cli("user", "list", "--access-key-id", key["AccessKeyId"])
    assert inactive.code == 1 and "InvalidClientTokenId" in inactive.err
    unknown = cli("user", "list", "--access-key-id", "AKIAIOSFODNN7EXAMPLE")
    assert unknown.code == 1 and "InvalidClientTokenId" in unknown.err


def test_env_credentials_need_the_right_secret(
    cli: Cli, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _delegated_admin(cli, tmp_path)
    key = cli("access-key", "create", "--user", "deputy", "--json").json["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"][:-1] + "x")
    wrong = cli("user", "list", "--env-credentials")
    assert wrong.code == 1 and "InvalidClientTokenId" in wrong.err
    assert key["SecretAccessKey"][:-1] not in wrong.err  # never echoed
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    assert cli("user", "list", "--env-credentials").code == 0
    assert "iam:CreateGroup" in cli("group", "create", "g", "--env-credentials").err
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-role-session")
    session = cli("user", "list", "--env-credentials")
    assert session.code == 2 and "AWS_SESSION_TOKEN" in session.err
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert cli("user", "list", "--env-credentials").code == 2  # a usage error: say what is missing


def test_one_caller_at_a_time(cli: Cli) -> None:
    assert cli("user", "create", "a").code == 0
    both = cli("user", "list", "--as-user", "a", "--access-key-id", "AKIAIOSFODNN7EXAMPLE")
    assert both.code == 2 and "--as-user" in both.err and "--access-key-id" in both.err


def test_the_root_users_keys_are_the_root_callers(cli: Cli, tmp_path: Path) -> None:
    assert cli("user", "create", "a").code == 0
    refused = cli("access-key", "create", "--root", "--as-user", "a")
    assert refused.code == 1 and "AccessDenied" in refused.err
    root_key = cli("access-key", "create", "--root", "--json").json["AccessKey"]["AccessKeyId"]
    assert cli("group", "create", "g", "--access-key-id", root_key).code == 0


@pytest.mark.parametrize(
    "argv",
    [
        ("--as-user", "a", "export"),
        ("--env-credentials", "validate", "{file}"),
        ("access-key", "rotate-master-key", "--as-user", "a"),
    ],
)
def test_caller_options_are_refused_where_no_iam_action_runs(
    cli: Cli, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """Acting as the operator while the command line names someone else would mislead."""
    policy = write_json(tmp_path / "p.json", ALLOW_S3_READ)
    args = [policy if a == "{file}" else a for a in argv]
    if args[0] == "access-key":  # the verb's own parser has no caller options
        with pytest.raises(SystemExit) as usage:
            cli(*args)
        assert usage.value.code == 2
        return
    result = cli(*args)
    assert result.code == 2 and "applies to the IAM administration commands only" in result.err


def test_force_removes_everything_through_iam_calls_or_nothing(
    cli: Cli, store_url: str, tmp_path: Path
) -> None:
    """``user delete --force`` makes the calls AWS documents for deleting a user (keys, login
    profile, MFA devices, inline and attached policies, groups); a caller refused any of them
    changes nothing. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_remove.html"""
    assert cli("user", "create", "gone").code == 0
    assert cli("group", "create", "devs").code == 0
    assert cli("group", "add-user", "devs", "gone").code == 0
    assert cli("access-key", "create", "--user", "gone").code == 0
    assert cli("login-profile", "create", "gone", "--password-stdin", stdin="Correct-Horse-9\n").code == 0
    assert cli("policy", "attach", "ReadOnlyAccess", "--user", "gone").code == 0
    assert cli("policy", "inline", "put", "--user", "gone", "Own", json.dumps(ALLOW_S3_READ)).code == 0
    # a deputy allowed everything but deleting access keys
    deputy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:DeleteAccessKey", "Resource": "*"},
        ],
    }
    assert cli("user", "create", "deputy").code == 0
    assert cli("policy", "inline", "put", "--user", "deputy", "Admin", json.dumps(deputy)).code == 0
    refused = cli("user", "delete", "gone", "--force", "--as-user", "deputy")
    assert refused.code == 1 and "iam:DeleteAccessKey" in refused.err and "explicit deny" in refused.err
    store = service(store_url)
    assert [g.name for g in store.list_groups_for_user("gone")] == ["devs"]  # nothing was removed
    assert store.list_inline_policies(PrincipalKind.USER, "gone") == ["Own"]
    assert len(store.list_access_keys("gone")) == 1
    assert cli("user", "delete", "gone", "--force").code == 0  # the root user may
    assert [u.name for u in service(store_url).list_users()] == ["deputy"]


_VERBS = json.loads(
    (Path(__file__).parents[1] / "data" / "cli" / "iam_verbs.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("row", _VERBS["rows"], ids=lambda row: " ".join(row["argv"][:3]))
def test_every_verb_is_an_authorized_iam_action(
    cli: Cli, store_url: str, tmp_path: Path, row: dict[str, Any]
) -> None:
    """Run by a user with no policies, each verb is refused the IAM action it needs, and the
    account is as it was (its export is unchanged)."""
    doc = write_json(tmp_path / "doc.json", ALLOW_S3_READ)
    trust = write_json(tmp_path / "trust.json", TRUST_ACCOUNT)
    for setup in (
        ("user", "create", "nobody"), ("user", "create", "alice"), ("group", "create", "devs"),
        ("role", "create", "r", "--trust-policy", trust), ("policy", "create", "P", doc),
        ("policy", "version", "create", "P", doc), ("account", "alias-create", "parity-co"),
        ("password-policy", "set", "--require-numbers"), ("policy", "inline", "put", "--user", "alice", "Own", doc),
    ):  # fmt: skip
        assert cli(*setup).code == 0, setup
    key = cli("access-key", "create", "--user", "alice", "--json").json["AccessKey"]["AccessKeyId"]
    serial = cli("mfa", "create", "alice-phone", "--json").json["VirtualMFADevice"]["SerialNumber"]
    before = cli("export").out
    values = {"{doc}": doc, "{trust}": trust, "{key}": key, "{serial}": serial}
    refused = cli(*(values.get(a, a) for a in row["argv"]), "--as-user", "nobody")
    assert refused.code == 1, refused.out + refused.err
    assert (
        f"AccessDenied: User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: iam:{row['action']}"
        in refused.err
    )
    assert cli("export").out == before
