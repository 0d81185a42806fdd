"""The Security Token Service's seven operations, as plain method calls (sans-I/O apart from the store).

Part of ``sts/``. :class:`TokenService` decides and issues; :mod:`iamguard.sts.query_api` turns
HTTP form bodies into these calls and results into XML; :mod:`iamguard.sts.wsgi` /
:mod:`iamguard.sts.asgi` authenticate the caller. Each method takes the caller's
:class:`~iamguard.principal.Principal` (``None`` for the unsigned federation calls), the
caller's :class:`~iamguard.authn.session_token.SessionClaims` when it signed with temporary
credentials, and AWS's parameters in snake case; it returns a frozen result or raises
:class:`~iamguard.errors.STSError` with the code AWS returns.
https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html

The methods here only orchestrate; the steps live beside them:

* :mod:`~iamguard.sts._params`: parameter checks and ``PackedPolicySize``;
* :mod:`~iamguard.sts._plans`: the tags and source identity a new role session carries;
* :mod:`~iamguard.sts._trust`: trust-policy evaluation for AssumeRole* (both sides, as AWS does);
* :mod:`~iamguard.sts._session_policies`: the policies that govern a session (incl. federated users);
* :mod:`~iamguard.sts._mfa`: SerialNumber + TokenCode checks;
* :mod:`~iamguard.sts._federation`: the OIDC provider of a token, the SAML session cap;
* :mod:`~iamguard.sts._results` and :mod:`~iamguard.sts._protocols`: values and seams.

Authorization runs through iamguard's own engine: **AssumeRole** needs the trust policy and the
identity side (see :mod:`~iamguard.sts._trust`); **AssumeRoleWithWebIdentity** /
**AssumeRoleWithSAML** only the trust policy, with the provider's condition keys;
**DecodeAuthorizationMessage** needs ``sts:DecodeAuthorizationMessage`` from identity policies;
**GetCallerIdentity** needs nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from iamguard.authn.session_token import IssuedCredentials, SessionClaims, SessionTokenService
from iamguard.context import ContextValue
from iamguard.decision import Decision
from iamguard.errors import IAMGuardError, NoSuchEntityError, STSError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet
from iamguard.principal import Principal, PrincipalType
from iamguard.store.protocols import OneTimeUse
from iamguard.store.records import Role
from iamguard.sts._errors import constraint, denied
from iamguard.sts._federation import (
    oidc_provider_for,
    saml_session_cap,
    stored_oidc_provider,
    stored_saml_provider,
)
from iamguard.sts._mfa import verify_mfa
from iamguard.sts._params import (
    DEFAULT_ROLE_DURATION,
    DEFAULT_TOKEN_DURATION,
    PACKED_POLICY_BUDGET,
    ROLE_RANGE,
    ROOT_SESSION_MAX,
    SESSION_TOKEN_RANGE,
    check_duration,
    check_external_id,
    check_federated_name,
    check_packed,
    check_policy_arns,
    check_policy_text,
    check_session_name,
    check_source_identity,
    check_tags,
    packed_policy_size,
    role_duration,
    split_role_arn,
)
from iamguard.sts._plans import SessionPlan, plan_context, session_plan, web_identity_plan
from iamguard.sts._protocols import MessageCodec, SamlResponseVerifier, StsStore, WebIdentityVerifier
from iamguard.sts._results import (
    AssumeRoleResult,
    AssumeRoleWithSAMLResult,
    AssumeRoleWithWebIdentityResult,
    CallerIdentity,
    DecodedAuthorizationMessage,
    FederationTokenResult,
    SessionTokenResult,
    Tag,
)
from iamguard.sts._session_policies import principal_for, session_policies, session_policy_set
from iamguard.sts._trust import assume_role_context, authorize_on_role, base_context, decide, role_actions
from iamguard.sts.oidc import OidcProvider
from iamguard.sts.oidc import condition_keys as oidc_condition_keys

if TYPE_CHECKING:
    from iamguard.sts.saml import SamlProvider

__all__ = [
    "PACKED_POLICY_BUDGET",
    "AssumeRoleResult",
    "AssumeRoleWithSAMLResult",
    "AssumeRoleWithWebIdentityResult",
    "CallerIdentity",
    "DecodedAuthorizationMessage",
    "FederationTokenResult",
    "MessageCodec",
    "SamlResponseVerifier",
    "SessionTokenResult",
    "StsStore",
    "Tag",
    "TokenService",
    "WebIdentityVerifier",
    "packed_policy_size",
    "principal_for",
    "session_policies",
    "session_policy_set",
]


class TokenService:
    """AWS STS over iamguard's identity stores.

    ``stores`` is one store (one account) or a mapping of account id → store, so cross-account
    AssumeRole can read both sides. ``tokens`` issues the session tokens. ``oidc_providers`` maps
    an OIDC provider ARN (``arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH``) to its
    :class:`~iamguard.sts.oidc.OidcProvider`; an ARN it does not name is looked up in the role's
    store, where IAM's ``CreateOpenIDConnectProvider`` registers providers. ``saml_verifier``
    holds its own provider registry; without one, a :class:`~iamguard.sts.saml.SamlVerifier`
    over the store's SAML providers (``CreateSAMLProvider``) is made on first use.
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
        self._stored_saml_verifiers: dict[str, SamlResponseVerifier] = {}
        self._codec = message_codec
        self._clock = clock
        self._partition = partition

    # -------------------------------------------------------------- plumbing

    @property
    def stores(self) -> Mapping[str, StsStore]:
        """The identity store of each account this service answers for (read-only)."""
        return MappingProxyType(self._stores)

    def store_for(self, account: str) -> StsStore | None:
        """The identity store of ``account``, or ``None`` if this service has none."""
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
        return base_context(self._clock())

    def _decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        policies: PolicySet,
        context: Mapping[str, ContextValue],
    ) -> Decision:
        return decide(self._evaluator, principal, action, resource, policies, context)

    def _role(self, role_arn: str) -> tuple[StsStore, Role, str]:
        """The role's store and record; AccessDenied when it does not exist (as AWS answers)."""
        _, account, name = split_role_arn(role_arn)
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

    def _issue_role_session(
        self,
        *,
        role: Role,
        account: str,
        session_name: str,
        duration: int,
        plan: SessionPlan,
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
        check_session_name(role_session_name)
        check_external_id(external_id)
        check_source_identity(source_identity)
        duration = check_duration(duration_seconds, *ROLE_RANGE, DEFAULT_ROLE_DURATION)
        if caller.type is PrincipalType.ACCOUNT or (session is not None and session.federated):
            # "You cannot use AWS account root user credentials to call AssumeRole" (API reference);
            # federated users may only call GetCallerIdentity.
            raise denied(caller, "sts:AssumeRole", role_arn)
        store, role, account = self._role(role_arn)
        chained = caller.type is PrincipalType.ASSUMED_ROLE
        duration = role_duration(duration, duration_seconds, role, chained)
        policy = check_policy_text(policy)
        arns = check_policy_arns(policy_arns, store)
        plan = session_plan(session, tags, transitive_tag_keys, source_identity)
        packed = check_packed(packed_policy_size(policy, arns, plan.tags))
        mfa, auth_time = self._assume_role_mfa(caller, session, serial_number, token_code)
        context = assume_role_context(
            self._base_context(), caller, role_session_name, external_id, plan, mfa, serial_number
        )
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

    def _assume_role_mfa(
        self, caller: Principal, session: SessionClaims | None, serial: str | None, code: str | None
    ) -> tuple[bool, int | None]:
        """MFA for the new session: a fresh SerialNumber+TokenCode, or an MFA session carried on."""
        if serial is None and code is None:
            if caller.mfa_authenticated and session is not None:
                return True, session.auth_time
            return False, None
        verify_mfa(self._stores.get(caller.account), caller, serial, code)
        return True, int(self._clock())

    def _authorize_assume_role(
        self,
        caller: Principal,
        session: SessionClaims | None,
        role: Role,
        account: str,
        context: Mapping[str, ContextValue],
        plan: SessionPlan,
    ) -> None:
        actions = role_actions("sts:AssumeRole", plan.requested_tags, plan.source_identity)
        policies = self.caller_policy_set(caller, session)
        authorize_on_role(self._evaluator, caller, role, account, actions, policies, context)

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
        check_session_name(role_session_name)
        duration = check_duration(duration_seconds, *ROLE_RANGE, DEFAULT_ROLE_DURATION)
        store, role, account = self._role(role_arn)
        duration = role_duration(duration, duration_seconds, role, False)
        policy = check_policy_text(policy)
        arns = check_policy_arns(policy_arns, store)
        provider_arn, provider = oidc_provider_for(
            web_identity_token, account, self._partition, self._oidc_lookup(store)
        )
        if self._oidc_verifier is None:
            raise STSError("No OIDC verifier is configured", code="IDPCommunicationError", http_status=400)
        claims = self._oidc_verifier.verify(web_identity_token, provider)
        plan = web_identity_plan(claims)
        packed = check_packed(packed_policy_size(policy, arns, plan.tags))
        principal = Principal(provider_arn, account, PrincipalType.FEDERATED_USER, user_id=claims.subject)
        context: dict[str, ContextValue] = {
            **self._base_context(),
            **oidc_condition_keys(claims),
            **plan_context(plan),
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
        requested = check_duration(duration_seconds, *ROLE_RANGE, DEFAULT_ROLE_DURATION)
        store, role, account = self._role(role_arn)
        policy = check_policy_text(policy)
        arns = check_policy_arns(policy_arns, store)
        verifier = self._saml_verifier or self._stored_saml_verifier(account, store)
        assertion = verifier.verify(saml_assertion, principal_arn, role.arn)
        # The assertion's SessionDuration applies when the request names none; both stay under the role's max.
        duration = role_duration(
            requested if duration_seconds is not None else (assertion.session_duration or requested),
            duration_seconds,
            role,
            False,
        )
        duration = saml_session_cap(duration, assertion.session_not_on_or_after, self._clock())
        tags = dict(assertion.principal_tags)
        packed = check_packed(packed_policy_size(policy, arns, tags))
        principal = Principal(principal_arn, account, PrincipalType.FEDERATED_USER, user_id=assertion.subject)
        plan = SessionPlan(tags, tuple(assertion.transitive_tag_keys), assertion.source_identity, bool(tags))
        context: dict[str, ContextValue] = {
            **self._base_context(),
            **assertion.condition_keys,
            **plan_context(plan),
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

    def _oidc_lookup(self, store: StsStore) -> Callable[[str], OidcProvider | None]:
        """Configured providers first, then the ones registered in the role's store."""

        def lookup(arn: str) -> OidcProvider | None:
            return self._oidc_providers.get(arn) or stored_oidc_provider(store, arn)

        return lookup

    def _stored_saml_verifier(self, account: str, store: StsStore) -> SamlResponseVerifier:
        """A verifier over the account store's SAML providers (its assertion IDs consumed there too)."""
        verifier = self._stored_saml_verifiers.get(account)
        if verifier is None:
            from iamguard.sts.saml import SamlVerifier

            def lookup(arn: str) -> SamlProvider | None:
                return stored_saml_provider(store, arn)

            replay = store if isinstance(store, OneTimeUse) else None
            verifier = SamlVerifier(lookup, clock=self._clock, replay_store=replay)
            self._stored_saml_verifiers[account] = verifier
        return verifier

    def _authorize_federated(
        self,
        principal: Principal,
        role: Role,
        account: str,
        action: str,
        plan: SessionPlan,
        context: Mapping[str, ContextValue],
    ) -> None:
        """Only the trust policy decides for an IdP-authenticated caller; tags and a source identity
        need sts:TagSession / sts:SetSourceIdentity there too.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required"""
        actions = role_actions(action, bool(plan.tags), plan.source_identity)
        authorize_on_role(self._evaluator, principal, role, account, actions, None, context)

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
        duration = check_duration(duration_seconds, *SESSION_TOKEN_RANGE, DEFAULT_TOKEN_DURATION)
        if caller.type is PrincipalType.ACCOUNT:
            duration = min(duration, ROOT_SESSION_MAX)  # root sessions: 900 s to 1 h, default 1 h
        mfa = serial_number is not None or token_code is not None
        if mfa:
            verify_mfa(self._stores.get(caller.account), caller, serial_number, token_code)
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
        check_federated_name(name)
        duration = check_duration(duration_seconds, *SESSION_TOKEN_RANGE, DEFAULT_TOKEN_DURATION)
        if caller.type is PrincipalType.ACCOUNT:
            duration = min(duration, ROOT_SESSION_MAX)
        store = self._stores.get(caller.account)
        policy = check_policy_text(policy)
        arns = check_policy_arns(policy_arns, store)
        session_tags = check_tags(tags, ())
        packed = check_packed(packed_policy_size(policy, arns, session_tags))
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
                raise denied(caller, "sts:TagSession", federated_arn)
        # No session policy at all: the token carries none, and a federated session without one
        # has an empty session policy set, which the evaluation logic itself denies (AWS: "no
        # permissions"; a resource policy naming the session still grants). See
        # sts/_session_policies.session_policies.
        user_id = f"{caller.account}:{name}"
        credentials, claims = self.tokens.issue(
            arn=federated_arn,
            account=caller.account,
            principal_type=PrincipalType.FEDERATED_USER,
            user_id=user_id,
            duration_seconds=duration,
            parent_arn=caller.arn,
            tags=session_tags,
            session_policy=policy,
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
            raise constraint(
                "<encodedMessage>", "encodedMessage", "Member must have length between 1 and 10240"
            )
        policies = self.caller_policy_set(caller, session)
        decision = self._decide(caller, "sts:DecodeAuthorizationMessage", "*", policies, self._base_context())
        if not decision.allowed and caller.type is not PrincipalType.ACCOUNT:
            raise denied(caller, "sts:DecodeAuthorizationMessage", "*")
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
