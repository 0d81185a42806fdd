"""Stage 2 of the request path: who is calling, as a value.

authenticate → **principal** → resolve policies → evaluate → decide → enforce/audit

A :class:`Principal` is what authentication produces and what evaluation reads: its ARN, account,
type, tags and, for role sessions, the role it came from. ``context_keys()`` gives the global
condition keys AWS derives from the principal (``aws:PrincipalArn``, ``aws:username``, ...).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from iamguard.context import ContextValue
from iamguard.errors import InvalidParameterError

_EMPTY: Mapping[str, str] = MappingProxyType({})


class PrincipalType(str, enum.Enum):
    """Values of ``aws:PrincipalType``."""

    ACCOUNT = "Account"  # the root user
    USER = "User"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``arn`` is the caller's own ARN: ``arn:aws:iam::123456789012:user/alice``,
    ``arn:aws:sts::123456789012:assumed-role/Admin/alice-session``,
    ``arn:aws:iam::123456789012:root``, ``arn:aws:sts::123456789012:federated-user/bob``.
    For a role session ``role_arn`` is the role's ARN, which is what ``aws:PrincipalArn`` holds
    and what a resource policy naming the role matches.
    """

    arn: str
    account: str
    type: PrincipalType
    user_id: str = ""  # AIDA... for users, AROA...:session for role sessions, account id for root
    name: str = ""  # user name (aws:username exists only for IAM users)
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    role_arn: str | None = None
    session_name: str | None = None
    source_identity: str | None = None
    mfa_authenticated: bool = False
    mfa_age_seconds: int | None = None
    token_issue_time: str | None = None  # ISO 8601, for temporary credentials
    org_id: str | None = None
    is_service: bool = False
    #: ``context_keys()`` built once and kept on this object (see :meth:`derived_context`).
    _derived: dict[str, ContextValue] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    @property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: the role's ARN for a role session, else the caller's ARN."""
        return self.role_arn or self.arn

    @classmethod
    def from_arn(cls, arn: str, *, tags: Mapping[str, str] | None = None, user_id: str = "") -> Principal:
        """Build a principal from an ARN alone (simulator input, tests).

        Role-session ARNs ``arn:aws:sts::A:assumed-role/R/S`` get ``role_arn``
        ``arn:aws:iam::A:role/R`` (path unknown, as in AWS's own session ARNs).
        """
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise InvalidParameterError(f"not an ARN: {arn!r}")
        partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
        frozen_tags: Mapping[str, str] = MappingProxyType(dict(tags or {}))
        if service == "iam" and resource == "root":
            return cls(arn, account, PrincipalType.ACCOUNT, user_id=user_id or account, tags=frozen_tags)
        if service == "iam" and resource.startswith("user/"):
            name = resource.rsplit("/", 1)[-1]
            return cls(arn, account, PrincipalType.USER, user_id=user_id, name=name, tags=frozen_tags)
        if service == "sts" and resource.startswith("assumed-role/"):
            _, role_name, session = ([*resource.split("/", 2), "", ""])[:3]
            role_arn = f"arn:{partition}:iam::{account}:role/{role_name}"
            return cls(
                arn,
                account,
                PrincipalType.ASSUMED_ROLE,
                user_id=user_id,
                tags=frozen_tags,
                role_arn=role_arn,
                session_name=session,
            )
        if service == "sts" and resource.startswith("federated-user/"):
            name = resource.split("/", 1)[1]
            return cls(
                arn,
                account,
                PrincipalType.FEDERATED_USER,
                user_id=user_id or f"{account}:{name}",
                tags=frozen_tags,
            )
        if service == "iam" and resource.startswith("role/"):
            # Simulating "as the role" (SimulatePrincipalPolicy on a role ARN).
            return cls(
                arn, account, PrincipalType.ASSUMED_ROLE, user_id=user_id, tags=frozen_tags, role_arn=arn
            )
        raise InvalidParameterError(f"not a principal ARN: {arn!r}")

    def derived_context(self) -> dict[str, ContextValue]:
        """:meth:`context_keys`, built on first call and kept on this Principal.

        Why on the object: the fields it derives from are immutable, so the answer is one per
        object, and a table keyed by ``id()`` beside it would be bounded and refilled (every
        decision over more principals than its bound rebuilt it). INVARIANT: callers never
        mutate the returned dict; :meth:`context_keys` hands out a fresh one.
        """
        found = self._derived
        if found is None:
            found = self.context_keys()
            object.__setattr__(self, "_derived", found)  # idempotent: threads build equal dicts
        return found

    def context_keys(self) -> dict[str, ContextValue]:
        """Global condition keys the principal determines, with lower-cased names."""
        keys: dict[str, ContextValue] = {
            "aws:principalarn": self.principal_arn,
            "aws:principalaccount": self.account,
            "aws:principaltype": self.type.value,
        }
        if self.user_id:
            keys["aws:userid"] = self.user_id
        if self.type is PrincipalType.USER and self.name:
            keys["aws:username"] = self.name
        if self.org_id:
            keys["aws:principalorgid"] = self.org_id
        if self.source_identity:
            keys["aws:sourceidentity"] = self.source_identity
        if self.token_issue_time:
            keys["aws:tokenissuetime"] = self.token_issue_time
        if self.type in (PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER) or self.token_issue_time:
            keys["aws:multifactorauthpresent"] = "true" if self.mfa_authenticated else "false"
        if self.mfa_authenticated and self.mfa_age_seconds is not None:
            keys["aws:multifactorauthage"] = str(self.mfa_age_seconds)
        keys["aws:principalisawsservice"] = "true" if self.is_service else "false"
        for tag_key, tag_value in self.tags.items():
            keys["aws:principaltag/" + tag_key.lower()] = tag_value
        return keys
