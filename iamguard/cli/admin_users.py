"""``iamguard user ...``: IAM users (create, get, list, update, delete, tags, boundary, groups).

Verbs follow the AWS CLI's ``aws iam *-user`` commands:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import Iam, iam
from iamguard.cli._principal_verbs import (
    add_create_options,
    create_options,
    policies_of,
    register_verbs,
    tag_params,
)
from iamguard.cli._store_args import emit, group_parser, say, show, verb
from iamguard.errors import AccessDeniedError, InvalidParameterError, NoSuchEntityError
from iamguard.store.records import PrincipalKind

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
    call = iam(args)
    tags, boundary = create_options(call, args)
    params = {
        "UserName": args.name,
        "Path": args.path,
        "Tags": tag_params(tags),
        "PermissionsBoundary": boundary,
    }
    user = call("CreateUser", params)["User"]
    say(args, f"created user {user['UserName']} ({user['Arn']})", cli_shape({"User": user}))
    # AWS's console warns at creation too: a new user can do nothing until granted something.
    print(
        f"warning: This user has no permissions. Attach a policy or add {user['UserName']} to a group "
        "(iamguard policy attach --user ..., iamguard group add-user ...).",
        file=sys.stderr,
    )
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    call = iam(args)
    user = call("GetUser", {"UserName": args.name})["User"]
    name = user["UserName"]
    groups = [g["GroupName"] for g in call.all("ListGroupsForUser", {"UserName": name}, "Groups")["Groups"]]
    attached, inline = policies_of(call, PrincipalKind.USER, name)
    keys = call.all("ListAccessKeys", {"UserName": name}, "AccessKeyMetadata")["AccessKeyMetadata"]
    mfa = call.all("ListMFADevices", {"UserName": name}, "MFADevices")["MFADevices"]
    try:
        has_password = bool(call("GetLoginProfile", {"UserName": name}))
    except NoSuchEntityError:  # no console password
        has_password = False
    boundary = user.get("PermissionsBoundary") or {}
    show(
        args,
        cli_shape({"User": user}),
        [
            ("Name", name),
            ("ARN", user["Arn"]),
            ("UserId", user["UserId"]),
            ("Path", user["Path"]),
            ("Created", user["CreateDate"]),
            ("Tags", [f"{t['Key']}={t['Value']}" for t in user.get("Tags") or ()]),
            ("PermissionsBoundary", boundary.get("PermissionsBoundaryArn")),
            ("Groups", groups),
            ("AttachedPolicies", attached),
            ("InlinePolicies", inline),
            ("AccessKeys", [f"{k['AccessKeyId']} ({k['Status']})" for k in keys]),
            ("MFADevices", [d["SerialNumber"] for d in mfa]),
            ("ConsolePassword", has_password),
        ],
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    call = iam(args)
    users = call.all("ListUsers", {"PathPrefix": args.path_prefix}, "Users")["Users"]
    users.sort(key=lambda u: u["UserName"])
    emit(args, cli_shape({"Users": users}), _LIST_HEADERS, [_row(call, u) for u in users])
    return EXIT_OK


def _row(call: Iam, user: dict[str, Any]) -> tuple[object, ...]:
    """ListUsers leaves the boundary out, as AWS does; the table asks GetUser for it (``-``
    when the caller may list users but not read this one)."""
    try:
        boundary = call("GetUser", {"UserName": user["UserName"]})["User"].get("PermissionsBoundary")
    except AccessDeniedError:
        boundary = None
    arn = boundary["PermissionsBoundaryArn"] if boundary else None
    return (user["UserName"], user["Path"], user["UserId"], user["CreateDate"], arn)


def _update(args: argparse.Namespace) -> int:
    if args.new_name is None and args.new_path is None:
        raise InvalidParameterError("nothing to update: pass --new-name and/or --new-path")
    call = iam(args)
    call("UpdateUser", {"UserName": args.name, "NewUserName": args.new_name, "NewPath": args.new_path})
    user = call("GetUser", {"UserName": args.new_name or args.name})["User"]
    say(args, f"updated user {user['UserName']} ({user['Arn']})")  # UpdateUser answers nothing
    return EXIT_OK


def _groups(args: argparse.Namespace) -> int:
    groups = iam(args).all("ListGroupsForUser", {"UserName": args.name}, "Groups")["Groups"]
    data = cli_shape({"Groups": groups})
    emit(args, data, ("GROUP", "PATH", "ARN"), [(g["GroupName"], g["Path"], g["Arn"]) for g in groups])
    return EXIT_OK
