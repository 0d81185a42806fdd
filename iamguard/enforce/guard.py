"""Stage 6 driver: runs stages 1–5 for one request — :class:`Guard` (sync) and :class:`AsyncGuard`.

authenticate → principal → resolve policies → evaluate → decide → **enforce**/audit

Written once as generator flows (STYLE.md §5): authentication (each
:class:`~iamguard.authn.authenticators.Authenticator`) and authorization (session policies,
:func:`~iamguard.resolve.resolve_flow`, evaluation) yield store lookups; the two guards differ
only in the ~15-line driver that answers them from a sync or an async store.

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
from dataclasses import dataclass, field, replace
from typing import Any

from cachetools import LRUCache

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
from iamguard.errors import AuthenticationError, IAMGuardError
from iamguard.evaluate.cached import CachedEvaluator
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.resolve import GET_GENERATION, GetGeneration, ResolvePrincipal, resolve_flow, store_arn
from iamguard.store.protocols import PolicySource
from iamguard.sts.auth_message import AuthorizationMessageCodec, build_message

__all__ = ["AsyncGuard", "GetManagedPolicy", "Guard", "RequestState"]


@dataclass(frozen=True, slots=True)
class GetManagedPolicy:
    """Ask the store for the parsed default version of managed policy ``arn`` (``None``: gone)."""

    arn: str


GuardLookup = GetAccessKey | ResolvePrincipal | GetGeneration | GetManagedPolicy
_Flow = Generator[GuardLookup, object, Any]

#: What a session managed policy that cannot be loaded becomes: deny everything (fail closed,
#: since the missing policy might have held a Deny).
_DENY_ALL = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]},
    name="iamguard:missing-session-policy",
    kind=PolicyKind.IDENTITY,
)

#: Canonical PolicySet objects a guard remembers before dropping them all (see _canonical).
_SETS_MAX = 4096

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
                    raise ValueError("bearer authentication needs a SessionTokenService (sessions=...)")
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
        self._remember_allows = type(self.evaluator) is CachedEvaluator and type(self.evaluator.evaluator) is Evaluator
        self.context = context if context is not None else ContextBuilder(trusted_proxies=trusted_proxies, clock=clock)
        self.audit = audit
        self.tracker = tracker
        self.messages = messages
        self._session_texts: LRUCache[str, Policy] = LRUCache(maxsize=1024)
        self._managed: LRUCache[tuple[str, str, str], Policy] = LRUCache(maxsize=1024)
        # Canonical PolicySet objects, so the evaluator's per-set memo hits (see _canonical). A
        # plain dict dropped whole when full: a hit is one dict lookup (no LRU bookkeeping).
        self._sets: dict[tuple[Any, ...], PolicySet] = {}
        # Stored principal ARN -> its PolicySet at the generation it names (see _stored_flow).
        self._resolved: dict[str, PolicySet] = {}
        # Allows already decided (see _decide_inline): (id(principal), id(context), action,
        # resource, generation) -> (principal, context, decision).
        self._allowed: dict[tuple[object, ...], tuple[Principal, Mapping[str, ContextValue], Decision]] = {}

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
        return None if arn is None else self._resolved_at(arn, generation)

    def _resolved_at(self, arn: str, generation: object) -> PolicySet | None:
        """The memoized PolicySet of stored principal ``arn`` if it was resolved at ``generation``."""
        hit = self._resolved.get(arn)
        return hit if hit is not None and hit.generation == generation else None

    def _stored_flow(self, principal: Principal, arn: str) -> Generator[GuardLookup, object, PolicySet]:
        """:func:`resolve_flow` for a stored principal, memoized per store generation.

        INVARIANT: an entry is used only while the store generation is the one its PolicySet
        was resolved at (asked first, every call), so a write (a detached policy, a deleted
        user) applies to the very next request. It holds policies, never a decision.
        """
        generation = yield GET_GENERATION
        hit = self._resolved_at(arn, generation)
        if hit is not None:
            return hit
        policies: PolicySet = yield from resolve_flow(principal)
        if policies.generation == generation:
            resolved = self._resolved
            if len(resolved) >= _SETS_MAX:
                resolved.clear()
            resolved[arn] = policies
        return policies

    def _session_flow(self, principal: Principal, claims: SessionClaims) -> Generator[GuardLookup, object, PolicySet]:
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
        policies = self._canonical(policies, resource_policy, resource_account)
        context: Mapping[str, ContextValue] = authenticated.context
        if extra:
            context = {**context, **make_context(extra)}
        request = _new_request(authenticated.principal, action, resource, context)
        decision = self.evaluator.evaluate(request, policies)
        if self.audit is not None or self.tracker is not None:
            self._record(authenticated, decision)
        return decision, request, policies

    def _session_policies(self, claims: SessionClaims | None) -> Generator[GuardLookup, object, list[Policy] | None]:
        """The session's policies (inline JSON + managed ARNs), ``None`` when none were passed."""
        if claims is None or not _has_session_policies(claims):
            return None
        found: list[Policy] = []
        if claims.session_policy is not None:
            found.append(self._parse_session_text(claims.session_policy))
        for arn in claims.policy_arns:
            policy = yield GetManagedPolicy(arn)
            found.append(policy if isinstance(policy, Policy) else _DENY_ALL)
        return found

    def _parse_session_text(self, text: str) -> Policy:
        policy = self._session_texts.get(text)
        if policy is None:
            try:
                policy = parse_policy(text, name="session-policy", kind=PolicyKind.IDENTITY)
            except IAMGuardError:
                policy = _DENY_ALL  # STS validated it at issue time; a bad one now denies
            self._session_texts[text] = policy
        return policy

    def _canonical(
        self, policies: PolicySet, resource_policy: Policy | None, resource_account: str | None
    ) -> PolicySet:
        """One PolicySet object per distinct content, so the evaluator's memo by identity hits.

        INVARIANT: the key holds the ids of objects the stored PolicySet keeps alive, so an id
        can never be reused by another object while its entry exists.
        """
        key = (
            tuple(map(id, policies.identity)),
            id(policies.boundary),
            None if policies.session is None else tuple(map(id, policies.session)),
            id(resource_policy),
            resource_account,
            policies.generation,
        )
        sets = self._sets
        found = sets.get(key)
        if found is None:
            found = replace(policies, resource=resource_policy, resource_account=resource_account)
            if len(sets) >= _SETS_MAX:
                sets.clear()
            sets[key] = found
        return found

    def _managed_policy(self, arn: str) -> Policy | None:
        """Answer :class:`GetManagedPolicy` from a store with ``get_policy``/``get_policy_version``."""
        get_policy = getattr(self.source, "get_policy", None)
        get_version = getattr(self.source, "get_policy_version", None)
        if get_policy is None or get_version is None:
            return None
        try:
            record = get_policy(arn)
            key = (arn, str(record.policy_id), str(record.default_version_id))
            policy = self._managed.get(key)
            if policy is None:
                document = get_version(arn, record.default_version_id).document
                policy = parse_policy(document, name=arn, kind=PolicyKind.IDENTITY)
                self._managed[key] = policy
            return policy
        except IAMGuardError:
            return None

    # ------------------------------------------------------------ the sync driver

    def _answer(self, lookup: GuardLookup) -> object:
        raise NotImplementedError

    def _drive_inline(self, flow: _Flow) -> Any:
        """Answer each lookup of ``flow`` inline from a sync store until it returns."""
        try:
            lookup = next(flow)
            while True:
                lookup = flow.send(self._answer(lookup))
        except StopIteration as done:
            return done.value

    def _authenticate_inline(self, view: RequestView, meta: RequestMeta, optional: bool) -> Authenticated | None:
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
                    principal, "sigv4", verified.access_key_id, verified, claims, body, context, meta.request_id, started
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
            key = (id(principal), id(context), action, resource, generation)
            entry = self._allowed.get(key)
            if entry is not None and entry[0] is principal and entry[1] is context:
                decision = entry[2]
                if self.audit is not None or self.tracker is not None:
                    self._record(authenticated, decision)
                return decision, None, None
        policy = self._resource_args(resource_policy)
        found = self._memoized_policies(authenticated, generation)
        if found is None:
            found = self._drive_inline(self._policies_flow(authenticated))
        decision, request, policies = self._decide(authenticated, action, resource, extra, found, policy, resource_account)
        if plain and decision.allowed and (context is EMPTY_CONTEXT or self.context.made(context)):
            if len(self._allowed) >= _SETS_MAX:
                self._allowed.clear()
            self._allowed[key] = (principal, context, decision)
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

    def _denied(self, authenticated: Authenticated, decision: Decision, request: Request, policies: PolicySet) -> EncodedAccessDeniedError:
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
    failure messages; ``audit`` and ``tracker`` receive each decision.
    """

    def __init__(self, source: PolicySource, **options: Any) -> None:
        super().__init__(source, **options)

    def authenticate(self, view: RequestView, meta: RequestMeta | None = None) -> Authenticated:
        """Who sent ``view``; raises :class:`~iamguard.errors.AuthenticationError` otherwise."""
        return self._authenticate_required(view, meta or RequestMeta())

    def authenticate_optional(self, view: RequestView, meta: RequestMeta | None = None) -> Authenticated | None:
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
        return self._decide_inline(authenticated, action, resource, context, resource_policy, resource_account)[0]

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
            authenticated, self._decide_inline(authenticated, action, resource, context, resource_policy, resource_account)
        )

    def _answer(self, lookup: GuardLookup) -> object:
        if type(lookup) is GetGeneration:  # asked by every authenticate and every check: first
            return self.source.generation()
        if isinstance(lookup, ResolvePrincipal):
            return self.source.resolve_principal(lookup.arn)
        if isinstance(lookup, GetAccessKey):
            return self.source.get_access_key(lookup.access_key_id)
        if isinstance(lookup, GetManagedPolicy):
            return self._managed_policy(lookup.arn)
        return self.source.generation()


class AsyncGuard(_GuardCore):
    """The async twin of :class:`Guard`: the same flows, answered by awaiting the store.

    ``source`` may be async (coroutine ``resolve_principal``/``get_access_key``/``generation``)
    or a sync :class:`PolicySource` whose reads are fast (memory, SQLite), answered inline.
    """

    def __init__(self, source: Any, **options: Any) -> None:
        super().__init__(source, **options)
        self._async_source = inspect.iscoroutinefunction(getattr(source, "resolve_principal", None))

    async def authenticate(self, view: RequestView, meta: RequestMeta | None = None) -> Authenticated:
        meta = meta or RequestMeta()
        if not self._async_source:
            return self._authenticate_required(view, meta)
        result: Authenticated = await self._drive(self._authenticate_flow(view, meta, False))
        return result

    async def authenticate_optional(
        self, view: RequestView, meta: RequestMeta | None = None
    ) -> Authenticated | None:
        meta = meta or RequestMeta()
        if not self._async_source:
            return self._authenticate_inline(view, meta, True)
        result: Authenticated | None = await self._drive(self._authenticate_flow(view, meta, True))
        return result

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
        if not self._async_source:
            return self._decide_inline(authenticated, action, resource, context, resource_policy, resource_account)[0]
        policy = self._resource_args(resource_policy)
        policies = await self._policies(authenticated)
        return self._decide(authenticated, action, resource, context, policies, policy, resource_account)[0]

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
        if not self._async_source:
            return self._allowed_or_raise(
            authenticated, self._decide_inline(authenticated, action, resource, context, resource_policy, resource_account)
        )
        policy = self._resource_args(resource_policy)
        found = await self._policies(authenticated)
        return self._allowed_or_raise(
            authenticated, self._decide(authenticated, action, resource, context, found, policy, resource_account)
        )

    async def _policies(self, authenticated: Authenticated) -> PolicySet:
        """The PolicySet from an async store (a sync one is answered by ``_decide_inline``)."""
        policies: PolicySet = await self._drive(self._policies_flow(authenticated))
        return policies

    async def _drive(self, flow: _Flow) -> Any:
        """Answer each lookup of ``flow`` by awaiting the store (or inline for a sync store)."""
        try:
            lookup = next(flow)
            while True:
                answer = self._answer(lookup)
                if self._async_source and inspect.isawaitable(answer):
                    answer = await answer
                lookup = flow.send(answer)
        except StopIteration as done:
            return done.value

    def _answer(self, lookup: GuardLookup) -> object | Awaitable[object]:
        answer: object | Awaitable[object]
        if type(lookup) is GetGeneration:  # asked by every authenticate and every check: first
            answer = self.source.generation()
        elif isinstance(lookup, ResolvePrincipal):
            answer = self.source.resolve_principal(lookup.arn)
        elif isinstance(lookup, GetAccessKey):
            answer = self.source.get_access_key(lookup.access_key_id)
        elif isinstance(lookup, GetManagedPolicy):
            answer = self._managed_policy(lookup.arn)
        else:
            answer = self.source.generation()
        return answer
