"""Virtual MFA devices: create, enable with two consecutive codes, resync, deactivate, delete,
and verifying a code once only (no replay).

Part of ``store/``; TOTP arithmetic lives in ``mfa.py``.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
"""

from __future__ import annotations

from iamguard.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
)
from iamguard.store import mfa
from iamguard.store._aws_messages import aws_message
from iamguard.store._lookups import _Lookups
from iamguard.store._rows import _dt, _key, _opt_dt, _opt_int, _ts
from iamguard.store._rules import check_name, check_path
from iamguard.store.protocols import Row, Transaction
from iamguard.store.records import MfaDevice, MfaDeviceCreated

_MFA_ENABLE_WINDOW = 10  # steps each way EnableMFADevice/ResyncMFADevice search (clock drift)


class _MfaDevices(_Lookups):
    """Virtual MFA devices and code verification."""

    def create_virtual_mfa_device(self, name: str, *, path: str = "/") -> MfaDeviceCreated:
        """A new, unassigned virtual device and its seed (shown once).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateVirtualMFADevice.html"""
        check_name(name, "MFA device", 226)
        check_path(path)
        serial = self._entity_arn("mfa", path, name)
        seed = mfa.generate_totp_secret()
        with self._write() as tx:
            if tx.get("mfa_devices", {"serial_number": serial}) is not None:
                raise EntityAlreadyExistsError(aws_message("mfa_device_exists"))
            tx.insert(
                "mfa_devices",
                {
                    "serial_number": serial,
                    "user_key": None,
                    "is_root": 0,
                    "sealed_seed": self._sealing_box(tx).seal(seed, context=serial),
                    "create_date": _ts(self._now()),
                    "enable_date": None,
                    "last_used_step": None,
                },
            )
            return MfaDeviceCreated(self._mfa(tx, self._mfa_row(tx, serial)), seed)

    def enable_mfa_device(
        self, user_name: str | None, serial_number: str, code1: str, code2: str
    ) -> MfaDevice:
        """Assign a device to a user (``None``: the root user) after two consecutive codes.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html"""
        with self._write() as tx:
            user_key = None if user_name is None else self._row(tx, "users", user_name, "user")["name_key"]
            row = self._mfa_row(tx, serial_number)
            if row["user_key"] is not None or row["is_root"]:
                raise EntityAlreadyExistsError(f"MFA device {serial_number} is already in use")
            owned = tx.count("mfa_devices", {"user_key": user_key, "is_root": int(user_name is None)})
            if user_name is not None and owned >= self.quotas.mfa_devices_per_user:
                raise LimitExceededError(f"at most {self.quotas.mfa_devices_per_user} MFA devices per user")
            step = self._consecutive(row, code1, code2)
            tx.update(
                "mfa_devices",
                {"serial_number": serial_number},
                {
                    "user_key": user_key,
                    "is_root": int(user_name is None),
                    "enable_date": _ts(self._now()),
                    "last_used_step": step,
                },
            )
            return self._mfa(tx, self._mfa_row(tx, serial_number))

    def resync_mfa_device(
        self, user_name: str | None, serial_number: str, code1: str, code2: str
    ) -> MfaDevice:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_ResyncMFADevice.html"""
        with self._write() as tx:
            row = self._owned_mfa_row(tx, user_name, serial_number)
            step = self._consecutive(row, code1, code2)
            tx.update("mfa_devices", {"serial_number": serial_number}, {"last_used_step": step})
            return self._mfa(tx, self._mfa_row(tx, serial_number))

    def deactivate_mfa_device(self, user_name: str | None, serial_number: str) -> None:
        """Detach a device from its user; it returns to the unassigned pool."""
        with self._write() as tx:
            self._owned_mfa_row(tx, user_name, serial_number)
            tx.update(
                "mfa_devices",
                {"serial_number": serial_number},
                {"user_key": None, "is_root": 0, "enable_date": None, "last_used_step": None},
            )

    def delete_virtual_mfa_device(self, serial_number: str) -> None:
        with self._write() as tx:
            row = self._mfa_row(tx, serial_number)
            if row["user_key"] is not None or row["is_root"]:
                raise DeleteConflictError(f"MFA device {serial_number} is enabled; deactivate it first")
            tx.delete("mfa_devices", {"serial_number": serial_number})

    def list_mfa_devices(self, user_name: str | None = None, *, root: bool = False) -> list[MfaDevice]:
        """A user's devices, the root user's (``root=True``), or every device (neither)."""
        with self._read() as tx:
            if user_name is not None:
                where: Row = {"user_key": self._row(tx, "users", user_name, "user")["name_key"]}
            elif root:
                where = {"is_root": 1}
            else:
                where = {}
            return [self._mfa(tx, r) for r in tx.select("mfa_devices", where)]

    def verify_mfa_code(self, user_name: str | None, code: str) -> bool:
        """Whether ``code`` is a current code of one of the user's enabled devices; a code (or an
        older one) is accepted once only, so a captured code cannot be replayed.

        The check reads first and writes only on a match, so failed attempts do not bump the
        store generation; the write re-checks the stored step (compare-and-set), so two
        concurrent uses of one code cannot both succeed.
        """
        at = self._clock()
        where: Row = {"is_root": 1} if user_name is None else {"user_key": _key(user_name)}
        with self._read() as tx:
            rows = [r for r in tx.select("mfa_devices", where) if r["enable_date"] is not None]
        for row in rows:
            serial = str(row["serial_number"])
            seed = self.secret_box.open(str(row["sealed_seed"]), context=serial)
            step = mfa.verify_totp(seed, code, at, last_used_step=_opt_int(row["last_used_step"]))
            if step is not None:
                return self._claim_step(serial, step)
        return False

    def _claim_step(self, serial_number: str, step: int) -> bool:
        with self._write() as tx:
            row = tx.get("mfa_devices", {"serial_number": serial_number})
            last = None if row is None else _opt_int(row["last_used_step"])
            if row is None or row["enable_date"] is None or (last is not None and last >= step):
                return False
            tx.update("mfa_devices", {"serial_number": serial_number}, {"last_used_step": step})
            return True

    def _consecutive(self, row: Row, code1: str, code2: str) -> int:
        serial = str(row["serial_number"])
        seed = self.secret_box.open(str(row["sealed_seed"]), context=serial)
        last = None if row["last_used_step"] is None else int(row["last_used_step"])
        step = mfa.verify_consecutive(
            seed, code1, code2, self._clock(), window=_MFA_ENABLE_WINDOW, last_used_step=last
        )
        if step is None:
            raise InvalidInputError(
                "the authentication codes are not valid consecutive codes",
                code="InvalidAuthenticationCode",
                http_status=403,
            )
        return step

    def _mfa_row(self, tx: Transaction, serial_number: str) -> Row:
        row = tx.get("mfa_devices", {"serial_number": serial_number})
        if row is None:
            raise NoSuchEntityError(aws_message("no_such_mfa_device", serial=serial_number))
        return row

    def _owned_mfa_row(self, tx: Transaction, user_name: str | None, serial_number: str) -> Row:
        row = self._mfa_row(tx, serial_number)
        if user_name is None:
            owned = bool(row["is_root"])
        else:
            owned = row["user_key"] == self._row(tx, "users", user_name, "user")["name_key"]
        if not owned:
            raise NoSuchEntityError(f"MFA device {serial_number} is not enabled for that user")
        return row

    def _mfa(self, tx: Transaction, row: Row) -> MfaDevice:
        user = None if row["user_key"] is None else tx.get("users", {"name_key": row["user_key"]})
        return MfaDevice(
            serial_number=str(row["serial_number"]),
            create_date=_dt(row["create_date"]),
            user_name=None if user is None else str(user["name"]),
            is_root=bool(row["is_root"]),
            enable_date=_opt_dt(row["enable_date"]),
            last_used_step=None if row["last_used_step"] is None else int(row["last_used_step"]),
        )
