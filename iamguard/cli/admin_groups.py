"""``iamguard group ...``: IAM groups and their members.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
"""

from __future__ import annotations

import argparse
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import iam
from iamguard.cli._principal_verbs import policies_of, register_verbs
from iamguard.cli._store_args import emit, group_parser, say, show, verb
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
    group = iam(args)("CreateGroup", {"GroupName": args.name, "Path": args.path})["Group"]
    say(args, f"created group {group['GroupName']} ({group['Arn']})", cli_shape({"Group": group}))
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    call = iam(args)
    found = call.all("GetGroup", {"GroupName": args.name}, "Users")
    group, users = found["Group"], found["Users"]
    attached, inline = policies_of(call, PrincipalKind.GROUP, group["GroupName"])
    show(
        args,
        cli_shape({"Group": group, "Users": users}),
        [
            ("Name", group["GroupName"]),
            ("ARN", group["Arn"]),
            ("GroupId", group["GroupId"]),
            ("Path", group["Path"]),
            ("Created", group["CreateDate"]),
            ("Members", [u["UserName"] for u in users]),
            ("AttachedPolicies", attached),
            ("InlinePolicies", inline),
        ],
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    groups = iam(args).all("ListGroups", {"PathPrefix": args.path_prefix}, "Groups")["Groups"]
    groups.sort(key=lambda g: g["GroupName"])
    rows = [(g["GroupName"], g["Path"], g["GroupId"], g["CreateDate"]) for g in groups]
    emit(args, cli_shape({"Groups": groups}), ("NAME", "PATH", "GROUP ID", "CREATED"), rows)
    return EXIT_OK


def _add_user(args: argparse.Namespace) -> int:
    iam(args)("AddUserToGroup", {"GroupName": args.name, "UserName": args.user})
    say(args, f"user {args.user} is a member of group {args.name}")
    return EXIT_OK


def _remove_user(args: argparse.Namespace) -> int:
    iam(args)("RemoveUserFromGroup", {"GroupName": args.name, "UserName": args.user})
    say(args, f"removed user {args.user} from group {args.name}")
    return EXIT_OK
