"""Stage 6 in application code: ``@require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")``.

authenticate → principal → resolve policies → evaluate → decide → **enforce**/audit

The decorator (built on ``wrapt``, so it keeps signatures, methods and descriptors intact)
inspects the function once at decoration time, picks a sync or an async wrapper and compiles
the resource template once. At call time it fills the template from the function's bound
arguments (then from route parameters the integration put in the request state), asks the
guard for every action, and raises :class:`~iamguard.enforce.errors.EncodedAccessDeniedError`
on the first one not allowed.

Who is calling comes from a context variable: the WSGI/ASGI middleware and the framework
integrations set it for the duration of a request; elsewhere (jobs, tests, CLIs) use
``with acting_as(principal_or_authenticated, guard=guard): ...``.
"""

from __future__ import annotations

import contextvars
import inspect
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import wrapt

from iamguard.authn.authenticators import Authenticated
from iamguard.decision import Decision
from iamguard.enforce.guard import AsyncGuard, Guard, RequestState
from iamguard.errors import AccessDeniedError, AuthenticationError, InvalidParameterError
from iamguard.policy.model import Policy
from iamguard.principal import Principal

__all__ = ["ResourceTemplate", "acting_as", "current_request", "require"]

F = TypeVar("F", bound=Callable[..., Any])
ResourceSpec = str | Callable[..., str]
ResourcePolicyHook = Callable[..., "tuple[Policy | str | Mapping[str, Any] | None, str | None]"]
ContextHook = Callable[..., Mapping[str, object]]

_current: contextvars.ContextVar[RequestState | None] = contextvars.ContextVar(
    "iamguard_request", default=None
)


def current_request() -> RequestState | None:
    """The request state enforcement is running under, or ``None`` outside one."""
    return _current.get()


@contextmanager
def acting_as(who: Principal | Authenticated, *, guard: Guard | AsyncGuard) -> Iterator[RequestState]:
    """Run the block as ``who``: ``@require`` inside it asks ``guard`` about this principal.

    A bare :class:`Principal` is taken as already authenticated (``method="explicit"``): the
    caller vouches for it, so use this only with principals you built or verified yourself.
    """
    authenticated = who if isinstance(who, Authenticated) else Authenticated(who, "explicit")
    state = RequestState(guard, authenticated)
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)


#: ``enter_request(state)`` makes ``state`` current and returns the token that
#: ``leave_request(token)`` takes to restore the previous one (integrations, once per request).
#: The context variable's own methods: no Python frame on the request path.
enter_request: Callable[[RequestState], contextvars.Token[RequestState | None]] = _current.set
leave_request: Callable[[contextvars.Token[RequestState | None]], None] = _current.reset


class ResourceTemplate:
    """``arn:aws:s3:::{bucket}/{key}`` compiled once: literal parts and field names.

    Only plain ``{name}`` fields are allowed (no format specs, conversions or indexing), so a
    value is pasted verbatim and can never reshape the ARN around it.
    """

    __slots__ = ("fields", "parts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[tuple[str, str | None]] = []
        for literal, name, spec, conversion in string.Formatter().parse(text):
            if name is not None and (not name.isidentifier() or spec or conversion):
                raise InvalidParameterError(
                    f"resource template {text!r}: use plain {{name}} fields, got {{{name}}}"
                )
            parts.append((literal, name))
        self.parts = tuple(parts)
        self.fields = tuple(name for _, name in parts if name is not None)

    def render(self, values: Mapping[str, object]) -> str:
        """The ARN with each ``{field}`` replaced by ``values[field]`` (``LookupError`` if missing)."""
        out = []
        for literal, name in self.parts:
            out.append(literal)
            if name is not None:
                if name not in values:
                    raise LookupError(f"resource template {self.text!r}: no value for {{{name}}}")
                out.append(str(values[name]))
        return "".join(out)


class _Requirement:
    """One decorated function's compiled requirement."""

    def __init__(
        self,
        func: Callable[..., Any],
        actions: tuple[str, ...],
        resource: ResourceSpec,
        context: ContextHook | None,
        resource_policy: ResourcePolicyHook | None,
        guard: Guard | AsyncGuard | None,
    ) -> None:
        self.actions = actions
        self.template = ResourceTemplate(resource) if isinstance(resource, str) else None
        self.resource_fn = None if isinstance(resource, str) else resource
        self.context = context
        self.resource_policy = resource_policy
        self.guard = guard
        self.signature = inspect.signature(func)
        # Fast path: no template fields and no hooks need the arguments.
        self.needs_args = bool(self.template and self.template.fields) or any(
            f is not None for f in (self.resource_fn, context, resource_policy)
        )

    def state(self) -> tuple[RequestState, Authenticated]:
        state = _current.get()
        if state is None or state.authenticated is None:
            raise AuthenticationError(
                "Request is missing Authentication Token", code="MissingAuthenticationToken", http_status=403
            )
        return state, state.authenticated

    def arguments(
        self, state: RequestState, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if not self.needs_args:
            return {}
        call_args = (instance, *args) if instance is not None else args
        try:
            bound = self.signature.bind_partial(*call_args, **kwargs)
        except TypeError:
            bound = self.signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        values: dict[str, Any] = dict(state.params)
        values.update(bound.arguments)
        return values

    def resource(self, values: Mapping[str, Any]) -> str:
        if self.resource_fn is not None:
            return self.resource_fn(**_accepted(self.resource_fn, values))
        assert self.template is not None
        return self.template.render(values) if self.template.fields else self.template.text

    def options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.context is not None:
            options["context"] = self.context(**_accepted(self.context, values))
        if self.resource_policy is not None:
            policy, owner = self.resource_policy(**_accepted(self.resource_policy, values))
            options["resource_policy"] = policy
            options["resource_account"] = owner
        return options

    def guard_for(self, state: RequestState) -> Guard | AsyncGuard:
        return self.guard if self.guard is not None else state.guard


def _accepted(func: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``values`` that ``func`` takes (all of them if it has ``**kwargs``)."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return dict(values)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(values)
    return {k: v for k, v in values.items() if k in parameters}


def require(
    actions: str | Sequence[str],
    resource: ResourceSpec = "*",
    *,
    context: ContextHook | None = None,
    resource_policy: ResourcePolicyHook | None = None,
    guard: Guard | AsyncGuard | None = None,
) -> Callable[[F], F]:
    """Decorate a function (sync or async, plain or method) to require ``actions`` on ``resource``.

    ``resource`` is ``"*"``, a template such as ``"arn:aws:s3:::{bucket}/{key}"`` filled from
    the call's arguments (and route parameters), or a callable taking any of those arguments
    by name. ``context`` returns extra condition keys; ``resource_policy`` returns
    ``(policy, owner_account)`` for the target resource. Every action must be allowed.
    ``guard`` overrides the one of the current request.
    """
    names = (actions,) if isinstance(actions, str) else tuple(actions)
    if not names:
        raise InvalidParameterError("require() needs at least one action")

    def decorate(func: F) -> F:
        requirement = _Requirement(func, names, resource, context, resource_policy, guard)
        if inspect.iscoroutinefunction(func):
            return _async_wrapper(requirement)(func)  # type: ignore[no-any-return]
        return _sync_wrapper(requirement)(func)  # type: ignore[no-any-return]

    return decorate


if TYPE_CHECKING:
    _FunctionProxy = wrapt.FunctionWrapper[Any, Any]
else:  # generic only in wrapt's stubs and newer releases
    _FunctionProxy = wrapt.FunctionWrapper


class _RequireWrapper(_FunctionProxy):
    """wrapt's function proxy with ``__code__`` found on the class.

    Frameworks read it on every request (Flask's ``ensure_sync`` asks
    ``inspect.iscoroutinefunction``); on a plain proxy each read first misses on the proxy
    itself, and wrapt's C ``getattr`` pays for a formatted ``AttributeError`` before forwarding.
    """

    @property
    def __code__(self) -> Any:
        return self.__wrapped__.__code__


def _sync_wrapper(requirement: _Requirement) -> Any:
    actions = requirement.actions
    needs_args = requirement.needs_args
    # No template fields and no hooks: the resource is a constant and there are no options.
    fixed = None if needs_args else requirement.resource({})

    @wrapt.decorator(proxy=_RequireWrapper)
    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        state, authenticated = requirement.state()
        guard = requirement.guard if requirement.guard is not None else state.guard
        if not isinstance(guard, Guard):
            raise TypeError("a sync function needs a sync Guard; use an async function with AsyncGuard")
        decisions = state.decisions
        if fixed is not None:
            for action in actions:
                try:
                    decisions.append(guard.check(authenticated, action, fixed))
                except AccessDeniedError as denied:
                    decisions.append(denied.decision)
                    raise
            return wrapped(*args, **kwargs)
        values = requirement.arguments(state, instance, args, kwargs)
        resource = requirement.resource(values)
        options = requirement.options(values)
        for action in actions:
            try:
                decision = guard.check(authenticated, action, resource, **options)
            except AccessDeniedError as denied:
                _remember(state, denied.decision)
                raise
            _remember(state, decision)
        return wrapped(*args, **kwargs)

    return wrapper


def _async_wrapper(requirement: _Requirement) -> Any:
    actions = requirement.actions
    fixed = None if requirement.needs_args else requirement.resource({})

    @wrapt.decorator(proxy=_RequireWrapper)
    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        state, authenticated = requirement.state()
        guard = requirement.guard if requirement.guard is not None else state.guard
        if fixed is not None:
            resource = fixed
            options: dict[str, Any] = {}
        else:
            values = requirement.arguments(state, instance, args, kwargs)
            resource = requirement.resource(values)
            options = requirement.options(values)
        for action in actions:
            try:
                if isinstance(guard, AsyncGuard):
                    decision = await guard.check(authenticated, action, resource, **options)
                else:
                    decision = guard.check(authenticated, action, resource, **options)
            except AccessDeniedError as denied:
                _remember(state, denied.decision)
                raise
            _remember(state, decision)
        return await wrapped(*args, **kwargs)

    return wrapper


def _remember(state: RequestState, decision: Decision) -> None:
    state.decisions.append(decision)
