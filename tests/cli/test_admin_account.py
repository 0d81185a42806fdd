"""``iamguard account ...``: alias, sign-in URL and security status."""

from __future__ import annotations

import json

import pytest

from iamguard.cli.admin_account import login_url
from iamguard.store.records import Account

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, Cli, service

cli = support.cli
store_url = support.store_url


@pytest.mark.parametrize(
    ("alias", "console_url", "url"),
    [
        (None, None, "/console/signin/123456789012"),
        ("example-co", None, "/console/signin/example-co"),
        ("example-co", "http://127.0.0.1:9100/console", "http://127.0.0.1:9100/console/signin/example-co"),
        (None, "https://iam.example.com/admin/", "https://iam.example.com/admin/signin/123456789012"),
    ],
)
def test_login_url_is_the_consoles_signin_page(
    alias: str | None, console_url: str | None, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alias, else the account id, as AWS's https://<alias-or-id>.signin.aws.amazon.com/console;
    the path is the console's own sign-in page (``/console`` under ``iamguard serve``).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/console_account-alias.html"""
    monkeypatch.delenv("IAMGUARD_CONSOLE_URL", raising=False)
    assert login_url(Account("123456789012", alias=alias), console_url) == url


def test_console_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMGUARD_CONSOLE_URL", "http://localhost:8000/console")
    assert login_url(Account("123456789012")) == "http://localhost:8000/console/signin/123456789012"


def test_alias_create_show_delete(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html"""
    created = cli("account", "alias-create", "example-co")
    assert created.code == 0 and "sign in at /console/signin/example-co" in created.out
    shown = cli("account", "show")
    assert "example-co" in shown.out and "Sign-in URL     /console/signin/example-co\n" in shown.out
    data = cli("account", "show", "--json", "--console-url", "http://127.0.0.1:9100/console").json
    assert data["SignInUrl"] == "http://127.0.0.1:9100/console/signin/example-co"
    assert data["AccountId"] == "123456789012" and data["RootArn"] == "arn:aws:iam::123456789012:root"
    assert cli("account", "alias-delete", "other").code == 1  # AWS: NoSuchEntity for a wrong alias
    assert cli("account", "alias-delete", "example-co").code == 0
    assert service(store_url).account().alias is None


@pytest.mark.parametrize("alias", ["Upper", "-edge", "edge-", "a--b", "ab"])
def test_invalid_alias_refused(cli: Cli, alias: str) -> None:
    """Alias pattern ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$ (CreateAccountAlias)."""
    result = cli("account", "alias-create", "--", alias)
    # AWS's own validation answer for the model's pattern (the IAM API's wording)
    assert (
        result.code == 1
        and "ValidationError" in result.err
        and f"Value '{alias}' at 'accountAlias'" in result.err
    )


def test_security_status_and_strict(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root without MFA, root access keys, and users with no policy are reported.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"""
    monkeypatch.setenv("IAMGUARD_CONSOLE_URL", "https://console.example.net/console")
    cli("user", "create", "idle")
    cli("user", "create", "busy")
    cli("policy", "inline", "put", "--user", "busy", "Read", json.dumps(ALLOW_S3_READ))
    data = cli("account", "show", "--json").json
    assert data["SignInUrl"] == "https://console.example.net/console/signin/123456789012"
    assert "user idle has no policies (it can do nothing)" in data["Warnings"]
    assert not any("busy" in w for w in data["Warnings"])
    assert data["Summary"] == {"Users": 2, "Groups": 0, "Roles": 0, "Policies": 0}
    assert cli("account", "show").code == 0
    strict = cli("account", "show", "--strict")
    assert strict.code == 1 and "WARNING user idle" in strict.out
