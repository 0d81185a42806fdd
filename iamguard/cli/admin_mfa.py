"""``iamguard mfa ...``: virtual MFA devices (TOTP, RFC 6238).

``create`` prints the device's base32 seed and an ``otpauth://`` URI once (load either into an
authenticator app); ``enable`` assigns the device to a user or the root user after two
consecutive codes, as AWS EnableMFADevice requires.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
"""

from __future__ import annotations

import argparse
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._aws_json import cli_shape
from iamguard.cli._iam_call import Iam, iam
from iamguard.cli._owners import add_user_or_root_args
from iamguard.cli._store_args import KEY_HELP, emit, group_parser, say, show_secret_once, verb
from iamguard.errors import IAMGuardError, NoSuchEntityError
from iamguard.store import mfa

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


def _serial(call: Iam, text: str) -> str:
    """A device's serial number (its ARN) from the ARN itself or the device name (looked up with
    ``ListVirtualMFADevices``)."""
    if text.startswith("arn:"):
        return text
    devices = call.all("ListVirtualMFADevices", {}, "VirtualMFADevices")["VirtualMFADevices"]
    matches = [d["SerialNumber"] for d in devices if d["SerialNumber"].rsplit("/", 1)[-1] == text]
    if len(matches) != 1:
        raise NoSuchEntityError(f"no single MFA device named {text!r}; pass its serial number (ARN)")
    return str(matches[0])


def _create(args: argparse.Namespace) -> int:
    call = iam(args)
    created = call("CreateVirtualMFADevice", {"VirtualMFADeviceName": args.name, "Path": args.path})
    device = created["VirtualMFADevice"]
    seed = bytes(device["Base32StringSeed"]).decode("ascii")
    account = call.store.account()
    uri = mfa.provisioning_uri(seed, account_name=f"{args.name}@{account.alias or account.account_id}")
    # the seed as the text an authenticator app takes (the API's blob is that text's bytes)
    data = {"VirtualMFADevice": {"SerialNumber": device["SerialNumber"], "Base32StringSeed": seed}}
    pairs = [("SerialNumber", device["SerialNumber"]), ("Base32Seed", seed), ("OtpauthURI", uri)]
    show_secret_once(args, data, pairs, _SEED_WARNING)
    return EXIT_OK


def _root_only(call: Iam, what: str) -> None:
    """The root user's own devices: AWS's API names no user for them, so only the root user acts."""
    if not call.caller.is_root:
        raise IAMGuardError(
            f"only the root user can {what} the root user's MFA device", code="AccessDenied", http_status=403
        )


def _codes(args: argparse.Namespace, action: str) -> None:
    call = iam(args)
    serial = _serial(call, args.serial)
    if args.root:  # IAM's EnableMFADevice/ResyncMFADevice take a user; the root user's is its own
        _root_only(call, action.removesuffix("MFADevice").lower())
        store_call = (
            call.store.enable_mfa_device if action == "EnableMFADevice" else call.store.resync_mfa_device
        )
        store_call(None, serial, args.code1, args.code2)
        return
    params = {
        "UserName": args.user,
        "SerialNumber": serial,
        "AuthenticationCode1": args.code1,
        "AuthenticationCode2": args.code2,
    }
    call(action, params)
    args.serial = serial


def _enable(args: argparse.Namespace) -> int:
    _codes(args, "EnableMFADevice")
    say(args, f"enabled MFA device {args.serial} for {_who(args)}")  # EnableMFADevice: nothing
    return EXIT_OK


def _resync(args: argparse.Namespace) -> int:
    _codes(args, "ResyncMFADevice")
    say(args, f"resynchronised MFA device {args.serial}")
    return EXIT_OK


def _deactivate(args: argparse.Namespace) -> int:
    call = iam(args)
    serial = _serial(call, args.serial)
    if args.root:
        _root_only(call, "deactivate")
    call("DeactivateMFADevice", {"UserName": args.user, "SerialNumber": serial})
    say(args, f"deactivated MFA device {serial} for {_who(args)}")
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    call = iam(args)
    serial = _serial(call, args.serial)
    call("DeleteVirtualMFADevice", {"SerialNumber": serial})
    say(args, f"deleted MFA device {serial}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    """A user's (or the root user's) devices as ``ListMFADevices`` lists them; every device, as
    ``ListVirtualMFADevices`` lists them, when no owner was named. The table's creation dates
    are iamguard's own (not in AWS's shapes), read after the listing was allowed."""
    call = iam(args)
    if args.user is not None or args.root:
        if args.root:
            _root_only(call, "list")
        found = call.all("ListMFADevices", {"UserName": args.user}, "MFADevices")
        devices, owners = found["MFADevices"], {d["SerialNumber"]: d["UserName"] for d in found["MFADevices"]}
        if args.root:
            owners = dict.fromkeys(owners, "root")
    else:
        found = call.all("ListVirtualMFADevices", {}, "VirtualMFADevices")
        devices, owners = found["VirtualMFADevices"], {}
        for d in devices:
            user = d.get("User") or {}
            owners[d["SerialNumber"]] = user.get("UserName") or ("root" if user else None)
    created = {d.serial_number: d.create_date for d in call.store.list_mfa_devices()}
    rows = [
        (
            d["SerialNumber"],
            owners.get(d["SerialNumber"]),
            d.get("EnableDate") is not None,
            d.get("EnableDate"),
            created.get(d["SerialNumber"]),
        )
        for d in devices
    ]
    emit(args, cli_shape(found), _LIST_HEADERS, rows)
    return EXIT_OK


def _who(args: argparse.Namespace) -> str:
    return "the root user" if args.root else f"user {args.user}"
