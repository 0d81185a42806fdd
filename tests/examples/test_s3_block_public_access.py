"""Block Public Access in the S3 example, driven by real boto3 over a socket.

PutPublicAccessBlock / GetPublicAccessBlock / DeletePublicAccessBlock on a bucket, in S3's XML
shapes, and PutBucketPolicy refused with ``AccessDenied`` (403) when ``BlockPublicPolicy`` is on
and the policy is public by S3's definition (decided by ``iamguard.analysis.check_no_public_access``).
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from examples.s3_service.serve import Services, seed_store, start_services
from iamguard.store import IdentityService, open_store

ACCOUNT = "123456789012"
S3V4 = Config(signature_version="s3v4", retries={"max_attempts": 1}, s3={"addressing_style": "path"})
ALL_ON = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _policy(bucket: str, principal: Any, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Sid": "Read",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, IdentityService]]:
    old = os.environ.get("IAMGUARD_DEV_MASTER_KEY")
    os.environ["IAMGUARD_DEV_MASTER_KEY"] = "1"
    try:
        store = open_store(f"sqlite:///{tmp_path_factory.mktemp('iam') / 'iam.db'}", create=True)
        seed_store(store)
        with start_services(store, data=str(tmp_path_factory.mktemp("s3") / "objects.db")) as running:
            yield running, store
    finally:
        if old is None:
            os.environ.pop("IAMGUARD_DEV_MASTER_KEY", None)
        else:
            os.environ["IAMGUARD_DEV_MASTER_KEY"] = old


def _client(services: tuple[Services, IdentityService], user: str) -> Any:
    running, store = services
    created = store.create_access_key(user)
    return boto3.client(
        "s3",
        endpoint_url=running.s3_url,
        region_name="us-east-1",
        aws_access_key_id=created.access_key.access_key_id,
        aws_secret_access_key=created.secret_access_key,
        config=S3V4,
    )


@pytest.fixture(scope="module")
def alice(services: tuple[Services, IdentityService]) -> Any:
    return _client(services, "alice")


@pytest.fixture(scope="module")
def bob(services: tuple[Services, IdentityService]) -> Any:
    return _client(services, "bob")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_public_access_block_lifecycle(alice: Any) -> None:
    """Get before any Put is NoSuchPublicAccessBlockConfiguration (404); Put stores the four
    flags (a missing one is false); Delete removes them (204)."""
    alice.create_bucket(Bucket="alice-bpa-life")
    with pytest.raises(ClientError) as excinfo:
        alice.get_public_access_block(Bucket="alice-bpa-life")
    code, message, status = _error(excinfo)
    assert (code, status) == ("NoSuchPublicAccessBlockConfiguration", 404) and message
    alice.put_public_access_block(Bucket="alice-bpa-life", PublicAccessBlockConfiguration=ALL_ON)
    assert alice.get_public_access_block(Bucket="alice-bpa-life")["PublicAccessBlockConfiguration"] == ALL_ON
    alice.put_public_access_block(
        Bucket="alice-bpa-life", PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    got = alice.get_public_access_block(Bucket="alice-bpa-life")["PublicAccessBlockConfiguration"]
    assert got == {**dict.fromkeys(ALL_ON, False), "BlockPublicPolicy": True}
    deleted = alice.delete_public_access_block(Bucket="alice-bpa-life")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        alice.get_public_access_block(Bucket="alice-bpa-life")
    assert _error(excinfo)[0] == "NoSuchPublicAccessBlockConfiguration"


def test_block_public_policy_refuses_a_public_policy(alice: Any) -> None:
    """With BlockPublicPolicy on, ``"Principal": "*"`` without a limiting condition is refused
    with AccessDenied (403) and not stored; a policy limited to a fixed organization or an
    account is accepted."""
    bucket = "alice-bpa-block"
    alice.create_bucket(Bucket=bucket)
    alice.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)
    with pytest.raises(ClientError) as excinfo:
        alice.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, "*"))
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: s3:PutBucketPolicy" in message
    )
    assert (
        "because public policies are blocked by the BlockPublicPolicy block public access setting" in message
    )
    with pytest.raises(ClientError) as excinfo:
        alice.get_bucket_policy(Bucket=bucket)
    assert _error(excinfo)[0] == "NoSuchBucketPolicy"
    for accepted in (
        _policy(bucket, "*", {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        _policy(bucket, {"AWS": "111122223333"}),
        _policy(bucket, "*", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
    ):
        alice.put_bucket_policy(Bucket=bucket, Policy=accepted)
        assert json.loads(alice.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(accepted)
    for refused in (
        _policy(bucket, {"AWS": "*"}),
        _policy(bucket, "*", {"StringLike": {"aws:SourceVpc": "vpc-*"}}),
        _policy(bucket, "*", {"Bool": {"aws:SecureTransport": "true"}}),
    ):
        with pytest.raises(ClientError) as excinfo:
            alice.put_bucket_policy(Bucket=bucket, Policy=refused)
        assert _error(excinfo)[:3:2] == ("AccessDenied", 403)


def test_public_policy_accepted_without_the_block(alice: Any) -> None:
    """BlockPublicPolicy off (the other three on), or the configuration deleted: S3 accepts it."""
    bucket = "alice-bpa-open"
    alice.create_bucket(Bucket=bucket)
    alice.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={**ALL_ON, "BlockPublicPolicy": False}
    )
    alice.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, "*"))
    alice.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)
    with pytest.raises(ClientError):
        alice.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, {"AWS": "*"}))
    alice.delete_public_access_block(Bucket=bucket)
    alice.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, {"AWS": "*"}))
    assert json.loads(alice.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Principal"] == {
        "AWS": "*"
    }


def test_public_access_block_needs_permission(alice: Any, bob: Any) -> None:
    """bob (read-only) holds neither s3:PutBucketPublicAccessBlock nor the Get permission."""
    alice.create_bucket(Bucket="alice-bpa-perm")
    with pytest.raises(ClientError) as excinfo:
        bob.put_public_access_block(Bucket="alice-bpa-perm", PublicAccessBlockConfiguration=ALL_ON)
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403) and "s3:PutBucketPublicAccessBlock" in message
    with pytest.raises(ClientError) as excinfo:
        bob.get_public_access_block(Bucket="alice-bpa-perm")
    assert "s3:GetBucketPublicAccessBlock" in _error(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        bob.delete_public_access_block(Bucket="alice-bpa-perm")
    assert "s3:PutBucketPublicAccessBlock" in _error(excinfo)[1]


def test_malformed_configuration(alice: Any, services: tuple[Services, IdentityService]) -> None:
    """A body that is not a PublicAccessBlockConfiguration is MalformedXML (400)."""
    alice.create_bucket(Bucket="alice-bpa-xml")

    def replace_body(request: Any, **_: Any) -> None:
        request.data = b"<NotAConfiguration/>"

    alice.meta.events.register_first("before-sign.s3.PutPublicAccessBlock", replace_body)
    try:
        with pytest.raises(ClientError) as excinfo:
            alice.put_public_access_block(Bucket="alice-bpa-xml", PublicAccessBlockConfiguration=ALL_ON)
    finally:
        alice.meta.events.unregister("before-sign.s3.PutPublicAccessBlock", replace_body)
    assert _error(excinfo)[:3:2] == ("MalformedXML", 400)
