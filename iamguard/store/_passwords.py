"""Console passwords: the account password policy, login profiles, password changes and
sign-in checks with lockout.

Part of ``store/``; hashing, policy checks and lockout arithmetic live in ``passwords.py``.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from iamguard.errors import EntityAlreadyExistsError, InvalidInputError, NoSuchEntityError
from iamguard.store import passwords
from iamguard.store._aws_messages import aws_message
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _dt, _key, _opt_dt, _ts
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import LoginOutcome, LoginProfile, PasswordPolicy


class _Passwords(_Lookups):
    """Password policy, login profiles and sign-in attempts."""

    # ------------------------------------------------------------ account password policy

    def update_account_password_policy(self, policy: PasswordPolicy) -> None:
        policy.validate()
        with self._write() as tx:
            tx.update(
                "account",
                {"account_id": self._account.account_id},
                {"password_policy": json.dumps(asdict(policy))},
            )

    def get_account_password_policy(self) -> PasswordPolicy:
        """The custom policy; ``NoSuchEntityError`` when none is set (as AWS answers)."""
        policy = self.account().password_policy
        if policy is None:
            raise NoSuchEntityError("the account has no custom password policy", code="NoSuchEntity")
        return policy

    def delete_account_password_policy(self) -> None:
        with self._write() as tx:
            if self._account_from_row(tx.select("account")[0]).password_policy is None:
                raise NoSuchEntityError("the account has no custom password policy")
            tx.update("account", {"account_id": self._account.account_id}, {"password_policy": None})

    def effective_password_policy(self) -> PasswordPolicy:
        """The custom policy, or AWS's default policy when none is set."""
        return self.account().password_policy or PasswordPolicy()

    # ------------------------------------------------------------ login profiles

    def create_login_profile(
        self, user_name: str, password: str, *, password_reset_required: bool = False
    ) -> LoginProfile:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html"""
        self._check_password(password, user_name, ())
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            if tx.get("login_profiles", {"user_key": user["name_key"]}) is not None:
                raise EntityAlreadyExistsError(aws_message("login_profile_exists", name=user["name"]))
            now = _ts(self._now())
            tx.insert(
                "login_profiles",
                {
                    "user_key": user["name_key"],
                    "password_hash": passwords.hash_password(password),
                    "previous_hashes": "[]",
                    "create_date": now,
                    "password_reset_required": int(password_reset_required),
                    "password_changed": now,
                    "failed_attempts": 0,
                    "last_failure_at": None,
                },
            )
            return self._login_profile(tx, user)

    def get_login_profile(self, user_name: str) -> LoginProfile:
        with self._read() as tx:
            return self._login_profile(tx, self._row(tx, "users", user_name, "user"))

    def update_login_profile(
        self, user_name: str, *, password: str | None = None, password_reset_required: bool | None = None
    ) -> LoginProfile:
        """An administrator's password reset (checked against the policy, lockout cleared)."""
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            row = self._login_row(tx, user)
            changes: Row = {}
            if password is not None:
                self._check_password(password, user_name, self._history(row))
                changes.update(self._new_password(row, password))
            if password_reset_required is not None:
                changes["password_reset_required"] = int(password_reset_required)
            if changes:
                tx.update("login_profiles", {"user_key": user["name_key"]}, changes)
            return self._login_profile(tx, user)

    def change_password(self, user_name: str, old_password: str, new_password: str) -> None:
        """A user changing their own password (AWS ChangePassword): the old one must match,
        the new one must satisfy the policy, including reuse prevention."""
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            row = self._login_row(tx, user)
            if not passwords.verify_password(str(row["password_hash"]), old_password):
                raise InvalidInputError("the old password is incorrect", code="InvalidUserType")
            self._check_password(new_password, user_name, self._history(row))
            changes = self._new_password(row, new_password)
            changes["password_reset_required"] = 0
            tx.update("login_profiles", {"user_key": user["name_key"]}, changes)

    def delete_login_profile(self, user_name: str) -> None:
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            self._login_row(tx, user)
            tx.delete("login_profiles", {"user_key": user["name_key"]})

    def check_password(self, user_name: str, password: str) -> LoginOutcome:
        """One console sign-in attempt: lockout first, then the password, then expiry.

        Failures are counted (and reset by a success) so repeated guessing locks the user
        for ``lockout.lockout_seconds``. Unknown users and users without a login profile get
        the same plain refusal as a wrong password.

        The counter is shared by every process on the store, and the attempt is counted *before*
        the password is checked, in the write transaction that read the counter
        (:meth:`_reserve_attempt`); a success then clears it. So concurrent attempts, in one
        process or many, get at most ``lockout.max_failures`` password checks between lockouts,
        and no failure is lost to a read-modify-write race.
        """
        now = self._now()
        with self._read() as tx:  # cheap refusals without a write
            user = tx.get("users", {"name_key": _key(user_name)})
            row = None if user is None else tx.get("login_profiles", {"user_key": user["name_key"]})
        if user is None or row is None:
            passwords.verify_password(_dummy_hash(), password)  # same work as a real check
            return LoginOutcome(ok=False)
        locked, remaining = self._lockout(row, now)
        if locked:
            return LoginOutcome(ok=False, locked=True, retry_after=remaining)
        reserved = self._reserve_attempt(user, now)
        if isinstance(reserved, LoginOutcome):
            return reserved
        row, failures = reserved
        if not passwords.verify_password(str(row["password_hash"]), password):
            locked, remaining = passwords.lockout_state(failures, now, self.lockout, now)
            return LoginOutcome(ok=False, locked=locked, retry_after=remaining)
        policy = self.effective_password_policy()
        changed = _opt_dt(row["password_changed"]) or _dt(row["create_date"])
        expired = passwords.password_expired(changed, policy, now)
        with self._unversioned_write() as tx:
            changes: Row = {"failed_attempts": 0, "last_failure_at": None}
            if passwords.needs_rehash(str(row["password_hash"])):
                changes["password_hash"] = passwords.hash_password(password)
            tx.update("login_profiles", {"user_key": user["name_key"]}, changes)
        if expired and policy.hard_expiry:
            return LoginOutcome(ok=False, password_expired=True)
        return LoginOutcome(
            ok=True, password_expired=expired, password_reset_required=bool(row["password_reset_required"])
        )

    def _lockout(self, row: Row, now: datetime) -> tuple[bool, int]:
        failures = int(row["failed_attempts"] or 0)
        return passwords.lockout_state(failures, _opt_dt(row["last_failure_at"]), self.lockout, now)

    def _reserve_attempt(self, user: Row, now: datetime) -> tuple[Row, int] | LoginOutcome:
        """Count this attempt as a failure (a success clears it), unless the user is locked.

        INVARIANT: the lockout check reads the counter in the same write transaction that raises
        it; writers are serialized (SQLite ``BEGIN IMMEDIATE``, PostgreSQL's generation-row lock,
        the memory backend's lock), so two processes never both read the same count.
        """
        key = {"user_key": user["name_key"]}
        with self._unversioned_write() as tx:  # a counter changes no cached decision: no bump
            row = tx.get("login_profiles", key)
            if row is None:  # deleted since the read above
                return LoginOutcome(ok=False)
            locked, remaining = self._lockout(row, now)
            if locked:
                return LoginOutcome(ok=False, locked=True, retry_after=remaining)
            failures = int(row["failed_attempts"] or 0) + 1
            tx.update("login_profiles", key, {"failed_attempts": failures, "last_failure_at": _ts(now)})
            return row, failures

    def _check_password(self, password: str, user_name: str, history: Sequence[str]) -> None:
        problems = passwords.check_password_policy(
            password, self.effective_password_policy(), previous_hashes=history, user_name=user_name
        )
        if problems:
            raise InvalidInputError("; ".join(problems), code="PasswordPolicyViolation")

    def _history(self, row: Row) -> list[str]:
        return [str(row["password_hash"])] + [str(h) for h in json.loads(str(row["previous_hashes"]))]

    def _new_password(self, row: Row, password: str) -> Row:
        keep = max((self.effective_password_policy().password_reuse_prevention or 0) - 1, 0)
        return {
            "password_hash": passwords.hash_password(password),
            "previous_hashes": json.dumps(self._history(row)[:keep]),
            "password_changed": _ts(self._now()),
            "failed_attempts": 0,
            "last_failure_at": None,
        }

    def _login_row(self, tx: Transaction, user: Row) -> Row:
        row = tx.get("login_profiles", {"user_key": user["name_key"]})
        if row is None:
            raise NoSuchEntityError(aws_message("no_such_login_profile", name=user["name"]))
        return row

    def _login_profile(self, tx: Transaction, user: Row) -> LoginProfile:
        row = self._login_row(tx, user)
        return LoginProfile(
            user_name=str(user["name"]),
            create_date=_dt(row["create_date"]),
            password_reset_required=bool(row["password_reset_required"]),
            password_last_changed=_opt_dt(row["password_changed"]),
            failed_attempts=int(row["failed_attempts"] or 0),
            last_failure_at=_opt_dt(row["last_failure_at"]),
        )


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A real argon2 hash of a random throwaway password, so refusing an unknown user costs
    the same as refusing a wrong password (no user-enumeration by timing)."""
    return passwords.hash_password(secrets.token_urlsafe(16))
