"""The local container-credentials endpoint, read by real botocore and by iamguard's own provider.

botocore's ``ContainerProvider`` is the reference client: it must receive the served keys
through ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` + ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` and
be refused with a wrong or missing token.
https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.credentials import ContainerProvider as BotoContainerProvider
from botocore.exceptions import CredentialRetrievalError
from botocore.utils import ContainerMetadataFetcher
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import RefreshableCredentials
from iamguard.credentials.server import (
    CredentialsServer,
    credentials_document,
    generate_token,
    is_loopback_host,
    serving_windows,
    write_token_file,
)
from iamguard.credentials.sources.container import ContainerProvider
from iamguard.errors import CredentialsError, RefreshError

from .conftest import FakeClock

ROLE_ARN = "arn:aws:iam::123456789012:role/demo"
SECRET = "served-secret-wJalrXUtnFEMI/K7MDENG"
SESSION_TOKEN = "served-session-token-IQoJb3JpZ2luX2Vj"
CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "credentials" / "server_requests.json").read_text()
)["cases"]


def _role_credentials(key: str = "ASIASERVED1", hours: float = 1.0) -> Credentials:
    return Credentials(
        key,
        SECRET,
        SESSION_TOKEN,
        expiration=datetime.now(timezone.utc) + timedelta(hours=hours),
        source="assume-role",
        account_id="123456789012",
    )


@pytest.fixture
def servers() -> Iterator[Callable[..., CredentialsServer]]:
    started: list[CredentialsServer] = []

    def start(source: Any, **kwargs: Any) -> CredentialsServer:
        server = CredentialsServer(source, role_arn=ROLE_ARN, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()


@pytest.fixture
def sdk_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[CredentialsServer, str | None], Path]:
    """Point os.environ (for botocore) at a server: every other AWS_* variable cleared, empty files."""

    def apply(server: CredentialsServer, token: str | None) -> Path:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            monkeypatch.delenv(name)
        (tmp_path / "config").write_text("")
        (tmp_path / "credentials").write_text("")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url)
        token_file = tmp_path / "token"
        if token is not None:
            write_token_file(token_file, token)
            monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
        return token_file

    return apply


# ---------------------------------------------------------------- real botocore


def test_botocore_session_receives_the_served_credentials(
    servers: Callable[..., CredentialsServer], sdk_env: Callable[[CredentialsServer, str | None], Path]
) -> None:
    served = _role_credentials()
    server = servers(RefreshableCredentials(lambda: _role_credentials("ASIAREFRESHED"), initial=served))
    sdk_env(server, server.token)
    found = botocore.session.Session().get_credentials()
    assert found is not None and found.method == "container-role"
    frozen = found.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("ASIASERVED1", SECRET, SESSION_TOKEN)


def _boto_provider() -> Any:
    # No sleeping between botocore's three attempts: refusals are final anyway.
    return BotoContainerProvider(fetcher=ContainerMetadataFetcher(sleep=lambda _seconds: None))


@pytest.mark.parametrize("token", ["not-the-token", None], ids=["wrong-token", "no-token"])
def test_botocore_is_refused_without_the_right_token(
    servers: Callable[..., CredentialsServer],
    sdk_env: Callable[[CredentialsServer, str | None], Path],
    token: str | None,
) -> None:
    server = servers(_role_credentials())
    sdk_env(server, token)
    with pytest.raises(CredentialRetrievalError) as refused:
        _boto_provider().load()
    message = str(refused.value)
    assert ("403" if token else "401") in message
    assert SECRET not in message and SESSION_TOKEN not in message and server.token not in message


def test_botocore_sees_a_refreshed_session_after_the_source_refreshes(
    servers: Callable[..., CredentialsServer], sdk_env: Callable[[CredentialsServer, str | None], Path]
) -> None:
    """The server hands out whatever its refreshing source holds now: a simulated refresh."""
    clock = FakeClock(datetime.now(timezone.utc))
    issued: list[str] = []

    def refresh() -> Credentials:
        issued.append(f"ASIAROLE{len(issued)}")
        return Credentials(issued[-1], SECRET, SESSION_TOKEN, expiration=clock() + timedelta(hours=1))

    server = servers(RefreshableCredentials(refresh, clock=clock, windows=serving_windows(3600)), clock=clock)
    sdk_env(server, server.token)
    assert _boto_provider().load().get_frozen_credentials().access_key == "ASIAROLE0"
    clock.advance(50 * 60)  # past the mandatory window (15 min before expiry): must refresh first
    assert _boto_provider().load().get_frozen_credentials().access_key == "ASIAROLE1"
    assert issued == ["ASIAROLE0", "ASIAROLE1"]


def test_iamguard_container_provider_reads_the_server(
    servers: Callable[..., CredentialsServer], tmp_path: Path
) -> None:
    server = servers(_role_credentials())
    token_file = write_token_file(tmp_path / "token", server.token)
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
    }
    found = ContainerProvider(env).load()
    assert found is not None
    assert (found.access_key_id, found.secret_access_key, found.session_token, found.account_id) == (
        "ASIASERVED1",
        SECRET,
        SESSION_TOKEN,
        "123456789012",
    )


# ---------------------------------------------------------------- the protocol, table-driven


def _request(
    server: CredentialsServer, method: str, path: str, authorizations: list[str], host: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", host)
        for value in authorizations:
            connection.putheader("Authorization", value)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        return (
            response.status,
            json.loads(response.read() or b"{}"),
            {k.lower(): v for k, v in response.getheaders()},
        )
    finally:
        connection.close()


def _authorizations(kind: str | None, token: str) -> list[str]:
    return {
        None: [],
        "valid": [token],
        "wrong": [generate_token()],
        "prefix": [token[:-1]],
        "extended": [token + "x"],
        "twice": [token, token],
    }[kind]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_protocol(
    servers: Callable[..., CredentialsServer], case: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    server = servers(_role_credentials())
    host = f"127.0.0.1:{server.port}" if case["host"] == "default" else case["host"]
    with caplog.at_level(logging.DEBUG, logger="iamguard.credentials.server"):
        status, body, headers = _request(
            server, case["method"], case["path"], _authorizations(case["authorization"], server.token), host
        )
    assert status == case["status"]
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    if status == 200:
        assert body["AccessKeyId"] == "ASIASERVED1" and body["RoleArn"] == ROLE_ARN
        assert body["SecretAccessKey"] == SECRET and body["Token"] == SESSION_TOKEN
    else:
        assert body["Code"] == case["code"]
        assert SECRET not in json.dumps(body) and SESSION_TOKEN not in json.dumps(body)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f" {status} " in logged
    for secret in (SECRET, SESSION_TOKEN, server.token):
        assert secret not in logged


def test_document_has_the_fields_botocore_requires() -> None:
    creds = _role_credentials()
    document = credentials_document(creds, role_arn=ROLE_ARN)
    assert set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn", "AccountId"}
    assert document["Expiration"].endswith("Z")
    assert creds.expiration is not None
    assert datetime.strptime(document["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc
    ) == creds.expiration.replace(microsecond=0)


# ---------------------------------------------------------------- failing closed


class Failing:
    def get(self) -> Credentials:
        raise RefreshError(f"STS said no (secret {SECRET} must not leak through the body)")


@pytest.mark.parametrize(
    "source",
    [
        Credentials("AKIALONGTERM", SECRET),  # long-term keys: not in this protocol
        Credentials(
            "ASIAEXPIRED", SECRET, SESSION_TOKEN, expiration=datetime.now(timezone.utc) - timedelta(seconds=1)
        ),  # never hand out expired keys
        Failing(),
    ],
    ids=["long-term", "expired", "refresh-error"],
)
def test_unservable_credentials_give_503_without_secrets(
    servers: Callable[..., CredentialsServer], source: Any
) -> None:
    server = servers(source)
    status, body, _ = _request(server, "GET", "/creds", [server.token], f"127.0.0.1:{server.port}")
    assert status == 503 and body["Code"] == "CredentialsUnavailable"
    assert SECRET not in json.dumps(body)


def test_long_term_credentials_have_no_document() -> None:
    with pytest.raises(CredentialsError):
        credentials_document(Credentials("AKIALONGTERM", SECRET))


@settings(max_examples=200, deadline=None)
@given(presented=st.text(max_size=60))
def test_any_other_token_is_refused(presented: str) -> None:
    server = CredentialsServer(Credentials("ASIA", SECRET, SESSION_TOKEN), token="the-right-token-0123456789")
    try:
        status, body, _ = server.answer("/creds", [presented], "127.0.0.1")
    finally:
        server.shutdown()
    if presented == "the-right-token-0123456789":
        assert status == 503  # right token; these credentials have no expiration
    else:
        assert status == 403 and b"AccessDenied" in body


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_non_loopback_bind_is_refused_by_default(host: str) -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        CredentialsServer(_role_credentials(), host=host)


@pytest.mark.parametrize("token", ["", "line\nbreak", "carriage\rreturn"])
def test_illegal_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError):
        CredentialsServer(_role_credentials(), token=token)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("169.254.170.2", False),
        ("evil.example", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


# ---------------------------------------------------------------- token file and windows


def test_token_file_is_private_and_has_no_newline(tmp_path: Path) -> None:
    target = tmp_path / "token"
    target.write_text("old contents\n")
    os.chmod(target, 0o644)
    token = generate_token()
    write_token_file(target, token)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == token.encode()
    assert len(token) >= 43 and "\n" not in token


@pytest.mark.parametrize(
    ("duration", "advisory", "mandatory"),
    [
        (900, 450, 225),  # AssumeRole minimum: refresh at half-life, never serve < 1/4 left
        (3600, 1500, 900),  # 1 h: 25 / 15 min, ahead of botocore's 15 / 10 min windows
        (43200, 1500, 900),  # 12 h maximum: capped
    ],
)
def test_serving_windows(duration: int, advisory: float, mandatory: float) -> None:
    windows = serving_windows(duration)
    assert (windows.advisory, windows.mandatory) == (advisory, mandatory)


def test_ipv6_loopback_url_is_bracketed() -> None:
    try:
        server = CredentialsServer(_role_credentials(), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback in this environment")
    try:
        assert server.url == f"http://[::1]:{server.port}/creds"
    finally:
        server.shutdown()
