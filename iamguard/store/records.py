"""The identity store's values: what the store hands out, frozen and slotted.

Part of ``store/`` (the identity data behind stage 3, ``resolve.py``); the read path's answers
(:class:`AccessKey`, :class:`ResolvedPrincipal`) live in :mod:`iamguard.lookups`, below ``authn/``,
and are re-exported here. Records are snapshots:
changing an entity goes through :class:`~iamguard.store.service.IdentityService`, which returns a
new record. Secrets never appear in a record except :class:`AccessKeyCreated`, the one-time
view of a new access key (its ``repr`` hides the secret anyway).

Field names follow the IAM API's (``UserName`` → ``name``, ``UserId`` → ``user_id``, ...):
https://docs.aws.amazon.com/IAM/latest/APIReference/API_Types.html
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from iamguard.lookups import AccessKey, AccessKeyStatus, ResolvedPrincipal, Tags
from iamguard.store.passwords import PasswordPolicy

__all__ = [
    "AccessKey",
    "AccessKeyCreated",
    "AccessKeyStatus",
    "Account",
    "Group",
    "InlinePolicy",
    "LoginOutcome",
    "LoginProfile",
    "ManagedPolicy",
    "MfaDevice",
    "MfaDeviceCreated",
    "PasswordPolicy",
    "PolicyVersion",
    "PrincipalKind",
    "ResolvedPrincipal",
    "Role",
    "Tags",
    "User",
]


class PrincipalKind(str, enum.Enum):
    """What a policy can be attached to (and what ``InlinePolicy.owner_kind`` names)."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"


@dataclass(frozen=True, slots=True)
class Account:
    """The AWS account the store holds: its id, alias and password policy.

    ``password_policy`` is ``None`` until ``UpdateAccountPasswordPolicy``; AWS's default policy
    (``PasswordPolicy()``) applies meanwhile.
    """

    account_id: str
    partition: str = "aws"
    alias: str | None = None
    password_policy: PasswordPolicy | None = None

    @property
    def root_arn(self) -> str:
        """The account's root user ARN (``arn:aws:iam::<account>:root``)."""
        return f"arn:{self.partition}:iam::{self.account_id}:root"


@dataclass(frozen=True, slots=True)
class User:
    """An IAM user. ``permissions_boundary`` is the ARN of a managed policy, or ``None``."""

    name: str
    user_id: str
    arn: str
    path: str
    create_date: datetime
    tags: Tags = ()
    permissions_boundary: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """An IAM group: name, unique id, ARN, path and creation time."""

    name: str
    group_id: str
    arn: str
    path: str
    create_date: datetime


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role; ``assume_role_policy`` is the trust policy document as JSON text."""

    name: str
    role_id: str
    arn: str
    path: str
    create_date: datetime
    assume_role_policy: str
    description: str = ""
    max_session_duration: int = 3600
    tags: Tags = ()
    permissions_boundary: str | None = None


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy (customer-managed or built-in) without its documents.

    ``revision`` increases on every change to the policy (new version, default switched,
    version deleted); passing it back as ``expected_revision`` makes a write fail with
    ``ConcurrentModificationError`` if someone else changed the policy meanwhile.
    ``attachment_count`` counts users, groups and roles it is attached to (boundaries excluded,
    as AWS counts them separately in ``PermissionsBoundaryUsageCount``).
    """

    name: str
    policy_id: str
    arn: str
    path: str
    default_version_id: str
    create_date: datetime
    update_date: datetime
    description: str = ""
    attachment_count: int = 0
    boundary_usage_count: int = 0
    revision: int = 1
    built_in: bool = False
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One version (``v1``, ``v2``, ...) of a managed policy; versions never change once made."""

    policy_arn: str
    version_id: str
    document: str
    is_default: bool
    create_date: datetime


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    """A policy embedded in one user, group or role."""

    owner_kind: PrincipalKind
    owner_name: str
    policy_name: str
    document: str


@dataclass(frozen=True, slots=True)
class AccessKeyCreated:
    """The one view of a new access key that includes its secret (``CreateAccessKey``'s answer).

    The store keeps only a sealed copy; the plaintext exists here and nowhere else, so hand it
    to the user and drop this value.
    """

    access_key: AccessKey
    secret_access_key: str = field(repr=False)

    @property
    def access_key_id(self) -> str:
        """The new key's id (its secret is :attr:`secret_access_key`)."""
        return self.access_key.access_key_id


@dataclass(frozen=True, slots=True)
class LoginProfile:
    """A user's console password state; the argon2 hash stays inside the store."""

    user_name: str
    create_date: datetime
    password_reset_required: bool = False
    password_last_changed: datetime | None = None
    failed_attempts: int = 0
    last_failure_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """The answer to one password sign-in attempt.

    ``ok`` is the only field that grants anything. ``locked`` and ``retry_after`` explain a
    refusal caused by :class:`~iamguard.store.passwords.LockoutPolicy`; ``password_expired``
    and ``password_reset_required`` tell the caller to force a password change after an
    ``ok`` sign-in (AWS ``HardExpiry`` turns an expired password into a refusal instead).
    """

    ok: bool
    locked: bool = False
    retry_after: int = 0
    password_expired: bool = False
    password_reset_required: bool = False


@dataclass(frozen=True, slots=True)
class MfaDevice:
    """A virtual MFA device. ``user_name`` is ``None`` while unassigned; ``is_root`` marks the
    root user's device. The seed stays sealed inside the store."""

    serial_number: str
    create_date: datetime
    user_name: str | None = None
    is_root: bool = False
    enable_date: datetime | None = None
    last_used_step: int | None = None

    @property
    def enabled(self) -> bool:
        """Whether the device has been enabled for a user (it has an enable date)."""
        return self.enable_date is not None


@dataclass(frozen=True, slots=True)
class MfaDeviceCreated:
    """``CreateVirtualMFADevice``'s one-time answer: the device plus its base32 seed."""

    device: MfaDevice
    base32_seed: str = field(repr=False)
