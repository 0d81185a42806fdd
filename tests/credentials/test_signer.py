"""iamguard's client signer: reproduces every vector and botocore's signatures exactly.

The signer shares iamguard/authn/canonical.py with the verifier; these tests pin it to the
outside world (AWS suites, botocore) so a shared bug cannot hide behind the round trip.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView, host_from_url
from iamguard.authn.sigv4 import verify_sigv4
from iamguard.credentials.signer import (
    StaticCredentials,
    presign_request,
    presign_url,
    sign_request,
    sign_url,
)

from ..authn.vectors import Vector, all_vectors

VECTORS = [v for v in all_vectors() if v.unsigned is not None]


def _creds(vector: Vector) -> StaticCredentials:
    return StaticCredentials(vector.access_key_id, vector.secret, vector.session_token)


def _normalize(vector: Vector) -> bool | None:
    return None if vector.normalize or c.uses_s3_uri_rules(vector.service) else False


def _unsigned(vector: Vector) -> RequestView:
    assert vector.unsigned is not None
    view = vector.unsigned
    payload = vector.canonical_request.rsplit("\n", 1)[1]
    signed_names = vector.canonical_request.split("\n")[-2].split(";")
    caller_set = "x-amz-content-sha256" in signed_names and not view.has_header("x-amz-content-sha256")
    if caller_set and not vector.presigned and not c.uses_s3_uri_rules(vector.service):
        view = view.with_headers([("x-amz-content-sha256", payload)])  # aws-c-auth sign_body
    return view


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_signer_reproduces_vector(vector: Vector) -> None:
    view = _unsigned(vector)
    if vector.presigned:
        assert vector.expires is not None
        signed = presign_request(
            view,
            _creds(vector),
            region=vector.region,
            service=vector.service,
            expires_in=vector.expires,
            now=vector.signed_at,
            normalize_path=_normalize(vector),
        )
        assert signed.query_param("X-Amz-Signature") == vector.signature
    else:
        payload = vector.canonical_request.rsplit("\n", 1)[1]
        signed = sign_request(
            view,
            _creds(vector),
            region=vector.region,
            service=vector.service,
            now=vector.signed_at,
            sign_payload=payload != c.UNSIGNED_PAYLOAD,
            normalize_path=_normalize(vector),
        )
        assert signed.header("authorization") == vector.authorization
    # And the verifier accepts what the signer produced.
    verify_sigv4(signed, lambda _a: vector.secret, now=vector.signed_at, normalize_path=_normalize(vector))


# ---------------------------------------------------------------- against real botocore


AKID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJH+with/slash+plus=="
FROZEN = dt.datetime(2026, 1, 15, 10, 30, 0)
NOW = FROZEN.replace(tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def frozen_botocore_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda *a, **k: FROZEN)


def _botocore(
    cls_name: str,
    service: str,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    token: str | None,
    **kwargs: Any,
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    getattr(botocore_auth, cls_name)(
        Credentials(AKID, SECRET, token), service, "us-east-1", **kwargs
    ).add_auth(request)
    return request


HEADER_CASES = [
    ("s3", "GET", "https://b.s3.us-east-1.amazonaws.com/" + quote("a b/ü+=&(1)~.txt", safe="/~"), {}, b""),
    (
        "s3",
        "PUT",
        "https://s3.us-east-1.amazonaws.com/b/k",
        {"Content-Type": "text/plain", "x-amz-meta-a": "  x   y "},
        b"data",
    ),
    ("s3", "GET", "http://127.0.0.1:9000/b?list-type=2&prefix=a%2Fb%20c&max-keys=5", {}, b""),
    (
        "sts",
        "POST",
        "https://sts.us-east-1.amazonaws.com/",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"Action=GetCallerIdentity&Version=2011-06-15",
    ),
    (
        "iam",
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"User-Agent": "x", "Expect": "100-continue"},
        b"",
    ),
    ("execute-api", "GET", "https://a.execute-api.us-east-1.amazonaws.com/prod//x/./y%20z/../w/", {}, b""),
]


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session-token"])
@pytest.mark.parametrize("case", HEADER_CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(HEADER_CASES)])
def test_header_signature_equals_botocore(case: tuple[Any, ...], token: str | None) -> None:
    service, method, url, headers, body = case
    cls = "S3SigV4Auth" if service == "s3" else "SigV4Auth"
    theirs = _botocore(cls, service, method, url, headers, body, token)
    ours = sign_url(
        method,
        url,
        StaticCredentials(AKID, SECRET, token),
        region="us-east-1",
        service=service,
        headers=list(headers.items()),
        body=body,
        now=NOW,
    )
    assert ours.header("authorization") == theirs.headers["Authorization"]
    for name in ("X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token"):
        assert ours.header(name) == theirs.headers.get(name)


PRESIGN_CASES = [
    (
        "s3",
        "GET",
        "https://b.s3.us-east-1.amazonaws.com/" + quote("photos/beach day #1.jpg", safe="/~"),
        {},
        900,
    ),
    ("s3", "PUT", "https://s3.us-east-1.amazonaws.com/b/k?partNumber=2&uploadId=a%2Bb", {}, 604800),
    (
        "sts",
        "GET",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        {"x-k8s-aws-id": "c1"},
        60,
    ),
]


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session-token"])
@pytest.mark.parametrize("case", PRESIGN_CASES, ids=[f"{c[0]}-{c[1]}" for c in PRESIGN_CASES])
def test_presigned_url_equals_botocore(case: tuple[Any, ...], token: str | None) -> None:
    service, method, url, headers, expires = case
    cls = "S3SigV4QueryAuth" if service == "s3" else "SigV4QueryAuth"
    theirs = _botocore(cls, service, method, url, headers, b"", token, expires=expires)
    ours = presign_url(
        method,
        url,
        StaticCredentials(AKID, SECRET, token),
        region="us-east-1",
        service=service,
        expires_in=expires,
        now=NOW,
        headers=list(headers.items()),
    )
    their_params = sorted(parse_qsl(urlsplit(theirs.url).query, keep_blank_values=True))
    our_params = sorted(parse_qsl(urlsplit(ours).query, keep_blank_values=True))
    assert our_params == their_params  # same parameters, same X-Amz-Signature
    assert urlsplit(ours).path == urlsplit(theirs.url).path


@settings(max_examples=100, deadline=None)
@given(
    key=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30),
    value=st.text(max_size=10).filter(lambda v: "\x00" not in v),
    token=st.sampled_from([None, TOKEN]),
    service=st.sampled_from(["s3", "service"]),
)
def test_any_request_signs_like_botocore(key: str, value: str, token: str | None, service: str) -> None:
    url = f"https://host.example/{quote(key.lstrip('/'), safe='/~')}?v={quote(value, safe='-_.~')}"
    cls = "S3SigV4Auth" if service == "s3" else "SigV4Auth"
    theirs = _botocore(cls, service, "GET", url, {}, b"", token)
    ours = sign_url(
        "GET", url, StaticCredentials(AKID, SECRET, token), region="us-east-1", service=service, now=NOW
    )
    assert ours.header("authorization") == theirs.headers["Authorization"]


# ---------------------------------------------------------------- signer contract


def test_presign_expiry_bounds() -> None:
    creds = StaticCredentials(AKID, SECRET)
    for bad in (0, 604801):
        with pytest.raises(ValueError):
            presign_url(
                "GET",
                "https://b.s3.amazonaws.com/k",
                creds,
                region="us-east-1",
                service="s3",
                expires_in=bad,
                now=NOW,
            )


def test_sign_request_needs_host() -> None:
    with pytest.raises(ValueError):
        sign_request(
            RequestView("GET", "/"),
            StaticCredentials(AKID, SECRET),
            region="us-east-1",
            service="s3",
            now=NOW,
        )


def test_resigning_replaces_previous_auth_headers() -> None:
    creds = StaticCredentials(AKID, SECRET, TOKEN)
    once = sign_url("GET", "https://b.s3.amazonaws.com/k", creds, region="us-east-1", service="s3", now=NOW)
    twice = sign_request(once, creds, region="us-east-1", service="s3", now=NOW + dt.timedelta(seconds=5))
    assert len(twice.header_values("authorization")) == 1 and len(twice.header_values("x-amz-date")) == 1
    verify_sigv4(twice, lambda _a: SECRET, now=NOW)


def test_credentials_repr_hides_secret_and_token() -> None:
    text = repr(StaticCredentials(AKID, SECRET, TOKEN))
    assert AKID in text and SECRET not in text and TOKEN not in text


def test_host_from_url_drops_default_port() -> None:
    assert host_from_url("https://Example.COM:443/x") == "example.com"
    assert host_from_url("http://localhost:9000/") == "localhost:9000"
    assert host_from_url("http://[::1]:80/") == "[::1]"
