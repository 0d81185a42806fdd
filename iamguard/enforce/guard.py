"""Stage 6 driver: runs stages 1–5 for one request — :class:`Guard` (sync) and :class:`AsyncGuard`.

authenticate → principal → resolve policies → evaluate → decide → **enforce**/audit

Written once as generator flows (STYLE.md §5): authentication (each
:class:`~iamguard.authn.authenticators.Authenticator`) and authorization (session policies,
:func:`~iamguard.resolve.resolve_flow`, evaluation) yield store lookups, run by the package's one
driver pair (:func:`iamguard._flow.drive` / :func:`~iamguard._flow.adrive`). The guards differ
only in how a lookup is answered: :meth:`_GuardCore._answer` reads a sync
:class:`~iamguard.store.protocols.PolicySource` inline, :meth:`AsyncGuard._aanswer` awaits an
:class:`~iamguard.resolve.AsyncPolicySource`. :class:`AsyncGuard` picks which one its store
needs once, when it is built.

Per request: :meth:`Guard.authenticate` once (signature, principal, the request's global
condition keys), then :meth:`Guard.authorize` for each action (a
:class:`~iamguard.decision.Decision`, audited) or :meth:`Guard.check` (raises
:class:`~iamguard.enforce.errors.EncodedAccessDeniedError` carrying AWS's encoded authorization
message). Decisions come from a :class:`~iamguard.evaluate.cached.CachedEvaluator` whose keys
include the store generation, so a revocation (a detached policy, a deleted user) applies to the
very next request.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from iamguard._flow import adrive, drive
from iamguard._frozen import slot_builder
from iamguard.authn.authenticators import (
    EMPTY_CONTEXT,
    AnonymousAuthenticator,
    Authenticated,
    Authenticator,
    BearerAuthenticator,
    GetAccessKey,
    SigV4Authenticator,
    new_authenticated,
)
from iamguard.authn.context import ContextBuilder, RequestMeta
from iamguard.authn.request_view import RequestView
from iamguard.authn.session_token import SessionClaims, SessionTokenService, is_session_access_key_id
from iamguard.context import ContextValue, make_context
from iamguard.decision import Decision, DecisionKind, PolicyRole
from iamguard.enforce.audit import AccessTracker, AuditEvent, AuditSink
from iamguard.enforce.errors import EncodedAccessDeniedError
from iamguard.errors import AuthenticationError, IAMGuardError, InvalidParameterError
from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.remembered import DecisionMemory
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.resolve import (
    GET_GENERATION,
    AsyncPolicySource,
    GetGeneration,
    ResolvePrincipal,
    resolve_flow,
    store_arn,
)
from iamguard.store.protocols import PolicySource
from iamguard.store.records import ManagedPolicy, PolicyVersion
from iamguard.sts.auth_message import AuthorizationMessageCodec, build_message

__all__ = ["AsyncGuard", "GetManagedPolicy", "GetPolicyVersion", "Guard", "RequestState"]


@dataclass(frozen=True, slots=True)
class GetManagedPolicy:
    """Ask the store for managed policy ``arn``'s record (``get_policy``; ``None``: gone)."""

    arn: str


@dataclass(frozen=True, slots=True)
class GetPolicyVersion:
    """Ask the store for version ``version_id`` of managed policy ``arn`` (``None``: gone)."""

    arn: str
    version_id: str


GuardLookup = GetAccessKey | ResolvePrincipal | GetGeneration | GetManagedPolicy | GetPolicyVersion
_Flow = Generator[GuardLookup, object, Any]

#: What a session managed policy that cannot be loaded becomes: deny everything (fail closed,
#: since the missing policy might have held a Deny).
_DENY_ALL = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]},
    name="iamguard:missing-session-policy",
    kind=PolicyKind.IDENTITY,
)

#: ``Request(principal, action, resource, context)`` without the frozen dataclass's per-field
#: setattr: one is built per check (see iamguard._frozen).
_new_request = slot_builder(Request)

_ROLE_WORDS = {
    PolicyRole.IDENTITY: "an identity-based policy",
    PolicyRole.RESOURCE: "a resource-based policy",
    PolicyRole.BOUNDARY: "a permissions boundary",
    PolicyRole.SESSION: "a session policy",
}


@dataclass(slots=True)
class RequestState:
    """What enforcement learned about one request; ``environ["iamguard"]`` / ``scope["iamguard"]``.

    ``authenticated`` is ``None`` for an unauthenticated request let through
    (``required=False``). ``decisions`` lists every decision made for the request, in order.
    ``params`` are route parameters an app may add for ``@require`` templates.
    """

    guard: Guard | AsyncGuard
    authenticated: Authenticated | None
    decisions: list[Decision] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)

    @property
    def principal(self) -> Principal | None:
        return None if self.authenticated is None else self.authenticated.principal


def _has_session_policies(claims: SessionClaims | None) -> bool:
    """Whether the caller's session is capped by session policies (inline or managed ARNs). A
    federated user's always is: given none, its set is empty and allows nothing (see
    ``iamguard.sts._session_policies.session_policies``)."""
    return claims is not None and (
        claims.federated or claims.session_policy is not None or bool(claims.policy_arns)
    )


def denial_message(principal: Principal, decision: Decision) -> str:
    """AWS's access-denied wording.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html#access_denied_error_messages
    ("User: arn is not authorized to perform: action on resource: arn because no
    identity-based policy allows the action action" / "with an explicit deny in a(n) ... policy").
    """
    who = "anonymous" if principal.type is PrincipalType.ANONYMOUS else principal.arn
    head = f"User: {who} is not authorized to perform: {decision.action} on resource: {decision.resource}"
    if decision.kind is DecisionKind.EXPLICIT_DENY:
        denying = next((m for m in decision.matched if m.effect == "Deny"), None)
        where = _ROLE_WORDS[denying.policy_role] if denying is not None else "a policy"
        return f"{head} with an explicit deny in {where}"
    return f"{head} because no identity-based policy allows the {decision.action} action"


def _parse_session_text(text: str) -> Policy:
    """A session policy's text parsed; one that no longer parses denies everything (STS
    validated it at issue time, so fail closed)."""
    try:
        return parse_policy(text, name="session-policy", kind=PolicyKind.IDENTITY)
    except IAMGuardError:
        return _DENY_ALL


def _with_request(
    found: Authenticated, context: Mapping[str, ContextValue], request_id: str, started: float
) -> Authenticated:
    """``replace(found, context=…, request_id=…, started=…)`` without dataclasses' generic walk.

    INVARIANT: names every field of :class:`Authenticated` (a test compares with ``replace``).
    """
    return new_authenticated(
        found.principal,
        found.method,
        found.access_key_id,
        found.verified,
        found.claims,
        found.body,
        context,
        request_id,
        started,
    )


class _GuardCore:
    """Configuration and the flows shared by both guards (no I/O here)."""

    def __init__(
        self,
        source: Any,
        *,
        sessions: SessionTokenService | None = None,
        service: str | None = None,
        region: str | Iterable[str] | None = "us-east-1",
        bearer: bool = False,
        anonymous: bool = False,
        authenticators: Sequence[Authenticator] | None = None,
        evaluator: CachedEvaluator | None = None,
        context: ContextBuilder | None = None,
        trusted_proxies: Iterable[str] = (),
        audit: AuditSink | None = None,
        tracker: AccessTracker | None = None,
        messages: AuthorizationMessageCodec | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.service = service
        if authenticators is None:
            chain: list[Authenticator] = [
                SigV4Authenticator(sessions=sessions, service=service, regions=region, clock=clock)
            ]
            if bearer:
                if sessions is None:
                    raise InvalidParameterError(
                        "bearer authentication needs a SessionTokenService (sessions=...)"
                    )
                chain.append(BearerAuthenticator(sessions, clock=clock))
            if anonymous:
                chain.append(AnonymousAuthenticator())
            authenticators = chain
        self.authenticators: tuple[Authenticator, ...] = tuple(authenticators)
        # The built-in SigV4 authenticator when it comes first: sync drivers ask it directly
        # before running the flow (see _authenticate_inline). Exact type, so a subclass that
        # overrides authenticate() is always driven through its flow.
        first = self.authenticators[0] if self.authenticators else None
        self._sigv4_first = first if type(first) is SigV4Authenticator else None
        self.evaluator = evaluator if evaluator is not None else CachedEvaluator()
        # Allows are remembered (see _decide_inline) only when decisions are the built-in
        # evaluator's: a pure function of the request and its policies.
        self._remember_allows = (
            type(self.evaluator) is CachedEvaluator and type(self.evaluator.evaluator) is Evaluator
        )
        self.context = (
            context if context is not None else ContextBuilder(trusted_proxies=trusted_proxies, clock=clock)
        )
        self.audit = audit
        self.tracker = tracker
        self.messages = messages
        self.memory = DecisionMemory()

    @property
    def memory(self) -> DecisionMemory:
        """Everything remembered between requests (policy sets, parsed session policies, Allows),
        keyed by what it depends on, the store generation included (the evaluate layer's)."""
        return self._memory

    @memory.setter
    def memory(self, memory: DecisionMemory) -> None:
        self._memory = memory
        # The remembered-Allow lookup, bound once: the check's hot path (see _decide_inline).
        self._allowed_get = memory.allowed.get

    # ------------------------------------------------------------ authentication

    def _authenticate_flow(self, view: RequestView, meta: RequestMeta, optional: bool) -> _Flow:
        started = time.perf_counter()
        for authenticator in self.authenticators:
            found = yield from authenticator.authenticate(view, meta)
            if found is not None:
                context = self.context.for_request(view, meta, found.principal, found.verified)
                return _with_request(found, context, meta.request_id, started)
        if optional:
            return None
        raise self._missing_authentication()

    def _missing_authentication(self) -> AuthenticationError:
        """No authenticator recognised the request. S3: AccessDenied; others: MissingAuthenticationToken.

        https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
        """
        if self.service == "s3":
            return AuthenticationError("Access Denied", code="AccessDenied", http_status=403)
        return AuthenticationError(
            "Request is missing Authentication Token", code="MissingAuthenticationToken", http_status=403
        )

    # ------------------------------------------------------------ authorization

    def _policies_flow(self, authenticated: Authenticated) -> Generator[GuardLookup, object, PolicySet]:
        """The principal's :class:`PolicySet`, session policies included, through store lookups.

        A caller without session policies (every long-term key) gets :func:`resolve_flow`
        itself: one generator layer instead of three on the hot path.
        """
        claims = authenticated.claims
        if not _has_session_policies(claims):
            arn = store_arn(authenticated.principal)
            if arn is None:
                return resolve_flow(authenticated.principal)
            return self._stored_flow(authenticated.principal, arn)
        assert claims is not None  # _has_session_policies said so
        return self._session_flow(authenticated.principal, claims)

    def _memoized_policies(self, authenticated: Authenticated, generation: object) -> PolicySet | None:
        """The memoized PolicySet of a stored principal without session policies, when it was
        resolved at ``generation`` (the store's current one); ``None`` otherwise.

        The sync drivers' shortcut past :meth:`_stored_flow` (same memo, same INVARIANT).
        """
        if _has_session_policies(authenticated.claims):
            return None
        arn = store_arn(authenticated.principal)
        return None if arn is None else self.memory.resolved_at(arn, generation)

    def _stored_flow(self, principal: Principal, arn: str) -> Generator[GuardLookup, object, PolicySet]:
        """:func:`resolve_flow` for a stored principal, memoized per store generation.

        INVARIANT: an entry is used only while the store generation is the one its PolicySet
        was resolved at (asked first, every call), so a write (a detached policy, a deleted
        user) applies to the very next request. It holds policies, never a decision.
        """
        generation = yield GET_GENERATION
        hit = self.memory.resolved_at(arn, generation)
        if hit is not None:
            return hit
        policies: PolicySet = yield from resolve_flow(principal)
        self.memory.remember_resolved(arn, generation, policies)
        return policies

    def _session_flow(
        self, principal: Principal, claims: SessionClaims
    ) -> Generator[GuardLookup, object, PolicySet]:
        session = yield from self._session_policies(claims)
        policies: PolicySet = yield from resolve_flow(
            principal, session_policies=session, federation_parent=claims.federation_parent
        )
        return policies

    def _decide(
        self,
        authenticated: Authenticated,
        action: str,
        resource: str,
        extra: Mapping[str, object] | None,
        policies: PolicySet,
        resource_policy: Policy | None,
        resource_account: str | None,
    ) -> tuple[Decision, Request, PolicySet]:
        """Evaluate (cached) and record one action once the policies are known (no I/O)."""
        policies = self.memory.canonical(policies, resource_policy, resource_account)
        context: Mapping[str, ContextValue] = authenticated.context
        if extra:
            context = {**context, **make_context(extra)}
        request = _new_request(authenticated.principal, action, resource, context)
        decision = self.evaluator.evaluate(request, policies)
        if self.audit is not None or self.tracker is not None:
            self._record(authenticated, decision)
        return decision, request, policies

    def _session_policies(
        self, claims: SessionClaims | None
    ) -> Generator[GuardLookup, object, list[Policy] | None]:
        """The session's policies (inline JSON + managed ARNs), ``None`` when none were passed."""
        if claims is None or not _has_session_policies(claims):
            return None
        found: list[Policy] = []
        if claims.session_policy is not None:
            found.append(self._parse_session_text(claims.session_policy))
        for arn in claims.policy_arns:
            found.append((yield from self._managed_flow(arn)))
        return found

    def _parse_session_text(self, text: str) -> Policy:
        return self.memory.session_policy(text, _parse_session_text)

    def _managed_flow(self, arn: str) -> Generator[GuardLookup, object, Policy]:
        """Session managed policy ``arn``'s parsed default version, through store lookups.

        One that cannot be read (gone, unreadable, no longer parses) becomes :data:`_DENY_ALL`:
        fail closed, since the missing policy might have held a Deny.
        """
        record = yield GetManagedPolicy(arn)
        if not isinstance(record, ManagedPolicy):
            return _DENY_ALL
        key = (arn, str(record.policy_id), str(record.default_version_id))
        policy = self.memory.managed.get(key)
        if policy is None:
            version = yield GetPolicyVersion(arn, record.default_version_id)
            if not isinstance(version, PolicyVersion):
                return _DENY_ALL
            try:
                policy = parse_policy(version.document, name=arn, kind=PolicyKind.IDENTITY)
            except IAMGuardError:
                return _DENY_ALL
            self.memory.managed.put(key, policy)
        return policy

    # ------------------------------------------------------------ the sync driver

    def _answer(self, lookup: GuardLookup) -> object:
        """Answer ``lookup`` from a sync store, inline (:class:`Guard`, and :class:`AsyncGuard`
        over a sync store)."""
        source = self.source
        if type(lookup) is GetGeneration:  # asked by every authenticate and every check: first
            return source.generation()
        if isinstance(lookup, ResolvePrincipal):
            return source.resolve_principal(lookup.arn)
        if isinstance(lookup, GetAccessKey):
            return source.get_access_key(lookup.access_key_id)
        if isinstance(lookup, GetManagedPolicy):
            return _read_or_none(getattr(source, "get_policy", None), lookup.arn)
        if isinstance(lookup, GetPolicyVersion):
            return _read_or_none(getattr(source, "get_policy_version", None), lookup.arn, lookup.version_id)
        raise TypeError(f"no store read answers {type(lookup).__name__}")

    def _drive_inline(self, flow: _Flow) -> Any:
        """Answer each lookup of ``flow`` inline from a sync store until it returns."""
        return drive(flow, self._answer)

    def _authenticate_inline(
        self, view: RequestView, meta: RequestMeta, optional: bool
    ) -> Authenticated | None:
        """The authentication flow answered from a sync store, a remembered key's shortcut first.

        When SigV4 is the first authenticator and decides the request without the store (a key
        remembered at the current generation, or a session key), its answer is the flow's
        answer; otherwise the flow runs. Same result, same errors, without generators.
        """
        sigv4 = self._sigv4_first
        if sigv4 is not None:
            started = time.perf_counter()
            proven = sigv4.remembered(view, self.source.generation)
            if proven is not None:
                principal, verified, claims, body = proven
                context = self.context.for_request(view, meta, principal, verified)
                return new_authenticated(
                    principal,
                    "sigv4",
                    verified.access_key_id,
                    verified,
                    claims,
                    body,
                    context,
                    meta.request_id,
                    started,
                )
        found: Authenticated | None = self._drive_inline(self._authenticate_flow(view, meta, optional))
        return found

    def _authenticate_required(self, view: RequestView, meta: RequestMeta) -> Authenticated:
        """:meth:`_authenticate_inline` of a request that must carry credentials."""
        found = self._authenticate_inline(view, meta, False)
        if found is None:  # never: without optional the flow raises instead (fail closed anyway)
            raise self._missing_authentication()
        return found

    def _decide_inline(
        self,
        authenticated: Authenticated,
        action: str,
        resource: str,
        extra: Mapping[str, object] | None,
        resource_policy: Policy | str | Mapping[str, Any] | None,
        resource_account: str | None,
    ) -> tuple[Decision, Request | None, PolicySet | None]:
        """:meth:`_decide` against a sync store, an Allow remembered from an earlier request first.

        The request and policies come back ``None`` only with a remembered Allow. INVARIANT: an
        Allow is remembered only for a caller without session policies, no per-check inputs
        (context, resource policy or account) and a request context that cannot change: one
        built by the guard's :class:`ContextBuilder` (read-only, carrying the clock's second, so
        an entry serves at most one second of requests) or the shared empty one of a principal
        named in code (``acting_as``); it is keyed by the principal and context objects (held by
        the entry, so their ids stay theirs), the action, the resource and the store generation
        read first, every check; and only while the guard's evaluator is the built-in one (a
        custom evaluator may consult more than its inputs). Same inputs, same policies: the
        evaluator's own answer.
        """
        generation = self.source.generation()
        plain = (
            self._remember_allows
            and extra is None
            and resource_policy is None
            and resource_account is None
            and authenticated.claims is None
        )
        if plain:
            principal, context = authenticated.principal, authenticated.context
            # DecisionMemory.allow_for, inlined: the hot path (a Python frame is ~7% of a check).
            entry = self._allowed_get((id(principal), id(context), action, resource, generation))
            if entry is not None and entry[0] is principal and entry[1] is context:
                decision = entry[2]
                if self.audit is not None or self.tracker is not None:
                    self._record(authenticated, decision)
                return decision, None, None
        policy = self._resource_args(resource_policy)
        found = self._memoized_policies(authenticated, generation)
        if found is None:
            found = self._drive_inline(self._policies_flow(authenticated))
        decision, request, policies = self._decide(
            authenticated, action, resource, extra, found, policy, resource_account
        )
        if plain and decision.allowed and (context is EMPTY_CONTEXT or self.context.made(context)):
            self.memory.remember_allow(principal, context, action, resource, generation, decision)
        return decision, request, policies

    def _allowed_or_raise(
        self, authenticated: Authenticated, outcome: tuple[Decision, Request | None, PolicySet | None]
    ) -> Decision:
        """The decision of ``outcome`` (from :meth:`_decide` or :meth:`_decide_inline`); raise
        :class:`EncodedAccessDeniedError` unless it allows."""
        decision, request, policies = outcome
        if not decision.allowed:
            assert request is not None and policies is not None  # denials are never remembered
            raise self._denied(authenticated, decision, request, policies)
        return decision

    # ------------------------------------------------------------ denial, audit

    def _denied(
        self, authenticated: Authenticated, decision: Decision, request: Request, policies: PolicySet
    ) -> EncodedAccessDeniedError:
        encoded = None
        if self.messages is not None:
            message = build_message(
                decision, principal=authenticated.principal, context=request.context, policies=policies
            )
            encoded = self.messages.encode(message)
        return EncodedAccessDeniedError(
            decision, denial_message(authenticated.principal, decision), encoded_message=encoded
        )

    def _record(self, authenticated: Authenticated, decision: Decision) -> None:
        principal = authenticated.principal
        if self.audit is not None:
            source_ip = authenticated.context.get("aws:sourceip")
            self.audit.record(
                AuditEvent.of(
                    decision,
                    principal=principal.arn,
                    request_id=authenticated.request_id,
                    source_ip=source_ip if isinstance(source_ip, str) else None,
                    started=authenticated.started or time.perf_counter(),
                    access_key_id=authenticated.access_key_id,
                    authentication=authenticated.method,
                )
            )
        if self.tracker is not None and decision.allowed:
            entity = store_arn(principal)
            if entity is not None:
                key = authenticated.access_key_id
                self.tracker.note(
                    entity_arn=entity,
                    action=decision.action,
                    region=authenticated.verified.region if authenticated.verified is not None else "",
                    access_key_id=None if key is None or is_session_access_key_id(key) else key,
                    authenticated_entity=principal.arn,
                )

    @staticmethod
    def _resource_args(
        resource_policy: Policy | str | Mapping[str, Any] | None,
    ) -> Policy | None:
        if resource_policy is None or isinstance(resource_policy, Policy):
            return resource_policy
        text = resource_policy if isinstance(resource_policy, str) else json.dumps(resource_policy)
        return parse_policy(text, name="resource-policy", kind=PolicyKind.RESOURCE)


class Guard(_GuardCore):
    """Runs authentication and authorization against a sync :class:`PolicySource`.

    ``sessions`` verifies session tokens (``ASIA…`` keys and, with ``bearer=True``, bearer
    tokens); ``service`` pins the SigV4 scope service and S3-style codes; ``region`` (one or
    several; default ``"us-east-1"``, ``None`` for any) is what the scope's region must be, as an
    AWS endpoint serves its own region only; ``anonymous=True``
    admits unsigned requests as the anonymous principal; ``messages`` encodes authorization
    failure messages; ``audit`` and ``tracker`` receive each decision. ``authenticators``
    replaces the built-in chain (SigV4, then bearer and anonymous when asked for);
    ``evaluator``, ``context`` (or just ``trusted_proxies``) and ``clock`` replace the defaults.
    Every option is keyword-only and spelled out, so a misspelt one fails at once (and in mypy).
    """

    def __init__(
        self,
        source: PolicySource,
        *,
        sessions: SessionTokenService | None = None,
        service: str | None = None,
        region: str | Iterable[str] | None = "us-east-1",
        bearer: bool = False,
        anonymous: bool = False,
        authenticators: Sequence[Authenticator] | None = None,
        evaluator: CachedEvaluator | None = None,
        context: ContextBuilder | None = None,
        trusted_proxies: Iterable[str] = (),
        audit: AuditSink | None = None,
        tracker: AccessTracker | None = None,
        messages: AuthorizationMessageCodec | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            source,
            sessions=sessions,
            service=service,
            region=region,
            bearer=bearer,
            anonymous=anonymous,
            authenticators=authenticators,
            evaluator=evaluator,
            context=context,
            trusted_proxies=trusted_proxies,
            audit=audit,
            tracker=tracker,
            messages=messages,
            clock=clock,
        )

    def authenticate(self, view: RequestView, meta: RequestMeta | None = None) -> Authenticated:
        """Who sent ``view``; raises :class:`~iamguard.errors.AuthenticationError` otherwise."""
        return self._authenticate_required(view, meta or RequestMeta())

    def authenticate_optional(
        self, view: RequestView, meta: RequestMeta | None = None
    ) -> Authenticated | None:
        """Like :meth:`authenticate`, but ``None`` for a request carrying no credentials at all.

        Credentials that are present but wrong still raise (fail closed).
        """
        return self._authenticate_inline(view, meta or RequestMeta(), True)

    def authorize(
        self,
        authenticated: Authenticated,
        action: str,
        resource: str = "*",
        *,
        context: Mapping[str, object] | None = None,
        resource_policy: Policy | str | Mapping[str, Any] | None = None,
        resource_account: str | None = None,
    ) -> Decision:
        """The decision for ``authenticated`` doing ``action`` on ``resource`` (audited)."""
        return self._decide_inline(
            authenticated, action, resource, context, resource_policy, resource_account
        )[0]

    def check(
        self,
        authenticated: Authenticated,
        action: str,
        resource: str = "*",
        *,
        context: Mapping[str, object] | None = None,
        resource_policy: Policy | str | Mapping[str, Any] | None = None,
        resource_account: str | None = None,
    ) -> Decision:
        """Like :meth:`authorize`, but raise :class:`EncodedAccessDeniedError` unless allowed."""
        return self._allowed_or_raise(
            authenticated,
            self._decide_inline(authenticated, action, resource, context, resource_policy, resource_account),
        )


class AsyncGuard(_GuardCore):
    """The async twin of :class:`Guard`: the same flows and the same decisions.

    ``source`` is an :class:`~iamguard.resolve.AsyncPolicySource` (coroutine reads, each
    awaited) or a sync :class:`PolicySource` whose reads are fast (memory, SQLite), answered
    inline by the sync guard's paths. Which of the two is decided here, once
    (:func:`_awaited_store`); a store whose reads are part sync, part async is refused.
    """

    def __init__(
        self,
        source: PolicySource | AsyncPolicySource,
        *,
        sessions: SessionTokenService | None = None,
        service: str | None = None,
        region: str | Iterable[str] | None = "us-east-1",
        bearer: bool = False,
        anonymous: bool = False,
        authenticators: Sequence[Authenticator] | None = None,
        evaluator: CachedEvaluator | None = None,
        context: ContextBuilder | None = None,
        trusted_proxies: Iterable[str] = (),
        audit: AuditSink | None = None,
        tracker: AccessTracker | None = None,
        messages: AuthorizationMessageCodec | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            source,
            sessions=sessions,
            service=service,
            region=region,
            bearer=bearer,
            anonymous=anonymous,
            authenticators=authenticators,
            evaluator=evaluator,
            context=context,
            trusted_proxies=trusted_proxies,
            audit=audit,
            tracker=tracker,
            messages=messages,
            clock=clock,
        )
        awaited = _awaited_store(source)
        #: How lookups are answered by awaiting an async store; ``None`` for a sync store, whose
        #: requests take the inline paths (no coroutine per lookup).
        self._aanswer = None if awaited is None else _AwaitedAnswers(awaited)

    async def authenticate(self, view: RequestView, meta: RequestMeta | None = None) -> Authenticated:
        meta = meta or RequestMeta()
        if self._aanswer is None:
            return self._authenticate_required(view, meta)
        found: Authenticated | None = await adrive(self._authenticate_flow(view, meta, False), self._aanswer)
        if found is None:  # never: without optional the flow raises instead (fail closed anyway)
            raise self._missing_authentication()
        return found

    async def authenticate_optional(
        self, view: RequestView, meta: RequestMeta | None = None
    ) -> Authenticated | None:
        meta = meta or RequestMeta()
        if self._aanswer is None:
            return self._authenticate_inline(view, meta, True)
        found: Authenticated | None = await adrive(self._authenticate_flow(view, meta, True), self._aanswer)
        return found

    async def authorize(
        self,
        authenticated: Authenticated,
        action: str,
        resource: str = "*",
        *,
        context: Mapping[str, object] | None = None,
        resource_policy: Policy | str | Mapping[str, Any] | None = None,
        resource_account: str | None = None,
    ) -> Decision:
        if self._aanswer is None:
            return self._decide_inline(
                authenticated, action, resource, context, resource_policy, resource_account
            )[0]
        outcome = await self._decide_awaited(
            self._aanswer, authenticated, action, resource, context, resource_policy, resource_account
        )
        return outcome[0]

    async def check(
        self,
        authenticated: Authenticated,
        action: str,
        resource: str = "*",
        *,
        context: Mapping[str, object] | None = None,
        resource_policy: Policy | str | Mapping[str, Any] | None = None,
        resource_account: str | None = None,
    ) -> Decision:
        if self._aanswer is None:
            outcome = self._decide_inline(
                authenticated, action, resource, context, resource_policy, resource_account
            )
        else:
            outcome = await self._decide_awaited(
                self._aanswer, authenticated, action, resource, context, resource_policy, resource_account
            )
        return self._allowed_or_raise(authenticated, outcome)

    async def _decide_awaited(
        self,
        answer: _AwaitedAnswers,
        authenticated: Authenticated,
        action: str,
        resource: str,
        extra: Mapping[str, object] | None,
        resource_policy: Policy | str | Mapping[str, Any] | None,
        resource_account: str | None,
    ) -> tuple[Decision, Request, PolicySet]:
        """:meth:`_decide` once the policies are read by awaiting the async store."""
        policy = self._resource_args(resource_policy)
        policies: PolicySet = await adrive(self._policies_flow(authenticated), answer)
        return self._decide(authenticated, action, resource, extra, policies, policy, resource_account)


#: The reads a store must offer; all sync or all async.
_REQUIRED_READS = ("resolve_principal", "get_access_key", "generation")
#: The reads only sessions naming managed policies need: without them such a session is denied.
_OPTIONAL_READS = ("get_policy", "get_policy_version")


def _awaited_store(source: object) -> AsyncPolicySource | None:
    """``source`` when its reads are coroutine functions (an :class:`AsyncPolicySource`),
    ``None`` when they are plain functions (a sync :class:`PolicySource`).

    Raises ``TypeError`` for a store whose reads are part sync, part async: answered either way,
    some lookups would get a coroutine (or a value awaited) in place of the answer.
    """
    kinds = {
        name: inspect.iscoroutinefunction(read)
        for name in _REQUIRED_READS + _OPTIONAL_READS
        if (read := getattr(source, name, None)) is not None
    }
    if len(set(kinds.values())) > 1:
        awaited = sorted(name for name, is_async in kinds.items() if is_async)
        raise TypeError(f"a store's reads must be all sync or all async; only {', '.join(awaited)} are async")
    return cast("AsyncPolicySource", source) if any(kinds.values()) else None


def _read_or_none(read: Callable[..., object] | None, *args: str) -> object:
    """``read(*args)``, or ``None`` when the store lacks the read or it raised (a managed
    policy that cannot be read: the session flow then fails closed)."""
    if read is None:
        return None
    try:
        return read(*args)
    except IAMGuardError:
        return None


async def _aread_or_none(read: Callable[..., Awaitable[object]] | None, *args: str) -> object:
    """The async twin of :func:`_read_or_none`."""
    if read is None:
        return None
    try:
        return await read(*args)
    except IAMGuardError:
        return None


class _AwaitedAnswers:
    """Answers the guard's lookups by awaiting an :class:`AsyncPolicySource` (the async twin
    of :meth:`_GuardCore._answer`)."""

    __slots__ = ("_source",)

    def __init__(self, source: AsyncPolicySource) -> None:
        self._source = source

    async def __call__(self, lookup: GuardLookup) -> object:
        source = self._source
        if type(lookup) is GetGeneration:  # asked by every authenticate and every check: first
            return await source.generation()
        if isinstance(lookup, ResolvePrincipal):
            return await source.resolve_principal(lookup.arn)
        if isinstance(lookup, GetAccessKey):
            return await source.get_access_key(lookup.access_key_id)
        if isinstance(lookup, GetManagedPolicy):
            return await _aread_or_none(getattr(source, "get_policy", None), lookup.arn)
        if isinstance(lookup, GetPolicyVersion):
            read = getattr(source, "get_policy_version", None)
            return await _aread_or_none(read, lookup.arn, lookup.version_id)
        raise TypeError(f"no store read answers {type(lookup).__name__}")
