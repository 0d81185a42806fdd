"""Parameter checks of the STS operations: durations, names, session policies, tags, packed size.

Part of ``sts/``. Limits come from botocore's ``sts/2011-06-15/service-2.json`` shapes and the
API reference; a value outside them raises :class:`~iamguard.errors.STSError` with AWS's code
(``ValidationError``, ``MalformedPolicyDocument``, ``InvalidParameterValue``,
``PackedPolicyTooLarge``). Pure functions, no store writes.

Packed policy size
------------------
AWS packs the session policy, the managed policy ARNs and the session tags into one binary blob
with an undocumented limit and reports its use as ``PackedPolicySize`` (a percentage). iamguard's
packing is explicit: ``zlib.compress(level 9)`` of the compact JSON
``[policy, [arns...], [[key, value]...]]``; its size against :data:`PACKED_POLICY_BUDGET`
(2048 bytes, the plaintext limit of one session policy) is the percentage, rounded up. Above 100
the call fails with ``PackedPolicyTooLarge``. A 2048-character policy of real statements packs
to well under the budget; 50 long, incompressible tags do not.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from iamguard.errors import NoSuchEntityError, PolicyError, STSError
from iamguard.sts._errors import constraint, validation
from iamguard.sts._session_policies import parse_session_policy

if TYPE_CHECKING:
    from iamguard.store.records import Role
    from iamguard.sts._protocols import StsStore
    from iamguard.sts._results import Tag

#: Bytes of compressed session policy + ARNs + tags that make 100 % of ``PackedPolicySize``.
PACKED_POLICY_BUDGET = 2048

# Parameter limits from botocore's sts/2011-06-15/service-2.json shapes and the API reference.
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_FEDERATED_NAME = re.compile(r"[\w+=,.@-]{2,32}", re.ASCII)
_TAG_KEY = re.compile(r"[\w\s.:/=+\-@]{1,128}")
_TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]{0,256}")
_POLICY_CHARS = re.compile(r"[\t\n\r\u0020-\u00ff]+")
_MAX_SESSION_POLICY_CHARS = 2048
_MAX_POLICY_ARNS = 10
MAX_TAGS = 50
ROLE_RANGE = (900, 43200)
CHAINED_MAX = 3600
SESSION_TOKEN_RANGE = (900, 129600)
ROOT_SESSION_MAX = 3600
DEFAULT_ROLE_DURATION = 3600
DEFAULT_TOKEN_DURATION = 43200


def check_session_name(name: str, field_name: str = "roleSessionName") -> None:
    if not isinstance(name, str) or _SESSION_NAME.fullmatch(name) is None:
        raise constraint(
            name,
            field_name,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64",
        )


def check_duration(value: int | None, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise constraint(value, "durationSeconds", "Member must be an integer")
    if value < low:
        raise constraint(value, "durationSeconds", f"Member must have value greater than or equal to {low}")
    if value > high:
        raise constraint(value, "durationSeconds", f"Member must have value less than or equal to {high}")
    return value


def check_policy_text(policy: str | None) -> str | None:
    """Session policy: ≤ 2048 characters of the shape's alphabet, then a valid identity policy."""
    if policy is None:
        return None
    if not isinstance(policy, str) or not policy or _POLICY_CHARS.fullmatch(policy) is None:
        raise constraint(
            "<policy>",
            "policy",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        )
    if len(policy) > _MAX_SESSION_POLICY_CHARS:
        raise constraint(
            "<policy>", "policy", f"Member must have length less than or equal to {_MAX_SESSION_POLICY_CHARS}"
        )
    try:
        parse_session_policy(policy)
    except PolicyError as exc:
        raise STSError(
            f"The policy is not in the valid JSON format. ({exc})",
            code="MalformedPolicyDocument",
            http_status=400,
        ) from None
    return policy


def check_policy_arns(arns: Sequence[str], store: StsStore | None) -> tuple[str, ...]:
    """≤ 10 managed policy ARNs, each existing in the store of the session's account."""
    if len(arns) > _MAX_POLICY_ARNS:
        raise constraint(
            "<policyArns>", "policyArns", f"Member must have length less than or equal to {_MAX_POLICY_ARNS}"
        )
    for arn in arns:
        if not isinstance(arn, str) or not arn.startswith("arn:") or ":policy/" not in arn:
            raise STSError(f"Invalid policy ARN: {arn}", code="MalformedPolicyDocument", http_status=400)
        if store is not None:
            try:
                store.get_policy(arn)
            except NoSuchEntityError:
                raise STSError(
                    f"Policy {arn} does not exist or is not attachable.",
                    code="MalformedPolicyDocument",
                    http_status=400,
                ) from None
    return tuple(arns)


def check_tags(tags: Sequence[Tag], transitive: Sequence[str]) -> dict[str, str]:
    """≤ 50 session tags, keys unique regardless of case, transitive keys among them."""
    if len(tags) > MAX_TAGS:
        raise constraint("<tags>", "tags", f"Member must have length less than or equal to {MAX_TAGS}")
    if len(transitive) > MAX_TAGS:
        raise constraint(
            "<transitiveTagKeys>",
            "transitiveTagKeys",
            f"Member must have length less than or equal to {MAX_TAGS}",
        )
    result: dict[str, str] = {}
    seen: set[str] = set()
    for tag in tags:
        if _TAG_KEY.fullmatch(tag.key) is None or tag.key.lower().startswith("aws:"):
            raise constraint(
                tag.key,
                "tags.member.key",
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            )
        if _TAG_VALUE.fullmatch(tag.value) is None:
            raise constraint(
                tag.value,
                "tags.member.value",
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
            )
        if tag.key.lower() in seen:
            raise STSError(
                f"Duplicate tag keys found. Please note that Tag keys are case insensitive: {tag.key}",
                code="InvalidParameterValue",
                http_status=400,
            )
        seen.add(tag.key.lower())
        result[tag.key] = tag.value
    for key in transitive:
        if key.lower() not in seen:
            raise STSError(
                f"The specified transitive tag key must be included in the requested tags: {key}",
                code="InvalidParameterValue",
                http_status=400,
            )
    return result


def packed_policy_size(policy: str | None, policy_arns: Sequence[str], tags: Mapping[str, str]) -> int:
    """``PackedPolicySize`` in percent of :data:`PACKED_POLICY_BUDGET` (see the module docstring)."""
    if policy is None and not policy_arns and not tags:
        return 0
    compact = None if policy is None else json.dumps(json.loads(policy), separators=(",", ":"))
    blob = json.dumps([compact, list(policy_arns), [[k, v] for k, v in tags.items()]], separators=(",", ":"))
    size = len(zlib.compress(blob.encode("utf-8"), 9))
    return math.ceil(100 * size / PACKED_POLICY_BUDGET)


def check_packed(percent: int) -> int:
    if percent > 100:
        raise STSError(
            f"Serialized token too large for session. The session policy, policy ARNs and session tags "
            f"use {percent}% of the allowed packed size.",
            code="PackedPolicyTooLarge",
            http_status=400,
        )
    return percent


def check_federated_name(name: str) -> None:
    """GetFederationToken's ``Name``: 2-32 characters of ``[\\w+=,.@-]``."""
    if not isinstance(name, str) or _FEDERATED_NAME.fullmatch(name) is None:
        raise constraint(
            name,
            "name",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 32",
        )


def check_external_id(external_id: str | None) -> None:
    if external_id is not None and _EXTERNAL_ID.fullmatch(external_id) is None:
        raise constraint(
            external_id, "externalId", "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*"
        )


def check_source_identity(source_identity: str | None) -> None:
    """2-64 characters of ``[\\w+=,.@-]``, not starting with the reserved ``aws:`` prefix."""
    if source_identity is not None and (
        SOURCE_IDENTITY.fullmatch(source_identity) is None or source_identity.lower().startswith("aws:")
    ):
        raise constraint(
            source_identity,
            "sourceIdentity",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        )


def role_duration(duration: int, requested: int | None, role: Role, chained: bool) -> int:
    """Role chaining caps sessions at one hour; otherwise the role's MaxSessionDuration caps them.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining
    """
    if chained:
        if requested is not None and requested > CHAINED_MAX:
            raise validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        return min(duration, CHAINED_MAX)
    if requested is not None and requested > role.max_session_duration:
        raise validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    return min(duration, role.max_session_duration)


def split_role_arn(role_arn: str) -> tuple[str, str, str]:
    """(partition, account, role name) of a role ARN; ValidationError when it is not one."""
    parts = role_arn.split(":", 5) if isinstance(role_arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise constraint(role_arn, "roleArn", "Member must be a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    name = parts[5].rsplit("/", 1)[-1]
    if not parts[4] or not name:
        raise constraint(role_arn, "roleArn", "Member must be a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    return parts[1], parts[4], name
