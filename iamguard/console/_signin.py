"""Signing in and out: password, MFA code, forced password change, root, CSRF checks.

Part of ``console/``. The sign-in page lives at the account's login URL. A wrong user name, a
wrong password, a user without a console password and a locked user all get the same answer,
AWS's "Your authentication information is incorrect", so the page never tells whether a user
exists; the store's lockout counters (shared by every process) refuse further guesses.
A user with an enabled MFA device is asked for a code next (each code is accepted once); a user
whose password must be reset or has expired changes it before anything else
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_user-change-own.html).
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

import segno

from iamguard.console._http import Response
from iamguard.console._session import (
    PENDING_COOKIE,
    PRE_CSRF_COOKIE,
    SESSION_COOKIE,
    PendingSignIn,
    new_csrf_value,
)
from iamguard.errors import IAMGuardError
from iamguard.iam._caller import root_caller, user_caller
from iamguard.iam.ops_mfa import otpauth_uri
from iamguard.store import passwords

if TYPE_CHECKING:
    from iamguard.console.app import Handler, Page

__all__ = ["ROUTES", "csrf_ok"]

_log = logging.getLogger("iamguard.console")

#: AWS's own wording for every refused sign-in.
INCORRECT = "Your authentication information is incorrect. Please try again."
_LABEL = r"/signin/(?P<label>[a-z0-9-]{3,63}|\d{12})"


def csrf_ok(page: Page) -> bool:
    """Whether a POST carries this session's CSRF token (or, before sign-in, the value of the
    sign-in forms' cookie)."""
    sent = page.request.form.get("csrf", "")
    if page.session is not None:
        expected = page.session.csrf_token
    else:
        expected = page.request.cookies.get(PRE_CSRF_COOKIE, "")
    return bool(sent) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def _label_ok(page: Page) -> bool:
    account = page.app.store.account()
    return page.params.get("label") in {account.alias, account.account_id}


def _form(page: Page, template: str, **values: Any) -> Response:
    """A sign-in form page; sets the double-submit CSRF cookie when there is none yet."""
    if page.session is not None:
        return page.render(template, **values)
    cookie = page.request.cookies.get(PRE_CSRF_COOKIE)
    fresh = cookie is None
    cookie = cookie or new_csrf_value()
    response = page.render(template, csrf=cookie, **values)
    if fresh:
        response.set_cookie(PRE_CSRF_COOKIE, cookie, path=page.url("/"), secure=page.request.secure)
    return response


def _not_found(page: Page) -> Response:
    return page.render("error.html", status=404, code="NotFound", message="There is no such sign-in page.")


# ---------------------------------------------------------------------- pages


def home(page: Page) -> Response:
    target = "/home" if page.session is not None else page.app.login_path()
    return Response.redirect(page.url(target))


def signin_form(page: Page) -> Response:
    if not _label_ok(page):
        return _not_found(page)
    return _form(page, "signin.html", error=None, user_name="")


def signin(page: Page) -> Response:
    if not _label_ok(page):
        return _not_found(page)
    name = page.request.form.get("user_name", "").strip()
    password = page.request.form.get("password", "")
    outcome = page.app.store.check_password(name, password) if name and password else None
    if outcome is None or not outcome.ok:
        # the name typed is not logged: a wrong one is often a password typed in the wrong field
        _log.info("console sign-in refused from %s", page.request.remote_addr)
        return _form(page, "signin.html", error=INCORRECT, user_name=name)
    must_change = outcome.password_reset_required or outcome.password_expired
    devices = [d for d in page.app.store.list_mfa_devices(name) if d.enable_date is not None]
    if devices:
        return _pending(page, name, "mfa+change" if must_change else "mfa", "/mfa")
    if must_change:
        return _pending(page, name, "change", "/password")
    return _finish(page, name, mfa_time=None)


def root_form(page: Page) -> Response:
    if not _label_ok(page) or not page.app.root_sign_in_enabled():
        return _not_found(page)
    return _form(page, "signin_root.html", error=None)


def _root_password_ok(page: Page, password: str) -> bool:
    """The store's root password with its shared lockout, or the app's override hash (counted
    by the console's own throttle, also kept in the store)."""
    stored = page.app.root_password_hash
    if stored is None:
        return page.app.store.check_root_password(password).ok
    throttle = page.app.root_throttle
    if throttle.blocked("root") or not passwords.verify_password(stored, password):
        throttle.failed("root")
        return False
    return True


def root_signin(page: Page) -> Response:
    if not _label_ok(page) or not page.app.root_sign_in_enabled():
        return _not_found(page)
    if not _root_password_ok(page, page.request.form.get("password", "")):
        _log.info("console root sign-in refused from %s", page.request.remote_addr)
        return _form(page, "signin_root.html", error=INCORRECT)
    if any(d.enable_date is not None for d in page.app.store.list_mfa_devices(root=True)):
        return _pending(page, None, "mfa", "/mfa")
    return _signed_in(page, None, mfa_time=None)


def mfa_form(page: Page) -> Response:
    pending = _current(page, "mfa")
    if pending is None:
        return Response.redirect(page.url(page.app.login_path()))
    return _form(page, "signin_mfa.html", error=None, user_name=pending.user_name)


def mfa(page: Page) -> Response:
    pending = _current(page, "mfa")
    if pending is None:
        return Response.redirect(page.url(page.app.login_path()))
    code = page.request.form.get("code", "").strip()
    subject = "root" if pending.user_name is None else f"user:{pending.user_name}"
    throttle = page.app.mfa_throttle
    if throttle.blocked(subject):
        message = "Too many invalid MFA codes. Try again in a few minutes."
        return _form(page, "signin_mfa.html", error=message, user_name=pending.user_name)
    if not page.app.store.verify_mfa_code(pending.user_name, code):
        throttle.failed(subject)
        return _form(page, "signin_mfa.html", error="The MFA code is not valid.", user_name=pending.user_name)
    at = int(page.app.clock())
    if pending.step == "mfa+change":
        assert pending.user_name is not None
        return _pending(page, pending.user_name, "change", "/password", mfa_time=at)
    return _signed_in(page, pending.user_name, mfa_time=at)


def change_form(page: Page) -> Response:
    pending = _current(page, "change")
    if pending is None:
        return Response.redirect(page.url(page.app.login_path()))
    return _form(page, "signin_change.html", error=None, user_name=pending.user_name)


def change(page: Page) -> Response:
    pending = _current(page, "change")
    if pending is None or pending.user_name is None:
        return Response.redirect(page.url(page.app.login_path()))
    form = page.request.form
    error = None
    if form.get("new_password", "") != form.get("confirm_password", ""):
        error = "The new passwords do not match."
    else:
        try:
            page.app.iam.call(
                "ChangePassword",
                {"OldPassword": form.get("old_password", ""), "NewPassword": form.get("new_password", "")},
                caller=user_caller(page.app.store, pending.user_name),
            )
        except IAMGuardError as failure:
            error = str(failure)
    if error is not None:
        return _form(page, "signin_change.html", error=error, user_name=pending.user_name)
    return _finish(page, pending.user_name, mfa_time=pending.mfa_time)


def enrol_form(page: Page) -> Response:
    """The console requires MFA and the user has none: a new virtual device to set up now."""
    pending = _current(page, "enrol")
    if pending is None or pending.user_name is None:
        return Response.redirect(page.url(page.app.login_path()))
    return _enrol_page(page, pending.user_name, None)


def _device_serial(page: Page, name: str) -> str:
    account = page.app.store.account()
    return f"arn:{account.partition}:iam::{account.account_id}:mfa/{name}"


def _enrol_page(page: Page, name: str, error: str | None) -> Response:
    """A fresh device (an unfinished earlier one is replaced) and its QR code and secret."""
    store, serial = page.app.store, _device_serial(page, name)
    if any(d.serial_number == serial and d.user_name is None for d in store.list_mfa_devices()):
        store.delete_virtual_mfa_device(serial)
    created = store.create_virtual_mfa_device(name)
    account = store.account()
    uri = otpauth_uri(created.base32_seed, name, account.alias or account.account_id)
    qr = segno.make_qr(uri, error="m").svg_inline(scale=5, title=f"QR code for MFA device {name}")
    return _form(page, "signin_enrol.html", error=error, user_name=name, seed=created.base32_seed, qr=qr)


def enrol(page: Page) -> Response:
    pending = _current(page, "enrol")
    if pending is None or pending.user_name is None:
        return Response.redirect(page.url(page.app.login_path()))
    name, form = pending.user_name, page.request.form
    try:
        page.app.store.enable_mfa_device(
            name, _device_serial(page, name), form.get("code1", "").strip(), form.get("code2", "").strip()
        )
    except IAMGuardError as failure:
        if failure.code != "InvalidAuthenticationCode":
            raise
        return _enrol_page(
            page, name, "The MFA codes are not valid. Set up the new secret below and try again."
        )
    return _signed_in(page, name, mfa_time=int(page.app.clock()))


def signout(page: Page) -> Response:
    if page.session is not None:
        page.app.sessions.sign_out(page.session)
        _log.info("console sign-out of %s", page.session.claims.arn)
    response = Response.redirect(page.url(page.app.login_path()))
    response.delete_cookie(SESSION_COOKIE, path=page.session_cookie_path, secure=page.request.secure)
    return response


# ---------------------------------------------------------------------- steps


def _current(page: Page, step: str) -> PendingSignIn | None:
    pending = page.app.sessions.open_pending(page.request.cookies.get(PENDING_COOKIE))
    if pending is None or not _label_ok(page) or not pending.step.startswith(step):
        return None
    return pending


def _pending(
    page: Page, user_name: str | None, step: str, suffix: str, *, mfa_time: int | None = None
) -> Response:
    cookie = page.app.sessions.new_pending(user_name, step, mfa_time=mfa_time)
    response = Response.redirect(page.url(page.app.login_path() + suffix))
    response.set_cookie(PENDING_COOKIE, cookie, path=page.url("/"), secure=page.request.secure)
    return response


def _finish(page: Page, user_name: str, *, mfa_time: int | None) -> Response:
    """Sign in, unless the console requires MFA and the user has no device: enrol first."""
    required = mfa_time is None and page.app.mfa_required()
    devices = page.app.store.list_mfa_devices(user_name) if required else []
    if required and not any(d.enable_date is not None for d in devices):
        return _pending(page, user_name, "enrol", "/enrol")
    return _signed_in(page, user_name, mfa_time=mfa_time)


def _signed_in(page: Page, user_name: str | None, *, mfa_time: int | None) -> Response:
    store = page.app.store
    caller = root_caller(store) if user_name is None else user_caller(store, user_name)
    cookie = page.app.sessions.issue(caller.principal, mfa_time=mfa_time)
    _log.info(
        "console sign-in of %s from %s (MFA: %s)",
        caller.principal.arn,
        page.request.remote_addr,
        "yes" if mfa_time is not None else "no",
    )
    response = Response.redirect(page.url("/home"))
    response.set_cookie(SESSION_COOKIE, cookie, path=page.session_cookie_path, secure=page.request.secure)
    response.delete_cookie(PENDING_COOKIE, path=page.url("/"), secure=page.request.secure)
    return response


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", r"/", home, False),
    ("GET", _LABEL, signin_form, False),
    ("POST", _LABEL, signin, False),
    ("GET", _LABEL + r"/root", root_form, False),
    ("POST", _LABEL + r"/root", root_signin, False),
    ("GET", _LABEL + r"/mfa", mfa_form, False),
    ("POST", _LABEL + r"/mfa", mfa, False),
    ("GET", _LABEL + r"/password", change_form, False),
    ("POST", _LABEL + r"/password", change, False),
    ("GET", _LABEL + r"/enrol", enrol_form, False),
    ("POST", _LABEL + r"/enrol", enrol, False),
    ("POST", r"/signout", signout, True),
]
