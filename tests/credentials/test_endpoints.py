"""Endpoint URL resolution: the table in tests/data/credentials/endpoints.json, also run by botocore."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from iamguard.credentials.config_files import load_shared_config
from iamguard.credentials.endpoints import resolve_endpoint_url, service_env_suffix
from iamguard.errors import CredentialsError

DATA = json.loads((Path(__file__).parents[1] / "data" / "credentials" / "endpoints.json").read_text())
CASES = DATA["cases"]


def _env(tmp_path: Path, case: dict[str, Any]) -> dict[str, str]:
    config = tmp_path / "config"
    config.write_text(case["config"])
    return {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        **case["env"],
    }


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_endpoint_resolution(case: dict[str, Any], tmp_path: Path) -> None:
    assert resolve_endpoint_url(case["service_id"], env=_env(tmp_path, case)) == case["expected"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_endpoint_resolution_matches_botocore(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, case)
    for name in [n for n in list(os.environ) if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = botocore.session.Session().create_client(
        case["client"], region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
    )
    default = f"https://{case['client']}.us-east-1.amazonaws.com"
    ours = resolve_endpoint_url(case["service_id"], env=env)
    botocore_url = client.meta.endpoint_url
    if ours is None:
        assert botocore_url.startswith("https://") and botocore_url.endswith("amazonaws.com"), botocore_url
        assert "example" not in botocore_url, default
    else:
        assert botocore_url == ours


def test_explicit_endpoint_is_never_ignored(tmp_path: Path) -> None:
    env = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_CONFIG_FILE": str(tmp_path / "c")}
    assert resolve_endpoint_url("STS", env=env, explicit="http://x.example") == "http://x.example"


def test_missing_services_section_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[default]\nservices = nowhere\n")
    env = {"AWS_CONFIG_FILE": str(tmp_path / "config")}
    with pytest.raises(CredentialsError, match='services section "nowhere"'):
        resolve_endpoint_url("STS", env=env, config=load_shared_config(env))


@pytest.mark.parametrize(
    ("service_id", "suffix"),
    [
        ("STS", "STS"),
        ("Elastic Beanstalk", "ELASTIC_BEANSTALK"),
        ("elastic-beanstalk", "ELASTIC_BEANSTALK"),
        ("Cognito Identity Provider", "COGNITO_IDENTITY_PROVIDER"),
    ],
)
def test_service_env_suffix(service_id: str, suffix: str) -> None:
    assert service_env_suffix(service_id) == suffix
