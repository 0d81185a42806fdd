"""``iamguard login-profile ...`` and ``iamguard password-policy ...``.

Passwords never travel as arguments: ``--password-stdin`` or a no-echo prompt (getpass).
"""

from __future__ import annotations

import pytest

from . import admin_cli_support as support
from .admin_cli_support import Cli, service

cli = support.cli
store_url = support.store_url

GOOD = "Correct-Horse-9"
OTHER = "Battery-Staple-7"


class _Tty:
    """A stand-in standard input that claims to be a terminal (getpass is patched)."""

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        raise AssertionError("a terminal prompt must not read standard input directly")


def _prompts(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr("sys.stdin", _Tty())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    return asked


def test_create_from_stdin_then_sign_in(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html"""
    cli("user", "create", "alice")
    result = cli(
        "login-profile", "create", "alice", "--password-stdin", "--password-reset-required", stdin=GOOD + "\n"
    )
    assert result.code == 0 and GOOD not in result.out + result.err
    outcome = service(store_url).check_password("alice", GOOD)
    assert outcome.ok and outcome.password_reset_required
    shown = cli("login-profile", "get", "alice", "--json").json["LoginProfile"]
    assert (
        shown["PasswordResetRequired"] is True
        and shown["UserName"] == "alice"
        and "hash" not in str(shown).lower()
    )


def test_prompt_asks_twice_and_refuses_a_mismatch(
    cli: Cli, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("user", "create", "alice")
    asked = _prompts(monkeypatch, [GOOD, GOOD + "x"])
    result = cli("login-profile", "create", "alice")
    assert result.code == 2 and "do not match" in result.err and len(asked) == 2
    _prompts(monkeypatch, [GOOD, GOOD])
    assert cli("login-profile", "create", "alice").code == 0
    assert service(store_url).check_password("alice", GOOD).ok


def test_no_terminal_and_no_stdin_flag_is_refused(cli: Cli, store_url: str) -> None:
    cli("user", "create", "alice")
    result = cli("login-profile", "create", "alice", stdin=GOOD + "\n")  # StringIO is not a tty
    assert result.code == 2 and "--password-stdin" in result.err
    assert cli("login-profile", "get", "alice").code == 1


def test_default_policy_violation_writes_nothing(cli: Cli, store_url: str) -> None:
    """AWS's default policy: at least 8 characters and three of four character types.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"""
    cli("user", "create", "alice")
    result = cli("login-profile", "create", "alice", "--password-stdin", stdin="short\n")
    assert result.code == 1 and "PasswordPolicyViolation" in result.err and "short" not in result.err
    assert cli("login-profile", "get", "alice").code == 1


def test_update_change_and_delete(cli: Cli, store_url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_ChangePassword.html"""
    cli("user", "create", "alice")
    cli("login-profile", "create", "alice", "--password-stdin", stdin=GOOD + "\n")
    assert cli("login-profile", "update", "alice").code == 2  # nothing to update
    assert cli("login-profile", "update", "alice", "--password-reset-required").code == 0
    assert service(store_url).get_login_profile("alice").password_reset_required
    # ChangePassword runs as alice: her own policies must allow it, as in AWS
    refused = cli("login-profile", "change-password", "alice", "--password-stdin", stdin=f"{GOOD}\n{OTHER}\n")
    assert refused.code == 1 and "AccessDenied" in refused.err and "iam:ChangePassword" in refused.err
    assert cli("policy", "attach", "IAMUserChangePassword", "--user", "alice").code == 0
    wrong = cli("login-profile", "change-password", "alice", "--password-stdin", stdin=f"nope\n{OTHER}\n")
    assert wrong.code == 1 and "old password is incorrect" in wrong.err
    changed = cli("login-profile", "change-password", "alice", "--password-stdin", stdin=f"{GOOD}\n{OTHER}\n")
    assert changed.code == 0
    assert service(store_url).check_password("alice", OTHER).ok
    assert not service(store_url).get_login_profile("alice").password_reset_required
    assert cli("login-profile", "update", "alice", "--password-stdin", stdin=GOOD + "\n").code == 0
    assert service(store_url).check_password("alice", GOOD).ok
    assert cli("login-profile", "delete", "alice").code == 0
    assert not service(store_url).check_password("alice", GOOD).ok


def test_password_policy_set_replaces_get_delete(cli: Cli, store_url: str) -> None:
    """UpdateAccountPasswordPolicy: parameters left out take their default values.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html"""
    cli("account", "alias-create", "example-co")
    missing = cli("password-policy", "get")
    assert missing.code == 1 and "NoSuchEntity" in missing.err
    effective = cli("password-policy", "get", "--effective", "--json").json["PasswordPolicy"]
    assert effective["MinimumPasswordLength"] == 8
    assert cli("password-policy", "set", "--minimum-password-length", "14", "--require-symbols",
               "--password-reuse-prevention", "3").code == 0  # fmt: skip
    policy = cli("password-policy", "get", "--json").json["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 14 and policy["RequireSymbols"] is True
    assert policy["PasswordReusePrevention"] == 3 and policy["ExpirePasswords"] is False
    assert cli("password-policy", "set", "--require-numbers").code == 0
    replaced = cli("password-policy", "get", "--json").json["PasswordPolicy"]
    assert replaced["MinimumPasswordLength"] == 6 and replaced["RequireSymbols"] is False
    assert "PasswordReusePrevention" not in replaced
    bad = cli("password-policy", "set", "--minimum-password-length", "200")
    assert bad.code == 1 and cli("password-policy", "get", "--json").json["PasswordPolicy"] == replaced
    assert cli("password-policy", "delete").code == 0
    assert cli("password-policy", "delete").code == 1
