"""Container credentials provider against a local endpoint.

https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from iamguard.credentials._http import HttpSettings
from iamguard.credentials.sources.container import ContainerProvider, container_url_allowed
from iamguard.errors import CredentialsError

from .conftest import Handler, LocalServer

DOC = json.dumps(
    {
        "AccessKeyId": "ASIACONT",
        "SecretAccessKey": "c-secret",
        "Token": "c-token",
        "Expiration": "2099-01-01T00:00:00Z",
        "AccountId": "123456789012",
    }
).encode()
FAST = HttpSettings(connect_timeout=0.5, read_timeout=0.5, attempts=1)


def endpoint(status: int = 200, doc: bytes = DOC) -> Handler:
    return lambda method, path, headers, body: (status, doc)


def test_full_uri_with_token(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(endpoint())
    provider = ContainerProvider(
        {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url + "/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer xyz",
        },
        settings=FAST,
    )
    creds = provider.load()
    assert creds is not None and creds.access_key_id == "ASIACONT" and creds.account_id == "123456789012"
    assert server.requests[0].path == "/creds" and server.requests[0].headers["authorization"] == "Bearer xyz"


def test_token_file_wins_and_is_read_each_time(
    tmp_path: Path, local_server: Callable[[Handler], LocalServer]
) -> None:
    server = local_server(endpoint())
    token = tmp_path / "token"
    token.write_text("from-file-1")
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "from-env",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
    }
    provider = ContainerProvider(env, settings=FAST)
    provider.load()
    token.write_text("from-file-2")
    provider.load()
    assert [r.headers["authorization"] for r in server.requests] == ["from-file-1", "from-file-2"]


def test_token_with_newline_is_refused(
    tmp_path: Path, local_server: Callable[[Handler], LocalServer]
) -> None:
    server = local_server(endpoint())
    token = tmp_path / "token"
    token.write_text("abc\n")
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
    }
    with pytest.raises(CredentialsError, match="line break"):
        ContainerProvider(env, settings=FAST).load()
    assert server.requests == []


def test_relative_uri_targets_ecs_host() -> None:
    provider = ContainerProvider(
        {
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/x",
        }
    )
    assert provider.url() == "http://169.254.170.2/v2/credentials/abc"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://creds.example.com/x", True),  # any host over https
        ("http://127.0.0.1:8080/x", True),  # loopback
        ("http://127.0.0.2/x", True),
        ("http://[::1]:80/x", True),
        ("http://localhost/x", True),
        ("http://169.254.170.2/x", True),  # ECS
        ("http://169.254.170.23/v1/credentials", True),  # EKS Pod Identity
        ("http://[fd00:ec2::23]/v1/credentials", True),
        ("http://169.254.169.254/x", False),  # IMDS is not a container endpoint
        ("http://10.0.0.5/x", False),
        ("http://evil.example.com/x", False),
        ("ftp://127.0.0.1/x", False),
    ],
)
def test_allowed_hosts_as_botocore(url: str, allowed: bool) -> None:
    assert container_url_allowed(url) is allowed


def test_disallowed_full_uri_is_an_error() -> None:
    with pytest.raises(CredentialsError, match="not allowed"):
        ContainerProvider({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://evil.example.com/"}).load()


def test_not_configured() -> None:
    provider = ContainerProvider({})
    assert provider.load() is None and "is set" in str(provider.load_or_reason())


@pytest.mark.parametrize(
    ("status", "doc", "match"),
    [
        (403, b"{}", "HTTP 403"),
        (200, b"not json", "invalid credentials document"),
        (200, json.dumps({"AccessKeyId": "A"}).encode(), "missing SecretAccessKey"),
    ],
)
def test_bad_answers(
    status: int, doc: bytes, match: str, local_server: Callable[[Handler], LocalServer]
) -> None:
    server = local_server(endpoint(status, doc))
    with pytest.raises(CredentialsError, match=match):
        ContainerProvider({"AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url}, settings=FAST).load()


def test_unreachable_is_an_error_naming_the_provider() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(CredentialsError, match=r"container: .*unreachable"):
        ContainerProvider(
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{port}/"}, settings=FAST
        ).load()


def test_async_load(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(endpoint())
    provider = ContainerProvider({"AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url}, settings=FAST)
    creds = asyncio.run(provider.aload())
    assert creds is not None and creds.access_key_id == "ASIACONT"
