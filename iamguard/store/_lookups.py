"""Helpers the IAM areas share: finding rows by name, building records from rows, and the
tag, boundary and policy-drop steps users and roles have in common.

Part of ``store/``; every method runs inside a transaction its caller opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iamguard.errors import EntityAlreadyExistsError, LimitExceededError, NoSuchEntityError
from iamguard.policy.limits import PolicyLimits
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store import built_in
from iamguard.store._aws_messages import MESSAGES, aws_message
from iamguard.store._base import _Base
from iamguard.store._rows import (
    _ENTITY_TABLE,
    _ENTITY_WORD,
    _document_text,
    _dt,
    _key,
    _opt_dt,
    _tags,
    _tags_json,
)
from iamguard.store._rules import check_tags
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import AccessKey, AccessKeyStatus, Group, ManagedPolicy, PrincipalKind, Role, User


class _Lookups(_Base):
    """Row lookups and row-to-record conversions for the IAM-area mixins."""

    def _row(self, tx: Transaction, table: str, name: str, word: str) -> Row:
        row = tx.get(table, {"name_key": _key(name)}) if isinstance(name, str) else None
        if row is None:
            key = f"no_such_{word}"
            if key in MESSAGES:
                raise NoSuchEntityError(aws_message(key, name=name))
            raise NoSuchEntityError(f"the {word} with name {name!r} cannot be found")
        return row

    def _require_absent(self, tx: Transaction, table: str, name: str, word: str) -> None:
        if tx.get(table, {"name_key": _key(name)}) is not None:
            # AWS's text; names are unique ignoring case, as in AWS
            key = f"{word}_exists"
            if key in MESSAGES:
                raise EntityAlreadyExistsError(aws_message(key, name=name))
            raise EntityAlreadyExistsError(f"a {word} named {name!r} already exists (names ignore case)")

    def _check_count(self, tx: Transaction, table: str, limit: int, what: str) -> None:
        if tx.count(table) >= limit:
            raise LimitExceededError(f"the account already has {limit} {what}")

    def _managed(self, tx: Transaction, arn: str, *, missing: str = "no_such_policy") -> ManagedPolicy:
        """The managed policy named by ``arn`` (built-in or customer); ``NoSuchEntityError`` with
        AWS's text ``missing`` (a key of :data:`~iamguard.store._aws_messages.MESSAGES`)."""
        static = built_in.get_built_in(arn)
        if static is not None and arn == static.arn(self._account.partition):
            attached = tx.count("attachments", {"policy_arn": arn})
            bounded = tx.count("users", {"boundary_arn": arn}) + tx.count("roles", {"boundary_arn": arn})
            return static.record(
                self._account.partition, attachment_count=attached, boundary_usage_count=bounded
            )
        rows = tx.select("policies", {"arn": arn}) if isinstance(arn, str) else []
        if not rows:
            raise NoSuchEntityError(aws_message(missing, arn=arn))
        return self._policy_record(tx, rows[0])

    def _policy_record(self, tx: Transaction, row: Row) -> ManagedPolicy:
        arn = str(row["arn"])
        bounded = tx.count("users", {"boundary_arn": arn}) + tx.count("roles", {"boundary_arn": arn})
        return ManagedPolicy(
            name=str(row["name"]),
            policy_id=str(row["policy_id"]),
            arn=arn,
            path=str(row["path"]),
            default_version_id=str(row["default_version"]),
            create_date=_dt(row["create_date"]),
            update_date=_dt(row["update_date"]),
            description=str(row["description"]),
            attachment_count=tx.count("attachments", {"policy_arn": arn}),
            boundary_usage_count=bounded,
            revision=int(row["revision"] or 0),
            tags=_tags(row["tags"]),
        )

    def _user(self, row: Row) -> User:
        return User(
            name=str(row["name"]),
            user_id=str(row["user_id"]),
            arn=self._entity_arn("user", str(row["path"]), str(row["name"])),
            path=str(row["path"]),
            create_date=_dt(row["create_date"]),
            tags=_tags(row["tags"]),
            permissions_boundary=None if row["boundary_arn"] is None else str(row["boundary_arn"]),
        )

    def _group(self, row: Row) -> Group:
        return Group(
            name=str(row["name"]),
            group_id=str(row["group_id"]),
            arn=self._entity_arn("group", str(row["path"]), str(row["name"])),
            path=str(row["path"]),
            create_date=_dt(row["create_date"]),
        )

    def _role(self, row: Row) -> Role:
        return Role(
            name=str(row["name"]),
            role_id=str(row["role_id"]),
            arn=self._entity_arn("role", str(row["path"]), str(row["name"])),
            path=str(row["path"]),
            create_date=_dt(row["create_date"]),
            assume_role_policy=str(row["trust_policy"]),
            description=str(row["description"]),
            max_session_duration=int(row["max_session_duration"] or 0),
            tags=_tags(row["tags"]),
            permissions_boundary=None if row["boundary_arn"] is None else str(row["boundary_arn"]),
        )

    def _access_key(self, tx: Transaction, row: Row) -> AccessKey:
        user = None if row["user_key"] is None else tx.get("users", {"name_key": row["user_key"]})
        return AccessKey(
            access_key_id=str(row["access_key_id"]),
            user_name=None if user is None else str(user["name"]),
            status=AccessKeyStatus(str(row["status"])),
            create_date=_dt(row["create_date"]),
            last_used_date=_opt_dt(row["last_used_date"]),
            owner_arn=self._account.root_arn if user is None else self._user(user).arn,
        )

    def _check_identity_document(
        self, document: str | Mapping[str, Any], limits: PolicyLimits, name: str
    ) -> str:
        text = _document_text(document)
        parse_policy(text, name=name, kind=PolicyKind.IDENTITY, limits=limits)
        return text

    # ------------------------------------------------------------ steps users, groups and roles share

    def _drop_policies(self, tx: Transaction, kind: PrincipalKind, key: str) -> None:
        tx.delete("inline_policies", {"owner_kind": kind.value, "owner_key": key})
        tx.delete("attachments", {"owner_kind": kind.value, "owner_key": key})

    def _tag(
        self, kind: PrincipalKind, name: str, add: Mapping[str, str], remove: Sequence[str]
    ) -> User | Role:
        table = _ENTITY_TABLE[kind]
        with self._write() as tx:
            row = self._row(tx, table, name, _ENTITY_WORD[kind])
            merged = dict(_tags(row["tags"]))
            merged.update(add)
            for key in remove:
                merged.pop(key, None)
            pairs = check_tags(merged, self.quotas.tags_per_entity)
            tx.update(table, {"name_key": row["name_key"]}, {"tags": _tags_json(pairs)})
            fresh = self._row(tx, table, name, _ENTITY_WORD[kind])
            return self._user(fresh) if kind is PrincipalKind.USER else self._role(fresh)

    def _set_boundary(self, kind: PrincipalKind, name: str, policy_arn: str | None) -> None:
        """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
        table = _ENTITY_TABLE[kind]
        with self._write() as tx:
            row = self._row(tx, table, name, _ENTITY_WORD[kind])
            if policy_arn is not None:
                self._managed(tx, policy_arn)
            elif row["boundary_arn"] is None:
                raise NoSuchEntityError(f"{_ENTITY_WORD[kind]} {name!r} has no permissions boundary")
            tx.update(table, {"name_key": row["name_key"]}, {"boundary_arn": policy_arn})
