"""Pure ASGI middleware around a tiny Starlette app, with botocore-signed requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from iamguard.authn.request_view import RequestView
from iamguard.enforce.asgi import IAMGuardASGIMiddleware, view_from_scope
from iamguard.enforce.errors import render_error
from iamguard.enforce.guard import AsyncGuard, RequestState
from iamguard.enforce.require import require
from iamguard.errors import IAMGuardError
from iamguard.store.records import PrincipalKind

from .helpers import World, make_world, sign, unsigned_trailer_upload

HOST = "http://testserver"


@require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
async def read(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


async def echo(request: Request) -> JSONResponse:
    state: RequestState = request.scope["iamguard"]
    body = await request.body()
    return JSONResponse(
        {"principal": state.principal.arn if state.principal else None, "body": body.decode()}
    )


async def bucket(request: Request) -> JSONResponse:
    return JSONResponse({"read": await read(**request.path_params)})


async def render(request: Request, error: Exception) -> Response:
    """Starlette's ServerErrorMiddleware answers 500 before an exception reaches the outer
    middleware, so an app raising from endpoints registers iamguard's renderer as a handler."""
    status, headers, body = render_error(error, style="s3")
    return Response(body, status_code=status, headers=dict(headers))


def build(world: World, **options: Any) -> TestClient:
    guard_options = {k: options.pop(k) for k in list(options) if k in ("sessions", "bearer", "service")}
    guard = AsyncGuard(world.counting, messages=world.codec, **guard_options)
    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST", "PUT"]),
            Route("/bucket/{bucket}/{key:path}", bucket),
        ],
        exception_handlers={IAMGuardError: render},
    )
    return TestClient(IAMGuardASGIMiddleware(app, guard, **options))


@pytest.fixture()
def world() -> World:
    return make_world()


def test_signed_post_reaches_the_app_with_its_body(world: World) -> None:
    body = b"payload"
    headers = sign("POST", f"{HOST}/echo?a=1", world.akid, world.secret, body=body)
    response = build(world).post("/echo?a=1", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"principal": "arn:aws:iam::123456789012:user/alice", "body": "payload"}


def test_require_in_an_async_endpoint_allows_and_denies(world: World) -> None:
    client = build(world, service="s3", error_style="s3")
    ok = client.get(
        "/bucket/b/k%20x",
        headers=sign("GET", f"{HOST}/bucket/b/k%20x", world.akid, world.secret, service="s3"),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"read": "b/k x"}
    denied = client.get(
        "/bucket/secret/k",
        headers=sign("GET", f"{HOST}/bucket/secret/k", world.akid, world.secret, service="s3"),
    )
    assert denied.status_code == 403
    assert "<Code>AccessDenied</Code>" in denied.text
    encoded = denied.text.split("Encoded authorization failure message: ")[1].split("<")[0]
    assert world.codec.decode(encoded)["explicitDeny"] is True


def test_errors(world: World) -> None:
    client = build(world)
    bad = client.get("/echo", headers=sign("GET", f"{HOST}/echo", world.akid, "y" * 40))
    assert (bad.status_code, bad.json()["Error"]["Code"]) == (403, "SignatureDoesNotMatch")
    unknown = client.get("/echo", headers=sign("GET", f"{HOST}/echo", "AKIAUNKNOWNKEY000000", "y" * 40))
    assert unknown.json()["Error"]["Code"] == "InvalidClientTokenId"
    missing = client.get("/echo")
    assert missing.json()["Error"]["Code"] == "MissingAuthenticationToken"


def test_session_credentials_without_key_lookup(world: World) -> None:
    creds = world.role_session()
    headers = sign(
        "GET", f"{HOST}/echo", creds.access_key_id, creds.secret_access_key, token=creds.session_token
    )
    response = build(world, sessions=world.sessions).get("/echo", headers=headers)
    assert response.status_code == 200
    assert "get_access_key" not in world.counting.calls


def test_revocation(world: World) -> None:
    client = build(world, service="s3")
    url = f"{HOST}/bucket/b/k"
    assert (
        client.get(
            "/bucket/b/k", headers=sign("GET", url, world.akid, world.secret, service="s3")
        ).status_code
        == 200
    )
    world.store.detach_policy(PrincipalKind.USER, "alice", world.policy_arn)
    assert (
        client.get(
            "/bucket/b/k", headers=sign("GET", url, world.akid, world.secret, service="s3")
        ).status_code
        == 403
    )


def test_aws_chunked_body_replayed_decoded(world: World) -> None:
    data = b"0123456789" * 50
    body, extra, context = unsigned_trailer_upload(data)
    headers = sign(
        "PUT",
        f"{HOST}/echo",
        world.akid,
        world.secret,
        service="s3",
        body=body,
        headers=extra,
        context=context,
    )
    response = build(world, service="s3").put("/echo", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["body"] == data.decode()


def test_non_http_scopes_pass_through(world: World) -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def run() -> None:
        middleware = IAMGuardASGIMiddleware(inner, AsyncGuard(world.store))
        await middleware({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
        await middleware({"type": "websocket"}, None, None)  # type: ignore[arg-type]

    asyncio.run(run())
    assert seen == ["lifespan", "websocket"]


# ---------------------------------------------------------------- fast path = general path


@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"host", b"x-amz-date", b"X-Dup", b"x-dup", b"accept"]),
            st.sampled_from([b"", b"v", b"\xe9"]),
        ),
        max_size=6,
    )
)
def test_scope_view_index_matches_the_views_own(pairs: list[tuple[bytes, bytes]]) -> None:
    """The header index built while reading the scope is the one the view would build itself."""
    scope = {"type": "http", "method": "GET", "raw_path": b"/", "query_string": b"", "headers": pairs}
    view, _ = view_from_scope(scope, b"")
    rebuilt = RequestView("GET", "/", "", [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs])
    assert dict(view.header_index()) == dict(rebuilt.header_index())
    assert view.header("x-dup") == rebuilt.header("x-dup")
