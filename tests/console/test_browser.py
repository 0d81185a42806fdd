"""The console in a real headless Chromium: sign-in, MFA, lockout, users, policies, simulator,
a read-only user, CSRF and sign-out, each screen screenshotted and checked with axe-core."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from iamguard.console._session import SESSION_COOKIE
from iamguard.store import mfa
from iamguard.store.records import PrincipalKind
from tests.console.conftest import ADMIN_POLICY, READ_ONLY_POLICY, ROOT_PASSWORD, Console

# About 70 s on a loaded 2-core machine (a page load, a screenshot and an axe-core run per screen).
pytestmark = pytest.mark.slow

INCORRECT = "Your authentication information is incorrect. Please try again."


def _downloaded_csv(console: Console, file_name: str) -> list[dict[str, str]]:
    """Click "Download .csv" and read the file Chromium saved."""
    console.find("#download-csv").click()
    saved = console.downloads / file_name
    WebDriverWait(console.driver, 15).until(lambda _: saved.is_file() and saved.stat().st_size > 0)
    return list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))


def _create_user_in_browser(
    console: Console, name: str, password: str, *, policies: tuple[str, ...] = ()
) -> None:
    console.open("/users/new")
    console.screen("user-new")
    console.fill({"user_name": name, "password": password})
    console.find("#console").click()
    console.find("#pw-custom").click()
    console.find("#access_key").click()
    for arn in policies:
        console.find(f"input[name=policies][value='{arn}']").click()
    console.submit()


def _enrol_mfa(console: Console, user: str) -> str:
    """Assign a virtual MFA device to ``user`` as the signed-in admin; the secret read from the page."""
    console.open(f"/users/{user}")
    console.screen("user-detail")
    console.submit("form[action$='/mfa/new'] button")
    console.screen("mfa-enrol")
    svg = console.find("figure.qr svg")
    assert svg.get_attribute("role") == "img" or svg.find_element(By.TAG_NAME, "title")
    secret: str = console.find("#mfa-secret").text.strip()
    now = console.clock()
    console.fill({"code1": mfa.totp(secret, now - 30), "code2": mfa.totp(secret, now)})
    console.submit()
    assert "No MFA device" not in console.find("#mfa-devices").text
    return secret


def test_create_user_warns_then_first_sign_in_forces_a_password_change(console: Console) -> None:
    console.sign_in()
    assert console.driver.current_url.endswith("/home")
    console.screen("dashboard")
    assert console.find("#count-users").text == "1"

    _create_user_in_browser(console, "carol", "Carol-first-1!")
    console.screen("user-review-no-permissions")
    warning = console.find("#no-permissions").text
    assert "This user has no permissions" in warning
    assert "Consider returning to the previous step" in warning
    console.submit()
    console.screen("user-created")
    rows = _downloaded_csv(console, "carol_credentials.csv")
    shown = {
        d.get_attribute("data-field"): d.text
        for d in console.driver.find_elements(By.CSS_SELECTOR, "#credentials dd")
    }
    assert list(rows[0]) == [
        "User name",
        "Password",
        "Access key ID",
        "Secret access key",
        "Console login link",
    ]
    assert rows[0]["User name"] == "carol" and rows[0]["Password"] == "Carol-first-1!"
    assert shown == {k: v for k, v in rows[0].items() if v}  # the file holds what the page shows
    assert "data:" not in console.driver.page_source  # the secret is in no URL
    secret = rows[0]["Secret access key"]
    assert len(secret) == 40 and rows[0]["Console login link"] == console.login_url
    stored_key = console.store.list_access_keys("carol")[0]
    assert rows[0]["Access key ID"] == stored_key.access_key_id
    # never shown again: the user's page lists the key id only
    console.open("/users/carol")
    assert stored_key.access_key_id in console.text() and secret not in console.driver.page_source
    assert console.store.get_login_profile("carol").password_reset_required

    console.sign_out()
    console.sign_in("carol", "Carol-first-1!")
    assert console.driver.current_url.endswith("/password")
    console.screen("forced-change")
    console.fill({"old_password": "Carol-first-1!", "new_password": "abc", "confirm_password": "abc"})
    console.submit()
    assert "PasswordPolicyViolation" in console.text() or "at least" in console.text()
    console.screen("forced-change-refused")
    console.open("/home")  # nothing else before the change: no session yet
    assert "/signin/" in console.driver.current_url
    console.open(console.app.login_path() + "/password")
    console.fill(
        {
            "old_password": "Carol-first-1!",
            "new_password": "Carol-second-2!",
            "confirm_password": "Carol-second-2!",
        }
    )
    console.submit()
    assert console.driver.current_url.endswith("/home")
    console.screen("carol-dashboard")
    assert not console.store.get_login_profile("carol").password_reset_required
    assert console.store.check_password("carol", "Carol-second-2!").ok


def test_mfa_enrolment_then_sign_in_with_a_code_used_once(console: Console) -> None:
    console.store.create_user("dave")
    console.store.create_login_profile("dave", "Dave-passw0rd!")
    console.store.attach_policy(PrincipalKind.USER, "dave", READ_ONLY_POLICY)
    console.sign_in()
    secret = _enrol_mfa(console, "dave")
    console.sign_out()

    console.clock.advance(30)  # the enrolment used the current step: the next code is new
    console.sign_in("dave", "Dave-passw0rd!")
    assert console.driver.current_url.endswith("/mfa")
    console.screen("mfa-step")
    code = mfa.totp(secret, console.clock())
    console.fill({"code": code})
    console.submit()
    assert console.driver.current_url.endswith("/home")
    cookie = console.driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # loopback: the browser would drop a Secure cookie over http
    session = console.app.sessions.open(cookie["value"])
    assert session is not None and session.principal is not None
    assert session.principal.mfa_authenticated and session.principal.mfa_age_seconds is not None
    console.sign_out()

    console.sign_in("dave", "Dave-passw0rd!")
    console.fill({"code": code})  # the same code again: refused
    console.submit()
    assert "The MFA code is not valid." in console.text()
    console.screen("mfa-reused")

    console.sign_in()  # the administrator removes the device: dave signs in with a password again
    console.open("/users/dave")
    console.submit("form[action$='/mfa/deactivate'] button")
    assert "No MFA device" in console.find("#mfa-devices").text
    console.sign_out()
    console.sign_in("dave", "Dave-passw0rd!")
    assert console.driver.current_url.endswith("/home")


def test_lockout_does_not_reveal_whether_the_user_exists(console: Console) -> None:
    console.store.create_user("erin")
    console.store.create_login_profile("erin", "Erin-passw0rd!")
    for _ in range(3):
        console.sign_in("erin", "wrong-password")
        assert console.find("[role=alert]").text == INCORRECT
    console.screen("signin-refused")
    console.sign_in("erin", "Erin-passw0rd!")  # locked now: even the right password is refused
    locked = console.find("[role=alert]").text
    console.sign_in("nobody-here", "whatever")
    unknown = console.find("[role=alert]").text
    assert locked == unknown == INCORRECT
    assert "/signin/" in console.driver.current_url and console.driver.get_cookie(SESSION_COOKIE) is None
    console.clock.advance(601)
    console.sign_in("erin", "Erin-passw0rd!")
    assert console.driver.current_url.endswith("/home")


def test_policy_validation_errors_are_shown_in_place_and_versions(console: Console) -> None:
    console.sign_in()
    console.open("/policies/new")
    console.screen("policy-new")
    bad = '{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]}'
    console.fill({"policy_name": "reports-read", "document": bad})
    # the page's script checks as the author types
    WebDriverWait(console.driver, 10).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "findings"), "Statement[0].Effect")
    )
    console.screen("policy-live-findings")
    console.submit()
    console.screen("policy-refused")
    assert "Fix the errors below before saving." in console.text()
    assert "Statement[0].Effect" in console.find("#findings").text
    assert console.find("#document").get_attribute("value") == bad  # kept for fixing
    assert not [p for p in console.store.list_policies() if p.name == "reports-read"]

    good = bad.replace("Maybe", "Allow")
    console.fill({"document": good})
    console.submit()
    console.screen("policy-detail")
    assert "Policy reports-read" in console.text()
    assert console.find("#summary tbody").text.split() == ["s3", "Allow", "GetObject", "*", "None"]
    edited = good.replace("s3:GetObject", "s3:ListBucket")
    console.fill({"document": edited})
    console.submit("button[value=version]")
    assert "v2" in console.text()
    console.submit("button[value=default]")  # v1 back as the default
    policy = next(p for p in console.store.list_policies() if p.name == "reports-read")
    assert console.store.get_policy(policy.arn).default_version_id == "v1"


def test_simulator_shows_decisions_with_matched_statements(console: Console) -> None:
    console.store.create_user("reader")
    console.store.attach_policy(PrincipalKind.USER, "reader", READ_ONLY_POLICY)
    console.sign_in()
    console.open("/simulator")
    console.screen("simulator")
    arn = console.store.get_user("reader").arn
    console.find(f"#principal option[value='{arn}']").click()
    console.fill({"actions": "s3:GetObject\niam:CreateUser"})
    console.submit()
    console.screen("simulator-results")
    rows = console.driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    cells = [[c.text for c in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert cells[0][0] == "s3:GetObject" and cells[0][2] == "allowed" and "ReadOnlyAccess" in cells[0][3]
    assert cells[1][0] == "iam:CreateUser" and cells[1][2] == "implicitDeny" and cells[1][3] == "None"

    console.find("#src-custom").click()
    console.fill(
        {
            "policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",'
            '"Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}',
            "actions": "s3:PutObject",
        }
    )
    console.submit()
    row = console.find("#results tbody tr").text
    assert "implicitDeny" in row and "aws:PrincipalTag/team" in row  # the missing context value


def test_read_only_user_sees_everything_and_changes_nothing(console: Console) -> None:
    console.store.create_user("viewer")
    console.store.create_login_profile("viewer", "Viewer-passw0rd!")
    console.store.attach_policy(PrincipalKind.USER, "viewer", READ_ONLY_POLICY)
    console.sign_in("viewer", "Viewer-passw0rd!")
    for path in (
        "/home",
        "/users",
        "/users/admin",
        "/groups",
        "/roles",
        "/policies",
        "/simulator",
        "/account",
    ):
        console.open(path)
        assert "Access denied" not in console.text(), path
        console.screen("readonly" + path.replace("/", "-"))
    users_before = [u.name for u in console.store.list_users()]

    _create_user_in_browser(console, "mallory", "Mallory-passw0rd!", policies=(ADMIN_POLICY,))
    console.submit()  # the review's "Create user"
    console.screen("readonly-refused")
    assert "Access denied" in console.text()
    message = console.find(".message").text
    assert "is not authorized to perform: iam:CreateUser" in message
    assert "because no identity-based policy allows the iam:CreateUser action" in message
    console.open("/home")
    console.fill({"alias": "viewer-alias"})
    console.submit("form[action$='/account/alias'] button")
    assert "iam:CreateAccountAlias" in console.find(".message").text
    console.open("/users/admin")
    console.submit("form[action$='/keys/new'] button")
    assert "iam:CreateAccessKey" in console.find(".message").text
    assert [u.name for u in console.store.list_users()] == users_before
    assert console.store.account().alias is None and console.store.list_access_keys("admin") == []


def test_csrf_token_is_required_on_every_post(console: Console) -> None:
    console.sign_in()
    console.open("/users/admin")
    console.driver.execute_script(
        "document.querySelector(\"form[action$='/keys/new'] input[name=csrf]\").value = 'forged';"
    )
    console.submit("form[action$='/keys/new'] button")
    console.screen("csrf-refused")
    assert "InvalidCsrfToken" in console.text()
    cookie = console.driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    # a cross-site form cannot read the token; without it the session cookie alone does nothing
    response = requests.post(
        console.base + "/users/admin/keys/new",
        cookies={SESSION_COOKIE: cookie["value"]},
        data={"x": "1"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 403
    assert console.store.list_access_keys("admin") == []


def test_sign_out_revokes_the_session(console: Console) -> None:
    console.sign_in()
    stolen = console.driver.get_cookie(SESSION_COOKIE)
    assert stolen is not None
    head = requests.get(
        console.base + "/users", cookies={SESSION_COOKIE: stolen["value"]}, allow_redirects=False, timeout=10
    )
    assert head.status_code == 200
    console.sign_out()
    assert "/signin/" in console.driver.current_url
    console.screen("signed-out")
    replay = requests.get(
        console.base + "/users", cookies={SESSION_COOKIE: stolen["value"]}, allow_redirects=False, timeout=10
    )
    assert replay.status_code == 303 and "/signin/" in replay.headers["Location"]


def test_root_sign_in_is_warned_about(console: Console) -> None:
    console.open(console.app.login_path() + "/root")
    console.screen("root-signin")
    console.fill({"password": "not-it"})
    console.submit()
    assert console.find("[role=alert]").text == INCORRECT
    console.fill({"password": ROOT_PASSWORD})
    console.submit()
    assert console.driver.current_url.endswith("/home")
    console.screen("root-dashboard")
    text = console.text()
    assert "signed in as the root user" in text and "Add MFA for the root user." in text
    assert "User admin can sign in to the console but has no MFA device." in text
    console.fill({"alias": "example-corp"})
    console.submit("form[action$='/account/alias'] button")
    assert console.find("#login-url").text == console.base + "/signin/example-corp"


def test_groups_and_roles_from_trust_templates(console: Console) -> None:
    console.store.create_user("frank")
    console.sign_in()
    console.open("/groups/new")
    console.screen("group-new")
    console.fill({"group_name": "analysts"})
    console.find(f"input[name=policies][value='{READ_ONLY_POLICY}']").click()
    console.submit()
    console.find("#user_name option[value='frank']").click()
    console.submit("button[value=add]")
    console.screen("group-detail")
    assert "frank" in console.find("#members").text and "ReadOnlyAccess" in console.find("#attached").text
    assert [g.name for g in console.store.list_groups_for_user("frank")] == ["analysts"]
    console.open("/users/frank/access-advisor")
    console.screen("access-advisor")
    console.open("/no/such/page")
    console.screen("not-found")
    assert "There is no such page." in console.text()

    console.open("/roles/new")
    console.screen("role-new")
    console.fill({"role_name": "partner", "account_id": "444455556666"})
    console.submit()
    console.screen("role-detail")
    trust = console.store.get_role("partner").assume_role_policy
    assert "arn:aws:iam::444455556666:root" in str(trust) and "sts:AssumeRole" in str(trust)
    assert "arn:aws:iam::444455556666:root" in console.find("#document").get_attribute("value")
    broken = console.find("#document").get_attribute("value").replace('"Allow"', '"Perhaps"')
    console.fill({"document": broken})
    console.submit()
    assert "Statement[0].Effect" in console.find("#findings").text
    console.screen("role-trust-refused")
    assert "Perhaps" not in str(console.store.get_role("partner").assume_role_policy)


def test_required_mfa_is_enrolled_at_sign_in(console: Console) -> None:
    # the administrator requires MFA on the account settings page (an account setting in the store)
    console.sign_in()
    console.open("/account")
    console.screen("account-settings")
    console.find("#require_mfa").click()
    console.submit("form[action$='/account/mfa-requirement'] button")
    assert "Every console user must sign in with an MFA device" in console.find("#mfa-setting").text
    assert console.store.console_mfa_required()
    console.sign_out()
    console.store.create_user("ivy")
    console.store.create_login_profile("ivy", "Ivy-passw0rd!x")
    console.sign_in("ivy", "Ivy-passw0rd!x")
    assert console.driver.current_url.endswith("/enrol")
    console.screen("mfa-required-enrol")
    console.fill({"code1": "000000", "code2": "000000"})
    console.submit()
    assert "The MFA codes are not valid." in console.find("[role=alert]").text
    secret: str = console.find("#mfa-secret").text.strip()  # a new device replaced the first
    now = console.clock()
    console.fill({"code1": mfa.totp(secret, now - 30), "code2": mfa.totp(secret, now)})
    console.submit()
    assert console.driver.current_url.endswith("/home")
    cookie = console.driver.get_cookie(SESSION_COOKIE)
    session = console.app.sessions.open(None if cookie is None else cookie["value"])
    assert session is not None and session.principal is not None and session.principal.mfa_authenticated
    assert [d.enable_date is not None for d in console.store.list_mfa_devices("ivy")] == [True]
