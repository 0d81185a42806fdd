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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import open_from_args, parse_tags, policy_arn, say, verb
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService

__all__ = ["add_create_options", "create_options", "policies_of", "register_verbs"]


class _Tagged(Protocol):
    """A user or role record as the tag verbs print it."""

    @property
    def name(self) -> str: ...

    @property
    def tags(self) -> Sequence[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class _PrincipalOps:
    """The store calls behind the shared verbs for one principal kind (``user`` or ``role``)."""

    kind: PrincipalKind
    tag: Callable[[IdentityService, str, Mapping[str, str]], _Tagged]
    untag: Callable[[IdentityService, str, Sequence[str]], _Tagged]
    put_boundary: Callable[[IdentityService, str, str], None]
    delete_boundary: Callable[[IdentityService, str], None]

    @classmethod
    def of(cls, kind: PrincipalKind) -> _PrincipalOps:
        """The calls :class:`IdentityService` names after the kind as AWS does (``tag_user`` for
        ``TagUser``...), looked up once, when the verbs are registered."""

        def call(template: str) -> Any:
            return getattr(IdentityService, template.format(kind=kind.value))

        return cls(
            kind,
            tag=call("tag_{kind}"),
            untag=call("untag_{kind}"),
            put_boundary=call("put_{kind}_permissions_boundary"),
            delete_boundary=call("delete_{kind}_permissions_boundary"),
        )


def add_create_options(parser: argparse.ArgumentParser) -> None:
    """``--tag KEY=VALUE`` (repeatable) and ``--boundary POLICY`` on a ``create`` verb."""
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="tag (repeatable)")
    parser.add_argument(
        "--boundary", metavar="POLICY", help="permissions boundary: managed policy ARN or name"
    )


def create_options(service: IdentityService, args: argparse.Namespace) -> tuple[dict[str, str], str | None]:
    """The ``--tag`` mapping and the ARN ``--boundary`` names (``None`` when it was not given)."""
    boundary = policy_arn(service, args.boundary) if args.boundary else None
    return parse_tags(args.tag), boundary


def policies_of(service: IdentityService, kind: PrincipalKind, name: str) -> tuple[list[str], list[str]]:
    """The ARNs of the managed policies attached to a user, group or role, and its inline policy names."""
    attached = [p.arn for p in service.list_attached_policies(kind, name)]
    return attached, service.list_inline_policies(kind, name)


def register_verbs(verbs: Any, kind: PrincipalKind, *, force_help: str) -> None:
    """``delete`` (``force_help`` says what ``--force`` also removes), then, for users and roles,
    ``tag``, ``untag``, ``set-boundary`` and ``delete-boundary``."""
    delete: Callable[..., None] = getattr(IdentityService, f"delete_{kind.value}")
    p = verb(verbs, "delete", f"delete a {kind.value}", functools.partial(_delete, kind, delete))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("--force", action="store_true", help=force_help)
    if kind is PrincipalKind.GROUP:
        return  # IAM groups cannot be tagged and take no permissions boundary
    ops = _PrincipalOps.of(kind)
    p = verb(verbs, "tag", "add or replace tags", functools.partial(_tag, ops))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("tags", nargs="+", metavar="KEY=VALUE")
    p = verb(verbs, "untag", "remove tags", functools.partial(_untag, ops))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p = verb(verbs, "set-boundary", "set the permissions boundary", functools.partial(_set_boundary, ops))
    p.add_argument("name", help=f"{kind.value} name")
    p.add_argument("policy", metavar="POLICY", help="managed policy ARN or customer policy name")
    p = verb(
        verbs, "delete-boundary", "remove the permissions boundary", functools.partial(_delete_boundary, ops)
    )
    p.add_argument("name", help=f"{kind.value} name")


def _delete(kind: PrincipalKind, delete: Callable[..., None], args: argparse.Namespace) -> int:
    delete(open_from_args(args, write=True), args.name, force=args.force)
    say(args, f"deleted {kind.value} {args.name}")
    return EXIT_OK


def _tag(ops: _PrincipalOps, args: argparse.Namespace) -> int:
    record = ops.tag(open_from_args(args, write=True), args.name, parse_tags(args.tags))
    tags = ", ".join(f"{k}={v}" for k, v in record.tags)
    say(args, f"tagged {ops.kind.value} {record.name}: {tags}")  # TagUser/TagRole answer nothing
    return EXIT_OK


def _untag(ops: _PrincipalOps, args: argparse.Namespace) -> int:
    record = ops.untag(open_from_args(args, write=True), args.name, args.keys)
    say(args, f"untagged {ops.kind.value} {record.name}")
    return EXIT_OK


def _set_boundary(ops: _PrincipalOps, args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    arn = policy_arn(service, args.policy)
    ops.put_boundary(service, args.name, arn)
    say(args, f"{ops.kind.value} {args.name} is now bounded by {arn}")
    return EXIT_OK


def _delete_boundary(ops: _PrincipalOps, args: argparse.Namespace) -> int:
    ops.delete_boundary(open_from_args(args, write=True), args.name)
    say(args, f"removed the permissions boundary of {ops.kind.value} {args.name}")
    return EXIT_OK
