"""``iamguard apply`` and ``iamguard export`` across invocations on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import admin_cli_support as support
from .admin_cli_support import Cli, service

cli = support.cli
store_url = support.store_url

FULL = str(Path(__file__).resolve().parent.parent / "data" / "declarative" / "full.yaml")


def test_dry_run_on_a_missing_store_plans_against_empty(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    result = cli("apply", FULL, "--dry-run", "--store", url)
    assert result.code == 0
    assert result.out.startswith("Plan: 7 to create, 1 to update, 0 to delete.")
    assert "planning against an empty store" in result.err
    assert not (tmp_path / "new.db").exists()


def test_apply_prints_plan_then_is_idempotent(cli: Cli, store_url: str) -> None:
    first = cli("apply", FULL)
    assert first.code == 0, first.err
    assert "+ create user alice" in first.out and first.out.rstrip().endswith("Applied 8 change(s).")
    assert "Nothing is ever deleted without --prune." in first.out
    assert service(store_url).get_user("alice").path == "/eng/"
    again = cli("apply", FULL)
    assert again.code == 0 and again.out.startswith("No changes")
    assert cli("apply", FULL, "--check").code == 0


def test_check_reports_drift_and_json_plan(cli: Cli, store_url: str) -> None:
    cli("apply", FULL)
    cli("user", "tag", "alice", "team=other")
    drift = cli("apply", FULL, "--check", "--json")
    assert drift.code == 1
    plan = drift.json
    assert plan["applied"] is False and plan["summary"] == {"create": 0, "update": 1, "delete": 0}
    assert plan["changes"] == [
        {"action": "update", "kind": "user", "name": "alice", "steps": ["tag team=data"]}
    ]
    assert dict(service(store_url).get_user("alice").tags)["team"] == "other"  # --check changed nothing
    applied = cli("apply", FULL, "--json")
    assert applied.code == 0 and applied.json["applied"] is True
    assert dict(service(store_url).get_user("alice").tags)["team"] == "data"


def test_export_then_apply_is_a_no_op(cli: Cli, store_url: str, tmp_path: Path) -> None:
    cli("apply", FULL)
    cli("user", "create", "extra", "--tag", "made=by-hand")
    cli("policy", "version", "create", "S3Read", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}', "--set-default")  # fmt: skip
    for name in ("out.yaml", "out.json"):
        exported = cli("export", "-o", str(tmp_path / name))
        assert exported.code == 0 and f"wrote {tmp_path / name}" in exported.err
        result = cli("apply", str(tmp_path / name), "--prune", "--check")
        assert result.code == 0, result.out
        assert result.out.startswith("No changes")
    users = json.loads((tmp_path / "out.json").read_text())["users"]
    assert [u["name"] for u in users] == ["alice", "bob", "extra"]
    assert (tmp_path / "out.yaml").read_text().startswith("version: 1\n")
    stdout = cli("export", "--format", "json")
    assert json.loads(stdout.out) == json.loads((tmp_path / "out.json").read_text())


def test_prune_deletes_only_when_asked(cli: Cli, store_url: str, tmp_path: Path) -> None:
    cli("apply", FULL)
    cli("user", "create", "stray")
    kept = cli("apply", FULL)
    assert "left alone (apply --prune deletes them): user stray" in kept.out
    assert service(store_url).get_user("stray").name == "stray"
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"users": [{"name": "alice"}]}))
    pruned = cli("apply", str(small), "--prune")
    assert pruned.code == 0 and "- delete user stray" in pruned.out and "- delete policy" in pruned.out
    assert [u.name for u in service(store_url).list_users()] == ["alice"]
    assert service(store_url).list_policies(scope="local") == []
    assert service(store_url).get_user("alice").permissions_boundary is None


def test_invalid_file_is_one_line_and_changes_nothing(cli: Cli, store_url: str, tmp_path: Path) -> None:
    cli("user", "create", "alice")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"users": [{"name": "alice", "groups": ["missing"]}, {"name": "bob"}]}))
    result = cli("apply", str(bad))
    assert result.code == 1 and result.err.count("\n") == 1
    assert "users[alice].groups: no group 'missing'" in result.err
    assert [u.name for u in service(store_url).list_users()] == ["alice"]
    assert cli("apply", str(tmp_path / "nope.yaml")).code == 2


def test_failure_during_apply_rolls_back(cli: Cli, store_url: str, tmp_path: Path) -> None:
    """The 11th managed policy attached to one user exceeds the quota mid-apply.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities"""
    cli("account", "alias-create", "before")
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    data = {
        "account": {"alias": "after"},
        "policies": [{"name": f"P{i}", "document": doc} for i in range(11)],
        "users": [{"name": "alice", "attached_policies": [f"P{i}" for i in range(11)]}],
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    result = cli("apply", str(path))
    assert result.code == 1 and "LimitExceeded" in result.err
    store = service(store_url)
    assert store.account().alias == "before"
    assert store.list_users() == [] and store.list_policies(scope="local") == []


@pytest.mark.parametrize("command", ["apply", "export"])
def test_help_mentions_the_file_format(cli: Cli, capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit):
        cli(command, "--help")
    assert "pyyaml" in capsys.readouterr().out
