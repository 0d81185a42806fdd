"""The token service: AssumeRole & co. as sans-I/O operations, the STS Query API as WSGI/ASGI
apps, web identity (OIDC) and SAML federation, and the signing keyring.

This module is the public API of ``iamguard.sts``: import from here (or from ``iamguard``). The
modules inside the package (``service``, ``query_api``, ``oidc``, ``saml``, ...) are private;
their names and contents may change between releases (``iamguard.sts.keys`` stays as an alias of
:mod:`iamguard.keyring`, where the keyring moved).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.errors import KeyRingError, STSError
    from iamguard.keyring import ENV_KEYS, ENV_KEYS_FILE, KeyRing, SigningKey
    from iamguard.sts._protocols import MessageCodec, SamlResponseVerifier, WebIdentityVerifier
    from iamguard.sts.asgi import StsAsgiApp
    from iamguard.sts.auth_message import AuthorizationMessageCodec
    from iamguard.sts.keyring_source import (
        FollowingKeyRing,
        keyring_from_env,
        update_keyring_file,
        write_keyring_file,
    )
    from iamguard.sts.oidc import AsyncOidcVerifier, OidcProvider, OidcVerifier, WebIdentityClaims
    from iamguard.sts.query_api import Response, StsEndpoint
    from iamguard.sts.saml import SamlAssertion, SamlProvider, SamlVerifier
    from iamguard.sts.service import (
        AssumeRoleResult,
        AssumeRoleWithSAMLResult,
        AssumeRoleWithWebIdentityResult,
        CallerIdentity,
        DecodedAuthorizationMessage,
        FederationTokenResult,
        SessionTokenResult,
        StsStore,
        Tag,
        TokenService,
    )
    from iamguard.sts.wsgi import StsWsgiApp

_LAZY = {
    "Response": "iamguard.sts.query_api",
    "MessageCodec": "iamguard.sts._protocols",
    "SamlResponseVerifier": "iamguard.sts._protocols",
    "WebIdentityVerifier": "iamguard.sts._protocols",
    "KeyRingError": "iamguard.errors",
    "STSError": "iamguard.errors",
    "ENV_KEYS": "iamguard.keyring",
    "ENV_KEYS_FILE": "iamguard.keyring",
    "KeyRing": "iamguard.keyring",
    "SigningKey": "iamguard.keyring",
    "StsAsgiApp": "iamguard.sts.asgi",
    "AuthorizationMessageCodec": "iamguard.sts.auth_message",
    "FollowingKeyRing": "iamguard.sts.keyring_source",
    "keyring_from_env": "iamguard.sts.keyring_source",
    "update_keyring_file": "iamguard.sts.keyring_source",
    "write_keyring_file": "iamguard.sts.keyring_source",
    "AsyncOidcVerifier": "iamguard.sts.oidc",
    "OidcProvider": "iamguard.sts.oidc",
    "OidcVerifier": "iamguard.sts.oidc",
    "WebIdentityClaims": "iamguard.sts.oidc",
    "StsEndpoint": "iamguard.sts.query_api",
    "SamlAssertion": "iamguard.sts.saml",
    "SamlProvider": "iamguard.sts.saml",
    "SamlVerifier": "iamguard.sts.saml",
    "AssumeRoleResult": "iamguard.sts.service",
    "AssumeRoleWithSAMLResult": "iamguard.sts.service",
    "AssumeRoleWithWebIdentityResult": "iamguard.sts.service",
    "CallerIdentity": "iamguard.sts.service",
    "DecodedAuthorizationMessage": "iamguard.sts.service",
    "FederationTokenResult": "iamguard.sts.service",
    "SessionTokenResult": "iamguard.sts.service",
    "StsStore": "iamguard.sts.service",
    "Tag": "iamguard.sts.service",
    "TokenService": "iamguard.sts.service",
    "StsWsgiApp": "iamguard.sts.wsgi",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "ENV_KEYS",
    "ENV_KEYS_FILE",
    "AssumeRoleResult",
    "AssumeRoleWithSAMLResult",
    "AssumeRoleWithWebIdentityResult",
    "AsyncOidcVerifier",
    "AuthorizationMessageCodec",
    "CallerIdentity",
    "DecodedAuthorizationMessage",
    "FederationTokenResult",
    "FollowingKeyRing",
    "KeyRing",
    "KeyRingError",
    "MessageCodec",
    "OidcProvider",
    "OidcVerifier",
    "Response",
    "STSError",
    "SamlAssertion",
    "SamlProvider",
    "SamlResponseVerifier",
    "SamlVerifier",
    "SessionTokenResult",
    "SigningKey",
    "StsAsgiApp",
    "StsEndpoint",
    "StsStore",
    "StsWsgiApp",
    "Tag",
    "TokenService",
    "WebIdentityClaims",
    "WebIdentityVerifier",
    "keyring_from_env",
    "update_keyring_file",
    "write_keyring_file",
]
