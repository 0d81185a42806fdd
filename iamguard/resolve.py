"""Stage 3 of the request path: which policies apply to a principal.

authenticate → principal → **resolve policies** → evaluate → decide → enforce/audit

Written once as a generator flow (STYLE.md §5): :func:`resolve_flow` yields a
:class:`Lookup` whenever it needs the store and receives the answer; :func:`run_sync` answers
from a :class:`~iamguard.store.protocols.PolicySource`, :func:`run_async` from an
:class:`AsyncPolicySource`. No I/O happens here.

What applies (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* an IAM user: its inline and attached policies, then each group's inline and attached ones,
  capped by the user's permissions boundary;
* a role session (``assumed-role/Role/Session``): the role's inline and attached policies and
  its boundary, capped further by the session policies passed to AssumeRole, which the
  :class:`~iamguard.principal.Principal` (not the store) carries — pass them as
  ``session_policies``;
* the root user: no identity policies (root is not governed by IAM policies; the engine decides
  what an ``Account`` principal may do);
* an unknown principal, or one whose account the store does not hold: no policies at all, so
  evaluation ends in an implicit deny (fail closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Policy
from iamguard.principal import Principal, PrincipalType
from iamguard.store.protocols import PolicySource
from iamguard.store.records import ResolvedPrincipal

__all__ = [
    "AsyncPolicySource",
    "GET_GENERATION",
    "GetGeneration",
    "Lookup",
    "ResolvePrincipal",
    "resolve_flow",
    "resolve_policy_set",
    "run_async",
    "run_sync",
    "store_arn",
]


@dataclass(frozen=True, slots=True)
class ResolvePrincipal:
    """Ask the store for ``PolicySource.resolve_principal(arn)``."""

    arn: str


@dataclass(frozen=True, slots=True)
class GetGeneration:
    """Ask the store for its current generation."""


#: The one GetGeneration flows yield (it has no fields: every request asks it, none builds it).
GET_GENERATION = GetGeneration()

Lookup = ResolvePrincipal | GetGeneration
ResolveFlow = Generator[Lookup, object, PolicySet]


class AsyncPolicySource(Protocol):
    """The async twin of :class:`~iamguard.store.protocols.PolicySource` (read side)."""

    async def resolve_principal(self, arn: str) -> ResolvedPrincipal | None: ...

    async def generation(self) -> int: ...


def store_arn(principal: Principal) -> str | None:
    """The ARN of the stored entity whose policies govern ``principal``, or ``None``.

    A role session is governed by its role: ``arn:aws:sts::A:assumed-role/R/S`` → ``role_arn``
    (``arn:aws:iam::A:role/R``). Federated users carry only session policies here.
    """
    if principal.type is PrincipalType.ASSUMED_ROLE:
        return principal.role_arn
    if principal.type in (PrincipalType.USER, PrincipalType.ACCOUNT):
        return principal.arn
    return None


def resolve_flow(
    principal: Principal,
    *,
    session_policies: Sequence[Policy] | None = None,
    federation_parent: str | None = None,
) -> ResolveFlow:
    """The :class:`PolicySet` for ``principal``, asking the store through yielded lookups.

    ``session_policies`` (from the principal's session, ``None`` when none were passed) are
    kept as given: a session with policies is capped by them, one without is not.
    ``federation_parent`` is a federated user's parent (from its session token): its policies
    govern the session, intersected with the session policies (GetFederationToken).
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
    """
    session = None if session_policies is None else tuple(session_policies)
    arn = federation_parent if principal.type is PrincipalType.FEDERATED_USER else store_arn(principal)
    if arn is None:
        generation = yield GET_GENERATION
        return PolicySet(session=session, generation=_int(generation))
    answer = yield ResolvePrincipal(arn)
    if answer is None:
        generation = yield GET_GENERATION
        return PolicySet(session=session, generation=_int(generation))
    if not isinstance(answer, ResolvedPrincipal):
        raise TypeError(f"ResolvePrincipal answered with {type(answer).__name__}")
    if principal.type is PrincipalType.FEDERATED_USER and answer.kind == "root":
        # The root user is not limited by IAM policies: the session policies alone decide.
        return PolicySet(identity=session or (), session=session, generation=answer.generation)
    return PolicySet(
        identity=answer.identity,
        boundary=answer.boundary,
        session=session,
        generation=answer.generation,
    )


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"GetGeneration answered with {type(value).__name__}")
    return value


def run_sync(flow: ResolveFlow, source: PolicySource) -> PolicySet:
    """Drive ``flow`` to completion, answering each lookup from ``source``."""
    try:
        lookup = next(flow)
        while True:
            answer: object = (
                source.resolve_principal(lookup.arn)
                if isinstance(lookup, ResolvePrincipal)
                else source.generation()
            )
            lookup = flow.send(answer)
    except StopIteration as done:
        result: PolicySet = done.value
        return result


async def run_async(flow: ResolveFlow, source: AsyncPolicySource) -> PolicySet:
    """The async twin of :func:`run_sync`."""
    try:
        lookup = next(flow)
        while True:
            pending: Awaitable[object] = (
                source.resolve_principal(lookup.arn)
                if isinstance(lookup, ResolvePrincipal)
                else source.generation()
            )
            lookup = flow.send(await pending)
    except StopIteration as done:
        result: PolicySet = done.value
        return result


def resolve_policy_set(
    principal: Principal, source: PolicySource, *, session_policies: Sequence[Policy] | None = None
) -> PolicySet:
    """Everything that applies to ``principal`` except a resource policy (stage 4 adds that)."""
    return run_sync(resolve_flow(principal, session_policies=session_policies), source)
