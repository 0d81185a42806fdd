"""Environment and explicit providers (tables), credential_process validation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from iamguard import errors
from iamguard.credentials.config_files import ProfileScope
from iamguard.credentials.sources.env import EnvProvider
from iamguard.credentials.sources.explicit import ExplicitProvider
from iamguard.credentials.sources.process import ProcessProvider, parse_process_output
from iamguard.errors import CredentialsError, PartialCredentialsError

ENV = json.loads((Path(__file__).parents[1] / "data" / "credentials" / "env.json").read_text())["cases"]


@pytest.mark.parametrize("case", ENV, ids=[c["id"] for c in ENV])
def test_env_provider(case: dict[str, Any]) -> None:
    provider = EnvProvider(case["env"])
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"]), match=case["names"]) as info:
            provider.load()
        assert "env" in str(info.value)
        assert all(v not in str(info.value) for k, v in case["env"].items() if "SECRET" in k)
        return
    creds = provider.load()
    if case["expect"] is None:
        assert creds is None
        return
    assert creds is not None and creds.source == "env"
    for field, value in case["expect"].items():
        got = getattr(creds, field)
        assert (got.isoformat() if field == "expiration" else got) == value


@pytest.mark.parametrize(
    ("args", "outcome"),
    [
        ((None, None, None), None),
        (("AKIA", "s", None), "AKIA"),
        (("ASIA", "s", "t"), "ASIA"),
        (("AKIA", None, None), "secret_access_key"),
        ((None, "s", None), "access_key_id"),
        ((None, None, "t"), "session token"),
    ],
)
def test_explicit_provider(args: tuple[str | None, str | None, str | None], outcome: str | None) -> None:
    provider = ExplicitProvider(*args)
    if outcome is None:
        assert provider.load() is None
    elif outcome.startswith(("AKIA", "ASIA")):
        creds = provider.load()
        assert creds is not None and creds.access_key_id == outcome and creds.source == "explicit"
    else:
        with pytest.raises(PartialCredentialsError, match=outcome):
            provider.load()


# ---------------------------------------------------------------- credential_process
# https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html


@pytest.mark.parametrize(
    ("output", "match"),
    [
        (b"not json", "did not print JSON"),
        (b"[1]", "not an object"),
        (json.dumps({"AccessKeyId": "A", "SecretAccessKey": "s"}).encode(), "Version '<missing>'"),
        (json.dumps({"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s"}).encode(), "only Version 1"),
        (json.dumps({"Version": 1, "SecretAccessKey": "s"}).encode(), "AccessKeyId"),
        (json.dumps({"Version": 1, "AccessKeyId": "A", "SecretAccessKey": ""}).encode(), "SecretAccessKey"),
        (
            json.dumps(
                {"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "SessionToken": 5}
            ).encode(),
            "SessionToken",
        ),
        (
            json.dumps(
                {"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "soon"}
            ).encode(),
            "Expiration",
        ),
    ],
)
def test_process_output_validation(output: bytes, match: str) -> None:
    with pytest.raises(CredentialsError, match=match) as info:
        parse_process_output(output, command="helper")
    assert "helper" in str(info.value)


def test_process_output_with_expiration() -> None:
    creds = parse_process_output(
        json.dumps(
            {
                "Version": 1,
                "AccessKeyId": "ASIA",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": "2030-05-01T10:00:00Z",
            }
        ).encode(),
        command="x",
    )
    assert creds.expiration is not None and creds.expiration.year == 2030 and creds.session_token == "t"


def _scope(tmp_path: Path, command: str) -> ProfileScope:
    (tmp_path / "config").write_text(f"[default]\ncredential_process = {command}\n")
    return ProfileScope(
        env={
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        }
    )


def test_process_runs_without_a_shell(tmp_path: Path) -> None:
    seen: list[Sequence[str]] = []

    def runner(argv: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
        seen.append(argv)
        out = json.dumps({"Version": 1, "AccessKeyId": "AKIAP", "SecretAccessKey": "s"}).encode()
        return subprocess.CompletedProcess(list(argv), 0, out, b"")

    creds = ProcessProvider(_scope(tmp_path, "helper --profile 'my dev' ; rm -rf x"), runner=runner).load()
    assert creds is not None and creds.access_key_id == "AKIAP"
    assert seen == [["helper", "--profile", "my dev", ";", "rm", "-rf", "x"]]  # ';' is just an argument


def test_process_failure_reports_status_and_stderr(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.stderr.write('token expired, run login')\nsys.exit(3)\n")
    with pytest.raises(CredentialsError, match="status 3: token expired, run login"):
        ProcessProvider(_scope(tmp_path, f"{sys.executable} {script}")).load()


def test_process_missing_program(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot run"):
        ProcessProvider(_scope(tmp_path, str(tmp_path / "no-such-helper"))).load()


def test_process_not_configured(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[default]\nregion = us-east-1\n")
    provider = ProcessProvider(ProfileScope(env={"AWS_CONFIG_FILE": str(tmp_path / "config")}))
    assert provider.load() is None and "no credential_process" in str(provider.load_or_reason())
