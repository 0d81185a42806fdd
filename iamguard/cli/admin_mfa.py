"""``iamguard mfa ...``: virtual MFA devices (TOTP, RFC 6238).

``create`` prints the device's base32 seed and an ``otpauth://`` URI once (load either into an
authenticator app); ``enable`` assigns the device to a user or the root user after two
consecutive codes, as AWS EnableMFADevice requires.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
"""

from __future__ import annotations

import argparse
from typing import Any

from iamguard.cli import EXIT_OK, _aws_json
from iamguard.cli._owners import add_user_or_root_args, user_or_root
from iamguard.cli._store_args import KEY_HELP, emit, group_parser, open_from_args, say, show_secret_once, verb
from iamguard.errors import NoSuchEntityError
from iamguard.store import mfa
from iamguard.store.records import MfaDevice
from iamguard.store.service import IdentityService

__all__ = ["register"]

_LIST_HEADERS = ("SERIAL NUMBER", "ASSIGNED TO", "ENABLED", "ENABLED AT", "CREATED")
_SEED_WARNING = (
    "WARNING: the seed is shown only now; anyone holding it can generate this device's codes. "
    "Load it into an authenticator app, then enable the device with two consecutive codes."
)


def register(subparsers: Any) -> None:
    verbs = group_parser(subparsers, "mfa", "manage virtual MFA devices", (__doc__ or "") + "\n" + KEY_HELP)
    p = verb(verbs, "create", "create a virtual MFA device (prints its seed once)", _create, epilog=KEY_HELP)
    p.add_argument("name", help="device name, e.g. the user's name")
    p.add_argument("--path", default="/")
    for name, func, help_text in (
        ("enable", _enable, "assign a device after two consecutive codes"),
        ("resync", _resync, "resynchronise a device with two consecutive codes"),
    ):
        p = verb(verbs, name, help_text, func)
        p.add_argument("serial", metavar="SERIAL", help="device ARN (or its name)")
        add_user_or_root_args(p)
        p.add_argument("code1", metavar="CODE1")
        p.add_argument("code2", metavar="CODE2")
    p = verb(verbs, "deactivate", "unassign a device from its user (the device is kept)", _deactivate)
    p.add_argument("serial", metavar="SERIAL")
    add_user_or_root_args(p)
    p = verb(verbs, "delete", "delete an unassigned virtual device", _delete)
    p.add_argument("serial", metavar="SERIAL")
    p = verb(verbs, "list", "list devices (all, a user's, or the root user's)", _list)
    owner = p.add_mutually_exclusive_group()
    owner.add_argument("--user", metavar="NAME")
    owner.add_argument("--root", action="store_true")


def _serial(service: IdentityService, text: str) -> str:
    """A device's serial number (its ARN) from the ARN itself or the device name."""
    if text.startswith("arn:"):
        return text
    matches = [
        d.serial_number for d in service.list_mfa_devices() if d.serial_number.rsplit("/", 1)[-1] == text
    ]
    if len(matches) != 1:
        raise NoSuchEntityError(f"no single MFA device named {text!r}; pass its serial number (ARN)")
    return matches[0]


def _create(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    created = service.create_virtual_mfa_device(args.name, path=args.path)
    account = service.account()
    uri = mfa.provisioning_uri(
        created.base32_seed, account_name=f"{args.name}@{account.alias or account.account_id}"
    )
    data = {
        "VirtualMFADevice": _aws_json.virtual_mfa_device(created.device, account, seed=created.base32_seed)
    }
    pairs = [
        ("SerialNumber", created.device.serial_number),
        ("Base32Seed", created.base32_seed),
        ("OtpauthURI", uri),
    ]
    show_secret_once(args, data, pairs, _SEED_WARNING)
    return EXIT_OK


def _enable(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    device = service.enable_mfa_device(*_user_and_serial(service, args), args.code1, args.code2)
    say(args, f"enabled MFA device {device.serial_number} for {_who(args)}")  # EnableMFADevice: nothing
    return EXIT_OK


def _resync(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    device = service.resync_mfa_device(*_user_and_serial(service, args), args.code1, args.code2)
    say(args, f"resynchronised MFA device {device.serial_number}")
    return EXIT_OK


def _deactivate(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    user, serial = _user_and_serial(service, args)
    service.deactivate_mfa_device(user, serial)
    say(args, f"deactivated MFA device {serial} for {_who(args)}")
    return EXIT_OK


def _user_and_serial(service: IdentityService, args: argparse.Namespace) -> tuple[str | None, str]:
    """The device's user (``None``: the root user) and its serial number, from ``--user``/``--root``
    and ``SERIAL``."""
    return user_or_root(args), _serial(service, args.serial)


def _delete(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=True)
    serial = _serial(service, args.serial)
    service.delete_virtual_mfa_device(serial)
    say(args, f"deleted MFA device {serial}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    devices = service.list_mfa_devices(args.user, root=args.root)
    rows = [
        (d.serial_number, "root" if d.is_root else d.user_name, d.enabled, d.enable_date, d.create_date)
        for d in devices
    ]
    emit(args, _devices_json(service, devices, args), _LIST_HEADERS, rows)
    return EXIT_OK


def _devices_json(
    service: IdentityService, devices: list[MfaDevice], args: argparse.Namespace
) -> dict[str, Any]:
    """A user's (or the root user's) devices as ``ListMFADevices`` lists them; every device, as
    ``ListVirtualMFADevices`` lists them, when no owner was named."""
    account = service.account()
    if args.user is not None or args.root:
        enabled = [d for d in devices if d.enable_date is not None]  # ListMFADevices: assigned ones
        return {"MFADevices": [_aws_json.mfa_device(d, account) for d in enabled]}
    owners = {u.name: u for u in service.list_users()}
    return {
        "VirtualMFADevices": [
            _aws_json.virtual_mfa_device(d, account, owners.get(d.user_name or "")) for d in devices
        ]
    }


def _who(args: argparse.Namespace) -> str:
    return "the root user" if args.root else f"user {args.user}"
