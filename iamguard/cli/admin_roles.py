"""``iamguard role ...``: IAM roles (trust policy, session duration, tags, boundary).

https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import iam
from iamguard.cli._principal_verbs import (
    add_create_options,
    create_options,
    policies_of,
    register_verbs,
    tag_params,
)
from iamguard.cli._store_args import emit, group_parser, read_document, say, show, verb
from iamguard.errors import InvalidParameterError
from iamguard.store.records import PrincipalKind

__all__ = ["register"]

_DOC_HELP = "trust policy: FILE, file://FILE, - (stdin) or inline JSON"


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "role", "manage IAM roles")
    p = verb(verbs, "create", "create a role", _create)
    p.add_argument("name", help="role name")
    p.add_argument("--trust-policy", required=True, metavar="DOCUMENT", help=_DOC_HELP)
    p.add_argument("--path", default="/")
    p.add_argument("--description", default="")
    p.add_argument(
        "--max-session-duration", type=int, default=3600, metavar="SECONDS", help="3600-43200 (default 3600)"
    )
    add_create_options(p)
    p = verb(verbs, "get", "show a role with its trust policy and policies", _get)
    p.add_argument("name", help="role name")
    p = verb(verbs, "list", "list roles", _list)
    p.add_argument("--path-prefix", default="/", help="only those whose path starts with this (default /)")
    p = verb(verbs, "update", "change description or maximum session duration", _update)
    p.add_argument("name", help="role name")
    p.add_argument("--description")
    p.add_argument("--max-session-duration", type=int, metavar="SECONDS")
    p = verb(verbs, "update-trust-policy", "replace the trust (assume role) policy", _update_trust)
    p.add_argument("name", help="role name")
    p.add_argument("document", metavar="DOCUMENT", help=_DOC_HELP)
    register_verbs(verbs, PrincipalKind.ROLE, force_help="also drop its policies (AWS refuses without)")


def _create(args: argparse.Namespace) -> int:
    call = iam(args)
    tags, boundary = create_options(call, args)
    params = {
        "RoleName": args.name,
        "AssumeRolePolicyDocument": read_document(args.trust_policy),
        "Path": args.path,
        "Description": args.description or None,
        "MaxSessionDuration": args.max_session_duration,
        "Tags": tag_params(tags),
        "PermissionsBoundary": boundary,
    }
    role = call("CreateRole", params)["Role"]
    say(args, f"created role {role['RoleName']} ({role['Arn']})", cli_shape({"Role": role}))
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    call = iam(args)
    role = call("GetRole", {"RoleName": args.name})["Role"]
    attached, inline = policies_of(call, PrincipalKind.ROLE, role["RoleName"])
    shaped = cli_shape({"Role": role})
    boundary = role.get("PermissionsBoundary") or {}
    pairs: list[tuple[str, object]] = [
        ("Name", role["RoleName"]),
        ("ARN", role["Arn"]),
        ("RoleId", role["RoleId"]),
        ("Path", role["Path"]),
        ("Created", role["CreateDate"]),
        ("Description", role.get("Description")),
        ("MaxSessionDuration", role["MaxSessionDuration"]),
        ("Tags", [f"{t['Key']}={t['Value']}" for t in role.get("Tags") or ()]),
        ("PermissionsBoundary", boundary.get("PermissionsBoundaryArn")),
        ("AttachedPolicies", attached),
        ("InlinePolicies", inline),
    ]
    show(args, shaped, pairs)
    if not args.json:
        print("TrustPolicy:")
        print(json.dumps(shaped["Role"]["AssumeRolePolicyDocument"], indent=2))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    roles = iam(args).all("ListRoles", {"PathPrefix": args.path_prefix}, "Roles")["Roles"]
    roles.sort(key=lambda r: r["RoleName"])
    rows = [
        (r["RoleName"], r["Path"], r["RoleId"], r["MaxSessionDuration"], r.get("Description")) for r in roles
    ]
    emit(args, cli_shape({"Roles": roles}), ("NAME", "PATH", "ROLE ID", "MAX SESSION", "DESCRIPTION"), rows)
    return EXIT_OK


def _update(args: argparse.Namespace) -> int:
    if args.description is None and args.max_session_duration is None:
        raise InvalidParameterError("nothing to update: pass --description and/or --max-session-duration")
    params = {
        "RoleName": args.name,
        "Description": args.description,
        "MaxSessionDuration": args.max_session_duration,
    }
    iam(args)("UpdateRole", params)
    say(args, f"updated role {args.name}")  # UpdateRole answers an empty UpdateRoleResponse
    return EXIT_OK


def _update_trust(args: argparse.Namespace) -> int:
    params = {"RoleName": args.name, "PolicyDocument": read_document(args.document)}
    iam(args)("UpdateAssumeRolePolicy", params)
    say(args, f"replaced the trust policy of role {args.name}")  # UpdateAssumeRolePolicy: nothing
    return EXIT_OK
