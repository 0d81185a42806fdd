"""``iamguard init``: create an identity store (the only command that does, with ``apply --create``).

::

    iamguard init [--store URL] [--account-id ID] [--json]

Makes the SQLite file or PostgreSQL schema and iamguard's tables; running it on an existing
store changes nothing and says so. The store holds one account: ``--account-id`` chooses its
12-digit id (it appears in every ARN and cannot change later); without it the store gets
123456789012, AWS's documentation example, and the command says which id it used. When a master key is configured (``IAMGUARD_MASTER_KEY`` /
``IAMGUARD_MASTER_KEY_FILE``, or ``IAMGUARD_DEV_MASTER_KEY=1``) its key-check value is recorded
at once, so any later process started with another key fails at start; otherwise the first
secret sealed records it. Every other command, server and guard refuses a missing store.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import (
    add_store_args,
    command_parser,
    open_from_args,
    say,
    store_url,
    warn_if_memory,
)
from iamguard.errors import InvalidInputError, NoSuchEntityError, NoSuchStoreError
from iamguard.store import open_store
from iamguard.store.service import DEFAULT_ACCOUNT_ID, IdentityService

__all__ = ["account_id", "register", "run"]

_KEY_VARIABLES = ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_DEV_MASTER_KEY")


def register(subparsers: Any) -> None:
    parser = command_parser(subparsers, "init", "create an identity store", __doc__ or "")
    parser.add_argument(
        "--account-id",
        type=account_id,
        metavar="ID",
        help=f"12-digit account id of a new store (default {DEFAULT_ACCOUNT_ID})",
    )
    add_store_args(parser)
    parser.set_defaults(func=run)


def account_id(text: str) -> str:
    """An ``--account-id`` value: exactly 12 ASCII digits, as AWS account ids are."""
    value = text.strip()
    if not (len(value) == 12 and value.isascii() and value.isdigit()):
        raise argparse.ArgumentTypeError(f"an AWS account id is 12 digits, got {text!r}")
    return value


def _existing(args: argparse.Namespace, url: str) -> IdentityService | None:
    """The store already at ``url``, or ``None`` (a ``memory://`` store is always new)."""
    if url.lower().startswith("memory:"):
        return None
    try:
        return open_from_args(args)
    except (NoSuchEntityError, NoSuchStoreError):
        return None


def run(args: argparse.Namespace) -> int:
    url = store_url(args)
    existing = _existing(args, url)
    if existing is not None:
        try:
            held = existing.account().account_id
        finally:
            existing.backend.close()
        if args.account_id is not None and args.account_id != held:
            raise InvalidInputError(f"the store at {url} already holds account {held}, not {args.account_id}")
        say(
            args,
            f"a store for account {held} already exists at {url}; nothing changed",
            {"Store": url, "Created": False, "AccountId": held},
        )
        return EXIT_OK
    warn_if_memory(url)
    service = open_store(url, create=True, account_id=args.account_id)
    try:
        kid = service.record_master_key() if any(os.environ.get(v) for v in _KEY_VARIABLES) else None
        account = service.account().account_id
    finally:
        service.backend.close()
    note = f"; master key {kid!r} recorded" if kid else "; no master key configured yet"
    chosen = "" if args.account_id else " (the default account id; choose one with --account-id)"
    say(
        args,
        f"created a store for account {account}{chosen} at {url}{note}",
        {"Store": url, "Created": True, "AccountId": account, "MasterKeyId": kid},
    )
    return EXIT_OK
