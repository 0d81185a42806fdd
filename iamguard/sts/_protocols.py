"""The seams :class:`~iamguard.sts.service.TokenService` reads through: store, IdP verifiers, message codec.

Part of ``sts/``. Each is a small :class:`typing.Protocol`; iamguard's own implementations
(``IdentityService``, ``OidcVerifier``, ``SamlVerifier``, ``AuthorizationMessageCodec``) conform
structurally, so tests and embedders can pass their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from iamguard.store.records import ManagedPolicy, MfaDevice, ResolvedPrincipal, Role
    from iamguard.sts.oidc import OidcProvider, WebIdentityClaims
    from iamguard.sts.saml import SamlAssertion

__all__ = ["ManagedPolicySource", "MessageCodec", "SamlResponseVerifier", "StsStore", "WebIdentityVerifier"]


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


class ManagedPolicySource(Protocol):
    """The read path session policies resolve principals and managed policies through."""

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None: ...
