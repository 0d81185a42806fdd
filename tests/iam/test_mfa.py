"""Virtual MFA devices through boto3's ``iam`` client: create (seed + QR code), enable, resync,
deactivate, list, delete; every error of ``tests/data/iam/mfa/errors.json``.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_VirtualMFADevice.html
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from iamguard.iam.ops_mfa import otpauth_uri, qr_code_png
from iamguard.store import mfa
from iamguard.store.records import PrincipalKind

from ._more_fixtures import ACCOUNT, Endpoint, endpoint, error_of

__all__ = ["endpoint"]

DATA = Path(__file__).resolve().parent.parent / "data" / "iam" / "mfa"
ERRORS = json.loads((DATA / "errors.json").read_text())["rows"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _codes(
    endpoint: Endpoint, seed: str, first_step_offset: int = -1, now: float | None = None
) -> tuple[str, str]:
    """Two consecutive codes: the steps ``first_step_offset`` and ``first_step_offset + 1`` from now."""
    now = endpoint.clock() if now is None else now
    return mfa.totp(seed, now + 30 * first_step_offset), mfa.totp(seed, now + 30 * (first_step_offset + 1))


def _create(endpoint: Endpoint, name: str, **params: Any) -> tuple[str, str]:
    device = endpoint.iam().create_virtual_mfa_device(VirtualMFADeviceName=name, **params)["VirtualMFADevice"]
    return device["SerialNumber"], device["Base32StringSeed"].decode("ascii")


def _seed(endpoint: Endpoint) -> dict[str, str]:
    endpoint.store.create_user("alice")
    spare, _ = _create(endpoint, "spare")
    phone, seed = _create(endpoint, "alice-phone")
    code1, code2 = _codes(endpoint, seed)
    endpoint.iam().enable_mfa_device(
        UserName="alice", SerialNumber=phone, AuthenticationCode1=code1, AuthenticationCode2=code2
    )
    return {"{spare}": spare, "{alice-phone}": phone}


@pytest.mark.parametrize("row", ERRORS, ids=[r["name"] for r in ERRORS])
def test_errors(endpoint: Endpoint, row: dict[str, Any]) -> None:
    serials = _seed(endpoint)
    params = {k: serials.get(v, v) if isinstance(v, str) else v for k, v in row["params"].items()}
    code, status, _ = error_of(getattr(endpoint.iam(), row["method"]), **params)
    assert (code, status) == (row["code"], row["status"])


def test_create_returns_the_seed_and_a_qr_code_of_its_otpauth_uri(endpoint: Endpoint) -> None:
    device = endpoint.iam().create_virtual_mfa_device(VirtualMFADeviceName="laptop", Path="/team/")
    value = device["VirtualMFADevice"]
    assert value["SerialNumber"] == f"arn:aws:iam::{ACCOUNT}:mfa/team/laptop"
    seed = value["Base32StringSeed"].decode("ascii")
    assert len(seed) == 32 and set(seed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")  # 160 bits, base32
    png = value["QRCodePNG"]
    assert png.startswith(PNG_SIGNATURE)
    uri = otpauth_uri(seed, "laptop", ACCOUNT)
    assert uri.startswith("otpauth://totp/iamguard:laptop%40111122223333?secret=" + seed)
    # The PNG is the QR code of exactly that URI (segno's output is deterministic).
    assert png == qr_code_png(uri)
    assert png != qr_code_png(otpauth_uri(mfa.generate_totp_secret(), "laptop", ACCOUNT))
    # The seed is shown once: listing never returns it.
    listed = endpoint.iam().list_virtual_mfa_devices()["VirtualMFADevices"]
    assert listed == [{"SerialNumber": value["SerialNumber"]}]


def test_qr_code_label_uses_the_account_alias(endpoint: Endpoint) -> None:
    endpoint.store.create_account_alias("example-corp")
    value = endpoint.iam().create_virtual_mfa_device(VirtualMFADeviceName="tablet")["VirtualMFADevice"]
    seed = value["Base32StringSeed"].decode("ascii")
    assert value["QRCodePNG"] == qr_code_png(otpauth_uri(seed, "tablet", "example-corp"))


def test_enable_list_resync_deactivate_delete(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    endpoint.store.create_user("bob")
    serial, seed = _create(endpoint, "bob-phone")
    code1, code2 = _codes(endpoint, seed)
    iam.enable_mfa_device(
        UserName="bob", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2
    )
    listed = iam.list_mfa_devices(UserName="bob")
    assert listed["IsTruncated"] is False
    [device] = listed["MFADevices"]
    assert device["UserName"] == "bob" and device["SerialNumber"] == serial
    assert isinstance(device["EnableDate"], datetime)
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [d["SerialNumber"] for d in assigned] == [serial]
    assert assigned[0]["User"]["UserName"] == "bob" and "EnableDate" in assigned[0]
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"] == []
    # The codes just used are spent; a later pair resynchronises the device.
    assert error_of(
        iam.resync_mfa_device,
        UserName="bob",
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )[:2] == ("InvalidAuthenticationCode", 403)
    # one reading of the clock for the codes and the expectation: the clock is real time, and a
    # 30-second step can end between two readings on a loaded machine
    now = endpoint.clock()
    later1, later2 = _codes(endpoint, seed, first_step_offset=2, now=now)
    iam.resync_mfa_device(
        UserName="bob", SerialNumber=serial, AuthenticationCode1=later1, AuthenticationCode2=later2
    )
    assert endpoint.store.list_mfa_devices("bob")[0].last_used_step == int(now // 30) + 3
    iam.deactivate_mfa_device(UserName="bob", SerialNumber=serial)
    assert iam.list_mfa_devices(UserName="bob")["MFADevices"] == []
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert [d["SerialNumber"] for d in unassigned] == [serial]
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_a_user_manages_their_own_device(endpoint: Endpoint) -> None:
    """AWS's self-service pattern: MFA actions on the caller's own user and device ARNs."""
    key = endpoint.user_with_key("carol")
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "carol",
        "own-mfa",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
                    "Resource": "arn:aws:iam::*:mfa/${aws:username}",
                },
                {
                    "Effect": "Allow",
                    "Action": ["iam:EnableMFADevice", "iam:ListMFADevices", "iam:DeactivateMFADevice"],
                    "Resource": "arn:aws:iam::*:user/${aws:username}",
                },
            ],
        },
    )
    carol = endpoint.iam(key)
    value = carol.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]
    code1, code2 = _codes(endpoint, value["Base32StringSeed"].decode("ascii"))
    carol.enable_mfa_device(
        UserName="carol",
        SerialNumber=value["SerialNumber"],
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert [d["SerialNumber"] for d in carol.list_mfa_devices()["MFADevices"]] == [value["SerialNumber"]]
    carol.deactivate_mfa_device(SerialNumber=value["SerialNumber"])
    # Another name, another user: refused.
    assert error_of(carol.create_virtual_mfa_device, VirtualMFADeviceName="dave")[:2] == ("AccessDenied", 403)
    endpoint.store.create_user("dave")
    assert error_of(carol.list_mfa_devices, UserName="dave")[:2] == ("AccessDenied", 403)
    assert error_of(carol.list_virtual_mfa_devices)[:2] == ("AccessDenied", 403)


def test_virtual_devices_paginate(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    names = [f"device-{i}" for i in range(5)]
    for name in names:
        _create(endpoint, name)
    first = iam.list_virtual_mfa_devices(MaxItems=2)
    assert first["IsTruncated"] is True and len(first["VirtualMFADevices"]) == 2
    seen = [d["SerialNumber"] for d in first["VirtualMFADevices"]]
    marker = first["Marker"]
    while marker:
        following = iam.list_virtual_mfa_devices(MaxItems=2, Marker=marker)
        seen += [d["SerialNumber"] for d in following["VirtualMFADevices"]]
        marker = following.get("Marker")
    assert seen == [f"arn:aws:iam::{ACCOUNT}:mfa/{name}" for name in names]
    paginated = [
        d["SerialNumber"]
        for p in iam.get_paginator("list_virtual_mfa_devices").paginate(PaginationConfig={"PageSize": 3})
        for d in p["VirtualMFADevices"]
    ]
    assert paginated == seen
