"""Customer managed policies and their versions (at most five, one the default), plus listing
the built-in AWS managed policies beside them.

Part of ``store/``. Changes can be guarded by ``expected_revision`` (optimistic concurrency).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iamguard.errors import (
    ConcurrentModificationError,
    DeleteConflictError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
)
from iamguard.store import built_in
from iamguard.store._aws_messages import aws_message
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _dt, _key, _tags, _tags_json, _ts
from iamguard.store._rules import check_description, check_name, check_path, check_tags, new_unique_id
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import ManagedPolicy, PolicyVersion


class _ManagedPolicies(_Lookups):
    """Managed policies and policy versions."""

    def create_policy(
        self,
        name: str,
        document: str | Mapping[str, Any],
        *,
        path: str = "/",
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ManagedPolicy:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html"""
        check_name(name, "policy", 128)
        check_path(path)
        check_description(description)
        tag_pairs = check_tags(tags, self.quotas.tags_per_entity)
        text = self._check_identity_document(document, self.quotas.managed_policy_size, name)
        with self._write() as tx:
            self._require_absent(tx, "policies", name, "policy")
            self._check_count(
                tx, "policies", self.quotas.customer_managed_policies, "customer managed policies"
            )
            now = _ts(self._now())
            tx.insert(
                "policies",
                {
                    "name_key": _key(name),
                    "name": name,
                    "policy_id": new_unique_id("ANPA"),
                    "arn": self._entity_arn("policy", path, name),
                    "path": path,
                    "default_version": "v1",
                    "next_version": 2,
                    "description": description,
                    "create_date": now,
                    "update_date": now,
                    "revision": 1,
                    "tags": _tags_json(tag_pairs),
                },
            )
            tx.insert(
                "policy_versions",
                {"policy_key": _key(name), "version_id": "v1", "document": text, "create_date": now},
            )
            return self._policy_record(tx, self._row(tx, "policies", name, "policy"))

    def get_policy(self, arn: str) -> ManagedPolicy:
        with self._read() as tx:
            return self._managed(tx, arn)

    def list_policies(self, *, scope: str = "all", only_attached: bool = False) -> list[ManagedPolicy]:
        """``scope``: ``"all"``, ``"local"`` (customer managed) or ``"built-in"`` (AWS: Scope)."""
        if scope not in ("all", "local", "built-in"):
            raise InvalidInputError("scope must be 'all', 'local' or 'built-in'")
        with self._read() as tx:
            found: list[ManagedPolicy] = []
            if scope in ("all", "built-in"):
                found += [
                    self._managed(tx, p.arn(self._account.partition))
                    for p in built_in.built_in_policies().values()
                ]
            if scope in ("all", "local"):
                found += [self._policy_record(tx, r) for r in tx.select("policies")]
        return [p for p in found if p.attachment_count or not only_attached]

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        with self._read() as tx:
            for version in self._versions(tx, arn):
                if version.version_id == version_id:
                    return version
        raise NoSuchEntityError(aws_message("no_such_policy_version", arn=arn, version=version_id))

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        with self._read() as tx:
            return self._versions(tx, arn)

    def create_policy_version(
        self,
        arn: str,
        document: str | Mapping[str, Any],
        *,
        set_as_default: bool = False,
        expected_revision: int | None = None,
    ) -> PolicyVersion:
        """A new version (``LimitExceededError`` at 5: delete one first).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html"""
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, expected_revision)
            text = self._check_identity_document(document, self.quotas.managed_policy_size, str(row["name"]))
            key = row["name_key"]
            if tx.count("policy_versions", {"policy_key": key}) >= self.quotas.versions_per_policy:
                raise LimitExceededError(
                    f"policy {arn} already has {self.quotas.versions_per_policy} versions; delete one first"
                )
            version_id = f"v{row['next_version']}"
            now = _ts(self._now())
            tx.insert(
                "policy_versions",
                {"policy_key": key, "version_id": version_id, "document": text, "create_date": now},
            )
            changes: Row = {
                "next_version": int(row["next_version"] or 0) + 1,
                "update_date": now,
                "revision": int(row["revision"] or 0) + 1,
            }
            if set_as_default:
                changes["default_version"] = version_id
            tx.update("policies", {"name_key": key}, changes)
            return next(v for v in self._versions(tx, arn) if v.version_id == version_id)

    def set_default_policy_version(
        self, arn: str, version_id: str, *, expected_revision: int | None = None
    ) -> None:
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, expected_revision)
            if tx.get("policy_versions", {"policy_key": row["name_key"], "version_id": version_id}) is None:
                raise NoSuchEntityError(aws_message("no_such_policy_version", arn=arn, version=version_id))
            tx.update(
                "policies",
                {"name_key": row["name_key"]},
                {
                    "default_version": version_id,
                    "update_date": _ts(self._now()),
                    "revision": int(row["revision"] or 0) + 1,
                },
            )

    def delete_policy_version(
        self, arn: str, version_id: str, *, expected_revision: int | None = None
    ) -> None:
        """Only a non-default version can be deleted.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicyVersion.html"""
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, expected_revision)
            if row["default_version"] == version_id:
                raise DeleteConflictError(
                    f"{version_id} is the default version of {arn}; make another version the default first"
                )
            if not tx.delete("policy_versions", {"policy_key": row["name_key"], "version_id": version_id}):
                raise NoSuchEntityError(aws_message("no_such_policy_version", arn=arn, version=version_id))
            tx.update("policies", {"name_key": row["name_key"]}, {"revision": int(row["revision"] or 0) + 1})

    def delete_policy(self, arn: str, *, force: bool = False) -> None:
        """``DeleteConflictError`` while attached, used as a boundary or holding non-default
        versions, unless ``force`` detaches it and drops them.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html"""
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, None)
            key = row["name_key"]
            users_bounded = tx.select("users", {"boundary_arn": arn})
            roles_bounded = tx.select("roles", {"boundary_arn": arn})
            extra_versions = [
                v
                for v in tx.select("policy_versions", {"policy_key": key})
                if v["version_id"] != row["default_version"]
            ]
            in_use = [
                what
                for what, rows in (
                    ("attachments", tx.select("attachments", {"policy_arn": arn})),
                    ("permissions boundary uses", users_bounded + roles_bounded),
                    ("non-default versions", extra_versions),
                )
                if rows
            ]
            if in_use and not force:
                raise DeleteConflictError(f"policy {arn} still has {', '.join(in_use)}")
            tx.delete("attachments", {"policy_arn": arn})
            for table, rows in (("users", users_bounded), ("roles", roles_bounded)):
                for bounded in rows:
                    tx.update(table, {"name_key": bounded["name_key"]}, {"boundary_arn": None})
            tx.delete("policy_versions", {"policy_key": key})
            tx.delete("policies", {"name_key": key})

    def tag_policy(self, arn: str, tags: Mapping[str, str]) -> ManagedPolicy:
        """Add or overwrite tags of a customer managed policy (AWS TagPolicy)."""
        return self._retag_policy(arn, tags, ())

    def untag_policy(self, arn: str, keys: Sequence[str]) -> ManagedPolicy:
        return self._retag_policy(arn, {}, keys)

    def _retag_policy(self, arn: str, add: Mapping[str, str], remove: Sequence[str]) -> ManagedPolicy:
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, None)
            merged = dict(_tags(row["tags"]))
            merged.update(add)
            for key in remove:
                merged.pop(key, None)
            pairs = check_tags(merged, self.quotas.tags_per_entity)
            tx.update("policies", {"name_key": row["name_key"]}, {"tags": _tags_json(pairs)})
            return self._managed(tx, arn)

    def _customer_policy_row(self, tx: Transaction, arn: str, expected_revision: int | None) -> Row:
        if built_in.get_built_in(arn) is not None:
            raise InvalidInputError(f"built-in policy {arn} cannot be changed", code="InvalidInput")
        rows = tx.select("policies", {"arn": arn})
        if not rows:
            raise NoSuchEntityError(aws_message("no_such_policy", arn=arn))
        row = rows[0]
        if expected_revision is not None and int(row["revision"] or 0) != expected_revision:
            raise ConcurrentModificationError(
                f"policy {arn} changed (revision {row['revision']}, expected {expected_revision}); re-read and retry"
            )
        return row

    def _versions(self, tx: Transaction, arn: str) -> list[PolicyVersion]:
        static = built_in.get_built_in(arn)
        if static is not None and arn == static.arn(self._account.partition):
            return [static.version(self._account.partition)]
        policy = self._managed(tx, arn)
        rows = tx.select("policy_versions", {"policy_key": _key(policy.name)})
        versions = [
            PolicyVersion(
                arn,
                str(r["version_id"]),
                str(r["document"]),
                r["version_id"] == policy.default_version_id,
                _dt(r["create_date"]),
            )
            for r in rows
        ]
        return sorted(versions, key=lambda v: int(v.version_id[1:]))
