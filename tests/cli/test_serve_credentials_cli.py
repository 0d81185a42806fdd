"""``iamguard serve-credentials``: AssumeRole through a fake STS, serve to real botocore, stop on signals."""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import botocore.session
import pytest

from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import verify_sigv4
from iamguard.cli import serve_credentials
from iamguard.errors import STSError

SOURCE_KEY, SOURCE_SECRET = "AKIASOURCEKEY", "source-secret"
ROLE_ARN = "arn:aws:iam::123456789012:role/demo"


def _assume_role_xml(n: int) -> bytes:
    expiration = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE{n}</AccessKeyId><SecretAccessKey>role-secret-{n}</SecretAccessKey>
<SessionToken>role-token-{n}</SessionToken><Expiration>{expiration}</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>
</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>""".encode()


_DENIED = b"""<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
<Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>"""


class FakeSts:
    """A Query-protocol STS on 127.0.0.1 that checks each request's SigV4 signature."""

    def __init__(self, deny: bool = False) -> None:
        self.calls: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                view = RequestView("POST", path, query, list(self.headers.items()), body)
                verified = verify_sigv4(view, {SOURCE_KEY: SOURCE_SECRET}.get)
                outer.calls.append({**dict(parse_qsl(body.decode())), "_key": verified.access_key_id})
                status, payload = (403, _DENIED) if deny else (200, _assume_role_xml(len(outer.calls)))
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_sts() -> Iterator[Callable[..., FakeSts]]:
    made: list[FakeSts] = []

    def make(deny: bool = False) -> FakeSts:
        made.append(FakeSts(deny))
        return made[-1]

    yield make
    for sts in made:
        sts.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Only static source keys in the environment; empty shared files; IMDS off."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    (tmp_path / "config").write_text("")
    (tmp_path / "credentials").write_text("")
    values = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": SOURCE_KEY,
        "AWS_SECRET_ACCESS_KEY": SOURCE_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="iamguard")
    serve_credentials.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def _exports(text: str) -> dict[str, str]:
    return dict(
        line.removeprefix("export ").split("=", 1) for line in text.splitlines() if line.startswith("export ")
    )


class Running:
    """``serve`` in a thread until stopped; its stdout is collected."""

    def __init__(self, argv: list[str]) -> None:
        self.args = _parse(argv)
        self.stop = threading.Event()
        self.out, self.err = io.StringIO(), io.StringIO()
        self.result: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.result.append(
                serve_credentials.serve(self.args, stop=self.stop, out=self.out, err=self.err)
            ),
            daemon=True,
        )
        self.thread.start()

    def exports(self) -> dict[str, str]:
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline and len(_exports(self.out.getvalue())) < 2 and self.thread.is_alive()
        ):
            time.sleep(0.02)
        return _exports(self.out.getvalue())

    def finish(self) -> int:
        self.stop.set()
        self.thread.join(timeout=10)
        return self.result[0]


def _botocore_keys(monkeypatch: pytest.MonkeyPatch, exports: dict[str, str]) -> tuple[str, str, str]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)  # botocore must take the container endpoint, not the source keys
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    frozen = botocore.session.Session().get_credentials().get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


def test_serves_the_assumed_role_to_botocore(
    fake_sts: Callable[..., FakeSts], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sts = fake_sts()
    running = Running(
        [
            "serve-credentials",
            "--role-arn",
            ROLE_ARN,
            "--session-name",
            "ci-run",
            "--duration",
            "1800",
            "--external-id",
            "ext-1",
            "--endpoint-url",
            sts.url,
        ]
    )
    exports = running.exports()
    try:
        assert exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
        assert exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"].endswith("/creds")
        token_file = Path(exports["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert _botocore_keys(monkeypatch, exports) == ("ASIAROLE1", "role-secret-1", "role-token-1")
    finally:
        assert running.finish() == 0
    assert sts.calls == [
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": ROLE_ARN,
            "RoleSessionName": "ci-run",
            "DurationSeconds": "1800",
            "ExternalId": "ext-1",
            "_key": SOURCE_KEY,
        }
    ]
    assert not token_file.exists() and not token_file.parent.exists()  # temp dir removed on stop
    assert "role-secret" not in running.err.getvalue() and "ASIAROLE1" in running.err.getvalue()


def test_endpoint_from_configuration_and_given_token_file(
    fake_sts: Callable[..., FakeSts], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sts = fake_sts()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)  # standard endpoint resolution
    token_file = tmp_path / "my-token"
    running = Running(["serve-credentials", "--role-arn", ROLE_ARN, "--token-file", str(token_file)])
    exports = running.exports()
    try:
        assert exports["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == str(token_file.resolve())
        assert _botocore_keys(monkeypatch, exports)[0] == "ASIAROLE1"
    finally:
        assert running.finish() == 0
    assert sts.calls[0]["RoleSessionName"] == "iamguard-serve-credentials"
    assert not token_file.exists()


def test_sts_refusal_fails_before_serving(fake_sts: Callable[..., FakeSts], env: dict[str, str]) -> None:
    sts = fake_sts(deny=True)
    out = io.StringIO()
    args = _parse(["serve-credentials", "--role-arn", ROLE_ARN, "--endpoint-url", sts.url])
    with pytest.raises(STSError) as refused:
        serve_credentials.serve(args, stop=threading.Event(), out=out, err=io.StringIO())
    assert refused.value.code == "AccessDenied" and out.getvalue() == ""


@pytest.mark.parametrize(
    "extra",
    [
        ["--session-name", "x"],  # RoleSessionName: 2-64 characters
        ["--session-name", "has space"],  # only [\w+=,.@-]
        ["--duration", "899"],  # DurationSeconds: 900..43200
        ["--duration", "43201"],
        ["--host", "0.0.0.0"],  # non-loopback without --allow-non-loopback
    ],
)
def test_invalid_arguments_are_refused(
    fake_sts: Callable[..., FakeSts], env: dict[str, str], extra: list[str]
) -> None:
    sts = fake_sts()
    args = _parse(["serve-credentials", "--role-arn", ROLE_ARN, "--endpoint-url", sts.url, *extra])
    with pytest.raises(ValueError):
        serve_credentials.serve(args, stop=threading.Event(), out=io.StringIO(), err=io.StringIO())


_RUNNER = (
    "import argparse, sys\n"
    "from iamguard.cli import serve_credentials as s\n"
    "p = argparse.ArgumentParser(prog='iamguard'); s.register(p.add_subparsers(dest='command'))\n"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_process_serves_until_signalled(
    fake_sts: Callable[..., FakeSts], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, stop_signal: int
) -> None:
    sts = fake_sts()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _RUNNER,
            "serve-credentials",
            "--role-arn",
            ROLE_ARN,
            "--endpoint-url",
            sts.url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        exports = _exports("".join(lines))
        assert set(exports) == {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        }
        assert _botocore_keys(monkeypatch, exports)[0] == "ASIAROLE1"
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "credentials server stopped" in err
    assert "role-secret" not in err and "role-token" not in err  # access log and banner hold no secrets
    assert " 200 served ASIAROLE1" in err
    assert not Path(exports["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).exists()
