"""Service endpoint URL resolution, in botocore's order.

https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

1. an endpoint passed explicitly by the caller (never ignored);
2. unless ignoring configured endpoints: ``AWS_ENDPOINT_URL_<SERVICE>`` where ``<SERVICE>`` is
   the service id upper-cased with spaces and hyphens as ``_`` (``Elastic Beanstalk`` →
   ``AWS_ENDPOINT_URL_ELASTIC_BEANSTALK``);
3. ``AWS_ENDPOINT_URL``;
4. the ``[services NAME]`` section named by the profile's ``services`` setting, key = service id
   lower-cased with ``_`` (a profile naming a missing section is a configuration error);
5. the profile's ``endpoint_url``.

``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` (or the profile's
``ignore_configured_endpoint_urls = true``; the environment variable wins) skips 2–5.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from iamguard.credentials.config_files import (
    SharedConfig,
    env_flag,
    load_shared_config,
    selected_profile_name,
)
from iamguard.errors import CredentialsError

__all__ = ["ignore_configured_endpoints", "resolve_endpoint_url", "service_env_suffix"]


def service_env_suffix(service_id: str) -> str:
    """``Elastic Beanstalk`` / ``elastic-beanstalk`` → ``ELASTIC_BEANSTALK``."""
    return service_id.strip().replace(" ", "_").replace("-", "_").upper()


def ignore_configured_endpoints(env: Mapping[str, str], config: SharedConfig, profile: str) -> bool:
    """Whether configured endpoints are switched off (environment first, then the profile)."""
    if "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" in env:
        return env_flag(env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"])
    return env_flag(config.value(profile, "ignore_configured_endpoint_urls"))


def resolve_endpoint_url(
    service_id: str,
    *,
    env: Mapping[str, str] | None = None,
    config: SharedConfig | None = None,
    profile: str | None = None,
    explicit: str | None = None,
) -> str | None:
    """The endpoint URL configured for ``service_id``, or ``None`` for the SDK default."""
    if explicit:
        return explicit
    env = os.environ if env is None else env
    config = load_shared_config(env) if config is None else config
    profile = selected_profile_name(env, profile)
    if ignore_configured_endpoints(env, config, profile):
        return None
    suffix = service_env_suffix(service_id)
    for candidate in (
        env.get(f"AWS_ENDPOINT_URL_{suffix}"),
        env.get("AWS_ENDPOINT_URL"),
        _services_endpoint(config, profile, suffix.lower()),
        config.value(profile, "endpoint_url"),
    ):
        if candidate:
            return candidate
    return None


def _services_endpoint(config: SharedConfig, profile: str, key: str) -> str | None:
    section_name = config.value(profile, "services")
    if section_name is None:
        return None
    section = config.services.get(section_name)
    if not section:
        raise CredentialsError(
            f'profile "{profile}" uses services section "{section_name}", which does not exist in '
            f"{config.config_path}; add a [services {section_name}] section or remove the setting"
        )
    entry = section.get(key)
    if isinstance(entry, Mapping):
        found = entry.get("endpoint_url")
        return found or None
    return None
