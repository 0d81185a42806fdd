"""OIDC and SAML providers through boto3's ``iam`` client, and federation configured by them.

Every provider action's success shape and errors (``tests/data/iam/providers/errors.json``),
then end to end: an OIDC provider created with boto3 ``iam`` against ``iamguard serve`` is what
boto3 ``sts`` AssumeRoleWithWebIdentity trusts (a token signed by a test issuer on 127.0.0.1),
and a SAML provider created the same way is what AssumeRoleWithSAML trusts.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
"""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import boto3
import botocore
import pytest
from botocore.config import Config

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve import build_app
from iamguard.cli.serve_sts import ThreadingWSGIServer, _saml_verifier
from iamguard.errors import STSError
from iamguard.keyring import KeyRing
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.oidc import OidcProvider, OidcVerifier
from iamguard.sts.service import TokenService
from tests.sts.test_boto3_endpoint import Issuer
from tests.sts.test_saml import ATTR, ENTITY_ID, T0, SigningKey, make_key, make_response, metadata

from ._endpoint import _Quiet
from ._more_fixtures import ACCOUNT, Endpoint, endpoint, error_of, sts_on_clock

__all__ = ["endpoint", "sts_on_clock"]

DATA = Path(__file__).resolve().parent.parent / "data" / "iam" / "providers"
ERRORS = json.loads((DATA / "errors.json").read_text())["rows"]
OIDC_URL = "https://token.actions.example.com"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.example.com"
SAML_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/MyIdP"
THUMB = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


@pytest.fixture(scope="module")
def idp_key() -> SigningKey:
    return make_key()


def _metadata(key: SigningKey) -> str:
    return metadata(ENTITY_ID, key.cert_b64)


def _seed(endpoint: Endpoint, key: SigningKey) -> None:
    endpoint.store.create_open_id_connect_provider(
        OIDC_URL, client_ids=["sts.amazonaws.com"], thumbprints=[THUMB]
    )
    endpoint.store.create_saml_provider("MyIdP", _metadata(key))


def _fill(value: Any, key: SigningKey) -> Any:
    if value == "{metadata}":
        return _metadata(key)
    if value == "{metadata without certificate}":
        return metadata(ENTITY_ID).ljust(1200)
    if value == "{not xml}":
        return "x" * 1200
    return value


@pytest.mark.parametrize("row", ERRORS, ids=[r["name"] for r in ERRORS])
def test_errors(endpoint: Endpoint, idp_key: SigningKey, row: dict[str, Any]) -> None:
    _seed(endpoint, idp_key)
    params = {k: _fill(v, idp_key) for k, v in row["params"].items()}
    code, status, _ = error_of(getattr(endpoint.iam(), row["method"]), **params)
    assert (code, status) == (row["code"], row["status"])


def test_oidc_provider_actions(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    created = iam.create_open_id_connect_provider(
        Url=OIDC_URL,
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=[THUMB],
        Tags=[{"Key": "env", "Value": "ci"}],
    )
    assert created["OpenIDConnectProviderArn"] == OIDC_ARN
    assert created["Tags"] == [{"Key": "env", "Value": "ci"}]
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    assert got["Url"] == "token.actions.example.com"  # AWS answers the URL without https://
    assert got["ClientIDList"] == ["sts.amazonaws.com"] and got["ThumbprintList"] == [THUMB]
    assert isinstance(got["CreateDate"], datetime) and got["Tags"] == [{"Key": "env", "Value": "ci"}]
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == [{"Arn": OIDC_ARN}]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="my-app")
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=OIDC_ARN, ClientID="sts.amazonaws.com"
    )
    iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=OIDC_ARN, ThumbprintList=["a" * 40]
    )
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    assert got["ClientIDList"] == ["my-app"] and got["ThumbprintList"] == ["a" * 40]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_saml_provider_actions(endpoint: Endpoint, idp_key: SigningKey) -> None:
    iam = endpoint.iam()
    document = _metadata(idp_key).replace(
        "<md:EntityDescriptor ", '<md:EntityDescriptor validUntil="2030-01-01T00:00:00Z" ', 1
    )
    created = iam.create_saml_provider(Name="MyIdP", SAMLMetadataDocument=document)
    assert created["SAMLProviderArn"] == SAML_ARN and "Tags" not in created
    got = iam.get_saml_provider(SAMLProviderArn=SAML_ARN)
    assert got["SAMLMetadataDocument"] == document
    assert got["ValidUntil"].isoformat() == "2030-01-01T00:00:00+00:00"
    assert len(got["SAMLProviderUUID"]) == 32 and got["SAMLProviderUUID"].isalnum()
    [listed] = iam.list_saml_providers()["SAMLProviderList"]
    assert listed["Arn"] == SAML_ARN and listed["CreateDate"] == got["CreateDate"]
    rotated = _metadata(make_key("rotated.example.com"))
    updated = iam.update_saml_provider(SAMLProviderArn=SAML_ARN, SAMLMetadataDocument=rotated)
    assert updated["SAMLProviderArn"] == SAML_ARN
    assert iam.get_saml_provider(SAMLProviderArn=SAML_ARN)["SAMLMetadataDocument"] == rotated
    iam.delete_saml_provider(SAMLProviderArn=SAML_ARN)
    assert iam.list_saml_providers()["SAMLProviderList"] == []


def test_provider_actions_are_authorized_on_the_provider_arn(endpoint: Endpoint, idp_key: SigningKey) -> None:
    _seed(endpoint, idp_key)
    key = endpoint.user_with_key("ops")
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "ops",
        "oidc-only",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:*OpenIDConnectProvider*", "Resource": OIDC_ARN},
            ],
        },
    )
    ops = endpoint.iam(key)
    assert ops.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)["ClientIDList"] == [
        "sts.amazonaws.com"
    ]
    ops.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN, ClientID="x")
    assert error_of(ops.get_saml_provider, SAMLProviderArn=SAML_ARN)[:2] == ("AccessDenied", 403)
    assert error_of(ops.list_open_id_connect_providers)[:2] == ("AccessDenied", 403)  # on "*"
    code, _, message = error_of(ops.create_open_id_connect_provider, Url="https://other.example.com")
    assert code == "AccessDenied" and "oidc-provider/other.example.com" in message


# ---------------------------------------------------------------------- end to end


def _unsigned_sts(url: str) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """``iamguard serve`` (its own app builder) over a SQLite store; (URL, root iam client)."""
    monkeypatch.setenv("IAMGUARD_MASTER_KEY", SecretBox.generate_key())
    monkeypatch.delenv("IAMGUARD_STS_KEYS", raising=False)
    monkeypatch.delenv("IAMGUARD_STS_KEYS_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'iam.db'}"
    seeded = open_store(url, create=True, account_id=ACCOUNT)
    root = seeded.create_access_key(None)
    seeded.backend.close()
    args = argparse.Namespace(store=url, keys_file=None, oidc_provider=[], saml_provider=[])
    server = make_server(
        "127.0.0.1", 0, build_app(args, io.StringIO()), server_class=ThreadingWSGIServer, handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    endpoint_url = f"http://127.0.0.1:{server.server_port}"
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=root.access_key_id,
        aws_secret_access_key=root.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )
    try:
        yield endpoint_url, iam
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _web_identity_trust(provider_arn: str, host: str, audience: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{host}:aud": audience, f"{host}:sub": "repo:example/app"}
                    },
                }
            ],
        }
    )


def test_oidc_provider_created_with_iam_configures_assume_role_with_web_identity(
    served: tuple[str, Any],
) -> None:
    url, iam = served
    issuer = Issuer()
    try:
        sts = _unsigned_sts(url)
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/ci"
        # Before the provider exists the token's issuer is unknown to the account.
        iam.create_role(
            RoleName="ci",
            AssumeRolePolicyDocument=_web_identity_trust(
                f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.host}", issuer.host, "ci-client"
            ),
        )
        token = issuer.token("repo:example/app", audience="ci-client")
        code, status, _ = error_of(
            sts.assume_role_with_web_identity,
            RoleArn=role_arn,
            RoleSessionName="build",
            WebIdentityToken=token,
        )
        assert (code, status) == ("InvalidIdentityToken", 400)
        provider_arn = iam.create_open_id_connect_provider(Url=issuer.url, ClientIDList=["ci-client"])[
            "OpenIDConnectProviderArn"
        ]
        assert provider_arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.host}"
        result = sts.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="build", WebIdentityToken=token
        )
        assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build"
        assert result["SubjectFromWebIdentityToken"] == "repo:example/app"
        assert result["Audience"] == "ci-client" and result["Provider"] == issuer.host
        assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
        # The session works: GetCallerIdentity with the issued credentials.
        session = boto3.client(
            "sts",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=result["Credentials"]["AccessKeyId"],
            aws_secret_access_key=result["Credentials"]["SecretAccessKey"],
            aws_session_token=result["Credentials"]["SessionToken"],
        )
        assert session.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build"
        # A token for another audience, and then any token once the client id is removed: refused.
        other = issuer.token("repo:example/app", audience="someone-else")
        assert (
            error_of(
                sts.assume_role_with_web_identity,
                RoleArn=role_arn,
                RoleSessionName="b2",
                WebIdentityToken=other,
            )[0]
            == "InvalidIdentityToken"
        )
        iam.remove_client_id_from_open_id_connect_provider(
            OpenIDConnectProviderArn=provider_arn, ClientID="ci-client"
        )
        assert (
            error_of(
                sts.assume_role_with_web_identity,
                RoleArn=role_arn,
                RoleSessionName="b3",
                WebIdentityToken=token,
            )[0]
            == "InvalidIdentityToken"
        )
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
        assert (
            error_of(
                sts.assume_role_with_web_identity,
                RoleArn=role_arn,
                RoleSessionName="b4",
                WebIdentityToken=token,
            )[0]
            == "InvalidIdentityToken"
        )
    finally:
        issuer.close()


def test_saml_provider_created_with_iam_configures_assume_role_with_saml(
    endpoint: Endpoint, sts_on_clock: str, idp_key: SigningKey
) -> None:
    endpoint.clock.offset = T0 - time.time()  # the signed assertions are dated T0
    iam = endpoint.iam()
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/SamlRole"
    iam.create_role(
        RoleName="SamlRole",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": SAML_ARN},
                        "Action": "sts:AssumeRoleWithSAML",
                        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                    }
                ],
            }
        ),
    )
    sts = _unsigned_sts(sts_on_clock)

    def response() -> str:
        return make_response(idp_key, {"attributes": {ATTR + "Role": [f"{role_arn},{SAML_ARN}"]}})

    code, status, _ = error_of(
        sts.assume_role_with_saml, RoleArn=role_arn, PrincipalArn=SAML_ARN, SAMLAssertion=response()
    )
    assert (code, status) == ("InvalidIdentityToken", 400)  # no such provider yet
    iam.create_saml_provider(Name="MyIdP", SAMLMetadataDocument=_metadata(idp_key))
    result = sts.assume_role_with_saml(RoleArn=role_arn, PrincipalArn=SAML_ARN, SAMLAssertion=response())
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/SamlRole/alice"
    assert result["Issuer"] == ENTITY_ID and result["Subject"] == "alice@example.com"
    # The IdP rotates its key: assertions signed with the old one fail once the metadata is updated.
    rotated = make_key("rotated.example.com")
    iam.update_saml_provider(SAMLProviderArn=SAML_ARN, SAMLMetadataDocument=_metadata(rotated))
    assert error_of(
        sts.assume_role_with_saml, RoleArn=role_arn, PrincipalArn=SAML_ARN, SAMLAssertion=response()
    )[0] == ("InvalidIdentityToken")
    fresh = make_response(rotated, {"attributes": {ATTR + "Role": [f"{role_arn},{SAML_ARN}"]}})
    assert sts.assume_role_with_saml(RoleArn=role_arn, PrincipalArn=SAML_ARN, SAMLAssertion=fresh)[
        "Credentials"
    ]


def test_serve_sts_configured_and_stored_saml_providers_together(tmp_path: Path, idp_key: SigningKey) -> None:
    """``--saml-provider`` keeps working, and providers created through IAM are found beside it."""
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"k": bytes(32)}, "k"))
    configured_arn = f"arn:aws:iam::{ACCOUNT}:saml-provider/FromConfig"
    path = tmp_path / "idp.xml"
    path.write_text(_metadata(idp_key), encoding="utf-8")
    verifier = _saml_verifier([f"{configured_arn}={path}"], store)
    assert verifier is not None
    lookup = verifier._lookup
    assert lookup(configured_arn).entity_id == ENTITY_ID
    assert lookup(SAML_ARN) is None
    store.create_saml_provider("MyIdP", _metadata(make_key("stored.example.com")))
    assert lookup(SAML_ARN).arn == SAML_ARN


def test_provider_tags_in_authorization(endpoint: Endpoint) -> None:
    """Creating with tags needs the Tag* action too; an existing provider's tags are
    ``aws:ResourceTag/*``. https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html"""
    endpoint.store.create_open_id_connect_provider(OIDC_URL, client_ids=["a"], tags={"env": "ci"})
    endpoint.store.create_open_id_connect_provider(
        "https://prod.example.com", client_ids=["a"], tags={"env": "prod"}
    )
    key = endpoint.user_with_key("ops")
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "ops",
        "tagged",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:CreateOpenIDConnectProvider", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "iam:GetOpenIDConnectProvider",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/env": "ci"}},
                },
            ],
        },
    )
    ops = endpoint.iam(key)
    assert ops.get_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)["Tags"] == [
        {"Key": "env", "Value": "ci"}
    ]
    prod = f"arn:aws:iam::{ACCOUNT}:oidc-provider/prod.example.com"
    assert error_of(ops.get_open_id_connect_provider, OpenIDConnectProviderArn=prod)[:2] == (
        "AccessDenied",
        403,
    )
    ops.create_open_id_connect_provider(Url="https://untagged.example.com", ClientIDList=["a"])
    code, _, message = error_of(
        ops.create_open_id_connect_provider,
        Url="https://tagged.example.com",
        Tags=[{"Key": "env", "Value": "x"}],
    )
    assert code == "AccessDenied" and "iam:TagOpenIDConnectProvider" in message


def test_configured_oidc_provider_takes_precedence_over_the_store(endpoint: Endpoint) -> None:
    """``TokenService(oidc_providers=...)`` keeps working as before; the store is only asked for
    ARNs configuration does not name."""
    issuer = Issuer()
    try:
        arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.host}"
        endpoint.store.create_open_id_connect_provider(issuer.url, client_ids=["store-client"])
        trust = json.loads(_web_identity_trust(arn, issuer.host, "config-client"))
        trust["Statement"][0]["Condition"]["StringEquals"][f"{issuer.host}:aud"] = [
            "config-client",
            "store-client",
        ]
        endpoint.store.create_role("ci", trust)
        role = f"arn:aws:iam::{ACCOUNT}:role/ci"
        tokens = SessionTokenService(KeyRing.generate())
        configured = TokenService(
            endpoint.store,
            tokens,
            oidc_providers={arn: OidcProvider(issuer.url, ("config-client",))},
            oidc_verifier=OidcVerifier(),
        )
        ok = configured.assume_role_with_web_identity(
            role_arn=role,
            role_session_name="s1",
            web_identity_token=issuer.token("repo:example/app", "config-client"),
        )
        assert ok.audience == "config-client"
        with pytest.raises(STSError) as refused:
            configured.assume_role_with_web_identity(
                role_arn=role,
                role_session_name="s2",
                web_identity_token=issuer.token("repo:example/app", "store-client"),
            )
        assert refused.value.code == "InvalidIdentityToken"
        from_store = TokenService(endpoint.store, tokens, oidc_verifier=OidcVerifier())
        assert (
            from_store.assume_role_with_web_identity(
                role_arn=role,
                role_session_name="s3",
                web_identity_token=issuer.token("repo:example/app", "store-client"),
            ).audience
            == "store-client"
        )
    finally:
        issuer.close()
