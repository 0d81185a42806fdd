"""Stage 4 of the request path: what do the policies say about this request?

authenticate → principal → resolve policies → **evaluate** → decide → enforce/audit

AWS's evaluation logic, in order
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):

1. A matching ``Deny`` in any policy (identity, permissions boundary, session, or resource policy
   whose Principal covers the caller) → ``explicitDeny``.
2. Otherwise, with IA = an identity policy allows, B = no boundary or the boundary allows,
   S = no session policies or one allows, RA = the resource policy allows the caller:

   * the account root user has IA without any Allow: "all requests are implicitly denied with
     the exception of the AWS account root user, which has full access" (deny-allow page);
   * an anonymous caller (unsigned) is never cross-account: a resource policy whose Allow names
     ``"*"`` grants it, as it grants everyone (principal element page, "anonymous");
   * a session given an empty session policy set (GetFederationToken without a policy) has
     no S: "if you do not pass a policy ... the resulting temporary security credentials have no
     permissions", though a resource policy naming the session itself still grants.
     https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html

   * same account: allowed when IA and B and S; or when the resource policy's Allow names the
     caller itself (user, role-session or federated-user ARN, or ``*``), uncapped; or names the
     session's role ARN, capped by B and S. Naming the account only delegates to IAM.
     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
     https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
     https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
   * cross-account: allowed only when IA and B and S and RA.
     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
3. Otherwise ``implicitDeny``.

A statement that raises while being evaluated is recorded in ``Decision.errors`` and fails
closed: an erroring Allow does not allow, an erroring Deny denies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from iamguard.context import ContextValue
from iamguard.decision import (
    Decision,
    DecisionKind,
    Explanation,
    MatchedStatement,
    PolicyRole,
    explained_later,
    explained_now,
)
from iamguard.evaluate.compile import CompiledPolicy, CompiledStatement, _StatementBody, compiled
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.policy_set import Side, compiled_set, first_applying
from iamguard.evaluate.principal_match import PrincipalMatch
from iamguard.policy.model import Policy
from iamguard.principal import Principal, PrincipalType

__all__ = ["Evaluator", "evaluate", "principal_context_keys"]

_IDENTITY = PolicyRole.IDENTITY
_BOUNDARY = PolicyRole.BOUNDARY
_SESSION = PolicyRole.SESSION
_RESOURCE = PolicyRole.RESOURCE
# Enum members as module constants: reading ``PrincipalMatch.ANY`` goes through the enum's
# descriptor machinery (about 0.1 µs on Python 3.11), a global read does not.
_NONE = PrincipalMatch.NONE
_ROLE = PrincipalMatch.ROLE
_ANY = PrincipalMatch.ANY
_DIRECT = PrincipalMatch.DIRECT
_ALLOWED = DecisionKind.ALLOWED
_EXPLICIT_DENY = DecisionKind.EXPLICIT_DENY
_IMPLICIT_DENY = DecisionKind.IMPLICIT_DENY
_ROOT = PrincipalType.ACCOUNT
_ANONYMOUS = PrincipalType.ANONYMOUS

#: The reason of an implicit deny for a session given an empty session policy set (a federated
#: user from GetFederationToken without any policy): the evaluation logic denies it, no statement.
_NO_SESSION_POLICY = "implicit deny: the session was given no session policy, so nothing is allowed"


def principal_context_keys(principal: Principal) -> dict[str, ContextValue]:
    """``principal.context_keys()``, built once per Principal object and kept on it
    (:meth:`~iamguard.principal.Principal.derived_context`). INVARIANT: callers never mutate it."""
    found = principal._derived
    return found if found is not None else principal.derived_context()


class _Walk:
    """Per-request scratch state: the lazily built context and what was found so far.

    Slotted (no per-request ``__dict__``). ``matched`` grows by tuple concatenation: it holds a
    handful of entries at most, and the Decision takes the tuple as it is.
    """

    __slots__ = ("_context", "deny", "errors", "has_boundary", "matched", "missing", "request")

    def __init__(self, request: Request, has_boundary: bool) -> None:
        self.request = request
        self.has_boundary = has_boundary
        self._context: Mapping[str, ContextValue] | None = None
        self.matched: tuple[MatchedStatement, ...] = ()
        self.missing: set[str] | None = None
        self.errors: list[str] | None = None
        self.deny: str | None = None  # reason of the first explicit deny

    @property
    def context(self) -> Mapping[str, ContextValue]:
        """Principal-derived keys overlaid by the request's own context (built on first need)."""
        context = self._context
        if context is None:
            derived = principal_context_keys(self.request.principal)
            extra = self.request.context
            context = self._context = {**derived, **extra} if extra else derived
        return context

    def scan(
        self, policy: CompiledPolicy, candidates: tuple[CompiledStatement, ...], role: PolicyRole
    ) -> PrincipalMatch:
        """Evaluate the candidate statements; record denies and matches; return the best allow."""
        best = _NONE
        resource = self.request.resource
        for statement in candidates:
            try:
                body = statement._body or statement.body
                if body.templates:
                    if not body.resource_matches(resource, self._context or self.context):
                        continue
                else:
                    test = body.resource_test
                    if test is not None and not test(resource):
                        continue
                conditions_hold = body.conditions_hold
                if conditions_hold is not None:
                    # ``self._context or``: once built, skip the property call (an empty built
                    # context just goes through the property again, which returns it).
                    context = self._context or self.context
                    if not context.keys() >= body.condition_key_set:
                        self._note_missing(body, context)
                grant = _DIRECT
                if role is _RESOURCE:
                    grant = self._principal_grant(statement, body)
                    if grant is _NONE:
                        continue
                # INVARIANT: ``context`` was bound above whenever ``conditions_hold`` is set.
                if conditions_hold is not None and not conditions_hold(context):
                    continue
            except Exception as exc:
                self._error(policy, statement, exc)
                continue
            self.matched += (statement.matched(role),)
            if statement.is_deny:
                if self.deny is None:
                    self.deny = statement._deny_reason or _explicit_deny_reason(policy, statement)
            elif grant > best:
                best = grant
        return best

    def _note_missing(self, body: _StatementBody, context: Mapping[str, ContextValue]) -> None:
        """Record the condition keys of a statement whose action and resource matched that the
        context lacks (the simulator's ``MissingContextValues``), as the policy spells them.

        Called only when some key is absent (a C-level set comparison decides that first).
        """
        for key, spelling in body.condition_keys:
            if key not in context:
                if self.missing is None:
                    self.missing = set()
                self.missing.add(spelling)

    def _principal_grant(self, statement: CompiledStatement, body: _StatementBody) -> PrincipalMatch:
        """How the statement's Principal/NotPrincipal covers the caller (resource policies)."""
        principal = self.request.principal
        if body.principal is not None:
            return body.principal.match(principal)
        if body.not_principal is not None:
            # "The NotPrincipal element with a Deny effect will always deny any IAM principal
            # that has a permissions boundary policy attached, regardless of the values specified"
            # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
            if statement.is_deny and self.has_boundary:
                return _ANY
            return _NONE if body.not_principal.exempts(principal) else _ANY
        # A resource policy statement without Principal (PolicyKind.ANY input): covers nobody.
        return _NONE

    def _error(self, policy: CompiledPolicy, statement: CompiledStatement, exc: Exception) -> None:
        where = _where(policy, statement)
        if self.errors is None:
            self.errors = []
        self.errors.append(f"{where}: {type(exc).__name__}: {exc}")
        if statement.is_deny and self.deny is None:
            self.deny = f"deny statement could not be evaluated (fails closed): {where}"


def _explicit_deny_reason(policy: CompiledPolicy, statement: CompiledStatement) -> str:
    """The Decision reason for a matching Deny, built once per statement (it never changes)."""
    reason = statement._deny_reason = "explicit deny in " + _where(policy, statement)
    return reason


def _where(policy: CompiledPolicy, statement: CompiledStatement) -> str:
    st = statement.statement
    text = f"{policy.policy.name or '<unnamed policy>'} Statement[{st.index}]"
    return f"{text} (Sid {st.sid})" if st.sid else text


class Evaluator:
    """Evaluates a :class:`Request` against a :class:`PolicySet` with AWS's logic.

    Stateless apart from the compiled forms attached to each :class:`Policy` and
    :class:`PolicySet` (the latter holding the action index across identity policies; both
    derived from immutable values, so never stale), so one instance can be shared by every
    thread.

    The verdict comes first and the explanation later (issue 12): without a resource policy the
    verdict is found by :func:`_verdict`, which stops at the first matching Deny or Allow and
    notes nothing, and the decision's explanation is built by the full walk only when read. With
    a resource policy (principal matching, role grants) the full walk decides and explains at once.
    """

    def evaluate(self, request: Request, policies: PolicySet) -> Decision:
        if policies.resource is None:
            try:
                kind = _verdict(request, policies)
            except Exception:  # a statement that fails is the full walk's to record (fail closed)
                kind = None
            if kind is not None:
                return explained_later(kind, request.action, request.resource, _explain, request, policies)
        kind, explanation = _walk(request, policies)
        return explained_now(kind, request.action, request.resource, explanation)

    __call__ = evaluate


def _explain(request: Request, policies: PolicySet) -> Explanation:
    """The explanation of a decision made by :func:`_verdict` (the full walk, run when read)."""
    return _walk(request, policies)[1]


def _context_of(request: Request) -> Mapping[str, ContextValue]:
    """Principal-derived keys overlaid by the request's own context (as ``_Walk.context``)."""
    derived = principal_context_keys(request.principal)
    extra = request.context
    return {**derived, **extra} if extra else derived


def _verdict(request: Request, policies: PolicySet) -> DecisionKind | None:
    """The decision's kind without its explanation, for a set without a resource policy.

    The same logic as :func:`_walk` (a property test holds them equal), minus what only the
    explanation needs: the Denies are asked first and the first that applies ends it, then the
    Allows until one applies, each side fused (see :class:`~iamguard.evaluate.policy_set.Side`);
    no matched statement, missing key or reason is noted. Anything raised is left to the
    caller, which lets the full walk record it.
    """
    plan = (policies._compiled or compiled_set(policies)).plans.get(request.action)
    if plan is None:
        plan = compiled_set(policies).plan(request.action)
    deny, allow, keys = plan
    resource = request.resource
    context = None
    if keys is not None:
        # The request's own context when it holds every key the statements read: its values
        # win over the principal's anyway, so the merged copy would answer alike.
        context = request.context
        if not context.keys() >= keys:
            context = _context_of(request)
    if deny is not None:
        # Side.applies inlined: this runs once per decision.
        if deny.always:
            return _EXPLICIT_DENY
        prefixes = deny.prefixes
        if prefixes is not None and resource.startswith(prefixes):
            return _EXPLICIT_DENY
        exact = deny.exact
        if exact is not None and resource in exact:
            return _EXPLICIT_DENY
        if deny.rest and first_applying(deny.rest, resource, context):
            return _EXPLICIT_DENY
    if policies.boundary is not None or policies.session is not None:
        # The merged context: the boundary's and session policies' statements may read keys
        # the identity statements do not (built there on first need when these read none).
        merged = None if context is None else _context_of(request)
        return _capped_verdict(request, policies, request.action.lower(), allow, merged)
    principal = request.principal
    if policies.resource_account is not None and _cross_account(policies, principal):
        return _IMPLICIT_DENY  # no resource policy grants it
    if principal.type is _ROOT:
        return _ALLOWED
    if allow is None:
        return _IMPLICIT_DENY
    if allow.always:
        return _ALLOWED
    prefixes = allow.prefixes
    if prefixes is not None and resource.startswith(prefixes):
        return _ALLOWED
    exact = allow.exact
    if exact is not None and resource in exact:
        return _ALLOWED
    if allow.rest and first_applying(allow.rest, resource, context):
        return _ALLOWED
    return _IMPLICIT_DENY


def _cross_account(policies: PolicySet, principal: Principal) -> bool:
    """Whether the resource lives in another account than the caller's (anonymous is never
    cross-account: it has no account to be cross from)."""
    return policies.resource_account != principal.account and principal.type is not _ANONYMOUS


def _capped_verdict(
    request: Request,
    policies: PolicySet,
    action: str,
    allow: Side | None,
    context: Mapping[str, ContextValue] | None,
) -> DecisionKind:
    """:func:`_verdict` for a set with a permissions boundary or session policies (its identity
    denies already tried): every Deny of those first, then the allows of each part."""
    capping: list[tuple[Policy, ...]] = []
    if policies.boundary is not None:
        capping.append((policies.boundary,))
    if policies.session is not None:
        capping.append(policies.session)
    resource = request.resource
    parts: list[list[list[_StatementBody]]] = []  # per part, per policy: its Allow bodies
    for part in capping:
        per_policy: list[list[_StatementBody]] = []
        for policy in part:
            bodies: list[_StatementBody] = []
            for statement in _candidates(policy._compiled or compiled(policy), action):
                body = statement._body or statement.body
                if context is None and body.needs_context:
                    context = _context_of(request)
                if not statement.is_deny:
                    bodies.append(body)
                elif first_applying((body,), resource, context):
                    return _EXPLICIT_DENY
            per_policy.append(bodies)
        parts.append(per_policy)
    principal = request.principal
    if policies.resource_account is not None and _cross_account(policies, principal):
        return _IMPLICIT_DENY
    if principal.type is not _ROOT and (allow is None or not allow.applies(resource, context)):
        return _IMPLICIT_DENY
    for per_policy in parts:  # the boundary, then the session policies: each part must allow
        if not any(first_applying(bodies, resource, context) for bodies in per_policy):
            return _IMPLICIT_DENY
    return _ALLOWED


def _walk(request: Request, policies: PolicySet) -> tuple[DecisionKind, Explanation]:
    """The full evaluation: the decision's kind and its explanation, every statement noted."""
    action = request.action.lower()
    boundary = policies.boundary
    walk = _Walk(request, boundary is not None)

    identity_allows = False
    for policy in policies.identity:
        cp = policy._compiled or compiled(policy)
        found = _candidates(cp, action)
        if found and walk.scan(cp, found, _IDENTITY) is not _NONE:
            identity_allows = True

    boundary_allows = True
    if boundary is not None:
        boundary_allows = _scan_policy(walk, boundary, action, _BOUNDARY)

    session_allows = True
    if policies.session is not None:
        session_allows = False
        for policy in policies.session:
            if _scan_policy(walk, policy, action, _SESSION):
                session_allows = True

    resource_grant = _NONE
    if policies.resource is not None:
        cp = policies.resource._compiled or compiled(policies.resource)
        found = _candidates(cp, action)
        if found:
            resource_grant = walk.scan(cp, found, _RESOURCE)

    if walk.deny is not None:
        return _EXPLICIT_DENY, _explanation(walk, walk.deny)
    principal = request.principal
    kind_of_caller = principal.type
    if kind_of_caller is _ROOT:
        # The root user needs no Allow in its own account (and, calling another account,
        # brings its own account's consent: only the resource policy's grant is missing).
        identity_allows = True
    cross_account = (
        policies.resource_account is not None
        and policies.resource_account != principal.account
        and kind_of_caller is not _ANONYMOUS  # anonymous has no account to be cross from
    )
    kind, reason = _allow_logic(
        _Grants(cross_account, identity_allows, boundary_allows, session_allows, resource_grant)
    )
    if kind is _IMPLICIT_DENY and policies.session == ():
        reason = _NO_SESSION_POLICY if resource_grant is _NONE else reason
    elif kind is _ALLOWED and kind_of_caller is _ROOT and not cross_account and not resource_grant >= _ANY:
        reason = "allowed: the account root user has full access in its own account"
    return kind, _explanation(walk, reason)


def _scan_policy(walk: _Walk, policy: Policy, action: str, role: PolicyRole) -> bool:
    cp = policy._compiled or compiled(policy)
    found = _candidates(cp, action)
    return bool(found) and walk.scan(cp, found, role) is not _NONE


def _candidates(cp: CompiledPolicy, action: str) -> tuple[CompiledStatement, ...]:
    """``cp.candidates(action)``, read straight from its memo when there (an empty tuple is a
    remembered answer too, hence the identity test rather than truthiness)."""
    found = cp._memo.get(action)
    return cp.candidates(action) if found is None else found


class _Grants(NamedTuple):
    """What each part of the evaluation granted: step 2's inputs, named (not five bools
    passed by position)."""

    cross_account: bool
    identity: bool  # an identity-based policy allows (always, for the account root user)
    boundary: bool  # no permissions boundary, or it allows
    session: bool  # no session policies, or one allows
    resource: PrincipalMatch  # how the resource policy's Allow names the caller

    @property
    def capped_identity(self) -> bool:
        """The identity policies' Allow, capped by the boundary and the session policies."""
        return self.identity and self.boundary and self.session


def _allow_logic(grants: _Grants) -> tuple[DecisionKind, str]:
    """Step 2 of the evaluation: combine the allows (no explicit deny was found)."""
    resource = grants.resource
    if grants.cross_account:
        if grants.capped_identity and resource is not _NONE:
            return (
                _ALLOWED,
                "allowed by identity-based and resource-based policies (cross-account)",
            )
        if resource is _NONE:
            return _IMPLICIT_DENY, "cross-account: the resource policy does not allow it"
        return _IMPLICIT_DENY, "cross-account: " + _identity_gap(grants)
    if resource >= _ANY:
        return _ALLOWED, "allowed by the resource-based policy, which names the caller"
    if grants.capped_identity:
        return _ALLOWED, "allowed by identity-based policy"
    if resource is _ROLE:
        if grants.boundary and grants.session:
            return _ALLOWED, "allowed by the resource-based policy naming the role"
        gap = "no permissions boundary statement" if not grants.boundary else "no session policy"
        return _IMPLICIT_DENY, f"the resource policy names the role, but {gap} allows it"
    return _IMPLICIT_DENY, _identity_gap(grants)


def _identity_gap(grants: _Grants) -> str:
    if not grants.identity:
        return "no identity-based policy allows it"
    if not grants.boundary:
        return "no permissions boundary statement allows it"
    if not grants.session:
        return "no session policy allows it"
    return "no policy allows it"


def _explanation(walk: _Walk, reason: str) -> Explanation:
    return Explanation(
        walk.matched,
        tuple(sorted(walk.missing)) if walk.missing else (),
        reason,
        tuple(walk.errors) if walk.errors else (),
    )


#: The default instance behind :func:`evaluate`.
_DEFAULT = Evaluator()


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """Evaluate with the default :class:`Evaluator`."""
    return _DEFAULT.evaluate(request, policies)
