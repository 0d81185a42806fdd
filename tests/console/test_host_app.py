"""A host Flask app guarded by iamguard, with the console mounted in it: a browser signed in to
the console is governed on the app's own routes by the same policies as an API caller."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from flask import Flask
from flask_iamguard import IAMGuard, current_principal, require

from iamguard.authn.authenticators import SigV4Authenticator
from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.console import ConsoleMount, ConsoleSessionAuthenticator
from iamguard.console.app import ConsoleApp
from iamguard.enforce.guard import Guard
from iamguard.keyring import KeyRing
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
READER = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}],
}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def host() -> Iterator[tuple[str, ConsoleApp]]:
    store = open_store(
        "memory://",
        create=True,
        account_id="111122223333",
        secret_box=SecretBox({"k": bytes(range(32))}, "k"),
    )
    for name in ("bob", "eve"):
        store.create_user(name)
        store.create_login_profile(name, f"{name.title()}-passw0rd!x")
    store.put_inline_policy(PrincipalKind.USER, "bob", "reports", READER)
    tokens = SessionTokenService(KeyRing.generate())
    console = ConsoleApp(store, tokens, cookie_path="/")
    guard = Guard(
        store,
        authenticators=[
            ConsoleSessionAuthenticator.for_console(console),
            SigV4Authenticator(sessions=tokens),
        ],
    )
    app = Flask("host")

    @app.get("/reports/<key>")
    @require("s3:GetObject", resource="arn:aws:s3:::reports/{key}")
    def report(key: str) -> str:
        principal = current_principal()
        assert principal is not None
        return f"{key} for {principal.arn}"

    IAMGuard(app, guard=guard)
    app.wsgi_app = ConsoleMount(app.wsgi_app, console, prefix="/iam")  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", console
    server.shutdown()
    server.server_close()


def _sign_in(base: str, console: ConsoleApp, user: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/iam/", timeout=10)
    assert page.url == f"{base}/iam{console.login_path()}"
    token = _CSRF.search(page.text)
    assert token is not None
    data = {"csrf": token.group(1), "user_name": user, "password": f"{user.title()}-passw0rd!x"}
    assert browser.post(page.url, data=data, timeout=10).url == f"{base}/iam/home"
    return browser


def test_the_console_session_is_a_caller_of_the_host_app(host: tuple[str, ConsoleApp]) -> None:
    base, console = host
    assert requests.get(f"{base}/reports/q3.csv", timeout=10).status_code in (401, 403)
    bob = _sign_in(base, console, "bob")
    allowed = bob.get(f"{base}/reports/q3.csv", timeout=10)
    assert allowed.status_code == 200 and allowed.text == "q3.csv for arn:aws:iam::111122223333:user/bob"
    eve = _sign_in(base, console, "eve")
    refused = eve.get(f"{base}/reports/q3.csv", timeout=10)
    assert refused.status_code == 403 and "AccessDenied" in refused.text

    stolen = str(bob.cookies["iamguard_console"])
    home = bob.get(f"{base}/iam/home", timeout=10)
    token = _CSRF.search(home.text)
    assert token is not None
    bob.post(f"{base}/iam/signout", data={"csrf": token.group(1)}, timeout=10)
    # the signed-out session, replayed, is refused as expired; a forged cookie too
    for cookie in (stolen, "x~1~y"):
        replay = requests.get(f"{base}/reports/q3.csv", cookies={"iamguard_console": cookie}, timeout=10)
        assert replay.status_code == 400 and "ExpiredToken" in replay.text  # AWS: ExpiredToken is 400
