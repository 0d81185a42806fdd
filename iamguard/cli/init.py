"""``iamguard init``: create an identity store (the only command that does, with ``apply --create``).

::

    iamguard init [--store URL] [--account-id ID] [--json]

Makes the SQLite file or PostgreSQL schema and iamguard's tables; running it on an existing
store changes nothing and says so. When a master key is configured (``IAMGUARD_MASTER_KEY`` /
``IAMGUARD_MASTER_KEY_FILE``, or ``IAMGUARD_DEV_MASTER_KEY=1``) its key-check value is recorded
at once, so any later process started with another key fails at start; otherwise the first
secret sealed records it. Every other command, server and guard refuses a missing store.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import add_store_args, command_parser, open_from_args, say, store_url
from iamguard.errors import NoSuchEntityError, NoSuchStoreError
from iamguard.store import open_store

__all__ = ["register", "run"]

_KEY_VARIABLES = ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_DEV_MASTER_KEY")


def register(subparsers: Any) -> None:
    parser = command_parser(subparsers, "init", "create an identity store", __doc__ or "")
    parser.add_argument("--account-id", help="12-digit account id of a new store (default 123456789012)")
    add_store_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = store_url(args)
    try:
        open_from_args(args).backend.close()
    except (NoSuchEntityError, NoSuchStoreError):
        pass
    else:
        say(args, f"a store already exists at {url}; nothing changed", {"store": url, "created": False})
        return EXIT_OK
    service = open_store(url, create=True, account_id=args.account_id)
    try:
        kid = service.record_master_key() if any(os.environ.get(v) for v in _KEY_VARIABLES) else None
        account = service.account().account_id
    finally:
        service.backend.close()
    note = f"; master key {kid!r} recorded" if kid else "; no master key configured yet"
    say(
        args,
        f"created a store for account {account} at {url}{note}",
        {"store": url, "created": True, "account_id": account, "master_key_id": kid},
    )
    return EXIT_OK
