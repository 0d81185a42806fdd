"""Which store a command opens (``--store``, ``$IAMGUARD_STORE``, ``sqlite:///iam.db``), the
``memory://`` warning, and the account id chosen by the operator (``init --account-id``)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

import iamguard.cli
from iamguard.cli._store_args import DEFAULT_STORE_URL
from iamguard.cli.serve import build_app
from iamguard.cli.serve_sts import build_token_service
from iamguard.iam import IamWsgiApp
from iamguard.store import open_store

from . import admin_cli_support as support
from .admin_cli_support import Cli, service

cli = support.cli

ACCOUNT = "111122223333"
ACCOUNT_IDS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "cli" / "account_ids.json").read_text(encoding="utf-8")
)["rows"]
MEMORY_WARNING = "discarded when the process exits"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A store of account 111122223333 holding alice (so the default id would show)."""
    url = f"sqlite:///{tmp_path}/s.db"
    store = open_store(url, create=True, account_id=ACCOUNT)
    store.create_user("alice")
    store.backend.close()
    return url


def _leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found[path] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, f"{path} {name}")

    walk(iamguard.cli.build_parser(), "iamguard")
    return found


def test_every_store_option_falls_back_to_the_environment() -> None:
    """No command demands ``--store`` (serve-sts used to): each leaves it unset so
    ``$IAMGUARD_STORE``, then the default, applies."""
    with_store = {
        path: action
        for path, parser in _leaf_parsers().items()
        for action in parser._actions
        if "--store" in action.option_strings
    }
    for command in ("iamguard serve-sts", "iamguard export", "iamguard init", "iamguard apply",
                    "iamguard simulate-principal", "iamguard user create", "iamguard access-key list"):  # fmt: skip
        assert command in with_store
    demanding = [p for p, a in with_store.items() if a.required or a.default is not None]
    assert "iamguard serve" in with_store
    assert demanding == []
    assert DEFAULT_STORE_URL == "sqlite:///iam.db"  # the name the README and examples use


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (("user", "list"), "alice"),
        (("account", "show"), ACCOUNT),
        (("init",), f"a store for account {ACCOUNT} already exists"),
        (("export", "--format", "json"), f'"account_id": "{ACCOUNT}"'),
        (("policy", "attached", "--user", "alice"), "NAME"),
    ],
)
def test_commands_use_iamguard_store(cli: Cli, argv: tuple[str, ...], shown: str) -> None:
    result = cli(*argv)  # the cli fixture sets IAMGUARD_STORE and passes no --store
    assert result.code == 0, result.err
    assert shown in result.out


def test_apply_and_simulate_principal_use_iamguard_store(cli: Cli, tmp_path: Path) -> None:
    account_file = tmp_path / "account.json"
    account_file.write_text(json.dumps({"account": {"account_id": ACCOUNT}, "users": [{"name": "alice"}]}))
    planned = cli("apply", str(account_file), "--check")
    assert planned.code == 0 and "No changes" in planned.out, planned.err
    simulated = cli("simulate-principal", "alice", "-a", "s3:GetObject", "--json")
    assert simulated.code == 1 and simulated.json["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_serve_sts_uses_iamguard_store(cli: Cli, store_url: str) -> None:
    parser = iamguard.cli.build_parser()
    args = parser.parse_args(["serve-sts", "--keys-file", "unused"])
    args.keys_file = None
    service_ = build_token_service(args, io.StringIO())
    assert list(service_.stores) == [ACCOUNT]


def test_serve_uses_iamguard_store(cli: Cli, store_url: str) -> None:
    """``iamguard serve`` without --store serves $IAMGUARD_STORE's account (IAM and STS)."""
    open_store(store_url).create_user("served")
    args = iamguard.cli.build_parser().parse_args(["serve"])
    assert args.store is None
    app = build_app(args, io.StringIO())
    assert isinstance(app.iam, IamWsgiApp)
    served = [u.name for u in app.iam.endpoint.service.store.list_users()]
    assert "served" in served and served == [u.name for u in open_store(store_url).list_users()]


def test_the_default_store_is_iam_db_in_the_working_directory(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("IAMGUARD_STORE")
    monkeypatch.chdir(tmp_path)
    missing = cli("user", "list")
    assert missing.code == 1 and "no store at iam.db" in missing.err
    assert cli("init").code == 0 and (tmp_path / "iam.db").is_file()
    assert cli("user", "create", "bob").code == 0
    assert [u.name for u in open_store(f"sqlite:///{tmp_path / 'iam.db'}").list_users()] == ["bob"]


@pytest.mark.parametrize(
    ("argv", "warned"),
    [
        (("user", "list", "--store", "memory://"), True),
        (("init", "--store", "memory://"), True),
        (("apply", "{file}", "--store", "memory://", "--create"), True),
        (("user", "list"), False),
    ],
)
def test_memory_store_warns_that_writes_are_discarded(
    cli: Cli, tmp_path: Path, argv: tuple[str, ...], warned: bool
) -> None:
    account_file = tmp_path / "a.json"
    account_file.write_text(json.dumps({"users": [{"name": "x"}]}))
    result = cli(*(str(account_file) if a == "{file}" else a for a in argv))
    assert result.code == 0, result.err
    assert result.err.count(MEMORY_WARNING) == (1 if warned else 0), result.err


def test_serve_sts_on_memory_warns(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(store="memory://", keys_file=None, oidc_provider=[], saml_provider=[])
    build_token_service(args, io.StringIO())
    assert MEMORY_WARNING in capsys.readouterr().err


# ---------------------------------------------------------------- account ids


@pytest.mark.parametrize("row", ACCOUNT_IDS, ids=[r["name"] for r in ACCOUNT_IDS])
def test_init_account_id(cli: Cli, tmp_path: Path, row: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    text = row.get("cli", row["value"])
    if not row["valid"]:
        with pytest.raises(SystemExit) as usage:
            cli("init", "--store", url, "--account-id", text)
        assert usage.value.code == 2
        assert not (tmp_path / "new.db").exists()
        return
    result = cli("init", "--store", url, "--account-id", text)
    assert result.code == 0, result.err
    assert f"created a store for account {text} at" in result.out and "default" not in result.out
    assert service(url).account().account_id == text
    assert cli("init", "--store", url, "--json").json == {"Store": url, "Created": False, "AccountId": text}


def test_init_says_which_account_id_it_used(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = cli("init", "--store", url)
    assert "for account 123456789012 (the default account id; choose one with --account-id)" in result.out
    assert cli("init", "--store", url, "--account-id", "123456789012").code == 0
    other = cli("init", "--store", url, "--account-id", ACCOUNT)
    assert other.code == 1 and "already holds account 123456789012, not 111122223333" in other.err


def test_apply_create_makes_the_files_account(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    account_file = tmp_path / "account.json"
    account_file.write_text(json.dumps({"account": {"AccountId": "444455556666"}, "users": [{"name": "u"}]}))
    preview = cli("apply", str(account_file), "--store", url, "--dry-run")
    assert preview.code == 0 and "planning against an empty store" in preview.err
    assert cli("apply", str(account_file), "--store", url, "--create").code == 0
    store = service(url)
    assert store.account().account_id == "444455556666"
    assert store.get_user("u").arn == "arn:aws:iam::444455556666:user/u"
    refused = cli("apply", str(account_file))  # the fixture's store holds 111122223333
    assert refused.code == 1 and "describes account 444455556666" in refused.err
