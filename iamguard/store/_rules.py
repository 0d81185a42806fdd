"""IAM's input rules: name, path, description, tag and account-alias checks, unique ids, quotas.

Part of ``store/``; pure functions and values, no storage. The service runs every check here
before it opens a transaction, so a bad input never reaches a backend.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from iamguard.errors import InvalidInputError, LimitExceededError
from iamguard.policy.limits import PolicyLimits
from iamguard.store.records import PrincipalKind, Tags

#: The account id a new store gets when none is given (AWS's documentation example id).
DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True, slots=True)
class Quotas:
    """IAM quotas, AWS's defaults unless a deployment raises them.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities
    """

    users: int = 5000
    groups: int = 300
    roles: int = 1000
    customer_managed_policies: int = 1500
    groups_per_user: int = 10
    managed_policies_per_user: int = 10
    managed_policies_per_group: int = 10
    managed_policies_per_role: int = 10
    versions_per_policy: int = 5
    access_keys_per_user: int = 2
    mfa_devices_per_user: int = 8
    tags_per_entity: int = 50
    managed_policy_size: PolicyLimits = PolicyLimits.MANAGED
    user_inline_size: PolicyLimits = PolicyLimits.USER_INLINE
    group_inline_size: PolicyLimits = PolicyLimits.GROUP_INLINE
    role_inline_size: PolicyLimits = PolicyLimits.ROLE_INLINE
    trust_policy_size: PolicyLimits = PolicyLimits.TRUST
    #: MaxSessionDuration bounds (seconds), https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
    min_session_duration: int = 3600
    max_session_duration: int = 43200

    def attached_limit(self, kind: PrincipalKind) -> int:
        """How many managed policies a user, group or role may have attached."""
        return {
            PrincipalKind.USER: self.managed_policies_per_user,
            PrincipalKind.GROUP: self.managed_policies_per_group,
            PrincipalKind.ROLE: self.managed_policies_per_role,
        }[kind]

    def inline_limit(self, kind: PrincipalKind) -> PolicyLimits:
        """The size limits of a user's, group's or role's inline policies."""
        return {
            PrincipalKind.USER: self.user_inline_size,
            PrincipalKind.GROUP: self.group_inline_size,
            PrincipalKind.ROLE: self.role_inline_size,
        }[kind]


_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH_CHARS = re.compile(r"[\u0021-\u007E]*")
_DESCRIPTION = re.compile(r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*")
#: CreateAccountAlias pattern, https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html
_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")
_TAG_SYMBOLS = frozenset("_.:/=+-@")
#: Unique ids are a 4-letter type prefix and upper-case base32 characters (AIDA..., AKIA...).
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def check_name(name: object, word: str, max_length: int) -> None:
    """IAM names: 1..max_length of ASCII letters, digits and ``+=,.@_-``."""
    if not isinstance(name, str) or not 1 <= len(name) <= max_length or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{word} name must be 1-{max_length} characters of letters, digits and +=,.@_-",
            code="ValidationError",
        )


def check_path(path: object) -> None:
    """Paths: ``/`` or ``/a/b/``, 1-512 printable ASCII characters."""
    ok = (
        isinstance(path, str)
        and 1 <= len(path) <= 512
        and path.startswith("/")
        and path.endswith("/")
        and "//" not in path
        and _PATH_CHARS.fullmatch(path) is not None
    )
    if not ok:
        raise InvalidInputError(
            "path must be '/' or start and end with '/' (1-512 printable ASCII characters)",
            code="ValidationError",
        )


def check_description(text: object) -> None:
    if not isinstance(text, str) or len(text) > 1000 or not _DESCRIPTION.fullmatch(text):
        raise InvalidInputError(
            "description must be at most 1000 printable characters", code="ValidationError"
        )


def _tag_text_ok(text: str) -> bool:
    return all(c.isalpha() or c.isnumeric() or c.isspace() or c in _TAG_SYMBOLS for c in text)


def check_tags(tags: Mapping[str, str] | None, limit: int) -> Tags:
    """Tags as sorted pairs, after AWS's rules: key 1-128 and value 0-256 characters of letters,
    digits, spaces and ``_.:/=+-@``; keys starting ``aws:`` are reserved; at most ``limit``.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules_creating"""
    pairs = sorted((tags or {}).items())
    if len(pairs) > limit:
        raise LimitExceededError(f"at most {limit} tags per entity")
    for key, value in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not _tag_text_ok(key):
            raise InvalidInputError(f"invalid tag key {key!r}", code="ValidationError")
        if key.lower().startswith("aws:"):
            raise InvalidInputError(
                "tag keys starting with 'aws:' are reserved for AWS", code="ValidationError"
            )
        if not isinstance(value, str) or len(value) > 256 or not _tag_text_ok(value):
            raise InvalidInputError(f"invalid value for tag {key!r}", code="ValidationError")
    return tuple(pairs)


def valid_account_alias(alias: object) -> bool:
    return isinstance(alias, str) and _ALIAS.fullmatch(alias) is not None


def new_unique_id(prefix: str, *, length: int = 17) -> str:
    """``prefix`` + ``length`` random base32 characters: 21 characters for entity ids
    (``AIDA``/``AGPA``/``AROA``/``ANPA``), 20 for access key ids (``AKIA``), as AWS issues them."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
