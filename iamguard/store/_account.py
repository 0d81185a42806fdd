"""Account-wide operations: the account alias, the operator reports over the whole account and
the console's account settings (the MFA requirement, the root user's password).

Part of ``store/``. The password policy lives with console passwords (``_passwords.py``).
The console settings are rows of the ``settings`` key/value table (no migration): every process
sharing the store reads the same values, and the root user's failed sign-ins are counted there
in the same reserve-then-verify transaction as an IAM user's (``_passwords.check_password``).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html
"""

from __future__ import annotations

import json
from datetime import datetime

from iamguard.errors import InvalidInputError, NoSuchEntityError
from iamguard.store import passwords
from iamguard.store._base import _Base
from iamguard.store._rows import _dt, _opt_dt, _ts
from iamguard.store._rules import valid_account_alias
from iamguard.store.protocols import Transaction
from iamguard.store.records import LoginOutcome, PasswordPolicy

_REPORT_PREFIX = "report:"  # settings rows holding generated reports
_REQUIRE_MFA = "console:require_mfa"  # "1" when every console user must have an MFA device
_ROOT_PASSWORD = "console:root_password"  # JSON: argon2id hash and the failure counter
#: iamguard's floor for the root password, whatever the account password policy says.
ROOT_PASSWORD_MIN_LENGTH = 8


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

    # ------------------------------------------------------------ console settings

    def set_console_mfa_required(self, required: bool) -> None:
        """Require (or stop requiring) every console user to sign in with an MFA device: one
        without a device enrols one at the next sign-in, before the session starts."""
        with self._write() as tx:
            _put_setting(tx, _REQUIRE_MFA, "1" if required else "0")

    def console_mfa_required(self) -> bool:
        """Whether the account requires MFA for console sign-in (see :meth:`set_console_mfa_required`)."""
        with self._read() as tx:
            row = tx.get("settings", {"name": _REQUIRE_MFA})
        return row is not None and str(row["value"]) == "1"

    def set_root_password(self, password: str) -> None:
        """Set the root user's console password (argon2id; the plain text is never kept).

        It must satisfy the account password policy and be at least
        :data:`ROOT_PASSWORD_MIN_LENGTH` characters; the failure counter starts again."""
        policy = self.account().password_policy or PasswordPolicy()
        problems = passwords.check_password_policy(password, policy, previous_hashes=(), user_name="root")
        if len(password) < ROOT_PASSWORD_MIN_LENGTH:
            problems.insert(0, f"the root password must be at least {ROOT_PASSWORD_MIN_LENGTH} characters")
        if problems:
            raise InvalidInputError("; ".join(problems), code="PasswordPolicyViolation")
        record = {"hash": passwords.hash_password(password), "changed": _ts(self._now())}
        with self._write() as tx:
            _put_setting(tx, _ROOT_PASSWORD, json.dumps({**record, "failures": 0, "last_failure": None}))

    def delete_root_password(self) -> None:
        """Remove the root user's console password (root sign-in is then refused)."""
        with self._write() as tx:
            if tx.get("settings", {"name": _ROOT_PASSWORD}) is None:
                raise NoSuchEntityError("the root user has no console password")
            tx.delete("settings", {"name": _ROOT_PASSWORD})

    def has_root_password(self) -> bool:
        """Whether the root user has a console password in the store."""
        with self._read() as tx:
            return tx.get("settings", {"name": _ROOT_PASSWORD}) is not None

    def check_root_password(self, password: str) -> LoginOutcome:
        """One root sign-in attempt, with the store's lockout (:attr:`lockout`) as for IAM users.

        The attempt is counted as a failure before the hash is checked, in the write that read
        the counter, and a match clears it: concurrent guesses in any number of processes get
        at most ``lockout.max_failures`` checks between lockouts.
        """
        now = self._now()
        with self._unversioned_write() as tx:  # a counter changes no cached decision: no bump
            row = tx.get("settings", {"name": _ROOT_PASSWORD})
            if row is None:
                record = None
            else:
                record = json.loads(str(row["value"]))
                failures = int(record.get("failures") or 0)
                last = _opt_dt(record.get("last_failure"))
                locked, remaining = passwords.lockout_state(failures, last, self.lockout, now)
                if locked:
                    return LoginOutcome(ok=False, locked=True, retry_after=remaining)
                record.update(failures=failures + 1, last_failure=_ts(now))
                _put_setting(tx, _ROOT_PASSWORD, json.dumps(record))
        if record is None:  # the root user always exists: nothing to hide by spending work here
            return LoginOutcome(ok=False)
        if not passwords.verify_password(str(record["hash"]), password):
            locked, remaining = passwords.lockout_state(record["failures"], now, self.lockout, now)
            return LoginOutcome(ok=False, locked=locked, retry_after=remaining)
        with self._unversioned_write() as tx:
            current = tx.get("settings", {"name": _ROOT_PASSWORD})
            if current is not None:
                kept = json.loads(str(current["value"]))
                if kept.get("hash") == record["hash"]:  # not replaced meanwhile
                    kept.update(failures=0, last_failure=None)
                    _put_setting(tx, _ROOT_PASSWORD, json.dumps(kept))
        return LoginOutcome(ok=True)


def _put_setting(tx: Transaction, name: str, value: str) -> None:
    if tx.get("settings", {"name": name}) is None:
        tx.insert("settings", {"name": name, "value": value})
    else:
        tx.update("settings", {"name": name}, {"value": value})
