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

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None:
        """The stored user, role or root that ``arn`` names, with its policies; ``None`` if unknown."""

    def get_role(self, name: str) -> Role:
        """IAM ``GetRole`` (raises ``NoSuchEntityError``)."""

    def get_policy(self, arn: str) -> ManagedPolicy:
        """IAM ``GetPolicy`` (raises ``NoSuchEntityError``)."""

    def list_mfa_devices(self, user_name: str | None = None, *, root: bool = False) -> list[MfaDevice]:
        """The MFA devices of a user (or of the root user)."""

    def verify_mfa_code(self, user_name: str | None, code: str) -> bool:
        """Whether ``code`` is a current, unused TOTP code of the user's MFA device."""


class WebIdentityVerifier(Protocol):
    """Verifies an OIDC ID token for a provider (:class:`~iamguard.sts.oidc.OidcVerifier` conforms)."""

    def verify(self, token: str, provider: OidcProvider) -> WebIdentityClaims:
        """The claims of a genuine, current ID token for ``provider``; raises otherwise."""


class SamlResponseVerifier(Protocol):
    """Verifies a base64 SAML response (:class:`~iamguard.sts.saml.SamlVerifier` conforms)."""

    def verify(self, saml_response_b64: str, provider_arn: str, role_arn: str) -> SamlAssertion:
        """The assertion of a genuine, current SAML response for the provider and role; raises otherwise."""


class MessageCodec(Protocol):
    """Seals and opens authorization messages (:class:`~iamguard.sts.auth_message.AuthorizationMessageCodec`)."""

    def encode(self, message: Mapping[str, Any]) -> str:
        """Seal a decision's details into an encoded authorization message."""

    def decode(self, text: str) -> dict[str, Any]:
        """Open an encoded message; raises if it was not sealed by this codec's keys."""


class ManagedPolicySource(Protocol):
    """The read path session policies resolve principals and managed policies through."""

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None: ...
