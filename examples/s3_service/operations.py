"""The S3 operations of the example, each guarded by iamguard's ``@require`` with its S3 action.

Every function names the IAM action AWS checks for the operation and the resource it checks it
on (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html):
objects are ``arn:aws:s3:::bucket/key``, buckets ``arn:aws:s3:::bucket``. The bucket's policy is
passed to the guard as the resource-based policy, with the bucket owner's account, so an
explicit Deny in it wins over any identity grant and an Allow in it can grant on its own
(same account). No operation decides anything about access itself: when a function body runs,
``@require`` has already asked the guard, which raised ``AccessDenied`` otherwise.

As S3 does, a caller without permission learns nothing about existence: the authorization
check runs before ``NoSuchBucket`` / ``NoSuchKey`` are considered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from flask import Response, current_app, request

from iamguard import IAMGuardError, Policy, require
from iamguard.analysis import Verdict, check_no_public_access
from iamguard.authn import compute_checksum
from iamguard.enforce import current_request

from .s3xml import (
    S3Error,
    http_date,
    list_buckets_document,
    list_objects_v2_document,
    parse_public_access_block,
    public_access_block_document,
)
from .storage import NoSuchBucket, ObjectMeta

if TYPE_CHECKING:
    from .app import S3ServiceState

__all__ = [
    "create_bucket",
    "delete_bucket",
    "delete_bucket_policy",
    "delete_object",
    "delete_public_access_block",
    "get_bucket_location",
    "get_bucket_policy",
    "get_object",
    "get_public_access_block",
    "head_bucket",
    "head_object",
    "list_buckets",
    "list_objects_v2",
    "put_bucket_policy",
    "put_object",
    "put_public_access_block",
]

BUCKET = "arn:aws:s3:::{bucket}"
OBJECT = "arn:aws:s3:::{bucket}/{key}"
#: ListBuckets has no resource type; policies grant it with ``"Resource": "*"`` or
#: ``"arn:aws:s3:::*"``, and both match this account-wide ARN.
ALL_BUCKETS = "arn:aws:s3:::*"
_CHECKSUMS = ("crc32", "crc32c", "sha1", "sha256", "crc64nvme")


def _state() -> S3ServiceState:
    state: S3ServiceState = current_app.extensions["s3_service"]
    return state


# ---------------------------------------------------------------- guard inputs


def _bucket_policy(bucket: str) -> tuple[Policy | None, str | None]:
    """The bucket's policy and owner for the guard; ``(None, None)`` for a missing bucket."""
    state = _state()
    try:
        found = state.storage.get_bucket(bucket)
    except NoSuchBucket:
        return None, None
    return state.parsed_policy(found.policy), found.owner_account


def _request_keys() -> dict[str, str]:
    """S3's SigV4 condition keys for this request.

    https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html
    (``s3:x-amz-content-sha256`` comes from the header only, never the query).
    """
    presigned = "X-Amz-Signature" in request.args
    keys = {
        "s3:signatureversion": "AWS4-HMAC-SHA256",
        "s3:authType": "REST-QUERY-STRING" if presigned else "REST-HEADER",
    }
    content_sha = request.headers.get("x-amz-content-sha256")
    if content_sha is not None:
        keys["s3:x-amz-content-sha256"] = content_sha
    state = current_request()
    verified = state.authenticated.verified if state is not None and state.authenticated is not None else None
    if presigned and verified is not None:
        keys["s3:signatureAge"] = str(max(0, int((_state().clock() - verified.signed_at.timestamp()) * 1000)))
    return keys


def _list_keys() -> dict[str, str]:
    """ListBucket's own keys (present only when the request sends the parameter).

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html#amazons3-policy-keys
    """
    keys = _request_keys()
    for param, key in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
        if param in request.args:
            keys[key] = request.args[param]
    return keys


def _response(body: bytes = b"", status: int = 200, **headers: str) -> Response:
    response = Response(body, status=status, content_type=headers.pop("content_type", "application/xml"))
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


# ---------------------------------------------------------------- service


@require("s3:ListAllMyBuckets", ALL_BUCKETS, context=_request_keys)
def list_buckets() -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html"""
    state = _state()
    state_request = current_request()
    principal = state_request.principal if state_request is not None else None
    account = principal.account if principal is not None else state.account_id
    body = list_buckets_document(state.storage.list_buckets(account), state.canonical_id(account), account)
    return _response(body)


# ---------------------------------------------------------------- buckets


@require("s3:CreateBucket", BUCKET, context=_request_keys)
def create_bucket(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html

    The bucket belongs to the caller's account. A ``LocationConstraint`` other than this
    service's region is refused, as S3 refuses a constraint that does not match the endpoint.
    """
    state = _state()
    region = _location_constraint(request.get_data()) or state.region
    if region != state.region:
        raise S3Error(
            "IllegalLocationConstraintException",
            400,
            f"The {region} location constraint is incompatible for the region specific endpoint this request was sent to.",
        )
    current = current_request()
    owner = (
        current.principal.account
        if current is not None and current.principal is not None
        else state.account_id
    )
    state.storage.create_bucket(bucket, owner_account=owner or state.account_id, region=region)
    return _response(Location=f"/{bucket}")


def _location_constraint(body: bytes) -> str | None:
    if not body.strip():
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise S3Error(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema.",
        ) from None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "LocationConstraint" and element.text:
            return element.text.strip()
    return None


@require("s3:DeleteBucket", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def delete_bucket(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html"""
    _state().storage.delete_bucket(bucket)
    return _response(status=204)


@require("s3:ListBucket", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def head_bucket(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html (needs s3:ListBucket)."""
    found = _state().storage.get_bucket(bucket)
    return _response(x_amz_bucket_region=found.region)


@require("s3:GetBucketLocation", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def get_bucket_location(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html (us-east-1 is empty)."""
    region = _state().storage.get_bucket(bucket).region
    text = "" if region == "us-east-1" else region
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{text}</LocationConstraint>'
    )
    return _response(body.encode())


@require("s3:ListBucket", BUCKET, context=_list_keys, resource_policy=_bucket_policy)
def list_objects_v2(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html

    Continuation tokens are opaque to clients: here the base64url of the last entry returned.
    """
    args = {
        k: request.args[k]
        for k in ("prefix", "delimiter", "continuation-token", "start-after")
        if k in request.args
    }
    encoding = request.args.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error(
            "InvalidArgument",
            400,
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
        )
    max_keys = _max_keys(request.args.get("max-keys"))
    after = args.get("start-after", "")
    if "continuation-token" in args:
        after = max(after, _decode_token(args["continuation-token"]))
    page = _state().storage.list_objects(
        bucket,
        prefix=args.get("prefix", ""),
        delimiter=args.get("delimiter", ""),
        max_keys=max_keys,
        after=after,
    )
    token = _encode_token(page.next_marker) if page.truncated and page.next_marker is not None else None
    body = list_objects_v2_document(
        bucket, page, params=args, max_keys=max_keys, next_token=token, url_encode=encoding == "url"
    )
    return _response(body)


def _max_keys(text: str | None) -> int:
    if text is None:
        return 1000
    if not text.isdigit():
        raise S3Error(
            "InvalidArgument",
            400,
            "Provided max-keys not an integer or within integer range",
            ArgumentName="max-keys",
            ArgumentValue=text,
        )
    return min(int(text), 1000)


def _encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": marker}).encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        after = data["after"]
        if isinstance(after, str):
            return after
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        pass
    raise S3Error(
        "InvalidArgument",
        400,
        "The continuation token provided is incorrect",
        ArgumentName="continuation-token",
    )


# ---------------------------------------------------------------- bucket policy


@require("s3:PutBucketPolicy", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def put_bucket_policy(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html

    The document must be a valid resource-based policy (a ``Principal`` in every statement)
    whose resources all lie in this bucket ("Policy has invalid resource" otherwise), as S3 checks.
    """
    state = _state()
    found = state.storage.get_bucket(bucket)
    text = request.get_data(as_text=True)
    policy = state.validate_policy(bucket, text)
    _refuse_public_policy(bucket, policy, found.owner_account)
    state.storage.set_bucket_policy(bucket, text)
    return _response(status=204)


def _refuse_public_policy(bucket: str, policy: Policy, owner: str) -> None:
    """With BlockPublicPolicy on, a policy S3 would call public is refused with AccessDenied (403).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
    ("PUT Bucket policy calls fail if the specified bucket policy allows public access").
    iamguard's analysis decides "public" by S3's definition; an undecided answer refuses too.
    """
    config = _state().storage.get_public_access_block(bucket)
    if not config or not config.get("BlockPublicPolicy"):
        return
    if check_no_public_access(policy, resource_account=owner).verdict is Verdict.PASS:
        return
    state = current_request()
    caller = state.principal.arn if state is not None and state.principal is not None else "anonymous"
    raise S3Error(
        "AccessDenied",
        403,
        f"User: {caller} is not authorized to perform: s3:PutBucketPolicy on resource: "
        f'"arn:aws:s3:::{bucket}" because public policies are blocked by the BlockPublicPolicy '
        "block public access setting.",
    )


@require("s3:GetBucketPolicy", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def get_bucket_policy(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html"""
    found = _state().storage.get_bucket(bucket)
    if found.policy is None:
        raise S3Error("NoSuchBucketPolicy", 404, "The bucket policy does not exist", BucketName=bucket)
    return _response(found.policy.encode("utf-8"), content_type="application/json")


@require("s3:DeleteBucketPolicy", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def delete_bucket_policy(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketPolicy.html"""
    _state().storage.set_bucket_policy(bucket, None)
    return _response(status=204)


# ---------------------------------------------------------------- Block Public Access (bucket level)


@require("s3:PutBucketPublicAccessBlock", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def put_public_access_block(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html (200, no body)."""
    state = _state()
    state.storage.get_bucket(bucket)
    state.storage.set_public_access_block(bucket, parse_public_access_block(request.get_data()))
    return _response(status=200)


@require("s3:GetBucketPublicAccessBlock", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def get_public_access_block(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html"""
    config = _state().storage.get_public_access_block(bucket)
    if config is None:
        raise S3Error(
            "NoSuchPublicAccessBlockConfiguration",
            404,
            "The public access block configuration was not found",
            BucketName=bucket,
        )
    return _response(public_access_block_document(config))


@require("s3:PutBucketPublicAccessBlock", BUCKET, context=_request_keys, resource_policy=_bucket_policy)
def delete_public_access_block(bucket: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeletePublicAccessBlock.html (204).

    The permission is ``s3:PutBucketPublicAccessBlock``: S3 has no separate delete action.
    """
    state = _state()
    state.storage.get_bucket(bucket)
    state.storage.set_public_access_block(bucket, None)
    return _response(status=204)


# ---------------------------------------------------------------- objects


@require("s3:PutObject", OBJECT, context=_request_keys, resource_policy=_bucket_policy)
def put_object(bucket: str, key: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html

    The body is what the client meant to store: for aws-chunked uploads the middleware has
    already de-chunked it and verified chunk signatures and the trailing checksum. A
    ``Content-MD5`` or ``x-amz-checksum-*`` header is checked against the bytes received.
    """
    if request.headers.get("x-amz-copy-source"):
        raise S3Error("NotImplemented", 501, "CopyObject is not implemented by this example service.")
    data = request.get_data()
    _check_content_md5(data)
    echoed = _check_checksum_headers(data)
    metadata = {
        name[len("x-amz-meta-") :].lower(): value
        for name, value in request.headers.items()
        if name.lower().startswith("x-amz-meta-")
    }
    content_type = request.headers.get("Content-Type") or "binary/octet-stream"
    meta = _state().storage.put_object(bucket, key, data, content_type=content_type, metadata=metadata)
    response = _response(ETag=meta.etag, content_type="application/xml")
    for name, value in echoed.items():
        response.headers[name] = value
    return response


def _check_content_md5(data: bytes) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax"""
    declared = request.headers.get("Content-MD5")
    if declared is None:
        return
    try:
        digest = base64.b64decode(declared, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise S3Error(
            "InvalidDigest", 400, "The Content-MD5 you specified was invalid.", **{"Content-MD5": declared}
        )
    if not hmac.compare_digest(digest, hashlib.md5(data, usedforsecurity=False).digest()):
        raise S3Error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")


def _check_checksum_headers(data: bytes) -> dict[str, str]:
    """Verify ``x-amz-checksum-<alg>`` headers; return the checksum headers to echo.

    For an aws-chunked upload the checksum came as a trailer (named by ``x-amz-trailer``) and
    was verified while de-chunking; it is echoed from the stored bytes.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
    """
    echoed: dict[str, str] = {}
    for algorithm in _CHECKSUMS:
        header = f"x-amz-checksum-{algorithm}"
        declared = request.headers.get(header)
        if declared is None:
            continue
        actual = _checksum(algorithm, data)
        if not hmac.compare_digest(declared.encode(), actual.encode()):
            raise S3Error(
                "BadDigest",
                400,
                f"The {algorithm.upper()} you specified did not match the calculated checksum.",
            )
        echoed[header] = actual
    trailer = (request.headers.get("x-amz-trailer") or "").strip().lower()
    if trailer.startswith("x-amz-checksum-") and trailer[len("x-amz-checksum-") :] in _CHECKSUMS:
        echoed[trailer] = _checksum(trailer[len("x-amz-checksum-") :], data)
    return echoed


def _checksum(algorithm: str, data: bytes) -> str:
    try:
        return compute_checksum(algorithm, data)
    except IAMGuardError as error:
        raise S3Error(
            error.code or "NotImplemented", error.http_status, str(error) or "Checksum not supported"
        ) from None


def _object_headers(meta: ObjectMeta) -> dict[str, str]:
    headers = {
        "ETag": meta.etag,
        "Last-Modified": http_date(meta.last_modified),
        "Content-Type": meta.content_type,
        "Accept-Ranges": "bytes",
    }
    headers.update({f"x-amz-meta-{name}": value for name, value in meta.metadata.items()})
    if request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        headers["x-amz-checksum-crc32"] = meta.crc32
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    return headers


def _check_conditions(meta: ObjectMeta) -> None:
    """If-Match / If-None-Match / If-(Un)Modified-Since, in RFC 7232's order (S3 follows it).

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
    """
    if_match = request.headers.get("If-Match")
    if if_match is not None and not _etag_in(meta.etag, if_match):
        raise S3Error(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
            Condition="If-Match",
        )
    unmodified = _http_time(request.headers.get("If-Unmodified-Since"))
    if if_match is None and unmodified is not None and int(meta.last_modified) > unmodified:
        raise S3Error(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
            Condition="If-Unmodified-Since",
        )
    if_none = request.headers.get("If-None-Match")
    if if_none is not None and _etag_in(meta.etag, if_none):
        raise _NotModified(meta)
    modified = _http_time(request.headers.get("If-Modified-Since"))
    if if_none is None and modified is not None and int(meta.last_modified) <= modified:
        raise _NotModified(meta)


class _NotModified(Exception):
    def __init__(self, meta: ObjectMeta) -> None:
        super().__init__("not modified")
        self.meta = meta


def _etag_in(etag: str, header: str) -> bool:
    wanted = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in wanted or etag in wanted or etag.strip('"') in wanted


def _http_time(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError):
        return None


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` for a single ``bytes=`` range; ``None`` to send the whole object.

    An unparsable or multi-range header is ignored (the whole object is sent, as S3 does); a
    satisfiable-syntax range outside the object is ``InvalidRange`` (416).
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Range; RFC 9110 §14)
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, dash, last_text = header[6:].strip().partition("-")
    if not dash or not (first_text.isdigit() or last_text.isdigit()):
        return None
    if not first_text:  # suffix: the last N bytes
        count = int(last_text)
        if count == 0 or size == 0:
            raise S3Error(
                "InvalidRange",
                416,
                "The requested range is not satisfiable",
                RangeRequested=header,
                ActualObjectSize=str(size),
            )
        return max(0, size - count), size - 1
    first = int(first_text)
    last = int(last_text) if last_text.isdigit() else size - 1
    if (last_text and not last_text.isdigit()) or last < first:
        return None
    if first >= size:
        raise S3Error(
            "InvalidRange",
            416,
            "The requested range is not satisfiable",
            RangeRequested=header,
            ActualObjectSize=str(size),
        )
    return first, min(last, size - 1)


_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


@require("s3:GetObject", OBJECT, context=_request_keys, resource_policy=_bucket_policy)
def get_object(bucket: str, key: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html"""
    meta, data = _state().storage.get_object(bucket, key)
    try:
        _check_conditions(meta)
    except _NotModified:
        return _not_modified(meta)
    headers = _object_headers(meta)
    for param, header in _RESPONSE_OVERRIDES.items():
        if param in request.args:
            headers[header] = request.args[param]
    chosen = _range(request.headers.get("Range"), meta.size)
    if chosen is None:
        return _object_response(data, 200, headers)
    first, last = chosen
    headers.pop("x-amz-checksum-crc32", None)  # a part has no full-object checksum to validate
    headers.pop("x-amz-checksum-type", None)
    headers["Content-Range"] = f"bytes {first}-{last}/{meta.size}"
    return _object_response(data[first : last + 1], 206, headers)


def _object_response(data: bytes, status: int, headers: Mapping[str, str]) -> Response:
    response = Response(data, status=status)
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _not_modified(meta: ObjectMeta) -> Response:
    response = Response(b"", status=304)
    response.headers["ETag"] = meta.etag
    response.headers["Last-Modified"] = http_date(meta.last_modified)
    return response


@require("s3:GetObject", OBJECT, context=_request_keys, resource_policy=_bucket_policy)
def head_object(bucket: str, key: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html (s3:GetObject)."""
    meta = _state().storage.head_object(bucket, key)
    try:
        _check_conditions(meta)
    except _NotModified:
        return _not_modified(meta)
    response = _object_response(b"", 200, _object_headers(meta))
    response.headers["Content-Length"] = str(meta.size)
    return response


@require("s3:DeleteObject", OBJECT, context=_request_keys, resource_policy=_bucket_policy)
def delete_object(bucket: str, key: str) -> Response:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html (204 even if absent)."""
    _state().storage.delete_object(bucket, key)
    return _response(status=204)
