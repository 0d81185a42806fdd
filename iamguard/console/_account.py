"""Account settings (alias, password policy) and a user's console password and MFA devices.

Part of ``console/``. The settings page reads ``GetAccountPasswordPolicy`` (AWS's defaults when
the account has none) and saves with ``UpdateAccountPasswordPolicy``, whose parameters left out
take the API's defaults, so the form always sends every field
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html).
A user's console password is set, reset (with "must reset") or removed with the login-profile
actions; an MFA device is deactivated with ``DeactivateMFADevice``.

The MFA requirement for console sign-in is an iamguard account setting with no IAM action of
its own in AWS (AWS enforces MFA with policies or organization controls), so changing it is
authorized as ``iam:UpdateAccountPasswordPolicy``, the action governing the neighbouring
sign-in rules: whoever may change the password policy may require MFA.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from iamguard.console._http import Response
from iamguard.errors import IAMGuardError
from iamguard.store.passwords import PasswordPolicy

if TYPE_CHECKING:
    from iamguard.console.app import Handler, Page

__all__ = ["MFA_SETTING_ACTION", "ROUTES"]

_log = logging.getLogger("iamguard.console")

_FLAGS = (
    ("RequireUppercaseCharacters", "Require at least one uppercase letter (A-Z)"),
    ("RequireLowercaseCharacters", "Require at least one lowercase letter (a-z)"),
    ("RequireNumbers", "Require at least one number"),
    ("RequireSymbols", "Require at least one non-alphanumeric character"),
    ("AllowUsersToChangePassword", "Allow users to change their own password"),
    ("HardExpiry", "Prevent password reuse after expiry (administrator reset)"),
)
_NUMBERS = (
    ("MinimumPasswordLength", "Minimum password length", 6, 128),
    ("MaxPasswordAge", "Password expiration (days; empty for never)", 1, 1095),
    ("PasswordReusePrevention", "Remember previous passwords (empty for none)", 1, 24),
)
_USER = r"/users/(?P<name>[\w+=,.@-]{1,64})"


def settings(page: Page) -> Response:
    try:
        policy: dict[str, Any] = (page.call("GetAccountPasswordPolicy") or {})["PasswordPolicy"]
        custom = True
    except IAMGuardError as error:
        if error.code != "NoSuchEntity":
            raise
        policy, custom = PasswordPolicy().to_json(), False
    return page.render(
        "account.html",
        policy=policy,
        custom=custom,
        flags=_FLAGS,
        numbers=_NUMBERS,
        mfa_setting=page.app.store.console_mfa_required(),
        mfa_override=page.app.require_mfa,
    )


#: The action that authorizes changing the MFA requirement (see the module doc).
MFA_SETTING_ACTION = "iam:UpdateAccountPasswordPolicy"


def save_mfa_requirement(page: Page) -> Response:
    """Require MFA for every console user, or stop requiring it (authorized as
    ``iam:UpdateAccountPasswordPolicy``; a refusal shows the denial)."""
    page.app.iam.authorizer.check(page.caller, MFA_SETTING_ACTION, "*")
    required = page.request.form.get("require_mfa") == "on"
    page.app.store.set_console_mfa_required(required)
    _log.info("console MFA requirement set to %s by %s", required, page.caller.principal.arn)
    return Response.redirect(page.url("/account"))


def save_password_policy(page: Page) -> Response:
    form = page.request.form
    params: dict[str, Any] = {name: form.get(name) == "on" for name, _ in _FLAGS}
    for name, _, _, _ in _NUMBERS:
        text = form.get(name, "").strip()
        if text:
            if not text.isdigit():
                raise IAMGuardError(f"{name} must be a whole number", code="ValidationError", http_status=400)
            params[name] = int(text)
    page.call("UpdateAccountPasswordPolicy", params)
    return Response.redirect(page.url("/account"))


def set_password(page: Page) -> Response:
    """Create or replace the user's console password, or remove it."""
    name, form = page.params["name"], page.request.form
    if form.get("action") == "remove":
        page.call("DeleteLoginProfile", {"UserName": name})
        return Response.redirect(page.url(f"/users/{name}"))
    params = {
        "UserName": name,
        "Password": form.get("new_password", ""),
        "PasswordResetRequired": form.get("require_reset") == "on",
    }
    try:
        page.call("GetLoginProfile", {"UserName": name})
    except IAMGuardError as error:
        if error.code != "NoSuchEntity":
            raise
        page.call("CreateLoginProfile", params)
    else:
        page.call("UpdateLoginProfile", params)
    return Response.redirect(page.url(f"/users/{name}"))


def deactivate_mfa(page: Page) -> Response:
    name = page.params["name"]
    page.call("DeactivateMFADevice", {"UserName": name, "SerialNumber": page.request.form.get("serial", "")})
    return Response.redirect(page.url(f"/users/{name}"))


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", r"/account", settings, True),
    ("POST", r"/account/password-policy", save_password_policy, True),
    ("POST", r"/account/mfa-requirement", save_mfa_requirement, True),
    ("POST", _USER + r"/password", set_password, True),
    ("POST", _USER + r"/mfa/deactivate", deactivate_mfa, True),
]
