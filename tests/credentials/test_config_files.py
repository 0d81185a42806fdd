"""Shared config/credentials parsing: sections, nesting, merge, paths, profile selection.

https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iamguard.credentials.config_files import (
    ProfileScope,
    config_file_paths,
    env_flag,
    load_shared_config,
    selected_profile_name,
)

CONFIG = """[default]
region = us-west-2

[profile dev]
region = eu-west-1
services = local
s3 =
  addressing_style = path

[profile "with space"]
region = ap-south-1

[sso-session corp]
sso_region = us-east-1

[services local]
sts =
  endpoint_url = http://localhost:4566

[preview]
cloudfront = true

[profile]
region = ignored
"""


def test_sections(tmp_path: Path) -> None:
    (tmp_path / "config").write_text(CONFIG)
    (tmp_path / "credentials").write_text(
        "[dev]\naws_access_key_id = AKIADEV\nregion = from-creds\n[only-creds]\nx = 1\n"
    )
    cfg = load_shared_config(
        {
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        }
    )
    assert set(cfg.config_profiles) == {"default", "dev", "with space"}
    assert set(cfg.profiles) == {"default", "dev", "with space", "only-creds"}
    assert cfg.value("dev", "region") == "from-creds"  # credentials file wins
    assert cfg.profile("dev")["s3"] == {"addressing_style": "path"}  # type: ignore[index]
    assert cfg.value("dev", "s3") is None
    assert cfg.services == {"local": {"sts": {"endpoint_url": "http://localhost:4566"}}}
    assert cfg.profile("corp") is None and cfg.profile("preview") is None


def test_default_vs_profile_default_file_order(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[default]\nregion = a\n[profile default]\nregion = b\n")
    assert load_shared_config({"AWS_CONFIG_FILE": str(tmp_path / "config")}).value("default", "region") == "b"


def test_missing_files_are_empty(tmp_path: Path) -> None:
    cfg = load_shared_config(
        {"AWS_CONFIG_FILE": str(tmp_path / "no"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no")}
    )
    assert cfg.profiles == {}


def test_paths_default_and_expand(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MYDIR", str(tmp_path / "d"))
    assert config_file_paths({}) == (
        str(tmp_path / ".aws" / "config"),
        str(tmp_path / ".aws" / "credentials"),
    )
    assert config_file_paths({"AWS_CONFIG_FILE": "$MYDIR/c"})[0] == str(tmp_path / "d" / "c")


@pytest.mark.parametrize(
    ("env", "explicit", "expected"),
    [
        ({}, None, "default"),
        ({"AWS_PROFILE": "p"}, None, "p"),
        (
            {"AWS_DEFAULT_PROFILE": "d", "AWS_PROFILE": "p"},
            None,
            "d",
        ),  # botocore checks AWS_DEFAULT_PROFILE first
        ({"AWS_PROFILE": "p"}, "x", "x"),
    ],
)
def test_profile_selection(env: dict[str, str], explicit: str | None, expected: str) -> None:
    assert selected_profile_name(env, explicit) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("1", False),
        ("yes", False),
        ("false", False),
        (None, False),
    ],
)
def test_env_flag(value: str | None, expected: bool) -> None:
    assert env_flag(value) is expected


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "r1", "AWS_DEFAULT_REGION": "r2"}, "r1"),
        ({"AWS_DEFAULT_REGION": "r2"}, "r2"),
        ({}, "us-west-2"),
    ],
)
def test_region(env: dict[str, str], region: str, tmp_path: Path) -> None:
    (tmp_path / "config").write_text(CONFIG)
    assert ProfileScope(env={"AWS_CONFIG_FILE": str(tmp_path / "config"), **env}).region() == region
