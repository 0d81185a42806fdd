"""The console served on a loopback port and driven by Debian's headless Chromium (Selenium).

Fixtures:

* ``console`` -- a :class:`Console`: a fresh in-memory store (account 111122223333) with an
  administrator ``admin`` (AdministratorAccess, console password), the console app served by a
  threading WSGI server on 127.0.0.1:<free port>, and helpers to sign in and to screenshot;
* ``browser`` -- one headless Chromium per module (``/usr/bin/chromium`` with
  ``/usr/bin/chromedriver`` given explicitly, so Selenium Manager never downloads anything),
  its cookies cleared for each test.

Every screen a test visits is screenshotted into ``tests/console/artifacts/`` (git-ignored) and
checked with axe-core (installed by ``npm ci`` from ``tests/console/node`` on first use, injected
through the driver since the console's CSP allows no inline script): a serious or critical
violation fails the test.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.console import ConsoleApp
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService, open_store
from iamguard.store.passwords import LockoutPolicy
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
NODE_DIR = HERE / "node"
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
ACCOUNT = "111122223333"
ADMIN_PASSWORD = "Adm1n-Passw0rd!x"
ROOT_PASSWORD = "R00t-Passw0rd!xyz"
ADMIN_POLICY = "arn:aws:iam::iamguard:policy/AdministratorAccess"
READ_ONLY_POLICY = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _axe_source() -> str:
    """axe-core's script, installed with ``npm ci`` on first use (one installer at a time:
    pytest-xdist workers wait on a lock file)."""
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not AXE.is_file():
            if shutil.which("npm") is None:
                raise RuntimeError("npm is needed to install axe-core for the console's accessibility checks")
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return AXE.read_text(encoding="utf-8")


class Clock:
    """The store's clock (MFA time steps, lockout): real time plus what a test skips ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped

    def advance(self, seconds: float) -> None:
        self.skipped += seconds


class Console:
    """The console on a free loopback port over a fresh store, and what tests do with it."""

    def __init__(self, driver: WebDriver, test_name: str) -> None:
        self.clock = Clock()
        self.store: IdentityService = open_store(
            "memory://",
            create=True,
            account_id=ACCOUNT,
            secret_box=SecretBox({"k": bytes(range(32))}, "k"),
            lockout=LockoutPolicy(max_failures=3, lockout_seconds=600),
            clock=self.clock,
        )
        self.store.create_user("admin")
        self.store.create_login_profile("admin", ADMIN_PASSWORD)
        self.store.attach_policy(PrincipalKind.USER, "admin", ADMIN_POLICY)
        self.tokens = SessionTokenService(KeyRing.generate())
        self.store.set_root_password(ROOT_PASSWORD)  # what `iamguard root set-password` does
        self.app = ConsoleApp(self.store, self.tokens)
        self.server = make_server(
            "127.0.0.1", 0, self.app, server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()
        self.driver = driver
        self.name = re.sub(r"[^\w-]+", "_", test_name)
        self.shots = 0
        self.checked: list[str] = []
        self.downloads = ARTIFACTS / "downloads" / self.name
        shutil.rmtree(self.downloads, ignore_errors=True)
        self.downloads.mkdir(parents=True)
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)}
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def login_url(self) -> str:
        return self.base + self.app.login_path()

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def fill(self, values: dict[str, str]) -> None:
        for field, value in values.items():
            element = self.find(f"#{field}")
            element.clear()
            element.send_keys(value)

    def submit(self, css: str = "main form button[type=submit]") -> None:
        """Click ``css`` and wait until the browser has loaded the page the form answers with."""
        self.driver.execute_script("window.__igPageBeforeSubmit = true;")
        self.find(css).click()
        WebDriverWait(self.driver, 15).until(
            lambda d: d.execute_script(
                "return window.__igPageBeforeSubmit === undefined && document.readyState === 'complete';"
            )
        )

    def text(self) -> str:
        return str(self.find("body").text)

    def screen(self, label: str) -> None:
        """Screenshot the current page into the artifacts folder and run axe-core on it."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.shots += 1
        self.driver.save_screenshot(str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"))
        self.driver.execute_script(_axe_source())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)));"
        )
        bad = [v for v in json.loads(result) if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe-core on {label}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in bad
        )
        self.checked.append(label)

    def sign_in(self, user: str = "admin", password: str = ADMIN_PASSWORD) -> None:
        self.driver.get(self.login_url)
        self.fill({"user_name": user, "password": password})
        self.submit()

    def sign_out(self) -> None:
        self.submit("form.signout button")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def console(browser: WebDriver, request: pytest.FixtureRequest) -> Iterator[Console]:
    browser.delete_all_cookies()
    made = Console(browser, request.node.name)
    try:
        yield made
    finally:
        browser.delete_all_cookies()
        made.close()
