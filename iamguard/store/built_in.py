"""Built-in managed policies every store offers, read from ``iamguard/policy/data/*.json``.

Part of ``store/``. They play the part AWS managed policies play: attachable by ARN, not editable
by the store's users, never deleted. Their ARNs use the account field ``iamguard``::

    arn:aws:iam::iamguard:policy/AdministratorAccess

Why that namespace rather than AWS's own ``arn:aws:iam::aws:policy/...``: these documents are
*iamguard's*, not copies of AWS's (AWS's ``ReadOnlyAccess`` lists thousands of real AWS actions;
ours grants ``Get*``/``List*``/``Describe*``-style actions of any service, which is what an app
defining its own actions needs). Borrowing AWS's ARNs would make a policy imported from a real
account silently mean something else here. ``iamguard`` can never be a real account id (those
are 12 digits), so these ARNs cannot collide with customer policies either.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

from iamguard.store.records import ManagedPolicy, PolicyVersion

__all__ = ["BUILT_IN_ACCOUNT", "BuiltInPolicy", "built_in_policies", "get_built_in", "is_built_in_arn"]

BUILT_IN_ACCOUNT = "iamguard"
_VERSION_ID = "v1"
_RELEASED = datetime(2026, 1, 1, tzinfo=timezone.utc)

_DESCRIPTIONS = {
    "AdministratorAccess": "Full access: every action on every resource.",
    "ReadOnlyAccess": "Read-only access: Get*, List*, Describe*, BatchGet*, Head* and View* actions of any service.",
    "IAMUserChangePassword": "Lets an IAM user change their own console password.",
}


@dataclass(frozen=True, slots=True)
class BuiltInPolicy:
    """One built-in policy: its name and document text."""

    name: str
    document: str

    def arn(self, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{BUILT_IN_ACCOUNT}:policy/{self.name}"

    def record(
        self, partition: str = "aws", *, attachment_count: int = 0, boundary_usage_count: int = 0
    ) -> ManagedPolicy:
        return ManagedPolicy(
            name=self.name,
            policy_id="ANPA" + _stable_id(self.name),
            arn=self.arn(partition),
            path="/",
            default_version_id=_VERSION_ID,
            create_date=_RELEASED,
            update_date=_RELEASED,
            description=_DESCRIPTIONS.get(self.name, ""),
            attachment_count=attachment_count,
            boundary_usage_count=boundary_usage_count,
            built_in=True,
        )

    def version(self, partition: str = "aws") -> PolicyVersion:
        return PolicyVersion(self.arn(partition), _VERSION_ID, self.document, True, _RELEASED)


def _stable_id(name: str) -> str:
    """A fixed 17-character id per built-in name (ids of built-ins must not change between runs)."""
    digest = hashlib.sha256(b"iamguard-built-in:" + name.encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:17]


@lru_cache(maxsize=1)
def built_in_policies() -> dict[str, BuiltInPolicy]:
    """Every built-in policy by name, loaded once from the package data."""
    found: dict[str, BuiltInPolicy] = {}
    folder = resources.files("iamguard.policy").joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            text = entry.read_text(encoding="utf-8")
            json.loads(text)  # INVARIANT: shipped documents are valid JSON (tests parse them fully)
            found[entry.name[: -len(".json")]] = BuiltInPolicy(entry.name[: -len(".json")], text)
    return found


def is_built_in_arn(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[4] == BUILT_IN_ACCOUNT


def get_built_in(arn: str) -> BuiltInPolicy | None:
    """The built-in policy named by ``arn`` (any partition, path ``/``), or ``None``."""
    if not is_built_in_arn(arn):
        return None
    resource = arn.split(":", 5)[5]
    if not resource.startswith("policy/") or resource.count("/") != 1:
        return None
    return built_in_policies().get(resource[len("policy/") :])
