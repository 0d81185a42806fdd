"""One behaviour suite for every way a guard meets a store.

Each test runs against the three combinations — :class:`Guard` over a sync store,
:class:`AsyncGuard` over a sync store (answered inline), :class:`AsyncGuard` over an async store
(every read awaited, see ``async_store.py``) — on the memory and SQLite backends. The flows are
written once (STYLE.md §5), so the answers must be the same whichever driver ran them: the
same principal, the same decision, the same error code, and a revocation seen by the very next
call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from iamguard.authn.authenticators import Authenticated
from iamguard.authn.context import RequestMeta
from iamguard.authn.request_view import RequestView
from iamguard.authn.session_token import SessionTokenService
from iamguard.decision import Decision, DecisionKind
from iamguard.enforce.asgi import IAMGuardASGIMiddleware
from iamguard.enforce.errors import render_error
from iamguard.enforce.guard import AsyncGuard, Guard, RequestState
from iamguard.enforce.require import require
from iamguard.errors import AuthenticationError, EncodedAccessDeniedError, IAMGuardError
from iamguard.keyring import KeyRing
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal
from iamguard.resolve import AsyncPolicySource
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.sts.auth_message import AuthorizationMessageCodec

from .async_store import AsyncStore
from .helpers import ACCOUNT, BOX, READ_BUCKET, World, sign, unsigned_trailer_upload

HOST = "api.example.com"
URL = f"https://{HOST}/things/1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
OBJECT = "arn:aws:s3:::bucket/key"
SECRET_OBJECT = "arn:aws:s3:::secret/key"
PUBLIC_OBJECT = "arn:aws:s3:::public/key"
ALLOW_PUBLIC_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public/*"}],
}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}

KINDS = ("Guard/sync", "AsyncGuard/sync", "AsyncGuard/async")


class Clock:
    """A settable clock for the session token service (issue now, verify later)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Driven:
    """One guard behind a sync facade, so one test body runs against every combination."""

    def __init__(self, kind: str, world: World, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        self.kind = kind
        self.async_store = AsyncStore(world.store) if kind == "AsyncGuard/async" else None
        source: Any = self.async_store if self.async_store is not None else world.store
        self.guard: Guard | AsyncGuard = (
            Guard(source, **options) if kind == "Guard/sync" else AsyncGuard(source, **options)
        )
        self._loop = loop

    def _run(self, result: Any) -> Any:
        return self._loop.run_until_complete(result) if inspect.isawaitable(result) else result

    def authenticate(self, view: RequestView) -> Authenticated:
        found: Authenticated = self._run(self.guard.authenticate(view))
        return found

    def authenticate_optional(self, view: RequestView) -> Authenticated | None:
        found: Authenticated | None = self._run(self.guard.authenticate_optional(view))
        return found

    def authorize(self, who: Authenticated, action: str, resource: str, **options: Any) -> Decision:
        decision: Decision = self._run(self.guard.authorize(who, action, resource, **options))
        return decision

    def check(self, who: Authenticated, action: str, resource: str, **options: Any) -> Decision:
        decision: Decision = self._run(self.guard.check(who, action, resource, **options))
        return decision


def _world(url: str, clock: Clock) -> World:
    store = open_store(url, create=True, account_id=ACCOUNT, secret_box=BOX)
    store.create_user("alice")
    key = store.create_access_key("alice")
    policy = store.create_policy("read", READ_BUCKET)
    store.attach_user_policy("alice", policy.arn)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    store.create_role("reader", trust)
    store.attach_role_policy("reader", policy.arn)
    store.create_user("bob")  # no policies of his own
    sessions = SessionTokenService(KeyRing.generate(), clock=clock, cache_size=0)
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    return World(store, key.access_key.access_key_id, key.secret_access_key, policy.arn, sessions, codec)


@pytest.fixture(params=["memory", "sqlite"])
def clock_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Clock]]:
    clock = Clock()
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'iam.db'}"
    world = _world(url, clock)
    yield world, clock
    world.store.backend.close()


@pytest.fixture()
def world(clock_world: tuple[World, Clock]) -> World:
    return clock_world[0]


@pytest.fixture()
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(params=KINDS)
def make(
    request: pytest.FixtureRequest, world: World, loop: asyncio.AbstractEventLoop
) -> Callable[..., Driven]:
    def build(**options: Any) -> Driven:
        options.setdefault("sessions", world.sessions)
        options.setdefault("messages", world.codec)
        return Driven(request.param, world, loop, **options)

    return build


def signed(akid: str, secret: str, *, token: str | None = None, url: str = URL) -> RequestView:
    headers = sign("GET", url, akid, secret, token=token)
    return RequestView.from_url("GET", url, [*headers.items(), ("host", HOST)], b"")


def presigned(akid: str, secret: str, *, token: str | None = None) -> RequestView:
    request = AWSRequest(method="GET", url=URL)
    SigV4QueryAuth(Credentials(akid, secret, token), "execute-api", "us-east-1", expires=300).add_auth(
        request
    )
    return RequestView.from_url("GET", request.url, [("host", HOST)], b"")


def session(world: World, **options: Any) -> Any:
    return world.role_session(**options)


def auth_code(call: Callable[[], object]) -> str:
    with pytest.raises(AuthenticationError) as raised:
        call()
    return raised.value.code


# ---------------------------------------------------------------- authentication


def test_sigv4_header(make: Callable[..., Driven], world: World) -> None:
    who = make().authenticate(signed(world.akid, world.secret))
    assert (who.principal.arn, who.method, who.access_key_id) == (ALICE, "sigv4", world.akid)


def test_presigned_url(make: Callable[..., Driven], world: World) -> None:
    who = make().authenticate(presigned(world.akid, world.secret))
    assert (who.principal.arn, who.method) == (ALICE, "sigv4")


def test_session_token_header_and_presigned(make: Callable[..., Driven], world: World) -> None:
    creds = session(world)
    driven = make()
    for view in (
        signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token),
        presigned(creds.access_key_id, creds.secret_access_key, token=creds.session_token),
    ):
        who = driven.authenticate(view)
        assert who.principal.arn == SESSION
        assert who.claims is not None and who.claims.access_key_id == creds.access_key_id


def test_bearer_token(make: Callable[..., Driven], world: World) -> None:
    creds = session(world)
    view = RequestView.from_url("GET", URL, [("authorization", f"Bearer {creds.session_token}")], b"")
    who = make(bearer=True).authenticate(view)
    assert (who.principal.arn, who.method) == (SESSION, "bearer")
    # Without bearer=True nothing recognises the scheme: missing authentication.
    assert auth_code(lambda: make().authenticate(view)) == "MissingAuthenticationToken"


def test_optional_authentication(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    assert driven.authenticate_optional(RequestView.from_url("GET", URL, [("host", HOST)], b"")) is None
    # Credentials that are present but wrong still fail (fail closed).
    assert (
        auth_code(lambda: driven.authenticate_optional(signed(world.akid, "x" * 40)))
        == "SignatureDoesNotMatch"
    )


def test_unknown_key(make: Callable[..., Driven], world: World) -> None:
    assert (
        auth_code(lambda: make().authenticate(signed("AKIAUNKNOWNKEY000000", world.secret)))
        == "InvalidClientTokenId"
    )


def test_bad_signature(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    assert (
        auth_code(lambda: driven.authenticate(signed(world.akid, world.secret[::-1])))
        == "SignatureDoesNotMatch"
    )
    # ...also once the key is remembered from a good request.
    driven.authenticate(signed(world.akid, world.secret))
    assert (
        auth_code(lambda: driven.authenticate(signed(world.akid, world.secret[::-1])))
        == "SignatureDoesNotMatch"
    )


def test_expired_session_token(make: Callable[..., Driven], clock_world: tuple[World, Clock]) -> None:
    world, clock = clock_world
    creds = session(world)  # for one hour
    clock.offset = 3601.0  # the token service's clock: an hour and a second later
    view = signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token)
    assert auth_code(lambda: make().authenticate(view)) == "ExpiredToken"


def test_a_store_read_leaking_stop_iteration_fails_closed(
    make: Callable[..., Driven], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error, never "no credentials": optional authentication would let the request through."""

    def leaky(access_key_id: str) -> Any:
        return next(iter(()))

    monkeypatch.setattr(world.store, "get_access_key", leaky)
    with pytest.raises(RuntimeError):
        make().authenticate_optional(signed(world.akid, world.secret))


def test_a_lookup_no_store_read_answers_is_refused(make: Callable[..., Driven]) -> None:
    """A custom authenticator asking for something the store cannot answer gets an error, not
    some other read's answer."""

    class AsksTheWrongThing:
        def authenticate(self, view: RequestView, meta: RequestMeta) -> Any:
            answer = yield "the caller's favourite colour"
            return Authenticated(Principal.from_arn(ALICE)) if answer else None

    with pytest.raises(TypeError, match="no store read answers str"):
        make(authenticators=[AsksTheWrongThing()]).authenticate(RequestView.from_url("GET", URL, [], b""))


def test_a_missing_header_is_missing_authentication(make: Callable[..., Driven]) -> None:
    view = RequestView.from_url("GET", URL, [("host", HOST)], b"")
    assert auth_code(lambda: make().authenticate(view)) == "MissingAuthenticationToken"


# ---------------------------------------------------------------- authorization


def test_authorize_and_check(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    who = driven.authenticate(signed(world.akid, world.secret))
    assert driven.authorize(who, "s3:GetObject", OBJECT).kind is DecisionKind.ALLOWED
    assert driven.authorize(who, "s3:PutObject", OBJECT).kind is DecisionKind.IMPLICIT_DENY
    assert driven.authorize(who, "s3:GetObject", SECRET_OBJECT).kind is DecisionKind.EXPLICIT_DENY
    assert driven.check(who, "s3:GetObject", OBJECT).allowed
    with pytest.raises(EncodedAccessDeniedError) as denied:
        driven.check(who, "s3:GetObject", SECRET_OBJECT)
    assert denied.value.decision.kind is DecisionKind.EXPLICIT_DENY
    assert world.codec.decode(denied.value.encoded_message or "")["explicitDeny"] is True
    assert str(denied.value).startswith(f"User: {ALICE} is not authorized to perform: s3:GetObject")


def test_decisions_repeat(make: Callable[..., Driven], world: World) -> None:
    """Remembered answers (keys, policies, Allows) give what the first request got."""
    driven = make()
    first = [
        driven.authorize(driven.authenticate(signed(world.akid, world.secret)), action, resource).kind
        for action, resource in (
            ("s3:GetObject", OBJECT),
            ("s3:PutObject", OBJECT),
            ("s3:GetObject", SECRET_OBJECT),
        )
    ]
    again = [
        driven.authorize(driven.authenticate(signed(world.akid, world.secret)), action, resource).kind
        for action, resource in (
            ("s3:GetObject", OBJECT),
            ("s3:PutObject", OBJECT),
            ("s3:GetObject", SECRET_OBJECT),
        )
    ]
    assert first == again == [DecisionKind.ALLOWED, DecisionKind.IMPLICIT_DENY, DecisionKind.EXPLICIT_DENY]


def test_request_context_keys(make: Callable[..., Driven], world: World) -> None:
    policy = world.store.create_policy(
        "tagged",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}},
                }
            ],
        },
    )
    world.store.attach_user_policy("alice", policy.arn)
    driven = make()
    who = driven.authenticate(signed(world.akid, world.secret))
    assert driven.authorize(who, "s3:PutObject", OBJECT, context={"s3:x-amz-acl": "private"}).allowed
    assert not driven.authorize(who, "s3:PutObject", OBJECT, context={"s3:x-amz-acl": "public-read"}).allowed


# ---------------------------------------------------------------- revocation


def test_deactivated_key_refused_on_the_next_request(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    driven.authenticate(signed(world.akid, world.secret))
    world.store.update_access_key(world.akid, "Inactive")
    assert auth_code(lambda: driven.authenticate(signed(world.akid, world.secret))) == "InvalidClientTokenId"
    world.store.update_access_key(world.akid, "Active")
    assert driven.authenticate(signed(world.akid, world.secret)).principal.arn == ALICE


def test_detached_policy_denies_the_next_check(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    who = driven.authenticate(signed(world.akid, world.secret))
    assert driven.check(who, "s3:GetObject", OBJECT).allowed
    world.store.detach_policy(PrincipalKind.USER, "alice", world.policy_arn)
    # The same Authenticated (no new authentication): the decision must still follow the store.
    assert driven.authorize(who, "s3:GetObject", OBJECT).kind is DecisionKind.IMPLICIT_DENY
    with pytest.raises(EncodedAccessDeniedError):
        driven.check(who, "s3:GetObject", OBJECT)


def test_deleted_user_loses_access(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    who = driven.authenticate(signed(world.akid, world.secret))
    assert driven.authorize(who, "s3:GetObject", OBJECT).allowed
    world.store.delete_user("alice", force=True)
    assert not driven.authorize(who, "s3:GetObject", OBJECT).allowed
    assert auth_code(lambda: driven.authenticate(signed(world.akid, world.secret))) == "InvalidClientTokenId"


# ---------------------------------------------------------------- session policies


def test_inline_session_policy_caps_the_role(make: Callable[..., Driven], world: World) -> None:
    creds = session(world, policy=ALLOW_PUBLIC_ONLY)
    driven = make()
    who = driven.authenticate(signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token))
    assert driven.authorize(who, "s3:GetObject", PUBLIC_OBJECT).allowed
    assert driven.authorize(who, "s3:GetObject", OBJECT).kind is DecisionKind.IMPLICIT_DENY


def test_managed_session_policy_caps_the_role(make: Callable[..., Driven], world: World) -> None:
    public_only = world.store.create_policy("public-only", ALLOW_PUBLIC_ONLY)
    creds = session(world, policy_arns=(public_only.arn,))
    driven = make()
    who = driven.authenticate(signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token))
    assert driven.authorize(who, "s3:GetObject", PUBLIC_OBJECT).allowed
    assert driven.authorize(who, "s3:GetObject", OBJECT).kind is DecisionKind.IMPLICIT_DENY


def test_managed_session_policy_new_default_version_applies_next_check(
    make: Callable[..., Driven], world: World
) -> None:
    public_only = world.store.create_policy("public-only", ALLOW_PUBLIC_ONLY)
    creds = session(world, policy_arns=(public_only.arn,))
    driven = make()
    who = driven.authenticate(signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token))
    assert driven.authorize(who, "s3:GetObject", PUBLIC_OBJECT).allowed
    world.store.create_policy_version(public_only.arn, DENY_ALL, set_as_default=True)
    assert driven.authorize(who, "s3:GetObject", PUBLIC_OBJECT).kind is DecisionKind.EXPLICIT_DENY


def test_deleted_managed_session_policy_denies_everything(make: Callable[..., Driven], world: World) -> None:
    """A session policy that cannot be read might have held a Deny: fail closed."""
    public_only = world.store.create_policy("public-only", ALLOW_PUBLIC_ONLY)
    creds = session(world, policy_arns=(public_only.arn,))
    world.store.delete_policy(public_only.arn, force=True)
    driven = make()
    who = driven.authenticate(signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token))
    assert driven.authorize(who, "s3:GetObject", PUBLIC_OBJECT).kind is DecisionKind.EXPLICIT_DENY


def test_federated_session_is_its_parent_intersected_with_its_policy(
    make: Callable[..., Driven], world: World
) -> None:
    """GetFederationToken: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html"""
    creds, _ = world.sessions.issue(
        arn=f"arn:aws:sts::{ACCOUNT}:federated-user/fed",
        account=ACCOUNT,
        principal_type="FederatedUser",
        user_id=f"{ACCOUNT}:fed",
        duration_seconds=3600,
        session_name="fed",
        session_policy={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        },
        federated=True,
        parent_arn=ALICE,
    )
    driven = make()
    who = driven.authenticate(signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token))
    assert driven.authorize(who, "s3:GetObject", OBJECT).allowed  # parent allows, session allows
    assert not driven.authorize(who, "s3:PutObject", OBJECT).allowed  # session allows, parent does not
    assert driven.authorize(who, "s3:GetObject", SECRET_OBJECT).kind is DecisionKind.EXPLICIT_DENY


# ---------------------------------------------------------------- resource policies


def _bucket_policy(effect: str, principal: object) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": effect,
                "Principal": principal,
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/*",
            }
        ],
    }


def test_resource_policy_grants_a_user_without_identity_policies(
    make: Callable[..., Driven], world: World
) -> None:
    """Same account: an Allow in either kind of policy suffices.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
    """
    bob = world.store.create_access_key("bob")
    driven = make()
    who = driven.authenticate(signed(bob.access_key.access_key_id, bob.secret_access_key))
    grant = _bucket_policy("Allow", {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"})
    assert not driven.authorize(who, "s3:GetObject", OBJECT).allowed
    assert driven.authorize(who, "s3:GetObject", OBJECT, resource_policy=grant).allowed
    parsed = parse_policy(grant, name="bucket", kind=PolicyKind.RESOURCE)
    assert driven.check(who, "s3:GetObject", OBJECT, resource_policy=parsed).allowed


def test_resource_policy_deny_overrides_identity_allow(make: Callable[..., Driven], world: World) -> None:
    driven = make()
    who = driven.authenticate(signed(world.akid, world.secret))
    deny = _bucket_policy("Deny", {"AWS": ALICE})
    assert (
        driven.authorize(who, "s3:GetObject", OBJECT, resource_policy=deny).kind is DecisionKind.EXPLICIT_DENY
    )


def test_anonymous_only_through_a_public_resource_policy(make: Callable[..., Driven], world: World) -> None:
    driven = make(anonymous=True)
    who = driven.authenticate(RequestView.from_url("GET", URL, [("host", HOST)], b""))
    assert who.method == "anonymous"
    assert not driven.authorize(who, "s3:GetObject", OBJECT).allowed
    assert driven.authorize(who, "s3:GetObject", OBJECT, resource_policy=_bucket_policy("Allow", "*")).allowed


# ---------------------------------------------------------------- the async store is awaited


def test_the_async_store_is_awaited_for_every_read(world: World, loop: asyncio.AbstractEventLoop) -> None:
    """The async path runs: every read, managed session policies included, is awaited."""
    driven = Driven("AsyncGuard/async", world, loop, sessions=world.sessions)
    assert driven.async_store is not None
    who = driven.authenticate(signed(world.akid, world.secret))
    driven.authorize(who, "s3:GetObject", OBJECT)
    public_only = world.store.create_policy("public-only", ALLOW_PUBLIC_ONLY)
    creds = session(world, policy_arns=(public_only.arn,))
    who = driven.authenticate(signed(creds.access_key_id, creds.secret_access_key, token=creds.session_token))
    driven.authorize(who, "s3:GetObject", PUBLIC_OBJECT)
    conforming: AsyncPolicySource = driven.async_store  # mypy checks the protocol here
    awaited = driven.async_store.awaited
    assert conforming is driven.async_store
    assert awaited["get_access_key"] == 1
    assert awaited["resolve_principal"] >= 2  # alice, then the role
    assert awaited["generation"] >= 2
    assert awaited["get_policy"] == 1 and awaited["get_policy_version"] == 1


def test_a_half_async_store_is_refused(world: World) -> None:
    class HalfAsync:
        async def resolve_principal(self, arn: str) -> Any:
            return world.store.resolve_principal(arn)

        def get_access_key(self, access_key_id: str) -> Any:
            return world.store.get_access_key(access_key_id)

        def generation(self) -> int:
            return world.store.generation()

    with pytest.raises(TypeError, match="all sync or all async"):
        AsyncGuard(HalfAsync())  # type: ignore[arg-type]


# ---------------------------------------------------------------- through the ASGI middleware


@require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
async def _read(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


async def _object(request: StarletteRequest) -> JSONResponse:
    return JSONResponse({"read": await _read(**request.path_params)})


async def _upload(request: StarletteRequest) -> JSONResponse:
    state: RequestState = request.scope["iamguard"]
    return JSONResponse(
        {
            "principal": state.principal.arn if state.principal else None,
            "body": (await request.body()).decode(),
        }
    )


async def _render(request: StarletteRequest, error: Exception) -> Response:
    status, headers, body = render_error(error, style="s3")
    return Response(body, status_code=status, headers=dict(headers))


@pytest.mark.parametrize("kind", ["AsyncGuard/sync", "AsyncGuard/async"])
def test_asgi_middleware_over_either_store(kind: str, world: World, loop: asyncio.AbstractEventLoop) -> None:
    """Allow, deny (AWS error body, no traceback) and an aws-chunked upload whose body is read
    after its seed signature verified: the same answers whether the store is awaited or not."""
    guard = Driven(kind, world, loop, service="s3", messages=world.codec).guard
    assert isinstance(guard, AsyncGuard)
    app = Starlette(
        routes=[Route("/o/{bucket}/{key:path}", _object), Route("/up", _upload, methods=["PUT"])],
        exception_handlers={IAMGuardError: _render},
    )
    client = TestClient(IAMGuardASGIMiddleware(app, guard, error_style="s3"))
    host = "http://testserver"
    ok = client.get("/o/b/k", headers=sign("GET", f"{host}/o/b/k", world.akid, world.secret, service="s3"))
    assert (ok.status_code, ok.json()) == (200, {"read": "b/k"})
    denied = client.get(
        "/o/secret/k", headers=sign("GET", f"{host}/o/secret/k", world.akid, world.secret, service="s3")
    )
    assert denied.status_code == 403 and "<Code>AccessDenied</Code>" in denied.text
    assert "Traceback" not in denied.text
    unknown = client.get(
        "/o/b/k", headers=sign("GET", f"{host}/o/b/k", "AKIAUNKNOWNKEY000000", world.secret, service="s3")
    )
    assert unknown.status_code == 403 and "<Code>InvalidAccessKeyId</Code>" in unknown.text
    data = b"chunked payload"
    body, extra, context = unsigned_trailer_upload(data)
    headers = sign(
        "PUT", f"{host}/up", world.akid, world.secret, service="s3", body=body, headers=extra, context=context
    )
    uploaded = client.put("/up", content=body, headers=headers)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {"principal": ALICE, "body": data.decode()}
