"""Role credentials from an OIDC token file via ``AssumeRoleWithWebIdentity`` (EKS IRSA & co.).

https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html
Each setting comes from the environment first, then the profile (botocore's order):
``AWS_WEB_IDENTITY_TOKEN_FILE`` / ``web_identity_token_file``, ``AWS_ROLE_ARN`` / ``role_arn``,
``AWS_ROLE_SESSION_NAME`` / ``role_session_name``. The token file is re-read on every load
(the kubelet rotates it). A token file without a role ARN is a partial configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from iamguard.credentials.config_files import ProfileScope, SharedConfig
from iamguard.credentials.provider import Credentials
from iamguard.credentials.sts_client import StsClient, sts_client_for
from iamguard.errors import CredentialsError, PartialCredentialsError

__all__ = ["WebIdentityProvider", "default_session_name"]

StsFactory = Callable[[ProfileScope, SharedConfig], StsClient]


def default_session_name() -> str:
    """``iamguard-session-<epoch seconds>`` (botocore uses ``botocore-session-<epoch>``)."""
    return f"iamguard-session-{int(time.time())}"


class WebIdentityProvider:
    name = "web-identity"
    role = True

    def __init__(
        self,
        scope: ProfileScope | None = None,
        *,
        use_env: bool = True,
        sts_factory: StsFactory = sts_client_for,
    ) -> None:
        self._scope = scope or ProfileScope()
        self._use_env = use_env
        self._sts_factory = sts_factory

    def _setting(self, config: SharedConfig, env_var: str, key: str) -> str | None:
        if self._use_env and self._scope.environ().get(env_var):
            return self._scope.environ()[env_var]
        return config.value(self._scope.profile_name(), key)

    def is_configured(self) -> bool:
        config = self._scope.shared_config()
        return bool(self._setting(config, "AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file"))

    def load_or_reason(self) -> Credentials | str:
        config = self._scope.shared_config()
        token_file = self._setting(config, "AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file")
        if not token_file:
            return (
                f"neither AWS_WEB_IDENTITY_TOKEN_FILE nor web_identity_token_file in profile "
                f"{self._scope.profile_name()!r} is set"
            )
        role_arn = self._setting(config, "AWS_ROLE_ARN", "role_arn")
        if not role_arn:
            raise PartialCredentialsError(
                f"web-identity: a token file is configured ({token_file}) but no role ARN; set AWS_ROLE_ARN "
                f"or role_arn in profile {self._scope.profile_name()!r}"
            )
        session_name = (
            self._setting(config, "AWS_ROLE_SESSION_NAME", "role_session_name") or default_session_name()
        )
        try:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as exc:
            raise CredentialsError(
                f"web-identity: cannot read the token file {token_file} ({exc.strerror or type(exc).__name__}); "
                "check AWS_WEB_IDENTITY_TOKEN_FILE / web_identity_token_file"
            ) from None
        sts = self._sts_factory(self._scope, config)
        return sts.assume_role_with_web_identity(
            role_arn=role_arn, role_session_name=session_name, web_identity_token=token, source=self.name
        )

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None
