"""Read the shared AWS ``config`` and ``credentials`` files the way botocore does.

Rules (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html):

* ``config``: ``[default]`` and ``[profile NAME]`` are profiles (``[profile "NAME"]`` too);
  ``[services NAME]`` holds per-service settings; ``[sso-session NAME]`` and any other section
  are ignored here. ``credentials``: every section name *is* a profile name.
* A value that starts on the next line (``s3 =`` followed by indented ``key = value`` lines) is
  a nested mapping, as in ``[services x]`` → ``sts = \\n endpoint_url = …``.
* Both files describe the same profiles; for a key present in both, the credentials file
  wins (botocore's ``Session.full_config`` merges it over the config file).
* Paths: ``AWS_CONFIG_FILE`` (default ``~/.aws/config``) and ``AWS_SHARED_CREDENTIALS_FILE``
  (default ``~/.aws/credentials``); a missing file is simply empty.
"""

from __future__ import annotations

import configparser
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iamguard.errors import CredentialsError

__all__ = [
    "ConfigValue",
    "Profile",
    "ProfileScope",
    "SharedConfig",
    "config_file_paths",
    "env_flag",
    "load_shared_config",
    "selected_profile_name",
]

ConfigValue = str | Mapping[str, str]
Profile = Mapping[str, ConfigValue]


@dataclass(frozen=True, slots=True)
class SharedConfig:
    """Parsed shared files: profiles from each file, merged profiles, and services sections."""

    config_profiles: Mapping[str, Profile] = field(default_factory=dict)
    credentials_profiles: Mapping[str, Profile] = field(default_factory=dict)
    services: Mapping[str, Mapping[str, ConfigValue]] = field(default_factory=dict)
    config_path: str = ""
    credentials_path: str = ""

    @property
    def profiles(self) -> dict[str, dict[str, ConfigValue]]:
        """Every profile in either file; credentials-file values override config-file ones."""
        merged: dict[str, dict[str, ConfigValue]] = {n: dict(p) for n, p in self.config_profiles.items()}
        for name, values in self.credentials_profiles.items():
            merged.setdefault(name, {}).update(values)
        return merged

    def profile(self, name: str) -> dict[str, ConfigValue] | None:
        """The merged profile ``name``, or ``None`` when neither file defines it."""
        return self.profiles.get(name)

    def value(self, profile: str, key: str) -> str | None:
        """A plain string setting of a profile (nested mappings read as absent)."""
        found = (self.profile(profile) or {}).get(key)
        return found if isinstance(found, str) else None


def env_flag(value: str | None) -> bool:
    """botocore's ``ensure_boolean`` for strings: only ``true`` (any case) is true."""
    return value is not None and value.strip().lower() == "true"


def config_file_paths(env: Mapping[str, str]) -> tuple[str, str]:
    """(config path, credentials path) after ``~`` and ``$VAR`` expansion."""
    config = env.get("AWS_CONFIG_FILE") or "~/.aws/config"
    credentials = env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return _expand(config), _expand(credentials)


def _expand(path: str) -> str:
    return os.path.expanduser(os.path.expandvars(path))


def selected_profile_name(env: Mapping[str, str], profile: str | None = None) -> str:
    """The explicit ``profile``, else ``AWS_DEFAULT_PROFILE``, ``AWS_PROFILE``, else ``default``.

    botocore checks ``AWS_DEFAULT_PROFILE`` before ``AWS_PROFILE`` (``configprovider.py``).
    """
    return profile or env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE") or "default"


def load_shared_config(env: Mapping[str, str] | None = None) -> SharedConfig:
    """Parse both shared files named by ``env`` (``os.environ`` by default)."""
    env = os.environ if env is None else env
    config_path, credentials_path = config_file_paths(env)
    config_sections = _read_ini(config_path)
    profiles: dict[str, Profile] = {}
    services: dict[str, Mapping[str, ConfigValue]] = {}
    for section, values in config_sections.items():
        if section == "default":
            profiles["default"] = values  # file order decides vs [profile default], as botocore
        elif section.startswith("profile"):
            name = _section_name(section)
            if name is not None:
                profiles[name] = values
        elif section.startswith("services"):
            name = _section_name(section)
            if name is not None:
                services[name] = values
    return SharedConfig(
        config_profiles=profiles,
        credentials_profiles=_read_ini(credentials_path),
        services=services,
        config_path=config_path,
        credentials_path=credentials_path,
    )


def _section_name(section: str) -> str | None:
    """``profile "my name"`` → ``my name``; anything not exactly two words is ignored."""
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def _read_ini(path: str) -> dict[str, Profile]:
    if not path or not Path(path).is_file():
        return {}
    parser = configparser.RawConfigParser()
    try:
        parser.read([path], encoding="utf-8")
    except configparser.ParsingError as exc:
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        # The offending text may be a secret, so only line numbers are reported.
        raise CredentialsError(f"cannot parse AWS shared file {path}: malformed line(s) {lines}") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise CredentialsError(f"cannot parse AWS shared file {path}: {type(exc).__name__}") from None
    return {s: {k: _nested(parser.get(s, k)) for k in parser.options(s)} for s in parser.sections()}


def _nested(value: str) -> ConfigValue:
    """A value starting with a newline is an indented block of ``key = value`` lines."""
    if not value.startswith("\n"):
        return value
    parsed: dict[str, str] = {}
    for line in value.splitlines():
        if "=" in line:
            key, _, inner = line.strip().partition("=")
            parsed[key.strip()] = inner.strip()
    return parsed


@dataclass(frozen=True, slots=True)
class ProfileScope:
    """Where profile-based providers look: environment, profile name, and (optionally) parsed files.

    With ``config=None`` the files are re-read on every ``load`` so a refresh sees edits.
    """

    env: Mapping[str, str] | None = None
    profile: str | None = None
    config: SharedConfig | None = None

    def environ(self) -> Mapping[str, str]:
        """The environment in effect (``os.environ`` unless one was given)."""
        return os.environ if self.env is None else self.env

    def profile_name(self) -> str:
        """The profile in use: the explicit one, ``AWS_DEFAULT_PROFILE``, ``AWS_PROFILE`` or ``default``."""
        return selected_profile_name(self.environ(), self.profile)

    def shared_config(self) -> SharedConfig:
        """The parsed shared files (read now when none were given)."""
        return self.config if self.config is not None else load_shared_config(self.environ())

    def region(self, config: SharedConfig | None = None) -> str | None:
        """``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's ``region``."""
        env = self.environ()
        found = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        return found or (config or self.shared_config()).value(self.profile_name(), "region")

    def for_profile(self, name: str, config: SharedConfig) -> ProfileScope:
        """The same scope for profile ``name`` (a ``source_profile`` in a role chain)."""
        return ProfileScope(env=self.env, profile=name, config=config)
