"""``iamguard account ...``: the account (id, alias, sign-in URL) and its security status.

The sign-in URL is the console's real login page, ``<console>/signin/<alias or account id>``
(the alias when set, else the account id, as AWS's
``https://<alias-or-account-id>.signin.aws.amazon.com/console``;
https://docs.aws.amazon.com/IAM/latest/UserGuide/console_account-alias.html), the URL the
console's dashboard shows. ``<console>`` is ``--console-url`` or ``$IAMGUARD_CONSOLE_URL``
(e.g. ``http://127.0.0.1:9100/console``); without either it is the path ``/console`` on the
address ``iamguard serve`` prints (serve picks a free port unless given ``--port``, so the CLI
cannot know the host and port; serve prints the full sign-in URL when it starts).

The security status lists what AWS's root-user recommendations flag (no root MFA, root access
keys; https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html) and users
with no policy at all; ``show --strict`` exits 1 when there is any warning.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from iamguard.cli import EXIT_FINDINGS, EXIT_OK
from iamguard.cli._aws_json import print_json
from iamguard.cli._iam_call import iam
from iamguard.cli._store_args import group_parser, say, verb
from iamguard.console._login import SERVE_CONSOLE_PATH
from iamguard.console._login import login_url as console_login_url
from iamguard.errors import NoSuchEntityError
from iamguard.store.records import Account

__all__ = ["login_url", "register"]

CONSOLE_URL_ENV = "IAMGUARD_CONSOLE_URL"


def login_url(account: Account, console_url: str | None = None) -> str:
    """The console sign-in URL under ``console_url`` (else ``$IAMGUARD_CONSOLE_URL``, else the
    path ``/console`` of ``iamguard serve``): the alias when set, else the account id, as AWS."""
    base = console_url or os.environ.get(CONSOLE_URL_ENV) or SERVE_CONSOLE_PATH
    return console_login_url(account, base)


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "account", "show the account and manage its alias", __doc__ or "")
    p = verb(verbs, "show", "account id, alias, sign-in URL and security status", _show)
    p.add_argument(
        "--console-url",
        default=None,
        metavar="URL",
        help=f"where the console is served, e.g. http://127.0.0.1:9100/console (default ${CONSOLE_URL_ENV}, "
        f"else the path {SERVE_CONSOLE_PATH} on the address 'iamguard serve' prints)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when there are security warnings")
    p = verb(verbs, "alias-create", "set the account alias (replaces an existing one)", _alias_create)
    p.add_argument("alias", help="3-63 lowercase letters, digits and single hyphens")
    p = verb(verbs, "alias-delete", "remove the account alias", _alias_delete)
    p.add_argument("alias")


def _warnings(service: Any) -> list[str]:
    found: list[str] = list(service.root_warnings())
    found += [
        f"user {name} has no policies (it can do nothing)" for name in service.users_without_permissions()
    ]
    env = os.environ
    if env.get("IAMGUARD_DEV_MASTER_KEY", "").strip() == "1" and not (
        env.get("IAMGUARD_MASTER_KEY") or env.get("IAMGUARD_MASTER_KEY_FILE")
    ):
        found.append(
            "IAMGUARD_DEV_MASTER_KEY=1: secrets are sealed with a development key (not for production)"
        )
    return found


def _show(args: argparse.Namespace) -> int:
    """Counts from ``GetAccountSummary``, the alias from ``ListAccountAliases``, the custom
    password policy from ``GetAccountPasswordPolicy``; the security warnings are iamguard's own
    report over the store, given once the summary was allowed."""
    call = iam(args)
    summary = call("GetAccountSummary")["SummaryMap"]
    aliases = call.all("ListAccountAliases", {}, "AccountAliases")["AccountAliases"]
    try:
        policy: dict[str, Any] | None = call("GetAccountPasswordPolicy")["PasswordPolicy"]
    except NoSuchEntityError:
        policy = None
    account = call.store.account()
    signin_url = login_url(account, args.console_url)
    warnings = _warnings(call.store)
    counts = {name: summary[name] for name in ("Users", "Groups", "Roles", "Policies")}
    if args.json:
        body = {
            "AccountId": account.account_id,
            "Partition": account.partition,
            "AccountAlias": aliases[0] if aliases else None,
            "SignInUrl": signin_url,
            "RootArn": account.root_arn,
            "PasswordPolicy": policy,
            "Summary": counts,
            "Warnings": warnings,
        }
        print_json(body)
    else:
        print(f"Account ID      {account.account_id}")
        print(f"Partition       {account.partition}")
        print(f"Alias           {aliases[0] if aliases else '-'}")
        print(f"Sign-in URL     {signin_url}")
        print(f"Password policy {'custom' if policy else 'AWS default'}")
        print("Entities        " + ", ".join(f"{v} {k.lower()}" for k, v in counts.items()))
        print("Security        " + ("no warnings" if not warnings else f"{len(warnings)} warning(s)"))
        for warning in warnings:
            print(f"  WARNING {warning}")
    return EXIT_FINDINGS if args.strict and warnings else EXIT_OK


def _alias_create(args: argparse.Namespace) -> int:
    call = iam(args)
    call("CreateAccountAlias", {"AccountAlias": args.alias})
    say(args, f"account alias is {args.alias}; sign in at {login_url(call.store.account())}")
    return EXIT_OK


def _alias_delete(args: argparse.Namespace) -> int:
    iam(args)("DeleteAccountAlias", {"AccountAlias": args.alias})
    say(args, f"deleted account alias {args.alias}")
    return EXIT_OK
