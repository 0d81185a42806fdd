"""verify_sigv4 against every vector (frozen clock), their mutations, and AWS's error codes.

Rules and codes are cited per row; the code table is in iamguard/authn/sigv4.py's docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.authn import canonical as c
from iamguard.authn import sigv4
from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import VerifiedRequest, auth_form, verify_sigv4
from iamguard.credentials.signer import (
    StaticCredentials,
    presign_request,
    presign_url,
    sign_request,
    sign_url,
)
from iamguard.errors import (
    AuthenticationError,
    ExpiredCredentialsError,
    IAMGuardError,
    InvalidAccessKeyError,
    RequestTimeSkewedError,
    SignatureMismatchError,
)

from .vectors import AKID, SECRET, Vector, all_vectors, raw_sreq

VECTORS = all_vectors()
NOW = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
CREDS = StaticCredentials(AKID, SECRET)
SKEW = timedelta(minutes=15)


def _lookup(vector: Vector):  # type: ignore[no-untyped-def]
    return lambda akid: vector.secret if akid == vector.access_key_id else None


def _normalize(vector: Vector) -> bool | None:
    return None if vector.normalize or c.uses_s3_uri_rules(vector.service) else False


def _verify(
    vector: Vector, view: RequestView | None = None, *, now: datetime | None = None
) -> VerifiedRequest:
    return verify_sigv4(
        view or vector.signed,
        _lookup(vector),
        now=now or vector.signed_at,
        normalize_path=_normalize(vector),
    )


def _s3(vector: Vector) -> bool:
    return c.uses_s3_uri_rules(vector.service)


# ---------------------------------------------------------------- every vector verifies


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_vector_verifies(vector: Vector) -> None:
    result = _verify(vector)
    assert result.access_key_id == vector.access_key_id
    assert (result.region, result.service) == (vector.region, vector.service)
    assert result.signed_at == vector.signed_at
    assert result.presigned is vector.presigned
    assert result.signature == vector.signature
    assert result.session_token == vector.wire_token  # passed through for the STS layer
    assert result.payload_hash == vector.canonical_request.rsplit("\n", 1)[1]
    assert result.seed_signing_key == c.signing_key(
        vector.secret, vector.signed_at.strftime("%Y%m%d"), vector.region, vector.service
    )


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_vector_verifies_at_edges_of_its_window(vector: Vector) -> None:
    if vector.presigned:
        _verify(vector, now=vector.valid_until)  # last second before X-Amz-Expires
    else:
        _verify(vector, now=vector.signed_at + SKEW)  # exactly 15 min either way is accepted
        _verify(vector, now=vector.signed_at - SKEW)


# ---------------------------------------------------------------- mutations


def _flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _with_signature(vector: Vector, mutate) -> RequestView:  # type: ignore[no-untyped-def]
    view = vector.signed
    if vector.presigned:
        sig = str(view.query_param("X-Amz-Signature"))
        return view.with_query(view.query_string.replace(sig, mutate(sig)))
    auth = str(view.header("authorization"))
    head, _, sig = auth.rpartition("Signature=")
    return replace(
        view,
        headers=tuple(
            (n, f"{head}Signature={mutate(sig)}" if n.lower() == "authorization" else v)
            for n, v in view.headers
        ),
    )


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_one_byte_of_signature_changed_is_rejected(vector: Vector) -> None:
    with pytest.raises(SignatureMismatchError) as info:
        _verify(vector, _with_signature(vector, _flip_hex))
    assert info.value.code == "SignatureDoesNotMatch" and info.value.http_status == 403


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_signed_host_header_changed_is_rejected(vector: Vector) -> None:
    view = vector.signed
    changed = replace(
        view, headers=tuple((n, v + "x" if n.lower() == "host" else v) for n, v in view.headers)
    )
    with pytest.raises(SignatureMismatchError):
        _verify(vector, changed)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_path_changed_is_rejected(vector: Vector) -> None:
    changed = replace(vector.signed, raw_path=vector.signed.raw_path.rstrip("/") + "/extra")
    with pytest.raises(SignatureMismatchError):
        _verify(vector, changed)


@pytest.mark.parametrize("vector", [v for v in VECTORS if not v.presigned], ids=lambda v: v.id)
@pytest.mark.parametrize("direction", [1, -1], ids=["late", "early"])
def test_timestamp_outside_15_minutes_is_rejected(vector: Vector, direction: int) -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (15 min skew)
    now = vector.signed_at + direction * (SKEW + timedelta(seconds=1))
    with pytest.raises(RequestTimeSkewedError) as info:
        _verify(vector, now=now)
    # S3 answers RequestTimeTooSkewed; STS/IAM answer SignatureDoesNotMatch "Signature expired".
    assert info.value.code == ("RequestTimeTooSkewed" if _s3(vector) else "SignatureDoesNotMatch")
    assert info.value.http_status == 403


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.presigned], ids=lambda v: v.id)
def test_expired_presigned_url_is_rejected(vector: Vector) -> None:
    # S3: <Code>AccessDenied</Code><Message>Request has expired</Message>
    assert vector.expires is not None
    with pytest.raises(ExpiredCredentialsError) as info:
        _verify(vector, now=vector.signed_at + timedelta(seconds=vector.expires))
    assert info.value.code == "AccessDenied" and str(info.value) == "Request has expired"


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.presigned], ids=lambda v: v.id)
def test_presigned_url_dated_beyond_skew_in_future_is_rejected(vector: Vector) -> None:
    with pytest.raises(RequestTimeSkewedError):
        _verify(vector, now=vector.signed_at - SKEW - timedelta(seconds=1))


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_unknown_access_key_is_rejected_with_service_code(vector: Vector) -> None:
    with pytest.raises(InvalidAccessKeyError) as info:
        verify_sigv4(
            vector.signed, lambda _akid: None, now=vector.signed_at, normalize_path=_normalize(vector)
        )
    # S3: InvalidAccessKeyId; other services: InvalidClientTokenId (both 403).
    assert info.value.code == ("InvalidAccessKeyId" if _s3(vector) else "InvalidClientTokenId")


def test_upstream_sreq_with_inconsistent_signature_is_rejected() -> None:
    # aws4_testsuite/get-vanilla-with-session-token.sreq disagrees with its own .authz; the
    # verifier must refuse the .sreq signature and accept the .authz one (test above).
    view = raw_sreq("get-vanilla-with-session-token")
    with pytest.raises(SignatureMismatchError):
        verify_sigv4(view, _lookup_suite, now=NOW)


def test_wrong_secret_is_signature_mismatch() -> None:
    vector = VECTORS[0]
    with pytest.raises(SignatureMismatchError):
        verify_sigv4(vector.signed, lambda _a: "another-secret", now=vector.signed_at)


# ---------------------------------------------------------------- forms and refusals

URL = "https://examplebucket.s3.us-east-1.amazonaws.com/photos/a%20b.jpg"
STS_URL = "https://sts.us-east-1.amazonaws.com/"
FORM = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")


def _lookup_suite(akid: str) -> str | None:
    return SECRET if akid == AKID else None


def _code(view: RequestView, *, hint: str | None = None, now: datetime = NOW) -> str:
    with pytest.raises(AuthenticationError) as info:
        verify_sigv4(view, _lookup_suite, now=now, service_hint=hint)
    return info.value.code


REFUSALS = [
    # (request, service hint, expected code, rule)
    (
        RequestView("GET", "/b/k", "", [("Host", "h"), ("Authorization", "AWS AKIDEXAMPLE:c2lnbmF0dXJl")]),
        "s3",
        "InvalidRequest",
        "SigV2 header refused: 'Please use AWS4-HMAC-SHA256' (S3 error InvalidRequest)",
    ),
    (
        RequestView(
            "GET", "/b/k", "AWSAccessKeyId=AKIDEXAMPLE&Expires=1441000000&Signature=abc%3D", [("Host", "h")]
        ),
        "s3",
        "InvalidRequest",
        "SigV2 presigned query refused",
    ),
    (
        RequestView(
            "GET",
            "/",
            "Action=GetCallerIdentity&SignatureVersion=2&AWSAccessKeyId=AKIDEXAMPLE&Signature=x",
            [("Host", "h")],
        ),
        None,
        "InvalidRequest",
        "SigV2 Query-API signature refused",
    ),
    (
        RequestView("GET", "/b/k", "", [("Host", "h")]),
        "s3",
        "AccessDenied",
        "S3 request without authentication: AccessDenied",
    ),
    (
        RequestView("POST", "/", "", [("Host", "h")], b""),
        "sts",
        "MissingAuthenticationToken",
        "non-S3 request without authentication: MissingAuthenticationToken",
    ),
    (
        RequestView(
            "GET",
            "/",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 x")],
        ),
        "s3",
        "InvalidArgument",
        "only one auth mechanism allowed (S3 InvalidArgument)",
    ),
    (
        RequestView(
            "GET", "/", "", [("Host", "h"), ("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=a")]
        ),
        "s3",
        "InvalidRequest",
        "SigV4a is not supported here",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150830T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date",
                ),
            ],
        ),
        None,
        "AuthorizationHeaderMalformed",
        "Authorization without Signature is malformed (S3 code)",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150830T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam, SignedHeaders=host;x-amz-date, Signature="
                    + "0" * 64,
                ),
            ],
        ),
        None,
        "IncompleteSignature",
        "truncated credential scope (non-S3 IncompleteSignature)",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150830T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=x-amz-date, Signature="
                    + "0" * 64,
                ),
            ],
        ),
        None,
        "IncompleteSignature",
        "host must be signed",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150830T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature="
                    + "0" * 64,
                ),
            ],
        ),
        None,
        "IncompleteSignature",
        "x-amz-date present but not signed",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150831T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature="
                    + "0" * 64,
                ),
            ],
        ),
        None,
        "IncompleteSignature",
        "credential date must equal the X-Amz-Date day",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150830T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=x-amz-date;host, Signature="
                    + "0" * 64,
                ),
            ],
        ),
        None,
        "IncompleteSignature",
        "SignedHeaders must be sorted",
    ),
    (
        RequestView(
            "GET",
            "/",
            "",
            [
                ("Host", "h"),
                ("X-Amz-Date", "20150830T123600Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=XYZ",
                ),
            ],
        ),
        None,
        "IncompleteSignature",
        "signature must be 64 hex chars",
    ),
]


@pytest.mark.parametrize("view,hint,code,rule", REFUSALS, ids=[r[3] for r in REFUSALS])
def test_refusals(view: RequestView, hint: str | None, code: str, rule: str) -> None:
    assert _code(view, hint=hint) == code


def test_auth_form_detection() -> None:
    assert auth_form(RequestView("GET", "/", "a=1", [("Host", "h")])) is None
    signed = sign_url("GET", URL, CREDS, region="us-east-1", service="s3", now=NOW)
    assert auth_form(signed) == "header"
    presigned = presign_url("GET", URL, CREDS, region="us-east-1", service="s3", now=NOW)
    assert auth_form(RequestView.from_url("GET", presigned, [("Host", "h")])) == "query"


def _presigned_view(expires: int) -> RequestView:
    url = presign_url(
        "GET", URL, CREDS, region="us-east-1", service="s3", now=NOW, expires_in=min(expires, 604800)
    )
    url = url.replace(f"X-Amz-Expires={min(expires, 604800)}", f"X-Amz-Expires={expires}")
    return RequestView.from_url("GET", url, [("Host", "examplebucket.s3.us-east-1.amazonaws.com")])


def test_presigned_seven_days_accepted_and_longer_refused() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html: max 604800 s.
    verify_sigv4(_presigned_view(604800), _lookup_suite, now=NOW + timedelta(days=6, hours=23))
    assert _code(_presigned_view(604801)) == "AuthorizationQueryParametersError"
    with pytest.raises(ExpiredCredentialsError):
        verify_sigv4(_presigned_view(604800), _lookup_suite, now=NOW + timedelta(days=7))


def test_presigned_expires_must_be_a_number() -> None:
    view = _presigned_view(60)
    view = view.with_query(view.query_string.replace("X-Amz-Expires=60", "X-Amz-Expires=-5"))
    assert _code(view) == "AuthorizationQueryParametersError"


def test_service_hint_must_match_scope() -> None:
    signed = sign_url("GET", URL, CREDS, region="us-east-1", service="s3", now=NOW)
    verify_sigv4(signed, _lookup_suite, now=NOW, service_hint="s3")
    assert _code(signed, hint="sqs") == "IncompleteSignature"


# ---------------------------------------------------------------- payload hash


def test_signed_payload_must_match_body() -> None:
    signed = sign_url("PUT", URL, CREDS, region="us-east-1", service="s3", body=b"hello", now=NOW)
    verify_sigv4(signed, _lookup_suite, now=NOW)
    # S3: XAmzContentSHA256Mismatch (400) when the body differs from the declared hash.
    assert _code(replace(signed, body=b"hellO")) == "XAmzContentSHA256Mismatch"
    verify_sigv4(replace(signed, body=None), _lookup_suite, now=NOW)  # streamed: checked later


def test_unsigned_payload_accepts_any_body() -> None:
    signed = sign_url(
        "PUT", URL, CREDS, region="us-east-1", service="s3", body=b"x", now=NOW, sign_payload=False
    )
    result = verify_sigv4(replace(signed, body=b"anything else"), _lookup_suite, now=NOW)
    assert result.payload_hash == "UNSIGNED-PAYLOAD"


@pytest.mark.parametrize(
    "value",
    [
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    ],
)
def test_streaming_payloads_accepted_at_header_stage(value: str) -> None:
    signed = sign_url(
        "PUT",
        URL,
        CREDS,
        region="us-east-1",
        service="s3",
        headers=[("x-amz-content-sha256", value)],
        body=b"1\r\n",
        now=NOW,
    )
    assert verify_sigv4(signed, _lookup_suite, now=NOW).payload_hash == value


def test_invalid_payload_hash_value_refused() -> None:
    signed = sign_url(
        "PUT",
        URL,
        CREDS,
        region="us-east-1",
        service="s3",
        headers=[("x-amz-content-sha256", "nope")],
        now=NOW,
    )
    assert _code(signed) == "InvalidArgument"


def test_s3_header_auth_requires_content_sha256() -> None:
    signed = sign_url("GET", URL, CREDS, region="us-east-1", service="s3", now=NOW)
    stripped = replace(
        signed, headers=tuple((n, v) for n, v in signed.headers if n.lower() != "x-amz-content-sha256")
    )
    assert _code(stripped) == "InvalidRequest"


def test_non_s3_body_is_hashed_and_checked() -> None:
    signed = sign_url(
        "POST",
        STS_URL,
        CREDS,
        region="us-east-1",
        service="sts",
        headers=[FORM],
        body=b"Action=GetCallerIdentity&Version=2011-06-15",
        now=NOW,
    )
    verify_sigv4(signed, _lookup_suite, now=NOW)
    with pytest.raises(SignatureMismatchError):
        verify_sigv4(
            replace(signed, body=b"Action=GetCallerIdentity&Version=2011-06-16"), _lookup_suite, now=NOW
        )
    with pytest.raises(SignatureMismatchError):  # cannot check without the body: fail closed
        verify_sigv4(replace(signed, body=None), _lookup_suite, now=NOW)


# ---------------------------------------------------------------- headers and tokens


def test_s3_refuses_unsigned_amz_headers() -> None:
    signed = sign_url("GET", URL, CREDS, region="us-east-1", service="s3", now=NOW)
    extra = signed.with_headers([("x-amz-meta-evil", "1")])
    with pytest.raises(AuthenticationError) as info:
        verify_sigv4(extra, _lookup_suite, now=NOW)
    assert info.value.code == "AccessDenied" and "not signed" in str(info.value)


def test_unsigned_ordinary_headers_are_ignored() -> None:
    signed = sign_url("GET", URL, CREDS, region="us-east-1", service="s3", now=NOW)
    verify_sigv4(signed.with_headers([("User-Agent", "curl/8")]), _lookup_suite, now=NOW)


def test_session_token_passthrough_header_and_query() -> None:
    creds = StaticCredentials(AKID, SECRET, "token/with+special=")
    signed = sign_url("GET", URL, creds, region="us-east-1", service="s3", now=NOW)
    assert verify_sigv4(signed, _lookup_suite, now=NOW).session_token == "token/with+special="
    url = presign_url("GET", URL, creds, region="us-east-1", service="s3", now=NOW)
    view = RequestView.from_url("GET", url, [("Host", "examplebucket.s3.us-east-1.amazonaws.com")])
    assert verify_sigv4(view, _lookup_suite, now=NOW).session_token == "token/with+special="
    # S3 signs the token in a presigned URL: changing it breaks the signature.
    tampered = view.with_query(view.query_string.replace("token", "tokeN"))
    with pytest.raises(SignatureMismatchError):
        verify_sigv4(tampered, _lookup_suite, now=NOW)


def test_date_header_instead_of_x_amz_date() -> None:
    # "x-amz-date or date": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
    view = RequestView(
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        [("Host", "iam.amazonaws.com"), ("Date", "Sun, 30 Aug 2015 12:36:00 GMT")],
        b"",
    )
    signed = ["date", "host"]
    canonical = c.canonical_request_for(view, signed=signed, payload_hash=c.EMPTY_SHA256, s3=False)
    scope = c.credential_scope("20150830", "us-east-1", "iam")
    sig = c.signature(
        c.signing_key(SECRET, "20150830", "us-east-1", "iam"),
        c.string_to_sign("20150830T123600Z", scope, canonical),
    )
    auth = f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders=date;host, Signature={sig}"
    result = verify_sigv4(view.with_headers([("Authorization", auth)]), _lookup_suite, now=NOW)
    assert result.signed_at == NOW


def test_verified_request_repr_hides_secrets() -> None:
    creds = StaticCredentials(AKID, SECRET, "the-session-token")
    result = verify_sigv4(
        sign_url("GET", URL, creds, region="us-east-1", service="s3", now=NOW), _lookup_suite, now=NOW
    )
    text = repr(result)
    assert (
        SECRET not in text and "the-session-token" not in text and repr(result.seed_signing_key) not in text
    )
    assert SECRET not in repr(creds)


def test_naive_clock_refused() -> None:
    with pytest.raises(ValueError):
        verify_sigv4(VECTORS[0].signed, _lookup_suite, now=datetime(2015, 8, 30, 12, 36))


# ---------------------------------------------------------------- property: one byte changed

# Bases where every part we mutate is covered by the signature (tokens appended after
# signing, aws4 post-sts-header-after, are deliberately outside it).
BASES = [v for v in VECTORS if not (v.wire_token and not v.session_token)]
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _path_is_plain(vector: Vector) -> bool:
    # Dot segments and '//' legitimately collapse under normalization (equivalent requests).
    path = vector.signed.raw_path
    return _s3(vector) or c.normalize_path(path) == path


def _candidates(vector: Vector) -> list[tuple[str, int | str]]:
    """(component, which) pairs whose bytes the signature covers."""
    out: list[tuple[str, int | str]] = [("method", 0)]
    if _path_is_plain(vector):
        out.append(("path", 0))
    if any(ch.isalnum() for ch in vector.signed.query_string):
        out.append(("query", 0))
    signed_names = set(
        str(vector.signed.query_param("X-Amz-SignedHeaders")).split(";")
        if vector.presigned
        else str(vector.authorization).split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    )
    for index, (name, value) in enumerate(vector.signed.headers):
        if name.strip().lower() in signed_names and any(ch.isalnum() for ch in value):
            out.append(("header", index))
    payload = vector.canonical_request.rsplit("\n", 1)[1]
    if len(payload) == 64 and vector.signed.body:
        out.append(("body", 0))
    return out


def _mutate(text: str, position: int, replacement: str) -> str | None:
    spots = [i for i, ch in enumerate(text) if ch.isalnum()]
    if not spots:
        return None
    i = spots[position % len(spots)]
    if text[i].lower() == replacement.lower():  # a case flip in %xx or a method is equivalent
        replacement = "Q" if text[i].lower() != "q" else "Z"
    return text[:i] + replacement + text[i + 1 :]


def _apply(vector: Vector, component: str, which: int | str, position: int, replacement: str) -> RequestView:
    view = vector.signed
    if component == "method":
        return replace(view, method=str(_mutate(view.method, position, replacement)))
    if component == "path":
        return replace(view, raw_path=str(_mutate(view.raw_path, position, replacement)))
    if component == "query":
        return replace(view, query_string=str(_mutate(view.query_string, position, replacement)))
    if component == "body":
        body = bytearray(view.body or b"")
        body[position % len(body)] ^= 0x01
        return replace(view, body=bytes(body))
    assert isinstance(which, int)
    headers = list(view.headers)
    name, value = headers[which]
    headers[which] = (name, str(_mutate(value, position, replacement)))
    return replace(view, headers=tuple(headers))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_byte_change_is_rejected(data: st.DataObject) -> None:
    vector = data.draw(st.sampled_from(BASES), label="vector")
    component, which = data.draw(st.sampled_from(_candidates(vector)), label="component")
    position = data.draw(st.integers(min_value=0, max_value=10_000), label="position")
    replacement = data.draw(st.sampled_from(ALNUM), label="replacement")
    mutated = _apply(vector, component, which, position, replacement)
    assert mutated != vector.signed
    with pytest.raises(AuthenticationError):
        _verify(vector, mutated)


# ---------------------------------------------------------------- fast path = general path
# Differential (hypothesis): the SDK-shaped Authorization parser and the plain-header lane of
# verify_claim must give exactly the general path's claim, result or error (code and text). Headers
# are built from fragments that are valid, nearly valid or odd (reordered fields, padding, unsorted
# or duplicated names, upper case, bad dates, short signatures); signed requests are mutated.

SIG = "a" * 64
_akid = st.sampled_from(["AKIDEXAMPLE", "ASIA0000", "AK=ID", "AK ID", "", "AKID,X"])
_date = st.sampled_from(["20261129", "2026112", "2026112x", "２０２６１１２９"])
_region = st.sampled_from(["us-east-1", "", "eu-west-1", "r;x"])
_service = st.sampled_from(["s3", "execute-api", "sts", ""])
_signed = st.sampled_from(
    [
        "host;x-amz-date",
        "host",
        "x-amz-date;host",
        "host;host",
        "Host;x-amz-date",
        "host;;x-amz-date",
        "content-type;host;x-amz-date",
        "x-amz-date",
    ]
)
_signature = st.sampled_from([SIG, SIG[:-1], SIG.upper(), SIG + "0"])
_sep = st.sampled_from([", ", ",", " , ", ",  "])


@st.composite
def _authorization_headers(draw: st.DrawFn) -> str:
    credential = f"Credential={draw(_akid)}/{draw(_date)}/{draw(_region)}/{draw(_service)}/aws4_request"
    fields = [credential, f"SignedHeaders={draw(_signed)}", f"Signature={draw(_signature)}"]
    if draw(st.booleans()):
        fields = draw(st.permutations(fields))
    head = draw(st.sampled_from(["AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256  ", " AWS4-HMAC-SHA256 "]))
    return head + draw(_sep).join(fields) + draw(st.sampled_from(["", " "]))


def _outcome(run: Callable[[], object]) -> object:
    try:
        return run()
    except IAMGuardError as error:
        return (type(error).__name__, error.code, str(error))


@settings(max_examples=400, deadline=None)
@given(
    header=_authorization_headers(),
    hint=st.sampled_from([None, "s3", "sts"]),
    date_header=st.sampled_from(["20261129T120000Z", None]),
)
def test_fast_path_agrees_with_the_general_parser(
    header: str, hint: str | None, date_header: str | None
) -> None:
    headers = [("host", "example.com"), ("authorization", header)]
    if date_header is not None:
        headers.append(("x-amz-date", date_header))
    view = RequestView("GET", "/", "", headers)
    values = view.header_index()["authorization"]
    dialect = sigv4.SigV4Dialect(False, False, True, True).for_service(hint)
    fast = _outcome(lambda: sigv4._claim_from_header(view, dialect))
    general = _outcome(lambda: sigv4._claim_from_any_header(values, view, dialect))
    assert fast == general


def test_the_sdk_form_takes_the_fast_path() -> None:
    header = f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={SIG}"
    assert sigv4._SDK_AUTHORIZATION.fullmatch(header) is not None
    view = RequestView(
        "GET", "/", "", [("host", "h"), ("authorization", header), ("x-amz-date", "20261129T120000Z")]
    )
    claim = sigv4._claim_from_header(view, sigv4.SigV4Dialect(False, False, True, True))
    assert claim == sigv4.SigV4Claim(
        "AKIDEXAMPLE", "20261129", "us-east-1", "s3", ("host", "x-amz-date"), SIG, "20261129T120000Z", None
    )


# The lane of verify_claim answers as the general path (the lane switched off), for header and
# presigned requests, with and without a query string.


_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
_SIGNED_AT = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
_paths = st.sampled_from(
    ["", "/", "/hello", "/a//b", "/a/./b/../c", "/%20x", "/key%2Fwith", "/~user/x.y_z-1", "/a b", "/%7e%41"]
)
_queries = st.sampled_from(
    ["", "a=1", "b=2&a=1&a=0", "x", "k=a%2Fb", "k=a%2fb", "k=%41", "a=1&&b", "=v", "a=b=c", "p=%E2%82%AC"]
)
_extra = st.lists(
    st.sampled_from(
        [
            ("X-Amz-Meta-Colour", "blue"),
            ("Content-Type", "text/plain"),
            ("X-Spaced", "  a   b  "),
            ("X-Spaced", "two"),
            ("X-Tab", "a\tb"),
            ("X-Empty", ""),
        ]
    ),
    max_size=3,
)
_MUTATIONS = [
    "none",
    "signature",
    "signed value",
    "unsigned x-amz header",
    "body",
    "token header",
    "padded name",
    "padded unsigned x-amz header",
    "padded second host",
    "signed empty header dropped",
    "empty token",
    "token query",
    "query added",
    "query reordered",
    "content sha query",
]
_mutations = st.sampled_from(_MUTATIONS)


def _signed_view(
    method: str,
    path: str,
    query: str,
    service: str,
    extra: list[tuple[str, str]],
    body: bytes | None,
    sign_payload: bool,
    form: str,
) -> RequestView:
    view = RequestView(
        method, path, query, [("Host", "example.amazonaws.com"), *extra], b"" if body is None else body
    )
    credentials = StaticCredentials("AKIDEXAMPLE", _SECRET)
    if form == "presigned":
        signed = presign_request(
            view, credentials, region="us-east-1", service=service, now=_SIGNED_AT, expires_in=900
        )
    else:
        signed = sign_request(
            view, credentials, region="us-east-1", service=service, now=_SIGNED_AT, sign_payload=sign_payload
        )
    return (
        signed
        if body is not None
        else RequestView(signed.method, signed.raw_path, signed.query_string, signed.headers, None)
    )


def _lane_mutate(view: RequestView, mutation: str) -> RequestView:
    headers = list(view.headers)
    query = view.query_string
    if mutation == "signature":
        if "X-Amz-Signature=" in query:
            query = query[:-1] + ("0" if query[-1] != "0" else "1")
        headers = [
            (n, v[:-1] + ("0" if v[-1] != "0" else "1")) if n == "Authorization" else (n, v)
            for n, v in headers
        ]
    elif mutation == "signed value":
        headers = [(n, v + "x") if n == "Host" else (n, v) for n, v in headers]
    elif mutation == "unsigned x-amz header":
        headers.append(("X-Amz-Meta-Later", "1"))
    elif mutation == "token header":
        headers.append(("X-Amz-Security-Token", "tok"))
    elif mutation == "empty token":
        headers.append(("X-Amz-Security-Token", ""))
    elif mutation == "padded name":
        headers = [(" " + n if n == "Host" else n, v) for n, v in headers]
    elif mutation == "padded unsigned x-amz header":
        headers.append((" X-Amz-Meta-Later", "1"))  # S3 refuses it once the name is stripped
    elif mutation == "padded second host":
        headers.append(("Host ", "other.example.com"))  # joins the signed host once stripped
    elif mutation == "signed empty header dropped":
        headers = [(n, v) for n, v in headers if n != "X-Empty"]  # signed as "x-empty:", now absent
    elif mutation == "token query":
        query = f"{query}&X-Amz-Security-Token=tok" if query else "X-Amz-Security-Token=tok"
    elif mutation == "query added":
        query = f"{query}&zz=1" if query else "zz=1"
    elif mutation == "query reordered":
        query = "&".join(reversed(query.split("&")))
    elif mutation == "content sha query":
        query = (
            f"{query}&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD"
            if query
            else "X-Amz-Content-Sha256=UNSIGNED-PAYLOAD"
        )
    elif mutation == "body" and view.body:
        return RequestView(view.method, view.raw_path, query, headers, view.body + b"!")
    return RequestView(view.method, view.raw_path, query, headers, view.body)


def _verify_outcome(view: RequestView, now: datetime, hint: str | None, secret: str | None) -> object:
    def run() -> object:
        claim = sigv4.parse_sigv4(view, service_hint=hint)
        assert claim is not None
        return sigv4.verify_claim(view, claim, lambda _akid: secret, now=now, service_hint=hint)

    return _outcome(run)


@settings(max_examples=700, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "POST"]),
    path=_paths,
    query=_queries,
    service=st.sampled_from(["s3", "execute-api", "sts"]),
    extra=_extra,
    body=st.sampled_from([b"", b"data", None]),
    sign_payload=st.booleans(),
    form=st.sampled_from(["header", "presigned"]),
    mutation=_mutations,
    skew=st.sampled_from([0, 899, -899, 901, -901, 3600]),
    hint=st.sampled_from([None, "same", "other"]),
    secret=st.sampled_from([_SECRET, None, "other-secret"]),
)
def test_the_lane_answers_as_the_general_path(
    method: str,
    path: str,
    query: str,
    service: str,
    extra: list[tuple[str, str]],
    body: bytes | None,
    sign_payload: bool,
    form: str,
    mutation: str,
    skew: int,
    hint: str | None,
    secret: str | None,
) -> None:
    view = _lane_mutate(_signed_view(method, path, query, service, extra, body, sign_payload, form), mutation)
    now = _SIGNED_AT + timedelta(seconds=skew)
    service_hint = {"same": service, "other": "sqs", None: None}[hint]
    with_lane = _verify_outcome(view, now, service_hint, secret)
    with mock.patch.object(sigv4, "_verify_lane", return_value=None):
        general = _verify_outcome(view, now, service_hint, secret)
    assert with_lane == general


@pytest.mark.parametrize("mutation", _MUTATIONS)
@pytest.mark.parametrize("form", ["header", "presigned"])
@pytest.mark.parametrize("service", ["s3", "sts"])
def test_every_mutation_of_a_current_request_is_judged_as_the_general_path(
    mutation: str, form: str, service: str
) -> None:
    """Each mutation on a request that is otherwise valid (right secret, current, no hint):
    the cases where only the lane's own checks stand between a request and acceptance."""
    extra = [("X-Amz-Meta-Colour", "blue"), ("X-Empty", ""), ("X-Spaced", "  a   b  ")]
    view = _lane_mutate(_signed_view("PUT", "/k%20ey", "a=1", service, extra, b"data", True, form), mutation)
    now = _SIGNED_AT + timedelta(seconds=1)
    with_lane = _verify_outcome(view, now, None, _SECRET)
    with mock.patch.object(sigv4, "_verify_lane", return_value=None):
        general = _verify_outcome(view, now, None, _SECRET)
    assert with_lane == general


@pytest.mark.parametrize("form", ["header", "presigned"])
@pytest.mark.parametrize("service", ["s3", "execute-api"])
@pytest.mark.parametrize("query", ["", "versionId=3HL4kqtJlcpXroDTDmJ&b=%2F%20"])
def test_a_plain_signed_request_takes_the_lane(service: str, form: str, query: str) -> None:
    view = _signed_view("GET", "/hello/q3%20summary.pdf", query, service, [], b"", True, form)
    claim = sigv4.parse_sigv4(view)
    assert claim is not None
    dialect = sigv4.SigV4Dialect(False, form == "presigned", True, True).for_service(service)
    lane = sigv4._verify_lane(
        view, claim, None, lambda _akid: _SECRET, _SIGNED_AT.timestamp() + 1, 900.0, None, dialect
    )
    assert lane is not None
    assert lane == sigv4.verify_sigv4(view, lambda _akid: _SECRET, now=_SIGNED_AT + timedelta(seconds=1))
    # A float clock reading and an aware datetime name the same moment.
    assert sigv4.verify_claim(view, claim, lambda _akid: _SECRET, now=_SIGNED_AT.timestamp() + 1) == lane
    assert c.amz_date_seconds("20261129T120000Z") == (_SIGNED_AT, int(_SIGNED_AT.timestamp()))


def test_one_dialect_per_request_replaces_the_flags() -> None:
    """The four dialects are shared values; the path rule override makes a fifth only on demand."""
    header = sigv4.SigV4Dialect(False, False, True, True)
    assert header.for_service("s3") is header.for_service("s3-outposts")
    assert header.for_service("s3") == sigv4.SigV4Dialect(True, False, False, False)
    assert header.for_service("sts").for_service(None) is header.for_service("iam")
    assert header.with_path_rule(None) is header and header.with_path_rule(True) is header
    assert header.with_path_rule(False) == sigv4.SigV4Dialect(False, False, False, True)
    assert header.double_encode and not header.for_service("s3").double_encode
    assert header.malformed("m").code == "IncompleteSignature"
    assert header.for_service("s3").malformed("m").code == "AuthorizationHeaderMalformed"
    presigned = sigv4.SigV4Dialect(False, True, True, True)
    assert presigned.for_service("s3").malformed("m").code == "AuthorizationQueryParametersError"


def test_the_verifier_remembers_only_in_bounded_memos() -> None:
    """Signing keys, Authorization prefixes, presigned scopes and canonical layouts live in
    :class:`iamguard._memo.Memo`s (bounded, listed by ``memo_sizes``), not module dicts."""
    from iamguard._memo import memo_sizes

    for form in ("header", "presigned"):
        view = _signed_view("GET", "/k", "a=1", "s3", [], b"", True, form)
        assert verify_sigv4(view, lambda _akid: _SECRET, now=_SIGNED_AT) is not None
    sizes = memo_sizes()
    for name in (
        "sigv4 signing keys",
        "sigv4 authorization prefixes",
        "sigv4 presigned scopes",
        "sigv4 canonical request layouts",
    ):
        entries, bound = sizes[name]
        assert 1 <= entries <= bound, name
    for module, constants in ((sigv4, {"_DIALECTS"}), (c, set())):
        tables = {
            name
            for name, value in vars(module).items()
            if isinstance(value, dict) and not name.startswith("__")
        }
        assert tables == constants, module.__name__
