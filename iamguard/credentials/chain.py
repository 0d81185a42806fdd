"""The credential chain: an ordered tuple of provider factories, declared as data.

**Roles first** (:data:`ROLES_FIRST_ORDER`, the default)::

    explicit → web-identity → assume-role (profile role_arn) → container → process
             → env (static keys) → shared-files (static keys) → imds

* Explicit keys come first: the caller passed them in code, nothing is more deliberate.
* Configured roles (web identity, a profile's ``role_arn``, the ECS/EKS container endpoint)
  come before long-term static keys, so a forgotten ``AWS_ACCESS_KEY_ID`` in a shell does not
  silently replace the role the deployment configured. When static keys do win while a role
  is also configured further down (botocore's order puts env first), a warning is logged.
* ``credential_process`` is an explicit opt-in of the profile, so it precedes static keys.
* IMDS is last: it is only *discoverable* by probing the network (a 1 s connect timeout off
  EC2), and on EC2 it always answers, so anything placed after it would be unreachable.
  ``AWS_EC2_METADATA_DISABLED=true`` skips it entirely.

A ``profile`` passed explicitly disables the environment's static keys, as botocore does
(``create_credential_resolver``): the caller chose a profile.

:func:`botocore_order` reproduces botocore's ``create_credential_resolver``: env,
assume-role, web identity, *SSO (not supported by iamguard: skipped)*, shared credentials
file, credential_process, config file, *legacy boto2 files (skipped)*, container, IMDS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iamguard.credentials.config_files import ProfileScope, SharedConfig
from iamguard.credentials.provider import CredentialProvider, Credentials
from iamguard.credentials.refresh import (
    AsyncRefreshableCredentials,
    Clock,
    RefreshableCredentials,
    RefreshWindows,
)
from iamguard.credentials.sources import (
    AssumeRoleProvider,
    ContainerProvider,
    EnvProvider,
    ExplicitProvider,
    ImdsProvider,
    ProcessProvider,
    SharedStaticProvider,
    WebIdentityProvider,
)
from iamguard.credentials.sources.profile import MfaCodeCallback
from iamguard.errors import IAMGuardError, NoCredentialsError

__all__ = [
    "BOTOCORE_ORDER",
    "NETWORK_PROVIDERS",
    "ROLES_FIRST_ORDER",
    "Attempt",
    "ChainExplanation",
    "ChainSettings",
    "CredentialChain",
    "ProviderFactory",
    "botocore_order",
    "default_credential_chain",
    "roles_first_order",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChainSettings:
    """Everything the factories need; no parsing happens here."""

    env: Mapping[str, str] | None = None
    profile: str | None = None
    config: SharedConfig | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    mfa_code: MfaCodeCallback | None = None

    @property
    def scope(self) -> ProfileScope:
        """Where this chain's profile-based providers look (environment, profile, files)."""
        return ProfileScope(env=self.env, profile=self.profile, config=self.config)


#: Builds one provider from the settings, or ``None`` when it does not take part in this chain.
ProviderFactory = Callable[[ChainSettings], "CredentialProvider | None"]


def _explicit(s: ChainSettings) -> CredentialProvider:
    return ExplicitProvider(s.access_key_id, s.secret_access_key, s.session_token)


def _env(s: ChainSettings) -> CredentialProvider | None:
    return None if s.profile else EnvProvider(s.env)


def _web_identity(s: ChainSettings) -> CredentialProvider:
    return WebIdentityProvider(s.scope, use_env=not s.profile)


def _assume_role(s: ChainSettings) -> CredentialProvider:
    return AssumeRoleProvider(s.scope, mfa_code=s.mfa_code)


def _container(s: ChainSettings) -> CredentialProvider:
    return ContainerProvider(s.env)


def _process(s: ChainSettings) -> CredentialProvider:
    return ProcessProvider(s.scope)


def _shared_files(s: ChainSettings) -> CredentialProvider:
    return SharedStaticProvider(s.scope, files="both")


def _credentials_file(s: ChainSettings) -> CredentialProvider:
    return SharedStaticProvider(s.scope, files="credentials")


def _config_file(s: ChainSettings) -> CredentialProvider:
    return SharedStaticProvider(s.scope, files="config")


def _imds(s: ChainSettings) -> CredentialProvider:
    return ImdsProvider(s.scope)


ROLES_FIRST_ORDER: tuple[ProviderFactory, ...] = (
    _explicit,
    _web_identity,
    _assume_role,
    _container,
    _process,
    _env,
    _shared_files,
    _imds,
)
BOTOCORE_ORDER: tuple[ProviderFactory, ...] = (
    _explicit,  # botocore: keys passed to Session/client bypass the resolver entirely
    _env,
    _assume_role,
    _web_identity,
    # SSO (sso_session / sso_start_url) is not supported by iamguard: no provider here.
    _credentials_file,
    _process,
    _config_file,
    # boto2 legacy files (/etc/boto.cfg, ~/.boto) are not supported: no provider here.
    _container,
    _imds,
)


#: Providers that call the network to find credentials (STS, the container endpoint, IMDS):
#: an offline chain (a dry run) names them in its explanation but never calls them.
NETWORK_PROVIDERS: frozenset[ProviderFactory] = frozenset({_web_identity, _assume_role, _container, _imds})


class _NotContacted:
    """Stands in for a network provider in an offline chain: listed, skipped, never called."""

    role = False

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self) -> Credentials | None:
        return None

    def load_or_reason(self) -> str:
        return "not contacted (offline: it would call the network)"


def roles_first_order() -> tuple[ProviderFactory, ...]:
    return ROLES_FIRST_ORDER


def botocore_order() -> tuple[ProviderFactory, ...]:
    return BOTOCORE_ORDER


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one provider did during resolution: ``used``, ``skipped``, ``failed`` or ``not tried``."""

    provider: str
    outcome: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.provider:<24} {self.outcome:<10} {self.reason}".rstrip()


@dataclass(frozen=True, slots=True)
class ChainExplanation:
    """The outcome of a resolution, printable; holds no secrets."""

    winner: str | None
    attempts: tuple[Attempt, ...]
    access_key_id: str | None = None
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = (
            f"credentials from {self.winner} (access key {self.access_key_id})"
            if self.winner
            else "no credentials found"
        )
        return "\n".join(
            [head, *(f"  {a}" for a in self.attempts), *(f"  warning: {w}" for w in self.warnings)]
        )


def _try(provider: CredentialProvider) -> Credentials | str:
    load_or_reason = getattr(provider, "load_or_reason", None)
    if callable(load_or_reason):
        result: Any = load_or_reason()
        return result if isinstance(result, (Credentials, str)) else "returned nothing"
    found = provider.load()
    return found if found is not None else "not configured"


class CredentialChain:
    """Tries providers in order; the first with credentials wins. Itself a provider (``load``)."""

    name = "chain"

    def __init__(
        self,
        providers: Iterable[CredentialProvider],
        *,
        clock: Clock | None = None,
        windows: RefreshWindows | None = None,
        jitter: float = 0.1,
    ) -> None:
        self.providers: tuple[CredentialProvider, ...] = tuple(providers)
        self._clock = clock
        self._windows = windows
        self._jitter = jitter

    def _run(
        self, *, capture_errors: bool
    ) -> tuple[Credentials | None, CredentialProvider | None, list[Attempt]]:
        attempts: list[Attempt] = []
        for index, provider in enumerate(self.providers):
            try:
                result = _try(provider)
            except IAMGuardError as exc:
                if not capture_errors:
                    raise
                attempts.append(Attempt(provider.name, "failed", f"{type(exc).__name__}: {exc}"))
                attempts += [Attempt(p.name, "not tried") for p in self.providers[index + 1 :]]
                return None, None, attempts
            if isinstance(result, Credentials):
                attempts.append(
                    Attempt(provider.name, "used", "temporary" if result.is_temporary else "long-term")
                )
                attempts += [Attempt(p.name, "not tried") for p in self.providers[index + 1 :]]
                return result, provider, attempts
            attempts.append(Attempt(provider.name, "skipped", result))
        return None, None, attempts

    def _role_warnings(self, winner: CredentialProvider, credentials: Credentials) -> tuple[str, ...]:
        if credentials.is_temporary or winner.name == "explicit":  # keys passed in code are deliberate
            return ()
        later = self.providers[self.providers.index(winner) + 1 :]
        roles = [p.name for p in later if getattr(p, "role", False) and _configured(p)]
        if not roles:
            return ()
        message = (
            f"using long-term access keys from {winner.name} although a role is also configured "
            f"({', '.join(roles)}); remove the static keys to use the role"
        )
        logger.warning(message)
        return (message,)

    def load(self) -> Credentials | None:
        """The first provider's credentials in chain order, or ``None``; see :meth:`resolve`."""
        credentials, winner, _ = self._run(capture_errors=False)
        if credentials is not None and winner is not None:
            self._role_warnings(winner, credentials)
        return credentials

    def resolve(self) -> Credentials | RefreshableCredentials:
        """Credentials to use: a fixed value, or self-refreshing ones when they expire."""
        credentials, winner, attempts = self._run(capture_errors=False)
        if credentials is None or winner is None:
            tried = "; ".join(f"{a.provider}: {a.reason}" for a in attempts)
            raise NoCredentialsError(f"no credentials found (tried {tried}); configure one of these sources")
        self._role_warnings(winner, credentials)
        if credentials.expiration is None:
            return credentials
        return RefreshableCredentials(
            winner.load,
            initial=credentials,
            clock=self._clock,
            windows=self._windows,
            jitter=self._jitter,
            name=winner.name,
        )

    async def aresolve(self) -> Credentials | AsyncRefreshableCredentials:
        """Async :meth:`resolve`: HTTP providers use ``aload``, the rest run in a worker thread."""
        credentials, winner, attempts = await asyncio.to_thread(self._run, capture_errors=False)
        if credentials is None or winner is None:
            tried = "; ".join(f"{a.provider}: {a.reason}" for a in attempts)
            raise NoCredentialsError(f"no credentials found (tried {tried}); configure one of these sources")
        self._role_warnings(winner, credentials)
        if credentials.expiration is None:
            return credentials
        aload = getattr(winner, "aload", None)
        sync_load = winner.load

        async def refresh() -> Credentials | None:
            if callable(aload):
                found: Credentials | None = await aload()
                return found
            return await asyncio.to_thread(sync_load)

        return AsyncRefreshableCredentials(
            refresh,
            initial=credentials,
            clock=self._clock,
            windows=self._windows,
            jitter=self._jitter,
            name=winner.name,
        )

    def explain(self) -> ChainExplanation:
        """Resolve once more and report which provider won, what was tried, and why each was skipped."""
        credentials, winner, attempts = self._run(capture_errors=True)
        warnings = self._role_warnings(winner, credentials) if credentials and winner else ()
        return ChainExplanation(
            winner.name if winner else None,
            tuple(attempts),
            credentials.access_key_id if credentials else None,
            warnings,
        )


def _configured(provider: CredentialProvider) -> bool:
    check = getattr(provider, "is_configured", None)
    try:
        return bool(check()) if callable(check) else False
    except IAMGuardError:
        return False


def default_credential_chain(
    env: Mapping[str, str] | None = None,
    profile: str | None = None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    mfa_code: MfaCodeCallback | None = None,
    config: SharedConfig | None = None,
    order: Iterable[ProviderFactory] = ROLES_FIRST_ORDER,
    clock: Clock | None = None,
    windows: RefreshWindows | None = None,
    offline: bool = False,
) -> CredentialChain:
    """The roles-first chain (or ``order=botocore_order()``) for ``env`` (default ``os.environ``).

    ``offline=True`` (a dry run) keeps to local sources: the providers in
    :data:`NETWORK_PROVIDERS` are listed as not contacted and never send anything.
    """
    settings = ChainSettings(
        env=env,
        profile=profile,
        config=config,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        mfa_code=mfa_code,
    )
    providers: list[CredentialProvider] = []
    for factory in order:
        provider = factory(settings)
        if provider is not None:
            providers.append(
                _NotContacted(provider.name) if offline and factory in NETWORK_PROVIDERS else provider
            )
    return CredentialChain(providers, clock=clock, windows=windows)
