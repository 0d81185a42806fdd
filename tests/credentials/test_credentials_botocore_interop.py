"""iamguard's providers against real botocore on the same files and environment.

Both read config/credentials files written into tmp_path; for role profiles both call the same
fake STS Query endpoint on 127.0.0.1 (via ``AWS_ENDPOINT_URL_STS``) and the recorded AssumeRole
requests are compared parameter by parameter.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import botocore.session
import pytest

from iamguard.credentials.chain import botocore_order, default_credential_chain
from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import RefreshableCredentials

from .conftest import LocalServer

_SIGNATURE_FIELDS = {"Action", "Version"}


@pytest.fixture
def setenv(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], dict[str, str]]:
    """Replace every AWS_* variable in os.environ (for botocore) and return the same mapping."""

    def apply(env: dict[str, str]) -> dict[str, str]:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    return apply


def _write(tmp_path: Path, config: str = "", credentials: str = "") -> dict[str, str]:
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    return {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _ours(env: dict[str, str], profile: str | None = None) -> Credentials:
    """Resolve with both presets; on these setups they must agree (and agree with botocore)."""
    roles_first = default_credential_chain(env=env, profile=profile).resolve().get()
    botocore_like = default_credential_chain(env=env, profile=profile, order=botocore_order()).resolve().get()
    assert roles_first.access_key_id == botocore_like.access_key_id
    return botocore_like


def _botocore(profile: str | None = None) -> tuple[str, str, str | None]:
    session = botocore.session.Session(profile=profile)
    found = session.get_credentials()
    assert found is not None
    frozen = found.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


STATIC_CASES = [
    (
        "credentials-file-default",
        "",
        "[default]\naws_access_key_id = AKIACREDS\naws_secret_access_key = s1\n",
        None,
    ),
    (
        "config-file-default",
        "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s2\n",
        "",
        None,
    ),
    (
        "credentials-file-wins-over-config",
        "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s2\n",
        "[default]\naws_access_key_id = AKIACREDS\naws_secret_access_key = s1\n",
        None,
    ),
    (
        "named-profile-with-token",
        ("[profile dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s3\naws_session_token = tok\n"),
        "",
        "dev",
    ),
    (
        "named-profile-in-credentials",
        "",
        "[dev]\naws_access_key_id = AKIADEVC\naws_secret_access_key = s4\n",
        "dev",
    ),
    (
        "quoted-profile-name",
        '[profile "my dev"]\naws_access_key_id = AKIAQUOTED\naws_secret_access_key = s5\n',
        "",
        "my dev",
    ),
    (
        "sso-session-ignored",
        (
            "[sso-session x]\nsso_region = us-east-1\n[default]\naws_access_key_id = AKIASSO\n"
            "aws_secret_access_key = s6\n"
        ),
        "",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "config", "credentials", "profile"), STATIC_CASES, ids=[c[0] for c in STATIC_CASES]
)
def test_static_profiles_match_botocore(
    case: str,
    config: str,
    credentials: str,
    profile: str | None,
    tmp_path: Path,
    setenv: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    env = setenv(_write(tmp_path, config, credentials))
    ours = _ours(env, profile)
    assert (ours.access_key_id, ours.secret_access_key, ours.session_token) == _botocore(profile)


def test_aws_profile_variable_selects_profile(
    tmp_path: Path, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    env = setenv(
        {
            **_write(
                tmp_path,
                "",
                "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = a\n"
                "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = b\n",
            ),
            "AWS_PROFILE": "other",
        }
    )
    assert _ours(env).access_key_id == _botocore()[0] == "AKIAOTHER"


@pytest.mark.parametrize("token_var", ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])
def test_env_matches_botocore(
    token_var: str, tmp_path: Path, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    env = setenv(
        {
            **_write(tmp_path, "", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = f\n"),
            "AWS_ACCESS_KEY_ID": "AKIAENV",
            "AWS_SECRET_ACCESS_KEY": "e",
            token_var: "envtok",
        }
    )
    ours = _ours(env)
    assert (ours.access_key_id, ours.secret_access_key, ours.session_token) == _botocore()


def test_both_token_vars_security_token_wins_as_botocore(
    tmp_path: Path, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    env = setenv(
        {
            **_write(tmp_path),
            "AWS_ACCESS_KEY_ID": "AKIAENV",
            "AWS_SECRET_ACCESS_KEY": "e",
            "AWS_SESSION_TOKEN": "session",
            "AWS_SECURITY_TOKEN": "security",
        }
    )
    assert _ours(env).session_token == _botocore()[2] == "security"


def test_explicit_profile_disables_env_keys_as_botocore(
    tmp_path: Path, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    env = setenv(
        {
            **_write(tmp_path, "", "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = d\n"),
            "AWS_ACCESS_KEY_ID": "AKIAENV",
            "AWS_SECRET_ACCESS_KEY": "e",
        }
    )
    assert _ours(env, "dev").access_key_id == _botocore("dev")[0] == "AKIADEV"


def _process_script(tmp_path: Path, expiration: str | None) -> str:
    script = tmp_path / "creds.py"
    extra = f', "Expiration": "{expiration}"' if expiration else ""
    script.write_text(
        'import json\nprint(json.dumps({"Version": 1, "AccessKeyId": "AKIAPROC", '
        f'"SecretAccessKey": "p", "SessionToken": "ptok"{extra}}}))\n'
    )
    return f"{sys.executable} {script}"


@pytest.mark.parametrize("expiration", [None, "2099-01-01T00:00:00Z"])
def test_credential_process_matches_botocore(
    expiration: str | None, tmp_path: Path, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    command = _process_script(tmp_path, expiration)
    env = setenv(_write(tmp_path, f"[default]\ncredential_process = {command}\n"))
    chain = default_credential_chain(env=env)
    resolved = chain.resolve()
    assert isinstance(resolved, RefreshableCredentials) == (expiration is not None)
    ours = resolved.get()
    assert (ours.access_key_id, ours.secret_access_key, ours.session_token) == _botocore()


ROLE_CONFIG = """[profile base]
aws_access_key_id = AKIABASE
aws_secret_access_key = base-secret

[profile role]
role_arn = arn:aws:iam::123456789012:role/demo
source_profile = base
external_id = ext-123
duration_seconds = 1800
role_session_name = both-sdks

[profile chained]
role_arn = arn:aws:iam::123456789012:role/second
source_profile = role
role_session_name = hop2

[profile mfa]
role_arn = arn:aws:iam::123456789012:role/mfa
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/alice
role_session_name = with-mfa

[profile fromenv]
role_arn = arn:aws:iam::123456789012:role/envsourced
credential_source = Environment
role_session_name = env-src

[profile selfref]
role_arn = arn:aws:iam::123456789012:role/self
source_profile = selfref
role_session_name = self
aws_access_key_id = AKIASELF
aws_secret_access_key = self-secret
"""


def _requests_as(server: LocalServer) -> list[dict[str, str]]:
    out = []
    for request in server.requests:
        form = request.form
        credential = request.headers.get("authorization", "").split("Credential=")[-1].split(",")[0]
        form["_signing_key"] = credential.split("/")[0]
        form["_scope"] = "/".join(credential.split("/")[2:])
        out.append(form)
    return out


@pytest.mark.parametrize(
    ("profile", "calls"), [("role", 1), ("chained", 2), ("mfa", 1), ("fromenv", 1), ("selfref", 1)]
)
def test_assume_role_requests_match_botocore(
    profile: str,
    calls: int,
    tmp_path: Path,
    fake_sts: LocalServer,
    setenv: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    env = setenv(
        {
            **_write(tmp_path, ROLE_CONFIG),
            "AWS_ENDPOINT_URL_STS": fake_sts.url,
            "AWS_ACCESS_KEY_ID": "AKIAENVSRC",
            "AWS_SECRET_ACCESS_KEY": "env-secret",
        }
    )
    ours = (
        default_credential_chain(env=env, profile=profile, mfa_code=lambda serial: "123456").resolve().get()
    )
    ours_requests = _requests_as(fake_sts)
    fake_sts.requests.clear()

    session = botocore.session.Session(profile=profile)
    resolver = session.get_component("credential_provider")
    resolver.get_provider("assume-role")._prompter = lambda prompt: "123456"
    theirs = session.get_credentials().get_frozen_credentials()
    botocore_requests = _requests_as(fake_sts)

    assert len(ours_requests) == len(botocore_requests) == calls
    assert ours_requests == botocore_requests
    assert ours.access_key_id.startswith("ASIAASSUMEROLE") and theirs.access_key.startswith("ASIAASSUMEROLE")
    assert ours.session_token == theirs.token == "role-token"


def test_default_session_names_have_the_same_shape(
    tmp_path: Path, fake_sts: LocalServer, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    config = (
        "[profile base]\naws_access_key_id = AKIABASE\naws_secret_access_key = b\n"
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/demo\nsource_profile = base\n"
    )
    env = setenv({**_write(tmp_path, config), "AWS_ENDPOINT_URL_STS": fake_sts.url})
    default_credential_chain(env=env, profile="role").resolve().get()
    botocore.session.Session(profile="role").get_credentials().get_frozen_credentials()
    ours, theirs = (r.form["RoleSessionName"] for r in fake_sts.requests)
    assert ours.startswith("iamguard-session-") and theirs.startswith("botocore-session-")
    assert ours.rsplit("-", 1)[1].isdigit() and theirs.rsplit("-", 1)[1].isdigit()


def test_web_identity_request_matches_botocore(
    tmp_path: Path, fake_sts: LocalServer, setenv: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJhbGciOi.token.sig")
    env = setenv(
        {
            **_write(tmp_path),
            "AWS_ENDPOINT_URL_STS": fake_sts.url,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa",
            "AWS_ROLE_SESSION_NAME": "pod",
        }
    )
    default_credential_chain(env=env).resolve().get()
    botocore.session.Session().get_credentials().get_frozen_credentials()
    ours, theirs = (r for r in fake_sts.requests)
    assert ours.form == theirs.form
    assert (
        ours.form["Action"] == "AssumeRoleWithWebIdentity"
        and ours.form["WebIdentityToken"] == "eyJhbGciOi.token.sig"
    )
    assert "authorization" not in ours.headers and "authorization" not in theirs.headers


def _imds_handler(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    import json

    if method == "PUT" and path == "/latest/api/token":
        return 200, b"TOKEN"
    if headers.get("x-aws-ec2-metadata-token") != "TOKEN":
        return 401, b""
    if path == "/latest/meta-data/iam/security-credentials/":
        return 200, b"instance-role"
    if path == "/latest/meta-data/iam/security-credentials/instance-role":
        return 200, json.dumps(
            {
                "Code": "Success",
                "AccessKeyId": "ASIAINSTANCE",
                "SecretAccessKey": "i",
                "Token": "itok",
                "Expiration": "2099-01-01T00:00:00Z",
            }
        ).encode()
    return 404, b""


def test_imds_matches_botocore(
    tmp_path: Path,
    setenv: Callable[[dict[str, str]], dict[str, str]],
    local_server: Callable[..., LocalServer],
) -> None:
    server = local_server(_imds_handler)
    env = setenv(
        {
            **_write(tmp_path),
            "AWS_EC2_METADATA_DISABLED": "false",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url + "/",
        }
    )
    ours = _ours(env)
    ours_calls = [(r.method, r.path, "x-aws-ec2-metadata-token" in r.headers) for r in server.requests]
    server.requests.clear()
    assert (ours.access_key_id, ours.secret_access_key, ours.session_token) == _botocore()
    theirs_calls = [(r.method, r.path, "x-aws-ec2-metadata-token" in r.headers) for r in server.requests]
    assert ours_calls[:3] == theirs_calls[:3]


def test_container_matches_botocore(
    tmp_path: Path,
    setenv: Callable[[dict[str, str]], dict[str, str]],
    local_server: Callable[..., LocalServer],
) -> None:
    import json

    doc = json.dumps(
        {
            "AccessKeyId": "ASIACONTAINER",
            "SecretAccessKey": "c",
            "Token": "ctok",
            "Expiration": "2099-01-01T00:00:00Z",
        }
    ).encode()
    server = local_server(lambda m, p, h, b: (200, doc))
    env = setenv(
        {
            **_write(tmp_path),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url + "/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer abc",
        }
    )
    ours = _ours(env)
    assert (ours.access_key_id, ours.secret_access_key, ours.session_token) == _botocore()
    assert {r.headers["authorization"] for r in server.requests} == {"Bearer abc"}
