"""The client side: credentials, the provider chain, refresh, and SigV4 request signing.

This module is the public API of ``iamguard.credentials``: import from here (or from
``iamguard``). The modules inside the package (``chain``, ``refresh``, ``signer``, ``sources``,
...) are private; their names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.credentials._http import HttpSettings
    from iamguard.credentials.auth import RequestsSigV4Auth, SigV4Auth
    from iamguard.credentials.chain import (
        Attempt,
        ChainExplanation,
        ChainSettings,
        CredentialChain,
        default_credential_chain,
    )
    from iamguard.credentials.config_files import Profile, ProfileScope, SharedConfig, load_shared_config
    from iamguard.credentials.endpoints import resolve_endpoint_url
    from iamguard.credentials.provider import (
        AsyncCredentialProvider,
        CredentialProvider,
        Credentials,
        CredentialSource,
    )
    from iamguard.credentials.refresh import (
        AsyncRefreshableCredentials,
        RefreshableCredentials,
        RefreshWindows,
    )
    from iamguard.credentials.server import CredentialsServer
    from iamguard.credentials.signer import (
        SigningCredentials,
        StaticCredentials,
        presign_request,
        presign_url,
        sign_request,
        sign_url,
    )
    from iamguard.credentials.sts_client import StsClient, sts_client_for
    from iamguard.errors import (
        CredentialsError,
        EndpointUnavailable,
        NoCredentialsError,
        PartialCredentialsError,
        RefreshError,
    )

_LAZY = {
    "SigningCredentials": "iamguard.credentials.signer",
    "CredentialSource": "iamguard.credentials.provider",
    "HttpSettings": "iamguard.credentials._http",
    "RequestsSigV4Auth": "iamguard.credentials.auth",
    "SigV4Auth": "iamguard.credentials.auth",
    "Attempt": "iamguard.credentials.chain",
    "ChainExplanation": "iamguard.credentials.chain",
    "ChainSettings": "iamguard.credentials.chain",
    "CredentialChain": "iamguard.credentials.chain",
    "default_credential_chain": "iamguard.credentials.chain",
    "Profile": "iamguard.credentials.config_files",
    "ProfileScope": "iamguard.credentials.config_files",
    "SharedConfig": "iamguard.credentials.config_files",
    "load_shared_config": "iamguard.credentials.config_files",
    "resolve_endpoint_url": "iamguard.credentials.endpoints",
    "AsyncCredentialProvider": "iamguard.credentials.provider",
    "CredentialProvider": "iamguard.credentials.provider",
    "Credentials": "iamguard.credentials.provider",
    "AsyncRefreshableCredentials": "iamguard.credentials.refresh",
    "RefreshWindows": "iamguard.credentials.refresh",
    "RefreshableCredentials": "iamguard.credentials.refresh",
    "CredentialsServer": "iamguard.credentials.server",
    "StaticCredentials": "iamguard.credentials.signer",
    "presign_request": "iamguard.credentials.signer",
    "presign_url": "iamguard.credentials.signer",
    "sign_request": "iamguard.credentials.signer",
    "sign_url": "iamguard.credentials.signer",
    "StsClient": "iamguard.credentials.sts_client",
    "sts_client_for": "iamguard.credentials.sts_client",
    "CredentialsError": "iamguard.errors",
    "EndpointUnavailable": "iamguard.errors",
    "NoCredentialsError": "iamguard.errors",
    "PartialCredentialsError": "iamguard.errors",
    "RefreshError": "iamguard.errors",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "AsyncCredentialProvider",
    "AsyncRefreshableCredentials",
    "Attempt",
    "ChainExplanation",
    "ChainSettings",
    "CredentialChain",
    "CredentialProvider",
    "CredentialSource",
    "Credentials",
    "CredentialsError",
    "CredentialsServer",
    "EndpointUnavailable",
    "HttpSettings",
    "NoCredentialsError",
    "PartialCredentialsError",
    "Profile",
    "ProfileScope",
    "RefreshError",
    "RefreshWindows",
    "RefreshableCredentials",
    "RequestsSigV4Auth",
    "SharedConfig",
    "SigV4Auth",
    "SigningCredentials",
    "StaticCredentials",
    "StsClient",
    "default_credential_chain",
    "load_shared_config",
    "presign_request",
    "presign_url",
    "resolve_endpoint_url",
    "sign_request",
    "sign_url",
    "sts_client_for",
]
