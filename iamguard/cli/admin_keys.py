"""``iamguard access-key ...``: access keys (create, list, update, delete) and master-key rotation.

A new key's secret is printed exactly once, when it is created: the store keeps only a copy
sealed with the deployment master key and can never show it again (as AWS CreateAccessKey).
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from iamguard.cli import EXIT_OK, _aws_json
from iamguard.cli._owners import add_user_or_root_args, user_or_root
from iamguard.cli._store_args import KEY_HELP, emit, group_parser, open_from_args, say, show_secret_once, verb
from iamguard.store.records import AccessKeyStatus
from iamguard.store.service import IdentityService

__all__ = ["register"]

_EPILOG = KEY_HELP + (
    " rotate-master-key: deploy the new key first as primary and keep the old one, e.g. "
    'IAMGUARD_MASTER_KEY="k2:<new>,default:<old>", run this, then drop the old key.'
)
_SECRET_WARNING = (
    "WARNING: this is the only time the secret access key is shown; store it safely now. "
    "It cannot be retrieved later (create a new key if it is lost)."
)


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "access-key", "manage access keys", __doc__ or "", epilog=_EPILOG)
    p = _verb(verbs, "create", "create an access key (prints the secret once)", _create)
    _owner(p)
    p = _verb(verbs, "list", "list a user's (or the root user's) access keys", _list)
    _owner(p)
    p = _verb(verbs, "update", "activate or deactivate an access key", _update)
    p.add_argument("access_key_id", metavar="ACCESS_KEY_ID")
    p.add_argument("--status", required=True, choices=[s.value for s in AccessKeyStatus])
    p = _verb(verbs, "delete", "delete an access key", _delete)
    p.add_argument("access_key_id", metavar="ACCESS_KEY_ID")
    _verb(verbs, "rotate-master-key", "re-seal every stored secret under the primary master key", _rotate)


def _verb(verbs: Any, name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
    return verb(verbs, name, help_text, func, epilog=_EPILOG)


def _owner(parser: argparse.ArgumentParser) -> None:
    add_user_or_root_args(parser, root_help="the root user (AWS advises against root keys)")


def _create(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    created = service.create_access_key(user_or_root(args))
    _warn_if_dev(service)
    key, secret = created.access_key, created.secret_access_key
    pairs = [("AccessKeyId", key.access_key_id), ("SecretAccessKey", secret), ("Owner", key.owner_arn)]
    data = {"AccessKey": _aws_json.access_key(key, secret)}
    show_secret_once(args, data, pairs, _SECRET_WARNING)
    if args.root:
        print("WARNING: root user access keys are discouraged; use IAM users or roles.", file=sys.stderr)
    return EXIT_OK


def _warn_if_dev(service: IdentityService) -> None:
    if service.secret_box.is_dev:
        print(
            "WARNING: sealed with a DEVELOPMENT master key (IAMGUARD_DEV_MASTER_KEY=1); "
            "set IAMGUARD_MASTER_KEY in production.",
            file=sys.stderr,
        )


def _list(args: argparse.Namespace) -> int:
    keys = open_from_args(args, write=False).list_access_keys(user_or_root(args))
    rows = [(k.access_key_id, k.status, k.create_date, k.last_used_date, k.owner_arn) for k in keys]
    data = {"AccessKeyMetadata": [_aws_json.access_key(k) for k in keys]}
    emit(args, data, ("ACCESS KEY ID", "STATUS", "CREATED", "LAST USED", "OWNER"), rows)
    return EXIT_OK


def _update(args: argparse.Namespace) -> int:
    key = open_from_args(args, write=True).update_access_key(args.access_key_id, args.status)
    say(args, f"access key {key.access_key_id} is now {key.status.value}")  # UpdateAccessKey: nothing
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    open_from_args(args, write=True).delete_access_key(args.access_key_id)
    say(args, f"deleted access key {args.access_key_id}")
    return EXIT_OK


def _rotate(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    changed = service.rotate_master_key()
    primary = service.secret_box.primary
    say(
        args,
        f"re-sealed {changed} secret(s) under master key {primary!r}",
        {"ResealedSecrets": changed, "PrimaryKeyId": primary},  # iamguard's own operation
    )
    return EXIT_OK
