"""Stage 1 of the request path: who signed the request? SigV4 (header or presigned), STS session
tokens and bearer tokens, all sans-I/O (authenticators yield store lookups, never do I/O).

This module is the public API of ``iamguard.authn``: import from here (or from ``iamguard``). The
modules inside the package (``sigv4``, ``canonical``, ``session_token``, ...) are private; their
names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.authn.authenticators import (
        ANONYMOUS,
        AnonymousAuthenticator,
        Authenticated,
        Authenticator,
        AuthFlow,
        BearerAuthenticator,
        SigV4Authenticator,
    )
    from iamguard.authn.chunked import DecodedPayload, compute_checksum, decode_aws_chunked
    from iamguard.authn.context import ContextBuilder, RequestMeta
    from iamguard.authn.request_view import RequestView, wire_view
    from iamguard.authn.session_token import (
        IssuedCredentials,
        SessionClaims,
        SessionTokenService,
        is_session_access_key_id,
    )
    from iamguard.authn.sigv4 import (
        QueryReading,
        SigV4Claim,
        SigV4Dialect,
        VerifiedRequest,
        WrongRegionError,
        parse_sigv4,
        parse_sigv4_read,
        verify_claim,
        verify_sigv4,
    )
    from iamguard.errors import PayloadRequiredError
    from iamguard.keyring import KeyRing, SigningKey
    from iamguard.lookups import GET_GENERATION, GetAccessKey, GetGeneration, ResolvePrincipal

_LAZY = {
    "SigV4Dialect": "iamguard.authn.sigv4",
    "GET_GENERATION": "iamguard.lookups",
    "GetAccessKey": "iamguard.lookups",
    "GetGeneration": "iamguard.lookups",
    "ResolvePrincipal": "iamguard.lookups",
    "ANONYMOUS": "iamguard.authn.authenticators",
    "AnonymousAuthenticator": "iamguard.authn.authenticators",
    "AuthFlow": "iamguard.authn.authenticators",
    "Authenticated": "iamguard.authn.authenticators",
    "Authenticator": "iamguard.authn.authenticators",
    "BearerAuthenticator": "iamguard.authn.authenticators",
    "SigV4Authenticator": "iamguard.authn.authenticators",
    "DecodedPayload": "iamguard.authn.chunked",
    "compute_checksum": "iamguard.authn.chunked",
    "decode_aws_chunked": "iamguard.authn.chunked",
    "ContextBuilder": "iamguard.authn.context",
    "RequestMeta": "iamguard.authn.context",
    "RequestView": "iamguard.authn.request_view",
    "wire_view": "iamguard.authn.request_view",
    "IssuedCredentials": "iamguard.authn.session_token",
    "SessionClaims": "iamguard.authn.session_token",
    "SessionTokenService": "iamguard.authn.session_token",
    "is_session_access_key_id": "iamguard.authn.session_token",
    "QueryReading": "iamguard.authn.sigv4",
    "SigV4Claim": "iamguard.authn.sigv4",
    "VerifiedRequest": "iamguard.authn.sigv4",
    "WrongRegionError": "iamguard.authn.sigv4",
    "parse_sigv4": "iamguard.authn.sigv4",
    "parse_sigv4_read": "iamguard.authn.sigv4",
    "verify_claim": "iamguard.authn.sigv4",
    "verify_sigv4": "iamguard.authn.sigv4",
    "PayloadRequiredError": "iamguard.errors",
    "KeyRing": "iamguard.keyring",
    "SigningKey": "iamguard.keyring",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "ANONYMOUS",
    "GET_GENERATION",
    "AnonymousAuthenticator",
    "AuthFlow",
    "Authenticated",
    "Authenticator",
    "BearerAuthenticator",
    "ContextBuilder",
    "DecodedPayload",
    "GetAccessKey",
    "GetGeneration",
    "IssuedCredentials",
    "KeyRing",
    "PayloadRequiredError",
    "QueryReading",
    "RequestMeta",
    "RequestView",
    "ResolvePrincipal",
    "SessionClaims",
    "SessionTokenService",
    "SigV4Authenticator",
    "SigV4Claim",
    "SigV4Dialect",
    "SigningKey",
    "VerifiedRequest",
    "WrongRegionError",
    "compute_checksum",
    "decode_aws_chunked",
    "is_session_access_key_id",
    "parse_sigv4",
    "parse_sigv4_read",
    "verify_claim",
    "verify_sigv4",
    "wire_view",
]
