"""Tests for iamguard.sts.query_api (and the WSGI/ASGI shells): parsing, XML shapes checked with
botocore's own Query parser, error documents, and the endpoint's authentication paths."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.parse
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn.request_view import RequestView
from iamguard.authn.session_token import SessionTokenService
from iamguard.errors import INTERNAL_FAULT_MESSAGE, IAMGuardError, STSError
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.asgi import StsAsgiApp
from iamguard.sts.keys import KeyRing
from iamguard.sts.query_api import (
    NAMESPACE,
    StsEndpoint,
    parse_query,
    render_error,
    render_result,
)
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

CASES = json.loads((Path(__file__).parent.parent / "data" / "sts" / "query_cases.json").read_text())["cases"]
ACCOUNT = "111122223333"
HOST = "sts.local.test"
MODEL = botocore.session.get_session().get_service_model("sts")


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_parse_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(STSError) as info:
            parse_query(case["body"])
        assert info.value.code == case["error"]
        return
    request = parse_query(case["body"])
    expect = case["expect"]
    assert request.action == expect["action"] and request.version == expect["version"]
    assert dict(request.scalars) == expect["scalars"]
    assert {
        k: [dict(i) if not isinstance(i, str) else i for i in v] for k, v in request.lists.items()
    } == expect["lists"]


_tag_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=100, deadline=None)
@given(tags=st.lists(st.tuples(_tag_text, _tag_text), max_size=8), keys=st.lists(_tag_text, max_size=8))
def test_member_lists_round_trip(tags: list[tuple[str, str]], keys: list[str]) -> None:
    """Whatever botocore's Query serializer encodes, parse_query reads back in the same order."""
    serializer = botocore.serialize.create_serializer("query", include_validation=False)
    params: dict[str, Any] = {
        "RoleArn": "arn:aws:iam::111122223333:role/R",
        "RoleSessionName": "s1",
        "Tags": [{"Key": k, "Value": v} for k, v in tags],
        "TransitiveTagKeys": keys,
    }
    wire = serializer.serialize_to_request(params, MODEL.operation_model("AssumeRole"))
    body = urllib.parse.urlencode(wire["body"]) if isinstance(wire["body"], dict) else wire["body"]
    request = parse_query(body if isinstance(body, str) else body.decode())
    assert [(t["Key"], t["Value"]) for t in request.structs("Tags")] == tags
    assert list(request.strings("TransitiveTagKeys")) == keys


# ---------------------------------------------------------------- rendering, read back by botocore


def _botocore_parse(operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    parser = create_parser("query")
    output = MODEL.operation_model(operation).output_shape
    parsed: dict[str, Any] = parser.parse({"body": body, "headers": {}, "status_code": status}, output)
    return parsed


def test_rendered_results_parse_with_botocore(service: TokenService, store: IdentityService) -> None:
    alice = _alice(store)
    identity = service.get_caller_identity(alice)
    parsed = _botocore_parse("GetCallerIdentity", render_result("GetCallerIdentity", identity, "rid-1"))
    assert parsed["Arn"] == alice.arn and parsed["Account"] == ACCOUNT and parsed["UserId"] == alice.user_id
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    result = service.assume_role(alice, role_arn=f"arn:aws:iam::{ACCOUNT}:role/R", role_session_name="s1")
    parsed = _botocore_parse("AssumeRole", render_result("AssumeRole", result, "rid-2"))
    assert parsed["Credentials"]["AccessKeyId"] == result.credentials.access_key_id
    assert parsed["Credentials"]["SecretAccessKey"] == result.credentials.secret_access_key
    assert parsed["Credentials"]["SessionToken"] == result.credentials.session_token
    assert parsed["Credentials"]["Expiration"] == result.credentials.expiration
    assert parsed["AssumedRoleUser"] == {"AssumedRoleId": result.assumed_role_id, "Arn": result.arn}
    assert parsed["PackedPolicySize"] == 0
    token = service.get_session_token(alice)
    assert "Credentials" in _botocore_parse("GetSessionToken", render_result("GetSessionToken", token, "r"))
    federation = service.get_federation_token(alice, name="Bob")
    parsed = _botocore_parse("GetFederationToken", render_result("GetFederationToken", federation, "r"))
    assert parsed["FederatedUser"] == {
        "FederatedUserId": f"{ACCOUNT}:Bob",
        "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/Bob",
    }


def test_result_document_shape() -> None:
    from xml.etree import ElementTree as ET

    from iamguard.sts.service import CallerIdentity

    root = ET.fromstring(render_result("GetCallerIdentity", CallerIdentity("AIDA", ACCOUNT, "arn:x"), "rid"))
    ns = {"s": NAMESPACE}
    assert root.tag == f"{{{NAMESPACE}}}GetCallerIdentityResponse"
    assert root.find("s:GetCallerIdentityResult/s:Arn", ns).text == "arn:x"  # type: ignore[union-attr]
    assert root.find("s:ResponseMetadata/s:RequestId", ns).text == "rid"  # type: ignore[union-attr]


@pytest.mark.parametrize(("status", "kind"), [(400, "Sender"), (403, "Sender"), (500, "Receiver")])
def test_error_document(status: int, kind: str) -> None:
    """https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html"""
    error = IAMGuardError('Nope <&> "quoted"', code="SomeCode", http_status=status)
    body = render_error(error, "rid-9")
    parser = create_parser("query")
    parsed = parser.parse({"body": body, "headers": {}, "status_code": status}, None)
    assert parsed["Error"]["Code"] == "SomeCode"
    # A server fault's own text (a store path, a driver's message) is for the log, not the client.
    expected = 'Nope <&> "quoted"' if status < 500 else INTERNAL_FAULT_MESSAGE
    assert parsed["Error"]["Message"] == expected
    assert parsed["Error"]["Type"] == kind
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"


# ---------------------------------------------------------------- the endpoint


@pytest.fixture()
def store() -> IdentityService:
    s = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"))
    s.create_user("alice")
    s.put_inline_policy(
        PrincipalKind.USER,
        "alice",
        "p",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]},
    )
    s.create_role(
        "R",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    return s


@pytest.fixture()
def service(store: IdentityService) -> TokenService:
    return TokenService(store, SessionTokenService(KeyRing.generate()))


def _alice(store: IdentityService) -> Any:
    from iamguard.sts.service import principal_for

    resolved = store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert resolved is not None
    return principal_for(resolved)


def _signed_view(
    body: str, key_id: str, secret: str, token: str | None = None, service: str = "sts"
) -> RequestView:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key_id, secret, token), service, "us-east-1").add_auth(request)
    headers = [(k, v) for k, v in request.headers.items()] + [("Host", HOST)]
    return RequestView("POST", "/", "", headers, body.encode())


def _error_code(body: bytes) -> str:
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 400}, None)
    return str(parsed["Error"]["Code"])


def test_endpoint_signed_long_term_and_session(service: TokenService, store: IdentityService) -> None:
    key = store.create_access_key("alice")
    endpoint = StsEndpoint(service)
    body = f"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2FR&RoleSessionName=s1"
    response = endpoint.handle(_signed_view(body, key.access_key_id, key.secret_access_key))
    assert response.status == 200, response.body
    credentials = _botocore_parse("AssumeRole", response.body)["Credentials"]
    who = endpoint.handle(
        _signed_view(
            "Action=GetCallerIdentity&Version=2011-06-15",
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )
    )
    assert (
        _botocore_parse("GetCallerIdentity", who.body)["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/R/s1"
    )


@pytest.mark.parametrize(
    ("mutate", "code", "status"),
    [
        ("wrong-secret", "SignatureDoesNotMatch", 403),
        ("unknown-key", "InvalidClientTokenId", 403),
        ("inactive-key", "InvalidClientTokenId", 403),
        ("wrong-service", "IncompleteSignature", 400),
        ("unsigned", "MissingAuthenticationToken", 403),
        ("tampered-body", "SignatureDoesNotMatch", 403),
        ("session-key-without-token", "InvalidClientTokenId", 403),
        ("session-key-forged-token", "InvalidClientTokenId", 403),
        ("long-term-key-with-token", "InvalidClientTokenId", 403),
    ],
)
def test_endpoint_authentication_failures(
    service: TokenService, store: IdentityService, mutate: str, code: str, status: int
) -> None:
    """https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html"""
    key = store.create_access_key("alice")
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    akid, secret, token, signed_service = key.access_key_id, key.secret_access_key, None, "sts"
    if mutate == "wrong-secret":
        secret = "x" * 40
    elif mutate == "unknown-key":
        akid = "AKIAAAAAAAAAAAAAAAAA"
    elif mutate == "inactive-key":
        store.update_access_key(akid, "Inactive")
    elif mutate == "wrong-service":
        signed_service = "iam"
    elif mutate == "session-key-without-token":
        akid = "ASIAAAAAAAAAAAAAAAAA"
    elif mutate == "long-term-key-with-token":
        token = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"
    elif mutate == "session-key-forged-token":
        akid, token = "ASIAAAAAAAAAAAAAAAAA", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"
    view = _signed_view(body, akid, secret, token, signed_service)
    if mutate == "unsigned":
        view = RequestView(
            "POST",
            "/",
            "",
            [("Host", HOST), ("Content-Type", "application/x-www-form-urlencoded")],
            body.encode(),
        )
    elif mutate == "tampered-body":
        view = RequestView(
            view.method, view.raw_path, "", view.headers, b"Action=GetCallerIdentity&Version=2011-06-15&X=1"
        )
        view = view.with_headers([("Content-Length", str(len(view.body or b"")))])
    response = StsEndpoint(service).handle(view)
    assert (response.status, _error_code(response.body)) == (status, code)


def test_expired_session_token(store: IdentityService) -> None:
    """A session token past its Expiration: ExpiredToken (400), checked before the signature's secret
    is even derived. https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html"""
    import time

    class Clock:
        now = time.time() - 1000

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    tokens = SessionTokenService(KeyRing.generate(clock=clock), clock=clock)
    service = TokenService(store, tokens, clock=clock)
    result = service.assume_role(
        _alice(store), role_arn=f"arn:aws:iam::{ACCOUNT}:role/R", role_session_name="s1", duration_seconds=900
    )
    clock.now = time.time()
    creds = result.credentials
    view = _signed_view(
        "Action=GetCallerIdentity&Version=2011-06-15",
        creds.access_key_id,
        creds.secret_access_key,
        creds.session_token,
    )
    response = StsEndpoint(service).handle(view)
    assert (response.status, _error_code(response.body)) == (400, "ExpiredToken")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("Action=Nope&Version=2011-06-15", "InvalidAction"),
        ("Action=GetCallerIdentity&Version=2010-01-01", "InvalidAction"),
        ("Action=AssumeRole&Version=2011-06-15&RoleSessionName=xx", "ValidationError"),
        (
            "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=xx&DurationSeconds=1e3",
            "ValidationError",
        ),
    ],
)
def test_signed_request_errors(service: TokenService, store: IdentityService, body: str, code: str) -> None:
    key = store.create_access_key("alice")
    response = StsEndpoint(service).handle(_signed_view(body, key.access_key_id, key.secret_access_key))
    assert (response.status, _error_code(response.body)) == (400, code)


@pytest.mark.parametrize(
    ("view", "status", "code"),
    [
        (RequestView("PUT", "/", "", [("Host", HOST)], b""), 405, "MethodNotAllowed"),
        (
            RequestView("POST", "/", "", [("Host", HOST), ("Content-Type", "application/json")], b"{}"),
            400,
            "InvalidParameterValue",
        ),
        (
            RequestView(
                "POST",
                "/",
                "",
                [("Host", HOST), ("Content-Type", "application/x-www-form-urlencoded")],
                b"Action=Nope&Version=2011-06-15",
            ),
            403,
            "MissingAuthenticationToken",
        ),
        (
            RequestView(
                "POST",
                "/",
                "",
                [("Host", HOST), ("Content-Type", "application/x-www-form-urlencoded")],
                b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=xx",
            ),
            400,
            "ValidationError",
        ),
        (
            RequestView(
                "POST",
                "/",
                "",
                [("Host", HOST), ("Content-Type", "application/x-www-form-urlencoded")],
                b"\xff\xfe",
            ),
            400,
            "MalformedQueryString",
        ),
    ],
)
def test_endpoint_request_errors(service: TokenService, view: RequestView, status: int, code: str) -> None:
    response = StsEndpoint(service).handle(view)
    assert (response.status, _error_code(response.body)) == (status, code)


def test_internal_errors_never_leak(
    service: TokenService, store: IdentityService, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.create_access_key("alice")

    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(service, "get_caller_identity", explode)
    response = StsEndpoint(service).handle(
        _signed_view("Action=GetCallerIdentity&Version=2011-06-15", key.access_key_id, key.secret_access_key)
    )
    assert response.status == 500
    assert b"InternalFailure" in response.body and b"secret internals" not in response.body
    assert b"Traceback" not in response.body


def test_wsgi_app_hashes_the_raw_body(service: TokenService, store: IdentityService) -> None:
    key = store.create_access_key("alice")
    view = _signed_view(
        "Action=GetCallerIdentity&Version=2011-06-15", key.access_key_id, key.secret_access_key
    )
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(view.body or b""),
        "CONTENT_LENGTH": str(len(view.body or b"")),
        "CONTENT_TYPE": view.header("content-type"),
    }
    for name, value in view.headers:
        if name.lower() not in ("content-type", "content-length"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    seen: list[str] = []
    body = b"".join(StsWsgiApp(service)(environ, lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"]
    assert _botocore_parse("GetCallerIdentity", body)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    environ["CONTENT_LENGTH"] = str(10**7)
    StsWsgiApp(service)(environ, lambda status, headers: seen.append(status))
    assert seen[-1].startswith("413")


def test_asgi_app(service: TokenService, store: IdentityService) -> None:
    key = store.create_access_key("alice")
    view = _signed_view(
        "Action=GetCallerIdentity&Version=2011-06-15", key.access_key_id, key.secret_access_key
    )
    body = view.body or b""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(n.lower().encode(), v.encode()) for n, v in view.headers],
    }
    chunks = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(StsAsgiApp(service)(scope, receive, send))
    assert sent[0]["status"] == 200
    assert (
        _botocore_parse("GetCallerIdentity", sent[1]["body"])["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    )

    lifespan = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent.clear()

    async def receive_lifespan() -> dict[str, Any]:
        return lifespan.pop(0)

    asyncio.run(StsAsgiApp(service)({"type": "lifespan"}, receive_lifespan, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
