"""The hot read path: the :class:`~iamguard.store.protocols.PolicySource` half of the service.

Part of ``store/``, stage 3 of the request path (``resolve.py`` calls it): ``resolve_principal``
turns an ARN into the user, role or root with every policy parsed, ``get_access_key`` serves
signature verification, and ``generation`` keys the caches. Parsed policies are cached per
(policy id, version), resolved principals per ARN until the store generation moves.
"""

from __future__ import annotations

import hashlib

from iamguard.errors import NoSuchEntityError
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store import built_in
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _key, _tags
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import AccessKey, PrincipalKind, ResolvedPrincipal


class _ReadPath(_Lookups):
    """``generation``, ``resolve_principal``, ``parsed`` and ``get_access_key``."""

    def generation(self) -> int:
        return self.backend.generation()

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None:
        """The user, role or root named by ``arn`` with every policy parsed; ``None`` if unknown.

        Role ARNs without a path (``role/Name``, as STS session ARNs name them) match the role
        whatever its path; user and role ARNs with a path must match it exactly, and names are
        compared case-sensitively (an ARN is case-sensitive even though names are unique
        without regard to case).
        """
        with self._cache_lock:
            cached = self._resolved.get(arn)
        if cached is not None and cached.generation == self.backend.generation():
            return cached
        with self._read() as tx:
            resolved = self._resolve_in(tx, arn)
        if resolved is not None:
            with self._cache_lock:
                self._resolved[arn] = resolved
        return resolved

    def parsed(self, cache_key: tuple[str, ...], document: str, *, name: str, kind: PolicyKind) -> Policy:
        """``document`` parsed once per ``cache_key`` (managed: policy id + version id)."""
        with self._cache_lock:
            found = self._parsed.get(cache_key)
        if found is None:
            found = parse_policy(document, name=name, kind=kind)
            with self._cache_lock:
                self._parsed[cache_key] = found
        return found

    def get_access_key(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """Metadata and plaintext secret of an access key, for signature verification."""
        with self._read() as tx:
            row = tx.get("access_keys", {"access_key_id": access_key_id})
            if row is None:
                return None
            key = self._access_key(tx, row)
        secret = self.secret_box.open(str(row["sealed_secret"]), context=access_key_id)
        return key, secret

    def _resolve_in(self, tx: Transaction, arn: str) -> ResolvedPrincipal | None:
        parts = arn.split(":", 5) if isinstance(arn, str) else []
        account = self._account
        if len(parts) != 6 or parts[0] != "arn" or parts[1] != account.partition or parts[2] != "iam":
            return None
        if parts[3] != "" or parts[4] != account.account_id:
            return None
        generation_row = tx.get("generation", {"id": 1})
        generation = int(generation_row["value"] or 0) if generation_row else 0
        resource = parts[5]
        if resource == "root":
            return ResolvedPrincipal(
                arn, "root", "root", account.account_id, account.account_id, (), None, generation
            )
        kind, _, rest = resource.partition("/")
        if kind not in ("user", "role") or not rest:
            return None
        path, _, name = ("/" + rest).rpartition("/")
        path += "/"
        table = "users" if kind == "user" else "roles"
        row = tx.get(table, {"name_key": _key(name)})
        if row is None or row["name"] != name:
            return None
        # STS session ARNs name roles without their path, so a path-less role ARN matches.
        if row["path"] != path and not (kind == "role" and path == "/"):
            return None
        if kind == "user":
            return self._resolve_user(tx, arn, row, generation)
        policies = self._owner_policies(tx, PrincipalKind.ROLE, row)
        return ResolvedPrincipal(
            self._entity_arn("role", str(row["path"]), name),
            "role",
            name,
            str(row["role_id"]),
            account.account_id,
            tuple(policies),
            self._boundary(tx, row),
            generation,
            _tags(row["tags"]),
        )

    def _resolve_user(self, tx: Transaction, arn: str, row: Row, generation: int) -> ResolvedPrincipal:
        policies = self._owner_policies(tx, PrincipalKind.USER, row)
        group_names = []
        for member in tx.select("group_members", {"user_key": row["name_key"]}):
            group = tx.get("groups", {"name_key": member["group_key"]})
            if group is not None:
                group_names.append(str(group["name"]))
                policies += self._owner_policies(tx, PrincipalKind.GROUP, group)
        return ResolvedPrincipal(
            arn,
            "user",
            str(row["name"]),
            str(row["user_id"]),
            self._account.account_id,
            tuple(policies),
            self._boundary(tx, row),
            generation,
            _tags(row["tags"]),
            tuple(group_names),
        )

    def _owner_policies(self, tx: Transaction, kind: PrincipalKind, owner: Row) -> list[Policy]:
        """The owner's inline policies, then its attached managed policies."""
        where = {"owner_kind": kind.value, "owner_key": owner["name_key"]}
        unique_id = str(owner[{"user": "user_id", "group": "group_id", "role": "role_id"}[kind.value]])
        found = []
        for row in tx.select("inline_policies", where):
            document = str(row["document"])
            digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
            label = f"{kind.value}/{owner['name']}/inline/{row['name']}"
            found.append(
                self.parsed(
                    ("inline", unique_id, str(row["name"]), digest),
                    document,
                    name=label,
                    kind=PolicyKind.IDENTITY,
                )
            )
        for link in tx.select("attachments", where):
            found.append(self._managed_policy_object(tx, str(link["policy_arn"])))
        return found

    def _boundary(self, tx: Transaction, row: Row) -> Policy | None:
        arn = row["boundary_arn"]
        return None if arn is None else self._managed_policy_object(tx, str(arn))

    def _managed_policy_object(self, tx: Transaction, arn: str) -> Policy:
        """The parsed default version of a managed policy, cached per (policy id, version)."""
        static = built_in.get_built_in(arn)
        if static is not None:
            version = static.version(self._account.partition)
            return self.parsed(
                ("built-in", static.name, version.version_id),
                static.document,
                name=arn,
                kind=PolicyKind.IDENTITY,
            )
        rows = tx.select("policies", {"arn": arn})
        if not rows:
            # INVARIANT: writes never leave an attachment to a missing policy; refuse loudly
            # rather than silently dropping a policy (which could drop a Deny).
            raise NoSuchEntityError(f"attached policy {arn} does not exist")
        policy = rows[0]
        version_row = tx.get(
            "policy_versions", {"policy_key": policy["name_key"], "version_id": policy["default_version"]}
        )
        assert version_row is not None
        return self.parsed(
            ("managed", str(policy["policy_id"]), str(policy["default_version"])),
            str(version_row["document"]),
            name=arn,
            kind=PolicyKind.IDENTITY,
        )
