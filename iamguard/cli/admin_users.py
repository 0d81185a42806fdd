"""``iamguard user ...``: IAM users (create, get, list, update, delete, tags, boundary, groups).

Verbs follow the AWS CLI's ``aws iam *-user`` commands:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from iamguard.cli import EXIT_OK, _aws_json
from iamguard.cli._principal_verbs import add_create_options, create_options, policies_of, register_verbs
from iamguard.cli._store_args import emit, group_parser, open_from_args, say, show, verb
from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.store.records import PrincipalKind, User

__all__ = ["register"]

_LIST_HEADERS = ("NAME", "PATH", "USER ID", "CREATED", "BOUNDARY")


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "user", "manage IAM users")
    p = verb(verbs, "create", "create a user", _create)
    p.add_argument("name", help="user name")
    p.add_argument("--path", default="/", help="path such as /engineering/ (default /)")
    add_create_options(p)
    p = verb(verbs, "get", "show a user with its groups, policies and credentials", _get)
    p.add_argument("name", help="user name")
    p = verb(verbs, "list", "list users", _list)
    p.add_argument("--path-prefix", default="/", help="only those whose path starts with this (default /)")
    p = verb(verbs, "update", "rename or move a user", _update)
    p.add_argument("name", help="user name")
    p.add_argument("--new-name", help="rename the user (its ARN changes, its unique id does not)")
    p.add_argument("--new-path", help="move the user to this path, such as /ops/")
    register_verbs(
        verbs,
        PrincipalKind.USER,
        force_help="also delete its access keys, login profile, policies and memberships (AWS refuses without)",
    )
    p = verb(verbs, "groups", "list the groups a user belongs to", _groups)
    p.add_argument("name", help="user name")


def _create(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    tags, boundary = create_options(service, args)
    user = service.create_user(args.name, path=args.path, tags=tags, permissions_boundary=boundary)
    say(args, f"created user {user.name} ({user.arn})", {"User": _aws_json.user(user)})
    # AWS's console warns at creation too: a new user can do nothing until granted something.
    print(
        f"warning: This user has no permissions. Attach a policy or add {user.name} to a group "
        "(iamguard policy attach --user ..., iamguard group add-user ...).",
        file=sys.stderr,
    )
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    user = service.get_user(args.name)
    groups = [g.name for g in service.list_groups_for_user(user.name)]
    attached, inline = policies_of(service, PrincipalKind.USER, user.name)
    keys = service.list_access_keys(user.name)
    mfa = [d.serial_number for d in service.list_mfa_devices(user.name)]
    try:
        has_password = bool(service.get_login_profile(user.name))
    except NoSuchEntityError:  # no console password
        has_password = False
    show(
        args,
        {"User": _aws_json.user(user)},
        [
            ("Name", user.name),
            ("ARN", user.arn),
            ("UserId", user.user_id),
            ("Path", user.path),
            ("Created", user.create_date),
            ("Tags", [f"{k}={v}" for k, v in user.tags]),
            ("PermissionsBoundary", user.permissions_boundary),
            ("Groups", groups),
            ("AttachedPolicies", attached),
            ("InlinePolicies", inline),
            ("AccessKeys", [f"{k.access_key_id} ({k.status.value})" for k in keys]),
            ("MFADevices", mfa),
            ("ConsolePassword", has_password),
        ],
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    users = open_from_args(args, write=False).list_users(path_prefix=args.path_prefix)
    users = sorted(users, key=lambda u: u.name)
    emit(
        args,
        {"Users": [_aws_json.user(u, listed=True) for u in users]},
        _LIST_HEADERS,
        [_row(u) for u in users],
    )
    return EXIT_OK


def _row(user: User) -> tuple[object, ...]:
    return (user.name, user.path, user.user_id, user.create_date, user.permissions_boundary)


def _update(args: argparse.Namespace) -> int:
    if args.new_name is None and args.new_path is None:
        raise InvalidParameterError("nothing to update: pass --new-name and/or --new-path")
    user = open_from_args(args, write=True).update_user(
        args.name, new_name=args.new_name, new_path=args.new_path
    )
    say(args, f"updated user {user.name} ({user.arn})")  # UpdateUser answers nothing
    return EXIT_OK


def _groups(args: argparse.Namespace) -> int:
    groups = open_from_args(args, write=False).list_groups_for_user(args.name)
    data = {"Groups": [_aws_json.group(g) for g in groups]}
    emit(args, data, ("GROUP", "PATH", "ARN"), [(g.name, g.path, g.arn) for g in groups])
    return EXIT_OK
