"""``iamguard login-profile ...`` and ``iamguard password-policy ...``: console passwords.

Passwords are never command-line arguments (they would land in shell history and the process
list): they are read from the terminal without echo (getpass, asked twice when setting one) or,
for scripts, from standard input with ``--password-stdin`` (one password per line;
``change-password`` reads the old one, then the new one).

https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_admin-change-user.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html
"""

from __future__ import annotations

import argparse
import getpass
import hmac
import sys
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import Iam, iam
from iamguard.cli._store_args import emit, group_parser, say, show, verb
from iamguard.errors import IAMGuardError, InvalidParameterError, NoSuchEntityError
from iamguard.iam import user_caller

__all__ = ["register"]

_STDIN_HELP = "read the password(s) from standard input, one per line, instead of prompting"
_INT_FIELDS = (
    ("minimum_password_length", "MinimumPasswordLength", "6-128 (default 6 in a custom policy)"),
    ("max_password_age", "MaxPasswordAge", "days, 1-1095 (default: never expire)"),
    ("password_reuse_prevention", "PasswordReusePrevention", "1-24 previous passwords (default: none)"),
)
_BOOL_FIELDS = (
    ("require_symbols", "RequireSymbols"),
    ("require_numbers", "RequireNumbers"),
    ("require_uppercase_characters", "RequireUppercaseCharacters"),
    ("require_lowercase_characters", "RequireLowercaseCharacters"),
    ("allow_users_to_change_password", "AllowUsersToChangePassword"),
    ("hard_expiry", "HardExpiry"),
)


def register(subparsers: Any) -> None:
    _register_login_profile(subparsers)
    _register_password_policy(subparsers)


def _register_login_profile(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "login-profile", "manage users' console passwords", __doc__ or "")
    p = verb(verbs, "create", "give a user a console password", _create)
    p.add_argument("user", metavar="USER")
    p.add_argument("--password-stdin", action="store_true", help=_STDIN_HELP)
    p.add_argument("--password-reset-required", action="store_true", help="force a change at next sign-in")
    p = verb(verbs, "get", "show a user's login profile (never the password)", _get)
    p.add_argument("user", metavar="USER")
    p = verb(verbs, "update", "reset a user's password and/or the reset-required flag", _update)
    p.add_argument("user", metavar="USER")
    p.add_argument("--set-password", action="store_true", help="set a new password (prompted)")
    p.add_argument("--password-stdin", action="store_true", help=_STDIN_HELP + " (implies --set-password)")
    reset = p.add_mutually_exclusive_group()
    reset.add_argument("--password-reset-required", dest="reset", action="store_true", default=None)
    reset.add_argument("--no-password-reset-required", dest="reset", action="store_false")
    p = verb(verbs, "delete", "remove a user's console password", _delete)
    p.add_argument("user", metavar="USER")
    p = verb(verbs, "change-password", "change a password knowing the old one (AWS ChangePassword)", _change)
    p.add_argument("user", metavar="USER")
    p.add_argument("--password-stdin", action="store_true", help=_STDIN_HELP + " (old, then new)")


def _register_password_policy(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "password-policy", "manage the account password policy")
    p = verb(verbs, "get", "show the custom password policy", _policy_get)
    p.add_argument(
        "--effective", action="store_true", help="show the policy in force (AWS's default when none is set)"
    )
    p = verb(
        verbs,
        "set",
        "replace the custom password policy",
        _policy_set,
        epilog="As AWS UpdateAccountPasswordPolicy: every option left out takes its default value "
        "(the policy is replaced, not merged).",
    )
    for _, key, help_text in _INT_FIELDS:
        p.add_argument("--" + _dashed(key), dest=key, type=int, metavar="N", help=help_text)
    for _, key in _BOOL_FIELDS:
        p.add_argument("--" + _dashed(key), dest=key, action="store_true")
    verb(verbs, "delete", "delete the custom policy (AWS's default applies again)", _policy_delete)


def _dashed(aws_name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in aws_name).lstrip("-")


# ---------------------------------------------------------------- reading passwords


def read_passwords(args: argparse.Namespace, prompts: tuple[str, ...], *, confirm_last: bool) -> list[str]:
    """One password per prompt: lines of standard input under ``--password-stdin``, else typed
    at the terminal without echo (the last one twice when ``confirm_last``)."""
    if args.password_stdin:
        values = [sys.stdin.readline().rstrip("\r\n") for _ in prompts]
    else:
        if not sys.stdin.isatty():
            raise InvalidParameterError(
                "standard input is not a terminal: pass --password-stdin to read passwords from it"
            )
        values = [getpass.getpass(prompt) for prompt in prompts]
        if confirm_last and not hmac.compare_digest(
            getpass.getpass("Repeat the password: ").encode(), values[-1].encode()
        ):
            raise InvalidParameterError("the passwords do not match")
    if any(not v for v in values):
        raise InvalidParameterError("empty password")
    return values


# ---------------------------------------------------------------- login profiles


def _create(args: argparse.Namespace) -> int:
    (password,) = read_passwords(args, ("New password: ",), confirm_last=True)
    params = {
        "UserName": args.user,
        "Password": password,
        "PasswordResetRequired": args.password_reset_required,
    }
    profile = iam(args)("CreateLoginProfile", params)["LoginProfile"]
    say(args, f"user {profile['UserName']} has a console password", cli_shape({"LoginProfile": profile}))
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    call = iam(args)
    profile = call("GetLoginProfile", {"UserName": args.user})["LoginProfile"]
    # iamguard's own sign-in state (not in AWS's LoginProfile shape), of the profile just read
    record = call.store.get_login_profile(profile["UserName"])
    pairs: list[tuple[str, object]] = [
        ("UserName", profile["UserName"]),
        ("Created", profile["CreateDate"]),
        ("PasswordResetRequired", profile["PasswordResetRequired"]),
        ("PasswordLastChanged", record.password_last_changed),
        ("FailedAttempts", record.failed_attempts),
        ("LastFailure", record.last_failure_at),
    ]
    show(args, cli_shape({"LoginProfile": profile}), pairs)
    return EXIT_OK


def _update(args: argparse.Namespace) -> int:
    password = None
    if args.set_password or args.password_stdin:
        (password,) = read_passwords(args, ("New password: ",), confirm_last=True)
    elif args.reset is None:
        raise InvalidParameterError(
            "nothing to update: pass --set-password and/or --[no-]password-reset-required"
        )
    params = {"UserName": args.user, "Password": password, "PasswordResetRequired": args.reset}
    iam(args)("UpdateLoginProfile", params)
    say(args, f"updated the login profile of user {args.user}")  # UpdateLoginProfile: nothing
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    iam(args)("DeleteLoginProfile", {"UserName": args.user})
    say(args, f"user {args.user} no longer has a console password")
    return EXIT_OK


def _change(args: argparse.Namespace) -> int:
    """AWS's ChangePassword changes the caller's own password, so it runs as ``USER`` (who knows
    the old one), allowed by ``iam:ChangePassword`` on themself or the account's
    AllowUsersToChangePassword; a caller option naming someone else is refused."""
    call = iam(args)
    if not call.caller.is_root and call.caller.user_name != args.user:
        raise IAMGuardError(
            f"ChangePassword changes the caller's own password: run it as user {args.user}",
            code="InvalidUserType",
            http_status=400,
        )
    old, new = read_passwords(args, ("Current password: ", "New password: "), confirm_last=True)
    Iam(call.store, user_caller(call.store, args.user))(
        "ChangePassword", {"OldPassword": old, "NewPassword": new}
    )
    say(args, f"changed the password of user {args.user}")
    return EXIT_OK


# ---------------------------------------------------------------- password policy


def _policy_get(args: argparse.Namespace) -> int:
    call = iam(args)
    try:
        data = call("GetAccountPasswordPolicy")["PasswordPolicy"]
    except NoSuchEntityError:
        if not args.effective:
            raise
        data = call.store.effective_password_policy().to_json()  # AWS's default: nothing stored
    emit(args, {"PasswordPolicy": data}, ("FIELD", "VALUE"), sorted(data.items()))
    return EXIT_OK


def _policy_set(args: argparse.Namespace) -> int:
    data: dict[str, Any] = {
        key: getattr(args, key) for _, key, _ in _INT_FIELDS if getattr(args, key) is not None
    }
    data.update({key: True for _, key in _BOOL_FIELDS if getattr(args, key)})
    iam(args)("UpdateAccountPasswordPolicy", data)
    say(args, "updated the account password policy")  # UpdateAccountPasswordPolicy: nothing
    return EXIT_OK


def _policy_delete(args: argparse.Namespace) -> int:
    iam(args)("DeleteAccountPasswordPolicy")
    say(args, "deleted the custom password policy; AWS's default policy applies")
    return EXIT_OK
