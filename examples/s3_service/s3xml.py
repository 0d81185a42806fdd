"""S3's REST-XML bodies and headers, written as S3 writes them (what botocore's parser reads).

Pure functions from values to bytes; the app decides what to send. Shapes follow the S3 API
reference and botocore's ``s3/2006-03-01/service-2.json``:

* ListAllMyBucketsResult: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
* ListBucketResult (V2): https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
* PublicAccessBlockConfiguration:
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html
* Error: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses
  (the AWS CLI prints ``<Message>``, so it is never empty).

Times in XML are ISO 8601 with milliseconds (``2026-01-02T03:04:05.000Z``); in headers they are
RFC 7231 HTTP-dates (``Last-Modified``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from email.utils import formatdate
from urllib.parse import quote
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from .storage import Bucket, ListPage

__all__ = [
    "NAMESPACE",
    "S3Error",
    "error_document",
    "http_date",
    "iso_time",
    "list_buckets_document",
    "list_objects_v2_document",
    "parse_public_access_block",
    "public_access_block_document",
]

#: The four Block Public Access settings, in the order S3 writes them; absent ones are false.
PUBLIC_ACCESS_BLOCK_FIELDS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class S3Error(Exception):
    """An S3 error response: ``code``, HTTP ``status``, a non-empty message and extra elements
    (``BucketName``, ``Key``, ``Resource``...) as S3 adds them to ``<Error>``."""

    def __init__(self, code: str, status: int, message: str, **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message or code
        self.details = details


def iso_time(epoch: float) -> str:
    """``2026-01-02T03:04:05.000Z``: the form S3 uses for times inside XML."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(epoch: float) -> str:
    """``Sun, 29 Nov 2026 05:32:14 GMT``: ``Last-Modified`` as S3 sends it."""
    return formatdate(int(epoch), usegmt=True)


def _element(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def error_document(error: S3Error, request_id: str, host_id: str = "") -> bytes:
    """``<Error><Code/><Message/>...<RequestId/><HostId/></Error>``."""
    parts = [_element("Code", error.code), _element("Message", error.message)]
    parts += [_element(name, value) for name, value in error.details.items()]
    parts += [_element("RequestId", request_id), _element("HostId", host_id)]
    return (_DECLARATION + "<Error>" + "".join(parts) + "</Error>").encode("utf-8")


def list_buckets_document(buckets: Iterable[Bucket], owner_id: str, owner_name: str) -> bytes:
    """The ListBuckets answer: owner and every bucket with its creation date."""
    items = "".join(
        f"<Bucket>{_element('Name', b.name)}{_element('CreationDate', iso_time(b.created))}"
        f"{_element('BucketRegion', b.region)}</Bucket>"
        for b in buckets
    )
    owner = f"<Owner>{_element('ID', owner_id)}{_element('DisplayName', owner_name)}</Owner>"
    return (
        f'{_DECLARATION}<ListAllMyBucketsResult xmlns="{NAMESPACE}">{owner}<Buckets>{items}</Buckets>'
        "</ListAllMyBucketsResult>"
    ).encode()


def list_objects_v2_document(
    bucket: str,
    page: ListPage,
    *,
    params: Mapping[str, str],
    max_keys: int,
    next_token: str | None,
    url_encode: bool,
) -> bytes:
    """The ListObjectsV2 answer.

    With ``encoding-type=url`` S3 URL-encodes ``Prefix``, ``Delimiter``, ``StartAfter``, ``Key``
    and ``CommonPrefixes/Prefix`` and echoes ``<EncodingType>url</EncodingType>``; botocore asks
    for it by default and decodes those fields back.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html#API_ListObjectsV2_RequestSyntax
    """

    def text(value: str) -> str:
        return quote(value, safe="/") if url_encode else value

    head = [_element("Name", bucket), _element("Prefix", text(params.get("prefix", "")))]
    if "delimiter" in params:
        head.append(_element("Delimiter", text(params["delimiter"])))
    head.append(_element("MaxKeys", max_keys))
    if url_encode:
        head.append(_element("EncodingType", "url"))
    head.append(_element("KeyCount", len(page.contents) + len(page.common_prefixes)))
    head.append(_element("IsTruncated", _bool(page.truncated)))
    if "continuation-token" in params:
        head.append(_element("ContinuationToken", params["continuation-token"]))
    if next_token is not None:
        head.append(_element("NextContinuationToken", next_token))
    if "start-after" in params:
        head.append(_element("StartAfter", text(params["start-after"])))
    contents = "".join(
        "<Contents>"
        + _element("Key", text(meta.key))
        + _element("LastModified", iso_time(meta.last_modified))
        + _element("ETag", meta.etag)
        + "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
        + _element("Size", meta.size)
        + _element("StorageClass", "STANDARD")
        + "</Contents>"
        for meta in page.contents
    )
    prefixes = "".join(
        f"<CommonPrefixes>{_element('Prefix', text(p))}</CommonPrefixes>" for p in page.common_prefixes
    )
    return (
        f'{_DECLARATION}<ListBucketResult xmlns="{NAMESPACE}">{"".join(head)}{contents}{prefixes}</ListBucketResult>'
    ).encode()


def public_access_block_document(config: Mapping[str, bool]) -> bytes:
    """The GetPublicAccessBlock answer: ``<PublicAccessBlockConfiguration>`` with all four flags."""
    flags = "".join(_element(name, _bool(config.get(name, False))) for name in PUBLIC_ACCESS_BLOCK_FIELDS)
    return (
        f'{_DECLARATION}<PublicAccessBlockConfiguration xmlns="{NAMESPACE}">{flags}</PublicAccessBlockConfiguration>'
    ).encode()


def parse_public_access_block(body: bytes) -> dict[str, bool]:
    """PutPublicAccessBlock's body as the four flags; ``MalformedXML`` (400) when it is not one.

    botocore sends the element in S3's namespace with only the flags the caller set; a missing
    flag is false (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html).
    """
    malformed = S3Error(
        "MalformedXML",
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise malformed from None
    if root.tag.rsplit("}", 1)[-1] != "PublicAccessBlockConfiguration":
        raise malformed
    config = dict.fromkeys(PUBLIC_ACCESS_BLOCK_FIELDS, False)
    for child in root:
        name = child.tag.rsplit("}", 1)[-1]
        value = (child.text or "").strip().lower()
        if name not in config or value not in ("true", "false"):
            raise malformed
        config[name] = value == "true"
    return config
