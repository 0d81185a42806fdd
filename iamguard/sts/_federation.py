"""Identity-provider steps of AssumeRoleWithWebIdentity and AssumeRoleWithSAML.

Part of ``sts/``. Which registered OIDC provider a web identity token belongs to (by its
unverified ``iss``, before :class:`~iamguard.sts.oidc.OidcVerifier` checks the signature against
that provider's keys), and how a SAML assertion's ``SessionNotOnOrAfter`` caps the session.

Providers come from configuration (``TokenService(oidc_providers=...)``, ``SamlVerifier``'s
registry) and, for anything configuration does not name, from the account's store, where the IAM
API's ``CreateOpenIDConnectProvider`` / ``CreateSAMLProvider`` put them.
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import jwt

from iamguard.errors import NoSuchEntityError, STSError
from iamguard.sts._params import ROLE_RANGE

if TYPE_CHECKING:
    from iamguard.sts.oidc import OidcProvider
    from iamguard.sts.saml import SamlProvider

__all__ = ["oidc_provider_for", "saml_session_cap", "stored_oidc_provider", "stored_saml_provider"]

OidcLookup = Mapping[str, "OidcProvider"] | Callable[[str], "OidcProvider | None"]


def oidc_provider_for(
    token: str, account: str, partition: str, providers: OidcLookup
) -> tuple[str, OidcProvider]:
    """The registered provider of the token's issuer in the role's account (``providers``: a
    mapping or a lookup function of the provider ARN)."""
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise STSError(
            "The ID token provided is not a valid JWT.", code="InvalidIdentityToken", http_status=400
        ) from None
    if isinstance(issuer, str):
        host = issuer.split("://", 1)[-1]
        provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{host}"
        provider = providers.get(provider_arn) if isinstance(providers, Mapping) else providers(provider_arn)
        if provider is not None and provider.url == issuer:
            return provider_arn, provider
    raise STSError(
        "No OpenIDConnect provider found in your account for the token's issuer",
        code="InvalidIdentityToken",
        http_status=400,
    )


def saml_session_cap(duration: int, not_on_or_after: float | None, now: float) -> int:
    """ "Your role session lasts for the duration that you specify, or until the time specified in
    the SAML authentication response's SessionNotOnOrAfter value, whichever is shorter."
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
    if not_on_or_after is None:
        return duration
    remaining = int(not_on_or_after - now)
    if remaining < ROLE_RANGE[0]:
        raise STSError(
            "The SAML assertion's SessionNotOnOrAfter leaves less than the 15-minute minimum session",
            code="InvalidIdentityToken",
            http_status=400,
        )
    return min(duration, remaining)


def stored_oidc_provider(store: object, arn: str) -> OidcProvider | None:
    """The OIDC provider ``arn`` as the store registered it (IAM ``CreateOpenIDConnectProvider``),
    or None when the store keeps no such provider (or no providers at all)."""
    from iamguard.sts.oidc import OidcProvider

    get = getattr(store, "get_open_id_connect_provider", None)
    if get is None:
        return None
    try:
        record = get(arn)
    except NoSuchEntityError:
        return None
    if not record.client_ids:  # registered, but no audience can match
        raise STSError("Incorrect token audience", code="InvalidIdentityToken", http_status=400)
    return OidcProvider(record.url, tuple(record.client_ids), tuple(record.thumbprints))


def stored_saml_provider(store: object, arn: str) -> SamlProvider | None:
    """The SAML provider ``arn`` as the store registered it (IAM ``CreateSAMLProvider``), or None."""
    from iamguard.sts.saml import SamlProvider

    get = getattr(store, "get_saml_provider", None)
    if get is None:
        return None
    try:
        record = get(arn)
    except NoSuchEntityError:
        return None
    return SamlProvider(record.arn, record.metadata_document)
