"""Differential: requests signed by real botocore (the reference signer) verify here.

botocore is a test dependency only. Time is frozen by patching ``botocore.auth``'s clock, as
botocore's own SigV4 tests freeze ``datetime``. Covered: ``SigV4Auth`` (STS/IAM/DynamoDB),
``S3SigV4Auth`` (signed, unsigned and streaming payloads), ``SigV4QueryAuth`` and
``S3SigV4QueryAuth`` (presigned), with and without session tokens, plus a hypothesis
differential over awkward keys and query strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn import sigv4
from iamguard.authn.request_view import RequestView, host_from_url
from iamguard.authn.sigv4 import verify_sigv4
from iamguard.errors import AuthenticationError, IAMGuardError

AKID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJH+with/slash+plus=="
FROZEN = dt.datetime(2026, 1, 15, 10, 30, 0)
NOW = FROZEN.replace(tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def frozen_botocore_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda *a, **k: FROZEN)
    yield


def lookup(akid: str) -> str | None:
    return SECRET if akid == AKID else None


def botocore_sign(
    signer_cls: Any,
    service: str,
    method: str,
    url: str,
    *,
    region: str = "us-east-1",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    token: str | None = None,
    context: dict[str, Any] | None = None,
    **signer_kwargs: Any,
) -> RequestView:
    """Sign with botocore and return what the server would receive (Host added by HTTP)."""
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    request.context.update(context or {})
    signer_cls(Credentials(AKID, SECRET, token), service, region, **signer_kwargs).add_auth(request)
    prepared = request.prepare()
    wire_headers = [(k, v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()]
    if not any(k.lower() == "host" for k, _ in wire_headers):
        wire_headers.insert(0, ("Host", host_from_url(prepared.url)))
    raw_body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    parts = urlsplit(prepared.url)
    return RequestView(method, parts.path or "/", parts.query, wire_headers, raw_body)


S3_KEY_URL = "https://examplebucket.s3.us-east-1.amazonaws.com/" + quote(
    "reports/2025 Q4/naïve café+résumé (v1)~x=1&y.txt", safe="/~"
)
CASES = [
    # (id, signer class name, service, method, url, headers, body, context, kwargs)
    ("s3-get-signed-empty-payload", "S3SigV4Auth", "s3", "GET", S3_KEY_URL, {}, b"", {}, {}),
    (
        "s3-put-signed-payload",
        "S3SigV4Auth",
        "s3",
        "PUT",
        "https://s3.us-east-1.amazonaws.com/b/k.json",
        {"Content-Type": "application/json"},
        b'{"a": 1}',
        {},
        {},
    ),
    (
        "s3-put-unsigned-payload",
        "S3SigV4Auth",
        "s3",
        "PUT",
        "https://s3.us-east-1.amazonaws.com/b/k",
        {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
        b"",
        {"client_config": Config(s3={"payload_signing_enabled": False})},
        {},
    ),
    (
        "s3-put-streaming-trailer",
        "S3SigV4Auth",
        "s3",
        "PUT",
        "https://s3.us-east-1.amazonaws.com/b/k",
        {
            "Content-Encoding": "aws-chunked",
            "X-Amz-Trailer": "x-amz-checksum-crc32",
            "X-Amz-Decoded-Content-Length": "5",
        },
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
        {"checksum": {"request_algorithm": {"in": "trailer", "name": "x-amz-checksum-crc32"}}},
        {},
    ),
    (
        "s3-list-query",
        "S3SigV4Auth",
        "s3",
        "GET",
        "http://127.0.0.1:9000/example-bucket?list-type=2&prefix=reports%2F2025%20Q4%2F&delimiter=%2F&encoding-type=url",
        {},
        b"",
        {},
        {},
    ),
    (
        "s3-double-slash-and-dot-key",
        "S3SigV4Auth",
        "s3",
        "GET",
        "https://s3.amazonaws.com/b/a//./b/../c",
        {},
        b"",
        {},
        {},
    ),
    (
        "sts-post-form",
        "SigV4Auth",
        "sts",
        "POST",
        "https://sts.us-east-1.amazonaws.com/",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=s%40x",
        {},
        {},
    ),
    (
        "iam-get-query",
        "SigV4Auth",
        "iam",
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fdivision%2F",
        {},
        b"",
        {},
        {},
    ),
    (
        "dynamodb-json",
        "SigV4Auth",
        "dynamodb",
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
        b"{}",
        {},
        {},
    ),
    (
        "apigw-path-normalized",
        "SigV4Auth",
        "execute-api",
        "GET",
        "https://abc.execute-api.us-east-1.amazonaws.com/prod//a/./b%20c/../d",
        {},
        b"",
        {},
        {},
    ),
    ("s3-presigned", "S3SigV4QueryAuth", "s3", "GET", S3_KEY_URL, {}, b"", {}, {"expires": 900}),
    (
        "s3-presigned-put-with-query",
        "S3SigV4QueryAuth",
        "s3",
        "PUT",
        "https://s3.us-east-1.amazonaws.com/b/k?partNumber=1&uploadId=abc%2Bdef",
        {},
        b"",
        {},
        {"expires": 604800},
    ),
    (
        "sts-presigned-getcalleridentity",
        "SigV4QueryAuth",
        "sts",
        "GET",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        {"x-k8s-aws-id": "my-cluster"},
        b"",
        {},
        {"expires": 60},
    ),
]


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session-token"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_botocore_signed_request_verifies(case: tuple[Any, ...], token: str | None) -> None:
    _id, cls, service, method, url, headers, body, context, kwargs = case
    region = "eu-west-1" if service == "dynamodb" else "us-east-1"
    view = botocore_sign(
        getattr(botocore_auth, cls),
        service,
        method,
        url,
        region=region,
        headers=headers,
        body=body,
        token=token,
        context=context,
        **kwargs,
    )
    result = verify_sigv4(view, lookup, now=NOW, service_hint=service)
    assert (result.access_key_id, result.region, result.service) == (AKID, region, service)
    assert result.session_token == token
    assert result.presigned is ("QueryAuth" in cls)
    # And rejected one second past its window.
    later = NOW + (
        dt.timedelta(seconds=kwargs["expires"])
        if "expires" in kwargs
        else dt.timedelta(minutes=15, seconds=1)
    )
    with pytest.raises(AuthenticationError):
        verify_sigv4(view, lookup, now=later, service_hint=service)


# ---------------------------------------------------------------- hypothesis differential

key_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda k: not k.startswith("/")
)
query_pairs = st.lists(
    st.tuples(
        st.text(alphabet="abcdefXYZ-_.~ +/=&%é", min_size=1, max_size=8),
        st.text(max_size=12).filter(lambda v: "\x00" not in v),
    ),
    max_size=4,
)


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


@settings(max_examples=150, deadline=None)
@given(key=key_text, pairs=query_pairs, token=st.sampled_from([None, TOKEN]), presign=st.booleans())
def test_botocore_s3_signatures_verify_for_any_key_and_query(
    key: str, pairs: list[tuple[str, str]], token: str | None, presign: bool
) -> None:
    url = "https://s3.us-east-1.amazonaws.com/bucket/" + quote(key, safe="/~")
    query = _query(pairs)
    if query:
        url += "?" + query
    cls = botocore_auth.S3SigV4QueryAuth if presign else botocore_auth.S3SigV4Auth
    kwargs: dict[str, Any] = {"expires": 300} if presign else {}
    view = botocore_sign(cls, "s3", "GET", url, token=token, **kwargs)
    assert verify_sigv4(view, lookup, now=NOW).session_token == token


@settings(max_examples=100, deadline=None)
@given(path=st.text(alphabet="ab./ %é", min_size=0, max_size=20), pairs=query_pairs)
def test_botocore_generic_signatures_verify_for_any_path(path: str, pairs: list[tuple[str, str]]) -> None:
    url = "https://service.us-east-1.amazonaws.com/" + quote(path, safe="/")
    query = _query(pairs)
    if query:
        url += "?" + query
    view = botocore_sign(botocore_auth.SigV4Auth, "service", "GET", url)
    verify_sigv4(view, lookup, now=NOW)


# ---------------------------------------------------------------- lanes = general path
# The verifier reads requests shaped as the SDKs send them through lanes (the SDK-shaped
# Authorization parser, the raw reading of a canonical presigned query, the verify lane); every
# other request takes the general path. Forcing the lanes off must never change the outcome:
# the same VerifiedRequest, or the same error type, code and message. Requests are signed by
# botocore (SigV4Auth, S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth), then varied and tampered.

lane_paths = st.sampled_from(
    ["/", "/photos/2026/cat.jpg", "/a//b/./c/../d", "/k%20ey/~u", "/caf%C3%A9%2Bx", "/a%2Fb", "/~x/y.z_-"]
)
lane_headers = st.lists(
    st.sampled_from(
        [
            ("X-Amz-Meta-Colour", "blue"),
            ("x-amz-meta-SPACED", "  a   b  "),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Accept", "a/b,  c/d"),
            ("X-Tab", "a\tb"),
            ("User-Agent", "Boto3/1.40.0 md/Botocore#1.40.0"),
            ("X-Empty", ""),
            ("X-Pct", "100%s %d"),
        ]
    ),
    max_size=4,
    unique_by=lambda pair: pair[0].lower(),
)
LANE_TAMPERS = [
    "none",
    "signature",
    "signed header value",
    "duplicate signed header",
    "duplicate unsigned header",
    "unsigned x-amz header",
    "padded header name",
    "header name case",
    "query reordered",
    "query value",
    "query escape lower-case",
    "extra query pair",
    "repeated X-Amz-Date",
    "token header",
    "path",
    "body",
    "date skewed",
]


def _tamper(view: RequestView, how: str, salt: int) -> RequestView:
    """``view`` changed as ``how`` says; ``salt`` names added headers (so set orders vary)."""
    headers = list(view.headers)
    query, path, body = view.query_string, view.raw_path, view.body
    if how == "signature":
        if "X-Amz-Signature=" in query:
            query = query.replace("X-Amz-Signature=", "X-Amz-Signature=0", 1)[:-1]
        headers = [
            (n, v[:-1] + ("1" if v[-1] == "0" else "0")) if n == "Authorization" else (n, v)
            for n, v in headers
        ]
    elif how == "signed header value":
        headers = [(n, v + "x") if n.lower() == "host" else (n, v) for n, v in headers]
    elif how == "duplicate signed header":
        headers.append(("Host", "other.example.com"))
    elif how == "duplicate unsigned header":
        headers += [(f"X-Unsigned-{salt}", "1"), (f"x-unsigned-{salt}", "2")]
    elif how == "unsigned x-amz header":
        headers += [(f"A-{salt}", "1"), (f"X-Amz-Meta-{salt}", "1"), (f"Z-{salt}", "1")]
    elif how == "padded header name":
        headers = [(n + " " if n.lower() == "host" else n, v) for n, v in headers]
    elif how == "header name case":
        headers = [(n.upper(), v) for n, v in headers]
    elif how == "query reordered":
        query = "&".join(reversed(query.split("&")))
    elif how == "query value":
        query = query.replace("=", "=z", 1)
    elif how == "query escape lower-case":
        query = query.replace("%2F", "%2f")
    elif how == "extra query pair":
        query = f"{query}&zz=1" if query else "zz=1"
    elif how == "repeated X-Amz-Date":
        query = f"{query}&X-Amz-Date=20260115T103000Z" if query else query
    elif how == "token header":
        headers.append(("X-Amz-Security-Token", "tok"))
    elif how == "path":
        path = path + "x"
    elif how == "body":
        body = (body or b"") + b"!"
    return RequestView(view.method, path, query, headers, body)


def _judged(view: RequestView, hint: str | None, now: dt.datetime) -> object:
    try:
        return verify_sigv4(view, lookup, now=now, service_hint=hint)
    except IAMGuardError as error:
        return (type(error).__name__, error.code, str(error))


@settings(max_examples=400, deadline=None)
@given(
    path=lane_paths,
    pairs=query_pairs,
    headers=lane_headers,
    service=st.sampled_from(["s3", "sts", "execute-api"]),
    presign=st.booleans(),
    method=st.sampled_from(["GET", "PUT"]),
    body=st.sampled_from([b"", b"Action=GetCallerIdentity"]),
    token=st.sampled_from([None, TOKEN]),
    tamper=st.sampled_from(LANE_TAMPERS),
    hint=st.sampled_from([None, "same"]),
    salt=st.integers(min_value=0, max_value=10**6),
)
def test_the_lanes_answer_as_the_general_path_on_botocore_requests(
    path: str,
    pairs: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    service: str,
    presign: bool,
    method: str,
    body: bytes,
    token: str | None,
    tamper: str,
    hint: str | None,
    salt: int,
) -> None:
    url = "https://examplebucket.s3.us-east-1.amazonaws.com" + path
    query = _query(pairs)
    if query:
        url += "?" + query
    s3 = service == "s3"
    if presign:
        cls = botocore_auth.S3SigV4QueryAuth if s3 else botocore_auth.SigV4QueryAuth
        kwargs: dict[str, Any] = {"expires": 300}
        body = b""  # botocore's query signers read a body as parameters
    else:
        cls = botocore_auth.S3SigV4Auth if s3 else botocore_auth.SigV4Auth
        kwargs = {}
    context = {"client_config": Config(s3={"payload_signing_enabled": False})} if s3 else {}
    signed = botocore_sign(
        cls, service, method, url, headers=dict(headers), body=body, token=token, context=context, **kwargs
    )
    view = _tamper(signed, tamper, salt)
    now = NOW + dt.timedelta(minutes=20 if tamper == "date skewed" else 0)
    service_hint = service if hint == "same" else None
    with_lanes = _judged(view, service_hint, now)
    with (
        mock.patch.object(sigv4, "_verify_lane", return_value=None),
        mock.patch.object(sigv4, "_read_presigned", return_value=None),
        mock.patch.object(sigv4, "_sdk_claim", return_value=None),
    ):
        general = _judged(view, service_hint, now)
    assert with_lanes == general
    if tamper == "none":
        assert not isinstance(with_lanes, tuple), with_lanes  # botocore's request is accepted


def test_the_sdk_shapes_take_the_lanes() -> None:
    """The three benchmark shapes are read by the lanes (else the property above proves little)."""
    s3_get = botocore_sign(
        botocore_auth.S3SigV4Auth,
        "s3",
        "GET",
        "https://examplebucket.s3.amazonaws.com/photos/2026/cat.jpg",
        context={"client_config": Config(s3={"payload_signing_enabled": False})},
    )
    presigned = botocore_sign(
        botocore_auth.S3SigV4QueryAuth,
        "s3",
        "GET",
        "https://examplebucket.s3.amazonaws.com/q3%20summary.pdf?versionId=3HL4kqtJlcpXroDTDmJ",
        expires=3600,
    )
    sts = botocore_sign(
        botocore_auth.SigV4Auth, "sts", "POST", "https://sts.amazonaws.com/", body=b"Action=X"
    )
    for view in (s3_get, presigned, sts):
        claim, reading = sigv4._parse(view, None)
        assert claim is not None
        assert (reading is not None) == (claim.expires is not None)
        lane = sigv4._verify_lane(
            view,
            claim,
            reading,
            lookup,
            NOW.timestamp(),
            900.0,
            None,
            sigv4._DIALECTS[claim.service == "s3", claim.expires is not None],
        )
        assert lane == verify_sigv4(view, lookup, now=NOW)
