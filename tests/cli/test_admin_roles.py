"""``iamguard role ...`` through ``iamguard.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

from . import admin_cli_support as support
from .admin_cli_support import TRUST_ACCOUNT, Cli, service, write_json

cli = support.cli
store_url = support.store_url


def test_create_with_trust_file_and_show(cli: Cli, store_url: str, tmp_path: Path) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"""
    trust = write_json(tmp_path / "trust.json", TRUST_ACCOUNT)
    created = cli(
        "role", "create", "deployer", "--trust-policy", f"file://{trust}", "--path", "/ci/",
        "--description", "CI deploys", "--max-session-duration", "7200", "--tag", "env=prod",
    )  # fmt: skip
    assert created.code == 0, created.err
    role = service(store_url).get_role("deployer")
    assert role.arn == "arn:aws:iam::123456789012:role/ci/deployer"
    assert role.max_session_duration == 7200 and role.tags == (("env", "prod"),)
    shown = cli("role", "get", "deployer")
    assert "TrustPolicy:" in shown.out and '"sts:AssumeRole"' in shown.out
    listed = cli("role", "list", "--json").json["Roles"]
    assert [r["RoleName"] for r in listed] == ["deployer"] and listed[0]["RoleId"].startswith("AROA")
    # the trust policy is a JSON object, not the URL-encoded string of the wire protocol
    assert listed[0]["AssumeRolePolicyDocument"] == TRUST_ACCOUNT
    got = cli("role", "get", "deployer", "--json").json["Role"]
    assert got["Tags"] == [{"Key": "env", "Value": "prod"}] and got["MaxSessionDuration"] == 7200


def test_inline_json_trust_policy_and_updates(cli: Cli, store_url: str) -> None:
    assert cli("role", "create", "r", "--trust-policy", json.dumps(TRUST_ACCOUNT)).code == 0
    assert cli("role", "update", "r", "--description", "new", "--max-session-duration", "43200").code == 0
    role = service(store_url).get_role("r")
    assert (role.description, role.max_session_duration) == ("new", 43200)
    changed = dict(TRUST_ACCOUNT, Statement=[dict(TRUST_ACCOUNT["Statement"][0], Sid="Root")])
    assert cli("role", "update-trust-policy", "r", json.dumps(changed)).code == 0
    assert json.loads(service(store_url).get_role("r").assume_role_policy)["Statement"][0]["Sid"] == "Root"
    assert cli("role", "tag", "r", "k=v").code == 0 and cli("role", "untag", "r", "k").code == 0
    assert service(store_url).get_role("r").tags == ()


def test_invalid_inputs_write_nothing(cli: Cli, store_url: str, tmp_path: Path) -> None:
    """MaxSessionDuration is 3600-43200 seconds; a trust policy must be a valid resource policy.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"""
    bad_trust = tmp_path / "bad.json"
    bad_trust.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    for argv in (
        ("role", "create", "r", "--trust-policy", str(bad_trust)),
        ("role", "create", "r", "--trust-policy", json.dumps(TRUST_ACCOUNT), "--max-session-duration", "60"),
        ("role", "create", "r", "--trust-policy", str(tmp_path / "missing.json")),
    ):
        result = cli(*argv)
        assert result.code in (1, 2) and result.err.count("\n") == 1, result.err
    assert cli("role", "list", "--json").json == {"Roles": []}
    assert cli("role", "update", "ghost", "--description", "x").code == 1


def test_delete_needs_force_while_policies_attached(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html"""
    cli("role", "create", "r", "--trust-policy", json.dumps(TRUST_ACCOUNT))
    cli("policy", "attach", "ReadOnlyAccess", "--role", "r")  # bare names only find customer policies
    assert cli("policy", "attach", "arn:aws:iam::iamguard:policy/ReadOnlyAccess", "--role", "r").code == 0
    assert "DeleteConflict" in cli("role", "delete", "r").err
    assert cli("role", "delete", "r", "--force").code == 0
    assert service(store_url).list_roles() == []
