"""``iamguard mfa ...``: virtual devices, enabled with two consecutive TOTP codes.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from iamguard.store import mfa

from . import admin_cli_support as support
from .admin_cli_support import Cli, service

cli = support.cli
store_url = support.store_url

SERIAL = "arn:aws:iam::123456789012:mfa/alice-phone"


def _codes(seed: str, first_offset: int) -> tuple[str, str]:
    now = time.time()
    return mfa.totp(seed, now + first_offset), mfa.totp(seed, now + first_offset + 30)


def _create(cli: Cli) -> str:
    created = cli("mfa", "create", "alice-phone", "--json")
    assert created.code == 0, created.err
    return str(created.json["VirtualMFADevice"]["Base32StringSeed"])


def test_create_prints_seed_and_uri_once(cli: Cli, store_url: str) -> None:
    cli("account", "alias-create", "example-co")
    created = cli("mfa", "create", "alice-phone")
    assert created.code == 0 and "shown only now" in created.err
    lines = dict(line.split(None, 1) for line in created.out.splitlines())
    assert lines["SerialNumber"] == SERIAL
    uri = urlsplit(lines["OtpauthURI"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [lines["Base32Seed"]]
    assert "alice-phone%40example-co" in uri.path
    listed = cli("mfa", "list")
    assert SERIAL in listed.out and lines["Base32Seed"] not in listed.out


def test_enable_resync_deactivate_delete(cli: Cli, store_url: str) -> None:
    cli("user", "create", "alice")
    seed = _create(cli)
    bad = cli("mfa", "enable", SERIAL, "--user", "alice", "000000", "000001")
    assert bad.code == 1 and "InvalidAuthenticationCode" in bad.err
    code1, code2 = _codes(seed, 0)
    enabled = cli("mfa", "enable", "alice-phone", "--user", "alice", code1, code2, "--json")
    assert enabled.code == 0 and enabled.out == ""  # EnableMFADevice answers nothing, as in AWS
    (listed,) = cli("mfa", "list", "--user", "alice", "--json").json["MFADevices"]
    assert listed["UserName"] == "alice" and listed["SerialNumber"] == SERIAL and "EnableDate" in listed
    (every,) = cli("mfa", "list", "--json").json["VirtualMFADevices"]
    assert every["User"]["UserName"] == "alice" and every["SerialNumber"] == SERIAL
    assert [d.serial_number for d in service(store_url).list_mfa_devices("alice")] == [SERIAL]
    assert "DeleteConflict" in cli("mfa", "delete", SERIAL).err
    code3, code4 = _codes(seed, 60)
    assert cli("mfa", "resync", SERIAL, "--user", "alice", code3, code4).code == 0
    assert cli("mfa", "deactivate", SERIAL, "--user", "alice").code == 0
    assert service(store_url).list_mfa_devices("alice") == []
    assert cli("mfa", "delete", SERIAL).code == 0
    assert cli("mfa", "list", "--json").json == {"VirtualMFADevices": []}


def test_root_mfa_clears_the_account_warning(cli: Cli) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"""
    cli("account", "alias-create", "example-co")  # creates the store
    before = cli("account", "show", "--json").json["Warnings"]
    assert "the root user has no MFA device enabled" in before
    seed = _create(cli)
    assert cli("mfa", "enable", SERIAL, "--root", *_codes(seed, 0)).code == 0
    (device,) = cli("mfa", "list", "--root", "--json").json["MFADevices"]
    assert device["SerialNumber"] == SERIAL and device["UserName"] == "123456789012"
    (virtual,) = cli("mfa", "list", "--json").json["VirtualMFADevices"]
    assert virtual["User"] == {"Arn": "arn:aws:iam::123456789012:root", "UserId": "123456789012"}
    after = cli("account", "show", "--json").json["Warnings"]
    assert "the root user has no MFA device enabled" not in after


def test_unknown_device_name(cli: Cli) -> None:
    result = cli("mfa", "deactivate", "nope", "--user", "alice")
    assert result.code == 1 and "NoSuchEntity" in result.err
