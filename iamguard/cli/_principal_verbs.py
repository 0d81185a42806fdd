"""The verbs users, groups and roles share (delete, tags, the permissions boundary) and what
``get`` lists.

All three are deleted alike (``DeleteUser``/``DeleteGroup``/``DeleteRole``, refused while anything
is still attached unless ``--force``); users and roles also share the tag and boundary operations
under two names each (``TagUser``/``TagRole``, ``PutUserPermissionsBoundary``/
``PutRolePermissionsBoundary``...), which groups do not have. :func:`register_verbs` adds them for
one kind, so ``iamguard user tag`` and ``iamguard role tag`` cannot drift apart.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Mapping
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._iam_call import Iam, iam, policy_arn
from iamguard.cli._store_args import parse_tags, say, verb
from iamguard.errors import NoSuchEntityError
from iamguard.store.records import PrincipalKind

__all__ = [
    "add_create_options",
    "create_options",
    "dependents",
    "policies_of",
    "register_verbs",
    "tag_params",
]


def _word(kind: PrincipalKind) -> str:
    """``User``/``Group``/``Role``: how AWS's action and parameter names spell the kind."""
    return kind.value.capitalize()


def add_create_options(parser: argparse.ArgumentParser) -> None:
    """``--tag KEY=VALUE`` (repeatable) and ``--boundary POLICY`` on a ``create`` verb."""
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="tag (repeatable)")
    parser.add_argument(
        "--boundary", metavar="POLICY", help="permissions boundary: managed policy ARN or name"
    )


def create_options(call: Iam, args: argparse.Namespace) -> tuple[dict[str, str], str | None]:
    """The ``--tag`` mapping and the ARN ``--boundary`` names (``None`` when it was not given)."""
    boundary = policy_arn(call, args.boundary) if args.boundary else None
    return parse_tags(args.tag), boundary


def tag_params(tags: Mapping[str, str]) -> list[dict[str, str]] | None:
    """AWS's ``Tags`` parameter (``None``, left out, when there are none)."""
    return [{"Key": k, "Value": v} for k, v in tags.items()] or None


def policies_of(call: Iam, kind: PrincipalKind, name: str) -> tuple[list[str], list[str]]:
    """The ARNs of the managed policies attached to a user, group or role, and its inline
    policy names (``ListAttached<Kind>Policies``, ``List<Kind>Policies``)."""
    word, param = _word(kind), {f"{_word(kind)}Name": name}
    attached = call.all(f"ListAttached{word}Policies", param, "AttachedPolicies")["AttachedPolicies"]
    inline = call.all(f"List{word}Policies", param, "PolicyNames")["PolicyNames"]
    return [p["PolicyArn"] for p in attached], list(inline)


def register_verbs(verbs: Any, kind: PrincipalKind, *, force_help: str) -> None:
    """``delete`` (``force_help`` says what ``--force`` also removes), then, for users and roles,
    ``tag``, ``untag``, ``set-boundary`` and ``delete-boundary``."""
    p = verb(verbs, "delete", f"delete a {kind.value}", functools.partial(_delete, kind))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("--force", action="store_true", help=force_help)
    if kind is PrincipalKind.GROUP:
        return  # IAM groups cannot be tagged and take no permissions boundary
    p = verb(verbs, "tag", "add or replace tags", functools.partial(_tag, kind))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("tags", nargs="+", metavar="KEY=VALUE")
    p = verb(verbs, "untag", "remove tags", functools.partial(_untag, kind))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p = verb(verbs, "set-boundary", "set the permissions boundary", functools.partial(_set_boundary, kind))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("policy", metavar="POLICY", help="managed policy ARN or customer policy name")
    p = verb(
        verbs, "delete-boundary", "remove the permissions boundary", functools.partial(_delete_boundary, kind)
    )
    p.add_argument("name", help=f"{kind.value} name")


def _delete(kind: PrincipalKind, args: argparse.Namespace) -> int:
    call = iam(args)
    param = {f"{_word(kind)}Name": args.name}
    # --force: every removal and the delete in one transaction, so a refused step changes nothing
    with call.store.atomic():
        if args.force:
            for action, member_params in dependents(call, kind, args.name):
                for params in member_params:
                    call(action, params)
        call(f"Delete{_word(kind)}", param)
    say(args, f"deleted {kind.value} {args.name}")
    return EXIT_OK


def dependents(call: Iam, kind: PrincipalKind, name: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """The IAM calls that remove what AWS's Delete<Kind> refuses to delete a principal with
    (``--force``), each authorized like any other: its inline and attached policies, a
    user's group memberships, access keys, MFA devices and login profile, a group's members.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_remove.html#id_users_deleting_cli"""
    word, own = _word(kind), {f"{_word(kind)}Name": name}
    attached, inline = policies_of(call, kind, name)
    steps: list[tuple[str, list[dict[str, Any]]]] = [
        (f"Delete{word}Policy", [{**own, "PolicyName": n} for n in inline]),
        (f"Detach{word}Policy", [{**own, "PolicyArn": a} for a in attached]),
    ]
    if kind is PrincipalKind.GROUP:
        members = call.all("GetGroup", own, "Users")["Users"]
        steps.append(("RemoveUserFromGroup", [{**own, "UserName": u["UserName"]} for u in members]))
    if kind is not PrincipalKind.USER:
        return steps
    groups = call.all("ListGroupsForUser", own, "Groups")["Groups"]
    keys = call.all("ListAccessKeys", own, "AccessKeyMetadata")["AccessKeyMetadata"]
    devices = call.all("ListMFADevices", own, "MFADevices")["MFADevices"]
    try:
        profile = [own] if call("GetLoginProfile", own) else []
    except NoSuchEntityError:
        profile = []
    return [
        *steps,
        ("RemoveUserFromGroup", [{**own, "GroupName": g["GroupName"]} for g in groups]),
        ("DeleteAccessKey", [{**own, "AccessKeyId": k["AccessKeyId"]} for k in keys]),
        ("DeactivateMFADevice", [{**own, "SerialNumber": d["SerialNumber"]} for d in devices]),
        ("DeleteLoginProfile", profile),
    ]


def _tag(kind: PrincipalKind, args: argparse.Namespace) -> int:
    call = iam(args)
    word, own = _word(kind), {f"{_word(kind)}Name": args.name}
    call(f"Tag{word}", {**own, "Tags": tag_params(parse_tags(args.tags))})
    listed = call.all(f"List{word}Tags", own, "Tags")["Tags"]
    tags = ", ".join(f"{t['Key']}={t['Value']}" for t in listed)
    say(args, f"tagged {kind.value} {args.name}: {tags}")  # TagUser/TagRole answer nothing
    return EXIT_OK


def _untag(kind: PrincipalKind, args: argparse.Namespace) -> int:
    iam(args)(f"Untag{_word(kind)}", {f"{_word(kind)}Name": args.name, "TagKeys": args.keys})
    say(args, f"untagged {kind.value} {args.name}")
    return EXIT_OK


def _set_boundary(kind: PrincipalKind, args: argparse.Namespace) -> int:
    call = iam(args)
    arn = policy_arn(call, args.policy)
    call(
        f"Put{_word(kind)}PermissionsBoundary", {f"{_word(kind)}Name": args.name, "PermissionsBoundary": arn}
    )
    say(args, f"{kind.value} {args.name} is now bounded by {arn}")
    return EXIT_OK


def _delete_boundary(kind: PrincipalKind, args: argparse.Namespace) -> int:
    iam(args)(f"Delete{_word(kind)}PermissionsBoundary", {f"{_word(kind)}Name": args.name})
    say(args, f"removed the permissions boundary of {kind.value} {args.name}")
    return EXIT_OK
