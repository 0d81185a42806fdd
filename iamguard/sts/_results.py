"""The values STS operations take and return: session tags and one frozen result per operation.

Part of ``sts/``. :mod:`iamguard.sts.query_api` renders these as AWS's XML; each mirrors the
operation's ``...Result`` element in the API reference.
https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iamguard.authn.session_token import IssuedCredentials, SessionClaims

__all__ = [
    "AssumeRoleResult",
    "AssumeRoleWithSAMLResult",
    "AssumeRoleWithWebIdentityResult",
    "CallerIdentity",
    "DecodedAuthorizationMessage",
    "FederationTokenResult",
    "SessionTokenResult",
    "Tag",
]


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
    """``AssumeRoleWithWebIdentity``'s answer: the session's credentials and who the token named."""

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
    """``AssumeRoleWithSAML``'s answer: the session's credentials and the assertion's subject."""

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
    """``GetSessionToken``'s answer: temporary credentials for the calling user."""

    credentials: IssuedCredentials
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class FederationTokenResult:
    """``GetFederationToken``'s answer: a federated user's credentials and ARN."""

    credentials: IssuedCredentials
    federated_user_id: str
    arn: str
    packed_policy_size: int
    claims: SessionClaims = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """``GetCallerIdentity``'s answer: the caller's user id, account and ARN."""

    user_id: str
    account: str
    arn: str


@dataclass(frozen=True, slots=True)
class DecodedAuthorizationMessage:
    """``DecodeAuthorizationMessage``'s answer: the decision behind a denial, as JSON text."""

    decoded_message: str
