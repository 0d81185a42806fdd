"""``iamguard group ...``: IAM groups and their members.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
"""

from __future__ import annotations

import argparse
from typing import Any

from iamguard.cli import EXIT_OK, _aws_json
from iamguard.cli._principal_verbs import policies_of, register_verbs
from iamguard.cli._store_args import emit, group_parser, open_from_args, say, show, verb
from iamguard.store.records import PrincipalKind

__all__ = ["register"]


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "group", "manage IAM groups and their members")
    p = verb(verbs, "create", "create a group", _create)
    p.add_argument("name", help="group name")
    p.add_argument("--path", default="/", help="path such as /admins/ (default /)")
    p = verb(verbs, "get", "show a group with its members and policies", _get)
    p.add_argument("name", help="group name")
    p = verb(verbs, "list", "list groups", _list)
    p.add_argument("--path-prefix", default="/", help="only those whose path starts with this (default /)")
    register_verbs(
        verbs, PrincipalKind.GROUP, force_help="also remove its members and policies (AWS refuses without)"
    )
    for name, help_text, func in (
        ("add-user", "add a user to a group", _add_user),
        ("remove-user", "remove a user from a group", _remove_user),
    ):
        p = verb(verbs, name, help_text, func)
        p.add_argument("name", metavar="GROUP")
        p.add_argument("user", metavar="USER")


def _create(args: argparse.Namespace) -> int:
    group = open_from_args(args, write=True).create_group(args.name, path=args.path)
    say(args, f"created group {group.name} ({group.arn})", {"Group": _aws_json.group(group)})
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    group = service.get_group(args.name)
    users = service.get_group_members(group.name)
    members = [u.name for u in users]
    attached, inline = policies_of(service, PrincipalKind.GROUP, group.name)
    show(
        args,
        {"Group": _aws_json.group(group), "Users": [_aws_json.user(u, member=True) for u in users]},
        [
            ("Name", group.name),
            ("ARN", group.arn),
            ("GroupId", group.group_id),
            ("Path", group.path),
            ("Created", group.create_date),
            ("Members", members),
            ("AttachedPolicies", attached),
            ("InlinePolicies", inline),
        ],
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    groups = sorted(
        open_from_args(args, write=False).list_groups(path_prefix=args.path_prefix), key=lambda g: g.name
    )
    rows = [(g.name, g.path, g.group_id, g.create_date) for g in groups]
    data = {"Groups": [_aws_json.group(g) for g in groups]}
    emit(args, data, ("NAME", "PATH", "GROUP ID", "CREATED"), rows)
    return EXIT_OK


def _add_user(args: argparse.Namespace) -> int:
    open_from_args(args, write=True).add_user_to_group(args.name, args.user)
    say(args, f"user {args.user} is a member of group {args.name}")
    return EXIT_OK


def _remove_user(args: argparse.Namespace) -> int:
    open_from_args(args, write=True).remove_user_from_group(args.name, args.user)
    say(args, f"removed user {args.user} from group {args.name}")
    return EXIT_OK
