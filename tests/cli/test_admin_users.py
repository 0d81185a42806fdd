"""``iamguard user ...`` and ``iamguard group ...`` through ``iamguard.cli.main``."""

from __future__ import annotations

from pathlib import Path

import pytest

from iamguard.store.records import PrincipalKind

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, Cli, service, write_json

cli = support.cli
store_url = support.store_url


def test_create_get_list_round_trip(cli: Cli, store_url: str) -> None:
    created = cli("user", "create", "alice", "--path", "/eng/", "--tag", "team=data", "--tag", "cc=")
    assert created.code == 0
    assert "arn:aws:iam::123456789012:user/eng/alice" in created.out
    listed = cli("user", "list", "--json")
    assert [u["UserName"] for u in listed.json["Users"]] == ["alice"]
    assert listed.json["Users"][0]["UserId"].startswith("AIDA") and "Tags" not in listed.json["Users"][0]
    user = cli("user", "get", "alice", "--json").json["User"]  # ListUsers leaves tags out, GetUser not
    assert user["UserId"].startswith("AIDA") and user["Tags"] == [
        {"Key": "cc", "Value": ""},
        {"Key": "team", "Value": "data"},
    ]
    shown = cli("user", "get", "alice")
    assert shown.code == 0 and "team=data" in shown.out and "/eng/" in shown.out
    table = cli("user", "list", "--path-prefix", "/eng/")
    assert table.out.splitlines()[0].split()[:2] == ["NAME", "PATH"]
    assert cli("user", "list", "--path-prefix", "/ops/", "--json").json == {"Users": []}


def test_read_command_refuses_a_missing_store(cli: Cli, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path}/nothing-here.db"
    result = cli("user", "list", "--store", missing)
    assert result.code == 1
    assert "no store at" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "nothing-here.db").exists()


def test_duplicate_name_is_one_line_error_ignoring_case(cli: Cli) -> None:
    """User names are unique without regard to case.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names"""
    assert cli("user", "create", "alice").code == 0
    result = cli("user", "create", "ALICE")
    assert result.code == 1
    assert result.err.startswith("iamguard user create: EntityAlreadyExists:") and result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("user", "create", "bad name"), 1, "ValidationError"),
        (("user", "create", "x", "--path", "eng"), 1, "Value 'eng' at 'path' failed to satisfy constraint"),
        (("user", "create", "x", "--tag", "novalue"), 2, "tags are KEY=VALUE"),
        (("user", "create", "x", "--tag", "aws:reserved=1"), 1, "reserved"),
        (("user", "create", "x", "--boundary", "NoSuchPolicy"), 1, "NoSuchEntity"),
        (("user", "update", "x"), 2, "nothing to update"),
        (("user", "get", "ghost"), 1, "NoSuchEntity"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    cli: Cli, store_url: str, argv: tuple[str, ...], code: int, message: str
) -> None:
    """Name/path/tag rules: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules_creating"""
    assert cli("user", "create", "seed").code == 0
    result = cli(*argv)
    assert result.code == code
    assert message in result.err and result.err.count("\n") == 1
    assert [u.name for u in service(store_url).list_users()] == ["seed"]


def test_tags_boundary_update_and_groups(cli: Cli, store_url: str, tmp_path: Path) -> None:
    doc = write_json(tmp_path / "p.json", ALLOW_S3_READ)
    assert cli("policy", "create", "Bound", doc).code == 0
    assert cli("user", "create", "alice", "--boundary", "Bound").code == 0
    assert cli("user", "tag", "alice", "a=1", "b=2").code == 0
    assert cli("user", "untag", "alice", "a").code == 0
    user = service(store_url).get_user("alice")
    assert user.tags == (("b", "2"),)
    assert user.permissions_boundary == "arn:aws:iam::123456789012:policy/Bound"
    assert cli("user", "delete-boundary", "alice").code == 0
    assert service(store_url).get_user("alice").permissions_boundary is None
    assert cli("user", "delete-boundary", "alice").code == 1  # AWS: NoSuchEntity when none is set
    assert cli("user", "set-boundary", "alice", "arn:aws:iam::iamguard:policy/ReadOnlyAccess").code == 0
    assert cli("group", "create", "devs", "--path", "/eng/").code == 0
    assert cli("group", "add-user", "devs", "alice").code == 0
    assert cli("user", "groups", "alice", "--json").json["Groups"][0]["GroupName"] == "devs"
    moved = cli("user", "update", "alice", "--new-name", "alicia", "--new-path", "/ops/", "--json")
    assert moved.code == 0 and moved.out == ""  # UpdateUser answers nothing, as in AWS
    got = cli("user", "get", "alicia", "--json").json["User"]
    assert got["Arn"] == "arn:aws:iam::123456789012:user/ops/alicia"
    assert got["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": "arn:aws:iam::iamguard:policy/ReadOnlyAccess",
    }
    assert [u.name for u in service(store_url).get_group_members("devs")] == ["alicia"]


def test_delete_conflicts_until_forced(cli: Cli, store_url: str) -> None:
    """DeleteUser fails while the user has attached resources.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html"""
    cli("user", "create", "alice")
    cli("group", "create", "devs")
    cli("group", "add-user", "devs", "alice")
    refused = cli("user", "delete", "alice")
    assert refused.code == 1 and "DeleteConflict" in refused.err and "group memberships" in refused.err
    assert cli("user", "delete", "alice", "--force").code == 0
    assert service(store_url).list_users() == []


def test_group_get_list_remove_and_delete(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteGroup.html"""
    cli("group", "create", "devs")
    cli("user", "create", "bob")
    cli("group", "add-user", "devs", "bob")
    shown = cli("group", "get", "devs", "--json").json
    assert [u["UserName"] for u in shown["Users"]] == ["bob"] and shown["Group"]["GroupId"].startswith("AGPA")
    assert "devs" in cli("group", "list").out
    assert "DeleteConflict" in cli("group", "delete", "devs").err
    assert cli("group", "remove-user", "devs", "bob").code == 0
    assert cli("group", "remove-user", "devs", "bob").code == 1
    cli("policy", "attach", "arn:aws:iam::iamguard:policy/ReadOnlyAccess", "--group", "devs")
    assert cli("group", "delete", "devs").code == 1
    assert cli("group", "delete", "devs", "--force").code == 0
    assert service(store_url).list_groups() == []
    assert service(store_url).list_attached_policies(PrincipalKind.USER, "bob") == []


def test_create_warns_that_a_new_user_has_no_permissions(cli: Cli, store_url: str) -> None:
    """AWS's console warns "This user has no permissions" when a user is created bare."""
    created = cli("user", "create", "dana")
    assert created.code == 0
    assert "This user has no permissions" in created.err
    assert "dana" in created.err
