"""Role profiles (source_profile chains, credential_source, MFA, cycles) and static profiles.

https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html
STS is a real local HTTP server speaking the Query protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from iamguard.credentials.config_files import ProfileScope
from iamguard.credentials.sources.profile import AssumeRoleProvider, SharedStaticProvider
from iamguard.errors import CredentialsError, PartialCredentialsError, STSError

from .conftest import Handler, LocalServer, sts_error

BASE = "[profile base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n"


def scope(tmp_path: Path, config: str, profile: str, credentials: str = "", **env: str) -> ProfileScope:
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    return ProfileScope(
        env={
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            **env,
        },
        profile=profile,
    )


def role(name: str, **settings: str) -> str:
    lines = [f"[profile {name}]", f"role_arn = arn:aws:iam::123456789012:role/{name}"]
    lines += [f"{k} = {v}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def test_role_chain_calls_sts_in_order(tmp_path: Path, fake_sts: LocalServer) -> None:
    config = (
        BASE
        + role("a", source_profile="base")
        + role("b", source_profile="a")
        + role("c", source_profile="b")
    )
    creds = AssumeRoleProvider(scope(tmp_path, config, "c", AWS_ENDPOINT_URL_STS=fake_sts.url)).load()
    assert creds is not None and creds.source == "assume-role" and creds.expiration is not None
    arns = [r.form["RoleArn"].rsplit("/", 1)[1] for r in fake_sts.requests]
    assert arns == ["a", "b", "c"]
    signers = [r.headers["authorization"].split("Credential=")[1].split("/")[0] for r in fake_sts.requests]
    assert signers == ["AKIABASE", "ASIAASSUMEROLE1", "ASIAASSUMEROLE2"]  # each hop signs with the previous
    assert creds.account_id == "123456789012"


@pytest.mark.parametrize(
    ("config", "profile", "cycle"),
    [
        (role("a", source_profile="b") + role("b", source_profile="a"), "a", "a -> b -> a"),
        (
            role("a", source_profile="b") + role("b", source_profile="c") + role("c", source_profile="b"),
            "a",
            "a -> b -> c -> b",
        ),
        (role("a", source_profile="a"), "a", "a -> a"),  # self-reference without static keys
    ],
)
def test_cycles_are_named(config: str, profile: str, cycle: str, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=f"cycle {cycle}"):
        AssumeRoleProvider(scope(tmp_path, config, profile)).load()


def test_self_reference_with_static_keys_is_allowed(tmp_path: Path, fake_sts: LocalServer) -> None:
    config = role("me", source_profile="me", aws_access_key_id="AKIAME", aws_secret_access_key="me-secret")
    assert (
        AssumeRoleProvider(scope(tmp_path, config, "me", AWS_ENDPOINT_URL_STS=fake_sts.url)).load()
        is not None
    )
    assert "Credential=AKIAME/" in fake_sts.requests[0].headers["authorization"]


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        (role("r"), PartialCredentialsError, "neither source_profile nor credential_source"),
        (role("r", source_profile="base", credential_source="Environment") + BASE, CredentialsError, "both"),
        (
            role("r", source_profile="ghost"),
            CredentialsError,
            "'ghost' referenced by profile 'r' does not exist",
        ),
        (role("r", credential_source="Floppy"), CredentialsError, "'Floppy'.*Ec2InstanceMetadata"),
        (role("r", credential_source="Environment"), CredentialsError, "found no credentials"),
        (
            role("r", source_profile="empty") + "[profile empty]\nregion = us-east-1\n",
            CredentialsError,
            "source profile 'empty' .* has no credentials",
        ),
        (
            role("r", source_profile="base", duration_seconds="1h") + BASE,
            CredentialsError,
            "duration_seconds '1h'",
        ),
        (
            role("r", source_profile="base", mfa_serial="arn:aws:iam::1:mfa/x") + BASE,
            CredentialsError,
            "mfa_code",
        ),
        (
            role("r", source_profile="half") + "[profile half]\naws_access_key_id = AKIAHALF\n",
            PartialCredentialsError,
            "aws_secret_access_key",
        ),
    ],
)
def test_configuration_errors_name_the_fix(
    config: str, error: type[Exception], match: str, tmp_path: Path
) -> None:
    with pytest.raises(error, match=match):
        AssumeRoleProvider(scope(tmp_path, config, "r")).load()


def test_credential_source_environment(tmp_path: Path, fake_sts: LocalServer) -> None:
    s = scope(
        tmp_path,
        role("r", credential_source="Environment"),
        "r",
        AWS_ENDPOINT_URL_STS=fake_sts.url,
        AWS_ACCESS_KEY_ID="AKIAENV",
        AWS_SECRET_ACCESS_KEY="env-secret",
    )
    assert AssumeRoleProvider(s).load() is not None
    assert "Credential=AKIAENV/" in fake_sts.requests[0].headers["authorization"]


def test_credential_source_ec2_metadata(
    tmp_path: Path, fake_sts: LocalServer, local_server: Callable[[Handler], LocalServer]
) -> None:
    import json

    def imds(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if method == "PUT":
            return 200, b"tok"
        if path.endswith("/security-credentials/"):
            return 200, b"inst"
        return 200, json.dumps(
            {
                "Code": "Success",
                "AccessKeyId": "ASIAINST",
                "SecretAccessKey": "i",
                "Token": "t",
                "Expiration": "2099-01-01T00:00:00Z",
            }
        ).encode()

    meta = local_server(imds)
    s = scope(
        tmp_path,
        role("r", credential_source="Ec2InstanceMetadata"),
        "r",
        AWS_ENDPOINT_URL_STS=fake_sts.url,
        AWS_EC2_METADATA_SERVICE_ENDPOINT=meta.url,
        AWS_EC2_METADATA_DISABLED="false",
    )
    assert AssumeRoleProvider(s).load() is not None
    assert "Credential=ASIAINST/" in fake_sts.requests[0].headers["authorization"]
    assert fake_sts.requests[0].headers["x-amz-security-token"] == "t"


def test_all_assume_role_parameters(tmp_path: Path, fake_sts: LocalServer) -> None:
    config = BASE + role(
        "r",
        source_profile="base",
        external_id="ext-9",
        mfa_serial="arn:aws:iam::1:mfa/alice",
        duration_seconds="900",
        role_session_name="alice-session",
    )
    asked: list[str] = []

    def mfa_code(serial: str) -> str:
        asked.append(serial)
        return "654321"

    provider = AssumeRoleProvider(
        scope(tmp_path, config, "r", AWS_ENDPOINT_URL_STS=fake_sts.url), mfa_code=mfa_code
    )
    provider.load()
    form = fake_sts.requests[0].form
    assert form == {
        "Action": "AssumeRole",
        "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "RoleSessionName": "alice-session",
        "ExternalId": "ext-9",
        "SerialNumber": "arn:aws:iam::1:mfa/alice",
        "TokenCode": "654321",
        "DurationSeconds": "900",
    }
    assert asked == ["arn:aws:iam::1:mfa/alice"]


def test_sts_error_code_surfaces(tmp_path: Path, local_server: Callable[[Handler], LocalServer]) -> None:
    sts = local_server(
        lambda m, p, h, b: (403, sts_error("AccessDenied", "not authorized to perform sts:AssumeRole"))
    )
    with pytest.raises(STSError, match="not authorized") as info:
        AssumeRoleProvider(
            scope(tmp_path, BASE + role("r", source_profile="base"), "r", AWS_ENDPOINT_URL_STS=sts.url)
        ).load()
    assert info.value.code == "AccessDenied"


def test_web_identity_profile_is_not_an_assume_role_profile(tmp_path: Path) -> None:
    config = role("w", web_identity_token_file="/tmp/t")
    provider = AssumeRoleProvider(scope(tmp_path, config, "w"))
    assert provider.load() is None and not provider.is_configured()


def test_source_profile_with_credential_process(tmp_path: Path, fake_sts: LocalServer) -> None:
    import sys

    script = tmp_path / "p.py"
    script.write_text('print(\'{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "p"}\')\n')
    config = (
        role("r", source_profile="proc") + f"[profile proc]\ncredential_process = {sys.executable} {script}\n"
    )
    assert (
        AssumeRoleProvider(scope(tmp_path, config, "r", AWS_ENDPOINT_URL_STS=fake_sts.url)).load() is not None
    )
    assert "Credential=AKIAPROC/" in fake_sts.requests[0].headers["authorization"]


# ---------------------------------------------------------------- static profiles


@pytest.mark.parametrize(
    ("files", "expected"), [("both", "AKIACREDS"), ("credentials", "AKIACREDS"), ("config", "AKIACONFIG")]
)
def test_static_provider_files(files: str, expected: str, tmp_path: Path) -> None:
    s = scope(
        tmp_path,
        "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = c\n",
        "default",
        credentials="[default]\naws_access_key_id = AKIACREDS\naws_secret_access_key = k\n",
    )
    creds = SharedStaticProvider(s, files=files).load()
    assert creds is not None and creds.access_key_id == expected


def test_static_partial_profile(tmp_path: Path) -> None:
    s = scope(tmp_path, "", "default", credentials="[default]\naws_secret_access_key = k\n")
    with pytest.raises(PartialCredentialsError, match="aws_access_key_id"):
        SharedStaticProvider(s).load()


def test_malformed_file_reports_line_not_content(tmp_path: Path) -> None:
    s = scope(tmp_path, "", "default", credentials="[default]\nthis line is secret-ish wJalrXUtnFEMI\n")
    with pytest.raises(CredentialsError, match="line") as info:
        SharedStaticProvider(s).load()
    assert "wJalrXUtnFEMI" not in str(info.value)
