"""IAM roles: create, read, update (description, session duration, trust policy), delete, tags
and permissions boundaries.

Part of ``store/``; the trust policy is validated as a resource policy within its size quota.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iamguard.errors import DeleteConflictError, InvalidInputError
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _document_text, _key, _tags_json, _ts
from iamguard.store._rules import check_description, check_name, check_path, check_tags, new_unique_id
from iamguard.store.protocols import Row
from iamguard.store.records import PrincipalKind, Role


class _Roles(_Lookups):
    """Roles and their trust policies."""

    def create_role(
        self,
        name: str,
        assume_role_policy: str | Mapping[str, Any],
        *,
        path: str = "/",
        description: str = "",
        max_session_duration: int = 3600,
        tags: Mapping[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> Role:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"""
        check_name(name, "role", 64)
        check_path(path)
        check_description(description)
        self._check_session_duration(max_session_duration)
        tag_pairs = check_tags(tags, self.quotas.tags_per_entity)
        trust = self._check_trust(assume_role_policy)
        with self._write() as tx:
            self._require_absent(tx, "roles", name, "role")
            self._check_count(tx, "roles", self.quotas.roles, "roles")
            if permissions_boundary is not None:
                self._managed(tx, permissions_boundary)
            tx.insert(
                "roles",
                {
                    "name_key": _key(name),
                    "name": name,
                    "role_id": new_unique_id("AROA"),
                    "path": path,
                    "create_date": _ts(self._now()),
                    "trust_policy": trust,
                    "description": description,
                    "max_session_duration": max_session_duration,
                    "tags": _tags_json(tag_pairs),
                    "boundary_arn": permissions_boundary,
                },
            )
            return self._role(self._row(tx, "roles", name, "role"))

    def get_role(self, name: str) -> Role:
        with self._read() as tx:
            return self._role(self._row(tx, "roles", name, "role"))

    def list_roles(self, *, path_prefix: str = "/") -> list[Role]:
        with self._read() as tx:
            roles = [self._role(r) for r in tx.select("roles")]
        return [r for r in roles if r.path.startswith(path_prefix)]

    def update_role(
        self, name: str, *, description: str | None = None, max_session_duration: int | None = None
    ) -> Role:
        changes: Row = {}
        if description is not None:
            check_description(description)
            changes["description"] = description
        if max_session_duration is not None:
            self._check_session_duration(max_session_duration)
            changes["max_session_duration"] = max_session_duration
        with self._write() as tx:
            row = self._row(tx, "roles", name, "role")
            if changes:
                tx.update("roles", {"name_key": row["name_key"]}, changes)
            return self._role(self._row(tx, "roles", name, "role"))

    def update_assume_role_policy(self, name: str, document: str | Mapping[str, Any]) -> Role:
        trust = self._check_trust(document)
        with self._write() as tx:
            row = self._row(tx, "roles", name, "role")
            tx.update("roles", {"name_key": row["name_key"]}, {"trust_policy": trust})
            return self._role(self._row(tx, "roles", name, "role"))

    def delete_role(self, name: str, *, force: bool = False) -> None:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html"""
        with self._write() as tx:
            key = str(self._row(tx, "roles", name, "role")["name_key"])
            in_use = [
                what
                for what, rows in (
                    (
                        "inline policies",
                        tx.select("inline_policies", {"owner_kind": "role", "owner_key": key}),
                    ),
                    ("attached policies", tx.select("attachments", {"owner_kind": "role", "owner_key": key})),
                )
                if rows
            ]
            if in_use and not force:
                raise DeleteConflictError(f"role {name!r} still has {', '.join(in_use)}")
            self._drop_policies(tx, PrincipalKind.ROLE, key)
            tx.delete("roles", {"name_key": key})

    def tag_role(self, name: str, tags: Mapping[str, str]) -> Role:
        return self._tag(PrincipalKind.ROLE, name, tags, ())  # type: ignore[return-value]

    def untag_role(self, name: str, keys: Sequence[str]) -> Role:
        return self._tag(PrincipalKind.ROLE, name, {}, keys)  # type: ignore[return-value]

    def put_role_permissions_boundary(self, name: str, policy_arn: str) -> None:
        self._set_boundary(PrincipalKind.ROLE, name, policy_arn)

    def delete_role_permissions_boundary(self, name: str) -> None:
        self._set_boundary(PrincipalKind.ROLE, name, None)

    def _check_session_duration(self, seconds: int) -> None:
        low, high = self.quotas.min_session_duration, self.quotas.max_session_duration
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
            raise InvalidInputError(f"MaxSessionDuration must be between {low} and {high} seconds")

    def _check_trust(self, document: str | Mapping[str, Any]) -> str:
        text = _document_text(document)
        parse_policy(
            text, name="trust policy", kind=PolicyKind.RESOURCE, limits=self.quotas.trust_policy_size
        )
        return text
