"""Shared fixtures: isolated environments, a simulated clock, and real local HTTP servers.

Every server listens on 127.0.0.1 (never the real 169.254.169.254); handlers are plain
functions ``(method, path, headers, body) -> (status, body)`` so tests read as tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, bytes]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class LocalServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    handler: Handler | None = None


@pytest.fixture
def local_server() -> Iterator[Callable[[Handler], LocalServer]]:
    """Start HTTP servers on 127.0.0.1 with a given handler; all are shut down afterwards."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Handler) -> LocalServer:
        state = LocalServer(url="", handler=handler)

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                state.requests.append(Recorded(self.command, self.path, headers, body))
                assert state.handler is not None
                status, payload = state.handler(self.command, self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sts_response(
    action: str,
    *,
    key: str = "ASIAROLEKEY",
    secret: str = "role-secret",
    token: str = "role-token",
    expiration: datetime | None = None,
    arn: str = "arn:aws:sts::123456789012:assumed-role/demo/session",
) -> bytes:
    expiration = expiration or datetime.now(timezone.utc) + timedelta(hours=1)
    return f"""<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <Credentials>
      <AccessKeyId>{key}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{iso(expiration)}</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>{arn}</Arn><AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId></AssumedRoleUser>
  </{action}Result>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</{action}Response>""".encode()


def sts_error(code: str, message: str) -> bytes:
    return f"""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
  <RequestId>0f7b5d4c</RequestId>
</ErrorResponse>""".encode()


@pytest.fixture
def fake_sts(local_server: Callable[[Handler], LocalServer]) -> LocalServer:
    """An STS Query endpoint answering every action with fresh credentials (key names the action)."""

    def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        form = dict(parse_qsl(body.decode()))
        action = form.get("Action", "")
        n = sum(1 for _ in server.requests)
        return 200, sts_response(action, key=f"ASIA{action.upper()}{n}")

    server = local_server(handle)
    return server


class FakeClock:
    """A settable clock returning aware UTC datetimes."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no credentials anywhere and IMDS off; files point into tmp_path."""
    return {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(tmp_path),
    }
