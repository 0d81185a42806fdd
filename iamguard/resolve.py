"""Stage 3 of the request path: which policies apply to a principal.

authenticate → principal → **resolve policies** → evaluate → decide → enforce/audit

Written once as a generator flow (STYLE.md §5): :func:`resolve_flow` yields a
:class:`Lookup` whenever it needs the store and receives the answer; :func:`run_sync` answers
from a :class:`~iamguard.store.protocols.PolicySource`, :func:`run_async` from an
:class:`AsyncPolicySource`, both through the package's one driver pair
(:func:`iamguard._flow.drive` / :func:`~iamguard._flow.adrive`). No I/O happens here.

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
from typing import TYPE_CHECKING, Protocol

from iamguard._flow import adrive, drive
from iamguard.evaluate.inputs import PolicySet
from iamguard.lookups import GET_GENERATION, GetGeneration, ResolvedPrincipal, ResolvePrincipal
from iamguard.policy.model import Policy
from iamguard.principal import Principal, PrincipalType
from iamguard.store.protocols import PolicySource

if TYPE_CHECKING:
    from iamguard.lookups import AccessKey
    from iamguard.store.records import ManagedPolicy, PolicyVersion

__all__ = [
    "GET_GENERATION",
    "AsyncPolicySource",
    "GetGeneration",
    "Lookup",
    "ResolvePrincipal",
    "resolve_flow",
    "resolve_policy_set",
    "run_async",
    "run_sync",
    "store_arn",
]


Lookup = ResolvePrincipal | GetGeneration
ResolveFlow = Generator[Lookup, object, PolicySet]


class AsyncPolicySource(Protocol):
    """The async twin of :class:`~iamguard.store.protocols.PolicySource`: every read the
    request path makes (:class:`~iamguard.enforce.guard.AsyncGuard` awaits each of them).

    ``get_policy``/``get_policy_version`` load the managed policies a session names
    (``PolicyArns``); they raise :class:`~iamguard.errors.NoSuchEntityError` for one that is gone
    (the session is then denied everything, fail closed).
    """

    async def resolve_principal(self, arn: str) -> ResolvedPrincipal | None:
        """The stored user/role/root named by ``arn`` with its policies parsed, or ``None``."""
        ...

    async def get_access_key(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """The key's metadata and its plaintext secret, or ``None``."""
        ...

    async def generation(self) -> int:
        """A number that increases with every committed write; a cache key component."""
        ...

    async def get_policy(self, arn: str) -> ManagedPolicy:
        """Managed policy ``arn``'s metadata (its ``default_version_id``)."""
        ...

    async def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        """One version of managed policy ``arn`` (its ``document``)."""
        ...


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

    def answer(lookup: Lookup) -> object:
        if isinstance(lookup, ResolvePrincipal):
            return source.resolve_principal(lookup.arn)
        return source.generation()

    return drive(flow, answer)


async def run_async(flow: ResolveFlow, source: AsyncPolicySource) -> PolicySet:
    """The async twin of :func:`run_sync`."""

    def answer(lookup: Lookup) -> Awaitable[object]:
        if isinstance(lookup, ResolvePrincipal):
            return source.resolve_principal(lookup.arn)
        return source.generation()

    return await adrive(flow, answer)


def resolve_policy_set(
    principal: Principal, source: PolicySource, *, session_policies: Sequence[Policy] | None = None
) -> PolicySet:
    """Everything that applies to ``principal`` except a resource policy (stage 4 adds that)."""
    return run_sync(resolve_flow(principal, session_policies=session_policies), source)
