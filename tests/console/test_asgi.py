"""The console inside an ASGI app: FastAPI's own ``app.mount`` and :func:`mount_console_asgi`,
driven by FastAPI's TestClient (the whole app, lifespan included, as a server runs it)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from iamguard.authn.session_token import SessionTokenService
from iamguard.console import ConsoleApp, ConsoleAsgiApp, ConsoleMount, mount_console_asgi
from iamguard.console._http import MAX_FORM_BYTES
from iamguard.console._session import SESSION_COOKIE
from iamguard.console.asgi import wsgi_environ
from iamguard.errors import InvalidParameterError
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox

ACCOUNT = "111122223333"
PASSWORD = "Adm1n-Passw0rd!x"
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture
def console() -> Iterator[ConsoleApp]:
    store: IdentityService = open_store(
        "memory://", create=True, account_id=ACCOUNT, secret_box=SecretBox({"k": bytes(range(32))}, "k")
    )
    store.create_user("admin")
    store.create_login_profile("admin", PASSWORD)
    store.attach_policy(PrincipalKind.USER, "admin", "arn:aws:iam::iamguard:policy/AdministratorAccess")
    yield ConsoleApp(store, SessionTokenService(KeyRing.generate()))


def _host_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


def _sign_in(client: TestClient, prefix: str) -> None:
    page = client.get(prefix + "/")
    assert page.status_code == 200 and str(page.url).endswith(f"{prefix}/signin/{ACCOUNT}")
    assert f'href="{prefix}/static/console.css"' in page.text
    token = _CSRF.search(page.text)
    assert token is not None
    home = client.post(
        str(page.url), data={"csrf": token.group(1), "user_name": "admin", "password": PASSWORD}
    )
    assert home.status_code == 200 and str(home.url).endswith(f"{prefix}/home")
    assert "Users" in home.text


def _session_cookie_path(client: TestClient) -> str:
    return str(next(c.path for c in client.cookies.jar if c.name == SESSION_COOKIE))


def test_fastapi_app_mount_serves_the_console_under_its_root_path(console: ConsoleApp) -> None:
    app = _host_app()
    app.mount("/iam", ConsoleAsgiApp(console))
    # loopback, so the cookies are not Secure over plain HTTP (as the WSGI console decides)
    with TestClient(app, base_url="http://localhost") as client:
        _sign_in(client, "/iam")
        assert _session_cookie_path(client) == "/iam/"
        assert client.get("/iam/static/console.css").headers["content-type"].startswith("text/css")
        assert client.get("/hello").json() == {"hello": "world"}
        response = client.get("/iam/users")
        assert response.status_code == 200 and "admin" in response.text
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_mount_console_asgi_routes_the_prefix_and_passes_everything_else(console: ConsoleApp) -> None:
    app = mount_console_asgi(_host_app(), console, prefix="/console")
    with TestClient(app, base_url="http://localhost") as client:  # lifespan reaches FastAPI
        assert client.get("/hello").json() == {"hello": "world"}
        assert client.get("/consoled").status_code == 404  # FastAPI's answer, not the console's
        _sign_in(client, "/console")
        assert _session_cookie_path(client) == "/console/"
        too_large = client.post(
            f"/console/signin/{ACCOUNT}",
            content=b"x" * (MAX_FORM_BYTES + 1),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert too_large.status_code == 413
        signed_out = TestClient(app, base_url="http://localhost").get(
            "/console/users", follow_redirects=False
        )
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == f"/console/signin/{ACCOUNT}"


def test_the_environ_follows_pep_3333() -> None:
    scope = {
        "type": "http",
        "method": "post",
        "root_path": "/iam",
        "path": "/iam/signin/x",
        "query_string": b"a=1",
        "scheme": "https",
        "server": ("example.com", 443),
        "client": ("10.0.0.1", 5000),
        "headers": [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
            (b"x-forwarded-for", b"1.1.1.1"),
            (b"x-forwarded-for", b"2.2.2.2"),
        ],
    }
    environ = wsgi_environ(scope, b"k=v")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"], environ["QUERY_STRING"]) == (
        "/iam",
        "/signin/x",
        "a=1",
    )
    assert environ["REQUEST_METHOD"] == "POST" and environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_COOKIE"] == "a=1; b=2" and environ["HTTP_X_FORWARDED_FOR"] == "1.1.1.1,2.2.2.2"
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "3" and environ["wsgi.input"].read() == b"k=v"
    assert environ["REMOTE_ADDR"] == "10.0.0.1" and environ["SERVER_NAME"] == "example.com"
    # a server that strips the mount from "path" itself is understood too
    assert wsgi_environ({**scope, "path": "/signin/x"}, b"")["PATH_INFO"] == "/signin/x"


@pytest.mark.parametrize("prefix", ["console", "/console/", ""])
def test_a_bad_prefix_is_an_invalid_parameter(console: ConsoleApp, prefix: str) -> None:
    for mount in (
        lambda: ConsoleMount(lambda e, s: [], console, prefix=prefix),
        lambda: mount_console_asgi(_host_app(), console, prefix=prefix),
    ):
        with pytest.raises(InvalidParameterError, match="prefix") as caught:
            mount()
        assert isinstance(caught.value, ValueError) and caught.value.code == "InvalidParameterValue"


def test_served_by_uvicorn_on_a_free_port(console: ConsoleApp) -> None:
    app = mount_console_asgi(_host_app(), console, prefix="/console")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        browser = requests.Session()
        page = browser.get(base + "/console/", timeout=10)
        assert page.url == f"{base}/console/signin/{ACCOUNT}"
        token = _CSRF.search(page.text)
        assert token is not None
        home = browser.post(
            page.url, data={"csrf": token.group(1), "user_name": "admin", "password": PASSWORD}, timeout=10
        )
        assert home.url == f"{base}/console/home" and browser.get(base + "/hello", timeout=10).json() == {
            "hello": "world"
        }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
