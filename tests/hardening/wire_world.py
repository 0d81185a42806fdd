"""In-process fixtures for the wire tests: the S3 example and the STS endpoint as WSGI apps,
called with environs built by hand (so any header value, length or stream reaches them), and
botocore-signed requests to seed them."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

os.environ.setdefault("IAMGUARD_DEV_MASTER_KEY", "1")

from examples.s3_service.app import create_app
from examples.s3_service.serve import seed_store
from iamguard.authn.session_token import SessionTokenService
from iamguard.store import open_store
from iamguard.sts.keys import KeyRing
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

S3_URL = "http://127.0.0.1:9000"
STS_URL = "http://127.0.0.1:9001"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class WireWorld:
    s3: Any
    sts: StsWsgiApp
    sessions: SessionTokenService
    akid: str
    secret: str
    #: Seconds added to the session-token clock (to let a token expire).
    offset: list[float]


def make_wire_world() -> WireWorld:
    store = open_store("memory://")
    seed_store(store)
    offset = [0.0]
    sessions = SessionTokenService(KeyRing.generate(), clock=lambda: time.time() + offset[0])
    key = store.create_access_key("alice")
    s3 = create_app(store, sessions=sessions)
    sts = StsWsgiApp(TokenService(store, sessions))
    return WireWorld(s3, sts, sessions, key.access_key.access_key_id, key.secret_access_key, offset)


def environ(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | Any = b"",
    **extra: Any,
) -> dict[str, Any]:
    """A WSGI environ as Werkzeug's server builds it (RAW_URI, latin-1 header values)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "RAW_URI": target,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(parts.port or 80),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body if not isinstance(body, (bytes, bytearray)) else io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            env[key] = value
        else:
            env[f"HTTP_{key}"] = value if f"HTTP_{key}" not in env else f"{env[f'HTTP_{key}']},{value}"
    env.update(extra)
    return env


def call(app: Any, env: Mapping[str, Any]) -> Reply:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = int(status.split()[0]), {k.lower(): v for k, v in headers}
        return lambda data: None

    chunks = app(dict(env), start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Reply(seen["status"], seen["headers"], body)
