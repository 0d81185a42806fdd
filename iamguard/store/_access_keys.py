"""Access keys (secret sealed at rest, shown once) and re-sealing every stored secret when the
master key rotates.

Part of ``store/``; see ``secrets.py`` for the sealing itself.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
"""

from __future__ import annotations

from iamguard.errors import LimitExceededError, NoSuchEntityError
from iamguard.store import _key_check
from iamguard.store._aws_messages import aws_message
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _ts
from iamguard.store._rules import new_unique_id
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import AccessKey, AccessKeyCreated, AccessKeyStatus
from iamguard.store.secrets import generate_secret_access_key


class _AccessKeys(_Lookups):
    """Access keys and master-key rotation."""

    def create_access_key(self, user_name: str | None = None) -> AccessKeyCreated:
        """A new key (at most 2 per user); the secret is returned here once and stored sealed.
        ``user_name=None`` makes a root user key (AWS discourages them; see ``root_warnings``).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html"""
        with self._write() as tx:
            user_key = None if user_name is None else self._row(tx, "users", user_name, "user")["name_key"]
            if tx.count("access_keys", {"user_key": user_key}) >= self.quotas.access_keys_per_user:
                raise LimitExceededError(f"at most {self.quotas.access_keys_per_user} access keys per user")
            access_key_id = new_unique_id("AKIA", length=16)
            secret = generate_secret_access_key()
            tx.insert(
                "access_keys",
                {
                    "access_key_id": access_key_id,
                    "user_key": user_key,
                    "status": AccessKeyStatus.ACTIVE.value,
                    "sealed_secret": self._sealing_box(tx).seal(secret, context=access_key_id),
                    "create_date": _ts(self._now()),
                    "last_used_date": None,
                },
            )
            row = tx.get("access_keys", {"access_key_id": access_key_id})
            assert row is not None
            return AccessKeyCreated(self._access_key(tx, row), secret)

    def list_access_keys(self, user_name: str | None = None) -> list[AccessKey]:
        """A user's keys; ``None``: the root user's keys."""
        with self._read() as tx:
            user_key = None if user_name is None else self._row(tx, "users", user_name, "user")["name_key"]
            return [self._access_key(tx, r) for r in tx.select("access_keys", {"user_key": user_key})]

    def update_access_key(self, access_key_id: str, status: AccessKeyStatus | str) -> AccessKey:
        status = AccessKeyStatus(status)
        with self._write() as tx:
            self._access_key_row(tx, access_key_id)
            tx.update("access_keys", {"access_key_id": access_key_id}, {"status": status.value})
            return self._access_key(tx, self._access_key_row(tx, access_key_id))

    def delete_access_key(self, access_key_id: str) -> None:
        with self._write() as tx:
            self._access_key_row(tx, access_key_id)
            tx.delete("access_keys", {"access_key_id": access_key_id})

    def access_key_last_used(self, access_key_id: str) -> tuple[AccessKey, str | None, str | None]:
        """The key's metadata (owner, ``last_used_date``) with the service and region of its
        last use (``None`` when never used); no secret. AWS GetAccessKeyLastUsed.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html"""
        with self._read() as tx:
            key = self._access_key(tx, self._access_key_row(tx, access_key_id))
            used = tx.get("access_key_activity", {"access_key_id": access_key_id})
        if used is None:
            return key, None, None
        return key, str(used["service_name"]), str(used["region"])

    def rotate_master_key(self) -> int:
        """Re-seal every stored secret under the box's primary key; how many changed.
        Idempotent, so an interrupted run can simply be repeated (see ``secrets.py``)."""
        changed = 0
        with self._write() as tx:
            box = self._sealing_box(tx)  # the new primary's check value, recorded with the rotation
            for row in tx.select("access_keys"):
                sealed = str(row["sealed_secret"])
                if self.secret_box.needs_rotation(sealed):
                    new = self.secret_box.reseal(sealed, context=str(row["access_key_id"]))
                    tx.update("access_keys", {"access_key_id": row["access_key_id"]}, {"sealed_secret": new})
                    changed += 1
            for row in tx.select("mfa_devices"):
                sealed = str(row["sealed_seed"])
                if self.secret_box.needs_rotation(sealed):
                    new = self.secret_box.reseal(sealed, context=str(row["serial_number"]))
                    tx.update("mfa_devices", {"serial_number": row["serial_number"]}, {"sealed_seed": new})
                    changed += 1
            _key_check.retain_only(tx, box.primary)  # nothing is sealed under another key now
        return changed

    def _access_key_row(self, tx: Transaction, access_key_id: str) -> Row:
        row = tx.get("access_keys", {"access_key_id": access_key_id})
        if row is None:
            raise NoSuchEntityError(aws_message("no_such_access_key", key_id=access_key_id))
        return row
