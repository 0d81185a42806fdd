"""FastAPI dependencies: require(...) and current_principal, with and without the ASGI middleware."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from fastapi_iamguard import current_principal, install, require

from iamguard.decision import Decision
from iamguard.enforce.asgi import IAMGuardASGIMiddleware
from iamguard.enforce.guard import AsyncGuard, RequestState
from iamguard.principal import Principal
from iamguard.store.records import PrincipalKind

from ..enforce.helpers import World, make_world, sign

HOST = "http://testserver"


def make_app(world: World, *, middleware: bool, **guard_options: Any) -> tuple[TestClient, AsyncGuard]:
    app = FastAPI()
    guard = AsyncGuard(world.counting, messages=world.codec, **guard_options)
    install(app, guard, error_style="json")

    @app.get("/objects/{bucket}/{key:path}")
    async def get_object(
        bucket: str,
        key: str,
        decision: Decision = Depends(require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")),  # noqa: B008
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> dict[str, Any]:
        return {"principal": principal.arn, "decision": decision.kind.value, "key": key}

    @app.post("/echo", dependencies=[Depends(require("execute-api:Invoke"))])
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    asgi: Any = IAMGuardASGIMiddleware(app, guard) if middleware else app
    return TestClient(asgi), guard


@pytest.fixture()
def world() -> World:
    return make_world()


@pytest.mark.parametrize("middleware", [True, False], ids=["behind-middleware", "standalone"])
def test_allowed_and_denied(world: World, middleware: bool) -> None:
    client, _ = make_app(world, middleware=middleware, service="s3")
    url = f"{HOST}/objects/b/k.txt"
    ok = client.get("/objects/b/k.txt", headers=sign("GET", url, world.akid, world.secret, service="s3"))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "principal": "arn:aws:iam::123456789012:user/alice",
        "decision": "allowed",
        "key": "k.txt",
    }
    url = f"{HOST}/objects/secret/k"
    denied = client.get("/objects/secret/k", headers=sign("GET", url, world.akid, world.secret, service="s3"))
    assert denied.status_code == 403
    error = denied.json()["Error"]
    assert error["Code"] == "AccessDenied"
    encoded = error["Message"].split("Encoded authorization failure message: ")[1]
    assert world.codec.decode(encoded)["explicitDeny"] is True


@pytest.mark.parametrize("middleware", [True, False], ids=["behind-middleware", "standalone"])
def test_body_still_reaches_the_endpoint(world: World, middleware: bool) -> None:
    client, _ = make_app(world, middleware=middleware)
    body = b'{"a": 1}'
    headers = sign(
        "POST",
        f"{HOST}/echo",
        world.akid,
        world.secret,
        body=body,
        headers={"Content-Type": "application/json"},
    )
    response = client.post("/echo", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"a": 1}


def test_authenticates_once_per_request(world: World) -> None:
    client, _ = make_app(world, middleware=False, service="s3")
    url = f"{HOST}/objects/b/k"
    client.get("/objects/b/k", headers=sign("GET", url, world.akid, world.secret, service="s3"))
    assert world.counting.calls["get_access_key"] == 1


def test_errors_are_aws_shaped(world: World) -> None:
    client, _ = make_app(world, middleware=False)
    missing = client.get("/objects/b/k")
    assert (missing.status_code, missing.json()["Error"]["Code"]) == (403, "MissingAuthenticationToken")
    bad = client.get("/objects/b/k", headers=sign("GET", f"{HOST}/objects/b/k", world.akid, "q" * 40))
    assert bad.json()["Error"]["Code"] == "SignatureDoesNotMatch"


def test_session_credentials_and_revocation(world: World) -> None:
    client, _ = make_app(world, middleware=True, sessions=world.sessions, service="s3")
    creds = world.role_session()
    url = f"{HOST}/objects/b/k"

    def call() -> int:
        headers = sign(
            "GET", url, creds.access_key_id, creds.secret_access_key, token=creds.session_token, service="s3"
        )
        status: int = client.get("/objects/b/k", headers=headers).status_code
        return status

    assert call() == 200
    assert "get_access_key" not in world.counting.calls
    world.store.detach_policy(PrincipalKind.ROLE, "reader", world.policy_arn)
    assert call() == 403


def test_request_state_is_shared_with_the_middleware(world: World) -> None:
    app = FastAPI()
    guard = AsyncGuard(world.store)
    install(app, guard)
    seen: list[RequestState] = []

    @app.get("/x", dependencies=[Depends(require("execute-api:Invoke"))])
    async def x(request: Request) -> dict[str, str]:
        seen.append(request.scope["iamguard"])
        return {}

    client = TestClient(IAMGuardASGIMiddleware(app, guard))
    assert client.get("/x", headers=sign("GET", f"{HOST}/x", world.akid, world.secret)).status_code == 200
    assert [d.action for d in seen[0].decisions] == ["execute-api:Invoke"]


def test_require_decorating_an_endpoint_behind_the_middleware(world: World) -> None:
    """``@require`` on the endpoint itself (no ``Depends``): FastAPI still sees the endpoint's own
    signature through the wrapt proxy, and the principal comes from the middleware's request."""
    from iamguard.enforce.require import require as require_here

    app = FastAPI()
    guard = AsyncGuard(world.counting, messages=world.codec, service="s3")
    install(app, guard, error_style="json")

    @app.get("/objects/{bucket}/{key:path}")
    @require_here("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
    async def get_object(bucket: str, key: str, request: Request) -> dict[str, Any]:
        state: RequestState = request.scope["iamguard"]
        return {"key": key, "decisions": [d.kind.value for d in state.decisions]}

    client = TestClient(IAMGuardASGIMiddleware(app, guard))
    ok = client.get(
        "/objects/b/k.txt",
        headers=sign("GET", f"{HOST}/objects/b/k.txt", world.akid, world.secret, service="s3"),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"key": "k.txt", "decisions": ["allowed"]}
    url = f"{HOST}/objects/secret/k"
    denied = client.get("/objects/secret/k", headers=sign("GET", url, world.akid, world.secret, service="s3"))
    assert denied.status_code == 403
    assert denied.json()["Error"]["Code"] == "AccessDenied"
