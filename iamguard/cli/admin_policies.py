"""``iamguard policy ...``: managed policies, their versions, attachments and inline policies.

Managed policies are named by ARN (``arn:aws:iam::123456789012:policy/Name``, built-ins
``arn:aws:iam::iamguard:policy/ReadOnlyAccess``) or by bare name (a customer policy's, else a
built-in's: ``ReadOnlyAccess``). iamguard has no AWS managed policies: an
``arn:aws:iam::aws:policy/...`` ARN is refused with the built-in to use instead.
Documents are given as ``FILE``, ``file://FILE``, ``-`` (standard input) or inline JSON.

https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from iamguard.cli import EXIT_OK, _aws_json
from iamguard.cli._owners import add_owner_args, owner_of
from iamguard.cli._store_args import (
    emit,
    group_parser,
    open_from_args,
    parse_tags,
    policy_arn,
    read_document,
    say,
    show,
    verb,
)
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService

__all__ = ["register"]

_DOC = "FILE, file://FILE, - (stdin) or inline JSON"


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "policy", "manage managed and inline policies", __doc__ or "")
    p = verb(verbs, "create", "create a customer managed policy", _create)
    p.add_argument("name")
    p.add_argument("document", metavar="DOCUMENT", help=_DOC)
    p.add_argument("--path", default="/")
    p.add_argument("--description", default="", help="fixed at creation, as in AWS")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    p = verb(verbs, "get", "show a managed policy and its default document", _get)
    p.add_argument("policy", metavar="POLICY", help="ARN or customer policy name")
    p = verb(verbs, "list", "list managed policies", _list)
    p.add_argument("--scope", choices=("all", "local", "built-in"), default="all")
    p.add_argument("--only-attached", action="store_true")
    p = verb(verbs, "delete", "delete a customer managed policy", _delete)
    p.add_argument("policy", metavar="POLICY")
    p.add_argument(
        "--force",
        action="store_true",
        help="also detach it and drop its other versions (AWS refuses without)",
    )
    p = verb(
        verbs,
        "entities",
        "list the users, groups and roles using a policy (attached or as boundary)",
        _entities,
    )
    p.add_argument("policy", metavar="POLICY")
    p.add_argument(
        "--usage",
        choices=("all", "permissions", "boundary"),
        default="all",
        help="attached as a permissions policy, used as a permissions boundary, or both (default)",
    )
    for name, func, word in (("attach", _attach, "attach to"), ("detach", _detach, "detach from")):
        p = verb(verbs, name, f"{word} a user, group or role", func)
        p.add_argument("policy", metavar="POLICY")
        add_owner_args(p, verb=word)
    p = verb(verbs, "attached", "list the managed policies attached to a user, group or role", _attached)
    add_owner_args(p, verb="list for")
    _register_versions(verbs)
    _register_inline(verbs)


def _register_versions(verbs: Any) -> None:
    parser = verbs.add_parser("version", help="managed policy versions (at most 5 per policy)")
    sub = parser.add_subparsers(dest="subverb", metavar="VERB")
    sub.required = True
    p = verb(sub, "create", "add a version", _version_create)
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("document", metavar="DOCUMENT", help=_DOC)
    p.add_argument("--set-default", action="store_true", help="make it the version in force")
    p.add_argument("--expected-revision", type=int, help="refuse if the policy changed since this revision")
    p = verb(sub, "list", "list versions", _version_list)
    p.add_argument("policy", metavar="POLICY")
    for name, help_text, func in (
        ("get", "print one version's document", _version_get),
        ("set-default", "make a version the one in force", _version_set_default),
        ("delete", "delete a non-default version", _version_delete),
    ):
        p = verb(sub, name, help_text, func)
        p.add_argument("policy", metavar="POLICY")
        p.add_argument("version_id", metavar="VERSION_ID")


def _register_inline(verbs: Any) -> None:
    parser = verbs.add_parser("inline", help="inline policies embedded in a user, group or role")
    sub = parser.add_subparsers(dest="subverb", metavar="VERB")
    sub.required = True
    p = verb(sub, "put", "add or replace an inline policy", _inline_put)
    add_owner_args(p, verb="put on")
    p.add_argument("name", metavar="POLICY_NAME")
    p.add_argument("document", metavar="DOCUMENT", help=_DOC)
    p = verb(sub, "get", "print an inline policy", _inline_get)
    add_owner_args(p, verb="read from")
    p.add_argument("name", metavar="POLICY_NAME")
    p = verb(sub, "list", "list inline policy names", _inline_list)
    add_owner_args(p, verb="list for")
    p = verb(sub, "delete", "delete an inline policy", _inline_delete)
    add_owner_args(p, verb="delete from")
    p.add_argument("name", metavar="POLICY_NAME")


# ---------------------------------------------------------------- managed policies


def _create(args: argparse.Namespace) -> int:
    policy = open_from_args(args, write=True).create_policy(
        args.name,
        read_document(args.document),
        path=args.path,
        description=args.description,
        tags=parse_tags(args.tag),
    )
    say(
        args,
        f"created policy {policy.name} ({policy.arn})",
        {"Policy": _aws_json.managed_policy(policy, created=True)},
    )
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    policy = service.get_policy(policy_arn(service, args.policy))
    version = service.get_policy_version(policy.arn, policy.default_version_id)
    document = json.loads(version.document)
    pairs: list[tuple[str, object]] = [
        ("Name", policy.name),
        ("ARN", policy.arn),
        ("PolicyId", policy.policy_id),
        ("Path", policy.path),
        ("Description", policy.description),
        ("DefaultVersion", policy.default_version_id),
        ("AttachmentCount", policy.attachment_count),
        ("BoundaryUsageCount", policy.boundary_usage_count),
        ("BuiltIn", policy.built_in),
        ("Revision", policy.revision),
        ("Updated", policy.update_date),
    ]
    show(args, {"Policy": _aws_json.managed_policy(policy)}, pairs)
    if not args.json:
        print("Document:")
        print(json.dumps(document, indent=2))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    policies = open_from_args(args, write=False).list_policies(
        scope=args.scope, only_attached=args.only_attached
    )
    policies.sort(key=lambda p: (not p.built_in, p.name))
    rows = [(p.name, p.arn, p.default_version_id, p.attachment_count, p.built_in) for p in policies]
    data = {"Policies": [_aws_json.managed_policy(p, listed=True) for p in policies]}
    emit(args, data, ("NAME", "ARN", "DEFAULT", "ATTACHED", "BUILT-IN"), rows)
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    service, arn = _open_policy(args, write=True)
    service.delete_policy(arn, force=args.force)
    say(args, f"deleted policy {arn}")
    return EXIT_OK


def _entities(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    found = _policy_users(service, policy_arn(service, args.policy), args.usage)
    rows = [(kind.value, name, usage) for kind, name, _, usage in found]
    emit(args, _entities_json(found), ("KIND", "NAME", "USED AS"), rows)
    return EXIT_OK


def _policy_users(
    service: IdentityService, arn: str, usage: str
) -> list[tuple[PrincipalKind, str, str, str]]:
    """(kind, name, unique id, how it uses the policy) of each entity using it as ``usage`` asks
    (``ListEntitiesForPolicy``'s ``PolicyUsageFilter``: both uses unless one is named), sorted
    by kind and name."""
    found: dict[tuple[PrincipalKind, str], tuple[PrincipalKind, str, str, str]] = {}
    if usage != "boundary":
        for kind, name in service.list_entities_for_policy(arn):
            found[kind, name] = (kind, name, _unique_id(service, kind, name), "permissions")
    else:
        service.get_policy(arn)  # NoSuchEntity for an unknown policy
    if usage != "permissions":
        for user in service.list_users():
            if user.permissions_boundary == arn:
                found.setdefault(
                    (PrincipalKind.USER, user.name), (PrincipalKind.USER, user.name, user.user_id, "boundary")
                )
        for role in service.list_roles():
            if role.permissions_boundary == arn:
                found.setdefault(
                    (PrincipalKind.ROLE, role.name), (PrincipalKind.ROLE, role.name, role.role_id, "boundary")
                )
    return sorted(found.values(), key=lambda e: (e[0].value, e[1].lower()))


def _unique_id(service: IdentityService, kind: PrincipalKind, name: str) -> str:
    if kind is PrincipalKind.USER:
        return service.get_user(name).user_id
    if kind is PrincipalKind.GROUP:
        return service.get_group(name).group_id
    return service.get_role(name).role_id


def _entities_json(found: list[tuple[PrincipalKind, str, str, str]]) -> dict[str, Any]:
    """``ListEntitiesForPolicy``'s answer: ``PolicyGroups``, ``PolicyUsers``, ``PolicyRoles``,
    each entity by name and unique id.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListEntitiesForPolicy.html"""
    members = {
        PrincipalKind.GROUP: "PolicyGroups",
        PrincipalKind.USER: "PolicyUsers",
        PrincipalKind.ROLE: "PolicyRoles",
    }
    out: dict[str, list[dict[str, str]]] = {member: [] for member in members.values()}
    for kind, name, unique_id, _ in found:
        word = kind.value.capitalize()
        out[members[kind]].append({f"{word}Name": name, f"{word}Id": unique_id})
    return out


def _attach(args: argparse.Namespace) -> int:
    service, kind, name, arn = _attachment(args)
    service.attach_policy(kind, name, arn)
    say(args, f"attached {arn} to {kind.value} {name}")
    return EXIT_OK


def _detach(args: argparse.Namespace) -> int:
    service, kind, name, arn = _attachment(args)
    service.detach_policy(kind, name, arn)
    say(args, f"detached {arn} from {kind.value} {name}")
    return EXIT_OK


def _attachment(args: argparse.Namespace) -> tuple[IdentityService, PrincipalKind, str, str]:
    """The writable store, the ``--user``/``--group``/``--role`` owner and the policy's ARN."""
    service = open_from_args(args, write=True)
    kind, name = owner_of(args)
    return service, kind, name, policy_arn(service, args.policy)


def _open_policy(args: argparse.Namespace, *, write: bool) -> tuple[IdentityService, str]:
    """The store and the ARN of the managed policy ``POLICY`` names (an ARN or a customer policy's name)."""
    service = open_from_args(args, write=write)
    return service, policy_arn(service, args.policy)


def _attached(args: argparse.Namespace) -> int:
    kind, name = owner_of(args)
    policies = open_from_args(args, write=False).list_attached_policies(kind, name)
    rows = [(p.name, p.arn) for p in policies]
    emit(
        args,
        {"AttachedPolicies": [{"PolicyName": p.name, "PolicyArn": p.arn} for p in policies]},
        ("NAME", "ARN"),
        rows,
    )
    return EXIT_OK


# ---------------------------------------------------------------- versions


def _version_create(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    version = service.create_policy_version(
        policy_arn(service, args.policy),
        read_document(args.document),
        set_as_default=args.set_default,
        expected_revision=args.expected_revision,
    )
    default = " (default)" if version.is_default else ""
    data = {"PolicyVersion": _aws_json.policy_version(version, with_document=False)}
    say(args, f"created version {version.version_id}{default} of {version.policy_arn}", data)
    return EXIT_OK


def _version_list(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    versions = service.list_policy_versions(policy_arn(service, args.policy))
    rows = [(v.version_id, v.is_default, v.create_date) for v in versions]
    data = {"Versions": [_aws_json.policy_version(v, with_document=False) for v in versions]}
    emit(args, data, ("VERSION", "DEFAULT", "CREATED"), rows)
    return EXIT_OK


def _version_get(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    version = service.get_policy_version(policy_arn(service, args.policy), args.version_id)
    if args.json:
        emit(args, {"PolicyVersion": _aws_json.policy_version(version)})
    else:
        sys.stdout.write(json.dumps(json.loads(version.document), indent=2) + "\n")
    return EXIT_OK


def _version_set_default(args: argparse.Namespace) -> int:
    service, arn = _open_policy(args, write=True)
    service.set_default_policy_version(arn, args.version_id)
    say(args, f"{args.version_id} is now the default version of {arn}")
    return EXIT_OK


def _version_delete(args: argparse.Namespace) -> int:
    service, arn = _open_policy(args, write=True)
    service.delete_policy_version(arn, args.version_id)
    say(args, f"deleted version {args.version_id} of {arn}")
    return EXIT_OK


# ---------------------------------------------------------------- inline policies


def _inline_put(args: argparse.Namespace) -> int:
    kind, owner = owner_of(args)
    policy = open_from_args(args, write=True).put_inline_policy(
        kind, owner, args.name, read_document(args.document)
    )
    say(args, f"put inline policy {policy.policy_name} on {kind.value} {policy.owner_name}")
    return EXIT_OK


def _inline_get(args: argparse.Namespace) -> int:
    kind, owner = owner_of(args)
    policy = open_from_args(args, write=False).get_inline_policy(kind, owner, args.name)
    if args.json:
        # GetUserPolicy / GetGroupPolicy / GetRolePolicy: the owner under its kind's name member
        owner_member = f"{kind.value.capitalize()}Name"
        data = {
            owner_member: policy.owner_name,
            "PolicyName": policy.policy_name,
            "PolicyDocument": json.loads(policy.document),
        }
        emit(args, data)
    else:
        sys.stdout.write(json.dumps(json.loads(policy.document), indent=2) + "\n")
    return EXIT_OK


def _inline_list(args: argparse.Namespace) -> int:
    kind, owner = owner_of(args)
    names = sorted(open_from_args(args, write=False).list_inline_policies(kind, owner))
    emit(args, {"PolicyNames": names}, ("POLICY NAME",), [(n,) for n in names])
    return EXIT_OK


def _inline_delete(args: argparse.Namespace) -> int:
    kind, owner = owner_of(args)
    open_from_args(args, write=True).delete_inline_policy(kind, owner, args.name)
    say(args, f"deleted inline policy {args.name} from {kind.value} {owner}")
    return EXIT_OK
