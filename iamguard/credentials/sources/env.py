"""Long-term or session keys from environment variables.

https://docs.aws.amazon.com/sdkref/latest/guide/feature-static-credentials.html
``AWS_ACCESS_KEY_ID`` + ``AWS_SECRET_ACCESS_KEY``; the token from ``AWS_SECURITY_TOKEN`` (legacy
boto name, checked first as botocore does) or ``AWS_SESSION_TOKEN``; optional
``AWS_CREDENTIAL_EXPIRATION`` (ISO 8601; makes them refreshable, re-read from the environment)
and ``AWS_ACCOUNT_ID``. One of the key pair without the other raises
:class:`~iamguard.errors.PartialCredentialsError` naming the missing variable (botocore ignores
a lone secret; iamguard refuses it too, since it is always a mistake).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from iamguard.credentials.provider import Credentials, parse_expiration
from iamguard.errors import CredentialsError, PartialCredentialsError

__all__ = ["ACCESS_KEY_VAR", "SECRET_KEY_VAR", "TOKEN_VARS", "EnvProvider"]

ACCESS_KEY_VAR = "AWS_ACCESS_KEY_ID"
SECRET_KEY_VAR = "AWS_SECRET_ACCESS_KEY"
TOKEN_VARS = ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN")
EXPIRATION_VAR = "AWS_CREDENTIAL_EXPIRATION"


class EnvProvider:
    name = "env"
    role = False

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env

    def load_or_reason(self) -> Credentials | str:
        env = os.environ if self._env is None else self._env
        access_key = env.get(ACCESS_KEY_VAR, "")
        secret_key = env.get(SECRET_KEY_VAR, "")
        if not access_key and not secret_key:
            return f"{ACCESS_KEY_VAR} is not set"
        for value, missing in ((access_key, ACCESS_KEY_VAR), (secret_key, SECRET_KEY_VAR)):
            if not value:
                raise PartialCredentialsError(
                    f"env: {missing} is not set but its pair is; set both or unset both",
                    code="PartialCredentials",
                )
        token = next((env[v] for v in TOKEN_VARS if env.get(v)), None)
        expiration = None
        if env.get(EXPIRATION_VAR):
            try:
                expiration = parse_expiration(env[EXPIRATION_VAR])
            except ValueError:
                raise CredentialsError(f"env: {EXPIRATION_VAR} is not an ISO 8601 timestamp") from None
        return Credentials(
            access_key,
            secret_key,
            token,
            expiration=expiration,
            source=self.name,
            account_id=env.get("AWS_ACCOUNT_ID") or None,
        )

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None
