"""Credential providers, one module per place credentials can be configured.

Each provider works alone (``load() -> Credentials | None``) and also offers
``load_or_reason()`` so :meth:`CredentialChain.explain` can say why it was skipped.
"""

from iamguard.credentials.sources.container import ContainerProvider
from iamguard.credentials.sources.env import EnvProvider
from iamguard.credentials.sources.explicit import ExplicitProvider
from iamguard.credentials.sources.imds import ImdsProvider
from iamguard.credentials.sources.process import ProcessProvider
from iamguard.credentials.sources.profile import AssumeRoleProvider, SharedStaticProvider
from iamguard.credentials.sources.web_identity import WebIdentityProvider

__all__ = [
    "AssumeRoleProvider",
    "ContainerProvider",
    "EnvProvider",
    "ExplicitProvider",
    "ImdsProvider",
    "ProcessProvider",
    "SharedStaticProvider",
    "WebIdentityProvider",
]
