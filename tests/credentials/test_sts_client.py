"""The STS Query client: request shape, SigV4 (verified by iamguard's verifier), XML and errors.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import verify_sigv4
from iamguard.credentials._http import HttpResponse
from iamguard.credentials.provider import Credentials
from iamguard.credentials.sts_client import StsClient, build_sts_request, parse_sts_credentials, sts_endpoint
from iamguard.errors import STSError

from .conftest import Handler, LocalServer, sts_error, sts_response

SOURCE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


@pytest.mark.parametrize(
    ("region", "url"),
    [
        (None, "https://sts.amazonaws.com"),
        ("aws-global", "https://sts.amazonaws.com"),
        ("eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
        ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_endpoints(region: str | None, url: str) -> None:
    assert sts_endpoint(region) == url


def test_signed_request_verifies() -> None:
    request = build_sts_request(
        "AssumeRole",
        {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s", "ExternalId": None},
        endpoint="https://sts.eu-west-1.amazonaws.com",
        region="eu-west-1",
        credentials=SOURCE,
    )
    assert (
        request.body
        == b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s"
    )
    view = RequestView.from_url("POST", request.url, request.headers, request.body)
    result = verify_sigv4(
        view, lambda key_id: SOURCE.secret_access_key if key_id == SOURCE.access_key_id else None
    )
    assert (result.access_key_id, result.region, result.service) == ("AKIDEXAMPLE", "eu-west-1", "sts")
    assert "content-type" in result.signed_headers and "host" in result.signed_headers


def test_web_identity_is_unsigned(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(lambda m, p, h, b: (200, sts_response("AssumeRoleWithWebIdentity")))
    creds = StsClient(endpoint_url=server.url).assume_role_with_web_identity(
        role_arn="arn:aws:iam::1:role/r",
        role_session_name="s",
        web_identity_token="jwt",
        duration_seconds=900,
    )
    assert creds.session_token == "role-token" and creds.source == "assume-role-with-web-identity"
    assert "authorization" not in server.requests[0].headers
    assert server.requests[0].form["DurationSeconds"] == "900"


def test_get_session_token(local_server: Callable[[Handler], LocalServer]) -> None:
    server = local_server(lambda m, p, h, b: (200, sts_response("GetSessionToken")))
    creds = StsClient(endpoint_url=server.url, region="us-east-1").get_session_token(
        SOURCE, duration_seconds=3600, serial_number="arn:aws:iam::1:mfa/u", token_code="123456"
    )
    assert creds.access_key_id == "ASIAROLEKEY"
    assert server.requests[0].form == {
        "Action": "GetSessionToken",
        "Version": "2011-06-15",
        "DurationSeconds": "3600",
        "SerialNumber": "arn:aws:iam::1:mfa/u",
        "TokenCode": "123456",
    }
    assert "Credential=AKIDEXAMPLE/" in server.requests[0].headers["authorization"]


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (403, sts_error("AccessDenied", "User is not authorized"), "AccessDenied"),
        (
            400,
            sts_error("ExpiredToken", "The security token included in the request is expired"),
            "ExpiredToken",
        ),
        (400, sts_error("InvalidIdentityToken", "No OpenIDConnect provider found"), "InvalidIdentityToken"),
        (400, sts_error("RegionDisabledException", "STS is not activated"), "RegionDisabledException"),
        (500, b"<html>oops", "InvalidResponse"),
        (200, b"<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>", "InvalidResponse"),
    ],
)
def test_errors_map_to_sts_error(status: int, body: bytes, code: str) -> None:
    with pytest.raises(STSError) as info:
        parse_sts_credentials("AssumeRole", HttpResponse(status, body))
    assert info.value.code == code


def test_unreachable_endpoint_is_an_sts_error() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(STSError, match=r"127\.0\.0\.1") as info:
        StsClient(endpoint_url=f"http://127.0.0.1:{port}").assume_role(
            SOURCE, role_arn="a", role_session_name="s"
        )
    assert info.value.code == "ServiceUnavailable"


def test_parse_success_fields() -> None:
    creds = parse_sts_credentials("AssumeRole", HttpResponse(200, sts_response("AssumeRole")), source="x")
    assert creds.account_id == "123456789012" and creds.expiration is not None and creds.source == "x"
