"""The dashboard and the users pages: counts, recommendations, users, keys and MFA enrolment.

Part of ``console/``. Each page runs IAM operations as the signed-in principal (``page.call``);
what the principal may not do is refused with the denial's explanation.

* Dashboard: the login URL (and the alias that makes it), ``GetAccountSummary``'s counts, and
  AWS's security recommendations read from the credential report: the root user without MFA,
  users with a console password but no MFA, access keys unused or older than 90 days
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html).
* Creating a user: a form, then a review that warns, as AWS's console does, when nothing grants
  the user permissions; then the password and access key are shown once, with a **Download
  .csv** of the columns AWS's console writes, and never again.
* A user's page: groups, policies, boundary, access keys (create, deactivate, delete) and MFA
  enrolment (a QR code rendered here from the ``otpauth://`` URI, then two consecutive codes).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import segno

from iamguard.console._http import Response
from iamguard.console._login import login_url as build_login_url
from iamguard.errors import IAMGuardError, NoSuchEntityError
from iamguard.iam.ops_mfa import otpauth_uri  # the URI the IAM API's QRCodePNG encodes

if TYPE_CHECKING:
    from iamguard.console.app import Handler, Page

__all__ = ["ROUTES", "credentials_csv", "credentials_file", "generate_password"]

#: AWS's console asks to rotate keys older than this and flags keys unused for as long.
KEY_AGE = timedelta(days=90)
#: What AWS's console attaches when a new user must reset their password at first sign-in.
CHANGE_PASSWORD_POLICY = "IAMUserChangePassword"
_NO_PERMISSIONS = (
    "This user has no permissions. You haven't given this user any permissions. This means that "
    "the user has no access to any AWS service or resource. Consider returning to the previous "
    "step and adding some type of permissions."
)
_USER = r"/users/(?P<name>[\w+=,.@-]{1,64})"
_CSV_NAME = re.compile(r"[\w+=,.@-]{1,64}_(credentials|accessKeys)\.csv")


def generate_password(length: int = 20) -> str:
    """A random console password with every character class AWS's policy can require."""
    symbols = "!@#$%^&*()_+-=[]{}|'"
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, symbols)
    chars = [secrets.choice(c) for c in classes]
    alphabet = "".join(classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


# The files AWS's console offers to download once (tests/data/console/credentials_csv.json holds
# each with where it was checked):
#: a new user with a console password: ``<user>_credentials.csv``, as today's console writes it;
PASSWORD_COLUMNS = ("User name", "Password", "Console sign-in URL")
#: a new user with an access key: the console's original five-column ``credentials.csv``, the
#: shape ``aws configure import`` reads (it needs "User name", "Access key ID" and "Secret
#: access key": https://docs.aws.amazon.com/cli/latest/reference/configure/import.html);
NEW_USER_COLUMNS = ("User name", "Password", "Access key ID", "Secret access key", "Console login link")
#: an access key created on a user's page: ``<user>_accessKeys.csv``, two columns.
ACCESS_KEY_COLUMNS = ("Access key ID", "Secret access key")


def credentials_file(user_name: str, *, access_key: bool, created_user: bool) -> tuple[str, tuple[str, ...]]:
    """The download's file name and columns: a key on its own (``created_user`` false), a new
    user with a key, or a new user with a console password only (see the tables above)."""
    if not created_user:
        return f"{user_name}_accessKeys.csv", ACCESS_KEY_COLUMNS
    return f"{user_name}_credentials.csv", NEW_USER_COLUMNS if access_key else PASSWORD_COLUMNS


def credentials_csv(rows: Sequence[Mapping[str, str]], columns: Sequence[str] = NEW_USER_COLUMNS) -> str:
    """The one-time credentials file: a header of ``columns`` and a line per row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def credentials_download(page: Page) -> Response:
    """The credentials file, sent back as a download from the page that shows it once.

    The page carries the file in a form field (never in a URL: a ``data:`` link would keep the
    secret in the browser's download history); the server keeps no copy and echoes only a
    CSV of that size, under a name it checks.
    """
    text = page.request.form.get("csv", "")
    name = page.request.form.get("filename", "")
    if not _CSV_NAME.fullmatch(name) or len(text) > 16_384:
        return page.render(
            "error.html", status=400, code="ValidationError", message="Not a credentials file."
        )
    response = Response(text.encode("utf-8"), 200, "text/csv; charset=utf-8")
    response.headers.append(("Content-Disposition", f'attachment; filename="{name}"'))
    return response


# ---------------------------------------------------------------------- dashboard


def dashboard(page: Page) -> Response:
    counts: dict[str, int] = {}
    counts_problem = None
    try:  # a user who may not read the account still lands here and sees why the rest is empty
        summary = page.call("GetAccountSummary") or {}
        counts = {k: summary["SummaryMap"].get(k, 0) for k in ("Users", "Groups", "Roles", "Policies")}
    except IAMGuardError as error:
        counts_problem = str(error)
    recommendations, problem = _recommendations(page)
    # the one login URL builder, under this console's own address (as 'account show --console-url')
    console_url = f"{'https' if page.request.secure else 'http'}://{page.request.host}{page.url('')}"
    login_url = build_login_url(page.app.store.account(), console_url)
    return page.render(
        "dashboard.html",
        counts=counts,
        counts_problem=counts_problem,
        recommendations=recommendations,
        problem=problem,
        login_url=login_url,
    )


def _recommendations(page: Page) -> tuple[list[str], str | None]:
    try:
        page.call("GenerateCredentialReport")
        report = page.call("GetCredentialReport") or {}
    except IAMGuardError as error:
        return [], str(error)
    rows = list(csv.DictReader(io.StringIO(bytes(report["Content"]).decode("utf-8"))))
    now = datetime.fromtimestamp(page.app.clock(), timezone.utc)
    found: list[str] = []
    for row in rows:
        user = row["user"]
        if user == "<root_account>":
            if row["mfa_active"] != "true":
                found.append("Add MFA for the root user.")
            continue
        if row["password_enabled"] == "true" and row["mfa_active"] != "true":
            found.append(f"User {user} can sign in to the console but has no MFA device.")
        for n in ("1", "2"):
            if row[f"access_key_{n}_active"] != "true":
                continue
            rotated = _when(row[f"access_key_{n}_last_rotated"])
            used = _when(row[f"access_key_{n}_last_used_date"])
            if rotated is not None and now - rotated > KEY_AGE:
                found.append(f"Rotate the access key {n} of user {user}: it is older than 90 days.")
            if (used or rotated) is not None and now - (used or rotated or now) > KEY_AGE:
                found.append(f"Deactivate the access key {n} of user {user}: unused for 90 days.")
    return found, None


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def set_alias(page: Page) -> Response:
    alias = page.request.form.get("alias", "").strip()
    page.call("CreateAccountAlias", {"AccountAlias": alias})
    return Response.redirect(page.url("/home"))


# ---------------------------------------------------------------------- users


def users(page: Page) -> Response:
    query = page.request.query.get("q", "").strip().lower()
    listed = (page.call("ListUsers") or {}).get("Users", [])
    shown = [u for u in listed if query in u["UserName"].lower()]
    return page.render("users.html", users=shown, q=query)


def _choices(page: Page) -> dict[str, Any]:
    groups = (page.call("ListGroups") or {}).get("Groups", [])
    policies = (page.call("ListPolicies") or {}).get("Policies", [])
    users = [u["UserName"] for u in (page.call("ListUsers") or {}).get("Users", [])]
    return {"groups": groups, "policies": policies, "users": users}


def _copied(page: Page, source: str) -> tuple[list[str], list[str], str | None]:
    """The groups, attached policies and boundary of user ``source`` ("copy permissions")."""
    groups = [
        g["GroupName"] for g in (page.call("ListGroupsForUser", {"UserName": source}) or {}).get("Groups", [])
    ]
    attached = (page.call("ListAttachedUserPolicies", {"UserName": source}) or {}).get("AttachedPolicies", [])
    boundary = (
        (page.call("GetUser", {"UserName": source}) or {})["User"].get("PermissionsBoundary") or {}
    ).get("PermissionsBoundaryArn")
    return groups, [p["PolicyArn"] for p in attached], boundary


def _permissions(page: Page) -> tuple[list[str], list[str], str | None]:
    """The groups, policies and boundary the create-user form asks for, a copied user's included."""
    groups = list(page.request.form_lists.get("groups", ()))
    policies = list(page.request.form_lists.get("policies", ()))
    boundary = page.request.form.get("boundary") or None
    source = page.request.form.get("copy_from", "")
    if source:
        copied_groups, copied_policies, copied_boundary = _copied(page, source)
        groups += [g for g in copied_groups if g not in groups]
        policies += [p for p in copied_policies if p not in policies]
        boundary = boundary or copied_boundary
    return groups, policies, boundary


def new_user(page: Page) -> Response:
    return page.render("user_new.html", form={}, error=None, **_choices(page))


def _tags(text: str) -> list[dict[str, str]]:
    tags = []
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            tags.append({"Key": key.strip(), "Value": value.strip()})
    return tags


def review_user(page: Page) -> Response:
    form = page.request.form
    groups, policies, boundary = _permissions(page)
    chosen = {"groups": groups, "policies": policies, "boundary": boundary}
    warning = None if (groups or policies) else _NO_PERMISSIONS
    return page.render(
        "user_review.html", form=form, chosen=chosen, warning=warning, tags=_tags(form.get("tags", ""))
    )


def create_user(page: Page) -> Response:
    form = page.request.form
    name = form.get("user_name", "").strip()
    groups, policies, boundary = _permissions(page)
    params: dict[str, Any] = {"UserName": name}
    if boundary:
        params["PermissionsBoundary"] = boundary
    if form.get("tags"):
        params["Tags"] = _tags(form["tags"])
    page.call("CreateUser", params)
    row = {"User name": name}
    with_key = form.get("access_key") == "on"
    filename, columns = credentials_file(name, access_key=with_key, created_user=True)
    if form.get("console") == "on":
        password = form.get("password") if form.get("password_mode") == "custom" else generate_password()
        reset = form.get("must_reset") == "on"
        page.call(
            "CreateLoginProfile", {"UserName": name, "Password": password, "PasswordResetRequired": reset}
        )
        if reset:
            arn = _aws_policy_arn(page, CHANGE_PASSWORD_POLICY)
            if arn is not None:
                page.call("AttachUserPolicy", {"UserName": name, "PolicyArn": arn})
        row["Password"] = str(password)
        row[columns[-1]] = (
            f"{'https' if page.request.secure else 'http'}://{page.request.host}{page.url(page.app.login_path())}"
        )
    for group in groups:
        page.call("AddUserToGroup", {"UserName": name, "GroupName": group})
    for arn in policies:
        page.call("AttachUserPolicy", {"UserName": name, "PolicyArn": arn})
    if with_key:
        key = (page.call("CreateAccessKey", {"UserName": name}) or {})["AccessKey"]
        row["Access key ID"] = key["AccessKeyId"]
        row["Secret access key"] = key["SecretAccessKey"]
    return page.render("user_created.html", row=row, csv=credentials_csv([row], columns), filename=filename)


def _aws_policy_arn(page: Page, name: str) -> str | None:
    for policy in (page.call("ListPolicies", {"Scope": "AWS"}) or {}).get("Policies", []):
        if policy["PolicyName"] == name:
            return str(policy["Arn"])
    return None


def user_detail(page: Page) -> Response:
    name = page.params["name"]
    user = (page.call("GetUser", {"UserName": name}) or {})["User"]
    keys = (page.call("ListAccessKeys", {"UserName": name}) or {}).get("AccessKeyMetadata", [])
    for key in keys:
        last = page.call("GetAccessKeyLastUsed", {"AccessKeyId": key["AccessKeyId"]}) or {}
        key["LastUsed"] = (last.get("AccessKeyLastUsed") or {}).get("LastUsedDate")
    try:
        login = (page.call("GetLoginProfile", {"UserName": name}) or {}).get("LoginProfile")
    except NoSuchEntityError:
        login = None
    except IAMGuardError as error:
        if error.code != "NoSuchEntity":
            raise
        login = None
    groups = (page.call("ListGroupsForUser", {"UserName": name}) or {}).get("Groups", [])
    via_groups = [
        (g["GroupName"], p["PolicyName"])
        for g in groups
        for p in (page.call("ListAttachedGroupPolicies", {"GroupName": g["GroupName"]}) or {}).get(
            "AttachedPolicies", []
        )
    ]
    return page.render(
        "user_detail.html",
        user=user,
        groups=groups,
        via_groups=via_groups,
        attached=(page.call("ListAttachedUserPolicies", {"UserName": name}) or {}).get(
            "AttachedPolicies", []
        ),
        inline=(page.call("ListUserPolicies", {"UserName": name}) or {}).get("PolicyNames", []),
        keys=keys,
        mfa=(page.call("ListMFADevices", {"UserName": name}) or {}).get("MFADevices", []),
        login=login,
        enrolment=None,
        new_key=None,
        error=None,
    )


def access_advisor(page: Page) -> Response:
    """The services the user's policies allow and when each was last used (IAM's access
    advisor: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html)."""
    name = page.params["name"]
    user = (page.call("GetUser", {"UserName": name}) or {})["User"]
    job = (page.call("GenerateServiceLastAccessedDetails", {"Arn": user["Arn"]}) or {})["JobId"]
    details = page.call("GetServiceLastAccessedDetails", {"JobId": job}) or {}
    services = details.get("ServicesLastAccessed", [])
    return page.render(
        "user_advisor.html", user=user, services=services, status_text=details.get("JobStatus")
    )


def create_key(page: Page) -> Response:
    name = page.params["name"]
    key = (page.call("CreateAccessKey", {"UserName": name}) or {})["AccessKey"]
    row = {
        "User name": name,
        "Access key ID": key["AccessKeyId"],
        "Secret access key": key["SecretAccessKey"],
    }
    filename, columns = credentials_file(name, access_key=True, created_user=False)
    csv_text = credentials_csv([row], columns)
    return page.render("user_created.html", row=row, csv=csv_text, filename=filename)


def key_action(page: Page) -> Response:
    name, form = page.params["name"], page.request.form
    key_id = form.get("access_key_id", "")
    if form.get("action") == "delete":
        page.call("DeleteAccessKey", {"UserName": name, "AccessKeyId": key_id})
    else:
        status = "Active" if form.get("action") == "activate" else "Inactive"
        page.call("UpdateAccessKey", {"UserName": name, "AccessKeyId": key_id, "Status": status})
    return Response.redirect(page.url(f"/users/{name}"))


def mfa_start(page: Page) -> Response:
    """Create a virtual device and show its QR code and secret (once) with the codes form."""
    name = page.params["name"]
    device_name = page.request.form.get("device_name", "").strip() or name
    created = (page.call("CreateVirtualMFADevice", {"VirtualMFADeviceName": device_name}) or {})[
        "VirtualMFADevice"
    ]
    seed = bytes(created["Base32StringSeed"]).decode("ascii")
    account = page.app.store.account()
    uri = otpauth_uri(seed, device_name, account.alias or account.account_id)
    qr = segno.make_qr(uri, error="m").svg_inline(scale=5, title=f"QR code for MFA device {device_name}")
    return page.render(
        "mfa_enrol.html", name=name, serial=created["SerialNumber"], seed=seed, qr=qr, error=None
    )


def mfa_enable(page: Page) -> Response:
    name, form = page.params["name"], page.request.form
    page.call(
        "EnableMFADevice",
        {
            "UserName": name,
            "SerialNumber": form.get("serial", ""),
            "AuthenticationCode1": form.get("code1", "").strip(),
            "AuthenticationCode2": form.get("code2", "").strip(),
        },
    )
    return Response.redirect(page.url(f"/users/{name}"))


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", r"/home", dashboard, True),
    ("POST", r"/account/alias", set_alias, True),
    ("GET", r"/users", users, True),
    ("GET", r"/users/new", new_user, True),
    ("POST", r"/credentials\.csv", credentials_download, True),
    ("POST", r"/users/new/review", review_user, True),
    ("POST", r"/users/new", create_user, True),
    ("GET", _USER, user_detail, True),
    ("GET", _USER + r"/access-advisor", access_advisor, True),
    ("POST", _USER + r"/keys/new", create_key, True),
    ("POST", _USER + r"/keys", key_action, True),
    ("POST", _USER + r"/mfa/new", mfa_start, True),
    ("POST", _USER + r"/mfa", mfa_enable, True),
]
