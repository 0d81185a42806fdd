"""The FastAPI documents example, in-process over ``httpx.ASGITransport``.

Sessions come from the app's own STS endpoint (``POST /sts/``, AssumeRole signed with
:class:`iamguard.credentials.auth.SigV4Auth`) and are used two ways: as a bearer token
(``Authorization: Bearer <SessionToken>``) and as SigV4 session credentials. Long-term user keys
sign with SigV4. The account is ``examples/fastapi_app/seed.yaml``; the documents' own policies
come from :mod:`examples.fastapi_app.documents`.
"""

from __future__ import annotations

import json
import stat
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.fastapi_app.app import create_app
from examples.fastapi_app.serve import demo_keys, seed_store
from iamguard.authn.session_token import SessionTokenService
from iamguard.credentials.auth import SigV4Auth
from iamguard.credentials.signer import StaticCredentials
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.auth_message import AuthorizationMessageCodec
from iamguard.sts.keys import KeyRing

ACCOUNT = "123456789012"
BASE = "http://docs.example.test"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
ENCODED = "Encoded authorization failure message: "

pytestmark = pytest.mark.anyio


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Demo:
    client: httpx.AsyncClient
    store: IdentityService
    keyring: KeyRing
    codec: AuthorizationMessageCodec
    users: dict[str, StaticCredentials]
    clock: list[float]  # the session-token service's clock, which a test may move forward

    def sigv4(self, user: str, service: str = "docs") -> SigV4Auth:
        return SigV4Auth(self.users[user], region="us-east-1", service=service)

    async def assume(
        self, user: str, role: str, session_name: str, duration: int = 3600
    ) -> StaticCredentials:
        """AssumeRole through the mounted STS endpoint (a SigV4-signed Query POST)."""
        params = {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": ROLE + role,
            "RoleSessionName": session_name,
            "DurationSeconds": str(duration),
        }
        response = await self.client.post(
            "/sts/",
            data=params,
            auth=self.sigv4(user, "sts"),
        )
        assert response.status_code == 200, response.text
        credentials = ET.fromstring(response.content).find(f"{STS_NS}AssumeRoleResult/{STS_NS}Credentials")
        assert credentials is not None
        values = {child.tag.removeprefix(STS_NS): child.text or "" for child in credentials}
        return StaticCredentials(values["AccessKeyId"], values["SecretAccessKey"], values["SessionToken"])


def bearer(credentials: StaticCredentials) -> dict[str, str]:
    assert credentials.session_token is not None
    return {"Authorization": f"Bearer {credentials.session_token}"}


@pytest.fixture()
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"))
    seed_store(store)
    keys = demo_keys(store, tmp_path / "keys.json")
    keyring = KeyRing.generate()
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    clock = [time.time()]
    app = create_app(store, sessions=SessionTokenService(keyring, clock=lambda: clock[0]), messages=codec)
    users = {name: StaticCredentials(k["AccessKeyId"], k["SecretAccessKey"]) for name, k in keys.items()}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as client:
        yield Demo(client, store, keyring, codec, users, clock)


@pytest.fixture()
async def sessions(demo: Demo) -> dict[str, StaticCredentials]:
    """An editor session for alice, a reader session for bob, and two documents alice owns."""
    editor = await demo.assume("alice", "editor", "alice")
    reader = await demo.assume("bob", "reader", "bob")
    carol = f"arn:aws:iam::{ACCOUNT}:user/carol"
    for doc_id, body in (
        ("plan", {"body": "Q3 plan", "classification": "internal"}),
        ("salaries", {"body": "numbers", "classification": "secret", "readers": [carol]}),
    ):
        created = await demo.client.put(f"/docs/{doc_id}", json=body, headers=bearer(editor))
        assert created.status_code == 201, created.text
    return {"editor": editor, "reader": reader}


# Who calls how, and what the guard must answer. Rules (AWS IAM policy evaluation logic):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
# - an explicit Deny in any policy wins;
# - within one account, a resource-based policy naming the principal allows on its own;
# - otherwise some identity-based policy must allow, else the implicit deny.
MATRIX: list[tuple[str, str, str, str, int, str]] = [
    # caller, auth, method, path, status, what decided it
    ("editor", "bearer", "GET", "/docs/plan", 200, "identity policy of the editor role allows"),
    ("editor", "sigv4-session", "GET", "/docs/plan", 200, "same session, signed with its credentials"),
    ("reader", "bearer", "GET", "/docs/plan", 200, "identity policy of the reader role allows"),
    (
        "reader",
        "bearer",
        "GET",
        "/docs/salaries",
        403,
        "explicit:identity Deny on docs:Classification=secret",
    ),
    ("reader", "bearer", "PUT", "/docs/plan", 403, "implicit: reader has no PutDocument"),
    ("reader", "bearer", "DELETE", "/docs/plan", 403, "implicit: not the owner, no identity grant"),
    ("reader", "bearer", "GET", "/docs/missing", 404, "allowed to read any document: learns it is absent"),
    ("carol", "sigv4", "GET", "/docs/salaries", 200, "resource policy shares it with carol"),
    ("carol", "sigv4", "GET", "/docs/plan", 403, "implicit: carol has no identity policy, not shared"),
    ("carol", "sigv4", "GET", "/docs/missing", 403, "implicit: absence is not revealed to the unauthorized"),
    ("carol", "sigv4", "GET", "/docs", 403, "implicit: carol may not ListDocuments"),
    (
        "alice",
        "sigv4",
        "DELETE",
        "/docs/plan",
        403,
        "implicit: the owner is alice's editor session, not alice",
    ),
    ("editor", "bearer", "DELETE", "/docs/plan", 204, "resource policy: the owner session has docs:*"),
]


@pytest.mark.parametrize(
    ("caller", "auth", "method", "path", "status", "why"), MATRIX, ids=[row[5] for row in MATRIX]
)
async def test_authorization_matrix(
    demo: Demo,
    sessions: dict[str, StaticCredentials],
    caller: str,
    auth: str,
    method: str,
    path: str,
    status: int,
    why: str,
) -> None:
    options: dict[str, Any] = {}
    if auth == "bearer":
        options["headers"] = bearer(sessions[caller])
    elif auth == "sigv4-session":
        options["auth"] = SigV4Auth(sessions[caller], region="us-east-1", service="docs")
    else:
        options["auth"] = demo.sigv4(caller)
    if method == "PUT":
        options["json"] = {"body": "changed"}
    response = await demo.client.request(method, path, **options)
    assert response.status_code == status, response.text
    if status != 403:
        return
    error = response.json()["Error"]
    assert (error["Code"], error["Type"], response.headers["x-amzn-ErrorType"]) == (
        "AccessDenied",
        "Sender",
        "AccessDenied",
    )
    decoded = demo.codec.decode(error["Message"].split(ENCODED)[1])
    explicit = why.startswith("explicit")
    assert decoded["explicitDeny"] is explicit
    action = (
        "docs:ListDocuments"
        if path == "/docs"
        else {"GET": "docs:GetDocument", "PUT": "docs:PutDocument", "DELETE": "docs:DeleteDocument"}[method]
    )
    assert decoded["context"]["action"] == action
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html#access_denied_error_messages
    wording = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else "because no identity-based policy allows"
    )
    assert wording in error["Message"]


async def test_bearer_session_identity_and_sigv4_user(
    demo: Demo, sessions: dict[str, StaticCredentials]
) -> None:
    who = await demo.client.get("/whoami", headers=bearer(sessions["reader"]))
    assert who.status_code == 200
    assert who.json()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/bob"
    assert who.json()["Authentication"] == "bearer"
    signed = await demo.client.get("/whoami", auth=demo.sigv4("carol"))
    assert (signed.json()["Arn"], signed.json()["Authentication"]) == (
        f"arn:aws:iam::{ACCOUNT}:user/carol",
        "sigv4",
    )


async def test_document_owner_and_policy(demo: Demo, sessions: dict[str, StaticCredentials]) -> None:
    """A new document belongs to its creator; replacing it keeps the owner; readers get read only."""
    doc = (await demo.client.get("/docs/salaries", headers=bearer(sessions["editor"]))).json()
    assert doc["Owner"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/editor/alice"
    assert doc["Readers"] == [f"arn:aws:iam::{ACCOUNT}:user/carol"]
    other_editor = await demo.assume("alice", "editor", "alice-2")
    replaced = await demo.client.put(
        "/docs/salaries", json={"body": "v2", "classification": "secret"}, headers=bearer(other_editor)
    )
    assert replaced.status_code == 200
    assert replaced.json()["Owner"] == doc["Owner"]
    # The second session is not the owner: no resource grant, and the role has no DeleteDocument.
    assert (await demo.client.delete("/docs/salaries", headers=bearer(other_editor))).status_code == 403
    # Replacing dropped carol from the readers: the resource policy no longer names her.
    assert (await demo.client.get("/docs/salaries", auth=demo.sigv4("carol"))).status_code == 403
    # carol is read-only even where shared: the SharedReaders statement grants GetDocument only.
    shared = {"body": "x", "classification": "public", "readers": [f"arn:aws:iam::{ACCOUNT}:user/carol"]}
    await demo.client.put("/docs/notes", json=shared, headers=bearer(sessions["editor"]))
    assert (await demo.client.get("/docs/notes", auth=demo.sigv4("carol"))).status_code == 200
    assert (await demo.client.put("/docs/notes", json=shared, auth=demo.sigv4("carol"))).status_code == 403


async def test_listing_shows_only_readable_documents(
    demo: Demo, sessions: dict[str, StaticCredentials]
) -> None:
    listed = await demo.client.get("/docs", headers=bearer(sessions["reader"]))
    assert [d["DocId"] for d in listed.json()["Documents"]] == ["plan"]  # salaries is secret
    listed = await demo.client.get("/docs", headers=bearer(sessions["editor"]))
    assert [d["DocId"] for d in listed.json()["Documents"]] == ["plan", "salaries"]


async def test_expired_session_token(demo: Demo) -> None:
    """A session past its expiration: ``ExpiredToken``, HTTP 400, as AWS answers, even though the
    same token was verified (and cached) a moment before.

    https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
    """
    session = await demo.assume("bob", "reader", "bob", duration=900)  # AssumeRole's minimum
    assert (await demo.client.get("/docs", headers=bearer(session))).status_code == 200
    demo.clock[0] += 900
    for options in (
        {"headers": bearer(session)},
        {"auth": SigV4Auth(session, region="us-east-1", service="docs")},
    ):
        response = await demo.client.get("/docs", **options)
        assert response.status_code == 400
        assert response.json()["Error"]["Code"] == "ExpiredToken"


@pytest.mark.parametrize("where", ["header", "payload", "signature"])
async def test_tampered_session_token(demo: Demo, where: str) -> None:
    """Any change to a token's bytes makes it invalid: ``InvalidClientTokenId`` (403)."""
    token = (await demo.assume("bob", "reader", "bob")).session_token
    assert token is not None
    parts = token.split(".")
    index = {"header": 0, "payload": 1, "signature": 2}[where]
    middle = len(parts[index]) // 2
    parts[index] = (
        parts[index][:middle] + ("A" if parts[index][middle] != "A" else "B") + parts[index][middle + 1 :]
    )
    response = await demo.client.get("/docs/plan", headers={"Authorization": "Bearer " + ".".join(parts)})
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "InvalidClientTokenId"


async def test_token_from_another_keyring_is_invalid(demo: Demo) -> None:
    foreign = SessionTokenService(KeyRing.generate())
    credentials, _ = foreign.issue(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/editor/x",
        account=ACCOUNT,
        principal_type="AssumedRole",
        user_id="AROAEXAMPLE:x",
        duration_seconds=900,
        role_arn=ROLE + "editor",
        session_name="x",
    )
    response = await demo.client.get(
        "/whoami", headers={"Authorization": f"Bearer {credentials.session_token}"}
    )
    assert (response.status_code, response.json()["Error"]["Code"]) == (403, "InvalidClientTokenId")


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 403, "MissingAuthenticationToken"),  # AWS answers unauthenticated calls with 403
        ({"Authorization": "Bearer "}, 403, "InvalidClientTokenId"),
        ({"Authorization": "Bearer not-a-token"}, 403, "InvalidClientTokenId"),
    ],
    ids=["no credentials", "empty bearer", "garbage bearer"],
)
async def test_missing_or_malformed_credentials(
    demo: Demo, headers: dict[str, str], status: int, code: str
) -> None:
    for method, path in (
        ("GET", "/docs/plan"),
        ("GET", "/docs"),
        ("DELETE", "/docs/plan"),
        ("GET", "/whoami"),
    ):
        response = await demo.client.request(method, path, headers=headers)
        assert (response.status_code, response.json()["Error"]["Code"]) == (status, code), (method, path)


async def test_signature_for_another_service_is_refused(demo: Demo) -> None:
    """The guard pins the SigV4 scope service to ``docs``: a signature scoped to ``sts`` fails."""
    response = await demo.client.get("/docs", auth=demo.sigv4("alice", "sts"))
    assert response.status_code == 400
    error = response.json()["Error"]
    assert error["Code"] == "IncompleteSignature"  # refused at authentication, not AccessDenied
    assert "Credential should be scoped to correct service: 'docs'" in error["Message"]


async def test_revoking_the_role_policy_denies_the_live_session(
    demo: Demo, sessions: dict[str, StaticCredentials]
) -> None:
    """Sessions keep no copy of permissions: the role's policies are read per request."""
    assert (await demo.client.get("/docs/plan", headers=bearer(sessions["reader"]))).status_code == 200
    demo.store.delete_inline_policy(PrincipalKind.ROLE, "reader", "ReadDocuments")
    assert (await demo.client.get("/docs/plan", headers=bearer(sessions["reader"]))).status_code == 403


async def test_decode_the_encoded_message_through_sts(
    demo: Demo, sessions: dict[str, StaticCredentials]
) -> None:
    """alice (who holds sts:DecodeAuthorizationMessage) opens bob's denial at the STS endpoint."""
    denied = await demo.client.get("/docs/salaries", headers=bearer(sessions["reader"]))
    encoded = denied.json()["Error"]["Message"].split(ENCODED)[1]
    response = await demo.client.post(
        "/sts/",
        data={"Action": "DecodeAuthorizationMessage", "Version": "2011-06-15", "EncodedMessage": encoded},
        auth=demo.sigv4("alice", "sts"),
    )
    assert response.status_code == 200, response.text
    text = ET.fromstring(response.content).findtext(
        f"{STS_NS}DecodeAuthorizationMessageResult/{STS_NS}DecodedMessage"
    )
    assert text is not None
    message = json.loads(text)
    assert message["explicitDeny"] is True
    assert message["context"]["principal"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/bob"
    assert message["context"]["resource"] == "arn:aws:docs:::document/salaries"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"body": "x", "classification": "top-secret"}, "ValidationError"),
        ({"body": "x", "readers": ["bob"]}, "ValidationError"),
        ({"body": "x", "readers": ["arn:aws:iam::123456789012:user/*"]}, "ValidationError"),
    ],
    ids=["unknown classification", "reader not an ARN", "wildcard reader"],
)
async def test_invalid_documents_are_refused(
    demo: Demo, sessions: dict[str, StaticCredentials], body: dict[str, Any], code: str
) -> None:
    response = await demo.client.put("/docs/new", json=body, headers=bearer(sessions["editor"]))
    assert (response.status_code, response.json()["Error"]["Code"]) == (400, code)
    assert (await demo.client.get("/docs/new", headers=bearer(sessions["editor"]))).status_code == 404


async def test_demo_keys_file_is_private(demo: Demo, tmp_path: Path) -> None:
    mode = stat.S_IMODE((tmp_path / "keys.json").stat().st_mode)
    assert mode == 0o600
    assert set(json.loads((tmp_path / "keys.json").read_text())) == {"alice", "bob", "carol"}
