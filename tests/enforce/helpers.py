"""Shared fixtures for enforcement tests: a store with a user, keys and policies; botocore signing."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from iamguard.authn.session_token import SessionTokenService
from iamguard.store import IdentityService, open_store
from iamguard.store.secrets import SecretBox
from iamguard.sts.auth_message import AuthorizationMessageCodec
from iamguard.sts.keys import KeyRing

ACCOUNT = "123456789012"
BOX = SecretBox({"t": bytes(32)}, "t")
READ_BUCKET = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "execute-api:Invoke"], "Resource": "*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
    ],
}


class CountingStore:
    """Wraps a store and counts every read the request path makes."""

    def __init__(self, inner: IdentityService) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def resolve_principal(self, arn: str) -> Any:
        self._count("resolve_principal")
        return self.inner.resolve_principal(arn)

    def get_access_key(self, access_key_id: str) -> Any:
        self._count("get_access_key")
        return self.inner.get_access_key(access_key_id)

    def generation(self) -> int:
        self._count("generation")
        return self.inner.generation()

    def get_policy(self, arn: str) -> Any:
        self._count("get_policy")
        return self.inner.get_policy(arn)

    def get_policy_version(self, arn: str, version_id: str) -> Any:
        self._count("get_policy_version")
        return self.inner.get_policy_version(arn, version_id)


@dataclass
class World:
    store: IdentityService
    akid: str
    secret: str
    policy_arn: str
    sessions: SessionTokenService
    codec: AuthorizationMessageCodec
    counting: CountingStore = field(init=False)

    def __post_init__(self) -> None:
        self.counting = CountingStore(self.store)

    def role_session(
        self, *, policy: Mapping[str, Any] | None = None, policy_arns: tuple[str, ...] = ()
    ) -> Any:
        role = self.store.get_role("reader")
        creds, _ = self.sessions.issue(
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1",
            account=ACCOUNT,
            principal_type="AssumedRole",
            user_id=f"{role.role_id}:s1",
            duration_seconds=3600,
            role_arn=role.arn,
            session_name="s1",
            session_policy=policy,
            policy_arns=policy_arns,
        )
        return creds


def make_world() -> World:
    store = open_store("memory://", account_id=ACCOUNT, secret_box=BOX)
    store.create_user("alice")
    key = store.create_access_key("alice")
    policy = store.create_policy("read", READ_BUCKET)
    store.attach_user_policy("alice", policy.arn)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    store.create_role("reader", trust)
    store.attach_role_policy("reader", policy.arn)
    sessions = SessionTokenService(KeyRing.generate())
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    return World(store, key.access_key.access_key_id, key.secret_access_key, policy.arn, sessions, codec)


def sign(
    method: str,
    url: str,
    akid: str,
    secret: str,
    *,
    token: str | None = None,
    service: str = "execute-api",
    region: str = "us-east-1",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Headers botocore's SigV4Auth (S3SigV4Auth for s3) adds to the request."""
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    if context:
        request.context.update(context)
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(akid, secret, token), service, region).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def unsigned_trailer_upload(data: bytes) -> tuple[bytes, dict[str, str], dict[str, Any]]:
    """An aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER body (boto3's upload default over TLS).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
    """
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = (
        f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(len(data)),
    }
    context = {
        "checksum": {
            "request_algorithm": {"in": "trailer", "algorithm": "crc32", "name": "x-amz-checksum-crc32"}
        }
    }
    return body, headers, context


def skewed(minutes: int) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=minutes)
