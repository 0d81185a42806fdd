"""The console over HTTP without a browser: headers, login URL, cookies, CSRF, timeouts, sign-out
shared by processes, the host-app authenticator (MFA condition keys), downloads, no secrets in logs."""

from __future__ import annotations

import argparse
import csv
import fnmatch
import html
import io
import logging
import re
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - import-linter depends on tomli there
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from iamguard.authn.request_view import RequestView
from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve import build_app
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.console import ConsoleApp, ConsoleSessionAuthenticator
from iamguard.console._http import MAX_FORM_BYTES
from iamguard.console._session import SESSION_COOKIE
from iamguard.enforce.guard import Guard
from iamguard.errors import AccessDeniedError, ExpiredCredentialsError
from iamguard.keyring import KeyRing
from iamguard.store import AccessActivity, IdentityService, mfa, open_store
from iamguard.store.passwords import hash_password
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from tests.store._pg import SchemaFactory, server_url

ACCOUNT = "111122223333"
PASSWORD = "Adm1n-Passw0rd!x"
ROOT_PASSWORD = "R00t-Passw0rd!xyz"
ROOT_HASH = hash_password(ROOT_PASSWORD)
TEMPLATES = Path(__file__).parents[2] / "iamguard" / "console" / "templates"
INCORRECT = "Your authentication information is incorrect. Please try again."
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class _Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Served:
    """A console (fake clock for sessions, tokens and the store) on a loopback port."""

    def __init__(self, store: IdentityService, tokens: SessionTokenService, clock: _Clock) -> None:
        self.app = ConsoleApp(
            store,
            tokens,
            clock=clock,
            idle_timeout=1800,
            session_duration=3 * 3600,
            root_password_hash=ROOT_HASH,
        )
        self.server = make_server(
            "127.0.0.1", 0, self.app, server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def sign_in(self, user: str = "admin", password: str = PASSWORD, **headers: str) -> requests.Session:
        browser = requests.Session()
        page = browser.get(self.base + self.app.login_path(), headers=headers, timeout=10)
        token = _CSRF.search(page.text)
        assert token is not None
        browser.post(
            page.url,
            data={"csrf": token.group(1), "user_name": user, "password": password},
            headers=headers,
            timeout=10,
        )
        return browser


@pytest.fixture
def world() -> Iterator[tuple[IdentityService, SessionTokenService, _Clock, _Served]]:
    clock = _Clock()
    store = open_store(
        "memory://",
        create=True,
        account_id=ACCOUNT,
        secret_box=SecretBox({"k": bytes(range(32))}, "k"),
        clock=clock,
    )
    store.create_user("admin")
    store.create_login_profile("admin", PASSWORD)
    store.attach_policy(PrincipalKind.USER, "admin", "arn:aws:iam::iamguard:policy/AdministratorAccess")
    tokens = SessionTokenService(KeyRing.generate(), clock=clock)
    served = _Served(store, tokens, clock)
    yield store, tokens, clock, served
    served.server.shutdown()
    served.server.server_close()


def _csrf(browser: requests.Session, url: str) -> str:
    match = _CSRF.search(browser.get(url, timeout=10).text)
    assert match is not None
    return match.group(1)


def test_every_response_carries_a_strict_csp_and_templates_have_no_inline_script() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\s(on[a-z]+|style)=", text), template.name


def test_headers_login_url_and_cookie_flags(world: Any) -> None:
    store, _, _, served = world
    page = requests.get(served.base + "/", timeout=10)
    assert page.url == served.base + f"/signin/{ACCOUNT}"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert requests.get(served.base + "/signin/someone-else", timeout=10).status_code == 404
    store.create_account_alias("example-corp")
    assert requests.get(served.base + "/signin/example-corp", timeout=10).status_code == 200
    assert (
        requests.get(served.base + f"/signin/{ACCOUNT}", timeout=10).status_code == 200
    )  # the id still works

    browser = served.sign_in()
    cookie = next(c for c in browser.cookies if c.name == SESSION_COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    # served under a real host name the cookie is Secure (requests keeps it only for https, so read the header)
    raw = requests.Session()
    page = raw.get(served.base + "/signin/example-corp", headers={"Host": "console.example.com"}, timeout=10)
    assert "Secure" in page.headers["Set-Cookie"] and "SameSite=Lax" in page.headers["Set-Cookie"]


def test_posts_without_the_csrf_token_are_refused(world: Any) -> None:
    store, _, _, served = world
    anonymous = requests.post(
        served.base + f"/signin/{ACCOUNT}", data={"user_name": "admin", "password": PASSWORD}, timeout=10
    )
    assert anonymous.status_code == 403 and SESSION_COOKIE not in anonymous.cookies
    browser = served.sign_in()
    refused = browser.post(served.base + "/account/alias", data={"alias": "sneaky"}, timeout=10)
    assert refused.status_code == 403 and "InvalidCsrfToken" in refused.text
    assert store.account().alias is None
    token = _csrf(browser, served.base + "/home")
    assert browser.post(served.base + "/account/alias", data={"alias": "fine", "csrf": token}, timeout=10).ok
    assert store.account().alias == "fine"


def test_idle_and_absolute_timeouts(world: Any) -> None:
    _, _, clock, served = world
    browser = served.sign_in()
    assert browser.get(served.base + "/users", allow_redirects=False, timeout=10).status_code == 200
    clock.now += 1700  # active again before the idle limit: the timer restarts
    assert browser.get(served.base + "/users", allow_redirects=False, timeout=10).status_code == 200
    clock.now += 1801
    idle = browser.get(served.base + "/users", allow_redirects=False, timeout=10)
    assert idle.status_code == 303 and "/signin/" in idle.headers["Location"]

    browser = served.sign_in()
    for _ in range(7):  # every 30 minutes for 3 hours: never idle, then past the absolute limit
        assert browser.get(served.base + "/users", allow_redirects=False, timeout=10).status_code == 200
        clock.now += 1790
    ended = browser.get(served.base + "/users", allow_redirects=False, timeout=10)
    assert ended.status_code == 303


def test_sign_out_on_one_process_is_seen_by_another(world: Any) -> None:
    store, tokens, clock, served = world
    other = _Served(store, tokens, clock)  # a second worker: same store and keyring, its own memory
    try:
        browser = served.sign_in()
        cookie = browser.cookies[SESSION_COOKIE]
        assert requests.get(
            other.base + "/users", cookies={SESSION_COOKIE: cookie}, allow_redirects=False, timeout=10
        ).ok
        browser.post(
            served.base + "/signout", data={"csrf": _csrf(browser, served.base + "/home")}, timeout=10
        )
        replay = requests.get(
            other.base + "/users", cookies={SESSION_COOKIE: cookie}, allow_redirects=False, timeout=10
        )
        assert replay.status_code == 303
    finally:
        other.server.shutdown()
        other.server.server_close()


def test_host_app_accepts_the_console_session_with_mfa_condition_keys(world: Any) -> None:
    store, _, clock, served = world
    store.create_user("bob")
    store.create_login_profile("bob", "Bob-passw0rd!x")
    store.put_inline_policy(
        PrincipalKind.USER,
        "bob",
        "mfa-only",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                }
            ],
        },
    )
    guard = Guard(store, authenticators=[ConsoleSessionAuthenticator.for_console(served.app)], clock=clock)

    def view(cookie: str) -> RequestView:
        return RequestView("GET", "/reports/q3.csv", headers=[("Cookie", f"{SESSION_COOKIE}={cookie}")])

    plain = served.sign_in("bob", "Bob-passw0rd!x").cookies[SESSION_COOKIE]
    caller = guard.authenticate(view(plain))
    assert caller.principal.arn == store.get_user("bob").arn and not caller.principal.mfa_authenticated
    # a session credential: the key is present and false without MFA, as AWS sets it
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent
    keys = caller.principal.context_keys()
    assert keys["aws:multifactorauthpresent"] == "false" and "aws:multifactorauthage" not in keys
    assert keys["aws:principaltype"] == "User" and "aws:tokenissuetime" in keys
    with pytest.raises(AccessDeniedError):
        guard.check(caller, "s3:GetObject", "arn:aws:s3:::reports/q3.csv")

    device = store.create_virtual_mfa_device("bob")
    seed = device.base32_seed
    store.enable_mfa_device(
        "bob", device.device.serial_number, mfa.totp(seed, clock() - 30), mfa.totp(seed, clock())
    )
    clock.now += 30
    browser = served.sign_in("bob", "Bob-passw0rd!x")
    mfa_page = browser.get(served.base + served.app.login_path() + "/mfa", timeout=10)
    match = _CSRF.search(mfa_page.text)
    assert match is not None
    browser.post(mfa_page.url, data={"csrf": match.group(1), "code": mfa.totp(seed, clock())}, timeout=10)
    strong = browser.cookies[SESSION_COOKIE]
    clock.now += 60
    caller = guard.authenticate(view(strong))
    assert caller.principal.mfa_authenticated and caller.principal.mfa_age_seconds == 60
    keys = caller.principal.context_keys()
    assert keys["aws:multifactorauthpresent"] == "true" and keys["aws:multifactorauthage"] == "60"
    assert guard.check(caller, "s3:GetObject", "arn:aws:s3:::reports/q3.csv").allowed

    browser.post(served.base + "/signout", data={"csrf": _csrf(browser, served.base + "/home")}, timeout=10)
    with pytest.raises(ExpiredCredentialsError):
        guard.authenticate(view(strong))
    assert guard.authenticate_optional(RequestView("GET", "/reports/q3.csv")) is None


def test_credential_report_download_and_no_secret_in_logs(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, _, clock, served = world
    caplog.set_level(logging.DEBUG)
    served.sign_in("admin", "not-" + PASSWORD)
    browser = served.sign_in()
    messages = [r.getMessage() for r in caplog.records if r.name == "iamguard.console"]
    assert messages[0] == "console sign-in refused from 127.0.0.1"
    assert messages[1] == f"console sign-in of arn:aws:iam::{ACCOUNT}:user/admin from 127.0.0.1 (MFA: no)"
    token = _csrf(browser, served.base + "/users/new")
    created = browser.post(
        served.base + "/users/new",
        data={
            "csrf": token,
            "user_name": "carol",
            "console": "on",
            "password_mode": "custom",
            "password": "Carol-first-1!",
            "access_key": "on",
        },
        timeout=10,
    )
    secret = re.search(r'data-field="Secret access key">([^<]+)<', created.text)
    assert secret is not None
    assert created.headers["Cache-Control"] == "no-store"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Carol-first-1!" not in logged and secret.group(1) not in logged and PASSWORD not in logged

    # the report made when the dashboard was first shown is served for four hours, as AWS does
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html)
    report = browser.post(served.base + "/reports/credential", data={"csrf": token}, timeout=10)
    assert [r["user"] for r in csv.DictReader(io.StringIO(report.text))] == ["<root_account>", "admin"]
    clock.now += 4 * 3600 + 1
    browser = served.sign_in()
    token = _csrf(browser, served.base + "/users")
    report = browser.post(served.base + "/reports/credential", data={"csrf": token}, timeout=10)
    assert report.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in report.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [r["user"] for r in rows] == ["<root_account>", "admin", "carol"]
    assert rows[2]["password_enabled"] == "true" and rows[2]["access_key_1_active"] == "true"


def test_oversized_form_is_refused(world: Any) -> None:
    _, _, _, served = world
    response = requests.post(
        served.base + f"/signin/{ACCOUNT}", data={"document": "x" * (MAX_FORM_BYTES + 1)}, timeout=10
    )
    assert response.status_code == 413


def test_iamguard_serve_mounts_the_console_beside_iam_and_sts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IAMGUARD_MASTER_KEY", SecretBox.generate_key())
    monkeypatch.delenv("IAMGUARD_STS_KEYS", raising=False)
    monkeypatch.delenv("IAMGUARD_STS_KEYS_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    seeded = open_store(url, create=True, account_id=ACCOUNT)
    seeded.create_user("admin")
    seeded.create_login_profile("admin", PASSWORD)
    seeded.backend.close()
    args = argparse.Namespace(store=url, keys_file=None, oidc_provider=[], saml_provider=[])
    server = make_server(
        "127.0.0.1", 0, build_app(args, io.StringIO()), server_class=ThreadingWSGIServer, handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        browser = requests.Session()
        page = browser.get(base + "/console/", timeout=10)
        assert page.url == f"{base}/console/signin/{ACCOUNT}"
        assert 'href="/console/static/console.css"' in page.text
        token = _CSRF.search(page.text)
        assert token is not None
        home = browser.post(
            page.url, data={"csrf": token.group(1), "user_name": "admin", "password": PASSWORD}, timeout=10
        )
        assert home.url == f"{base}/console/home"
        cookie = next(c for c in browser.cookies if c.name == SESSION_COOKIE)
        assert cookie.path == "/console/"
        # admin has no policy: the dashboard shows the denial in place
        assert "is not authorized to perform: iam:GetAccountSummary" in home.text
        # outside /console the STS Query API still answers unsigned calls
        sts = requests.post(
            base + "/", data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, timeout=10
        )
        assert sts.status_code in (400, 403) and "<ErrorResponse" in sts.text
    finally:
        server.shutdown()
        server.server_close()


def test_demo_seed_signs_in_as_it_prints() -> None:
    from iamguard.console.__main__ import seed

    store, passwords = seed()
    assert store.account().alias == "demo"
    assert store.check_password("admin", passwords["admin"]).ok
    viewer = store.check_password("viewer", passwords["viewer"])
    assert viewer.ok and viewer.password_reset_required


def _post_form(browser: requests.Session, url: str, to: str = "", **fields: str) -> requests.Response:
    """POST ``fields`` to ``to`` (default ``url``) with the CSRF token of the page at ``url``."""
    return browser.post(to or url, data={"csrf": _csrf(browser, url), **fields}, timeout=10)


def test_mfa_codes_and_root_passwords_are_throttled_across_workers(world: Any) -> None:
    store, tokens, clock, served = world
    other = _Served(store, tokens, clock)
    try:
        device = store.create_virtual_mfa_device("admin")
        seed = device.base32_seed
        store.enable_mfa_device(
            "admin", device.device.serial_number, mfa.totp(seed, clock() - 30), mfa.totp(seed, clock())
        )
        clock.now += 30
        browser = served.sign_in()
        mfa_url = served.base + served.app.login_path() + "/mfa"
        wrong = f"{(int(mfa.totp(seed, clock())) + 1) % 1_000_000:06d}"
        for _ in range(5):
            assert "The MFA code is not valid." in _post_form(browser, mfa_url, code=wrong).text
        refused = _post_form(browser, mfa_url, code=mfa.totp(seed, clock()))
        assert "Too many invalid MFA codes" in refused.text and SESSION_COOKIE not in browser.cookies
        # another worker, a fresh password step: still refused in this window
        again = other.sign_in()
        refused = _post_form(
            again, other.base + other.app.login_path() + "/mfa", code=mfa.totp(seed, clock())
        )
        assert "Too many invalid MFA codes" in refused.text
        clock.now += 900
        again = other.sign_in()
        home = _post_form(again, other.base + other.app.login_path() + "/mfa", code=mfa.totp(seed, clock()))
        assert home.url.endswith("/home") and SESSION_COOKIE in again.cookies

        root_url = served.base + served.app.login_path() + "/root"
        for _ in range(5):
            assert INCORRECT in _post_form(requests.Session(), root_url, password="guess").text
        assert INCORRECT in _post_form(requests.Session(), root_url, password=ROOT_PASSWORD).text
        clock.now += 900
        root = requests.Session()
        assert _post_form(root, root_url, password=ROOT_PASSWORD).url.endswith("/home")
    finally:
        other.server.shutdown()
        other.server.server_close()


def test_password_policy_and_a_users_console_password(world: Any) -> None:
    store, _, _, served = world
    store.create_user("erin")
    browser = served.sign_in()
    assert "IAM default password policy" in browser.get(served.base + "/account", timeout=10).text
    saved = _post_form(
        browser,
        served.base + "/account",
        served.base + "/account/password-policy",
        MinimumPasswordLength="14",
        RequireSymbols="on",
        AllowUsersToChangePassword="on",
        MaxPasswordAge="",
    )
    assert "Custom password policy" in saved.text
    policy = store.get_account_password_policy()
    assert policy.minimum_password_length == 14 and policy.require_symbols
    assert policy.allow_users_to_change_password and not policy.require_numbers

    user_page, to = served.base + "/users/erin", served.base + "/users/erin/password"
    short = _post_form(browser, user_page, to, new_password="Short-1!", require_reset="on", action="set")
    assert short.status_code == 400 and "PasswordPolicyViolation" in short.text
    done = _post_form(
        browser, user_page, to, new_password="Long-enough-pass-1!", require_reset="on", action="set"
    )
    assert "Enabled (reset required)" in done.text
    assert store.check_password("erin", "Long-enough-pass-1!").password_reset_required
    _post_form(browser, user_page, to, new_password="Another-long-pass-2!", action="set")
    assert not store.get_login_profile("erin").password_reset_required
    removed = _post_form(browser, user_page, to, action="remove")
    assert 'id="console-password">Disabled' in removed.text


def test_a_new_access_key_is_shown_once_with_the_access_key_csv(world: Any) -> None:
    store, _, _, served = world
    browser = served.sign_in()
    page = _post_form(browser, served.base + "/users/admin", served.base + "/users/admin/keys/new")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    download = browser.post(
        served.base + "/credentials.csv",
        data={name: html.unescape(value) for name, value in fields.items()},
        timeout=10,
    )
    assert download.headers["Content-Disposition"] == 'attachment; filename="admin_accessKeys.csv"'
    lines = download.text.splitlines()
    key = store.list_access_keys("admin")[0]
    assert lines[0] == "Access key ID,Secret access key" and lines[1].startswith(key.access_key_id + ",")
    secret = lines[1].split(",", 1)[1]
    assert len(secret) == 40 and secret not in browser.get(served.base + "/users/admin", timeout=10).text
    bad = {**fields, "filename": "../../etc/passwd"}
    assert browser.post(served.base + "/credentials.csv", data=bad, timeout=10).status_code == 400
    no_token = {**fields, "csrf": "forged"}
    assert browser.post(served.base + "/credentials.csv", data=no_token, timeout=10).status_code == 403


def test_templates_and_static_files_are_package_data() -> None:
    """Every file the console reads at run time matches a ``package-data`` pattern (so the
    wheel ships it)."""
    root = Path(__file__).parents[2]
    with open(root / "pyproject.toml", "rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["iamguard"]
    package = root / "iamguard"
    shipped = [p for p in (package / "console").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    data = [p for p in shipped if p.suffix != ".py"]
    assert data and all(
        any(fnmatch.fnmatch(str(p.relative_to(package)), pat) for pat in patterns) for p in data
    )


def test_user_page_shows_tags_and_the_access_advisor(world: Any) -> None:
    store, _, clock, served = world
    store.create_user("gina", tags={"team": "blue"})
    arn = store.get_user("gina").arn
    when = datetime.fromtimestamp(clock(), timezone.utc)
    store.record_access_activity([AccessActivity(when, arn, "s3", "s3:GetObject", "us-east-1")])
    browser = served.sign_in()
    page = browser.get(served.base + "/users/gina", timeout=10)
    assert "team = blue" in page.text
    advisor = browser.get(served.base + "/users/gina/access-advisor", timeout=10)
    assert advisor.status_code == 200
    row = re.search(r"<tr><td>([^<]*)</td><td>s3</td><td>([^<]*)</td>", advisor.text)
    assert row is not None and row.group(2) == when.strftime("%Y-%m-%d %H:%M UTC")


def test_create_user_copying_another_users_permissions(world: Any) -> None:
    store, _, _, served = world
    store.create_group("ops")
    store.add_user_to_group("ops", "admin")
    browser = served.sign_in()
    review = _post_form(
        browser, served.base + "/users/new", served.base + "/users/new/review", user_name="helen"
    )
    assert "This user has no permissions" in review.text
    review = _post_form(
        browser,
        served.base + "/users/new",
        served.base + "/users/new/review",
        user_name="helen",
        copy_from="admin",
    )
    assert "This user has no permissions" not in review.text and "AdministratorAccess" in review.text
    token = _CSRF.search(review.text)
    assert token is not None
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', review.text))
    created = browser.post(served.base + "/users/new", data={**hidden, "csrf": token.group(1)}, timeout=10)
    assert created.ok
    assert [g.name for g in store.list_groups_for_user("helen")] == ["ops"]
    store.attach_policy(PrincipalKind.GROUP, "ops", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
    detail = browser.get(served.base + "/users/helen", timeout=10).text
    assert "AdministratorAccess" in detail and "<li>ReadOnlyAccess (group ops)</li>" in detail


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sign_out_across_processes_on_shared_stores(backend: str, tmp_path: Path) -> None:
    """Two processes: each opens the store itself and runs its own console over one keyring."""
    schemas = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'iam.db'}"
    else:
        schemas = SchemaFactory(server_url())
        url = schemas.url_for(schemas.new())
    box = SecretBox({"k": bytes(range(32))}, "k")
    clock = _Clock()
    first = open_store(url, create=True, account_id=ACCOUNT, secret_box=box, clock=clock)
    first.create_user("admin")
    first.create_login_profile("admin", PASSWORD)
    second = open_store(url, account_id=ACCOUNT, secret_box=box, clock=clock)
    tokens = SessionTokenService(KeyRing.generate(), clock=clock)
    one, two = _Served(first, tokens, clock), _Served(second, tokens, clock)
    try:
        browser = one.sign_in()
        cookie = str(browser.cookies[SESSION_COOKIE])
        home = requests.get(
            two.base + "/home", cookies={SESSION_COOKIE: cookie}, allow_redirects=False, timeout=10
        )
        assert home.status_code == 200
        browser.post(one.base + "/signout", data={"csrf": _csrf(browser, one.base + "/home")}, timeout=10)
        gone = requests.get(
            two.base + "/home", cookies={SESSION_COOKIE: cookie}, allow_redirects=False, timeout=10
        )
        assert gone.status_code == 303
    finally:
        for served in (one, two):
            served.server.shutdown()
            served.server.server_close()
        first.backend.close()
        second.backend.close()
        if schemas is not None:
            schemas.drop_all()


def test_dashboard_recommends_rotating_old_and_unused_keys(world: Any) -> None:
    store, _, clock, served = world
    store.create_user("kim")
    store.create_access_key("kim")
    fresh = served.sign_in().get(served.base + "/home", timeout=10).text
    assert "access key 1 of user kim" not in fresh
    assert "Add MFA for the root user." in fresh
    assert "User admin can sign in to the console but has no MFA device." in fresh
    assert "User kim can sign in" not in fresh  # no console password: nothing to protect there
    clock.now += 91 * 86400
    old = served.sign_in().get(served.base + "/home", timeout=10).text
    assert "Rotate the access key 1 of user kim: it is older than 90 days." in old
    assert "Deactivate the access key 1 of user kim: unused for 90 days." in old
