"""Account-wide operations: the account alias and the operator reports over the whole account.

Part of ``store/``. The password policy lives with console passwords (``_passwords.py``).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html
"""

from __future__ import annotations

from datetime import datetime

from iamguard.errors import InvalidInputError, NoSuchEntityError
from iamguard.store._base import _Base
from iamguard.store._rows import _dt
from iamguard.store._rules import valid_account_alias

_REPORT_PREFIX = "report:"  # settings rows holding generated reports


class _AccountAdmin(_Base):
    """Account alias (create, delete) and reports (users without permissions, root warnings)."""

    def create_account_alias(self, alias: str) -> None:
        """Set the account alias (an account has at most one; a new one replaces it).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html"""
        if not valid_account_alias(alias):
            raise InvalidInputError(
                "account alias must be 3-63 lowercase letters, digits and single hyphens, "
                "not starting or ending with a hyphen"
            )
        with self._write() as tx:
            tx.update("account", {"account_id": self._account.account_id}, {"alias": alias})

    def delete_account_alias(self, alias: str) -> None:
        with self._write() as tx:
            if self._account_from_row(tx.select("account")[0]).alias != alias:
                raise NoSuchEntityError(f"the account has no alias {alias!r}")
            tx.update("account", {"account_id": self._account.account_id}, {"alias": None})

    def put_account_report(self, name: str, body: str) -> None:
        """Keep a generated account report (the IAM API's credential report, access-advisor jobs)
        under ``name``, replacing an older one, so every process sharing the store serves it.
        A report changes no decision: the generation is left alone."""
        key = {"name": f"{_REPORT_PREFIX}{name}"}
        with self._unversioned_write() as tx:
            if tx.get("settings", key) is None:
                tx.insert("settings", {**key, "value": body})
            else:
                tx.update("settings", key, {"value": body})

    def account_created(self) -> datetime:
        """When the store's account was made (the root user's creation time in reports)."""
        with self._read() as tx:
            return _dt(tx.select("account")[0]["create_date"])

    def get_account_report(self, name: str) -> str | None:
        """The report kept under ``name`` by :meth:`put_account_report`, or None."""
        with self._read() as tx:
            row = tx.get("settings", {"name": f"{_REPORT_PREFIX}{name}"})
        return None if row is None else str(row["value"])

    def users_without_permissions(self) -> list[str]:
        """Names of users with no policy at all (own or through a group): they can do nothing,
        which is usually a mistake worth showing an operator."""
        with self._read() as tx:
            owners = {(r["owner_kind"], r["owner_key"]) for r in tx.select("attachments")}
            owners |= {(r["owner_kind"], r["owner_key"]) for r in tx.select("inline_policies")}
            members = tx.select("group_members")
            names = []
            for user in tx.select("users"):
                groups = [m["group_key"] for m in members if m["user_key"] == user["name_key"]]
                if ("user", user["name_key"]) not in owners and not any(
                    ("group", g) in owners for g in groups
                ):
                    names.append(str(user["name"]))
            return names

    def root_warnings(self) -> list[str]:
        """Root-user problems AWS's security recommendations call out: no MFA, access keys.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"""
        warnings = []
        with self._read() as tx:
            devices = [r for r in tx.select("mfa_devices", {"is_root": 1}) if r["enable_date"] is not None]
            keys = tx.select("access_keys", {"user_key": None})
        if not devices:
            warnings.append("the root user has no MFA device enabled")
        if keys:
            warnings.append(
                f"the root user has {len(keys)} access key(s); delete them and use roles or users"
            )
        return warnings
