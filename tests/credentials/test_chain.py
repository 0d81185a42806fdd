"""The chain: orders as data, roles before static keys, explain(), the long-term-key warning."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from iamguard.credentials.chain import (
    BOTOCORE_ORDER,
    ROLES_FIRST_ORDER,
    CredentialChain,
    botocore_order,
    default_credential_chain,
)
from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import AsyncRefreshableCredentials, RefreshableCredentials
from iamguard.errors import NoCredentialsError, PartialCredentialsError

from .conftest import FakeClock, Handler, LocalServer, iso

ROLE = (
    "[profile base]\naws_access_key_id = AKIABASE\naws_secret_access_key = b\n"
    "[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n"
)


def env_with(
    base_env: dict[str, str], tmp_path: Path, config: str = "", credentials: str = "", **extra: str
) -> dict[str, str]:
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    return {**base_env, **extra}


def names(chain: CredentialChain) -> list[str]:
    return [p.name for p in chain.providers]


def test_orders_are_data(base_env: dict[str, str]) -> None:
    assert names(default_credential_chain(env=base_env)) == [
        "explicit",
        "web-identity",
        "assume-role",
        "container",
        "process",
        "env",
        "shared-files",
        "imds",
    ]
    assert names(default_credential_chain(env=base_env, order=botocore_order())) == [
        "explicit",
        "env",
        "assume-role",
        "web-identity",
        "shared-credentials-file",
        "process",
        "config-file",
        "container",
        "imds",
    ]
    assert botocore_order() is BOTOCORE_ORDER and isinstance(ROLES_FIRST_ORDER, tuple)


def test_explicit_profile_drops_env_keys(base_env: dict[str, str]) -> None:
    assert "env" not in names(default_credential_chain(env=base_env, profile="dev"))


def test_role_beats_env_keys_roles_first(
    base_env: dict[str, str], tmp_path: Path, fake_sts: LocalServer
) -> None:
    env = env_with(
        base_env,
        tmp_path,
        ROLE,
        AWS_ENDPOINT_URL_STS=fake_sts.url,
        AWS_ACCESS_KEY_ID="AKIAFORGOTTEN",
        AWS_SECRET_ACCESS_KEY="x",
    )
    resolved = default_credential_chain(env=env).resolve()
    assert isinstance(resolved, RefreshableCredentials)
    assert resolved.get().source == "assume-role"


def test_env_keys_win_in_botocore_order_with_a_warning(
    base_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = env_with(
        base_env, tmp_path, ROLE, AWS_ACCESS_KEY_ID="AKIAFORGOTTEN", AWS_SECRET_ACCESS_KEY="do-not-log"
    )
    chain = default_credential_chain(env=env, order=botocore_order())
    with caplog.at_level(logging.WARNING, logger="iamguard.credentials.chain"):
        resolved = chain.resolve()
    assert isinstance(resolved, Credentials) and resolved.access_key_id == "AKIAFORGOTTEN"
    assert "long-term access keys from env" in caplog.text and "assume-role" in caplog.text
    assert "do-not-log" not in caplog.text
    explanation = chain.explain()
    assert explanation.winner == "env" and explanation.warnings


def test_no_warning_for_session_keys(
    base_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = env_with(
        base_env, tmp_path, ROLE, AWS_ACCESS_KEY_ID="ASIA", AWS_SECRET_ACCESS_KEY="x", AWS_SESSION_TOKEN="t"
    )
    with caplog.at_level(logging.WARNING):
        default_credential_chain(env=env, order=botocore_order()).resolve()
    assert "long-term" not in caplog.text


def test_explain_reports_every_provider(base_env: dict[str, str], tmp_path: Path) -> None:
    env = env_with(
        base_env,
        tmp_path,
        credentials="[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret-9\n",
    )
    explanation = default_credential_chain(env=env).explain()
    assert explanation.winner == "shared-files" and explanation.access_key_id == "AKIAFILE"
    outcomes = {a.provider: (a.outcome, a.reason) for a in explanation.attempts}
    assert outcomes["env"] == ("skipped", "AWS_ACCESS_KEY_ID is not set")
    assert outcomes["assume-role"][0] == "skipped" and "no role_arn" in outcomes["assume-role"][1]
    assert outcomes["imds"] == ("not tried", "")
    text = str(explanation)
    assert text.startswith("credentials from shared-files (access key AKIAFILE)")
    assert "file-secret-9" not in text


def test_explain_reports_a_failure_without_raising(base_env: dict[str, str]) -> None:
    env = {**base_env, "AWS_ACCESS_KEY_ID": "AKIAHALF"}
    explanation = default_credential_chain(env=env).explain()
    assert explanation.winner is None
    failed = [a for a in explanation.attempts if a.outcome == "failed"]
    assert failed[0].provider == "env" and "AWS_SECRET_ACCESS_KEY" in failed[0].reason
    assert explanation.attempts[-1].outcome == "not tried"
    with pytest.raises(PartialCredentialsError):
        default_credential_chain(env=env).resolve()


def test_nothing_configured(base_env: dict[str, str]) -> None:
    chain = default_credential_chain(env=base_env)
    with pytest.raises(NoCredentialsError, match="env: AWS_ACCESS_KEY_ID is not set"):
        chain.resolve()
    assert chain.load() is None and "no credentials found" in str(chain.explain())


def test_explicit_wins_over_everything(base_env: dict[str, str], tmp_path: Path) -> None:
    env = env_with(base_env, tmp_path, ROLE, AWS_ACCESS_KEY_ID="AKIAENV", AWS_SECRET_ACCESS_KEY="x")
    creds = default_credential_chain(env=env, access_key_id="AKIACODE", secret_access_key="c").resolve()
    assert isinstance(creds, Credentials) and creds.access_key_id == "AKIACODE"


def test_container_before_env_keys(
    base_env: dict[str, str], local_server: Callable[[Handler], LocalServer]
) -> None:
    doc = json.dumps(
        {
            "AccessKeyId": "ASIACONT",
            "SecretAccessKey": "c",
            "Token": "t",
            "Expiration": "2099-01-01T00:00:00Z",
        }
    ).encode()
    server = local_server(lambda m, p, h, b: (200, doc))
    env = {
        **base_env,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url,
        "AWS_ACCESS_KEY_ID": "AKIAENV",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    assert default_credential_chain(env=env).resolve().get().access_key_id == "ASIACONT"


def test_refresh_goes_back_to_the_winning_provider(
    base_env: dict[str, str], clock: FakeClock, local_server: Callable[[Handler], LocalServer]
) -> None:
    served = {"n": 0}

    def handle(m: str, p: str, h: dict[str, str], b: bytes) -> tuple[int, bytes]:
        served["n"] += 1
        return 200, json.dumps(
            {
                "AccessKeyId": f"ASIA{served['n']}",
                "SecretAccessKey": "c",
                "Token": "t",
                "Expiration": iso(clock.now + timedelta(hours=1)),
            }
        ).encode()

    server = local_server(handle)
    env = {**base_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url}
    resolved = default_credential_chain(env=env, clock=clock).resolve()
    assert resolved.get().access_key_id == "ASIA1"
    clock.advance(3600 - 100)
    assert resolved.get().access_key_id == "ASIA2"


def test_chain_is_itself_a_provider(base_env: dict[str, str]) -> None:
    inner = default_credential_chain(
        env={**base_env, "AWS_ACCESS_KEY_ID": "AKIAIN", "AWS_SECRET_ACCESS_KEY": "x"}
    )
    outer = CredentialChain([inner])
    assert outer.resolve().get().access_key_id == "AKIAIN"


def test_custom_provider_without_load_or_reason() -> None:
    class Vault:
        name = "vault"

        def load(self) -> Credentials | None:
            return None

    explanation = CredentialChain([Vault()]).explain()
    assert explanation.attempts[0].reason == "not configured"


def test_aresolve(base_env: dict[str, str], local_server: Callable[[Handler], LocalServer]) -> None:
    doc = json.dumps(
        {
            "AccessKeyId": "ASIACONT",
            "SecretAccessKey": "c",
            "Token": "t",
            "Expiration": "2099-01-01T00:00:00Z",
        }
    ).encode()
    server = local_server(lambda m, p, h, b: (200, doc))
    chain = default_credential_chain(env={**base_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url})

    async def main() -> str:
        resolved = await chain.aresolve()
        assert isinstance(resolved, AsyncRefreshableCredentials)
        return (await resolved.get()).access_key_id

    assert asyncio.run(main()) == "ASIACONT"


def test_explicit_keys_never_warn(
    base_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = env_with(base_env, tmp_path, ROLE)
    with caplog.at_level(logging.WARNING):
        default_credential_chain(env=env, access_key_id="AKIACODE", secret_access_key="c").resolve()
    assert "long-term" not in caplog.text
