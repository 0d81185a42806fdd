"""The IAM Query protocol at the wire: the ASGI apps (IAM alone, IAM + STS routed by the SigV4
scope's service) and the endpoint's answers to malformed, unsigned, oversized and unknown requests.

Requests are signed with iamguard's own SigV4 signer for httpx (the same canonicalization
botocore uses; ``tests/authn`` checks them against each other) and sent to the ASGI app in
process; the WSGI twin is exercised over sockets by the boto3 and AWS CLI tests.
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from iamguard.authn.session_token import SessionTokenService
from iamguard.credentials.auth import SigV4Auth
from iamguard.credentials.provider import Credentials
from iamguard.enforce.audit import AuditEvent
from iamguard.iam import IamAsgiApp, IamEndpoint, IamStsAsgiApp
from iamguard.iam._routing import scope_service
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService
from iamguard.sts.asgi import StsAsgiApp
from iamguard.sts.service import TokenService

from ._endpoint import ACCOUNT, memory_store

NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


class Wire:
    def __init__(self) -> None:
        self.store: IdentityService = memory_store()
        tokens = SessionTokenService(KeyRing.generate())
        self.endpoint = IamEndpoint(self.store, sessions=tokens, max_body_bytes=4096)
        self.app = IamStsAsgiApp(IamAsgiApp(self.endpoint), StsAsgiApp(TokenService(self.store, tokens)))
        root = self.store.create_access_key(None)
        self.root = Credentials(root.access_key_id, root.secret_access_key)

    def send(
        self,
        body: str | bytes,
        *,
        service: str = "iam",
        signed: bool = True,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            auth = SigV4Auth(self.root, region="us-east-1", service=service) if signed else None
            async with httpx.AsyncClient(
                transport=transport, base_url="http://iam.local", auth=auth
            ) as client:
                if method == "GET":
                    return await client.get("/", params=body if isinstance(body, str) else None)
                return await client.post("/", content=body, headers={**FORM, **(headers or {})})

        return asyncio.run(run())


@pytest.fixture
def wire() -> Iterator[Wire]:
    yield Wire()


def _error(response: httpx.Response) -> tuple[int, str, str]:
    root = ET.fromstring(response.content)
    assert root.tag == f"{NS}ErrorResponse"
    error = root.find(f"{NS}Error")
    assert error is not None and root.findtext(f"{NS}RequestId")
    assert response.headers["x-amzn-requestid"] == root.findtext(f"{NS}RequestId")
    kind = error.findtext(f"{NS}Type")
    assert kind == ("Sender" if response.status_code < 500 else "Receiver")
    return response.status_code, error.findtext(f"{NS}Code") or "", error.findtext(f"{NS}Message") or ""


def test_a_signed_call_through_the_asgi_app(wire: Wire) -> None:
    response = wire.send(
        "Action=CreateUser&Version=2010-05-08&UserName=zoe&Tags.member.1.Key=k&Tags.member.1.Value=v"
    )
    assert response.status_code == 200 and response.headers["content-type"] == "text/xml"
    root = ET.fromstring(response.content)
    assert root.tag == f"{NS}CreateUserResponse"
    user = root.find(f"{NS}CreateUserResult/{NS}User")
    assert user is not None
    assert [child.tag[len(NS) :] for child in user] == [
        "Path",
        "UserName",
        "UserId",
        "Arn",
        "CreateDate",
        "Tags",
    ]
    assert user.findtext(f"{NS}Tags/{NS}member/{NS}Key") == "k"
    assert root.findtext(f"{NS}ResponseMetadata/{NS}RequestId") == response.headers["x-amzn-requestid"]
    assert wire.store.get_user("ZOE").name == "zoe"


def test_the_combined_app_routes_sts_by_the_signature_scope(wire: Wire) -> None:
    response = wire.send("Action=GetCallerIdentity&Version=2011-06-15", service="sts")
    assert response.status_code == 200
    assert b"<GetCallerIdentityResponse" in response.content and b":root</Arn>" in response.content
    # An IAM action signed for STS goes to STS, which does not know it.
    refused = wire.send("Action=ListUsers&Version=2010-05-08", service="sts")
    assert refused.status_code == 400 and b"InvalidAction" in refused.content


def test_a_get_query_string_works_as_a_form(wire: Wire) -> None:
    response = wire.send("Action=ListUsers&Version=2010-05-08", method="GET")
    assert response.status_code == 200 and b"<ListUsersResult>" in response.content


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("Action=NoSuchThing&Version=2010-05-08", 400, "InvalidAction"),
        ("Action=CreateUser&Version=2011-06-15&UserName=a", 400, "InvalidAction"),
        ("Version=2010-05-08", 400, "MissingAction"),
        ("Action=CreateUser&Version=2010-05-08&UserName=a&UserName=b", 400, "MalformedQueryString"),
        ("Action=CreateUser&Version=2010-05-08", 400, "ValidationError"),
        ("Action=ListUsers&Version=2010-05-08&MaxItems=many", 400, "ValidationError"),
        ("Action=GetUser&Version=2010-05-08&UserName=nobody", 404, "NoSuchEntity"),
        ("Action=CreateInstanceProfile&Version=2010-05-08&InstanceProfileName=x", 400, "InvalidAction"),
    ],
)
def test_request_errors(wire: Wire, body: str, status: int, code: str) -> None:
    got_status, got_code, message = _error(wire.send(body))
    assert (got_status, got_code) == (status, code), message
    assert message


def test_unsigned_and_badly_signed_requests_are_refused(wire: Wire) -> None:
    # Without a signature there is no scope to route by: the API Version the body names decides,
    # so IAM refuses its own unsigned callers with its own error document.
    status, code, message = _error(wire.send("Action=ListUsers&Version=2010-05-08", signed=False))
    assert status == 403 and code == "MissingAuthenticationToken", message
    query = wire.send("Action=ListUsers&Version=2010-05-08", signed=False, method="GET")
    assert _error(query)[:2] == (403, "MissingAuthenticationToken")
    # STS's unsigned federation calls still reach STS (which judges the token).
    federated = wire.send(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr"
        "&RoleSessionName=s&WebIdentityToken=not-a-jwt",
        signed=False,
    )
    assert b"https://sts.amazonaws.com/doc/2011-06-15/" in federated.content and federated.status_code >= 400
    assert not wire.store.list_users()
    # Signed for IAM but with no secret the store knows: IAM's own refusal.
    wire.root = Credentials("AKIAUNKNOWNUNKNOWN12", "x" * 40)
    status, code, _ = _error(wire.send("Action=ListUsers&Version=2010-05-08"))
    assert (status, code) == (403, "InvalidClientTokenId")
    root = wire.store.list_access_keys(None)[0].access_key_id
    wire.root = Credentials(root, "wrong-secret-wrong-secret-wrong-secret-xx")
    status, code, _ = _error(wire.send("Action=ListUsers&Version=2010-05-08"))
    assert (status, code) == (403, "SignatureDoesNotMatch")


def test_body_limits_and_content_type(wire: Wire) -> None:
    status, code, _ = _error(wire.send("Action=ListUsers&Version=2010-05-08&Pad=" + "x" * 5000))
    assert (status, code) == (413, "RequestEntityTooLarge")
    status, code, _ = _error(
        wire.send('{"Action": "ListUsers"}', headers={"Content-Type": "application/json"})
    )
    assert (status, code) == (400, "InvalidParameterValue")
    status, code, _ = _error(wire.send(b"Action=ListUsers&Version=2010-05-08&X=\xff\xfe"))
    assert (status, code) == (400, "MalformedQueryString")


def test_an_internal_failure_is_a_bare_service_failure(
    wire: Wire, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk /var/secret/iam.db is on fire")

    monkeypatch.setattr(wire.store, "list_users_page", broken)
    with caplog.at_level(logging.ERROR, logger="iamguard.iam"):
        response = wire.send("Action=ListUsers&Version=2010-05-08")
    status, code, message = _error(response)
    assert (status, code) == (500, "ServiceFailure")
    assert b"secret" not in response.content and "fire" not in message
    assert "RuntimeError" in caplog.text  # the operator's log has the cause


def test_lifespan_and_other_scopes(wire: Wire) -> None:
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(IamAsgiApp(wire.endpoint)({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    asyncio.run(IamAsgiApp(wire.endpoint)({"type": "websocket"}, receive, send))
    assert len(sent) == 2


@pytest.mark.parametrize(
    ("authorization", "query", "service"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            "",
            "iam",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
            "",
            "sts",
        ),
        (
            None,
            "X-Amz-Credential=AKIDEXAMPLE%2F20261207%2Fus-east-1%2Fiam%2Faws4_request&X-Amz-Date=x",
            "iam",
        ),
        (None, "Action=AssumeRoleWithWebIdentity", None),
        ("Bearer token", "", None),
    ],
)
def test_scope_service(authorization: str | None, query: str, service: str | None) -> None:
    assert scope_service(authorization, query) == service


def test_every_decision_is_audited_with_the_response_request_id() -> None:
    events: list[AuditEvent] = []

    class Sink:
        def record(self, event: AuditEvent) -> None:
            events.append(event)

    wire = Wire()
    wire.store.create_user("ann")
    key = wire.store.create_access_key("ann")
    wire.endpoint = IamEndpoint(wire.store, audit=Sink())
    wire.app = IamStsAsgiApp(IamAsgiApp(wire.endpoint), wire.app.sts)
    wire.root = Credentials(key.access_key_id, key.secret_access_key)
    refused = wire.send("Action=CreateUser&Version=2010-05-08&UserName=zed")
    assert refused.status_code == 403
    (event,) = events
    assert (event.principal, event.action, event.decision) == (
        f"arn:aws:iam::{ACCOUNT}:user/ann",
        "iam:CreateUser",
        "implicitDeny",
    )
    assert event.resource == f"arn:aws:iam::{ACCOUNT}:user/zed"
    assert event.request_id == refused.headers["x-amzn-requestid"]
    assert event.access_key_id == key.access_key_id and event.authentication == "sigv4"
