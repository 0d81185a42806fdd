"""``iamguard session revoke ROLE``: revoke a role's active sessions, as the IAM console does.

Puts the ``AWSRevokeOlderSessions`` inline policy on the role: every action is denied to
sessions of the role issued before now (or ``--before``); sessions issued later are unaffected.
Every process sharing the store applies it as soon as it sees the write.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import group_parser, open_from_args, say, verb

__all__ = ["register"]


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
    service = open_from_args(args, write=True)
    policy = service.revoke_role_sessions(args.role, before=args.before)
    # The console's "Revoke active sessions" is a PutRolePolicy, which answers nothing.
    say(
        args,
        f"revoked sessions of role {policy.owner_name} issued before the time in policy "
        f"{policy.policy_name}: {policy.document}",
    )
    return EXIT_OK
