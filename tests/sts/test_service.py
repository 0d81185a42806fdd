"""Tests for iamguard.sts.service: the STS operations, table-driven plus the flows tables can't hold."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest

from iamguard.authn.session_token import SessionClaims, SessionTokenService
from iamguard.decision import DecisionKind
from iamguard.errors import STSError
from iamguard.evaluate.engine import evaluate
from iamguard.evaluate.inputs import Request
from iamguard.principal import Principal
from iamguard.resolve import resolve_policy_set
from iamguard.store import IdentityService, open_store
from iamguard.store import mfa as totp
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.auth_message import AuthorizationMessageCodec, build_message
from iamguard.sts.keys import KeyRing
from iamguard.sts.oidc import OidcProvider, WebIdentityClaims
from iamguard.sts.saml import AWS_SAML_AUDIENCE
from iamguard.sts.service import (
    PACKED_POLICY_BUDGET,
    Tag,
    TokenService,
    packed_policy_size,
    principal_for,
    session_policy_set,
)

DATA = json.loads((Path(__file__).parent.parent / "data" / "sts" / "service_cases.json").read_text())
SETUP = DATA["setup"]
ACCOUNT = SETUP["account"]
OTHER_ACCOUNT = "444455556666"
BOX = SecretBox({"t": bytes(32)}, "t")
T0 = 1_770_000_000.0
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/Deploy"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def build_store(account: str = ACCOUNT, clock: Clock | None = None) -> IdentityService:
    store = open_store("memory://", account_id=account, secret_box=BOX, clock=clock or Clock(T0))
    for name, document in SETUP["managed_policies"].items():
        store.create_policy(name, document)
    for name, spec in SETUP["users"].items():
        store.create_user(name)
        for index, document in enumerate(spec["policies"]):
            store.put_inline_policy(PrincipalKind.USER, name, f"p{index}", document)
    for name, spec in SETUP["roles"].items():
        store.create_role(name, spec["trust"], max_session_duration=spec.get("max_session_duration", 3600))
        for index, document in enumerate(spec.get("policies", [])):
            store.put_inline_policy(PrincipalKind.ROLE, name, f"p{index}", document)
    return store


def caller(store: IdentityService, name: str) -> Principal:
    account = store.account().account_id
    arn = f"arn:aws:iam::{account}:root" if name == "root" else f"arn:aws:iam::{account}:user/{name}"
    resolved = store.resolve_principal(arn)
    assert resolved is not None
    return principal_for(resolved)


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def store(clock: Clock) -> IdentityService:
    return build_store(clock=clock)


@pytest.fixture()
def codec() -> AuthorizationMessageCodec:
    return AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())


@pytest.fixture()
def service(store: IdentityService, clock: Clock, codec: AuthorizationMessageCodec) -> TokenService:
    tokens = SessionTokenService(KeyRing.generate(clock=clock), clock=clock)
    return TokenService(store, tokens, clock=clock, message_codec=codec)


def _params(raw: dict[str, Any]) -> dict[str, Any]:
    params = dict(raw)
    if "tags" in params:
        params["tags"] = [Tag(k, v) for k, v in params["tags"]]
    generated = params.pop("generated_tags", None)
    if generated is not None:
        rng = random.Random(7)
        alphabet = string.ascii_letters + string.digits
        params["tags"] = [
            Tag(f"k{i}", "".join(rng.choice(alphabet) for _ in range(generated["value_length"])))
            for i in range(generated["count"])
        ]
    chars = params.pop("generated_policy_chars", None)
    if chars is not None:
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "b" * chars}
        params["policy"] = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return params


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["id"] for c in DATA["cases"]])
def test_case(case: dict[str, Any], service: TokenService, store: IdentityService) -> None:
    principal = caller(store, case["caller"])
    method = getattr(service, case["action"])
    params = _params(case["params"])
    if "error" in case:
        with pytest.raises(STSError) as info:
            method(principal, **params)
        assert info.value.code == case["error"], str(info.value)
        assert 400 <= info.value.http_status < 500
        return
    result = method(principal, **params)
    _check_expectations(result, case["expect"])


def _check_expectations(result: Any, expect: dict[str, Any]) -> None:
    claims: SessionClaims | None = getattr(result, "claims", None)
    for name, value in expect.items():
        if name == "duration":
            assert claims is not None and claims.expires_at - claims.issued_at == value
        elif name == "tags":
            assert claims is not None and dict(claims.tags) == value
        elif name == "transitive":
            assert claims is not None and list(claims.transitive_tag_keys) == value
        elif name == "packed_policy_size_min":
            assert result.packed_policy_size >= value
        elif name == "packed_policy_size_max":
            assert result.packed_policy_size <= value
        elif hasattr(result, name):
            assert getattr(result, name) == value, name
        else:  # GetSessionToken answers credentials only; the session's own claims say who it is
            assert claims is not None and getattr(claims, name) == value, name


# ---------------------------------------------------------------- results and sessions


def test_assume_role_result_shape(service: TokenService, store: IdentityService, clock: Clock) -> None:
    result = service.assume_role(caller(store, "alice"), role_arn=DEPLOY, role_session_name="s1")
    role = store.get_role("Deploy")
    assert result.assumed_role_id == f"{role.role_id}:s1"
    assert result.credentials.access_key_id.startswith("ASIA")
    assert len(result.credentials.secret_access_key) == 40
    assert result.credentials.expiration.timestamp() == T0 + 3600
    claims = service.tokens.verify(
        result.credentials.session_token, access_key_id=result.credentials.access_key_id
    )
    assert service.tokens.secret_for(claims) == result.credentials.secret_access_key
    assert claims.role_arn == DEPLOY and claims.session_name == "s1" and not claims.chained
    assert "secret" not in repr(result).lower() or result.credentials.secret_access_key not in repr(result)


def _session(service: TokenService, result: Any) -> tuple[Principal, SessionClaims]:
    claims = service.tokens.verify(result.credentials.session_token)
    return claims.to_principal(now=T0), claims


def test_role_chaining_caps_at_one_hour(service: TokenService, store: IdentityService) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining"""
    first = service.assume_role(
        caller(store, "alice"), role_arn=DEPLOY, role_session_name="s1", duration_seconds=7200
    )
    principal, claims = _session(service, first)
    with pytest.raises(STSError) as info:
        service.assume_role(
            principal, session=claims, role_arn=DEPLOY, role_session_name="s2", duration_seconds=3601
        )
    assert info.value.code == "ValidationError" and "role chaining" in str(info.value)
    chained = service.assume_role(principal, session=claims, role_arn=DEPLOY, role_session_name="s2")
    assert chained.claims.chained
    assert chained.claims.expires_at - chained.claims.issued_at == 3600
    assert chained.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/s2"


def test_chaining_needs_the_role_session_to_be_allowed(service: TokenService, store: IdentityService) -> None:
    """A session policy that does not allow sts:AssumeRole stops the chain (it caps the session).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session"""
    only_s3 = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    first = service.assume_role(
        caller(store, "alice"), role_arn=DEPLOY, role_session_name="s1", policy=only_s3
    )
    principal, claims = _session(service, first)
    with pytest.raises(STSError) as info:
        service.assume_role(principal, session=claims, role_arn=DEPLOY, role_session_name="s2")
    assert info.value.code == "AccessDenied"


def test_source_identity_persists_and_cannot_change(service: TokenService, store: IdentityService) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html"""
    first = service.assume_role(
        caller(store, "alice"), role_arn=DEPLOY, role_session_name="s1", source_identity="alice"
    )
    assert first.source_identity == "alice"
    principal, claims = _session(service, first)
    assert principal.source_identity == "alice"
    kept = service.assume_role(principal, session=claims, role_arn=DEPLOY, role_session_name="s2")
    assert kept.source_identity == "alice" and kept.claims.source_identity == "alice"
    same = service.assume_role(
        principal, session=claims, role_arn=DEPLOY, role_session_name="s3", source_identity="alice"
    )
    assert same.source_identity == "alice"
    with pytest.raises(STSError) as info:
        service.assume_role(
            principal, session=claims, role_arn=DEPLOY, role_session_name="s4", source_identity="mallory"
        )
    assert info.value.code == "AccessDenied"


def test_inherited_source_identity_needs_set_source_identity(
    service: TokenService, store: IdentityService
) -> None:
    first = service.assume_role(
        caller(store, "alice"), role_arn=DEPLOY, role_session_name="s1", source_identity="alice"
    )
    principal, claims = _session(service, first)
    # NoTagRole's trust policy allows sts:AssumeRole only, so the carried source identity is refused.
    with pytest.raises(STSError) as info:
        service.assume_role(
            principal,
            session=claims,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/NoTagRole",
            role_session_name="s2",
        )
    assert info.value.code == "AccessDenied"


def test_transitive_tags_flow_down_the_chain(service: TokenService, store: IdentityService) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-chaining"""
    first = service.assume_role(
        caller(store, "alice"),
        role_arn=DEPLOY,
        role_session_name="s1",
        tags=[Tag("team", "red"), Tag("cost", "42")],
        transitive_tag_keys=["team"],
    )
    principal, claims = _session(service, first)
    assert dict(principal.tags) == {"team": "red", "cost": "42"}
    second = service.assume_role(principal, session=claims, role_arn=DEPLOY, role_session_name="s2")
    assert dict(second.claims.tags) == {"team": "red"}
    assert second.claims.transitive_tag_keys == ("team",)
    with pytest.raises(STSError) as info:
        service.assume_role(
            principal, session=claims, role_arn=DEPLOY, role_session_name="s3", tags=[Tag("Team", "blue")]
        )
    assert info.value.code == "InvalidParameterValue"
    third = service.assume_role(
        principal,
        session=claims,
        role_arn=DEPLOY,
        role_session_name="s4",
        tags=[Tag("stage", "prod")],
        transitive_tag_keys=["stage"],
    )
    assert dict(third.claims.tags) == {"team": "red", "stage": "prod"}
    assert set(third.claims.transitive_tag_keys) == {"team", "stage"}


def test_session_policy_caps_the_session(service: TokenService, store: IdentityService) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    result = service.assume_role(
        caller(store, "alice"),
        role_arn=DEPLOY,
        role_session_name="s1",
        policy=policy,
        policy_arns=[f"arn:aws:iam::{ACCOUNT}:policy/ReadOnlyS3"],
    )
    principal, claims = _session(service, result)
    policies = session_policy_set(claims, store)
    assert policies.session is not None and len(policies.session) == 2
    assert evaluate(Request(principal, "s3:GetObject", "arn:aws:s3:::b/k"), policies).allowed
    # The role allows sts:TagSession, the session policies do not: capped.
    assert not evaluate(Request(principal, "sts:TagSession", "*"), policies).allowed


def test_revoke_older_sessions(store: IdentityService, clock: Clock) -> None:
    """AWS's "Revoke active sessions" attaches a Deny on aws:TokenIssueTime; sessions issued before
    the cutoff are denied through normal evaluation, newer ones are not.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html"""
    tokens = SessionTokenService(KeyRing.generate(clock=clock), clock=clock)
    service = TokenService(store, tokens, clock=clock)
    old = service.assume_role(caller(store, "alice"), role_arn=DEPLOY, role_session_name="old")
    clock.now = T0 + 60
    cutoff = "2026-02-02T02:40:30Z"  # T0 + 30 s
    store.put_inline_policy(
        PrincipalKind.ROLE,
        "Deploy",
        "AWSRevokeOlderSessions",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
                }
            ],
        },
    )
    new = service.assume_role(caller(store, "alice"), role_arn=DEPLOY, role_session_name="new")
    for result, expected in ((old, DecisionKind.EXPLICIT_DENY), (new, DecisionKind.ALLOWED)):
        claims = tokens.verify(result.credentials.session_token)
        principal = claims.to_principal(now=clock.now)
        policies = resolve_policy_set(principal, store, session_policies=None)
        decision = evaluate(Request(principal, "s3:GetObject", "arn:aws:s3:::b/k"), policies)
        assert decision.kind is expected, decision.reason


def test_cross_account_needs_both_sides(clock: Clock) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"""
    home, away = build_store(ACCOUNT, clock), build_store(OTHER_ACCOUNT, clock)
    away.create_role(
        "Partner",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/carol"]
                    },
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    tokens = SessionTokenService(KeyRing.generate(clock=clock), clock=clock)
    service = TokenService({ACCOUNT: home, OTHER_ACCOUNT: away}, tokens, clock=clock)
    role_arn = f"arn:aws:iam::{OTHER_ACCOUNT}:role/Partner"
    result = service.assume_role(caller(home, "alice"), role_arn=role_arn, role_session_name="xx")
    assert result.arn == f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/Partner/xx"
    assert result.claims.account == OTHER_ACCOUNT
    # carol is named by the trust policy, but her own account grants her nothing: denied.
    with pytest.raises(STSError) as info:
        service.assume_role(caller(home, "carol"), role_arn=role_arn, role_session_name="xx")
    assert info.value.code == "AccessDenied"
    # dave's identity policy allows only his own account's Deploy role.
    with pytest.raises(STSError):
        service.assume_role(caller(home, "dave"), role_arn=role_arn, role_session_name="xx")


# ---------------------------------------------------------------- users' sessions


def _enable_mfa(store: IdentityService, clock: Clock, user: str) -> tuple[str, str]:
    created = store.create_virtual_mfa_device(user)
    seed = created.base32_seed
    store.enable_mfa_device(
        user, created.device.serial_number, totp.totp(seed, clock.now - 30), totp.totp(seed, clock.now)
    )
    return created.device.serial_number, seed


def test_get_session_token_with_mfa_then_mfa_role(
    service: TokenService, store: IdentityService, clock: Clock
) -> None:
    """https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html ; the MFA session can
    then assume a role whose trust policy requires aws:MultiFactorAuthPresent."""
    serial, seed = _enable_mfa(store, clock, "alice")
    clock.now += 30
    result = service.get_session_token(
        caller(store, "alice"), serial_number=serial, token_code=totp.totp(seed, clock.now)
    )
    assert result.claims.mfa_authenticated and result.claims.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    principal, claims = _session(service, result)
    assert principal.context_keys()["aws:multifactorauthpresent"] == "true"
    role = service.assume_role(
        principal, session=claims, role_arn=f"arn:aws:iam::{ACCOUNT}:role/MfaRole", role_session_name="mm"
    )
    assert role.claims.mfa_authenticated and not role.claims.chained
    # The same code cannot be used twice.
    with pytest.raises(STSError) as info:
        service.get_session_token(
            caller(store, "alice"), serial_number=serial, token_code=totp.totp(seed, clock.now)
        )
    assert info.value.code == "AccessDenied"


def test_assume_role_with_mfa_parameters(service: TokenService, store: IdentityService, clock: Clock) -> None:
    serial, seed = _enable_mfa(store, clock, "alice")
    clock.now += 30
    result = service.assume_role(
        caller(store, "alice"),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/MfaRole",
        role_session_name="mm",
        serial_number=serial,
        token_code=totp.totp(seed, clock.now),
    )
    assert result.claims.mfa_authenticated
    with pytest.raises(STSError) as info:  # someone else's serial number
        service.assume_role(
            caller(store, "alice"),
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/MfaRole",
            role_session_name="mm",
            serial_number=f"arn:aws:iam::{ACCOUNT}:mfa/nobody",
            token_code=totp.totp(seed, clock.now + 30),
        )
    assert info.value.code == "AccessDenied"


def test_session_credentials_cannot_get_session_tokens(service: TokenService, store: IdentityService) -> None:
    """https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html (long-term credentials only)"""
    principal, claims = _session(
        service, service.assume_role(caller(store, "alice"), role_arn=DEPLOY, role_session_name="ss")
    )
    for call in (
        lambda: service.get_session_token(principal, session=claims),
        lambda: service.get_federation_token(principal, session=claims, name="Bob"),
    ):
        with pytest.raises(STSError) as info:
            call()
        assert info.value.code == "AccessDenied"


def test_federated_user_gets_the_intersection(service: TokenService, store: IdentityService) -> None:
    """https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html (permissions are
    the intersection of the IAM user's policies and the session policies)"""
    wide = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "ec2:*"], "Resource": "*"}],
        }
    )
    for user, expect_get in (("alice", True), ("carol", False)):
        result = service.get_federation_token(caller(store, user), name="Bob", policy=wide)
        principal, claims = _session(service, result)
        assert principal.arn == f"arn:aws:sts::{ACCOUNT}:federated-user/Bob"
        policies = session_policy_set(claims, store)
        assert (
            evaluate(Request(principal, "s3:GetObject", "arn:aws:s3:::b/k"), policies).allowed is expect_get
        )
        assert not evaluate(Request(principal, "s3:PutObject", "arn:aws:s3:::b/k"), policies).allowed
        assert not evaluate(Request(principal, "ec2:RunInstances", "*"), policies).allowed  # user lacks ec2


def test_federated_session_names_its_parent_in_parent_arn(
    service: TokenService, store: IdentityService
) -> None:
    """GetFederationToken sessions carry the calling user in ``parent_arn`` (AWS gives federated users
    no session name); tokens minted before the claim, with the parent in ``session_name``, keep
    their permissions.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html"""
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    alice = caller(store, "alice")
    principal, claims = _session(service, service.get_federation_token(alice, name="Bob", policy=policy))
    assert claims.federated and claims.parent_arn == alice.arn and claims.session_name is None
    assert principal.session_name is None
    request = Request(principal, "s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate(request, session_policy_set(claims, store)).allowed
    legacy_credentials, _ = service.tokens.issue(
        arn=claims.arn,
        account=claims.account,
        principal_type=claims.principal_type,
        user_id=claims.user_id,
        duration_seconds=3600,
        session_name=alice.arn,
        session_policy=claims.session_policy,
        federated=True,
    )
    legacy = service.tokens.verify(legacy_credentials.session_token)
    assert legacy.parent_arn is None and legacy.session_name == alice.arn
    assert evaluate(request, session_policy_set(legacy, store)).allowed
    carol = caller(store, "carol")  # a parent without s3:GetObject caps the same session policy
    _, capped = _session(service, service.get_federation_token(carol, name="Bob", policy=policy))
    assert capped.parent_arn == carol.arn
    assert not evaluate(request, session_policy_set(capped, store)).allowed


def test_federated_user_without_policy_has_no_permissions(
    service: TokenService, store: IdentityService
) -> None:
    result = service.get_federation_token(caller(store, "alice"), name="Bob")
    principal, claims = _session(service, result)
    assert not evaluate(
        Request(principal, "s3:GetObject", "arn:aws:s3:::b/k"), session_policy_set(claims, store)
    ).allowed
    assert service.get_caller_identity(principal).arn == principal.arn
    with pytest.raises(STSError) as info:
        service.assume_role(principal, session=claims, role_arn=DEPLOY, role_session_name="ss")
    assert info.value.code == "AccessDenied"


# ---------------------------------------------------------------- federation into roles


class StubOidcVerifier:
    """Stands in for OidcVerifier (exercised against a real issuer in test_oidc / test_boto3_endpoint)."""

    def __init__(self, subject: str, extra: dict[str, Any] | None = None) -> None:
        self.subject = subject
        self.extra = extra or {}
        self.seen: list[tuple[str, OidcProvider]] = []

    def verify(self, token: str, provider: OidcProvider) -> WebIdentityClaims:
        self.seen.append((token, provider))
        return WebIdentityClaims(
            provider.url,
            self.subject,
            provider.client_ids[0],
            {"iss": provider.url, "sub": self.subject, "aud": provider.client_ids[0], **self.extra},
        )


def _unsigned_jwt(issuer: str) -> str:
    import jwt

    return jwt.encode({"iss": issuer, "sub": "x"}, "k" * 32, algorithm="HS256")


@pytest.mark.parametrize(
    ("subject", "allowed"), [("repo:acme/app:ref:refs/heads/main", True), ("repo:evil/app", False)]
)
def test_web_identity_trust_conditions(
    store: IdentityService, clock: Clock, subject: str, allowed: bool
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc.html (trust policy with
    Federated provider ARN and <provider>:sub / :aud conditions)"""
    issuer = "https://token.actions.example.com"
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.example.com"
    store.create_role(
        "Ci",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"token.actions.example.com:aud": "sts.amazonaws.com"},
                        "StringLike": {"token.actions.example.com:sub": "repo:acme/*"},
                    },
                }
            ],
        },
    )
    verifier = StubOidcVerifier(subject)
    service = TokenService(
        store,
        SessionTokenService(KeyRing.generate(clock=clock), clock=clock),
        clock=clock,
        oidc_providers={provider_arn: OidcProvider(issuer, ("sts.amazonaws.com",))},
        oidc_verifier=verifier,
    )

    def call() -> Any:
        return service.assume_role_with_web_identity(
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/Ci",
            role_session_name="gha",
            web_identity_token=_unsigned_jwt(issuer),
        )

    if not allowed:
        with pytest.raises(STSError) as info:
            call()
        assert info.value.code == "AccessDenied"
        return
    result = call()
    assert result.subject_from_web_identity_token == subject
    assert result.provider == "token.actions.example.com" and result.audience == "sts.amazonaws.com"
    assert result.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Ci/gha"


def test_web_identity_unknown_provider(service: TokenService) -> None:
    with pytest.raises(STSError) as info:
        service.assume_role_with_web_identity(
            role_arn=DEPLOY,
            role_session_name="xx",
            web_identity_token=_unsigned_jwt("https://unknown.example.com"),
        )
    assert info.value.code == "InvalidIdentityToken"


def test_saml_end_to_end(clock: Clock) -> None:
    """AssumeRoleWithSAML through the SAML engineer's verifier with a real signed assertion.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
    from . import test_saml as saml_fixtures

    key = saml_fixtures.make_key()
    store = build_store("123456789012", clock)
    store.create_role(
        "SamlRole",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": saml_fixtures.PROVIDER_ARN},
                    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                    "Condition": {"StringEquals": {"SAML:aud": AWS_SAML_AUDIENCE}},
                }
            ],
        },
    )
    verifier = saml_fixtures.make_verifier(key)
    service = TokenService(
        store,
        SessionTokenService(KeyRing.generate(clock=clock), clock=clock),
        clock=clock,
        saml_verifier=verifier,
    )
    response = saml_fixtures.make_response(
        key,
        {
            "attributes": {
                saml_fixtures.ATTR + "PrincipalTag:dept": ["eng"],
                saml_fixtures.ATTR + "SessionDuration": ["1800"],
            }
        },
    )
    result = service.assume_role_with_saml(
        role_arn=saml_fixtures.ROLE_ARN, principal_arn=saml_fixtures.PROVIDER_ARN, saml_assertion=response
    )
    assert result.arn == "arn:aws:sts::123456789012:assumed-role/SamlRole/alice"
    assert result.subject == "alice@example.com" and result.subject_type == "persistent"
    assert result.claims.expires_at - result.claims.issued_at == 1800
    assert dict(result.claims.tags) == {"dept": "eng"}
    assert result.name_qualifier
    with pytest.raises(STSError) as info:  # the same assertion again: replay
        service.assume_role_with_saml(
            role_arn=saml_fixtures.ROLE_ARN, principal_arn=saml_fixtures.PROVIDER_ARN, saml_assertion=response
        )
    assert info.value.code == "InvalidIdentityToken"


# ---------------------------------------------------------------- messages and sizes


def test_decode_authorization_message_round_trip(
    service: TokenService, store: IdentityService, codec: AuthorizationMessageCodec
) -> None:
    carol = caller(store, "carol")
    policies = resolve_policy_set(carol, store)
    decision = evaluate(Request(carol, "s3:GetObject", "arn:aws:s3:::b/k"), policies)
    message = build_message(decision, principal=carol, context={}, policies=policies)
    encoded = codec.encode(message)
    decoded = service.decode_authorization_message(caller(store, "alice"), encoded_message=encoded)
    assert json.loads(decoded.decoded_message) == message
    root = service.decode_authorization_message(caller(store, "root"), encoded_message=encoded)
    assert json.loads(root.decoded_message)["allowed"] is False


def test_packed_policy_size_is_documented_compression() -> None:
    assert packed_policy_size(None, (), {}) == 0
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    size = packed_policy_size(policy, (), {})
    assert 0 < size < 10
    # Spacing in the policy does not change the packed size (it is compacted first).
    assert packed_policy_size(json.dumps(json.loads(policy), indent=4), (), {}) == size
    assert PACKED_POLICY_BUDGET == 2048


TAGS_CLAIM = "https://aws.amazon.com/tags"


@pytest.mark.parametrize(
    ("extra", "trust_actions", "outcome"),
    [
        (
            {TAGS_CLAIM: {"principal_tags": {"team": ["red"]}, "transitive_tag_keys": ["team"]}},
            ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            {"tags": {"team": "red"}, "transitive": ["team"]},
        ),
        (
            {TAGS_CLAIM: {"principal_tags": {"team": ["red"]}}},
            ["sts:AssumeRoleWithWebIdentity"],
            "AccessDenied",
        ),
        (
            {"https://aws.amazon.com/source_identity": "alice"},
            ["sts:AssumeRoleWithWebIdentity", "sts:SetSourceIdentity"],
            {"source_identity": "alice"},
        ),
        (
            {"https://aws.amazon.com/source_identity": "alice"},
            ["sts:AssumeRoleWithWebIdentity"],
            "AccessDenied",
        ),
        (
            {TAGS_CLAIM: {"principal_tags": {"team": ["red", "blue"]}}},
            ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "InvalidIdentityToken",
        ),
        (
            {TAGS_CLAIM: {"principal_tags": {"team": ["red"]}, "transitive_tag_keys": ["other"]}},
            ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "InvalidParameterValue",
        ),
    ],
)
def test_web_identity_session_tags_and_source_identity(
    store: IdentityService, clock: Clock, extra: dict[str, Any], trust_actions: list[str], outcome: Any
) -> None:
    """Tags and source identity from the ID token's AWS claims need sts:TagSession / sts:SetSourceIdentity
    in the trust policy. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_adding-assume-role-idp"""
    issuer = "https://idp.example.com"
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/idp.example.com"
    store.create_role(
        "Web",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": trust_actions}
            ],
        },
    )
    service = TokenService(
        store,
        SessionTokenService(KeyRing.generate(clock=clock), clock=clock),
        clock=clock,
        oidc_providers={provider_arn: OidcProvider(issuer, ("app",))},
        oidc_verifier=StubOidcVerifier("user-1", extra),
    )
    kwargs: dict[str, Any] = {
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Web",
        "role_session_name": "web",
        "web_identity_token": _unsigned_jwt(issuer),
    }
    if isinstance(outcome, str):
        with pytest.raises(STSError) as info:
            service.assume_role_with_web_identity(**kwargs)
        assert info.value.code == outcome
        return
    result = service.assume_role_with_web_identity(**kwargs)
    if "tags" in outcome:
        assert dict(result.claims.tags) == outcome["tags"]
        assert list(result.claims.transitive_tag_keys) == outcome["transitive"]
    if "source_identity" in outcome:
        assert result.source_identity == outcome["source_identity"] == result.claims.source_identity


def test_saml_session_not_on_or_after_caps_the_session(clock: Clock) -> None:
    """The session lasts for DurationSeconds or until SessionNotOnOrAfter, whichever is shorter.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
    from . import test_saml as saml_fixtures

    key = saml_fixtures.make_key()
    store = build_store("123456789012", clock)
    store.create_role(
        "SamlRole",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": saml_fixtures.PROVIDER_ARN},
                    "Action": "sts:AssumeRoleWithSAML",
                }
            ],
        },
        max_session_duration=7200,
    )
    service = TokenService(
        store,
        SessionTokenService(KeyRing.generate(clock=clock), clock=clock),
        clock=clock,
        saml_verifier=saml_fixtures.make_verifier(key),
    )
    clock.now = T0 + 1000  # the assertion's AuthnStatement says SessionNotOnOrAfter = T0 + 3600
    result = service.assume_role_with_saml(
        role_arn=saml_fixtures.ROLE_ARN,
        principal_arn=saml_fixtures.PROVIDER_ARN,
        saml_assertion=saml_fixtures.make_response(key),
        duration_seconds=7200,
    )
    assert result.claims.expires_at == T0 + 3600


def test_root_federated_user_gets_the_session_policy(service: TokenService, store: IdentityService) -> None:
    """Root is not governed by IAM policies: its federated users get exactly the session policy.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html"""
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    principal, claims = _session(
        service, service.get_federation_token(caller(store, "root"), name="Ops", policy=policy)
    )
    policies = session_policy_set(claims, store)
    assert evaluate(Request(principal, "s3:GetObject", "arn:aws:s3:::b/k"), policies).allowed
    assert not evaluate(Request(principal, "s3:PutObject", "arn:aws:s3:::b/k"), policies).allowed
