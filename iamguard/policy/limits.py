"""Policy document size limits (AWS quotas), configurable.

AWS counts a policy's size in characters *excluding white space*; each attachment point has its
own quota. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
The presets are AWS's defaults; a deployment with raised quotas builds its own
``PolicyLimits(max_chars=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from iamguard.errors import InvalidParameterError

__all__ = ["PolicyLimits", "policy_size"]

_WHITESPACE = frozenset(" \t\n\r")


def policy_size(text: str) -> int:
    """The size AWS charges against a quota: characters other than white space."""
    return len(text) - sum(text.count(ch) for ch in _WHITESPACE)


@dataclass(frozen=True, slots=True)
class PolicyLimits:
    """The largest policy document accepted, in non-white-space characters."""

    max_chars: int
    name: str = "custom"

    MANAGED: ClassVar[PolicyLimits]
    USER_INLINE: ClassVar[PolicyLimits]
    ROLE_INLINE: ClassVar[PolicyLimits]
    GROUP_INLINE: ClassVar[PolicyLimits]
    TRUST: ClassVar[PolicyLimits]
    SESSION: ClassVar[PolicyLimits]

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise InvalidParameterError("max_chars must be positive")

    def problem(self, size: int) -> str | None:
        """Why a document of ``size`` characters is refused, or ``None`` when it fits."""
        if size <= self.max_chars:
            return None
        return (
            f"policy is {size} characters (white space excluded), more than the {self.max_chars} "
            f"allowed for a {self.name} policy"
        )

    @classmethod
    def presets(cls) -> dict[str, PolicyLimits]:
        """The named AWS defaults, keyed by the CLI spelling (``role-inline``)."""
        return {
            p.name: p
            for p in (cls.MANAGED, cls.USER_INLINE, cls.ROLE_INLINE, cls.GROUP_INLINE, cls.TRUST, cls.SESSION)
        }


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
PolicyLimits.MANAGED = PolicyLimits(6144, "managed")
PolicyLimits.USER_INLINE = PolicyLimits(2048, "user-inline")  # aggregate of a user's inline policies
PolicyLimits.ROLE_INLINE = PolicyLimits(10240, "role-inline")
PolicyLimits.GROUP_INLINE = PolicyLimits(5120, "group-inline")
PolicyLimits.TRUST = PolicyLimits(2048, "trust")  # role trust policy (AssumeRolePolicySizeQuota default)
# The Policy parameter of AssumeRole & co.: "The plaintext that you use for both inline and
# managed session policies can't exceed 2,048 characters."
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
PolicyLimits.SESSION = PolicyLimits(2048, "session")
