"""``iamguard session revoke ROLE``: revoke a role's active sessions, as the IAM console does.

Puts the ``AWSRevokeOlderSessions`` inline policy on the role: every action is denied to
sessions of the role issued before now (or ``--before``); sessions issued later are unaffected.
Every process sharing the store applies it as soon as it sees the write.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import datetime, timezone
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._iam_call import iam
from iamguard.cli._store_args import group_parser, say, verb
from iamguard.errors import InvalidInputError
from iamguard.store._sessions import REVOKE_POLICY_NAME, revoke_older_sessions_policy

__all__ = ["register"]

#: Where AWS keeps service-linked roles, whose sessions cannot be revoked.
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html
_SERVICE_LINKED_PATH = "/aws-service-role/"


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "session", "revoke role sessions", __doc__ or "")
    p = verb(verbs, "revoke", "deny every session of a role issued before now (or --before)", _revoke)
    p.add_argument("role", metavar="ROLE", help="role name")
    p.add_argument(
        "--before",
        type=_timestamp,
        metavar="TIME",
        help="ISO 8601 time with a zone, e.g. 2024-10-10T09:43:48Z (default: now)",
    )


def _timestamp(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone (e.g. a trailing Z for UTC)")
    return when


def _revoke(args: argparse.Namespace) -> int:
    """A ``PutRolePolicy`` of the revocation document, as the console's button makes it (so
    ``iam:PutRolePolicy`` on the role decides who may revoke); the role is read first so that
    a service-linked role is refused, as AWS refuses it."""
    call = iam(args)
    role = call("GetRole", {"RoleName": args.role})["Role"]
    if role["Path"].startswith(_SERVICE_LINKED_PATH):
        raise InvalidInputError(
            f"the sessions of service-linked role {role['RoleName']!r} cannot be revoked",
            code="UnmodifiableEntity",
        )
    before = args.before or _next_millisecond()
    document = json.dumps(revoke_older_sessions_policy(before), separators=(",", ":"))
    params = {"RoleName": role["RoleName"], "PolicyName": REVOKE_POLICY_NAME, "PolicyDocument": document}
    call("PutRolePolicy", params)
    # The console's "Revoke active sessions" is a PutRolePolicy, which answers nothing.
    say(
        args,
        f"revoked sessions of role {role['RoleName']} issued before the time in policy "
        f"{REVOKE_POLICY_NAME}: {document}",
    )
    return EXIT_OK


def _next_millisecond() -> datetime:
    """Now, rounded up to the next millisecond: a session issued in this very instant is
    revoked too (token issue times are whole seconds, at or before the moment of issue)."""
    return datetime.fromtimestamp(math.floor(time.time() * 1000 + 1) / 1000, timezone.utc)
