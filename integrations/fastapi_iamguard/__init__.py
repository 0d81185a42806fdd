"""FastAPI integration: ``Depends(require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}"))``.

Dependencies reuse the application's one :class:`~iamguard.enforce.guard.AsyncGuard` (no second
engine). They work behind :class:`~iamguard.enforce.asgi.IAMGuardASGIMiddleware` (which has
already authenticated the request: ``scope["iamguard"]``) or on their own, authenticating from
the :class:`fastapi.Request` once per request and caching the result in the scope.

* :func:`install` stores the guard on ``app.state.iamguard`` and registers the exception handler
  that renders iamguard errors through the one error function (AWS-shaped bodies).
* :func:`require` returns a dependency that checks every action and returns the last
  :class:`~iamguard.decision.Decision`; templates are filled from path parameters, then query
  parameters.
* :func:`current_principal` injects the caller: ``principal: Principal = Depends(current_principal)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import Response
except ModuleNotFoundError as missing:  # the [fastapi] extra is not installed: say how to get it
    if missing.name != "fastapi":
        raise
    raise ModuleNotFoundError(
        'fastapi_iamguard needs FastAPI: pip install "iamguard[fastapi]"', name="fastapi"
    ) from None

from iamguard import (
    AccessDeniedError,
    AsyncGuard,
    Authenticated,
    AuthenticationError,
    Decision,
    Guard,
    IAMGuardError,
    Policy,
    Principal,
    RequestState,
    render_error,
)
from iamguard.enforce import (
    REQUEST_ID_KEY,
    ErrorStyle,
    ResourceTemplate,
    log_error_response,
    new_request_id,
    receive_body,
    view_from_scope,
)

__all__ = ["current_principal", "install", "require"]

#: Largest body a dependency buffers when no middleware did (the middleware's default).
MAX_BODY_SIZE = 64 * 1024 * 1024

ResourcePolicyHook = Callable[[Request], "tuple[Policy | str | Mapping[str, Any] | None, str | None]"]


def install(app: FastAPI, guard: AsyncGuard, *, error_style: ErrorStyle = "json") -> None:
    """Make ``guard`` the app's guard and render iamguard errors AWS-style."""
    app.state.iamguard = guard

    async def handler(request: Request, error: Exception) -> Response:
        status, headers, body = render_error(error, style=error_style, request_id=_request_id(request))
        log_error_response(error, _request_id(request), status)
        return Response(body, status_code=status, headers=dict(headers))

    app.add_exception_handler(IAMGuardError, handler)


def _request_id(request: Request) -> str:
    """The request's id: the authenticated one, the middleware's, or a new one kept in the scope."""
    state = request.scope.get("iamguard")
    if isinstance(state, RequestState) and state.authenticated is not None and state.authenticated.request_id:
        return state.authenticated.request_id
    found = request.scope.get(REQUEST_ID_KEY)
    if not isinstance(found, str) or not found:
        found = request.scope[REQUEST_ID_KEY] = new_request_id()
    return found


async def _bounded_body(request: Request) -> bytes:
    """``await request.body()`` with a size bound: the body is read once here, message by
    message, and left where Starlette's ``Request.body()`` finds it for the endpoint."""
    cached = getattr(request, "_body", None)
    if isinstance(cached, bytes):
        return cached
    body = await receive_body(request.receive, MAX_BODY_SIZE)
    request._body = body  # Starlette's own cache of the read body (Request.body() returns it)
    return body


def _guard(request: Request, explicit: AsyncGuard | None) -> AsyncGuard | Guard:
    if explicit is not None:
        return explicit
    state = request.scope.get("iamguard")
    if isinstance(state, RequestState):
        return state.guard
    guard = getattr(request.app.state, "iamguard", None)
    if not isinstance(guard, (AsyncGuard, Guard)):
        raise RuntimeError("no iamguard guard: call fastapi_iamguard.install(app, guard) or pass guard=")
    return guard


async def _state(request: Request, explicit: AsyncGuard | None = None) -> RequestState:
    """The request's state, authenticating it here when no middleware did (once per request)."""
    state = request.scope.get("iamguard")
    if isinstance(state, RequestState):
        return state
    guard = _guard(request, explicit)
    view, meta = view_from_scope(request.scope, await _bounded_body(request), _request_id(request))
    authenticated = (
        await guard.authenticate(view, meta)
        if isinstance(guard, AsyncGuard)
        else guard.authenticate(view, meta)
    )
    state = RequestState(guard, authenticated)
    request.scope["iamguard"] = state
    return state


def _authenticated(state: RequestState) -> Authenticated:
    if state.authenticated is None:
        raise AuthenticationError(
            "Request is missing Authentication Token", code="MissingAuthenticationToken", http_status=403
        )
    return state.authenticated


async def current_principal(request: Request) -> Principal:
    """The authenticated caller (a dependency: ``Depends(current_principal)``)."""
    return _authenticated(await _state(request)).principal


def require(
    actions: str | Sequence[str],
    resource: str | Callable[[Request], str] = "*",
    *,
    context: Callable[[Request], Mapping[str, object]] | None = None,
    resource_policy: ResourcePolicyHook | None = None,
    guard: AsyncGuard | None = None,
) -> Callable[[Request], Awaitable[Decision]]:
    """A dependency requiring every one of ``actions`` on ``resource``; returns the last decision."""
    names = (actions,) if isinstance(actions, str) else tuple(actions)
    if not names:
        raise ValueError("require() needs at least one action")
    template = ResourceTemplate(resource) if isinstance(resource, str) else None
    # A template without fields is a constant: no query parsing, no rendering per request.
    fixed = template.text if template is not None and not template.fields else None

    async def dependency(request: Request) -> Decision:
        scope = request.scope
        state = scope.get("iamguard")
        if not isinstance(state, RequestState):
            state = await _state(request, guard)
        authenticated = _authenticated(state)
        if fixed is not None:
            target = fixed
        elif template is not None:
            values = {**state.params, **request.query_params, **request.path_params}
            target = template.render(values)
        else:
            assert callable(resource)
            target = resource(request)
        options: dict[str, Any] = {}
        if context is not None:
            options["context"] = context(request)
        if resource_policy is not None:
            options["resource_policy"], options["resource_account"] = resource_policy(request)
        checker = guard if guard is not None else state.guard
        decisions = state.decisions
        decision: Decision | None = None
        for action in names:
            try:
                if isinstance(checker, AsyncGuard):
                    decision = await checker.check(authenticated, action, target, **options)
                else:
                    decision = checker.check(authenticated, action, target, **options)
            except AccessDeniedError as denied:
                decisions.append(denied.decision)
                raise
            decisions.append(decision)
        assert decision is not None
        return decision

    return dependency
