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
    ("alias", "url"),
    [
        (None, "https://123456789012.signin.iamguard.local/"),
        ("example-co", "https://example-co.signin.iamguard.local/"),
    ],
)
def test_login_url_uses_alias_else_account_id(alias: str | None, url: str) -> None:
    """As AWS's https://<alias-or-id>.signin.aws.amazon.com/console.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/console_account-alias.html"""
    assert login_url(Account("123456789012", alias=alias)) == url


def test_alias_create_show_delete(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html"""
    created = cli("account", "alias-create", "example-co")
    assert created.code == 0 and "https://example-co.signin.iamguard.local/" in created.out
    shown = cli("account", "show")
    assert (
        "example-co" in shown.out and "Sign-in URL     https://example-co.signin.iamguard.local/" in shown.out
    )
    data = cli("account", "show", "--json", "--signin-domain", "login.example.com").json
    assert data["SignInUrl"] == "https://example-co.login.example.com/"
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
    monkeypatch.setenv("IAMGUARD_SIGNIN_DOMAIN", "console.example.net")
    cli("user", "create", "idle")
    cli("user", "create", "busy")
    cli("policy", "inline", "put", "--user", "busy", "Read", json.dumps(ALLOW_S3_READ))
    data = cli("account", "show", "--json").json
    assert data["SignInUrl"] == "https://123456789012.console.example.net/"
    assert "user idle has no policies (it can do nothing)" in data["Warnings"]
    assert not any("busy" in w for w in data["Warnings"])
    assert data["Summary"] == {"Users": 2, "Groups": 0, "Roles": 0, "Policies": 0}
    assert cli("account", "show").code == 0
    strict = cli("account", "show", "--strict")
    assert strict.code == 1 and "WARNING user idle" in strict.out
