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

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import Iam, iam, policy_arn
from iamguard.cli._owners import add_owner_args, owner_of
from iamguard.cli._principal_verbs import tag_params
from iamguard.cli._store_args import emit, group_parser, parse_tags, read_document, say, show, verb
from iamguard.errors import ConcurrentModificationError
from iamguard.store.built_in import is_built_in_arn
from iamguard.store.records import PrincipalKind

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

_SCOPES = {"all": "All", "local": "Local", "built-in": "AWS"}
_USAGE = {"permissions": "PermissionsPolicy", "boundary": "PermissionsBoundary"}
_ENTITY_MEMBERS = ("PolicyGroups", "PolicyUsers", "PolicyRoles")


def _create(args: argparse.Namespace) -> int:
    params = {
        "PolicyName": args.name,
        "PolicyDocument": read_document(args.document),
        "Path": args.path,
        "Description": args.description or None,
        "Tags": tag_params(parse_tags(args.tag)),
    }
    policy = iam(args)("CreatePolicy", params)["Policy"]
    say(args, f"created policy {policy['PolicyName']} ({policy['Arn']})", cli_shape({"Policy": policy}))
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    call = iam(args)
    arn = policy_arn(call, args.policy)
    policy = call("GetPolicy", {"PolicyArn": arn})["Policy"]
    version = call("GetPolicyVersion", {"PolicyArn": arn, "VersionId": policy["DefaultVersionId"]})
    # iamguard's own fields, not in AWS's Policy shape, from the policy GetPolicy has just read
    record = call.store.get_policy(arn)
    pairs: list[tuple[str, object]] = [
        ("Name", policy["PolicyName"]),
        ("ARN", policy["Arn"]),
        ("PolicyId", policy["PolicyId"]),
        ("Path", policy["Path"]),
        ("Description", policy.get("Description")),
        ("DefaultVersion", policy["DefaultVersionId"]),
        ("AttachmentCount", policy["AttachmentCount"]),
        ("BoundaryUsageCount", policy["PermissionsBoundaryUsageCount"]),
        ("BuiltIn", record.built_in),
        ("Revision", record.revision),
        ("Updated", policy["UpdateDate"]),
    ]
    show(args, cli_shape({"Policy": policy}), pairs)
    if not args.json:
        print("Document:")
        print(json.dumps(cli_shape(version)["PolicyVersion"]["Document"], indent=2))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    params = {"Scope": _SCOPES[args.scope], "OnlyAttached": args.only_attached or None}
    policies = iam(args).all("ListPolicies", params, "Policies")["Policies"]
    policies.sort(key=lambda p: (not is_built_in_arn(p["Arn"]), p["PolicyName"]))
    rows = [
        (p["PolicyName"], p["Arn"], p["DefaultVersionId"], p["AttachmentCount"], is_built_in_arn(p["Arn"]))
        for p in policies
    ]
    emit(args, cli_shape({"Policies": policies}), ("NAME", "ARN", "DEFAULT", "ATTACHED", "BUILT-IN"), rows)
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    call = iam(args)
    arn = policy_arn(call, args.policy)
    with call.store.atomic():  # --force: a refused step changes nothing
        if args.force:
            _detach_everywhere(call, arn)
        call("DeletePolicy", {"PolicyArn": arn})
    say(args, f"deleted policy {arn}")
    return EXIT_OK


def _detach_everywhere(call: Iam, arn: str) -> None:
    """What AWS's DeletePolicy refuses to delete a policy with, removed by the IAM calls AWS
    documents: detached from every user, group and role, its non-default versions deleted.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_manage-delete.html#delete-customer-managed-policy-cli"""
    found = call.all(
        "ListEntitiesForPolicy",
        {"PolicyArn": arn, "PolicyUsageFilter": "PermissionsPolicy"},
        *_ENTITY_MEMBERS,
    )
    for member in _ENTITY_MEMBERS:
        word = member.removeprefix("Policy").removesuffix("s")
        for entity in found[member]:
            call(f"Detach{word}Policy", {f"{word}Name": entity[f"{word}Name"], "PolicyArn": arn})
    versions = call.all("ListPolicyVersions", {"PolicyArn": arn}, "Versions")["Versions"]
    for version in versions:
        if not version["IsDefaultVersion"]:
            call("DeletePolicyVersion", {"PolicyArn": arn, "VersionId": version["VersionId"]})


def _entities(args: argparse.Namespace) -> int:
    """``ListEntitiesForPolicy`` (``--usage`` as its ``PolicyUsageFilter``); the table says how
    each entity uses the policy (attached as a permissions policy first, else as a boundary)."""
    call = iam(args)
    arn = policy_arn(call, args.policy)
    used: dict[tuple[str, str], str] = {}
    for usage, value in _USAGE.items():
        if args.usage in ("all", usage):
            found = call.all(
                "ListEntitiesForPolicy", {"PolicyArn": arn, "PolicyUsageFilter": value}, *_ENTITY_MEMBERS
            )
            for member in _ENTITY_MEMBERS:
                word = member.removeprefix("Policy").removesuffix("s")
                for entity in found[member]:
                    used.setdefault((word.lower(), entity[f"{word}Name"]), usage)
    params = {"PolicyArn": arn, "PolicyUsageFilter": _USAGE.get(args.usage)}
    data = call.all("ListEntitiesForPolicy", params, *_ENTITY_MEMBERS)
    rows = [
        (kind, name, usage)
        for (kind, name), usage in sorted(used.items(), key=lambda e: (e[0][0], e[0][1].lower()))
    ]
    emit(args, {member: data[member] for member in _ENTITY_MEMBERS}, ("KIND", "NAME", "USED AS"), rows)
    return EXIT_OK


def _attach(args: argparse.Namespace) -> int:
    call, kind, name, arn = _attachment(args)
    word = kind.value.capitalize()
    call(f"Attach{word}Policy", {f"{word}Name": name, "PolicyArn": arn})
    say(args, f"attached {arn} to {kind.value} {name}")
    return EXIT_OK


def _detach(args: argparse.Namespace) -> int:
    call, kind, name, arn = _attachment(args)
    word = kind.value.capitalize()
    call(f"Detach{word}Policy", {f"{word}Name": name, "PolicyArn": arn})
    say(args, f"detached {arn} from {kind.value} {name}")
    return EXIT_OK


def _attachment(args: argparse.Namespace) -> tuple[Iam, PrincipalKind, str, str]:
    """The caller, the ``--user``/``--group``/``--role`` owner and the policy's ARN."""
    call = iam(args)
    kind, name = owner_of(args)
    return call, kind, name, policy_arn(call, args.policy)


def _attached(args: argparse.Namespace) -> int:
    kind, name = owner_of(args)
    word = kind.value.capitalize()
    found = iam(args).all(f"ListAttached{word}Policies", {f"{word}Name": name}, "AttachedPolicies")
    policies = found["AttachedPolicies"]
    rows = [(p["PolicyName"], p["PolicyArn"]) for p in policies]
    emit(args, {"AttachedPolicies": policies}, ("NAME", "ARN"), rows)
    return EXIT_OK


# ---------------------------------------------------------------- versions


def _version_create(args: argparse.Namespace) -> int:
    call = iam(args)
    arn = policy_arn(call, args.policy)
    params = {
        "PolicyArn": arn,
        "PolicyDocument": read_document(args.document),
        "SetAsDefault": args.set_default or None,
    }
    with call.store.atomic():  # iamguard's --expected-revision: checked in the change's transaction
        if args.expected_revision is not None:
            _check_revision(call, arn, args.expected_revision)
        version = call("CreatePolicyVersion", params)["PolicyVersion"]
    default = " (default)" if version["IsDefaultVersion"] else ""
    data = cli_shape({"PolicyVersion": version})
    say(args, f"created version {version['VersionId']}{default} of {arn}", data)
    return EXIT_OK


def _check_revision(call: Iam, arn: str, expected: int) -> None:
    revision = call.store.get_policy(arn).revision
    if revision != expected:
        raise ConcurrentModificationError(
            f"policy {arn} changed (revision {revision}, expected {expected}); re-read and retry"
        )


def _version_list(args: argparse.Namespace) -> int:
    call = iam(args)
    versions = call.all("ListPolicyVersions", {"PolicyArn": policy_arn(call, args.policy)}, "Versions")[
        "Versions"
    ]
    rows = [(v["VersionId"], v["IsDefaultVersion"], v["CreateDate"]) for v in versions]
    emit(args, cli_shape({"Versions": versions}), ("VERSION", "DEFAULT", "CREATED"), rows)
    return EXIT_OK


def _version_get(args: argparse.Namespace) -> int:
    call = iam(args)
    params = {"PolicyArn": policy_arn(call, args.policy), "VersionId": args.version_id}
    version = cli_shape(call("GetPolicyVersion", params))
    if args.json:
        emit(args, version)
    else:
        sys.stdout.write(json.dumps(version["PolicyVersion"]["Document"], indent=2) + "\n")
    return EXIT_OK


def _version_set_default(args: argparse.Namespace) -> int:
    call = iam(args)
    arn = policy_arn(call, args.policy)
    call("SetDefaultPolicyVersion", {"PolicyArn": arn, "VersionId": args.version_id})
    say(args, f"{args.version_id} is now the default version of {arn}")
    return EXIT_OK


def _version_delete(args: argparse.Namespace) -> int:
    call = iam(args)
    arn = policy_arn(call, args.policy)
    call("DeletePolicyVersion", {"PolicyArn": arn, "VersionId": args.version_id})
    say(args, f"deleted version {args.version_id} of {arn}")
    return EXIT_OK


# ---------------------------------------------------------------- inline policies


def _inline(args: argparse.Namespace, verb_: str, **params: Any) -> dict[str, Any]:
    """``<verb_><Kind>Policy``/``List<Kind>Policies`` on the ``--user``/``--group``/``--role`` owner."""
    kind, owner = owner_of(args)
    word = kind.value.capitalize()
    action = f"List{word}Policies" if verb_ == "List" else f"{verb_}{word}Policy"
    call = iam(args)
    request = {f"{word}Name": owner, **params}
    return call.all(action, request, "PolicyNames") if verb_ == "List" else call(action, request)


def _inline_put(args: argparse.Namespace) -> int:
    _inline(args, "Put", PolicyName=args.name, PolicyDocument=read_document(args.document))
    kind, owner = owner_of(args)
    say(args, f"put inline policy {args.name} on {kind.value} {owner}")
    return EXIT_OK


def _inline_get(args: argparse.Namespace) -> int:
    policy = cli_shape(_inline(args, "Get", PolicyName=args.name))
    if args.json:
        emit(args, policy)  # GetUserPolicy / GetGroupPolicy / GetRolePolicy as AWS answers
    else:
        sys.stdout.write(json.dumps(policy["PolicyDocument"], indent=2) + "\n")
    return EXIT_OK


def _inline_list(args: argparse.Namespace) -> int:
    names = sorted(_inline(args, "List")["PolicyNames"])
    emit(args, {"PolicyNames": names}, ("POLICY NAME",), [(n,) for n in names])
    return EXIT_OK


def _inline_delete(args: argparse.Namespace) -> int:
    _inline(args, "Delete", PolicyName=args.name)
    kind, owner = owner_of(args)
    say(args, f"deleted inline policy {args.name} from {kind.value} {owner}")
    return EXIT_OK
