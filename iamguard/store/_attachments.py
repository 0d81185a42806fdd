"""Which policies a user, group or role has: managed-policy attachments and inline policies.

Part of ``store/``. Attachments count against a per-entity quota (10 by default); inline
policies of one owner share an aggregate size quota.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iamguard.errors import LimitExceededError, NoSuchEntityError
from iamguard.policy.limits import policy_size
from iamguard.store._aws_messages import aws_message
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _ENTITY_TABLE, _ENTITY_WORD, _key
from iamguard.store._rules import check_name
from iamguard.store.records import InlinePolicy, ManagedPolicy, PrincipalKind


class _PolicyAttachments(_Lookups):
    """Managed-policy attachments and inline policies."""

    # ------------------------------------------------------------ attachments

    def attach_policy(self, kind: PrincipalKind, name: str, policy_arn: str) -> None:
        """Attach a managed policy to a user, group or role (at most 10 each by default)."""
        kind = PrincipalKind(kind)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], name, _ENTITY_WORD[kind])
            self._managed(tx, policy_arn, missing="policy_not_attachable")
            link = {"owner_kind": kind.value, "owner_key": owner["name_key"], "policy_arn": policy_arn}
            if tx.get("attachments", link) is not None:
                return  # attaching twice changes nothing, as in AWS
            attached = tx.count("attachments", {"owner_kind": kind.value, "owner_key": owner["name_key"]})
            if attached >= self.quotas.attached_limit(kind):
                raise LimitExceededError(
                    f"{_ENTITY_WORD[kind]} {name!r} already has {self.quotas.attached_limit(kind)} managed policies attached"
                )
            tx.insert("attachments", link)

    def detach_policy(self, kind: PrincipalKind, name: str, policy_arn: str) -> None:
        kind = PrincipalKind(kind)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], name, _ENTITY_WORD[kind])
            link = {"owner_kind": kind.value, "owner_key": owner["name_key"], "policy_arn": policy_arn}
            if not tx.delete("attachments", link):
                raise NoSuchEntityError(aws_message("no_such_policy", arn=policy_arn))

    def list_attached_policies(self, kind: PrincipalKind, name: str) -> list[ManagedPolicy]:
        kind = PrincipalKind(kind)
        with self._read() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], name, _ENTITY_WORD[kind])
            links = tx.select("attachments", {"owner_kind": kind.value, "owner_key": owner["name_key"]})
            return [self._managed(tx, str(link["policy_arn"])) for link in links]

    def list_entities_for_policy(self, policy_arn: str) -> list[tuple[PrincipalKind, str]]:
        """(kind, name) of every user, group and role the policy is attached to."""
        with self._read() as tx:
            self._managed(tx, policy_arn)
            found = []
            for link in tx.select("attachments", {"policy_arn": policy_arn}):
                kind = PrincipalKind(str(link["owner_kind"]))
                row = tx.get(_ENTITY_TABLE[kind], {"name_key": link["owner_key"]})
                if row is not None:
                    found.append((kind, str(row["name"])))
            return found

    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        self.attach_policy(PrincipalKind.USER, user_name, policy_arn)

    def attach_group_policy(self, group_name: str, policy_arn: str) -> None:
        self.attach_policy(PrincipalKind.GROUP, group_name, policy_arn)

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        self.attach_policy(PrincipalKind.ROLE, role_name, policy_arn)

    # ------------------------------------------------------------ inline policies

    def put_inline_policy(
        self, kind: PrincipalKind, owner_name: str, policy_name: str, document: str | Mapping[str, Any]
    ) -> InlinePolicy:
        """Add or replace an inline policy; the owner's inline policies together must stay
        within its aggregate size quota (user 2048, group 5120, role 10240 characters).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html"""
        kind = PrincipalKind(kind)
        check_name(policy_name, "policy", 128)
        limits = self.quotas.inline_limit(kind)
        text = self._check_identity_document(document, limits, policy_name)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            where = {"owner_kind": kind.value, "owner_key": owner["name_key"]}
            others = [r for r in tx.select("inline_policies", where) if r["name_key"] != _key(policy_name)]
            problem = limits.problem(sum(policy_size(str(r["document"])) for r in others) + policy_size(text))
            if problem:
                raise LimitExceededError(f"inline policies of {_ENTITY_WORD[kind]} {owner_name!r}: {problem}")
            key = {**where, "name_key": _key(policy_name)}
            if tx.get("inline_policies", key) is not None:
                tx.update("inline_policies", key, {"name": policy_name, "document": text})
            else:
                tx.insert("inline_policies", {**key, "name": policy_name, "document": text})
            return InlinePolicy(kind, str(owner["name"]), policy_name, text)

    def get_inline_policy(self, kind: PrincipalKind, owner_name: str, policy_name: str) -> InlinePolicy:
        kind = PrincipalKind(kind)
        with self._read() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            row = tx.get(
                "inline_policies",
                {"owner_kind": kind.value, "owner_key": owner["name_key"], "name_key": _key(policy_name)},
            )
            if row is None:
                word = _ENTITY_WORD[kind]
                raise NoSuchEntityError(aws_message(f"no_such_{word}_policy", name=policy_name))
            return InlinePolicy(kind, str(owner["name"]), str(row["name"]), str(row["document"]))

    def list_inline_policies(self, kind: PrincipalKind, owner_name: str) -> list[str]:
        kind = PrincipalKind(kind)
        with self._read() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            rows = tx.select("inline_policies", {"owner_kind": kind.value, "owner_key": owner["name_key"]})
            return [str(r["name"]) for r in rows]

    def delete_inline_policy(self, kind: PrincipalKind, owner_name: str, policy_name: str) -> None:
        kind = PrincipalKind(kind)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            if not tx.delete(
                "inline_policies",
                {"owner_kind": kind.value, "owner_key": owner["name_key"], "name_key": _key(policy_name)},
            ):
                word = _ENTITY_WORD[kind]
                raise NoSuchEntityError(aws_message(f"no_such_{word}_policy", name=policy_name))
