"""Credentials printed by an external program: the profile's ``credential_process``.

https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html
The command is split with :func:`shlex.split` and run without a shell. On exit status 0 its
stdout must be JSON: ``{"Version": 1, "AccessKeyId", "SecretAccessKey"[, "SessionToken",
"Expiration"]}``; with ``Expiration`` the credentials are temporary and refreshed by running
the command again.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from iamguard.credentials.config_files import ProfileScope
from iamguard.credentials.provider import Credentials, parse_expiration
from iamguard.errors import CredentialsError

__all__ = ["ProcessProvider", "parse_process_output"]

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[bytes]"]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(argv), capture_output=True, check=False)


def parse_process_output(stdout: bytes, *, command: str, source: str = "process") -> Credentials:
    """Validate the JSON a credential process printed; errors name the field, never its value."""
    prefix = f"process: credential_process {command!r}"
    try:
        data: Any = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CredentialsError(f"{prefix} did not print JSON") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{prefix} printed JSON that is not an object")
    if data.get("Version") != 1:
        raise CredentialsError(
            f"{prefix} printed Version {data.get('Version', '<missing>')!r}; only Version 1 is supported"
        )
    for key in ("AccessKeyId", "SecretAccessKey"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise CredentialsError(f"{prefix} output lacks a non-empty string {key}")
    for key in ("SessionToken", "Expiration", "AccountId"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise CredentialsError(f"{prefix} output has a non-string {key}")
    expiration = None
    if data.get("Expiration"):
        try:
            expiration = parse_expiration(data["Expiration"])
        except ValueError:
            raise CredentialsError(f"{prefix} printed an Expiration that is not ISO 8601") from None
    return Credentials(
        data["AccessKeyId"],
        data["SecretAccessKey"],
        data.get("SessionToken") or None,
        expiration=expiration,
        source=source,
        account_id=data.get("AccountId") or None,
    )


class ProcessProvider:
    name = "process"
    role = False

    def __init__(self, scope: ProfileScope | None = None, *, runner: Runner = _run) -> None:
        self._scope = scope or ProfileScope()
        self._runner = runner

    def load_or_reason(self) -> Credentials | str:
        profile = self._scope.profile_name()
        command = self._scope.shared_config().value(profile, "credential_process")
        if not command:
            return f"profile {profile!r} has no credential_process"
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise CredentialsError(
                f"process: cannot split credential_process of profile {profile!r}: {exc}"
            ) from None
        try:
            done = self._runner(argv)
        except OSError as exc:
            raise CredentialsError(
                f"process: cannot run {argv[0]!r} for profile {profile!r}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", errors="replace").strip()[:500]
            raise CredentialsError(
                f"process: credential_process {command!r} exited with status {done.returncode}: {stderr}"
            )
        return parse_process_output(done.stdout, command=command, source=self.name)

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None
