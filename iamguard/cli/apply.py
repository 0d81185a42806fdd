"""``iamguard apply FILE``: make the store match a declarative account file.

The plan (what will be created, updated, deleted) is printed first, then applied in one store
transaction, so a failure leaves nothing half-applied. ``--dry-run`` prints the plan only;
``--check`` exits 1 when the store differs from the file (drift detection in CI). Entities the
file does not mention are never deleted unless ``--prune`` is given. A store that does not exist
yet is created only with ``--create`` (a preview plans against an empty one). File format: see
:mod:`iamguard.declarative`; YAML needs pyyaml (``pip install 'iamguard[yaml]'``), JSON works
without it.

Exit status: 0 applied (or nothing to do), 1 the file cannot be applied (or ``--check`` found
differences), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from iamguard.cli import EXIT_FINDINGS, EXIT_OK
from iamguard.cli._store_args import add_store_args, command_parser, open_from_args, store_url, warn_if_memory
from iamguard.declarative import AccountSpec, Plan, apply_plan, load_account_file, make_plan
from iamguard.errors import NoSuchEntityError, NoSuchStoreError
from iamguard.store import open_store
from iamguard.store.service import IdentityService

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = command_parser(
        subparsers,
        "apply",
        "make the store match an account file (users, groups, roles, policies)",
        __doc__ or "",
    )
    parser.add_argument("file", metavar="FILE", help="account file (.yaml/.yml or .json)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--check", action="store_true", help="like --dry-run, but exit 1 if there are changes"
    )
    parser.add_argument(
        "--prune", action="store_true", help="also delete users, groups, roles and policies not in the file"
    )
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the store first if it does not exist (as `iamguard init`)",
    )
    add_store_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec = load_account_file(args.file)
    preview = args.dry_run or args.check
    service = _open(args, preview, spec)
    plan = make_plan(service, spec, prune=args.prune)
    if preview or plan.empty:
        _print(args, plan, applied=False)
        return EXIT_FINDINGS if args.check and not plan.empty else EXIT_OK
    if not args.json:
        sys.stdout.write(plan.render())
    apply_plan(service, spec, plan)
    if args.json:
        _print(args, plan, applied=True)
    else:
        sys.stdout.write(f"Applied {len(plan.changes)} change(s).\n")
    return EXIT_OK


def _open(args: argparse.Namespace, preview: bool, spec: AccountSpec) -> IdentityService:
    """The store; a preview of a store that does not exist yet plans against an empty one.
    Applying to a missing store needs ``--create``, which gives it the file's ``account_id``."""
    account_id = spec.account_id if isinstance(spec.account_id, str) else None
    if not preview:
        if args.create and not _exists(args):
            warn_if_memory(store_url(args))
            return open_store(store_url(args), create=True, account_id=account_id)
        return open_from_args(args, write=True)
    try:
        return open_from_args(args, write=False)
    except (NoSuchEntityError, NoSuchStoreError) as exc:
        print(f"iamguard apply: {exc}; planning against an empty store", file=sys.stderr)
        return open_store("memory://", account_id=account_id)


def _exists(args: argparse.Namespace) -> bool:
    """Whether a store is already at the URL ``args`` names (``memory://`` never is)."""
    if store_url(args).lower().startswith("memory:"):
        return False
    try:
        open_from_args(args).backend.close()
    except (NoSuchEntityError, NoSuchStoreError):
        return False
    return True


def _print(args: argparse.Namespace, plan: Plan, *, applied: bool) -> None:
    if args.json:
        sys.stdout.write(json.dumps({**plan.to_json(), "applied": applied}, indent=2) + "\n")
    else:
        sys.stdout.write(plan.render())
