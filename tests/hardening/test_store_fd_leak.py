"""A thread-per-request server over a SQLite store keeps its file descriptors flat.

The SQLite backend used to keep one connection per thread, closed only by ``close()``: every
request on a new connection (a new thread) left two descriptors open for good (300 requests to
``iamguard serve-sts`` added 600), until the process hit its limit and answered 503 to
everything. Connections now come from a bounded pool (``iamguard/store/sqlite.py``).
"""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.serving import make_server

from iamguard.authn.session_token import SessionTokenService
from iamguard.store import open_store
from iamguard.store.secrets import SecretBox
from iamguard.store.sqlite import SQLiteBackend
from iamguard.sts.keys import KeyRing
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

BOX = SecretBox({"t": bytes(range(32))}, "t")
BODY = "Action=GetCallerIdentity&Version=2011-06-15"
REQUESTS = 2000


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def sts_server(tmp_path: Path) -> Iterator[tuple[int, Credentials, SQLiteBackend]]:
    store = open_store(
        f"sqlite:///{tmp_path / 'iam.db'}", create=True, account_id="123456789012", secret_box=BOX
    )
    store.create_user("alice")
    created = store.create_access_key("alice")
    app = StsWsgiApp(TokenService(store, SessionTokenService(KeyRing.generate())))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    assert isinstance(store.backend, SQLiteBackend)
    try:
        yield server.server_port, Credentials(created.access_key_id, created.secret_access_key), store.backend
    finally:
        server.shutdown()
        server.server_close()
        store.backend.close()


def _call(port: int, credentials: Credentials) -> int:
    """One signed GetCallerIdentity on a new TCP connection (so the server starts a new thread)."""
    url = f"http://127.0.0.1:{port}/"
    request = AWSRequest(
        method="POST",
        url=url,
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/", body=BODY, headers=dict(request.headers.items()))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.slow
def test_thread_per_request_server_does_not_leak_descriptors(
    sts_server: tuple[int, Credentials, SQLiteBackend],
) -> None:
    port, credentials, backend = sts_server
    for _ in range(20):  # warm up: the pool, imports, caches
        assert _call(port, credentials) == 200
    before = _fds()
    statuses = [_call(port, credentials) for _ in range(REQUESTS)]
    after = _fds()
    assert statuses.count(200) == REQUESTS
    assert after - before < 10, f"{after - before} descriptors more after {REQUESTS} requests"
    assert backend.open_connections() <= 8
