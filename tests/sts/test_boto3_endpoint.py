"""iamguard's STS endpoint called by unmodified boto3 (and the AWS CLI when installed) over real sockets.

The WSGI app runs on 127.0.0.1 on an ephemeral port in a thread; clients are pointed at it with
``endpoint_url``, ``AWS_ENDPOINT_URL_STS`` or a profile, exactly as an application would be.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import botocore.exceptions
import jwt
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.auth_message import AuthorizationMessageCodec
from iamguard.sts.keys import KeyRing
from iamguard.sts.oidc import OidcProvider, OidcVerifier
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

ACCOUNT = "111122223333"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/Deploy"
WEB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/WebApp"
AUDIENCE = "my-client-id"


class ShiftedClock:
    """time.time() plus an adjustable offset: lets a test mint tokens "in the past"."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


# ---------------------------------------------------------------- a real OIDC issuer on 127.0.0.1


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [dict(jwk, kid="k1", alg="RS256", use="sig")]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}).encode()
                elif self.path == "/jwks":
                    body = json.dumps(issuer.jwks).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def token(self, subject: str, audience: str = AUDIENCE) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "sub": subject, "aud": audience, "iat": now, "nbf": now, "exp": now + 300}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the STS server


class Sts:
    def __init__(self) -> None:
        self.issuer = Issuer()
        self.store = _store(self.issuer)
        self.clock = ShiftedClock()
        self.codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
        tokens = SessionTokenService(KeyRing.generate(clock=lambda: time.time() - 86400), clock=self.clock)
        provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{self.issuer.host}"
        self.service = TokenService(
            self.store,
            tokens,
            message_codec=self.codec,
            oidc_verifier=OidcVerifier(),
            oidc_providers={provider_arn: OidcProvider(self.issuer.url, (AUDIENCE,))},
        )
        self.server = make_server(
            "127.0.0.1", 0, StsWsgiApp(self.service), server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()
        self.alice = self.store.create_access_key("alice")
        self.carol = self.store.create_access_key("carol")

    def client(self, key_id: str, secret: str, token: str | None = None, **config: Any) -> Any:
        return boto3.client(
            "sts",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def as_alice(self, **config: Any) -> Any:
        return self.client(self.alice.access_key_id, self.alice.secret_access_key, **config)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.issuer.close()


def _store(issuer: Issuer) -> IdentityService:
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"))
    store.create_user("alice")
    store.put_inline_policy(
        PrincipalKind.USER,
        "alice",
        "sts",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            ],
        },
    )
    store.create_user("carol")
    store.create_role(
        "Deploy",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                }
            ],
        },
        max_session_duration=7200,
    )
    store.put_inline_policy(
        PrincipalKind.ROLE,
        "Deploy",
        "chain",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                    "Resource": "*",
                }
            ],
        },
    )
    store.create_role(
        "WebApp",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.host}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{issuer.host}:aud": AUDIENCE},
                        "StringLike": {f"{issuer.host}:sub": "user-*"},
                    },
                }
            ],
        },
    )
    return store


@pytest.fixture(scope="module")
def sts() -> Iterator[Sts]:
    server = Sts()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's own AWS configuration out of every test."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _error(call: Any) -> tuple[str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# ---------------------------------------------------------------- happy paths


def test_get_caller_identity(sts: Sts) -> None:
    answer = sts.as_alice().get_caller_identity()
    assert answer["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert answer["Account"] == ACCOUNT and answer["UserId"].startswith("AIDA")


def test_assume_role_then_act_as_the_role(sts: Sts) -> None:
    result = sts.as_alice().assume_role(
        RoleArn=DEPLOY,
        RoleSessionName="boto3",
        DurationSeconds=7200,
        Tags=[{"Key": "team", "Value": "red"}],
        TransitiveTagKeys=["team"],
        SourceIdentity="alice",
    )
    creds = result["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["SecretAccessKey"]) == 40
    remaining = creds["Expiration"].timestamp() - time.time()
    assert 7100 < remaining <= 7200
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/boto3"
    assert result["AssumedRoleUser"]["AssumedRoleId"].endswith(":boto3")
    assert result["SourceIdentity"] == "alice" and result["PackedPolicySize"] >= 1
    role = sts.client(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    who = role.get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/boto3"
    assert who["UserId"] == result["AssumedRoleUser"]["AssumedRoleId"]


def test_role_chaining(sts: Sts) -> None:
    first = sts.as_alice().assume_role(RoleArn=DEPLOY, RoleSessionName="one")["Credentials"]
    role = sts.client(first["AccessKeyId"], first["SecretAccessKey"], first["SessionToken"])
    assert _error(lambda: role.assume_role(RoleArn=DEPLOY, RoleSessionName="two", DurationSeconds=7200)) == (
        "ValidationError",
        400,
    )
    second = role.assume_role(RoleArn=DEPLOY, RoleSessionName="two")
    assert second["Credentials"]["Expiration"].timestamp() - time.time() <= 3600
    chained = sts.client(
        second["Credentials"]["AccessKeyId"],
        second["Credentials"]["SecretAccessKey"],
        second["Credentials"]["SessionToken"],
    )
    assert chained.get_caller_identity()["Arn"].endswith("assumed-role/Deploy/two")


def test_session_and_federation_tokens(sts: Sts) -> None:
    token = sts.as_alice().get_session_token(DurationSeconds=900)["Credentials"]
    assert (
        sts.client(
            token["AccessKeyId"], token["SecretAccessKey"], token["SessionToken"]
        ).get_caller_identity()["Arn"]
        == f"arn:aws:iam::{ACCOUNT}:user/alice"
    )
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    federated = sts.as_alice().get_federation_token(Name="Bob", Policy=policy)
    assert federated["FederatedUser"] == {
        "FederatedUserId": f"{ACCOUNT}:Bob",
        "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/Bob",
    }
    fed = federated["Credentials"]
    assert (
        sts.client(fed["AccessKeyId"], fed["SecretAccessKey"], fed["SessionToken"]).get_caller_identity()[
            "Arn"
        ]
        == f"arn:aws:sts::{ACCOUNT}:federated-user/Bob"
    )


def test_decode_authorization_message(sts: Sts) -> None:
    message = {"allowed": False, "explicitDeny": False, "context": {"action": "s3:GetObject"}}
    decoded = sts.as_alice().decode_authorization_message(EncodedMessage=sts.codec.encode(message))
    assert json.loads(decoded["DecodedMessage"]) == message
    assert _error(lambda: sts.as_alice().decode_authorization_message(EncodedMessage="garbage")) == (
        "InvalidAuthorizationMessageException",
        400,
    )


def test_assume_role_with_web_identity(sts: Sts) -> None:
    unsigned = boto3.client(
        "sts",
        endpoint_url=sts.url,
        region_name="us-east-1",
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )
    result = unsigned.assume_role_with_web_identity(
        RoleArn=WEB_ROLE, RoleSessionName="web", WebIdentityToken=sts.issuer.token("user-42")
    )
    assert result["SubjectFromWebIdentityToken"] == "user-42"
    assert result["Provider"] == sts.issuer.host and result["Audience"] == AUDIENCE
    creds = result["Credentials"]
    assert (
        sts.client(
            creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        ).get_caller_identity()["Arn"]
        == f"arn:aws:sts::{ACCOUNT}:assumed-role/WebApp/web"
    )
    assert _error(
        lambda: unsigned.assume_role_with_web_identity(
            RoleArn=WEB_ROLE, RoleSessionName="web", WebIdentityToken=sts.issuer.token("admin")
        )
    ) == ("AccessDenied", 403)
    assert _error(
        lambda: unsigned.assume_role_with_web_identity(
            RoleArn=WEB_ROLE,
            RoleSessionName="web",
            WebIdentityToken=sts.issuer.token("user-1", audience="other"),
        )
    ) == ("InvalidIdentityToken", 400)


def test_web_identity_through_boto3_credential_chain(
    sts: Sts, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """boto3's own AssumeRoleWithWebIdentity provider (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)."""
    token_file = tmp_path / "token"
    token_file.write_text(sts.issuer.token("user-7"))
    monkeypatch.setenv("AWS_ROLE_ARN", WEB_ROLE)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "chain")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    client = boto3.Session(region_name="us-east-1").client("sts")
    assert client.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/WebApp/chain"


def test_endpoint_from_environment(sts: Sts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sts.alice.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sts.alice.secret_access_key)
    client = boto3.Session(region_name="us-east-1").client("sts")
    assert client.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_profile_assumes_role_through_boto3(
    sts: Sts, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """boto3's assume-role credential provider: role_arn + source_profile in a config file."""
    config = tmp_path / "config"
    config.write_text(
        "[profile base]\nregion = us-east-1\n"
        f"[profile deploy]\nrole_arn = {DEPLOY}\nsource_profile = base\nrole_session_name = from-profile\n"
        "region = us-east-1\n"
    )
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[base]\naws_access_key_id = {sts.alice.access_key_id}\n"
        f"aws_secret_access_key = {sts.alice.secret_access_key}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    session = boto3.Session(profile_name="deploy")
    answer = session.client("sts").get_caller_identity()
    assert answer["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/from-profile"
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA") and frozen.token


# ---------------------------------------------------------------- errors as botocore ClientError


def test_access_denied(sts: Sts) -> None:
    carol = sts.client(sts.carol.access_key_id, sts.carol.secret_access_key)
    assert _error(lambda: carol.assume_role(RoleArn=DEPLOY, RoleSessionName="nope")) == ("AccessDenied", 403)
    assert carol.get_caller_identity()["Arn"].endswith(":user/carol")  # needs no permission


def test_invalid_client_token_id(sts: Sts) -> None:
    stranger = sts.client("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert _error(stranger.get_caller_identity) == ("InvalidClientTokenId", 403)
    wrong = sts.client(sts.alice.access_key_id, "x" * 40)
    assert _error(wrong.get_caller_identity) == ("SignatureDoesNotMatch", 403)


def test_expired_token(sts: Sts) -> None:
    sts.clock.offset = -1000
    try:
        creds = sts.as_alice().assume_role(RoleArn=DEPLOY, RoleSessionName="old", DurationSeconds=900)[
            "Credentials"
        ]
    finally:
        sts.clock.offset = 0
    old = sts.client(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert _error(old.get_caller_identity) == ("ExpiredToken", 400)


def test_malformed_policy_and_packed_size(sts: Sts) -> None:
    alice = sts.as_alice()
    assert _error(
        lambda: alice.assume_role(RoleArn=DEPLOY, RoleSessionName="pp", Policy='{"Statement": "nope"}')
    ) == ("MalformedPolicyDocument", 400)
    rng = random.Random(3)
    tags = [
        {"Key": f"k{i}", "Value": "".join(rng.choice(string.ascii_letters) for _ in range(256))}
        for i in range(50)
    ]
    assert _error(lambda: alice.assume_role(RoleArn=DEPLOY, RoleSessionName="pp", Tags=tags)) == (
        "PackedPolicyTooLarge",
        400,
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"DurationSeconds": 100}, "ValidationError"),
        ({"RoleSessionName": "x"}, "ValidationError"),
        ({"RoleSessionName": None}, "ValidationError"),
        ({"DurationSeconds": 50000}, "ValidationError"),
    ],
)
def test_server_side_validation(sts: Sts, params: dict[str, Any], code: str) -> None:
    """With botocore's client-side validation off, the server refuses what AWS refuses."""
    alice = sts.as_alice(parameter_validation=False)
    call: dict[str, Any] = {"RoleArn": DEPLOY, "RoleSessionName": "ok", **params}
    call = {k: v for k, v in call.items() if v is not None}
    assert _error(lambda: alice.assume_role(**call)) == (code, 400)


# ---------------------------------------------------------------- the AWS CLI


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(sts: Sts, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=sts.alice.access_key_id,
        AWS_SECRET_ACCESS_KEY=sts.alice.secret_access_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "c"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "k"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    base = ["aws", "--endpoint-url", sts.url, "--output", "json", "sts"]
    who = subprocess.run(
        [*base, "get-caller-identity"], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assumed = subprocess.run(
        [*base, "assume-role", "--role-arn", DEPLOY, "--role-session-name", "cli"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert assumed.returncode == 0, assumed.stderr
    assert json.loads(assumed.stdout)["AssumedRoleUser"]["Arn"].endswith("assumed-role/Deploy/cli")
    denied = subprocess.run(
        [
            *base,
            "assume-role",
            "--role-arn",
            DEPLOY,
            "--role-session-name",
            "cli",
            "--duration-seconds",
            "50000",
        ],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert denied.returncode != 0 and "ValidationError" in denied.stderr


# ---------------------------------------------------------------- iamguard serve-sts


def test_serve_sts_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``iamguard serve-sts --store sqlite:///...`` serves the store's identities to boto3 until stopped."""
    import argparse
    import base64
    import io

    from iamguard.cli import serve_sts

    monkeypatch.setenv("IAMGUARD_MASTER_KEY", base64.b64encode(bytes(range(32))).decode())
    keyring = KeyRing.generate()
    keyring.save(tmp_path / "keys.json")
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    store = open_store(url, create=True, account_id=ACCOUNT)
    store.create_user("erin")
    key = store.create_access_key("erin")
    store.backend.close()

    parser = argparse.ArgumentParser()
    serve_sts.register(parser.add_subparsers())
    args = parser.parse_args(["serve-sts", "--store", url, "--keys-file", str(tmp_path / "keys.json")])
    assert args.host == "127.0.0.1" and args.port == 0 and args.func is serve_sts.run
    stop, out, err = threading.Event(), io.StringIO(), io.StringIO()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(serve_sts.serve(args, stop=stop, out=out, err=err)))
    thread.start()
    try:
        deadline = time.time() + 10
        while "AWS_ENDPOINT_URL_STS=" not in out.getvalue() and time.time() < deadline:
            time.sleep(0.02)
        endpoint = out.getvalue().strip().split("=", 1)[1]
        client = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
        )
        assert client.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/erin"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert codes == [0] and "stopped" in err.getvalue()
    bad = parser.parse_args(["serve-sts", "--store", url, "--host", "0.0.0.0"])
    with pytest.raises(ValueError, match="loopback"):
        serve_sts.serve(bad, stop=threading.Event(), out=io.StringIO(), err=io.StringIO())
