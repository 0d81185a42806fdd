"""IMDS provider against a local fake metadata service (never the real 169.254.169.254).

https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from iamguard.credentials._http import HttpSettings
from iamguard.credentials.config_files import ProfileScope
from iamguard.credentials.sources.imds import DEFAULT_ENDPOINT, IPV6_ENDPOINT, ImdsProvider
from iamguard.errors import CredentialsError

from .conftest import Handler, LocalServer, iso

EXPIRES = iso(datetime.now(timezone.utc) + timedelta(hours=6))
DOC = json.dumps(
    {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": "ASIAIMDS",
        "SecretAccessKey": "imds-secret",
        "Token": "imds-token",
        "Expiration": EXPIRES,
        "LastUpdated": EXPIRES,
    }
).encode()
FAST = HttpSettings(connect_timeout=0.5, read_timeout=0.5, attempts=1)


def metadata(
    token_status: int = 200, role: bytes = b"web-role\n", doc: bytes = DOC, require_token: bool = False
) -> Handler:
    def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if method == "PUT" and path == "/latest/api/token":
            assert headers.get("x-aws-ec2-metadata-token-ttl-seconds") == "21600"
            return token_status, b"TOKEN-abc" if token_status == 200 else b""
        if require_token and headers.get("x-aws-ec2-metadata-token") != "TOKEN-abc":
            return 401, b""
        if path == "/latest/meta-data/iam/security-credentials/":
            return (200, role) if role else (404, b"")
        if path == "/latest/meta-data/iam/security-credentials/web-role":
            return 200, doc
        return 404, b""

    return handle


def _provider(url: str, **env: str) -> ImdsProvider:
    scope = ProfileScope(
        env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": url, "AWS_CONFIG_FILE": "/nonexistent", **env}
    )
    return ImdsProvider(scope, settings=FAST)


def test_imdsv2_flow(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(metadata(require_token=True))
    creds = _provider(server.url).load()
    assert creds is not None and creds.access_key_id == "ASIAIMDS" and creds.session_token == "imds-token"
    assert creds.expiration is not None and creds.source == "imds"
    assert [(r.method, r.path) for r in server.requests] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/web-role"),
    ]
    assert all(r.headers.get("x-aws-ec2-metadata-token") == "TOKEN-abc" for r in server.requests[1:])


@pytest.mark.parametrize("status", [403, 404, 405])
def test_no_imdsv2_falls_back_to_v1(status: int, local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(metadata(token_status=status))
    creds = _provider(server.url).load()
    assert creds is not None and creds.access_key_id == "ASIAIMDS"
    assert "x-aws-ec2-metadata-token" not in server.requests[1].headers


def test_v1_disabled_refuses_fallback(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(metadata(token_status=404))
    with pytest.raises(CredentialsError, match="AWS_EC2_METADATA_V1_DISABLED"):
        _provider(server.url, AWS_EC2_METADATA_V1_DISABLED="true").load()


def test_token_400_is_an_error(local_server: Callable[[Handler], LocalServer]) -> None:
    with pytest.raises(CredentialsError, match="HTTP 400"):
        _provider(local_server(metadata(token_status=400)).url).load()


def test_no_role_attached_is_not_configured(local_server: Callable[[Handler], LocalServer]) -> None:
    provider = _provider(local_server(metadata(role=b"")).url)
    assert provider.load() is None
    assert "no instance profile role" in str(provider.load_or_reason())


def test_failure_code_is_not_configured(local_server: Callable[[Handler], LocalServer]) -> None:
    doc = json.dumps({"Code": "AssumeRoleUnauthorizedAccess", "Message": "no"}).encode()
    assert _provider(local_server(metadata(doc=doc)).url).load() is None


def test_invalid_document_is_an_error(local_server: Callable[[Handler], LocalServer]) -> None:
    doc = json.dumps({"Code": "Success", "AccessKeyId": "A"}).encode()
    with pytest.raises(CredentialsError, match="invalid credentials document"):
        _provider(local_server(metadata(doc=doc)).url).load()


def test_unreachable_is_not_configured() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now: connection refused, fast
    provider = _provider(f"http://127.0.0.1:{port}")
    assert provider.load() is None
    assert "not reachable" in str(provider.load_or_reason())


def test_disabled_never_touches_the_network() -> None:
    provider = ImdsProvider(ProfileScope(env={"AWS_EC2_METADATA_DISABLED": "true"}))
    assert provider.load() is None and provider.load_or_reason() == "AWS_EC2_METADATA_DISABLED=true"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, DEFAULT_ENDPOINT),
        ({"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"}, IPV6_ENDPOINT),
        ({"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"}, "http://127.0.0.1:9/"),
        (
            {
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://10.0.0.1/",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6",
            },
            "http://10.0.0.1/",
        ),
    ],
)
def test_endpoint_selection(env: dict[str, str], expected: str) -> None:
    assert ImdsProvider(ProfileScope(env={"AWS_CONFIG_FILE": "/nonexistent", **env})).base_url() == expected


def test_async_load(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(metadata(require_token=True))
    creds = asyncio.run(_provider(server.url).aload())
    assert creds is not None and creds.access_key_id == "ASIAIMDS"
