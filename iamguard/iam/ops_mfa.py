"""Virtual MFA devices: create (with the seed and a QR code), enable, resync, deactivate, list, delete.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`. Device actions are
authorized on the device's ARN (``arn:aws:iam::<acct>:mfa/<path><name>``); enabling, resyncing,
deactivating and listing a user's devices on the user's ARN, as the Service Authorization
Reference lists them. ``CreateVirtualMFADevice`` returns the seed twice, as AWS does: the
``Base32StringSeed`` and a PNG QR code of the ``otpauth://`` URI an authenticator app scans
(``QRCodePNG``); neither is ever shown again.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateVirtualMFADevice.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_VirtualMFADevice.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import segno

from iamguard.errors import IAMGuardError, InvalidInputError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._paging import page
from iamguard.iam._records import user_value
from iamguard.iam.ops_users import user_target
from iamguard.store import mfa
from iamguard.store.records import MfaDevice

__all__ = ["otpauth_uri", "qr_code_png"]

_ASSIGNMENT = {"Assigned": True, "Unassigned": False}


def otpauth_uri(seed: str, device_name: str, account_label: str) -> str:
    """The URI the QR code carries: label ``iamguard:<device>@<account alias or id>``, the seed,
    SHA1, 6 digits, 30 s (the parameters AWS's virtual devices use)."""
    return mfa.provisioning_uri(seed, account_name=f"{device_name}@{account_label}", issuer="iamguard")


def qr_code_png(uri: str) -> bytes:
    """A PNG QR code of ``uri`` (error correction M, 4-module quiet zone, 6 px per module).

    Deterministic: the same URI always gives the same bytes, so a client can check what it encodes.
    """
    out = io.BytesIO()
    segno.make_qr(uri, error="m", boost_error=False).save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def _device_arn(call: Call) -> str:
    return call.arn(f"mfa{call.get('Path', '/')}{call['VirtualMFADeviceName']}")


def _on_device(call: Call) -> Iterable[Target]:
    return [Target.on(call["SerialNumber"] if call["SerialNumber"].startswith("arn:") else "*")]


def _named_or_caller(call: Call) -> str | None:
    """``UserName``; else the calling IAM user; ``None`` for the root user (its own devices)."""
    name = call.get("UserName") or call.caller.user_name
    if name is None and not call.caller.is_root:
        raise IAMGuardError(
            "Must specify userName when calling with non-User credentials",
            code="ValidationError",
            http_status=400,
        )
    return None if name is None else str(name)


def _on_user(call: Call) -> Iterable[Target]:
    name = _named_or_caller(call)
    return [Target.on(call.caller.principal.arn) if name is None else user_target(call, name)]


# ---------------------------------------------------------------------- create / delete


@operation("CreateVirtualMFADevice", targets=lambda call: [Target.on(_device_arn(call))])
def create_virtual_mfa_device(call: Call) -> Result:
    if call.get("Tags"):
        # The store keeps no tags on MFA devices; refusing beats silently dropping them.
        raise InvalidInputError("Tags on virtual MFA devices are not supported by iamguard")
    created = call.store.create_virtual_mfa_device(call["VirtualMFADeviceName"], path=call.get("Path", "/"))
    account = call.store.account()
    uri = otpauth_uri(created.base32_seed, call["VirtualMFADeviceName"], account.alias or account.account_id)
    return {
        "VirtualMFADevice": {
            "SerialNumber": created.device.serial_number,
            "Base32StringSeed": created.base32_seed.encode("ascii"),
            "QRCodePNG": qr_code_png(uri),
        }
    }


@operation("DeleteVirtualMFADevice", targets=_on_device)
def delete_virtual_mfa_device(call: Call) -> Result:
    """``DeleteConflict`` while the device is enabled for a user."""
    call.store.delete_virtual_mfa_device(call["SerialNumber"])
    return None


# ---------------------------------------------------------------------- a user's devices


@operation("EnableMFADevice", targets=lambda call: [user_target(call, call["UserName"])])
def enable_mfa_device(call: Call) -> Result:
    """Two consecutive codes prove the device; ``InvalidAuthenticationCode`` (403) otherwise."""
    call.store.enable_mfa_device(
        call["UserName"], call["SerialNumber"], call["AuthenticationCode1"], call["AuthenticationCode2"]
    )
    return None


@operation("ResyncMFADevice", targets=lambda call: [user_target(call, call["UserName"])])
def resync_mfa_device(call: Call) -> Result:
    call.store.resync_mfa_device(
        call["UserName"], call["SerialNumber"], call["AuthenticationCode1"], call["AuthenticationCode2"]
    )
    return None


@operation("DeactivateMFADevice", targets=_on_user)
def deactivate_mfa_device(call: Call) -> Result:
    call.store.deactivate_mfa_device(_named_or_caller(call), call["SerialNumber"])
    return None


def _enabled_value(device: MfaDevice, user_name: str | None) -> dict[str, Any]:
    return {
        "UserName": device.user_name or user_name,
        "SerialNumber": device.serial_number,
        "EnableDate": device.enable_date,
    }


@operation("ListMFADevices", targets=_on_user)
def list_mfa_devices(call: Call) -> Result:
    """The enabled devices of ``UserName`` (default: the caller; the root user's own for root)."""
    name = _named_or_caller(call)
    devices = call.store.list_mfa_devices(name, root=name is None)
    owner = name or call.account_id
    return page(
        call,
        [d for d in devices if d.enable_date is not None],
        "MFADevices",
        lambda d: _enabled_value(d, owner),
        key=lambda d: d.serial_number,
    )


# ---------------------------------------------------------------------- the account's virtual devices


def _virtual_value(call: Call, device: MfaDevice) -> dict[str, Any]:
    value: dict[str, Any] = {"SerialNumber": device.serial_number, "EnableDate": device.enable_date}
    if device.user_name is not None:
        try:
            value["User"] = user_value(call.store.get_user(device.user_name), with_tags=False)
        except NoSuchEntityError:  # pragma: no cover - a user with a device cannot be deleted
            pass
    elif device.is_root:
        value["User"] = {"UserId": call.account_id, "Arn": call.arn("root")}  # as GetUser answers root
    return value


@operation("ListVirtualMFADevices", targets=lambda call: [Target.on("*")])
def list_virtual_mfa_devices(call: Call) -> Result:
    """Every virtual device, filtered by ``AssignmentStatus`` (``Assigned``/``Unassigned``/``Any``)."""
    wanted = _ASSIGNMENT.get(call.get("AssignmentStatus", "Any"))
    devices = [
        d
        for d in call.store.list_mfa_devices()
        if wanted is None or (d.user_name is not None or d.is_root) == wanted
    ]
    return page(
        call, devices, "VirtualMFADevices", lambda d: _virtual_value(call, d), key=lambda d: d.serial_number
    )
