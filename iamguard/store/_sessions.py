"""Revoking a role's temporary credentials: AWS's ``AWSRevokeOlderSessions`` inline policy.

Part of ``store/``. AWS revokes role sessions by putting an inline policy on the role that denies
every action to sessions whose ``aws:TokenIssueTime`` is before the revocation time; sessions
issued later are unaffected, and revoking again replaces the policy with the newer time.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html

Because it is an ordinary inline policy written in one store transaction, every process sharing
the store denies the older sessions as soon as it sees the new generation: no separate
revocation list to keep in step.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from iamguard.errors import InvalidInputError
from iamguard.store._attachments import _PolicyAttachments
from iamguard.store.records import InlinePolicy, PrincipalKind

__all__ = ["REVOKE_POLICY_NAME", "revoke_older_sessions_policy"]

#: The inline policy's name, as the IAM console writes it.
REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"
_SERVICE_LINKED_PATH = "/aws-service-role/"


def revoke_older_sessions_policy(before: datetime) -> dict[str, object]:
    """The policy document: deny ``*`` on ``*`` when ``aws:TokenIssueTime`` < ``before`` (the
    shape the AWS page shows, with the console's millisecond timestamp)."""
    when = before.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": when}},
        },
    }


class _RoleSessions(_PolicyAttachments):
    """``revoke_role_sessions``."""

    def revoke_role_sessions(self, role_name: str, *, before: datetime | None = None) -> InlinePolicy:
        """Deny every session of ``role_name`` issued before ``before`` (default: now).

        The default time is the next millisecond after now, so a session issued in this very
        instant is revoked too (token issue times are whole seconds, at or before the moment of
        issue). AWS refuses to revoke a service-linked role's sessions; so does this.
        """
        if before is None:
            before = datetime.fromtimestamp(math.floor(self._clock() * 1000 + 1) / 1000, timezone.utc)
        elif before.tzinfo is None:
            raise InvalidInputError("the revocation time needs a time zone (UTC)")
        document = revoke_older_sessions_policy(before)
        with self._write() as tx:  # one transaction: the role read and the policy written
            role = self._role(self._row(tx, "roles", role_name, "role"))
            if role.path.startswith(_SERVICE_LINKED_PATH):
                raise InvalidInputError(
                    f"the sessions of service-linked role {role.name!r} cannot be revoked",
                    code="UnmodifiableEntity",
                )
            return self.put_inline_policy(PrincipalKind.ROLE, role.name, REVOKE_POLICY_NAME, document)
