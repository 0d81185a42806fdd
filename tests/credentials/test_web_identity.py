"""Web identity provider: environment first, then profile; token file re-read on every load.

https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iamguard.credentials.config_files import ProfileScope
from iamguard.credentials.sources.web_identity import WebIdentityProvider
from iamguard.errors import CredentialsError, PartialCredentialsError

from .conftest import LocalServer


def _scope(tmp_path: Path, config: str = "", **env: str) -> ProfileScope:
    (tmp_path / "config").write_text(config)
    return ProfileScope(
        env={
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            **env,
        }
    )


def test_env_configuration(tmp_path: Path, fake_sts: LocalServer) -> None:
    token = tmp_path / "token"
    token.write_text("jwt-1\n")
    provider = WebIdentityProvider(
        _scope(
            tmp_path,
            AWS_ENDPOINT_URL_STS=fake_sts.url,
            AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
            AWS_ROLE_ARN="arn:aws:iam::1:role/env",
            AWS_ROLE_SESSION_NAME="pod-1",
        )
    )
    assert provider.is_configured()
    creds = provider.load()
    token.write_text("jwt-2")
    provider.load()
    assert creds is not None and creds.source == "web-identity"
    forms = [r.form for r in fake_sts.requests]
    assert [f["WebIdentityToken"] for f in forms] == ["jwt-1", "jwt-2"]
    assert forms[0]["RoleArn"] == "arn:aws:iam::1:role/env" and forms[0]["RoleSessionName"] == "pod-1"


def test_profile_configuration_and_env_precedence(tmp_path: Path, fake_sts: LocalServer) -> None:
    token = tmp_path / "token"
    token.write_text("jwt")
    config = (
        f"[default]\nweb_identity_token_file = {token}\nrole_arn = arn:aws:iam::1:role/profile\n"
        "role_session_name = from-profile\n"
    )
    WebIdentityProvider(_scope(tmp_path, config, AWS_ENDPOINT_URL_STS=fake_sts.url)).load()
    WebIdentityProvider(
        _scope(tmp_path, config, AWS_ENDPOINT_URL_STS=fake_sts.url, AWS_ROLE_ARN="arn:aws:iam::1:role/env")
    ).load()
    assert [r.form["RoleArn"] for r in fake_sts.requests] == [
        "arn:aws:iam::1:role/profile",
        "arn:aws:iam::1:role/env",
    ]
    assert fake_sts.requests[1].form["RoleSessionName"] == "from-profile"


def test_default_session_name(tmp_path: Path, fake_sts: LocalServer) -> None:
    token = tmp_path / "token"
    token.write_text("jwt")
    WebIdentityProvider(
        _scope(
            tmp_path,
            AWS_ENDPOINT_URL_STS=fake_sts.url,
            AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
            AWS_ROLE_ARN="arn:aws:iam::1:role/r",
        )
    ).load()
    assert fake_sts.requests[0].form["RoleSessionName"].startswith("iamguard-session-")


def test_not_configured(tmp_path: Path) -> None:
    provider = WebIdentityProvider(_scope(tmp_path))
    assert provider.load() is None and "AWS_WEB_IDENTITY_TOKEN_FILE" in str(provider.load_or_reason())


def test_token_without_role_is_partial(tmp_path: Path) -> None:
    with pytest.raises(PartialCredentialsError, match="AWS_ROLE_ARN"):
        WebIdentityProvider(_scope(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE="/x")).load()


def test_missing_token_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read the token file"):
        WebIdentityProvider(
            _scope(
                tmp_path,
                AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "gone"),
                AWS_ROLE_ARN="arn:aws:iam::1:role/r",
            )
        ).load()


def test_use_env_false_ignores_environment(tmp_path: Path) -> None:
    provider = WebIdentityProvider(
        _scope(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE="/x", AWS_ROLE_ARN="a"), use_env=False
    )
    assert provider.load() is None
