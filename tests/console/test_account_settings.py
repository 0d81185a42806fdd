"""Console settings every worker shares through the store: the half-done sign-in (sealed with the
store's master key, so a console without a usable one is refused when built, table in
``tests/data/console/master_key.json``), the account's MFA requirement, and the root user's
password and lockout.

Each "two workers" test runs two :class:`ConsoleApp` instances over one store (memory: one store
object; SQLite and PostgreSQL: two store objects opened on the same URL, as two processes would),
with nothing shared in memory but the token service.
"""

from __future__ import annotations

import argparse
import io
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli import main
from iamguard.cli.serve import build_app
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.console import ConsoleApp
from iamguard.console._account import MFA_SETTING_ACTION
from iamguard.console._session import PENDING_COOKIE, SESSION_COOKIE, ConsoleSessions, PendingSignIn
from iamguard.console.mount import mount_console
from iamguard.errors import InvalidInputError, NoSuchEntityError, StoreError
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService, mfa, open_store
from iamguard.store.passwords import LockoutPolicy
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from tests.console._master_key import SETUPS, set_key_environment
from tests.store._pg import SchemaFactory, server_url

ACCOUNT = "111122223333"
PASSWORD = "Adm1n-Passw0rd!x"
ROOT_PASSWORD = "R00t-Passw0rd!xyz"
ADMIN = "arn:aws:iam::iamguard:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"
INCORRECT = "Your authentication information is incorrect. Please try again."
BACKENDS = ["memory", "sqlite", "postgres"]
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class _Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Worker:
    """One console (its own memory: no pending key, no caches shared) on a loopback port."""

    def __init__(self, store: IdentityService, tokens: SessionTokenService, clock: _Clock, **options: Any):
        self.app = ConsoleApp(store, tokens, clock=clock, **options)
        self.server = make_server(
            "127.0.0.1", 0, self.app, server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    @property
    def login(self) -> str:
        return self.base + self.app.login_path()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class _World:
    first: IdentityService
    second: IdentityService
    tokens: SessionTokenService
    clock: _Clock

    def worker(self, which: int = 1, **options: Any) -> _Worker:
        return _Worker(self.first if which == 1 else self.second, self.tokens, self.clock, **options)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_World]:
    box = SecretBox({"k": bytes(range(32))}, "k")
    clock = _Clock()
    lockout = LockoutPolicy(max_failures=3, lockout_seconds=600)
    schemas = None
    if request.param == "memory":
        first = open_store(
            "memory://", create=True, account_id=ACCOUNT, secret_box=box, clock=clock, lockout=lockout
        )
        second = first
    else:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'iam.db'}"
        else:
            schemas = SchemaFactory(server_url())
            url = schemas.url_for(schemas.new())
        first = open_store(url, create=True, account_id=ACCOUNT, secret_box=box, clock=clock, lockout=lockout)
        second = open_store(url, account_id=ACCOUNT, secret_box=box, clock=clock, lockout=lockout)
    first.create_user("admin")
    first.create_login_profile("admin", PASSWORD)
    first.attach_policy(PrincipalKind.USER, "admin", ADMIN)
    try:
        yield _World(first, second, SessionTokenService(KeyRing.generate(), clock=clock), clock)
    finally:
        if second is not first:
            first.backend.close()
            second.backend.close()
        if schemas is not None:
            schemas.drop_all()


def _csrf(browser: requests.Session, url: str) -> str:
    match = _CSRF.search(browser.get(url, timeout=10).text)
    assert match is not None, url
    return match.group(1)


def _post(browser: requests.Session, page: str, to: str = "", **fields: str) -> requests.Response:
    return browser.post(to or page, data={"csrf": _csrf(browser, page), **fields}, timeout=10)


def _password_step(
    worker: _Worker, user: str = "admin", password: str = PASSWORD
) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()  # cookies are per host, not per port: both workers receive them
    return browser, _post(browser, worker.login, user_name=user, password=password)


def _enable_mfa(store: IdentityService, clock: _Clock, user: str) -> str:
    device = store.create_virtual_mfa_device(f"{user}-phone")
    seed = device.base32_seed
    store.enable_mfa_device(
        user, device.device.serial_number, mfa.totp(seed, clock() - 30), mfa.totp(seed, clock())
    )
    clock.now += 30
    return seed


# ---------------------------------------------------------------------- multi-worker sign-in


def test_the_mfa_step_started_on_one_worker_finishes_on_another(world: _World) -> None:
    seed = _enable_mfa(world.first, world.clock, "admin")
    one, two = world.worker(1), world.worker(2)
    try:
        browser, _ = _password_step(one)
        assert PENDING_COOKIE in browser.cookies and SESSION_COOKIE not in browser.cookies
        # the pending cookie carries no readable name: it is sealed, not merely signed
        assert "admin" not in str(browser.cookies[PENDING_COOKIE])
        done = _post(browser, two.login + "/mfa", code=mfa.totp(seed, world.clock()))
        assert done.url == two.base + "/home" and SESSION_COOKIE in browser.cookies
    finally:
        one.close()
        two.close()


def test_a_forged_or_foreign_pending_sign_in_is_refused(world: _World) -> None:
    _enable_mfa(world.first, world.clock, "admin")
    worker = world.worker(1)
    try:
        browser, _ = _password_step(worker)
        sealed = str(browser.cookies[PENDING_COOKIE])
        flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
        expires = int(world.clock()) + 300
        foreign_store = open_store(
            "memory://", create=True, account_id=ACCOUNT, secret_box=SecretBox({"k": bytes(32)}, "k")
        )
        foreign = ConsoleSessions(world.tokens, foreign_store).pending_cookie(
            PendingSignIn("admin", "mfa", expires)
        )
        for cookie in (flipped, foreign, "v1:k:", "admin.mfa"):
            page = requests.get(
                worker.login + "/mfa", cookies={PENDING_COOKIE: cookie}, allow_redirects=False, timeout=10
            )
            assert page.status_code == 303 and page.headers["Location"].endswith(worker.app.login_path())
        # an explicit pending_key still works, and only with that key
        keyed = ConsoleSessions(world.tokens, world.first, pending_key=b"k" * 32, clock=world.clock)
        cookie = keyed.pending_cookie(PendingSignIn("admin", "mfa", expires))
        assert keyed.open_pending(cookie) == PendingSignIn("admin", "mfa", expires)
        assert worker.app.sessions.open_pending(cookie) is None
    finally:
        worker.close()


# ---------------------------------------------------------------------- MFA requirement


def test_the_mfa_requirement_is_stored_and_seen_by_every_store_object(world: _World) -> None:
    assert not world.second.console_mfa_required()
    world.first.set_console_mfa_required(True)
    assert world.second.console_mfa_required()
    world.second.set_console_mfa_required(False)
    assert not world.first.console_mfa_required()


def test_the_account_page_sets_the_mfa_requirement_that_every_worker_enforces(world: _World) -> None:
    world.first.create_user("viewer")
    world.first.create_login_profile("viewer", "Viewer-passw0rd!x")
    world.first.attach_policy(PrincipalKind.USER, "viewer", READ_ONLY)
    one, two = world.worker(1), world.worker(2)
    lenient = world.worker(2, require_mfa=False)
    try:
        admin, _ = _password_step(one)
        settings = admin.get(one.base + "/account", timeout=10).text
        assert "sign in with their password alone" in settings
        saved = _post(admin, one.base + "/account", one.base + "/account/mfa-requirement", require_mfa="on")
        assert saved.ok and "Every console user must sign in with an MFA device" in saved.text
        assert world.second.console_mfa_required()

        # the gate is iam:UpdateAccountPasswordPolicy: a read-only user is refused with the denial
        viewer, page = _password_step(two, "viewer", "Viewer-passw0rd!x")
        assert page.url.endswith("/enrol")  # the requirement already applies to this sign-in
        assert SESSION_COOKIE not in viewer.cookies
        lenient_viewer, _ = _password_step(lenient, "viewer", "Viewer-passw0rd!x")
        assert lenient_viewer.cookies.get(SESSION_COOKIE)  # ConsoleApp(require_mfa=False) overrides
        refused = _post(lenient_viewer, lenient.base + "/account", lenient.base + "/account/mfa-requirement")
        assert refused.status_code == 403 and MFA_SETTING_ACTION in refused.text
        assert world.first.console_mfa_required()
        assert 'id="mfa-override"' in lenient_viewer.get(lenient.base + "/account", timeout=10).text

        # with a device the user signs in through the MFA step, on any worker
        world.first.set_console_mfa_required(True)
        seed = _enable_mfa(world.first, world.clock, "viewer")
        again, page = _password_step(one, "viewer", "Viewer-passw0rd!x")
        assert page.url.endswith("/mfa")
        home = _post(again, two.login + "/mfa", code=mfa.totp(seed, world.clock()))
        assert home.url == two.base + "/home"

        _post(admin, one.base + "/account", one.base + "/account/mfa-requirement")  # unchecked: off
        assert not world.second.console_mfa_required()
    finally:
        for worker in (one, two, lenient):
            worker.close()


# ---------------------------------------------------------------------- root password


def test_root_password_in_the_store_with_a_shared_lockout(world: _World) -> None:
    assert not world.first.has_root_password()
    with pytest.raises(InvalidInputError) as short:
        world.first.set_root_password("Sh0rt!")
    assert short.value.code == "PasswordPolicyViolation" and "Sh0rt" not in str(short.value)
    world.first.set_root_password(ROOT_PASSWORD)
    assert world.second.has_root_password()
    assert world.second.check_root_password(ROOT_PASSWORD).ok
    for store in (world.first, world.second, world.first):  # max_failures=3, counted across both
        assert not store.check_root_password("guess").ok
    locked = world.second.check_root_password(ROOT_PASSWORD)
    assert not locked.ok and locked.locked and 0 < locked.retry_after <= 600
    world.clock.now += 601
    assert world.first.check_root_password(ROOT_PASSWORD).ok
    world.second.delete_root_password()
    assert not world.first.check_root_password(ROOT_PASSWORD).ok
    with pytest.raises(NoSuchEntityError):
        world.first.delete_root_password()


def test_root_signs_in_with_the_stored_password_on_any_worker(world: _World) -> None:
    one, two = world.worker(1), world.worker(2)
    try:
        assert "Sign in as the root user" not in requests.get(one.login, timeout=10).text
        assert requests.get(one.login + "/root", timeout=10).status_code == 404
        world.first.set_root_password(ROOT_PASSWORD)
        assert "Sign in as the root user" in requests.get(two.login, timeout=10).text
        for worker in (one, two, one):
            refused = _post(requests.Session(), worker.login + "/root", password="guess")
            assert INCORRECT in refused.text
        locked = _post(requests.Session(), two.login + "/root", password=ROOT_PASSWORD)
        assert INCORRECT in locked.text
        world.clock.now += 601
        root = requests.Session()
        home = _post(root, two.login + "/root", password=ROOT_PASSWORD)
        assert home.url == two.base + "/home" and "root user" in home.text.lower()
    finally:
        one.close()
        two.close()


def test_iamguard_root_set_password_then_root_signs_in_under_iamguard_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IAMGUARD_MASTER_KEY", SecretBox.generate_key())
    for name in ("IAMGUARD_STS_KEYS", "IAMGUARD_STS_KEYS_FILE", "IAMGUARD_STORE"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    open_store(url, create=True, account_id=ACCOUNT).backend.close()

    monkeypatch.setattr("sys.stdin", io.StringIO("Sh0rt!\n"))
    assert main(["root", "set-password", "--store", url, "--password-stdin"]) != 0
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(ROOT_PASSWORD + "\n"))
    assert main(["root", "set-password", "--store", url, "--password-stdin"]) == 0
    out, err = capsys.readouterr()
    assert ROOT_PASSWORD not in out + err
    store = open_store(url)
    assert store.check_root_password(ROOT_PASSWORD).ok
    store.backend.close()

    args = argparse.Namespace(store=url, keys_file=None, oidc_provider=[], saml_provider=[])
    server = make_server(
        "127.0.0.1", 0, build_app(args, io.StringIO()), server_class=ThreadingWSGIServer, handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        browser = requests.Session()
        page = browser.get(base + "/console/", timeout=10)
        assert "Sign in as the root user" in page.text
        home = _post(browser, page.url + "/root", password=ROOT_PASSWORD)
        assert home.url == f"{base}/console/home"
    finally:
        server.shutdown()
        server.server_close()
    assert main(["root", "delete-password", "--store", url]) == 0
    store = open_store(url)
    assert not store.has_root_password()
    store.backend.close()


# ---------------------------------------------------------------------- no master key: refused at start

_CHANGE_POLICY = "arn:aws:iam::iamguard:policy/IAMUserChangePassword"
_NEW_PASSWORD = "Adm1n-Passw0rd!x-2"
Build = Callable[[IdentityService, SessionTokenService, bytes | None], tuple[WsgiApp, str]]


def _console(store: IdentityService, tokens: SessionTokenService, key: bytes | None) -> tuple[WsgiApp, str]:
    app = ConsoleApp(store, tokens, pending_key=key)
    return app, app.login_path()


def _mounted(store: IdentityService, tokens: SessionTokenService, key: bytes | None) -> tuple[WsgiApp, str]:
    assert key is None  # mount_console has no pending_key: rows with one build ConsoleApp only

    def host(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"the host app"]

    mount = mount_console(host, store, tokens)
    return mount, "/console" + mount.console.login_path()


_BUILDERS: dict[str, Build] = {"ConsoleApp": _console, "mount_console": _mounted}
_CASES = [
    pytest.param(builder, setup, id=f"{builder}: {setup['case']}")
    for builder in _BUILDERS
    for setup in SETUPS
    if builder == "ConsoleApp" or not setup["pending_key"]
]


@contextmanager
def _served(app: WsgiApp) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("builder", "setup"), _CASES)
def test_the_console_is_refused_at_construction_without_a_usable_master_key(
    builder: str, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a master key (or pending_key=) the half-done sign-in cannot be sealed: building the
    console fails, naming what to set, instead of a 500 at the password step of a user who must
    change the password (or give an MFA code). A usable configuration gets that user through."""
    keys = set_key_environment(setup, monkeypatch, tmp_path)
    store = open_store("memory://", create=True, account_id=ACCOUNT)
    store.create_user("admin")
    store.create_login_profile("admin", PASSWORD, password_reset_required=True)
    store.attach_policy(PrincipalKind.USER, "admin", _CHANGE_POLICY)
    tokens = SessionTokenService(KeyRing.generate())
    pending_key = b"p" * 32 if setup["pending_key"] else None
    if setup["refused"] is not None:
        with pytest.raises(StoreError) as refused:
            _BUILDERS[builder](store, tokens, pending_key)
        message = str(refused.value)
        assert [part for part in setup["refused"] if part not in message] == [], message
        assert not any(key in message for key in keys)
        return
    app, login = _BUILDERS[builder](store, tokens, pending_key)
    with _served(app) as base:
        browser = requests.Session()
        change = _post(browser, base + login, user_name="admin", password=PASSWORD)
        assert change.status_code == 200 and "Change your password" in change.text, change.text
        assert change.url == base + login + "/password"
        home = _post(
            browser,
            change.url,
            old_password=PASSWORD,
            new_password=_NEW_PASSWORD,
            confirm_password=_NEW_PASSWORD,
        )
        mount = login[: login.index("/signin/")]
        assert home.status_code == 200 and home.url == f"{base}{mount}/home"
    assert store.check_password("admin", _NEW_PASSWORD).ok
