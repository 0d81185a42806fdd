"""The console's login URL, built in one place for the console, ``iamguard serve`` and the CLI.

Part of ``console/``; pure (no Jinja2, no store I/O beyond the account passed in). AWS's login
URL names the account alias when there is one, else the account id
(``https://<alias>.signin.aws.amazon.com/console``;
https://docs.aws.amazon.com/IAM/latest/UserGuide/console_account-alias.html); iamguard's
console answers the same choice at ``<console>/signin/<alias or account id>``, where
``<console>`` is where the console is mounted (``/console`` under ``iamguard serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iamguard.store.records import Account

__all__ = ["SERVE_CONSOLE_PATH", "account_label", "login_path", "login_url"]

#: Where ``iamguard serve`` mounts the console.
SERVE_CONSOLE_PATH = "/console"


def account_label(account: Account) -> str:
    """The login URL's account part: the alias, or the account id when there is none."""
    return account.alias or account.account_id


def login_path(account: Account) -> str:
    """The sign-in page's path inside the console: ``/signin/<alias or account id>``."""
    return f"/signin/{account_label(account)}"


def login_url(account: Account, console_url: str = SERVE_CONSOLE_PATH) -> str:
    """The sign-in page under ``console_url``, the console's base (``http://host:port/console``,
    or the path ``/console`` on the ``iamguard serve`` host when no address is known)."""
    return console_url.rstrip("/") + login_path(account)
