"""The S3 example (``examples/s3_service``) driven by real, unmodified boto3 over real sockets.

The servers (S3 app + STS endpoint) run on 127.0.0.1 ephemeral ports in threads, over an
identity store seeded from ``examples/s3_service/seed.yaml``; every call below is signed by
botocore with access keys iamguard issued. Behaviour is checked against the S3 API reference
(URLs next to each rule) and the IAM evaluation logic: an explicit Deny in a bucket policy wins
over an identity Allow; with no Allow anywhere the answer is an implicit deny.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import ipaddress
import json
import logging
import os
import socket
import ssl
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.s3_service.serve import BUCKET_POLICY, Services, seed_store, start_services
from examples.s3_service.storage import ObjectStorage
from iamguard.store import IdentityService, open_store

ACCOUNT = "123456789012"
BUCKET = "alice-reports"
S3V4 = Config(signature_version="s3v4", retries={"max_attempts": 1}, s3={"addressing_style": "path"})


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dev_master_key() -> Iterator[None]:
    old = os.environ.get("IAMGUARD_DEV_MASTER_KEY")
    os.environ["IAMGUARD_DEV_MASTER_KEY"] = "1"
    yield
    if old is None:
        os.environ.pop("IAMGUARD_DEV_MASTER_KEY", None)
    else:
        os.environ["IAMGUARD_DEV_MASTER_KEY"] = old


@pytest.fixture(scope="module")
def store(dev_master_key: None, tmp_path_factory: pytest.TempPathFactory) -> IdentityService:
    path = tmp_path_factory.mktemp("iam") / "iam.db"
    service = open_store(f"sqlite:///{path}", create=True)
    seed_store(service)
    return service


@pytest.fixture(scope="module")
def keys(store: IdentityService) -> dict[str, tuple[str, str]]:
    found = {}
    for user in ("alice", "bob"):
        created = store.create_access_key(user)
        found[user] = (created.access_key.access_key_id, created.secret_access_key)
    return found


@pytest.fixture(scope="module")
def services(store: IdentityService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    data = tmp_path_factory.mktemp("s3") / "objects.db"
    with start_services(store, data=str(data)) as running:
        yield running


def s3_client(url: str, creds: tuple[str, ...], config: Config = S3V4, **extra: Any) -> Any:
    access, secret, *token = creds
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        aws_session_token=token[0] if token else None,
        config=config,
        **extra,
    )


@pytest.fixture(scope="module")
def alice(services: Services, keys: dict[str, tuple[str, str]]) -> Any:
    client = s3_client(services.s3_url, keys["alice"])
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_policy(Bucket=BUCKET, Policy=BUCKET_POLICY.read_text())
    return client


@pytest.fixture(scope="module")
def bob(services: Services, keys: dict[str, tuple[str, str]]) -> Any:
    return s3_client(services.s3_url, keys["bob"])


def sts_client(services: Services, creds: tuple[str, str]) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=services.sts_url,
        region_name="us-east-1",
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
    )


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def headers_seen(client: Any) -> list[dict[str, str]]:
    """Record the headers of every request ``client`` sends (botocore's before-send event)."""
    seen: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        seen.append(
            {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
            | {":url": request.url}
        )

    client.meta.events.register("before-send.s3.*", record)
    return seen


# ---------------------------------------------------------------- buckets


def test_create_bucket_and_list_buckets(alice: Any, bob: Any) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html"""
    alice.create_bucket(Bucket="alice-scratch")
    names = [b["Name"] for b in alice.list_buckets()["Buckets"]]
    assert {BUCKET, "alice-scratch"} <= set(names)
    assert names == sorted(names)
    listed = bob.list_buckets()
    assert BUCKET in [b["Name"] for b in listed["Buckets"]]
    assert isinstance(listed["Buckets"][0]["CreationDate"], dt.datetime)
    assert len(listed["Owner"]["ID"]) == 64


@pytest.mark.parametrize(
    ("who", "bucket", "code", "status"),
    [
        # Identity policy allows CreateBucket on alice-* only: anything else is an implicit deny.
        ("alice", "bobs-bucket", "AccessDenied", 403),
        ("bob", "alice-by-bob", "AccessDenied", 403),
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
        ("alice", "alice-UPPER", "InvalidBucketName", 400),
        ("alice", "alice-x..y", "InvalidBucketName", 400),
        # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (BucketAlreadyOwnedByYou 409)
        ("alice", BUCKET, "BucketAlreadyOwnedByYou", 409),
    ],
)
def test_create_bucket_refusals(alice: Any, bob: Any, who: str, bucket: str, code: str, status: int) -> None:
    client = alice if who == "alice" else bob
    with pytest.raises(ClientError) as excinfo:
        client.create_bucket(Bucket=bucket)
    assert error_of(excinfo)[0::2] == (code, status)


def test_location_constraint_must_match_the_endpoint_region(alice: Any) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html (CreateBucketConfiguration):
    a constraint naming another region than the endpoint's is IllegalLocationConstraintException."""
    with pytest.raises(ClientError) as excinfo:
        alice.create_bucket(Bucket="alice-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, message, status = error_of(excinfo)
    assert (code, status) == ("IllegalLocationConstraintException", 400) and "eu-west-1" in message


def test_head_bucket_and_location(alice: Any, bob: Any) -> None:
    """HeadBucket needs s3:ListBucket; GetBucketLocation answers null for us-east-1."""
    assert alice.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert bob.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None
    with pytest.raises(ClientError) as excinfo:
        alice.head_bucket(Bucket="alice-missing")
    assert excinfo.value.response["Error"]["Code"] == "404"


def test_delete_bucket_not_empty_then_empty(alice: Any) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html (BucketNotEmpty 409)."""
    alice.create_bucket(Bucket="alice-temp")
    alice.put_object(Bucket="alice-temp", Key="x", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        alice.delete_bucket(Bucket="alice-temp")
    assert error_of(excinfo)[0::2] == ("BucketNotEmpty", 409)
    alice.delete_object(Bucket="alice-temp", Key="x")
    alice.delete_bucket(Bucket="alice-temp")
    assert "alice-temp" not in [b["Name"] for b in alice.list_buckets()["Buckets"]]


# ---------------------------------------------------------------- objects


def test_put_get_head_roundtrip(alice: Any) -> None:
    """ETag is the quoted MD5 of a single-part object; Head/Get report size, type, time, metadata.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html
    """
    body = b"year,revenue\n2026,42\n"
    put = alice.put_object(
        Bucket=BUCKET, Key="reports/q3.csv", Body=body, ContentType="text/csv", Metadata={"owner": "alice"}
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = alice.get_object(Bucket=BUCKET, Key="reports/q3.csv")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/csv"
    assert got["Metadata"] == {"owner": "alice"}
    assert got["ETag"] == put["ETag"]
    head = alice.head_object(Bucket=BUCKET, Key="reports/q3.csv")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == put["ETag"]
    age = dt.datetime.now(dt.timezone.utc) - head["LastModified"]
    assert dt.timedelta(seconds=-5) < age < dt.timedelta(minutes=5)


@pytest.mark.parametrize(
    "key",
    [
        "folder/",
        "a//b",
        "100% sure?.txt",
        "spaces and+plus=&",
        "emoji-\U0001f600/ß",
        "semi;colon,comma:@$",
        "~tilde",
    ],
)
def test_object_keys_with_special_characters(alice: Any, key: str) -> None:
    """Any UTF-8 key round-trips: the raw request path is percent-decoded exactly once.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
    """
    alice.put_object(Bucket=BUCKET, Key=f"odd/{key}", Body=key.encode())
    assert alice.get_object(Bucket=BUCKET, Key=f"odd/{key}")["Body"].read() == key.encode()
    listed = alice.list_objects_v2(Bucket=BUCKET, Prefix=f"odd/{key}")
    assert [c["Key"] for c in listed["Contents"]] == [f"odd/{key}"]
    alice.delete_object(Bucket=BUCKET, Key=f"odd/{key}")


def test_put_sends_expect_100_continue(alice: Any, caplog: pytest.LogCaptureFixture) -> None:
    """botocore sends ``Expect: 100-continue`` with file-like bodies and waits for the interim
    ``100 Continue`` before the body (RFC 9110 §10.1.1); the server answers it and the upload lands."""
    client = s3_client(alice.meta.endpoint_url, _creds_of(alice))
    seen = headers_seen(client)
    payload = os.urandom(200_000)
    with caplog.at_level(logging.DEBUG, logger="botocore.awsrequest"):
        client.put_object(Bucket=BUCKET, Key="big/blob.bin", Body=io.BytesIO(payload))
    assert seen[-1].get("expect") == "100-continue"
    assert "100 Continue response seen, now sending request body." in caplog.messages
    assert alice.get_object(Bucket=BUCKET, Key="big/blob.bin")["Body"].read() == payload


def _creds_of(client: Any) -> tuple[str, ...]:
    frozen = client._request_signer._credentials.get_frozen_credentials()
    return (frozen.access_key, frozen.secret_key, *([frozen.token] if frozen.token else []))


def test_checksum_mode_returns_crc32_that_botocore_validates(alice: Any) -> None:
    """``x-amz-checksum-mode: ENABLED`` → ``x-amz-checksum-crc32`` (base64 big-endian CRC32).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
    """
    body = b"checksummed content"
    put = alice.put_object(Bucket=BUCKET, Key="sums/a.txt", Body=body, ChecksumAlgorithm="CRC32")
    expected = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == expected
    got = alice.get_object(Bucket=BUCKET, Key="sums/a.txt", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == expected
    assert got["Body"].read() == body  # botocore validates the stream against the header


@pytest.mark.parametrize(
    ("range_header", "status", "content_range", "part"),
    [
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Range, RFC 9110 §14.1.2)
        ("bytes=0-4", 206, "bytes 0-4/16", b"01234"),
        ("bytes=10-", 206, "bytes 10-15/16", b"abcdef"),
        ("bytes=-3", 206, "bytes 13-15/16", b"def"),
        ("bytes=12-100", 206, "bytes 12-15/16", b"cdef"),
        # A range S3 cannot parse is ignored: the whole object, 200.
        ("bytes=abc", 200, None, b"0123456789abcdef"),
    ],
)
def test_get_object_range(
    alice: Any, range_header: str, status: int, content_range: str | None, part: bytes
) -> None:
    alice.put_object(Bucket=BUCKET, Key="ranges/sixteen", Body=b"0123456789abcdef")
    got = alice.get_object(Bucket=BUCKET, Key="ranges/sixteen", Range=range_header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == status
    assert got.get("ContentRange") == content_range
    assert got["Body"].read() == part


def test_unsatisfiable_range_is_invalid_range(alice: Any) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (InvalidRange 416)."""
    alice.put_object(Bucket=BUCKET, Key="ranges/short", Body=b"abc")
    with pytest.raises(ClientError) as excinfo:
        alice.get_object(Bucket=BUCKET, Key="ranges/short", Range="bytes=10-20")
    assert error_of(excinfo)[0::2] == ("InvalidRange", 416)


def test_conditional_get(alice: Any) -> None:
    """If-None-Match on the current ETag → 304; If-Match on another → 412 PreconditionFailed."""
    etag = alice.put_object(Bucket=BUCKET, Key="cond/x", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as excinfo:
        alice.get_object(Bucket=BUCKET, Key="cond/x", IfNoneMatch=etag)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as excinfo:
        alice.get_object(Bucket=BUCKET, Key="cond/x", IfMatch='"0000"')
    assert error_of(excinfo)[0::2] == ("PreconditionFailed", 412)
    assert alice.get_object(Bucket=BUCKET, Key="cond/x", IfMatch=etag)["Body"].read() == b"x"


def test_integrity_headers_are_checked(alice: Any) -> None:
    """A Content-MD5 or x-amz-checksum-crc32 that does not match the body → BadDigest (400)."""
    with pytest.raises(ClientError) as excinfo:
        alice.put_object(
            Bucket=BUCKET, Key="bad/md5", Body=b"data", ContentMD5=base64.b64encode(b"0" * 16).decode()
        )
    assert error_of(excinfo)[0::2] == ("BadDigest", 400)
    with pytest.raises(ClientError) as excinfo:
        alice.put_object(Bucket=BUCKET, Key="bad/crc", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert error_of(excinfo)[0::2] == ("BadDigest", 400)
    with pytest.raises(ClientError):
        alice.head_object(Bucket=BUCKET, Key="bad/crc")


def test_delete_object_and_missing_keys(alice: Any) -> None:
    """DeleteObject answers 204 even for a missing key; then GetObject is NoSuchKey, HeadObject 404."""
    alice.put_object(Bucket=BUCKET, Key="tmp/gone", Body=b"bye")
    assert alice.delete_object(Bucket=BUCKET, Key="tmp/gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert alice.delete_object(Bucket=BUCKET, Key="tmp/gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        alice.get_object(Bucket=BUCKET, Key="tmp/gone")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("NoSuchKey", 404) and message
    with pytest.raises(ClientError) as excinfo:
        alice.head_object(Bucket=BUCKET, Key="tmp/gone")
    assert excinfo.value.response["Error"]["Code"] == "404"


def test_missing_bucket_when_allowed_vs_denied(alice: Any, bob: Any) -> None:
    """Authorization comes first: a caller without permission learns nothing (AccessDenied)."""
    with pytest.raises(ClientError) as excinfo:
        alice.get_object(Bucket="alice-nowhere", Key="k")
    assert error_of(excinfo)[0::2] == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as excinfo:
        bob.put_object(Bucket="alice-nowhere", Key="k", Body=b"")
    assert error_of(excinfo)[0::2] == ("AccessDenied", 403)


def test_unsupported_operation_is_not_implemented(alice: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        alice.get_bucket_acl(Bucket=BUCKET)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("NotImplemented", 501) and "acl" in message


# ---------------------------------------------------------------- listing


@pytest.fixture(scope="module")
def listing_bucket(alice: Any) -> str:
    alice.create_bucket(Bucket="alice-listing")
    for key in ["a.txt", "dir/one", "dir/two", "dir/sub/three", "other/x", "z z+%.txt", "ünïcode/ß", "zz"]:
        alice.put_object(Bucket="alice-listing", Key=key, Body=key.encode())
    return "alice-listing"


def test_list_objects_v2_plain(alice: Any, listing_bucket: str) -> None:
    """Keys in UTF-8 byte order with LastModified/ETag/Size; botocore asked for encoding-type=url
    and decoded the special characters back. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html"""
    listed = alice.list_objects_v2(Bucket=listing_bucket)
    keys = [c["Key"] for c in listed["Contents"]]
    assert keys == sorted(keys, key=lambda k: k.encode())
    assert "z z+%.txt" in keys and "ünïcode/ß" in keys
    assert listed["KeyCount"] == 8 and listed["IsTruncated"] is False
    assert listed["EncodingType"] == "url"
    first = listed["Contents"][0]
    assert isinstance(first["LastModified"], dt.datetime) and first["Size"] == len(first["Key"].encode())


def test_list_objects_v2_prefix_and_delimiter(alice: Any, listing_bucket: str) -> None:
    top = alice.list_objects_v2(Bucket=listing_bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "other/", "ünïcode/"]
    assert [c["Key"] for c in top["Contents"]] == ["a.txt", "z z+%.txt", "zz"]
    inside = alice.list_objects_v2(Bucket=listing_bucket, Prefix="dir/", Delimiter="/")
    assert [c["Key"] for c in inside["Contents"]] == ["dir/one", "dir/two"]
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["dir/sub/"]
    assert inside["Prefix"] == "dir/" and inside["Delimiter"] == "/"


def test_list_objects_v2_encoding_type_url_on_the_wire(
    services: Services, alice: Any, listing_bucket: str
) -> None:
    """Without botocore's decoding: keys are URL-encoded and EncodingType echoed."""
    client = s3_client(services.s3_url, _creds_of(alice))
    client.meta.events.unregister(
        "before-parameter-build.s3.ListObjectsV2", unique_id="set-list-objects-v2-encoding-type"
    )
    raw: list[bytes] = []
    client.meta.events.register(
        "after-call.s3.ListObjectsV2", lambda http_response, **_: raw.append(http_response.content)
    )
    client.list_objects_v2(Bucket=listing_bucket, EncodingType="url", Prefix="z")
    text = raw[-1].decode()
    assert "<EncodingType>url</EncodingType>" in text
    assert "<Key>z%20z%2B%25.txt</Key>" in text


def test_list_objects_v2_pagination(alice: Any, listing_bucket: str) -> None:
    """max-keys counts keys and common prefixes; continuation tokens resume exactly."""
    paginator = alice.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=listing_bucket, PaginationConfig={"PageSize": 3}))
    assert [p["KeyCount"] for p in pages] == [3, 3, 2]
    assert all(p["IsTruncated"] for p in pages[:-1]) and not pages[-1]["IsTruncated"]
    keys = [c["Key"] for p in pages for c in p.get("Contents", [])]
    assert keys == [c["Key"] for c in alice.list_objects_v2(Bucket=listing_bucket)["Contents"]]
    rolled = list(paginator.paginate(Bucket=listing_bucket, Delimiter="/", PaginationConfig={"PageSize": 2}))
    entries = [
        e
        for p in rolled
        for e in [c["Key"] for c in p.get("Contents", [])]
        + [c["Prefix"] for c in p.get("CommonPrefixes", [])]
    ]
    assert sorted(entries) == sorted(["a.txt", "dir/", "other/", "z z+%.txt", "ünïcode/", "zz"])
    after = alice.list_objects_v2(Bucket=listing_bucket, StartAfter="dir/two")
    assert after["Contents"][0]["Key"] == "other/x"


def test_list_objects_v2_bad_arguments(alice: Any, listing_bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        alice.list_objects_v2(Bucket=listing_bucket, ContinuationToken="not-a-token")
    assert error_of(excinfo)[0::2] == ("InvalidArgument", 400)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.sets(st.text(alphabet="ab/c", min_size=1, max_size=6), max_size=25),
    prefix=st.sampled_from(["", "a", "a/", "b/c"]),
    delimiter=st.sampled_from(["", "/", "c"]),
    page=st.integers(min_value=1, max_value=5),
)
def test_storage_pagination_matches_a_naive_listing(
    keys: set[str], prefix: str, delimiter: str, page: int
) -> None:
    """Paging through ObjectStorage.list_objects yields exactly the naive roll-up, in order, once each."""
    storage = ObjectStorage()
    storage.create_bucket("prop-bucket", owner_account=ACCOUNT)
    for key in keys:
        storage.put_object("prop-bucket", key, b"")
    expected: list[str] = []
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key[: cut + len(delimiter)] if cut >= 0 else key
        if entry not in expected:
            expected.append(entry)
    seen: list[str] = []
    after = ""
    while True:
        result = storage.list_objects(
            "prop-bucket", prefix=prefix, delimiter=delimiter, max_keys=page, after=after
        )
        seen += sorted([m.key for m in result.contents] + list(result.common_prefixes))
        assert len(result.contents) + len(result.common_prefixes) <= page
        if not result.truncated:
            break
        assert result.next_marker is not None
        after = result.next_marker
    assert seen == expected
    storage.close()


# ---------------------------------------------------------------- authorization


def test_explicit_deny_in_bucket_policy_beats_identity_allow(alice: Any, bob: Any) -> None:
    """alice may DeleteObject on alice-* and bob may GetObject on *, but the bucket policy denies
    audit/* deletes and bob's confidential/* reads: an explicit Deny always wins."""
    alice.put_object(Bucket=BUCKET, Key="audit/2026-11.log", Body=b"entry")
    alice.put_object(Bucket=BUCKET, Key="confidential/plan.txt", Body=b"secret")
    with pytest.raises(ClientError) as excinfo:
        alice.delete_object(Bucket=BUCKET, Key="audit/2026-11.log")
    code, message, status = error_of(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert "arn:aws:iam::123456789012:user/alice is not authorized to perform: s3:DeleteObject" in message
    assert "with an explicit deny in a resource-based policy" in message
    with pytest.raises(ClientError) as excinfo:
        bob.get_object(Bucket=BUCKET, Key="confidential/plan.txt")
    assert "explicit deny in a resource-based policy" in error_of(excinfo)[1]
    assert bob.get_object(Bucket=BUCKET, Key="audit/2026-11.log")["Body"].read() == b"entry"


@pytest.mark.parametrize(
    ("operation", "kwargs"),
    [
        ("put_object", {"Bucket": BUCKET, "Key": "bob/was-here", "Body": b"x"}),
        ("delete_object", {"Bucket": BUCKET, "Key": "reports/q3.csv"}),
        ("put_bucket_policy", {"Bucket": BUCKET, "Policy": BUCKET_POLICY.read_text()}),
        ("get_bucket_policy", {"Bucket": BUCKET}),
    ],
)
def test_implicit_deny_for_read_only_bob(
    alice: Any, bob: Any, operation: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        getattr(bob, operation)(**kwargs)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert "because no identity-based policy allows the s3:" in message


def test_bucket_policy_lifecycle_and_resource_policy_grant(alice: Any, bob: Any) -> None:
    """Put/Get/Delete bucket policy; a same-account bucket policy Allow grants on its own.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    (within one account, an Allow in either the identity or the resource policy suffices).
    """
    alice.create_bucket(Bucket="alice-dropbox")
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BobMayDrop",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::alice-dropbox/inbox/*",
            }
        ],
    }
    with pytest.raises(ClientError) as excinfo:
        bob.put_object(Bucket="alice-dropbox", Key="inbox/a", Body=b"hi")
    assert error_of(excinfo)[0] == "AccessDenied"
    alice.put_bucket_policy(Bucket="alice-dropbox", Policy=json.dumps(grant))
    assert json.loads(alice.get_bucket_policy(Bucket="alice-dropbox")["Policy"]) == grant
    bob.put_object(Bucket="alice-dropbox", Key="inbox/a", Body=b"hi")
    with pytest.raises(ClientError):
        bob.put_object(Bucket="alice-dropbox", Key="elsewhere", Body=b"hi")
    alice.delete_bucket_policy(Bucket="alice-dropbox")
    with pytest.raises(ClientError) as excinfo:
        alice.get_bucket_policy(Bucket="alice-dropbox")
    assert error_of(excinfo)[0::2] == ("NoSuchBucketPolicy", 404)
    with pytest.raises(ClientError) as excinfo:
        bob.put_object(Bucket="alice-dropbox", Key="inbox/b", Body=b"hi")
    assert error_of(excinfo)[0] == "AccessDenied"


def test_condition_keys_reach_bucket_policies(alice: Any) -> None:
    """S3's own keys (``s3:authType``, ``s3:prefix``) and global ones (``aws:SecureTransport``)
    are in the request context the bucket policy is evaluated with.

    https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html#amazons3-policy-keys
    """
    bucket = "alice-conditions"
    alice.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "NoPresignedReads", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/no-presign/*",
             "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}},
            {"Sid": "ListOnlyPublic", "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{bucket}", "Condition": {"StringLike": {"s3:prefix": "private/*"}}},
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/tls-only/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }  # fmt: skip
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    alice.put_object(Bucket=bucket, Key="no-presign/x", Body=b"header-signed reads only")
    assert alice.get_object(Bucket=bucket, Key="no-presign/x")["Body"].read() == b"header-signed reads only"
    url = alice.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "no-presign/x"})
    refused = httpx.get(url)
    assert refused.status_code == 403 and b"explicit deny in a resource-based policy" in refused.content
    assert alice.list_objects_v2(Bucket=bucket, Prefix="no-presign/")["KeyCount"] == 1
    with pytest.raises(ClientError) as excinfo:
        alice.list_objects_v2(Bucket=bucket, Prefix="private/reports")
    assert error_of(excinfo)[0] == "AccessDenied"
    with pytest.raises(ClientError) as excinfo:
        alice.put_object(Bucket=bucket, Key="tls-only/x", Body=b"over plain http")
    assert "explicit deny" in error_of(excinfo)[1]


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("{not json", ""),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::someone-else/*",
                        }
                    ],
                }
            ),
            "Policy has invalid resource",
        ),
    ],
)
def test_malformed_bucket_policy(alice: Any, policy: str, fragment: str) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (MalformedPolicy 400)."""
    with pytest.raises(ClientError) as excinfo:
        alice.put_bucket_policy(Bucket=BUCKET, Policy=policy)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("MalformedPolicy", 400) and message and fragment in message


def test_authentication_failures(services: Services, keys: dict[str, tuple[str, str]]) -> None:
    """Unknown key → InvalidAccessKeyId; wrong secret → SignatureDoesNotMatch; unsigned → AccessDenied.

    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
    """
    cases = [
        (s3_client(services.s3_url, ("AKIAIOSFODNN7EXAMPLE", "x" * 40)), "InvalidAccessKeyId"),
        (s3_client(services.s3_url, (keys["alice"][0], "y" * 40)), "SignatureDoesNotMatch"),
        (
            boto3.client(
                "s3",
                endpoint_url=services.s3_url,
                region_name="us-east-1",
                config=Config(signature_version=UNSIGNED),
            ),
            "AccessDenied",
        ),
    ]
    for client, code in cases:
        with pytest.raises(ClientError) as excinfo:
            client.list_buckets()
        got_code, message, status = error_of(excinfo)
        assert (got_code, status) == (code, 403) and message


# ---------------------------------------------------------------- presigned URLs


def test_presigned_get_and_put_with_plain_httpx(alice: Any) -> None:
    """SigV4 query authentication; https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html"""
    put_url = alice.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "shared/note.txt"}, ExpiresIn=300
    )
    assert "X-Amz-Signature=" in put_url
    assert httpx.put(put_url, content=b"via presigned PUT").status_code == 200
    get_url = alice.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "shared/note.txt"})
    answer = httpx.get(get_url)
    assert answer.status_code == 200 and answer.content == b"via presigned PUT"
    assert answer.headers["ETag"] == f'"{hashlib.md5(b"via presigned PUT").hexdigest()}"'
    tampered = get_url.replace("shared/note.txt", "shared/other.txt")
    refused = httpx.get(tampered)
    assert refused.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.content


def test_presigned_url_denied_for_bob_and_expired(bob: Any, alice: Any) -> None:
    url = bob.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "confidential/plan.txt"})
    answer = httpx.get(url)
    assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.content
    expired = alice.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "shared/note.txt"}, ExpiresIn=1
    )
    import time

    time.sleep(2.1)
    answer = httpx.get(expired)
    assert answer.status_code == 403 and b"Request has expired" in answer.content


def test_legacy_sigv2_presigned_url_is_refused_with_the_setting_named(
    services: Services, alice: Any, keys: dict[str, tuple[str, str]]
) -> None:
    """boto3 presigns with SigV2 for custom endpoints unless ``signature_version="s3v4"``."""
    default = s3_client(services.s3_url, keys["alice"], config=Config())
    url = default.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "reports/q3.csv"})
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    answer = httpx.get(url)
    assert answer.status_code == 400
    assert b"<Code>InvalidRequest</Code>" in answer.content
    assert b'signature_version="s3v4"' in answer.content


# ---------------------------------------------------------------- virtual-hosted style


@pytest.fixture
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 6761 §6.3: ``*.localhost`` is loopback. Resolvers without that rule (this sandbox's)
    get it here, the way systemd-resolved provides it."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_virtual_hosted_style_with_a_dns_endpoint(
    services: Services, keys: dict[str, tuple[str, str]], alice: Any, localhost_subdomains: None
) -> None:
    """Virtual-hosted style puts the bucket in the Host (``alice-reports.localhost``).

    boto3 1.44 sends path-style to any custom endpoint unless ``addressing_style="virtual"``;
    both reach the same bucket. https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
    """
    port = services.s3_url.rsplit(":", 1)[1]
    path_style = s3_client(f"http://localhost:{port}", keys["alice"], config=Config(signature_version="s3v4"))
    path_seen = headers_seen(path_style)
    path_style.put_object(Bucket=BUCKET, Key="vhost/path.txt", Body=b"path")
    assert path_seen[-1][":url"].startswith(f"http://localhost:{port}/{BUCKET}/vhost/path.txt")
    virtual = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    client = s3_client(f"http://localhost:{port}", keys["alice"], config=virtual)
    seen = headers_seen(client)
    client.put_object(Bucket=BUCKET, Key="vhost/k.txt", Body=b"virtual")
    assert seen[-1][":url"].startswith(f"http://{BUCKET}.localhost:{port}/vhost/k.txt")
    assert client.get_object(Bucket=BUCKET, Key="vhost/k.txt")["Body"].read() == b"virtual"
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="vhost/")
    assert [c["Key"] for c in listed["Contents"]] == ["vhost/k.txt", "vhost/path.txt"]
    assert client.get_object(Bucket=BUCKET, Key="vhost/path.txt")["Body"].read() == b"path"
    with pytest.raises(ClientError) as excinfo:
        client.delete_object(Bucket=BUCKET, Key="audit/2026-11.log")
    assert error_of(excinfo)[0] == "AccessDenied"


# ---------------------------------------------------------------- aws-chunked over TLS


@pytest.fixture(scope="module")
def tls_services(
    store: IdentityService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Services, str]]:
    """The services over HTTPS with a throwaway certificate for 127.0.0.1 (boto3 only sends
    aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER uploads over TLS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with start_services(store, data=str(folder / "objects.db"), ssl_context=context) as running:
        yield running, str(cert_path)


def test_aws_chunked_upload_over_tls(
    tls_services: tuple[Services, str], keys: dict[str, tuple[str, str]]
) -> None:
    """boto3's default upload over https: aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32
    trailer. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html"""
    running, cert = tls_services
    client = s3_client(running.s3_url, keys["alice"], verify=cert)
    client.create_bucket(Bucket="alice-tls")
    tls_only = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::alice-tls", "arn:aws:s3:::alice-tls/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}  # fmt: skip
    client.put_bucket_policy(
        Bucket="alice-tls", Policy=json.dumps(tls_only)
    )  # HTTPS: aws:SecureTransport true
    seen = headers_seen(client)
    payload = os.urandom(70_000)
    put = client.put_object(Bucket="alice-tls", Key="chunked.bin", Body=payload)
    sent = seen[-1]
    assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert "aws-chunked" in sent["content-encoding"] and sent["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert put["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    got = client.get_object(Bucket="alice-tls", Key="chunked.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == payload and got["ContentLength"] == len(payload)
    head = client.head_object(Bucket="alice-tls", Key="chunked.bin")
    assert head["ContentLength"] == len(payload) and "ContentEncoding" not in head


def test_plain_http_upload_is_not_chunked(
    services: Services, keys: dict[str, tuple[str, str]], alice: Any
) -> None:
    """Over plain http botocore signs the payload hash and sends the checksum as a header."""
    client = s3_client(services.s3_url, keys["alice"])
    seen = headers_seen(client)
    client.put_object(Bucket=BUCKET, Key="plain/x", Body=b"plain body")
    assert len(seen[-1]["x-amz-content-sha256"]) == 64
    assert "aws-chunked" not in seen[-1].get("content-encoding", "")


# ---------------------------------------------------------------- STS: role credentials


def test_assume_role_then_use_the_session_against_s3(
    services: Services, keys: dict[str, tuple[str, str]], alice: Any
) -> None:
    """alice → AssumeRole(analyst) at the STS endpoint → the session reads but cannot write."""
    sts = sts_client(services, keys["alice"])
    assumed = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/analyst", RoleSessionName="q3-review")
    creds = assumed["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    role_s3 = s3_client(services.s3_url, session)
    assert role_s3.get_object(Bucket=BUCKET, Key="reports/q3.csv")["Body"].read().startswith(b"year")
    assert role_s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["KeyCount"] >= 1
    with pytest.raises(ClientError) as excinfo:
        role_s3.put_object(Bucket=BUCKET, Key="reports/by-role.csv", Body=b"x")
    code, message, _ = error_of(excinfo)
    assert code == "AccessDenied"
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/analyst/q3-review is not authorized" in message
    role_sts = boto3.client(
        "sts",
        endpoint_url=services.sts_url,
        region_name="us-east-1",
        aws_access_key_id=session[0],
        aws_secret_access_key=session[1],
        aws_session_token=session[2],
    )
    assert role_sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/analyst/q3-review"


def test_bob_cannot_assume_the_analyst_role(services: Services, keys: dict[str, tuple[str, str]]) -> None:
    with pytest.raises(ClientError) as excinfo:
        sts_client(services, keys["bob"]).assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/analyst", RoleSessionName="nope"
        )
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"


def test_denial_carries_a_message_sts_decodes(
    services: Services, keys: dict[str, tuple[str, str]], alice: Any
) -> None:
    """The AccessDenied message ends with an encoded authorization message that
    ``DecodeAuthorizationMessage`` opens (iamguard's addition; S3 itself sends none).
    https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html"""
    alice.put_object(Bucket=BUCKET, Key="audit/decode.log", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        alice.delete_object(Bucket=BUCKET, Key="audit/decode.log")
    message = error_of(excinfo)[1]
    encoded = message.split("Encoded authorization failure message: ", 1)[1].strip()
    decoded = json.loads(
        sts_client(services, keys["alice"]).decode_authorization_message(EncodedMessage=encoded)[
            "DecodedMessage"
        ]
    )
    assert decoded["allowed"] is False and decoded["explicitDeny"] is True
    assert decoded["context"]["action"] == "s3:DeleteObject"
    assert decoded["context"]["resource"] == f"arn:aws:s3:::{BUCKET}/audit/decode.log"
    with pytest.raises(ClientError) as excinfo:
        sts_client(services, keys["bob"]).decode_authorization_message(EncodedMessage=encoded)
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"
