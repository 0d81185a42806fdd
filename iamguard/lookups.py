"""What the request path asks the store, and the answers it gets back.

Flows (STYLE.md §5) yield these lookups; a driver answers them from a sync or an async
:class:`~iamguard.store.protocols.PolicySource`. They live below ``authn/``, ``resolve.py`` and
``store/`` so that authentication needs neither stage 3 nor the store to ask who owns an access
key: every layer imports this module, and this module imports only ``policy``.
``iamguard.store.records`` and ``iamguard.resolve`` re-export the names they always offered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from iamguard.policy.model import Policy

__all__ = [
    "GET_GENERATION",
    "AccessKey",
    "AccessKeyStatus",
    "GetAccessKey",
    "GetGeneration",
    "ResolvePrincipal",
    "ResolvedPrincipal",
    "Tags",
]

#: Tags as (key, value) pairs in key order; a tuple keeps records hashable and frozen.
Tags = tuple[tuple[str, str], ...]


# ---------------------------------------------------------------- questions


@dataclass(frozen=True, slots=True)
class GetAccessKey:
    """Ask the store for ``PolicySource.get_access_key(access_key_id)``."""

    access_key_id: str


@dataclass(frozen=True, slots=True)
class ResolvePrincipal:
    """Ask the store for ``PolicySource.resolve_principal(arn)``."""

    arn: str


@dataclass(frozen=True, slots=True)
class GetGeneration:
    """Ask the store for its current generation."""


#: The one GetGeneration flows yield (it has no fields: every request asks it, none builds it).
GET_GENERATION = GetGeneration()


# ---------------------------------------------------------------- answers


class AccessKeyStatus(str, enum.Enum):
    """``Active`` keys sign requests; ``Inactive`` keys are kept but refused."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """An access key's metadata. The secret is never part of it (see
    :class:`~iamguard.store.records.AccessKeyCreated`).

    ``user_name`` is ``None`` for the root user's keys.
    """

    access_key_id: str
    user_name: str | None
    status: AccessKeyStatus
    create_date: datetime
    last_used_date: datetime | None = None
    owner_arn: str = ""  # the user's ARN, or the account's root ARN

    @property
    def active(self) -> bool:
        """Whether the key may sign requests (status ``Active``)."""
        return self.status is AccessKeyStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class ResolvedPrincipal:
    """Everything evaluation needs about one stored principal, policies already parsed.

    ``identity`` is in AWS's reading order (own inline, own attached, then each group's inline
    and attached); order never changes a decision but keeps explanations stable. ``boundary`` is
    the parsed permissions boundary or ``None``. ``generation`` is the store generation the
    answer was read at, so a cache keyed on it is invalidated by any later write.
    """

    arn: str
    kind: str  # "user" | "role" | "root"
    name: str
    unique_id: str
    account_id: str
    identity: tuple[Policy, ...]
    boundary: Policy | None
    generation: int
    tags: Tags = ()
    group_names: tuple[str, ...] = ()
