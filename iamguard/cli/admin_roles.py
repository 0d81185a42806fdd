"""``iamguard role ...``: IAM roles (trust policy, session duration, tags, boundary).

https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from iamguard.cli import EXIT_OK, _aws_json
from iamguard.cli._principal_verbs import add_create_options, create_options, policies_of, register_verbs
from iamguard.cli._store_args import emit, group_parser, open_from_args, read_document, say, show, verb
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
    service = open_from_args(args, write=True)
    tags, boundary = create_options(service, args)
    role = service.create_role(
        args.name,
        read_document(args.trust_policy),
        path=args.path,
        description=args.description,
        max_session_duration=args.max_session_duration,
        tags=tags,
        permissions_boundary=boundary,
    )
    say(args, f"created role {role.name} ({role.arn})", {"Role": _aws_json.role(role)})
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    role = service.get_role(args.name)
    attached, inline = policies_of(service, PrincipalKind.ROLE, role.name)
    pairs: list[tuple[str, object]] = [
        ("Name", role.name),
        ("ARN", role.arn),
        ("RoleId", role.role_id),
        ("Path", role.path),
        ("Created", role.create_date),
        ("Description", role.description),
        ("MaxSessionDuration", role.max_session_duration),
        ("Tags", [f"{k}={v}" for k, v in role.tags]),
        ("PermissionsBoundary", role.permissions_boundary),
        ("AttachedPolicies", attached),
        ("InlinePolicies", inline),
    ]
    show(args, {"Role": _aws_json.role(role)}, pairs)
    if not args.json:
        print("TrustPolicy:")
        print(json.dumps(json.loads(role.assume_role_policy), indent=2))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    roles = sorted(
        open_from_args(args, write=False).list_roles(path_prefix=args.path_prefix), key=lambda r: r.name
    )
    rows = [(r.name, r.path, r.role_id, r.max_session_duration, r.description) for r in roles]
    data = {"Roles": [_aws_json.role(r, listed=True) for r in roles]}
    emit(args, data, ("NAME", "PATH", "ROLE ID", "MAX SESSION", "DESCRIPTION"), rows)
    return EXIT_OK


def _update(args: argparse.Namespace) -> int:
    if args.description is None and args.max_session_duration is None:
        raise InvalidParameterError("nothing to update: pass --description and/or --max-session-duration")
    role = open_from_args(args, write=True).update_role(
        args.name, description=args.description, max_session_duration=args.max_session_duration
    )
    say(args, f"updated role {role.name}")  # UpdateRole answers an empty UpdateRoleResponse
    return EXIT_OK


def _update_trust(args: argparse.Namespace) -> int:
    role = open_from_args(args, write=True).update_assume_role_policy(args.name, read_document(args.document))
    say(args, f"replaced the trust policy of role {role.name}")  # UpdateAssumeRolePolicy: nothing
    return EXIT_OK
