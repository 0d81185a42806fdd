"""Console passwords: login profiles, ChangePassword and the account password policy.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`. Login-profile actions
are authorized on the user's ARN; the password-policy actions on ``*`` (they have no resource
type). ``ChangePassword`` changes only the caller's own password (it takes no user name), so
AWS's ``IAMUserChangePassword`` policy (``iam:ChangePassword`` on
``arn:aws:iam::*:user/${aws:username}``) is enough for it; an account password policy with
``AllowUsersToChangePassword`` lets every IAM user do it without a policy.
A password the account policy refuses is ``PasswordPolicyViolation``.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ChangePassword.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_enable-user-change.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iamguard.errors import IAMGuardError, InvalidInputError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam.ops_users import user_target
from iamguard.store.passwords import PasswordPolicy
from iamguard.store.records import LoginProfile

__all__: list[str] = []

# The UpdateAccountPasswordPolicy parameters, in the API reference's order (AWS field names).
_POLICY_FIELDS = (
    "MinimumPasswordLength",
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
    "AllowUsersToChangePassword",
    "MaxPasswordAge",
    "PasswordReusePrevention",
    "HardExpiry",
)


def _profile_value(profile: LoginProfile) -> dict[str, Any]:
    return {
        "UserName": profile.user_name,
        "CreateDate": profile.create_date,
        "PasswordResetRequired": profile.password_reset_required,
    }


def _named_or_caller(call: Call) -> str:
    """``UserName``, else the IAM user who signed the request (GetLoginProfile's default)."""
    name = call.get("UserName") or call.caller.user_name
    if name is None:
        raise IAMGuardError(
            "Must specify userName when calling with non-User credentials",
            code="ValidationError",
            http_status=400,
        )
    return str(name)


def _refuse_session_duration(call: Call) -> None:
    """iamguard's console keeps no per-user sign-in session length; refusing beats ignoring it."""
    if call.get("MaxSigninSessionDuration") is not None or call.get("ResetMaxSigninSessionDuration"):
        raise InvalidInputError("MaxSigninSessionDuration is not supported by iamguard")


def _user(call: Call) -> Iterable[Target]:
    return [user_target(call, _named_or_caller(call))]


# ---------------------------------------------------------------------- login profiles


@operation("CreateLoginProfile", targets=_user)
def create_login_profile(call: Call) -> Result:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html"""
    _refuse_session_duration(call)
    if call.get("Password") is None:
        raise IAMGuardError(
            "A password is required to create a login profile", code="ValidationError", http_status=400
        )
    profile = call.store.create_login_profile(
        _named_or_caller(call),
        call["Password"],
        password_reset_required=bool(call.get("PasswordResetRequired")),
    )
    return {"LoginProfile": _profile_value(profile)}


@operation("GetLoginProfile", targets=_user)
def get_login_profile(call: Call) -> Result:
    return {"LoginProfile": _profile_value(call.store.get_login_profile(_named_or_caller(call)))}


@operation("UpdateLoginProfile", targets=_user)
def update_login_profile(call: Call) -> Result:
    """An administrator's reset: a new password (checked against the policy) and/or the
    PasswordResetRequired flag. https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateLoginProfile.html"""
    _refuse_session_duration(call)
    call.store.update_login_profile(
        call["UserName"],
        password=call.get("Password"),
        password_reset_required=call.get("PasswordResetRequired"),
    )
    return None


@operation("DeleteLoginProfile", targets=_user)
def delete_login_profile(call: Call) -> Result:
    call.store.delete_login_profile(_named_or_caller(call))
    return None


# ---------------------------------------------------------------------- ChangePassword


def _own_user(call: Call) -> str:
    """The calling IAM user; anyone else (root, a role session) is ``InvalidUserType``."""
    name = call.caller.user_name
    if name is None:
        raise IAMGuardError(
            "Only IAM users can change their own password with ChangePassword",
            code="InvalidUserType",
            http_status=400,
        )
    return name


def _change_targets(call: Call) -> Iterable[Target]:
    name = _own_user(call)
    try:
        allowed_by_account = call.store.get_account_password_policy().allow_users_to_change_password
    except NoSuchEntityError:
        allowed_by_account = False
    if allowed_by_account:
        return []  # AllowUsersToChangePassword: every IAM user may change their own password
    return [user_target(call, name)]


@operation("ChangePassword", targets=_change_targets)
def change_password(call: Call) -> Result:
    """The caller's own password: the old one must match, the new one satisfy the policy."""
    call.store.change_password(_own_user(call), call["OldPassword"], call["NewPassword"])
    return None


# ---------------------------------------------------------------------- account password policy


def _anything(call: Call) -> Iterable[Target]:
    return [Target.on("*")]


def _no_policy(call: Call) -> IAMGuardError:
    return NoSuchEntityError(
        f"The Password Policy with domain name {call.account_id} cannot be found.", code="NoSuchEntity"
    )


@operation("GetAccountPasswordPolicy", targets=_anything)
def get_account_password_policy(call: Call) -> Result:
    try:
        policy = call.store.get_account_password_policy()
    except NoSuchEntityError:
        raise _no_policy(call) from None
    return {"PasswordPolicy": policy.to_json()}


@operation("UpdateAccountPasswordPolicy", targets=_anything)
def update_account_password_policy(call: Call) -> Result:
    """Parameters left out take the API's defaults (not the previous values), as AWS does."""
    policy = PasswordPolicy.from_json({name: call[name] for name in _POLICY_FIELDS if name in call.params})
    call.store.update_account_password_policy(policy)
    return None


@operation("DeleteAccountPasswordPolicy", targets=_anything)
def delete_account_password_policy(call: Call) -> Result:
    try:
        call.store.delete_account_password_policy()
    except NoSuchEntityError:
        raise _no_policy(call) from None
    return None
