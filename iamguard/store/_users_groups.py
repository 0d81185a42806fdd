"""IAM users and groups: create, read, rename, delete, tags, boundaries and group membership.

Part of ``store/``. Delete refuses while dependent objects remain (``DeleteConflictError``)
unless ``force`` removes them, as AWS's DeleteUser/DeleteGroup describe.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from iamguard.errors import DeleteConflictError, LimitExceededError, NoSuchEntityError
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _ENTITY_TABLE, _ENTITY_WORD, _key, _key_columns, _tags_json, _ts
from iamguard.store._rules import check_name, check_path, check_tags, new_unique_id
from iamguard.store.protocols import Transaction
from iamguard.store.records import Group, PrincipalKind, User


class _UsersGroups(_Lookups):
    """Users, groups and memberships."""

    # ------------------------------------------------------------ users

    def create_user(
        self,
        name: str,
        *,
        path: str = "/",
        tags: Mapping[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> User:
        check_name(name, "user", 64)
        check_path(path)
        tag_pairs = check_tags(tags, self.quotas.tags_per_entity)
        with self._write() as tx:
            self._require_absent(tx, "users", name, "user")
            self._check_count(tx, "users", self.quotas.users, "users")
            if permissions_boundary is not None:
                self._managed(tx, permissions_boundary)
            tx.insert(
                "users",
                {
                    "name_key": _key(name),
                    "name": name,
                    "user_id": new_unique_id("AIDA"),
                    "path": path,
                    "create_date": _ts(self._now()),
                    "tags": _tags_json(tag_pairs),
                    "boundary_arn": permissions_boundary,
                },
            )
            return self._user(self._row(tx, "users", name, "user"))

    def get_user(self, name: str) -> User:
        with self._read() as tx:
            return self._user(self._row(tx, "users", name, "user"))

    def list_users(self, *, path_prefix: str = "/") -> list[User]:
        with self._read() as tx:
            users = [self._user(r) for r in tx.select("users")]
        return [u for u in users if u.path.startswith(path_prefix)]

    def list_users_page(
        self, *, path_prefix: str = "/", after: str | None = None, limit: int = 100
    ) -> tuple[list[User], bool]:
        """One page of users in case-insensitive name order (IAM ListUsers): at most ``limit``
        whose lower-cased name sorts after ``after``, and whether more follow. Only the page's
        rows become records, so a page of a large account costs little more than its size."""
        with self._read() as tx:
            rows = [
                r
                for r in tx.select("users")
                if str(r["path"]).startswith(path_prefix) and (after is None or str(r["name_key"]) > after)
            ]
        rows.sort(key=lambda r: str(r["name_key"]))
        return [self._user(r) for r in rows[:limit]], len(rows) > limit

    def update_user(self, name: str, *, new_name: str | None = None, new_path: str | None = None) -> User:
        """Rename and/or move a user; keys, groups and policies follow it (AWS UpdateUser)."""
        if new_path is not None:
            check_path(new_path)
        with self._write() as tx:
            row = self._row(tx, "users", name, "user")
            if new_path is not None:
                tx.update("users", {"name_key": row["name_key"]}, {"path": new_path})
            if new_name is not None and new_name != row["name"]:
                check_name(new_name, "user", 64)
                self._rename(tx, PrincipalKind.USER, str(row["name_key"]), new_name)
                name = new_name
            return self._user(self._row(tx, "users", name, "user"))

    def delete_user(self, name: str, *, force: bool = False) -> None:
        """Delete a user; ``DeleteConflictError`` while it still has access keys, a login
        profile, MFA devices, policies or group memberships, unless ``force`` removes them too.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html"""
        with self._write() as tx:
            key = str(self._row(tx, "users", name, "user")["name_key"])
            blockers = {
                "access keys": tx.select("access_keys", {"user_key": key}),
                "a login profile": tx.select("login_profiles", {"user_key": key}),
                "MFA devices": tx.select("mfa_devices", {"user_key": key}),
                "inline policies": tx.select("inline_policies", {"owner_kind": "user", "owner_key": key}),
                "attached policies": tx.select("attachments", {"owner_kind": "user", "owner_key": key}),
                "group memberships": tx.select("group_members", {"user_key": key}),
            }
            in_use = [what for what, rows in blockers.items() if rows]
            if in_use and not force:
                raise DeleteConflictError(f"user {name!r} still has {', '.join(in_use)}")
            tx.delete("access_keys", {"user_key": key})
            tx.delete("login_profiles", {"user_key": key})
            for device in blockers["MFA devices"]:
                tx.update(
                    "mfa_devices",
                    {"serial_number": device["serial_number"]},
                    {"user_key": None, "enable_date": None, "last_used_step": None},
                )
            self._drop_policies(tx, PrincipalKind.USER, key)
            tx.delete("group_members", {"user_key": key})
            tx.delete("users", {"name_key": key})

    def tag_user(self, name: str, tags: Mapping[str, str]) -> User:
        return self._tag(PrincipalKind.USER, name, tags, ())  # type: ignore[return-value]

    def untag_user(self, name: str, keys: Sequence[str]) -> User:
        return self._tag(PrincipalKind.USER, name, {}, keys)  # type: ignore[return-value]

    def put_user_permissions_boundary(self, name: str, policy_arn: str) -> None:
        self._set_boundary(PrincipalKind.USER, name, policy_arn)

    def delete_user_permissions_boundary(self, name: str) -> None:
        self._set_boundary(PrincipalKind.USER, name, None)

    def _rename(self, tx: Transaction, kind: PrincipalKind, old_key: str, new_name: str) -> None:
        table = _ENTITY_TABLE[kind]
        row = tx.get(table, {"name_key": old_key})
        assert row is not None
        new_key = _key(new_name)
        if new_key != old_key:
            self._require_absent(tx, table, new_name, _ENTITY_WORD[kind])
        else:
            tx.update(table, {"name_key": old_key}, {"name": new_name})
            return
        # INVARIANT: the new row exists before children move to it (foreign keys stay valid).
        tx.insert(table, {**row, "name_key": new_key, "name": new_name, "user_id": new_unique_id("TMPX")})
        for child, column in (
            ("group_members", "user_key"),
            ("access_keys", "user_key"),
            ("login_profiles", "user_key"),
            ("mfa_devices", "user_key"),
        ):
            for r in tx.select(child, {column: old_key}):
                key = {k: r[k] for k in _key_columns(child)}
                tx.update(child, key, {column: new_key})
        for child in ("attachments", "inline_policies"):
            for r in tx.select(child, {"owner_kind": kind.value, "owner_key": old_key}):
                tx.delete(child, {k: r[k] for k in _key_columns(child)})
                tx.insert(child, {**r, "owner_key": new_key})
        tx.delete(table, {"name_key": old_key})
        tx.update(table, {"name_key": new_key}, {"user_id": row["user_id"]})

    # ------------------------------------------------------------ groups

    def create_group(self, name: str, *, path: str = "/") -> Group:
        check_name(name, "group", 128)
        check_path(path)
        with self._write() as tx:
            self._require_absent(tx, "groups", name, "group")
            self._check_count(tx, "groups", self.quotas.groups, "groups")
            tx.insert(
                "groups",
                {
                    "name_key": _key(name),
                    "name": name,
                    "group_id": new_unique_id("AGPA"),
                    "path": path,
                    "create_date": _ts(self._now()),
                },
            )
            return self._group(self._row(tx, "groups", name, "group"))

    def get_group(self, name: str) -> Group:
        with self._read() as tx:
            return self._group(self._row(tx, "groups", name, "group"))

    def list_groups(self, *, path_prefix: str = "/") -> list[Group]:
        with self._read() as tx:
            groups = [self._group(r) for r in tx.select("groups")]
        return [g for g in groups if g.path.startswith(path_prefix)]

    def update_group(self, name: str, *, new_name: str | None = None, new_path: str | None = None) -> Group:
        """Rename and/or move a group; members and policies follow it (AWS UpdateGroup).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateGroup.html"""
        if new_path is not None:
            check_path(new_path)
        if new_name is not None:
            check_name(new_name, "group", 128)
        with self._write() as tx:
            row = self._row(tx, "groups", name, "group")
            old_key = str(row["name_key"])
            if new_path is not None:
                tx.update("groups", {"name_key": old_key}, {"path": new_path})
            if new_name is None or new_name == row["name"]:
                return self._group(self._row(tx, "groups", name, "group"))
            new_key = _key(new_name)
            if new_key == old_key:
                tx.update("groups", {"name_key": old_key}, {"name": new_name})
                return self._group(self._row(tx, "groups", new_name, "group"))
            self._require_absent(tx, "groups", new_name, "group")
            current = self._row(tx, "groups", name, "group")
            # INVARIANT: the new row exists before children move to it (foreign keys stay valid).
            tx.insert(
                "groups",
                {**current, "name_key": new_key, "name": new_name, "group_id": new_unique_id("TMPX")},
            )
            for member in tx.select("group_members", {"group_key": old_key}):
                tx.delete("group_members", {"group_key": old_key, "user_key": member["user_key"]})
                tx.insert("group_members", {"group_key": new_key, "user_key": member["user_key"]})
            for child in ("attachments", "inline_policies"):
                for r in tx.select(child, {"owner_kind": PrincipalKind.GROUP.value, "owner_key": old_key}):
                    tx.delete(child, {k: r[k] for k in _key_columns(child)})
                    tx.insert(child, {**r, "owner_key": new_key})
            tx.delete("groups", {"name_key": old_key})
            tx.update("groups", {"name_key": new_key}, {"group_id": current["group_id"]})
            return self._group(self._row(tx, "groups", new_name, "group"))

    def delete_group(self, name: str, *, force: bool = False) -> None:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteGroup.html"""
        with self._write() as tx:
            key = str(self._row(tx, "groups", name, "group")["name_key"])
            in_use = [
                what
                for what, rows in (
                    ("members", tx.select("group_members", {"group_key": key})),
                    (
                        "inline policies",
                        tx.select("inline_policies", {"owner_kind": "group", "owner_key": key}),
                    ),
                    (
                        "attached policies",
                        tx.select("attachments", {"owner_kind": "group", "owner_key": key}),
                    ),
                )
                if rows
            ]
            if in_use and not force:
                raise DeleteConflictError(f"group {name!r} still has {', '.join(in_use)}")
            tx.delete("group_members", {"group_key": key})
            self._drop_policies(tx, PrincipalKind.GROUP, key)
            tx.delete("groups", {"name_key": key})

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        with self._write() as tx:
            group = self._row(tx, "groups", group_name, "group")
            user = self._row(tx, "users", user_name, "user")
            member = {"group_key": group["name_key"], "user_key": user["name_key"]}
            if tx.get("group_members", member) is not None:
                return  # AWS: adding an existing member succeeds and changes nothing
            if tx.count("group_members", {"user_key": user["name_key"]}) >= self.quotas.groups_per_user:
                raise LimitExceededError(
                    f"user {user_name!r} is already in {self.quotas.groups_per_user} groups (GroupsPerUser quota)"
                )
            tx.insert("group_members", member)

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        with self._write() as tx:
            group = self._row(tx, "groups", group_name, "group")
            user = self._row(tx, "users", user_name, "user")
            if not tx.delete("group_members", {"group_key": group["name_key"], "user_key": user["name_key"]}):
                raise NoSuchEntityError(f"user {user_name!r} is not in group {group_name!r}")

    def list_groups_for_user(self, user_name: str) -> list[Group]:
        with self._read() as tx:
            user = self._row(tx, "users", user_name, "user")
            keys = [m["group_key"] for m in tx.select("group_members", {"user_key": user["name_key"]})]
            return [self._group(r) for k in keys if (r := tx.get("groups", {"name_key": k})) is not None]

    def get_group_members(self, group_name: str) -> list[User]:
        with self._read() as tx:
            group = self._row(tx, "groups", group_name, "group")
            keys = [m["user_key"] for m in tx.select("group_members", {"group_key": group["name_key"]})]
            return [self._user(r) for k in keys if (r := tx.get("users", {"name_key": k})) is not None]
