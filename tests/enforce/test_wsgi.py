"""WSGI middleware with requests signed by real botocore around a tiny pure-WSGI app."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from unittest import mock

import pytest
from botocore import auth as botocore_auth
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

from iamguard.authn.request_view import RequestView
from iamguard.enforce.guard import Guard, RequestState
from iamguard.enforce.require import require
from iamguard.enforce.wsgi import IAMGuardMiddleware, _headers
from iamguard.store.records import PrincipalKind

from .helpers import World, make_world, sign, skewed, unsigned_trailer_upload

HOST = "http://localhost"


def _json(response: Any) -> Any:
    """The JSON body (werkzeug types ``Response.json`` as optional; these answers all carry one)."""
    assert response.is_json, response.data
    return response.json


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Echoes the principal and the body the app received; /bucket/<b>/<k> requires s3:GetObject."""
    state: RequestState = environ["iamguard"]
    body = environ["wsgi.input"].read()
    path = environ["PATH_INFO"]
    if path.startswith("/bucket/"):
        _, _, bucket, key = path.split("/", 3)
        read(bucket=bucket, key=key)
    payload = {
        "principal": state.principal.arn if state.principal else None,
        "body": body.decode("latin-1"),
        "decisions": [d.kind.value for d in state.decisions],
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(payload).encode()]


@require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
def read(bucket: str, key: str) -> None:
    """Guarded helper called by the app."""


@pytest.fixture()
def world() -> World:
    return make_world()


def client(world: World, **options: Any) -> Client:
    guard_options = {
        k: options.pop(k) for k in list(options) if k in ("sessions", "bearer", "anonymous", "service")
    }
    guard = Guard(world.counting, messages=world.codec, **guard_options)
    return Client(IAMGuardMiddleware(app, guard, **options))


def test_botocore_signed_request_reaches_the_app(world: World) -> None:
    url = f"{HOST}/hello?x=1&y=a%20b"
    response = client(world).get("/hello?x=1&y=a%20b", headers=sign("GET", url, world.akid, world.secret))
    assert response.status_code == 200
    assert _json(response)["principal"] == "arn:aws:iam::123456789012:user/alice"


def test_post_body_is_verified_and_replayed(world: World) -> None:
    url = f"{HOST}/items"
    body = b'{"name": "widget"}'
    headers = sign("POST", url, world.akid, world.secret, body=body)
    response = client(world).post("/items", data=body, headers=headers)
    assert response.status_code == 200
    assert _json(response)["body"] == body.decode()


def test_tampered_body_is_signature_mismatch(world: World) -> None:
    headers = sign("POST", f"{HOST}/items", world.akid, world.secret, body=b"one")
    response = client(world).post("/items", data=b"two", headers=headers)
    assert response.status_code == 403
    assert _json(response)["Error"]["Code"] == "SignatureDoesNotMatch"


def test_s3_raw_path_with_encoded_characters(world: World) -> None:
    """S3 signs the path as sent (no normalization): a key with spaces and '+'."""
    url = f"{HOST}/bucket/photos/a%20b%2Bc.jpg"
    headers = sign("GET", url, world.akid, world.secret, service="s3")
    response = client(world, service="s3").get("/bucket/photos/a%20b%2Bc.jpg", headers=headers)
    assert response.status_code == 200, response.data
    assert _json(response)["decisions"] == ["allowed"]


def test_deny_is_403_with_an_encoded_message_sts_can_decode(world: World) -> None:
    url = f"{HOST}/bucket/secret/plans.txt"
    headers = sign("GET", url, world.akid, world.secret, service="s3")
    response = client(world, service="s3", error_style="s3").get("/bucket/secret/plans.txt", headers=headers)
    assert response.status_code == 403
    text = response.data.decode()
    assert "<Code>AccessDenied</Code>" in text
    assert "with an explicit deny in an identity-based policy" in text
    encoded = re.search(r"Encoded authorization failure message: ([A-Za-z0-9_-]+)", text)
    assert encoded is not None
    message = world.codec.decode(encoded.group(1))
    assert message["explicitDeny"] is True
    assert message["context"]["action"] == "s3:GetObject"
    assert message["context"]["resource"] == "arn:aws:s3:::secret/plans.txt"
    deny = [s for s in message["matchedStatements"]["items"] if s["effect"] == "DENY"]
    assert [s["statementId"] for s in deny] == ["NoSecrets"]


def test_bad_signature(world: World) -> None:
    headers = sign("GET", f"{HOST}/hello", world.akid, "wrong" + world.secret[5:])
    response = client(world).get("/hello", headers=headers)
    assert response.status_code == 403
    assert _json(response)["Error"]["Code"] == "SignatureDoesNotMatch"
    assert _json(response)["Error"]["Message"]
    assert "Traceback" not in response.data.decode()


@pytest.mark.parametrize(
    ("service", "style", "code"),
    [
        # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
        ("s3", "s3", "InvalidAccessKeyId"),
        # https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
        ("execute-api", "json", "InvalidClientTokenId"),
    ],
)
def test_unknown_access_key(world: World, service: str, style: str, code: str) -> None:
    headers = sign("GET", f"{HOST}/hello", "AKIAUNKNOWNKEY000000", world.secret, service=service)
    response = client(world, error_style=style).get("/hello", headers=headers)
    assert response.status_code == 403
    assert code in response.data.decode()


def test_inactive_key_is_refused_like_an_unknown_one(world: World) -> None:
    world.store.update_access_key(world.akid, "Inactive")
    headers = sign("GET", f"{HOST}/hello", world.akid, world.secret)
    response = client(world).get("/hello", headers=headers)
    assert _json(response)["Error"]["Code"] == "InvalidClientTokenId"


def test_clock_skew_is_request_time_too_skewed(world: World) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (RequestTimeTooSkewed)."""
    with mock.patch.object(botocore_auth, "get_current_datetime", lambda *a, **k: skewed(20)):
        headers = sign("GET", f"{HOST}/bucket/b/k", world.akid, world.secret, service="s3")
    response = client(world, service="s3", error_style="s3").get("/bucket/b/k", headers=headers)
    assert response.status_code == 403
    assert "<Code>RequestTimeTooSkewed</Code>" in response.data.decode()


def test_session_credentials_need_no_store_lookup_for_the_key(world: World) -> None:
    creds = world.role_session()
    url = f"{HOST}/hello"
    headers = sign("GET", url, creds.access_key_id, creds.secret_access_key, token=creds.session_token)
    response = client(world, sessions=world.sessions).get("/hello", headers=headers)
    assert response.status_code == 200
    assert _json(response)["principal"] == "arn:aws:sts::123456789012:assumed-role/reader/s1"
    assert "get_access_key" not in world.counting.calls


def test_session_token_for_another_key_is_refused(world: World) -> None:
    first, second = world.role_session(), world.role_session()
    headers = sign(
        "GET", f"{HOST}/hello", first.access_key_id, first.secret_access_key, token=second.session_token
    )
    response = client(world, sessions=world.sessions).get("/hello", headers=headers)
    assert response.status_code == 403
    assert _json(response)["Error"]["Code"] == "InvalidClientTokenId"


def test_session_policy_caps_the_role(world: World) -> None:
    only_invoke = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
    }
    creds = world.role_session(policy=only_invoke)
    url = f"{HOST}/bucket/b/k"
    headers = sign(
        "GET", url, creds.access_key_id, creds.secret_access_key, token=creds.session_token, service="s3"
    )
    response = client(world, sessions=world.sessions, service="s3").get("/bucket/b/k", headers=headers)
    assert response.status_code == 403
    assert _json(response)["Error"]["Code"] == "AccessDenied"


def test_managed_session_policy_arns_are_resolved_through_the_store(world: World) -> None:
    creds = world.role_session(policy_arns=(world.policy_arn,))
    url = f"{HOST}/bucket/b/k"
    headers = sign(
        "GET", url, creds.access_key_id, creds.secret_access_key, token=creds.session_token, service="s3"
    )
    response = client(world, sessions=world.sessions, service="s3").get("/bucket/b/k", headers=headers)
    assert response.status_code == 200
    assert world.counting.calls["get_policy"] == 1


def test_bearer_mode(world: World) -> None:
    creds = world.role_session()
    c = client(world, sessions=world.sessions, bearer=True)
    ok = c.get("/hello", headers={"Authorization": f"Bearer {creds.session_token}"})
    assert ok.status_code == 200
    assert _json(ok)["principal"].endswith("assumed-role/reader/s1")
    bad = c.get("/hello", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 403
    assert _json(bad)["Error"]["Code"] == "InvalidClientTokenId"


def test_revocation_applies_to_the_next_request(world: World) -> None:
    c = client(world, service="s3")
    url = f"{HOST}/bucket/b/k"
    assert (
        c.get("/bucket/b/k", headers=sign("GET", url, world.akid, world.secret, service="s3")).status_code
        == 200
    )
    world.store.detach_policy(PrincipalKind.USER, "alice", world.policy_arn)
    denied = c.get("/bucket/b/k", headers=sign("GET", url, world.akid, world.secret, service="s3"))
    assert denied.status_code == 403
    assert _json(denied)["Error"]["Code"] == "AccessDenied"


def test_aws_chunked_upload_is_decoded_for_the_app(world: World) -> None:
    data = b"hello chunked world"
    body, extra, context = unsigned_trailer_upload(data)
    url = f"{HOST}/upload"
    headers = sign(
        "PUT", url, world.akid, world.secret, service="s3", body=body, headers=extra, context=context
    )
    assert headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    response = client(world, service="s3").put("/upload", data=body, headers=headers)
    assert response.status_code == 200, response.data
    assert _json(response)["body"] == data.decode()


def test_missing_credentials(world: World) -> None:
    response = client(world).get("/hello")
    assert response.status_code == 403
    assert _json(response)["Error"]["Code"] == "MissingAuthenticationToken"
    s3 = client(world, service="s3", error_style="s3").get("/hello")
    assert "<Code>AccessDenied</Code>" in s3.data.decode()


def test_optional_mode_lets_anonymous_through_but_not_bad_credentials(world: World) -> None:
    c = client(world, required=False)
    assert _json(c.get("/hello"))["principal"] is None
    bad = c.get("/hello", headers=sign("GET", f"{HOST}/hello", world.akid, "x" * 40))
    assert bad.status_code == 403


def test_presigned_url(world: World) -> None:
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"{HOST}/bucket/b/k")
    S3SigV4QueryAuth(Credentials(world.akid, world.secret), "s3", "us-east-1", expires=300).add_auth(request)
    target = request.url[len(HOST) :]
    response = client(world, service="s3").get(target)
    assert response.status_code == 200, response.data


# ---------------------------------------------------------------- fast path = general path
# The middleware reads headers from the environ through a memo of environ key -> header name and
# hands the view a ready header index; both must be what the plain PEP 3333 reading gives.


def _reference_headers(environ: dict[str, str]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), str(value)))
    return headers


_ENVIRON_KEYS = st.sampled_from(
    [
        "HTTP_HOST",
        "HTTP_X_AMZ_DATE",
        "HTTP_",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "HTTP_CONTENT_TYPE",
        "HTTP_X-AMZ-DATE",
        "REQUEST_METHOD",
        "wsgi.input",
        "",
        "H",
    ]
)


@given(st.dictionaries(_ENVIRON_KEYS, st.sampled_from(["", "v", "1"])))
def test_environ_headers_match_the_plain_reading(environ: dict[str, str]) -> None:
    for _ in range(2):  # the second time from the name memo
        headers, index = _headers(environ)
        assert list(headers) == _reference_headers(environ)
        # The index handed to the view is the one the view would build from those headers.
        assert index == dict(RequestView("GET", "/", "", headers).header_index())
