"""The Security Token Service's seven operations, as plain method calls (sans-I/O apart from the store).

Part of ``sts/``. :class:`TokenService` decides and issues; :mod:`iamguard.sts.query_api` turns
HTTP form bodies into these calls and results into XML; :mod:`iamguard.sts.wsgi` /
:mod:`iamguard.sts.asgi` authenticate the caller. Each method takes the caller's
:class:`~iamguard.principal.Principal` (``None`` for the unsigned federation calls), the
caller's :class:`~iamguard.authn.session_token.SessionClaims` when it signed with temporary
credentials, and AWS's parameters in snake case; it returns a frozen result or raises
:class:`~iamguard.errors.STSError` with the code AWS returns.
https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html

Authorization runs through iamguard's own engine, as AWS evaluates it:

* **AssumeRole** needs the role's trust policy (a resource policy whose resource account is the
  role's) to allow the caller *and* the usual identity side: in one account a trust policy
  naming the caller itself suffices, naming the account delegates to the caller's identity
  policies; across accounts both must allow. Extra actions are checked the same way:
  ``sts:TagSession`` when tags are passed, ``sts:SetSourceIdentity`` when a source identity is
  set or carried on. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_assumerole.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required
* **AssumeRoleWithWebIdentity** / **AssumeRoleWithSAML**: the identity provider's verified
  claims stand for the caller; only the trust policy decides (with the provider's condition keys).
* **DecodeAuthorizationMessage** needs ``sts:DecodeAuthorizationMessage`` from identity policies;
  **GetCallerIdentity** needs nothing.

Packed policy size
------------------
AWS packs the session policy, the managed policy ARNs and the session tags into one binary blob
with an undocumented limit and reports its use as ``PackedPolicySize`` (a percentage). iamguard's
packing is explicit: ``zlib.compress(level 9)`` of the compact JSON
``[policy, [arns...], [[key, value]...]]``; its size against :data:`PACKED_POLICY_BUDGET`
(2048 bytes, the plaintext limit of one session policy) is the percentage, rounded up. Above 100
the call fails with ``PackedPolicyTooLarge``. A 2048-character policy of real statements packs
to well under the budget; 50 long, incompressible tags do not.

Federated users (GetFederationToken)
------------------------------------
A federated user's permissions are the intersection of the calling IAM user's policies and the
session policies. The session token has no dedicated claim for the parent user, so iamguard
records the parent's ARN in the token's ``session_name`` claim for federated sessions (AWS has
no session name for them); :func:`session_policy_set` reads it back, resolves the parent's
policies and caps them with the session policies.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from iamguard.authn.session_token import IssuedCredentials, SessionClaims, SessionTokenService
from iamguard.context import ContextValue
from iamguard.decision import Decision, DecisionKind, PolicyRole
from iamguard.errors import IAMGuardError, NoSuchEntityError, PolicyError, STSError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.limits import PolicyLimits
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.store.records import ManagedPolicy, MfaDevice, ResolvedPrincipal, Role
from iamguard.sts.oidc import OidcProvider, WebIdentityClaims
from iamguard.sts.oidc import condition_keys as oidc_condition_keys

if TYPE_CHECKING:
    from iamguard.sts.saml import SamlAssertion

__all__ = [
    "PACKED_POLICY_BUDGET",
    "AssumeRoleResult",
    "AssumeRoleWithSAMLResult",
    "AssumeRoleWithWebIdentityResult",
    "CallerIdentity",
    "DecodedAuthorizationMessage",
    "FederationTokenResult",
    "SessionTokenResult",
    "StsStore",
    "Tag",
    "TokenService",
    "principal_for",
    "session_policy_set",
]

#: Bytes of compressed session policy + ARNs + tags that make 100 % of ``PackedPolicySize``.
PACKED_POLICY_BUDGET = 2048

# Parameter limits from botocore's sts/2011-06-15/service-2.json shapes and the API reference.
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_FEDERATED_NAME = re.compile(r"[\w+=,.@-]{2,32}", re.ASCII)
_SERIAL = re.compile(r"[\w+=/:,.@-]{9,256}", re.ASCII)
_TOKEN_CODE = re.compile(r"\d{6}", re.ASCII)
_TAG_KEY = re.compile(r"[\w\s.:/=+\-@]{1,128}")
_TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]{0,256}")
_POLICY_CHARS = re.compile(r"[\t\n\r\u0020-\u00ff]+")
_MAX_SESSION_POLICY_CHARS = 2048
_MAX_POLICY_ARNS = 10
_MAX_TAGS = 50
_ROLE_RANGE = (900, 43200)
_CHAINED_MAX = 3600
_SESSION_TOKEN_RANGE = (900, 129600)
_ROOT_SESSION_MAX = 3600
_DEFAULT_ROLE_DURATION = 3600
_DEFAULT_TOKEN_DURATION = 43200


# ---------------------------------------------------------------------- store seam


class StsStore(Protocol):
    """What the token service reads from an account's identity store (IdentityService conforms)."""

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None: ...

    def get_role(self, name: str) -> Role: ...

    def get_policy(self, arn: str) -> ManagedPolicy: ...

    def list_mfa_devices(self, user_name: str | None = None, *, root: bool = False) -> list[MfaDevice]: ...

    def verify_mfa_code(self, user_name: str | None, code: str) -> bool: ...


class WebIdentityVerifier(Protocol):
    """Verifies an OIDC ID token for a provider (:class:`~iamguard.sts.oidc.OidcVerifier` conforms)."""

    def verify(self, token: str, provider: OidcProvider) -> WebIdentityClaims: ...


class SamlResponseVerifier(Protocol):
    """Verifies a base64 SAML response (:class:`~iamguard.sts.saml.SamlVerifier` conforms)."""

    def verify(self, saml_response_b64: str, provider_arn: str, role_arn: str) -> SamlAssertion: ...


class MessageCodec(Protocol):
    """Seals and opens authorization messages (:class:`~iamguard.sts.auth_message.AuthorizationMessageCodec`)."""

    def encode(self, message: Mapping[str, Any]) -> str: ...

    def decode(self, text: str) -> dict[str, Any]: ...


class _ManagedPolicySource(Protocol):
    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None: ...


# ---------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Tag:
    """One session tag (``Tags.member.N.Key`` / ``.Value``)."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class AssumeRoleResult:
    """``AssumeRoleResult``: credentials, the assumed-role user, packed size, source identity."""

    credentials: IssuedCredentials
    assumed_role_id: str
    arn: str
    packed_policy_size: int
    source_identity: str | None
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class AssumeRoleWithWebIdentityResult:
    credentials: IssuedCredentials
    assumed_role_id: str
    arn: str
    packed_policy_size: int
    subject_from_web_identity_token: str
    provider: str
    audience: str
    source_identity: str | None
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class AssumeRoleWithSAMLResult:
    credentials: IssuedCredentials
    assumed_role_id: str
    arn: str
    packed_policy_size: int
    subject: str
    subject_type: str
    issuer: str
    audience: str
    name_qualifier: str
    source_identity: str | None
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class SessionTokenResult:
    credentials: IssuedCredentials
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class FederationTokenResult:
    credentials: IssuedCredentials
    federated_user_id: str
    arn: str
    packed_policy_size: int
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    user_id: str
    account: str
    arn: str


@dataclass(frozen=True, slots=True)
class DecodedAuthorizationMessage:
    decoded_message: str


# ---------------------------------------------------------------------- errors


def _validation(message: str) -> STSError:
    return STSError(message, code="ValidationError", http_status=400)


def _denied(principal: Principal | None, action: str, resource: str) -> STSError:
    who = principal.arn if principal is not None else "an anonymous caller"
    return STSError(
        f"User: {who} is not authorized to perform: {action} on resource: {resource}",
        code="AccessDenied",
        http_status=403,
    )


def _constraint(value: object, name: str, rule: str) -> STSError:
    return _validation(
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: {rule}"
    )


# ---------------------------------------------------------------------- principal + policy helpers


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
    raise ValueError(f"{resolved.arn} is a {resolved.kind}, which has no long-term credentials")


@functools.lru_cache(maxsize=1024)
def _trust_policy(document: str, name: str) -> Policy:
    """A role's trust policy, parsed (and so compiled) once per document text: the store validated
    it on write, and a :class:`Policy` is immutable, so sharing it between calls is safe."""
    return parse_policy(document, name=name, kind=PolicyKind.RESOURCE)


def _parse_session_policy(document: str) -> Policy:
    return parse_policy(
        document, name="session-policy", kind=PolicyKind.IDENTITY, limits=PolicyLimits.SESSION
    )


def _managed_policy(store: _ManagedPolicySource, arn: str) -> Policy:
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


def session_policies(claims: SessionClaims, store: _ManagedPolicySource) -> tuple[Policy, ...] | None:
    """The session policies a session is capped by (``None``: it was given none)."""
    if claims.session_policy is None and not claims.policy_arns:
        return None
    found: list[Policy] = []
    if claims.session_policy is not None:
        found.append(_parse_session_policy(claims.session_policy))
    found.extend(_managed_policy(store, arn) for arn in claims.policy_arns)
    return tuple(found)


def session_policy_set(claims: SessionClaims, store: _ManagedPolicySource) -> PolicySet:
    """Every policy that governs a session: its role's (or user's, or parent user's) policies and
    boundary, capped by its session policies.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    """
    session = session_policies(claims, store)
    if claims.federated:
        governing = claims.session_name  # the parent IAM user (see the module docstring)
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


# ---------------------------------------------------------------------- parameter checks


def _check_session_name(name: str, field_name: str = "roleSessionName") -> None:
    if not isinstance(name, str) or _SESSION_NAME.fullmatch(name) is None:
        raise _constraint(
            name,
            field_name,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64",
        )


def _check_duration(value: int | None, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise _constraint(value, "durationSeconds", "Member must be an integer")
    if value < low:
        raise _constraint(value, "durationSeconds", f"Member must have value greater than or equal to {low}")
    if value > high:
        raise _constraint(value, "durationSeconds", f"Member must have value less than or equal to {high}")
    return value


def _check_policy_text(policy: str | None) -> str | None:
    """Session policy: ≤ 2048 characters of the shape's alphabet, then a valid identity policy."""
    if policy is None:
        return None
    if not isinstance(policy, str) or not policy or _POLICY_CHARS.fullmatch(policy) is None:
        raise _constraint(
            "<policy>",
            "policy",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        )
    if len(policy) > _MAX_SESSION_POLICY_CHARS:
        raise _constraint(
            "<policy>", "policy", f"Member must have length less than or equal to {_MAX_SESSION_POLICY_CHARS}"
        )
    try:
        _parse_session_policy(policy)
    except PolicyError as exc:
        raise STSError(
            f"The policy is not in the valid JSON format. ({exc})",
            code="MalformedPolicyDocument",
            http_status=400,
        ) from None
    return policy


def _check_policy_arns(arns: Sequence[str], store: StsStore | None) -> tuple[str, ...]:
    """≤ 10 managed policy ARNs, each existing in the store of the session's account."""
    if len(arns) > _MAX_POLICY_ARNS:
        raise _constraint(
            "<policyArns>", "policyArns", f"Member must have length less than or equal to {_MAX_POLICY_ARNS}"
        )
    for arn in arns:
        if not isinstance(arn, str) or not arn.startswith("arn:") or ":policy/" not in arn:
            raise STSError(f"Invalid policy ARN: {arn}", code="MalformedPolicyDocument", http_status=400)
        if store is not None:
            try:
                store.get_policy(arn)
            except NoSuchEntityError:
                raise STSError(
                    f"Policy {arn} does not exist or is not attachable.",
                    code="MalformedPolicyDocument",
                    http_status=400,
                ) from None
    return tuple(arns)


def _check_tags(tags: Sequence[Tag], transitive: Sequence[str]) -> dict[str, str]:
    """≤ 50 session tags, keys unique regardless of case, transitive keys among them."""
    if len(tags) > _MAX_TAGS:
        raise _constraint("<tags>", "tags", f"Member must have length less than or equal to {_MAX_TAGS}")
    if len(transitive) > _MAX_TAGS:
        raise _constraint(
            "<transitiveTagKeys>",
            "transitiveTagKeys",
            f"Member must have length less than or equal to {_MAX_TAGS}",
        )
    result: dict[str, str] = {}
    seen: set[str] = set()
    for tag in tags:
        if _TAG_KEY.fullmatch(tag.key) is None or tag.key.lower().startswith("aws:"):
            raise _constraint(
                tag.key,
                "tags.member.key",
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            )
        if _TAG_VALUE.fullmatch(tag.value) is None:
            raise _constraint(
                tag.value,
                "tags.member.value",
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
            )
        if tag.key.lower() in seen:
            raise STSError(
                f"Duplicate tag keys found. Please note that Tag keys are case insensitive: {tag.key}",
                code="InvalidParameterValue",
                http_status=400,
            )
        seen.add(tag.key.lower())
        result[tag.key] = tag.value
    for key in transitive:
        if key.lower() not in seen:
            raise STSError(
                f"The specified transitive tag key must be included in the requested tags: {key}",
                code="InvalidParameterValue",
                http_status=400,
            )
    return result


def packed_policy_size(policy: str | None, policy_arns: Sequence[str], tags: Mapping[str, str]) -> int:
    """``PackedPolicySize`` in percent of :data:`PACKED_POLICY_BUDGET` (see the module docstring)."""
    if policy is None and not policy_arns and not tags:
        return 0
    compact = None if policy is None else json.dumps(json.loads(policy), separators=(",", ":"))
    blob = json.dumps([compact, list(policy_arns), [[k, v] for k, v in tags.items()]], separators=(",", ":"))
    size = len(zlib.compress(blob.encode("utf-8"), 9))
    return math.ceil(100 * size / PACKED_POLICY_BUDGET)


def _check_packed(percent: int) -> int:
    if percent > 100:
        raise STSError(
            f"Serialized token too large for session. The session policy, policy ARNs and session tags "
            f"use {percent}% of the allowed packed size.",
            code="PackedPolicyTooLarge",
            http_status=400,
        )
    return percent


def _iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _split_role_arn(role_arn: str) -> tuple[str, str, str]:
    """(partition, account, role name) of a role ARN; ValidationError when it is not one."""
    parts = role_arn.split(":", 5) if isinstance(role_arn, str) else []
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise _constraint(role_arn, "roleArn", "Member must be a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    name = parts[5].rsplit("/", 1)[-1]
    if not parts[4] or not name:
        raise _constraint(role_arn, "roleArn", "Member must be a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    return parts[1], parts[4], name


def _plan_context(plan: _SessionPlan) -> dict[str, ContextValue]:
    """``aws:RequestTag/*``, ``aws:TagKeys``, ``sts:TransitiveTagKeys``, ``sts:SourceIdentity`` of a plan."""
    context: dict[str, ContextValue] = {}
    for key, value in plan.tags.items():
        context["aws:requesttag/" + key.lower()] = value
    if plan.tags:
        context["aws:tagkeys"] = tuple(plan.tags)
    if plan.transitive:
        context["sts:transitivetagkeys"] = plan.transitive
    if plan.source_identity is not None:
        context["sts:sourceidentity"] = plan.source_identity
    return context


_TAGS_CLAIM = "https://aws.amazon.com/tags"
_SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"


def _web_identity_plan(claims: WebIdentityClaims) -> _SessionPlan:
    """Session tags and source identity an ID token carries in AWS's claims.

    ``"https://aws.amazon.com/tags": {"principal_tags": {"Key": ["Value"]}, "transitive_tag_keys": [...]}``
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_adding-assume-role-idp
    ``"https://aws.amazon.com/source_identity": "..."``
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
    """
    block = claims.claims.get(_TAGS_CLAIM)
    tags: list[Tag] = []
    transitive: list[str] = []
    if block is not None:
        principal_tags = block.get("principal_tags") if isinstance(block, dict) else None
        keys = block.get("transitive_tag_keys", []) if isinstance(block, dict) else None
        if not isinstance(principal_tags, dict) or not isinstance(keys, list):
            raise STSError(
                f"The {_TAGS_CLAIM} claim is malformed", code="InvalidIdentityToken", http_status=400
            )
        for key, values in principal_tags.items():
            if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
                raise STSError(
                    f"Session tag {key!r} must have exactly one string value",
                    code="InvalidIdentityToken",
                    http_status=400,
                )
            tags.append(Tag(str(key), values[0]))
        transitive = [str(k) for k in keys]
    source = claims.claims.get(_SOURCE_IDENTITY_CLAIM)
    if source is not None and (
        not isinstance(source, str)
        or _SOURCE_IDENTITY.fullmatch(source) is None
        or source.lower().startswith("aws:")
    ):
        raise STSError("The source identity claim is malformed", code="InvalidIdentityToken", http_status=400)
    checked = _check_tags(tags, transitive)
    return _SessionPlan(checked, tuple(transitive), source, bool(checked))


# ---------------------------------------------------------------------- the service


@dataclass(frozen=True, slots=True)
class _SessionPlan:
    """What a new role session will carry, worked out before it is issued."""

    tags: dict[str, str]
    transitive: tuple[str, ...]
    source_identity: str | None
    requested_tags: bool


class TokenService:
    """AWS STS over iamguard's identity stores.

    ``stores`` is one store (one account) or a mapping of account id → store, so cross-account
    AssumeRole can read both sides. ``tokens`` issues the session tokens. ``oidc_providers`` maps
    an OIDC provider ARN (``arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH``) to its
    :class:`~iamguard.sts.oidc.OidcProvider`: the store keeps no OIDC provider records, so the
    registry is configuration here. ``saml_verifier`` holds its own provider registry.
    ``message_codec`` seals and opens encoded authorization messages.
    """

    def __init__(
        self,
        stores: StsStore | Mapping[str, StsStore],
        tokens: SessionTokenService,
        *,
        evaluator: Evaluator | None = None,
        oidc_providers: Mapping[str, OidcProvider] | None = None,
        oidc_verifier: WebIdentityVerifier | None = None,
        saml_verifier: SamlResponseVerifier | None = None,
        message_codec: MessageCodec | None = None,
        clock: Callable[[], float] = time.time,
        partition: str = "aws",
    ) -> None:
        if isinstance(stores, Mapping):
            self._stores: dict[str, StsStore] = dict(stores)
        else:
            account = stores.account().account_id  # type: ignore[attr-defined]
            self._stores = {account: stores}
        self.tokens = tokens
        self._evaluator = evaluator or Evaluator()
        self._oidc_providers = dict(oidc_providers or {})
        self._oidc_verifier = oidc_verifier
        self._saml_verifier = saml_verifier
        self._codec = message_codec
        self._clock = clock
        self._partition = partition

    # -------------------------------------------------------------- plumbing

    @property
    def stores(self) -> Mapping[str, StsStore]:
        return MappingProxyType(self._stores)

    def store_for(self, account: str) -> StsStore | None:
        return self._stores.get(account)

    def caller_policy_set(self, principal: Principal, session: SessionClaims | None) -> PolicySet:
        """The policies governing the caller (a long-term user/root or a session)."""
        store = self._stores.get(principal.account)
        if store is None:
            return PolicySet()
        if session is not None:
            return session_policy_set(session, store)
        resolved = store.resolve_principal(principal.arn)
        if resolved is None:
            return PolicySet()
        return PolicySet(
            identity=resolved.identity, boundary=resolved.boundary, generation=resolved.generation
        )

    def _base_context(self) -> dict[str, ContextValue]:
        now = self._clock()
        return {"aws:currenttime": _iso(now), "aws:epochtime": str(int(now)), "aws:securetransport": "true"}

    def _decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        policies: PolicySet,
        context: Mapping[str, ContextValue],
    ) -> Decision:
        return self._evaluator.evaluate(
            Request(principal, action, resource, MappingProxyType(dict(context))), policies
        )

    def _role(self, role_arn: str) -> tuple[StsStore, Role, str]:
        """The role's store and record; AccessDenied when it does not exist (as AWS answers)."""
        _, account, name = _split_role_arn(role_arn)
        store = self._stores.get(account)
        if store is None:
            raise STSError(
                f"Role {role_arn} cannot be assumed: no such role", code="AccessDenied", http_status=403
            )
        try:
            role = store.get_role(name)
        except NoSuchEntityError:
            raise STSError(
                f"Role {role_arn} cannot be assumed: no such role", code="AccessDenied", http_status=403
            ) from None
        # A role ARN without its path (as session ARNs carry) still names the role.
        if role.arn != role_arn and role_arn != f"arn:{self._partition}:iam::{account}:role/{name}":
            raise STSError(
                f"Role {role_arn} cannot be assumed: no such role", code="AccessDenied", http_status=403
            )
        return store, role, account

    def _trust_allows(
        self,
        principal: Principal,
        role: Role,
        account: str,
        action: str,
        caller_policies: PolicySet | None,
        context: Mapping[str, ContextValue],
    ) -> bool:
        """The trust policy allows ``action`` for the caller, and so does the identity side when
        the rules of the (same- or cross-account) evaluation require it."""
        trust = _trust_policy(role.assume_role_policy, f"{role.name}/trust-policy")
        trust_only = self._decide(
            principal, action, role.arn, PolicySet(resource=trust, resource_account=account), context
        )
        trusted = trust_only.kind is not DecisionKind.EXPLICIT_DENY and any(
            m.policy_role is PolicyRole.RESOURCE and m.effect == "Allow" for m in trust_only.matched
        )
        if not trusted:
            return False
        if caller_policies is None:  # federation: the trust policy alone decides
            return trust_only.allowed
        full = PolicySet(
            identity=caller_policies.identity,
            boundary=caller_policies.boundary,
            session=caller_policies.session,
            resource=trust,
            resource_account=account,
            generation=caller_policies.generation,
        )
        return self._decide(principal, action, role.arn, full, context).allowed

    def _issue_role_session(
        self,
        *,
        role: Role,
        account: str,
        session_name: str,
        duration: int,
        plan: _SessionPlan,
        policy: str | None,
        policy_arns: tuple[str, ...],
        chained: bool,
        mfa: bool,
        auth_time: int | None,
    ) -> tuple[IssuedCredentials, SessionClaims, str, str]:
        arn = f"arn:{self._partition}:sts::{account}:assumed-role/{role.name}/{session_name}"
        assumed_role_id = f"{role.role_id}:{session_name}"
        credentials, claims = self.tokens.issue(
            arn=arn,
            account=account,
            principal_type=PrincipalType.ASSUMED_ROLE,
            user_id=assumed_role_id,
            duration_seconds=duration,
            role_arn=f"arn:{self._partition}:iam::{account}:role/{role.name}",
            session_name=session_name,
            source_identity=plan.source_identity,
            tags=plan.tags,
            transitive_tag_keys=plan.transitive,
            mfa_authenticated=mfa,
            auth_time=auth_time,
            session_policy=policy,
            policy_arns=policy_arns,
            chained=chained,
        )
        return credentials, claims, assumed_role_id, arn

    # -------------------------------------------------------------- AssumeRole

    def assume_role(
        self,
        caller: Principal,
        *,
        role_arn: str,
        role_session_name: str,
        session: SessionClaims | None = None,
        policy_arns: Sequence[str] = (),
        policy: str | None = None,
        duration_seconds: int | None = None,
        tags: Sequence[Tag] = (),
        transitive_tag_keys: Sequence[str] = (),
        external_id: str | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
        source_identity: str | None = None,
    ) -> AssumeRoleResult:
        """https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html"""
        _check_session_name(role_session_name)
        if external_id is not None and _EXTERNAL_ID.fullmatch(external_id) is None:
            raise _constraint(
                external_id, "externalId", "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*"
            )
        if source_identity is not None and (
            _SOURCE_IDENTITY.fullmatch(source_identity) is None or source_identity.lower().startswith("aws:")
        ):
            raise _constraint(
                source_identity,
                "sourceIdentity",
                "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            )
        duration = _check_duration(duration_seconds, *_ROLE_RANGE, _DEFAULT_ROLE_DURATION)
        if caller.type is PrincipalType.ACCOUNT or (session is not None and session.federated):
            # "You cannot use AWS account root user credentials to call AssumeRole" (API reference);
            # federated users may only call GetCallerIdentity.
            raise _denied(caller, "sts:AssumeRole", role_arn)
        store, role, account = self._role(role_arn)
        chained = caller.type is PrincipalType.ASSUMED_ROLE
        duration = self._role_duration(duration, duration_seconds, role, chained)
        policy = _check_policy_text(policy)
        arns = _check_policy_arns(policy_arns, store)
        plan = self._session_plan(session, tags, transitive_tag_keys, source_identity)
        packed = _check_packed(packed_policy_size(policy, arns, plan.tags))
        mfa, auth_time = self._assume_role_mfa(caller, session, serial_number, token_code)
        context = self._assume_role_context(caller, role_session_name, external_id, plan, mfa, serial_number)
        self._authorize_assume_role(caller, session, role, account, context, plan)
        credentials, claims, role_id, arn = self._issue_role_session(
            role=role,
            account=account,
            session_name=role_session_name,
            duration=duration,
            plan=plan,
            policy=policy,
            policy_arns=arns,
            chained=chained,
            mfa=mfa,
            auth_time=auth_time,
        )
        return AssumeRoleResult(credentials, role_id, arn, packed, plan.source_identity, claims)

    def _role_duration(self, duration: int, requested: int | None, role: Role, chained: bool) -> int:
        """Role chaining caps sessions at one hour; otherwise the role's MaxSessionDuration caps them.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining
        """
        if chained:
            if requested is not None and requested > _CHAINED_MAX:
                raise _validation(
                    "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                    "assumed by role chaining."
                )
            return min(duration, _CHAINED_MAX)
        if requested is not None and requested > role.max_session_duration:
            raise _validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        return min(duration, role.max_session_duration)

    def _session_plan(
        self,
        session: SessionClaims | None,
        tags: Sequence[Tag],
        transitive: Sequence[str],
        source_identity: str | None,
    ) -> _SessionPlan:
        """New tags plus incoming transitive ones; the source identity, which never changes once set.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-chaining
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
        """
        requested = _check_tags(tags, transitive)
        incoming: dict[str, str] = {}
        if session is not None:
            incoming = {
                k: v
                for k, v in session.tags.items()
                if k.lower() in {t.lower() for t in session.transitive_tag_keys}
            }
        clash = {k.lower() for k in incoming} & {k.lower() for k in requested}
        if clash:
            raise STSError(
                f"One or more session tags conflict with incoming transitive tags: {sorted(clash)}",
                code="InvalidParameterValue",
                http_status=400,
            )
        merged = {**incoming, **requested}
        if len(merged) > _MAX_TAGS:
            raise _constraint("<tags>", "tags", f"Member must have length less than or equal to {_MAX_TAGS}")
        keys = tuple(incoming) + tuple(
            k for k in transitive if k.lower() not in {i.lower() for i in incoming}
        )
        inherited = session.source_identity if session is not None else None
        if inherited is not None and source_identity is not None and source_identity != inherited:
            raise STSError(
                "Source identity cannot be changed once it is set in a session.",
                code="AccessDenied",
                http_status=403,
            )
        return _SessionPlan(merged, keys, inherited or source_identity, bool(requested))

    def _assume_role_mfa(
        self, caller: Principal, session: SessionClaims | None, serial: str | None, code: str | None
    ) -> tuple[bool, int | None]:
        """MFA for the new session: a fresh SerialNumber+TokenCode, or an MFA session carried on."""
        if serial is None and code is None:
            if caller.mfa_authenticated and session is not None:
                return True, session.auth_time
            return False, None
        self._verify_mfa(caller, serial, code)
        return True, int(self._clock())

    def _verify_mfa(self, caller: Principal, serial: str | None, code: str | None) -> None:
        """The serial names an enabled device of the (user or root) caller and the code is current."""
        if serial is None or _SERIAL.fullmatch(serial) is None:
            raise _constraint(
                serial, "serialNumber", "Member must satisfy regular expression pattern: [\\w+=/:,.@-]*"
            )
        if code is None or _TOKEN_CODE.fullmatch(code) is None:
            raise _constraint("******", "tokenCode", "Member must satisfy regular expression pattern: [\\d]*")
        store = self._stores.get(caller.account)
        if caller.type is PrincipalType.USER:
            user: str | None = caller.name
        elif caller.type is PrincipalType.ACCOUNT:
            user = None
        else:
            raise STSError(
                "MultiFactorAuthentication failed: MFA is only available to IAM users and the root user.",
                code="AccessDenied",
                http_status=403,
            )
        if store is None:
            raise STSError(
                "MultiFactorAuthentication failed with invalid MFA one time pass code.",
                code="AccessDenied",
                http_status=403,
            )
        devices = store.list_mfa_devices(user, root=user is None)
        if not any(d.serial_number == serial and d.enabled for d in devices) or not store.verify_mfa_code(
            user, code
        ):
            raise STSError(
                "MultiFactorAuthentication failed with invalid MFA one time pass code.",
                code="AccessDenied",
                http_status=403,
            )

    def _assume_role_context(
        self,
        caller: Principal,
        session_name: str,
        external_id: str | None,
        plan: _SessionPlan,
        mfa: bool,
        serial: str | None,
    ) -> dict[str, ContextValue]:
        """Trust-policy condition keys of an AssumeRole request.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#available-keys-for-sts
        """
        context = self._base_context()
        context["sts:rolesessionname"] = session_name
        if external_id is not None:
            context["sts:externalid"] = external_id
        context.update(_plan_context(plan))
        context["aws:multifactorauthpresent"] = "true" if mfa or caller.mfa_authenticated else "false"
        if mfa and serial is not None:
            context["aws:multifactorauthage"] = "0"
        return context

    def _authorize_assume_role(
        self,
        caller: Principal,
        session: SessionClaims | None,
        role: Role,
        account: str,
        context: Mapping[str, ContextValue],
        plan: _SessionPlan,
    ) -> None:
        policies = self.caller_policy_set(caller, session)
        actions = ["sts:AssumeRole"]
        if plan.requested_tags:
            actions.append("sts:TagSession")
        if plan.source_identity is not None:
            actions.append("sts:SetSourceIdentity")
        for action in actions:
            if not self._trust_allows(caller, role, account, action, policies, context):
                raise _denied(caller, action, role.arn)

    # -------------------------------------------------------------- federation into roles

    def assume_role_with_web_identity(
        self,
        *,
        role_arn: str,
        role_session_name: str,
        web_identity_token: str,
        provider_id: str | None = None,
        policy_arns: Sequence[str] = (),
        policy: str | None = None,
        duration_seconds: int | None = None,
    ) -> AssumeRoleWithWebIdentityResult:
        """https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html"""
        _check_session_name(role_session_name)
        duration = _check_duration(duration_seconds, *_ROLE_RANGE, _DEFAULT_ROLE_DURATION)
        store, role, account = self._role(role_arn)
        duration = self._role_duration(duration, duration_seconds, role, False)
        policy = _check_policy_text(policy)
        arns = _check_policy_arns(policy_arns, store)
        provider_arn, provider = self._oidc_provider(web_identity_token, account)
        if self._oidc_verifier is None:
            raise STSError("No OIDC verifier is configured", code="IDPCommunicationError", http_status=400)
        claims = self._oidc_verifier.verify(web_identity_token, provider)
        plan = _web_identity_plan(claims)
        packed = _check_packed(packed_policy_size(policy, arns, plan.tags))
        principal = Principal(provider_arn, account, PrincipalType.FEDERATED_USER, user_id=claims.subject)
        context: dict[str, ContextValue] = {
            **self._base_context(),
            **oidc_condition_keys(claims),
            **_plan_context(plan),
            "sts:rolesessionname": role_session_name,
            "aws:federatedprovider": provider_arn,
        }
        self._authorize_federated(principal, role, account, "sts:AssumeRoleWithWebIdentity", plan, context)
        credentials, session, role_id, arn = self._issue_role_session(
            role=role,
            account=account,
            session_name=role_session_name,
            duration=duration,
            plan=plan,
            policy=policy,
            policy_arns=arns,
            chained=False,
            mfa=False,
            auth_time=None,
        )
        return AssumeRoleWithWebIdentityResult(
            credentials,
            role_id,
            arn,
            packed,
            claims.subject,
            provider.url.split("://", 1)[-1],
            claims.audience,
            plan.source_identity,
            session,
        )

    def _oidc_provider(self, token: str, account: str) -> tuple[str, OidcProvider]:
        """The registered provider of the token's issuer in the role's account."""
        import jwt

        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise STSError(
                "The ID token provided is not a valid JWT.", code="InvalidIdentityToken", http_status=400
            ) from None
        if isinstance(issuer, str):
            host = issuer.split("://", 1)[-1]
            provider_arn = f"arn:{self._partition}:iam::{account}:oidc-provider/{host}"
            provider = self._oidc_providers.get(provider_arn)
            if provider is not None and provider.url == issuer:
                return provider_arn, provider
        raise STSError(
            "No OpenIDConnect provider found in your account for the token's issuer",
            code="InvalidIdentityToken",
            http_status=400,
        )

    def assume_role_with_saml(
        self,
        *,
        role_arn: str,
        principal_arn: str,
        saml_assertion: str,
        policy_arns: Sequence[str] = (),
        policy: str | None = None,
        duration_seconds: int | None = None,
    ) -> AssumeRoleWithSAMLResult:
        """https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
        requested = _check_duration(duration_seconds, *_ROLE_RANGE, _DEFAULT_ROLE_DURATION)
        store, role, account = self._role(role_arn)
        policy = _check_policy_text(policy)
        arns = _check_policy_arns(policy_arns, store)
        if self._saml_verifier is None:
            raise STSError("No SAML provider is configured", code="InvalidIdentityToken", http_status=400)
        assertion = self._saml_verifier.verify(saml_assertion, principal_arn, role.arn)
        # The assertion's SessionDuration applies when the request names none; both stay under the role's max.
        duration = self._role_duration(
            requested if duration_seconds is not None else (assertion.session_duration or requested),
            duration_seconds,
            role,
            False,
        )
        duration = self._saml_session_cap(duration, assertion.session_not_on_or_after)
        tags = dict(assertion.principal_tags)
        packed = _check_packed(packed_policy_size(policy, arns, tags))
        principal = Principal(principal_arn, account, PrincipalType.FEDERATED_USER, user_id=assertion.subject)
        plan = _SessionPlan(tags, tuple(assertion.transitive_tag_keys), assertion.source_identity, bool(tags))
        context: dict[str, ContextValue] = {
            **self._base_context(),
            **assertion.condition_keys,
            **_plan_context(plan),
            "sts:rolesessionname": assertion.role_session_name,
            "aws:federatedprovider": principal_arn,
        }
        self._authorize_federated(principal, role, account, "sts:AssumeRoleWithSAML", plan, context)
        credentials, session, role_id, arn = self._issue_role_session(
            role=role,
            account=account,
            session_name=assertion.role_session_name,
            duration=duration,
            plan=plan,
            policy=policy,
            policy_arns=arns,
            chained=False,
            mfa=False,
            auth_time=None,
        )
        keys = assertion.condition_keys
        return AssumeRoleWithSAMLResult(
            credentials,
            role_id,
            arn,
            packed,
            assertion.subject,
            assertion.subject_type,
            assertion.issuer,
            assertion.audience,
            str(keys.get("saml:namequalifier", "")),
            assertion.source_identity,
            session,
        )

    def _saml_session_cap(self, duration: int, not_on_or_after: float | None) -> int:
        """ "Your role session lasts for the duration that you specify, or until the time specified in
        the SAML authentication response's SessionNotOnOrAfter value, whichever is shorter."
        https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
        if not_on_or_after is None:
            return duration
        remaining = int(not_on_or_after - self._clock())
        if remaining < _ROLE_RANGE[0]:
            raise STSError(
                "The SAML assertion's SessionNotOnOrAfter leaves less than the 15-minute minimum session",
                code="InvalidIdentityToken",
                http_status=400,
            )
        return min(duration, remaining)

    def _authorize_federated(
        self,
        principal: Principal,
        role: Role,
        account: str,
        action: str,
        plan: _SessionPlan,
        context: Mapping[str, ContextValue],
    ) -> None:
        """Only the trust policy decides for an IdP-authenticated caller; tags and a source identity
        need sts:TagSession / sts:SetSourceIdentity there too.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required"""
        actions = [action]
        if plan.tags:
            actions.append("sts:TagSession")
        if plan.source_identity is not None:
            actions.append("sts:SetSourceIdentity")
        for needed in actions:
            if not self._trust_allows(principal, role, account, needed, None, context):
                raise _denied(principal, needed, role.arn)

    # -------------------------------------------------------------- sessions for users

    def get_session_token(
        self,
        caller: Principal,
        *,
        session: SessionClaims | None = None,
        duration_seconds: int | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
    ) -> SessionTokenResult:
        """Temporary credentials for an IAM user (900 s–36 h, default 12 h) or the root user (≤ 1 h),
        MFA-authenticated when SerialNumber and TokenCode are given.
        https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
        """
        if session is not None or caller.type not in (PrincipalType.USER, PrincipalType.ACCOUNT):
            raise STSError(
                "Cannot call GetSessionToken with session credentials", code="AccessDenied", http_status=403
            )
        duration = _check_duration(duration_seconds, *_SESSION_TOKEN_RANGE, _DEFAULT_TOKEN_DURATION)
        if caller.type is PrincipalType.ACCOUNT:
            duration = min(duration, _ROOT_SESSION_MAX)  # root sessions: 900 s to 1 h, default 1 h
        mfa = serial_number is not None or token_code is not None
        if mfa:
            self._verify_mfa(caller, serial_number, token_code)
        credentials, claims = self.tokens.issue(
            arn=caller.arn,
            account=caller.account,
            principal_type=caller.type,
            user_id=caller.user_id,
            duration_seconds=duration,
            tags=dict(caller.tags),
            mfa_authenticated=mfa,
            auth_time=int(self._clock()) if mfa else None,
        )
        return SessionTokenResult(credentials, claims)

    def get_federation_token(
        self,
        caller: Principal,
        *,
        name: str,
        session: SessionClaims | None = None,
        policy: str | None = None,
        policy_arns: Sequence[str] = (),
        duration_seconds: int | None = None,
        tags: Sequence[Tag] = (),
    ) -> FederationTokenResult:
        """Credentials for a federated user whose permissions are the intersection of the calling
        user's policies and the session policies (none given: no permissions at all).
        https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
        """
        if session is not None or caller.type not in (PrincipalType.USER, PrincipalType.ACCOUNT):
            raise STSError(
                "Cannot call GetFederationToken with session credentials",
                code="AccessDenied",
                http_status=403,
            )
        if not isinstance(name, str) or _FEDERATED_NAME.fullmatch(name) is None:
            raise _constraint(
                name,
                "name",
                "Member must satisfy regular expression pattern: [\\w+=,.@-]* and "
                "have length between 2 and 32",
            )
        duration = _check_duration(duration_seconds, *_SESSION_TOKEN_RANGE, _DEFAULT_TOKEN_DURATION)
        if caller.type is PrincipalType.ACCOUNT:
            duration = min(duration, _ROOT_SESSION_MAX)
        store = self._stores.get(caller.account)
        policy = _check_policy_text(policy)
        arns = _check_policy_arns(policy_arns, store)
        session_tags = _check_tags(tags, ())
        packed = _check_packed(packed_policy_size(policy, arns, session_tags))
        federated_arn = f"arn:{self._partition}:sts::{caller.account}:federated-user/{name}"
        if session_tags:
            context = self._base_context()
            for key, value in session_tags.items():
                context["aws:requesttag/" + key.lower()] = value
            context["aws:tagkeys"] = tuple(session_tags)
            decision = self._decide(
                caller, "sts:TagSession", federated_arn, self.caller_policy_set(caller, None), context
            )
            if caller.type is not PrincipalType.ACCOUNT and not decision.allowed:
                raise _denied(caller, "sts:TagSession", federated_arn)
        # No session policy at all: an empty policy set denies everything (AWS: "no permissions").
        deny_all = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
        effective = policy if (policy is not None or arns) else deny_all
        user_id = f"{caller.account}:{name}"
        credentials, claims = self.tokens.issue(
            arn=federated_arn,
            account=caller.account,
            principal_type=PrincipalType.FEDERATED_USER,
            user_id=user_id,
            duration_seconds=duration,
            session_name=caller.arn,
            tags=session_tags,
            session_policy=effective,
            policy_arns=arns,
            federated=True,
        )
        return FederationTokenResult(credentials, user_id, federated_arn, packed, claims)

    # -------------------------------------------------------------- identity and messages

    def get_caller_identity(self, caller: Principal) -> CallerIdentity:
        """Who signed the request; needs no permission (an explicit deny cannot stop it either).
        https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
        """
        return CallerIdentity(caller.user_id or caller.account, caller.account, caller.arn)

    def decode_authorization_message(
        self, caller: Principal, *, encoded_message: str, session: SessionClaims | None = None
    ) -> DecodedAuthorizationMessage:
        """https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html"""
        if not isinstance(encoded_message, str) or not 1 <= len(encoded_message) <= 10240:
            raise _constraint(
                "<encodedMessage>", "encodedMessage", "Member must have length between 1 and 10240"
            )
        policies = self.caller_policy_set(caller, session)
        decision = self._decide(caller, "sts:DecodeAuthorizationMessage", "*", policies, self._base_context())
        if not decision.allowed and caller.type is not PrincipalType.ACCOUNT:
            raise _denied(caller, "sts:DecodeAuthorizationMessage", "*")
        if self._codec is None:
            raise STSError(
                "Authorization messages cannot be decoded: no key is configured",
                code="InvalidAuthorizationMessageException",
                http_status=400,
            )
        message = self._codec.decode(encoded_message)
        return DecodedAuthorizationMessage(json.dumps(message, separators=(",", ":"), sort_keys=True))

    def encode_authorization_message(self, message: Mapping[str, Any]) -> str:
        """Seal a decision message (for an enforcement point that returns encoded failures)."""
        if self._codec is None:
            raise IAMGuardError("no authorization message codec is configured")
        text: str = self._codec.encode(message)
        return text
