"""Shared-file profiles: static keys, and ``role_arn`` profiles assumed through STS.

https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html
A role profile names exactly one of ``source_profile`` (another profile, possibly itself a
role profile: role chaining) or ``credential_source`` (``Environment``, ``Ec2InstanceMetadata``,
``EcsContainer``). ``external_id``, ``mfa_serial`` (the code comes from a callback),
``duration_seconds`` and ``role_session_name`` become AssumeRole parameters. Source profiles
follow botocore: one with static keys uses them (even if it also has ``role_arn``: that is how
a profile may name itself as ``source_profile``); one with ``role_arn`` is assumed recursively;
otherwise its web identity or ``credential_process`` is used. A profile met twice is a cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from iamguard.credentials.config_files import ConfigValue, ProfileScope, SharedConfig
from iamguard.credentials.provider import CredentialProvider, Credentials
from iamguard.credentials.sources.container import ContainerProvider
from iamguard.credentials.sources.env import EnvProvider
from iamguard.credentials.sources.imds import ImdsProvider
from iamguard.credentials.sources.process import ProcessProvider
from iamguard.credentials.sources.web_identity import StsFactory, WebIdentityProvider
from iamguard.credentials.sts_client import sts_client_for
from iamguard.errors import CredentialsError, InvalidParameterError, PartialCredentialsError

__all__ = ["CREDENTIAL_SOURCES", "AssumeRoleProvider", "MfaCodeCallback", "SharedStaticProvider"]

MfaCodeCallback = Callable[[str], str]

#: ``credential_source`` values → provider factory (the names AWS documents).
CREDENTIAL_SOURCES: Mapping[str, Callable[[ProfileScope], CredentialProvider]] = {
    "Environment": lambda scope: EnvProvider(scope.env),
    "Ec2InstanceMetadata": lambda scope: ImdsProvider(scope),
    "EcsContainer": lambda scope: ContainerProvider(scope.env),
}


def _has_static(profile: Mapping[str, ConfigValue]) -> bool:
    return "aws_access_key_id" in profile or "aws_secret_access_key" in profile


def _is_role(profile: Mapping[str, ConfigValue]) -> bool:
    return "role_arn" in profile and "web_identity_token_file" not in profile


def _static_from(
    profile: Mapping[str, ConfigValue], name: str, where: str, source: str
) -> Credentials | None:
    key, secret = profile.get("aws_access_key_id"), profile.get("aws_secret_access_key")
    if not key and not secret:
        return None
    for value, missing in ((key, "aws_access_key_id"), (secret, "aws_secret_access_key")):
        if not isinstance(value, str) or not value:
            raise PartialCredentialsError(
                f"{source}: profile {name!r} in {where} has no {missing}; add it or remove the other key"
            )
    token = profile.get("aws_session_token") or profile.get("aws_security_token")
    return Credentials(
        str(key), str(secret), token if isinstance(token, str) and token else None, source=source
    )


class SharedStaticProvider:
    """Static keys of the selected profile from the credentials file, the config file, or both.

    ``files="both"`` (default) merges them, credentials file winning; botocore's order uses a
    ``"credentials"`` and a ``"config"`` provider separately.
    """

    role = False

    def __init__(self, scope: ProfileScope | None = None, *, files: str = "both") -> None:
        if files not in ("both", "credentials", "config"):
            raise InvalidParameterError("files is 'both', 'credentials' or 'config'")
        self._scope = scope or ProfileScope()
        self._files = files
        self.name = {
            "both": "shared-files",
            "credentials": "shared-credentials-file",
            "config": "config-file",
        }[files]

    def load_or_reason(self) -> Credentials | str:
        config = self._scope.shared_config()
        name = self._scope.profile_name()
        if self._files == "credentials":
            profile, where = config.credentials_profiles.get(name), config.credentials_path
        elif self._files == "config":
            profile, where = config.config_profiles.get(name), config.config_path
        else:
            profile, where = config.profile(name), f"{config.credentials_path} / {config.config_path}"
        if profile is None:
            return f"profile {name!r} not found in {where}"
        found = _static_from(profile, name, where, self.name)
        return found if found is not None else f"profile {name!r} has no aws_access_key_id"

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None


class AssumeRoleProvider:
    """``role_arn`` profiles: resolve the source credentials, then call STS AssumeRole."""

    name = "assume-role"
    role = True

    def __init__(
        self,
        scope: ProfileScope | None = None,
        *,
        mfa_code: MfaCodeCallback | None = None,
        sts_factory: StsFactory = sts_client_for,
        credential_sources: Mapping[str, Callable[[ProfileScope], CredentialProvider]] = CREDENTIAL_SOURCES,
        session_name: Callable[[], str] | None = None,
    ) -> None:
        self._scope = scope or ProfileScope()
        self._mfa_code = mfa_code
        self._sts_factory = sts_factory
        self._sources = credential_sources
        self._session_name = session_name or (lambda: f"iamguard-session-{int(time.time())}")

    def is_configured(self) -> bool:
        return _is_role(self._scope.shared_config().profile(self._scope.profile_name()) or {})

    def load_or_reason(self) -> Credentials | str:
        config = self._scope.shared_config()
        name = self._scope.profile_name()
        profile = config.profile(name)
        if profile is None or not _is_role(profile):
            return (
                f"profile {name!r} has no role_arn" if profile is not None else f"profile {name!r} not found"
            )
        return self._assume(config, name, [name])

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None

    # -- resolution ------------------------------------------------------------------------

    def _assume(self, config: SharedConfig, name: str, visited: list[str]) -> Credentials:
        profile = config.profile(name) or {}
        source_creds = self._source_credentials(config, name, profile, visited)
        return self._call_sts(config, name, profile, source_creds)

    def _source_credentials(
        self, config: SharedConfig, name: str, profile: Mapping[str, ConfigValue], visited: list[str]
    ) -> Credentials:
        source_profile = profile.get("source_profile")
        credential_source = profile.get("credential_source")
        if source_profile is not None and credential_source is not None:
            raise CredentialsError(
                f"assume-role: profile {name!r} sets both source_profile and "
                "credential_source; keep exactly one"
            )
        if isinstance(credential_source, str):
            return self._from_credential_source(config, name, credential_source)
        if not isinstance(source_profile, str) or not source_profile:
            raise PartialCredentialsError(
                f"assume-role: profile {name!r} has role_arn but neither "
                "source_profile nor credential_source; add one"
            )
        return self._from_source_profile(config, name, source_profile, visited)

    def _from_credential_source(self, config: SharedConfig, name: str, credential_source: str) -> Credentials:
        factory = self._sources.get(credential_source)
        if factory is None:
            raise CredentialsError(
                f"assume-role: credential_source {credential_source!r} in profile {name!r} "
                f"is not one of {', '.join(sorted(self._sources))}"
            )
        found = factory(self._scope.for_profile(name, config)).load()
        if found is None:
            raise CredentialsError(
                f"assume-role: credential_source {credential_source!r} of profile {name!r} "
                "found no credentials"
            )
        return found

    def _from_source_profile(
        self, config: SharedConfig, parent: str, source: str, visited: list[str]
    ) -> Credentials:
        profile = config.profile(source)
        if profile is None:
            raise CredentialsError(
                f"assume-role: source_profile {source!r} referenced by profile {parent!r} does not exist"
            )
        if source in visited and not (source == parent and _has_static(profile)):
            cycle = " -> ".join([*visited, source])
            raise CredentialsError(
                f"assume-role: source_profile cycle {cycle}; break the loop (a profile may "
                "only name itself when it also holds static keys)"
            )
        visited.append(source)
        if _has_static(profile):
            found = _static_from(profile, source, "the shared files", self.name)
            assert found is not None  # INVARIANT: _has_static ⇒ at least one key present
            return found
        if _is_role(profile):
            return self._assume(config, source, visited)
        scope = self._scope.for_profile(source, config)
        for provider in (
            WebIdentityProvider(scope, use_env=False, sts_factory=self._sts_factory),
            ProcessProvider(scope),
        ):
            creds = provider.load()
            if creds is not None:
                return creds
        raise CredentialsError(
            f"assume-role: source profile {source!r} (used by {parent!r}) has no credentials"
        )

    def _call_sts(
        self, config: SharedConfig, name: str, profile: Mapping[str, ConfigValue], source: Credentials
    ) -> Credentials:
        def setting(key: str) -> str | None:
            value = profile.get(key)
            return value if isinstance(value, str) and value else None

        duration = setting("duration_seconds")
        if duration is not None and not duration.isdigit():
            raise CredentialsError(
                f"assume-role: duration_seconds {duration!r} in profile {name!r} is not a "
                "whole number of seconds"
            )
        serial, code = setting("mfa_serial"), None
        if serial is not None:
            if self._mfa_code is None:
                raise CredentialsError(
                    f"assume-role: profile {name!r} requires MFA ({serial}); pass mfa_code= "
                    "a callback returning the current code"
                )
            code = self._mfa_code(serial)
        sts = self._sts_factory(self._scope.for_profile(name, config), config)
        return sts.assume_role(
            source,
            role_arn=str(profile["role_arn"]),
            role_session_name=setting("role_session_name") or self._session_name(),
            external_id=setting("external_id"),
            serial_number=serial,
            token_code=code,
            duration_seconds=int(duration) if duration else None,
            source=self.name,
        )
