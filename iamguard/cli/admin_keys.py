"""``iamguard access-key ...``: access keys (create, list, update, delete) and master-key rotation.

A new key's secret is printed exactly once, when it is created: the store keeps only a copy
sealed with the deployment master key and can never show it again (as AWS CreateAccessKey).
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import Iam, iam
from iamguard.cli._owners import add_user_or_root_args
from iamguard.cli._store_args import KEY_HELP, emit, group_parser, open_from_args, say, show_secret_once, verb
from iamguard.errors import IAMGuardError
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
    # not an IAM action: the operator with the store and both master keys re-seals its secrets
    verb(
        verbs,
        "rotate-master-key",
        "re-seal every stored secret under the primary master key",
        _rotate,
        epilog=_EPILOG,
        caller=False,
    )


def _verb(verbs: Any, name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
    return verb(verbs, name, help_text, func, epilog=_EPILOG)


def _owner(parser: argparse.ArgumentParser) -> None:
    add_user_or_root_args(parser, root_help="the root user (AWS advises against root keys)")


def _owner_param(args: argparse.Namespace) -> dict[str, str]:
    """``UserName`` for ``--user``; nothing for ``--root``, which only the root user may name (as
    in AWS, where a key without ``UserName`` is the caller's own)."""
    if not args.root:
        return {"UserName": args.user}
    if not iam(args).caller.is_root:
        raise IAMGuardError(
            "only the root user manages the root user's access keys", code="AccessDenied", http_status=403
        )
    return {}


def _create(args: argparse.Namespace) -> int:
    call = iam(args)
    key = call("CreateAccessKey", _owner_param(args))["AccessKey"]
    _warn_if_dev(call.store)
    owner = _owner_arn(call, key.get("UserName"))
    pairs = [
        ("AccessKeyId", key["AccessKeyId"]),
        ("SecretAccessKey", key["SecretAccessKey"]),
        ("Owner", owner),
    ]
    show_secret_once(args, cli_shape({"AccessKey": key}), pairs, _SECRET_WARNING)
    if args.root:
        print("WARNING: root user access keys are discouraged; use IAM users or roles.", file=sys.stderr)
    return EXIT_OK


def _owner_arn(call: Iam, user_name: str | None) -> str:
    if user_name is None:
        return call.store.account().root_arn
    return str(call("GetUser", {"UserName": user_name})["User"]["Arn"])


def _warn_if_dev(service: IdentityService) -> None:
    if service.secret_box.is_dev:
        print(
            "WARNING: sealed with a DEVELOPMENT master key (IAMGUARD_DEV_MASTER_KEY=1); "
            "set IAMGUARD_MASTER_KEY in production.",
            file=sys.stderr,
        )


def _list(args: argparse.Namespace) -> int:
    call = iam(args)
    params = _owner_param(args)
    keys = call.all("ListAccessKeys", params, "AccessKeyMetadata")["AccessKeyMetadata"]
    owner = _owner_arn(call, params.get("UserName"))
    rows = [
        (k["AccessKeyId"], k["Status"], k["CreateDate"], _last_used(call, k["AccessKeyId"]), owner)
        for k in keys
    ]
    emit(
        args,
        cli_shape({"AccessKeyMetadata": keys}),
        ("ACCESS KEY ID", "STATUS", "CREATED", "LAST USED", "OWNER"),
        rows,
    )
    return EXIT_OK


def _last_used(call: Iam, key_id: str) -> object:
    return call("GetAccessKeyLastUsed", {"AccessKeyId": key_id})["AccessKeyLastUsed"].get("LastUsedDate")


def _key_params(args: argparse.Namespace) -> dict[str, Any]:
    """The key's id and, for an IAM user's key, its ``UserName`` (GetAccessKeyLastUsed names
    the owner; the root user's key has none)."""
    call = iam(args)
    owner = call("GetAccessKeyLastUsed", {"AccessKeyId": args.access_key_id}).get("UserName")
    return {"AccessKeyId": args.access_key_id, "UserName": owner}


def _update(args: argparse.Namespace) -> int:
    iam(args)("UpdateAccessKey", {**_key_params(args), "Status": args.status})
    say(args, f"access key {args.access_key_id} is now {args.status}")  # UpdateAccessKey: nothing
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    iam(args)("DeleteAccessKey", _key_params(args))
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
