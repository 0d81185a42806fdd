"""Login profiles, ChangePassword and the account password policy through boto3's ``iam`` client.

Success shapes, every error of ``tests/data/iam/login/errors.json``, and AWS's delegation case:
a user with ``IAMUserChangePassword`` changes their own password and nobody else's.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_enable-user-change.html
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from iamguard.store.records import PrincipalKind

from ._more_fixtures import Endpoint, endpoint, error_of

__all__ = ["endpoint"]

DATA = Path(__file__).resolve().parent.parent / "data" / "iam" / "login"
ERRORS = json.loads((DATA / "errors.json").read_text())["rows"]
PASSWORD = "Str0ng-Passw0rd!"
CHANGE_OWN = "arn:aws:iam::iamguard:policy/IAMUserChangePassword"


def _seed(endpoint: Endpoint) -> None:
    endpoint.store.create_user("alice")
    endpoint.store.create_login_profile("alice", PASSWORD)
    endpoint.store.create_user("bob")


@pytest.mark.parametrize("row", ERRORS, ids=[r["name"] for r in ERRORS])
def test_errors(endpoint: Endpoint, row: dict[str, Any]) -> None:
    _seed(endpoint)
    iam = endpoint.iam()
    code, status, _ = error_of(getattr(iam, row["method"]), **row["params"])
    assert (code, status) == (row["code"], row["status"])


def test_login_profile_lifecycle(endpoint: Endpoint) -> None:
    endpoint.store.create_user("carol")
    iam = endpoint.iam()
    created = iam.create_login_profile(UserName="carol", Password=PASSWORD, PasswordResetRequired=True)
    profile = created["LoginProfile"]
    assert profile["UserName"] == "carol" and profile["PasswordResetRequired"] is True
    assert isinstance(profile["CreateDate"], datetime)
    got = iam.get_login_profile(UserName="carol")["LoginProfile"]
    assert got == profile
    iam.update_login_profile(UserName="carol", Password="N3w-Passw0rd!!", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="carol")["LoginProfile"]["PasswordResetRequired"] is False
    assert endpoint.store.check_password("carol", "N3w-Passw0rd!!").ok
    assert not endpoint.store.check_password("carol", PASSWORD).ok
    iam.delete_login_profile(UserName="carol")
    assert error_of(iam.get_login_profile, UserName="carol")[:2] == ("NoSuchEntity", 404)


def test_get_login_profile_defaults_to_the_calling_user(endpoint: Endpoint) -> None:
    key = endpoint.user_with_key("dave")
    endpoint.store.create_login_profile("dave", PASSWORD)
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "dave",
        "own-profile",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iam:GetLoginProfile",
                    "Resource": "arn:aws:iam::*:user/${aws:username}",
                }
            ],
        },
    )
    assert endpoint.iam(key).get_login_profile()["LoginProfile"]["UserName"] == "dave"


def test_password_policy_lifecycle(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    iam.update_account_password_policy(
        MinimumPasswordLength=12, RequireSymbols=True, MaxPasswordAge=90, PasswordReusePrevention=3
    )
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy == {
        "MinimumPasswordLength": 12,
        "RequireSymbols": True,
        "RequireNumbers": False,
        "RequireUppercaseCharacters": False,
        "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False,
        "ExpirePasswords": True,
        "MaxPasswordAge": 90,
        "PasswordReusePrevention": 3,
        "HardExpiry": False,
    }
    # Parameters left out of an update take the API's defaults, not the previous values.
    iam.update_account_password_policy(RequireNumbers=True)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 6 and policy["RequireSymbols"] is False
    assert "MaxPasswordAge" not in policy and policy["ExpirePasswords"] is False
    iam.delete_account_password_policy()
    assert error_of(iam.get_account_password_policy)[:2] == ("NoSuchEntity", 404)


def test_password_policy_violation_on_change(endpoint: Endpoint) -> None:
    """A password the policy refuses is PasswordPolicyViolation, for the user and the admin."""
    iam = endpoint.iam()
    key = endpoint.user_with_key("erin", CHANGE_OWN)
    endpoint.store.create_login_profile("erin", PASSWORD)
    iam.update_account_password_policy(MinimumPasswordLength=20, PasswordReusePrevention=2)
    user = endpoint.iam(key)
    code, status, message = error_of(
        user.change_password, OldPassword=PASSWORD, NewPassword="Short-Passw0rd!"
    )
    assert (code, status) == ("PasswordPolicyViolation", 400) and "20 characters" in message
    assert PASSWORD not in message
    long_password = "Long-Enough-Passw0rd-1"
    user.change_password(OldPassword=PASSWORD, NewPassword=long_password)
    # Reuse prevention: the previous password may not come back.
    assert error_of(user.change_password, OldPassword=long_password, NewPassword=PASSWORD)[0] == (
        "PasswordPolicyViolation"
    )
    assert error_of(iam.update_login_profile, UserName="erin", Password="Short-Passw0rd!")[0] == (
        "PasswordPolicyViolation"
    )


# ---------------------------------------------------------------------- delegation


def test_iam_user_change_password_changes_only_ones_own(endpoint: Endpoint) -> None:
    """IAMUserChangePassword: iam:ChangePassword on arn:aws:iam::*:user/${aws:username}."""
    _seed(endpoint)
    key = endpoint.user_with_key("frank", CHANGE_OWN)
    endpoint.store.create_login_profile("frank", PASSWORD)
    frank = endpoint.iam(key)
    frank.change_password(OldPassword=PASSWORD, NewPassword="Fr4nk-New-Passw0rd")
    assert endpoint.store.check_password("frank", "Fr4nk-New-Passw0rd").ok
    # The policy also lets the user read the account password policy it must satisfy.
    frank_reads = error_of(frank.get_account_password_policy)
    assert frank_reads[:2] == ("NoSuchEntity", 404)  # allowed, and there is none
    # Another user's password: only through the admin actions, which the policy does not allow.
    code, status, message = error_of(
        frank.update_login_profile, UserName="alice", Password="Hij4cked-Passw0rd"
    )
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:UpdateLoginProfile" in message and "user/alice" in message
    assert error_of(frank.delete_login_profile, UserName="alice")[:2] == ("AccessDenied", 403)
    assert error_of(frank.create_login_profile, UserName="bob", Password="B0b-Passw0rd-Set")[:2] == (
        "AccessDenied",
        403,
    )
    assert endpoint.store.check_password("alice", PASSWORD).ok


def test_change_password_needs_permission_on_ones_own_arn(endpoint: Endpoint) -> None:
    """A policy naming another user's ARN does not let the caller change their own password."""
    _seed(endpoint)
    key = endpoint.user_with_key("gina")
    endpoint.store.create_login_profile("gina", PASSWORD)
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "gina",
        "alice-only",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "arn:aws:iam::*:user/alice"}
            ],
        },
    )
    code, status, message = error_of(
        endpoint.iam(key).change_password, OldPassword=PASSWORD, NewPassword="G1na-New-Passw0rd"
    )
    assert (code, status) == ("AccessDenied", 403) and "user/gina" in message
    assert endpoint.store.check_password("gina", PASSWORD).ok


def test_allow_users_to_change_password_needs_no_policy(endpoint: Endpoint) -> None:
    key = endpoint.user_with_key("hank")
    endpoint.store.create_login_profile("hank", PASSWORD)
    hank = endpoint.iam(key)
    assert error_of(hank.change_password, OldPassword=PASSWORD, NewPassword="H4nk-New-Passw0rd")[:2] == (
        "AccessDenied",
        403,
    )
    endpoint.iam().update_account_password_policy(AllowUsersToChangePassword=True)
    hank.change_password(OldPassword=PASSWORD, NewPassword="H4nk-New-Passw0rd")
    assert endpoint.store.check_password("hank", "H4nk-New-Passw0rd").ok


def test_change_password_with_the_wrong_old_password(endpoint: Endpoint) -> None:
    key = endpoint.user_with_key("ivy", CHANGE_OWN)
    endpoint.store.create_login_profile("ivy", PASSWORD)
    code, status, _ = error_of(
        endpoint.iam(key).change_password, OldPassword="Wr0ng-Passw0rd!", NewPassword="Iv1-Passw0rd!!"
    )
    assert (code, status) == ("InvalidUserType", 400)
    assert endpoint.store.check_password("ivy", PASSWORD).ok


def test_change_password_without_a_login_profile(endpoint: Endpoint) -> None:
    key = endpoint.user_with_key("jack", CHANGE_OWN)
    assert error_of(endpoint.iam(key).change_password, OldPassword=PASSWORD, NewPassword="J4ck-Passw0rd!")[
        :2
    ] == (
        "NoSuchEntity",
        404,
    )
