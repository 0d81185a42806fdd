"""``iamguard access-key ...``: the secret is shown once, stored sealed, and re-sealable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from iamguard.store.secrets import SecretBox

from . import admin_cli_support as support
from .admin_cli_support import Cli, service

cli = support.cli
store_url = support.store_url


def _db_text(store_url: str) -> str:
    """Every value in the SQLite file as text, to look for leaked secrets."""
    conn = sqlite3.connect(store_url[len("sqlite:///") :])
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(str(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
    finally:
        conn.close()


def test_create_shows_secret_once_and_stores_it_sealed(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html"""
    cli("user", "create", "alice")
    created = cli("access-key", "create", "--user", "alice", "--json")
    assert created.code == 0
    body = created.json["AccessKey"]
    key_id, secret = body["AccessKeyId"], body["SecretAccessKey"]
    assert key_id.startswith("AKIA") and len(key_id) == 20 and len(secret) == 40
    assert "only time" in created.err and "DEVELOPMENT" in created.err
    listed = cli("access-key", "list", "--user", "alice")
    assert key_id in listed.out and secret not in listed.out
    assert secret not in cli("access-key", "list", "--user", "alice", "--json").out
    assert secret not in cli("user", "get", "alice", "--json").out
    assert secret not in _db_text(store_url)
    found = service(store_url).get_access_key(key_id)
    assert found is not None and found[1] == secret


def test_human_output_and_quota(cli: Cli) -> None:
    """At most two access keys per user.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities"""
    cli("user", "create", "bob")
    first = cli("access-key", "create", "--user", "bob")
    assert first.out.splitlines()[0].startswith("AccessKeyId") and "SecretAccessKey" in first.out
    assert cli("access-key", "create", "--user", "bob").code == 0
    third = cli("access-key", "create", "--user", "bob")
    assert third.code == 1 and "LimitExceeded" in third.err and "SecretAccessKey" not in third.out


def test_update_and_delete(cli: Cli, store_url: str) -> None:
    cli("user", "create", "alice")
    key_id = cli("access-key", "create", "--user", "alice", "--json").json["AccessKey"]["AccessKeyId"]
    assert cli("access-key", "update", key_id, "--status", "Inactive").code == 0
    assert (
        cli("access-key", "list", "--user", "alice", "--json").json["AccessKeyMetadata"][0]["Status"]
        == "Inactive"
    )
    assert cli("access-key", "delete", key_id).code == 0
    assert cli("access-key", "delete", key_id).code == 1
    assert service(store_url).list_access_keys("alice") == []


def test_root_keys_warn(cli: Cli) -> None:
    """AWS recommends no access keys for the root user.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"""
    created = cli("access-key", "create", "--root")
    assert created.code == 0 and "root user access keys are discouraged" in created.err
    shown = cli("account", "show", "--json").json
    assert any("access key" in w for w in shown["Warnings"])


def test_without_any_master_key_it_fails_closed(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    cli("user", "create", "alice")
    monkeypatch.delenv("IAMGUARD_DEV_MASTER_KEY")
    result = cli("access-key", "create", "--user", "alice")
    assert result.code == 2 and "no master key configured" in result.err and result.out == ""
    assert service(store_url).list_access_keys("alice") == []


def test_rotate_master_key(cli: Cli, monkeypatch: pytest.MonkeyPatch, store_url: str) -> None:
    """Deploy the new key as primary beside the old one, re-seal, then drop the old one
    (the procedure in iamguard/store/secrets.py)."""
    old, new = SecretBox.generate_key(), SecretBox.generate_key()
    monkeypatch.delenv("IAMGUARD_DEV_MASTER_KEY")
    monkeypatch.setenv("IAMGUARD_MASTER_KEY", f"old:{old}")
    cli("user", "create", "alice")
    key = cli("access-key", "create", "--user", "alice", "--json").json["AccessKey"]
    monkeypatch.setenv("IAMGUARD_MASTER_KEY", f"new:{new},old:{old}")
    rotated = cli("access-key", "rotate-master-key", "--json")
    assert rotated.code == 0 and rotated.json == {"ResealedSecrets": 1, "PrimaryKeyId": "new"}
    assert cli("access-key", "rotate-master-key", "--json").json["ResealedSecrets"] == 0  # idempotent
    monkeypatch.setenv("IAMGUARD_MASTER_KEY", f"new:{new}")
    found = service(store_url).get_access_key(key["AccessKeyId"])
    assert found is not None and found[1] == key["SecretAccessKey"]


def test_help_documents_production_key(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli("access-key", "create", "--help")
    assert "IAMGUARD_MASTER_KEY" in capsys.readouterr().out


def test_missing_store_path_is_not_created_by_list(cli: Cli, tmp_path: Path) -> None:
    result = cli("access-key", "list", "--root", "--store", f"sqlite:///{tmp_path}/x.db")
    assert result.code == 1 and not (tmp_path / "x.db").exists()
