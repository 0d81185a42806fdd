"""Stage 4 of the request path: what do the policies say about this request?

authenticate → principal → resolve policies → **evaluate** → decide → enforce/audit

AWS's evaluation logic, in order
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):

1. A matching ``Deny`` in any policy (identity, permissions boundary, session, or resource policy
   whose Principal covers the caller) → ``explicitDeny``.
2. Otherwise, with IA = an identity policy allows, B = no boundary or the boundary allows,
   S = no session policies or one allows, RA = the resource policy allows the caller:

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

from iamguard.context import ContextValue
from iamguard.decision import Decision, DecisionKind, MatchedStatement, PolicyRole
from iamguard.evaluate.compile import CompiledPolicy, CompiledStatement, compiled
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.principal_match import PrincipalMatch
from iamguard.policy.model import Policy

__all__ = ["Evaluator", "evaluate"]

_IDENTITY = PolicyRole.IDENTITY
_BOUNDARY = PolicyRole.BOUNDARY
_SESSION = PolicyRole.SESSION
_RESOURCE = PolicyRole.RESOURCE
_NONE = PrincipalMatch.NONE


class _Walk:
    """Per-request scratch state: the lazily built context and what was found so far."""

    __slots__ = ("request", "resource", "_context", "matched", "missing", "errors", "deny", "has_boundary")

    def __init__(self, request: Request, has_boundary: bool) -> None:
        self.request = request
        self.resource = request.resource
        self._context: Mapping[str, ContextValue] | None = None
        self.matched: list[MatchedStatement] = []
        self.missing: set[str] | None = None
        self.errors: list[str] | None = None
        self.deny: str | None = None  # reason of the first explicit deny
        self.has_boundary = has_boundary

    @property
    def context(self) -> Mapping[str, ContextValue]:
        """Principal-derived keys overlaid by the request's own context (built on first need)."""
        context = self._context
        if context is None:
            merged = self.request.principal.context_keys()
            merged.update(self.request.context)
            context = self._context = merged
        return context

    def scan(self, policy: CompiledPolicy, candidates: tuple[CompiledStatement, ...], role: PolicyRole) -> PrincipalMatch:
        """Evaluate the candidate statements; record denies and matches; return the best allow."""
        best = _NONE
        for statement in candidates:
            try:
                grant = self._applies(statement, role)
            except Exception as exc:  # noqa: BLE001 - fail closed on a statement that cannot evaluate
                self._error(policy, statement, exc)
                continue
            if grant is _NONE:
                continue
            self.matched.append(statement.matched(role))
            if statement.is_deny:
                if self.deny is None:
                    self.deny = "explicit deny in " + _where(policy, statement)
            elif grant > best:
                best = grant
        return best

    def _applies(self, statement: CompiledStatement, role: PolicyRole) -> PrincipalMatch:
        body = statement.body
        if body.check_resource and not body.resource_matches(
            self.resource, self.context if body.templates else None
        ):
            return _NONE
        grant = PrincipalMatch.DIRECT
        if role is _RESOURCE:
            grant = self._principal_grant(statement)
            if grant is _NONE:
                return _NONE
        if body.conditions:
            context = self.context
            for key, spelling in body.condition_keys:
                if key not in context:
                    if self.missing is None:
                        self.missing = set()
                    self.missing.add(spelling)
            if not statement.conditions_hold(context):
                return _NONE
        return grant

    def _principal_grant(self, statement: CompiledStatement) -> PrincipalMatch:
        """How the statement's Principal/NotPrincipal covers the caller (resource policies)."""
        body = statement.body
        principal = self.request.principal
        if body.principal is not None:
            return body.principal.match(principal)
        if body.not_principal is not None:
            # "The NotPrincipal element with a Deny effect will always deny any IAM principal
            # that has a permissions boundary policy attached, regardless of the values specified"
            # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
            if statement.is_deny and self.has_boundary:
                return PrincipalMatch.ANY
            return _NONE if body.not_principal.exempts(principal) else PrincipalMatch.ANY
        # A resource policy statement without Principal (PolicyKind.ANY input): covers nobody.
        return _NONE

    def _error(self, policy: CompiledPolicy, statement: CompiledStatement, exc: Exception) -> None:
        where = _where(policy, statement)
        if self.errors is None:
            self.errors = []
        self.errors.append(f"{where}: {type(exc).__name__}: {exc}")
        if statement.is_deny and self.deny is None:
            self.deny = f"deny statement could not be evaluated (fails closed): {where}"


def _where(policy: CompiledPolicy, statement: CompiledStatement) -> str:
    st = statement.statement
    text = f"{policy.policy.name or '<unnamed policy>'} Statement[{st.index}]"
    return f"{text} (Sid {st.sid})" if st.sid else text


class Evaluator:
    """Evaluates a :class:`Request` against a :class:`PolicySet` with AWS's logic.

    Stateless apart from the compiled forms cached on each :class:`Policy`, so one instance can
    be shared by every thread.
    """

    def evaluate(self, request: Request, policies: PolicySet) -> Decision:
        action = request.action.lower()
        boundary = policies.boundary
        walk = _Walk(request, boundary is not None)

        identity_allows = False
        for policy in policies.identity:
            cp = compiled(policy)
            found = cp.candidates(action)
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
            cp = compiled(policies.resource)
            found = cp.candidates(action)
            if found:
                resource_grant = walk.scan(cp, found, _RESOURCE)

        if walk.deny is not None:
            return _decision(walk, DecisionKind.EXPLICIT_DENY, walk.deny)
        principal = request.principal
        cross_account = policies.resource_account is not None and policies.resource_account != principal.account
        capped_identity = identity_allows and boundary_allows and session_allows
        kind, reason = _allow_logic(
            cross_account, identity_allows, boundary_allows, session_allows, capped_identity, resource_grant
        )
        return _decision(walk, kind, reason)

    __call__ = evaluate


def _scan_policy(walk: _Walk, policy: Policy, action: str, role: PolicyRole) -> bool:
    cp = compiled(policy)
    found = cp.candidates(action)
    return bool(found) and walk.scan(cp, found, role) is not _NONE


def _allow_logic(
    cross_account: bool,
    identity: bool,
    boundary: bool,
    session: bool,
    capped_identity: bool,
    resource: PrincipalMatch,
) -> tuple[DecisionKind, str]:
    """Step 2 of the evaluation: combine the allows (no explicit deny was found)."""
    if cross_account:
        if capped_identity and resource is not _NONE:
            return DecisionKind.ALLOWED, "allowed by identity-based and resource-based policies (cross-account)"
        if resource is _NONE:
            return DecisionKind.IMPLICIT_DENY, "cross-account: the resource policy does not allow it"
        return DecisionKind.IMPLICIT_DENY, "cross-account: " + _identity_gap(identity, boundary, session)
    if resource >= PrincipalMatch.ANY:
        return DecisionKind.ALLOWED, "allowed by the resource-based policy, which names the caller"
    if capped_identity:
        return DecisionKind.ALLOWED, "allowed by identity-based policy"
    if resource is PrincipalMatch.ROLE:
        if boundary and session:
            return DecisionKind.ALLOWED, "allowed by the resource-based policy naming the role"
        gap = "no permissions boundary statement" if not boundary else "no session policy"
        return DecisionKind.IMPLICIT_DENY, f"the resource policy names the role, but {gap} allows it"
    return DecisionKind.IMPLICIT_DENY, _identity_gap(identity, boundary, session)


def _identity_gap(identity: bool, boundary: bool, session: bool) -> str:
    if not identity:
        return "no identity-based policy allows it"
    if not boundary:
        return "no permissions boundary statement allows it"
    if not session:
        return "no session policy allows it"
    return "no policy allows it"


def _decision(walk: _Walk, kind: DecisionKind, reason: str) -> Decision:
    request = walk.request
    return Decision(
        kind,
        request.action,
        request.resource,
        tuple(walk.matched),
        tuple(sorted(walk.missing)) if walk.missing else (),
        reason,
        tuple(walk.errors) if walk.errors else (),
    )


#: The default instance behind :func:`evaluate`.
_DEFAULT = Evaluator()


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """Evaluate with the default :class:`Evaluator`."""
    return _DEFAULT.evaluate(request, policies)
