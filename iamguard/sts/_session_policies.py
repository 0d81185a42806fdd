"""Who a caller is and which policies govern it: long-term principals, session policy sets.

Part of ``sts/``, shared by :class:`~iamguard.sts.service.TokenService` (which authorizes callers
that signed with temporary credentials) and by anyone evaluating a session outside the request
path. A session's policies are its role's (or user's, or parent user's) policies and boundary,
capped by the session policies it was given: the inline policy plus managed policy ARNs.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Federated users (GetFederationToken)
------------------------------------
A federated user's permissions are the intersection of the calling IAM user's policies and the
session policies. The token's ``parent_arn`` claim names that user; tokens issued before the
claim existed carried the parent's ARN in ``session_name`` (AWS has no session name for
federated users), which is still read when ``parent_arn`` is missing.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.limits import PolicyLimits
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType

if TYPE_CHECKING:
    from iamguard.authn.session_token import SessionClaims
    from iamguard.store.records import ResolvedPrincipal
    from iamguard.sts._protocols import ManagedPolicySource

__all__ = ["parse_session_policy", "principal_for", "session_policies", "session_policy_set"]


def principal_for(resolved: ResolvedPrincipal, partition: str = "aws") -> Principal:
    """The :class:`Principal` of a stored user or root signing with its long-term access key."""
    tags = MappingProxyType(dict(resolved.tags))
    if resolved.kind == "root":
        return Principal(
            f"arn:{partition}:iam::{resolved.account_id}:root",
            resolved.account_id,
            PrincipalType.ACCOUNT,
            user_id=resolved.account_id,
        )
    if resolved.kind == "user":
        return Principal(
            resolved.arn,
            resolved.account_id,
            PrincipalType.USER,
            user_id=resolved.unique_id,
            name=resolved.name,
            tags=tags,
        )
    raise InvalidParameterError(f"{resolved.arn} is a {resolved.kind}, which has no long-term credentials")


def parse_session_policy(document: str) -> Policy:
    return parse_policy(
        document, name="session-policy", kind=PolicyKind.IDENTITY, limits=PolicyLimits.SESSION
    )


def _managed_policy(store: ManagedPolicySource, arn: str) -> Policy:
    """A managed policy's parsed default version, read through the store's read path."""
    getter = getattr(store, "managed_policy", None)
    if callable(getter):
        found = getter(arn)
        if isinstance(found, Policy):
            return found
    version = getattr(store, "get_policy_version", None)
    policy_meta = getattr(store, "get_policy", None)
    if callable(version) and callable(policy_meta):
        meta = policy_meta(arn)
        document = version(arn, meta.default_version_id).document
        return parse_policy(document, name=arn, kind=PolicyKind.IDENTITY)
    raise NoSuchEntityError(f"managed policy {arn} cannot be read from this store")


def session_policies(claims: SessionClaims, store: ManagedPolicySource) -> tuple[Policy, ...] | None:
    """The session policies a session is capped by (``None``: it was given none, so nothing caps
    it). A federated user's session is always capped: given no policy, its set is empty, which
    allows nothing ("if you do not pass a policy with the GetFederationToken API call, the
    resulting temporary security credentials have no permissions").
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html
    """
    if claims.session_policy is None and not claims.policy_arns:
        return () if claims.federated else None
    found: list[Policy] = []
    if claims.session_policy is not None:
        found.append(parse_session_policy(claims.session_policy))
    found.extend(_managed_policy(store, arn) for arn in claims.policy_arns)
    return tuple(found)


def session_policy_set(claims: SessionClaims, store: ManagedPolicySource) -> PolicySet:
    """Every policy that governs a session: its role's (or user's, or parent user's) policies and
    boundary, capped by its session policies.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    """
    session = session_policies(claims, store)
    if claims.federated:
        governing = claims.federation_parent
    elif claims.role_arn is not None:
        governing = claims.role_arn
    else:
        governing = claims.arn  # GetSessionToken: the user itself
    resolved = store.resolve_principal(governing) if governing else None
    if resolved is None:
        return PolicySet(session=session)
    if claims.federated and resolved.kind == "root":
        # The root user is not limited by IAM policies, so the intersection is the session policies.
        return PolicySet(identity=session or (), session=session, generation=resolved.generation)
    return PolicySet(
        identity=resolved.identity,
        boundary=resolved.boundary,
        session=session,
        generation=resolved.generation,
    )
