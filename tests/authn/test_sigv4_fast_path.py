"""The SDK-shaped Authorization fast path gives exactly the general parser's claim or error.

Differential (hypothesis): headers built from fragments that are valid, nearly valid or odd
(reordered fields, padding, unsorted or duplicated names, upper case, bad dates, short
signatures) go through both :func:`_claim_from_header` (fast path first) and the general
:func:`_claim_from_any_header`; the two must agree on the claim, or on the error code and text.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn import sigv4
from iamguard.authn.request_view import RequestView
from iamguard.errors import IAMGuardError

SIG = "a" * 64
_akid = st.sampled_from(["AKIDEXAMPLE", "ASIA0000", "AK=ID", "AK ID", "", "AKID,X"])
_date = st.sampled_from(["20261129", "2026112", "2026112x", "２０２６１１２９"])
_region = st.sampled_from(["us-east-1", "", "eu-west-1", "r;x"])
_service = st.sampled_from(["s3", "execute-api", "sts", ""])
_signed = st.sampled_from(
    ["host;x-amz-date", "host", "x-amz-date;host", "host;host", "Host;x-amz-date", "host;;x-amz-date", "content-type;host;x-amz-date", "x-amz-date"]
)
_signature = st.sampled_from([SIG, SIG[:-1], SIG.upper(), SIG + "0"])
_sep = st.sampled_from([", ", ",", " , ", ",  "])


@st.composite
def _headers(draw: st.DrawFn) -> str:
    credential = f"Credential={draw(_akid)}/{draw(_date)}/{draw(_region)}/{draw(_service)}/aws4_request"
    fields = [credential, f"SignedHeaders={draw(_signed)}", f"Signature={draw(_signature)}"]
    if draw(st.booleans()):
        fields = draw(st.permutations(fields))
    head = draw(st.sampled_from(["AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256  ", " AWS4-HMAC-SHA256 "]))
    return head + draw(_sep).join(fields) + draw(st.sampled_from(["", " "]))


def _outcome(parse: object, view: RequestView) -> object:
    try:
        return parse()  # type: ignore[operator]
    except IAMGuardError as error:
        return (type(error).__name__, error.code, str(error))


@settings(max_examples=400, deadline=None)
@given(header=_headers(), s3_hint=st.booleans(), date_header=st.sampled_from(["20261129T120000Z", None]))
def test_fast_path_agrees_with_the_general_parser(header: str, s3_hint: bool, date_header: str | None) -> None:
    headers = [("host", "example.com"), ("authorization", header)]
    if date_header is not None:
        headers.append(("x-amz-date", date_header))
    view = RequestView("GET", "/", "", headers)
    values = view.header_index()["authorization"]
    fast = _outcome(lambda: sigv4._claim_from_header(view, s3_hint), view)
    general = _outcome(lambda: sigv4._claim_from_any_header(values, view, s3_hint), view)
    assert fast == general


def test_the_sdk_form_takes_the_fast_path() -> None:
    header = f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={SIG}"
    assert sigv4._SDK_AUTHORIZATION.fullmatch(header) is not None
    view = RequestView("GET", "/", "", [("host", "h"), ("authorization", header), ("x-amz-date", "20261129T120000Z")])
    claim = sigv4._claim_from_header(view, False)
    assert claim == sigv4.SigV4Claim(
        "AKIDEXAMPLE", "20261129", "us-east-1", "s3", ("host", "x-amz-date"), SIG, "20261129T120000Z", None
    )


# ---------------------------------------------------------------- the plain-header lane of verify_claim

from datetime import datetime, timedelta, timezone  # noqa: E402
from unittest import mock  # noqa: E402

from iamguard.authn import canonical as c  # noqa: E402
from iamguard.credentials.signer import StaticCredentials, sign_request  # noqa: E402

_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
_SIGNED_AT = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
_paths = st.sampled_from(["", "/", "/hello", "/a//b", "/a/./b/../c", "/%20x", "/key%2Fwith", "/~user/x.y_z-1", "/a b"])
_extra = st.lists(
    st.sampled_from(
        [("X-Amz-Meta-Colour", "blue"), ("Content-Type", "text/plain"), ("X-Spaced", "  a   b  "), ("X-Spaced", "two")]
    ),
    max_size=3,
)
_mutations = st.sampled_from(
    ["none", "signature", "signed value", "unsigned x-amz header", "body", "token header", "padded name", "empty token"]
)


def _signed_view(method: str, path: str, service: str, extra: list[tuple[str, str]], body: bytes | None, sign_payload: bool) -> RequestView:
    view = RequestView(method, path, "", [("Host", "example.amazonaws.com"), *extra], b"" if body is None else body)
    signed = sign_request(
        view, StaticCredentials("AKIDEXAMPLE", _SECRET), region="us-east-1", service=service, now=_SIGNED_AT, sign_payload=sign_payload
    )
    return signed if body is not None else RequestView(signed.method, signed.raw_path, "", signed.headers, None)


def _mutate(view: RequestView, mutation: str) -> RequestView:
    headers = list(view.headers)
    if mutation == "signature":
        headers = [(n, v[:-1] + ("0" if v[-1] != "0" else "1")) if n == "Authorization" else (n, v) for n, v in headers]
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
    elif mutation == "body" and view.body:
        return RequestView(view.method, view.raw_path, "", headers, view.body + b"!")
    return RequestView(view.method, view.raw_path, view.query_string, headers, view.body)


def _verify_outcome(view: RequestView, now: datetime, hint: str | None, secret: str | None) -> object:
    def run() -> object:
        claim = sigv4.parse_sigv4(view, service_hint=hint)
        assert claim is not None
        return sigv4.verify_claim(view, claim, lambda _akid: secret, now=now, service_hint=hint)

    return _outcome(run, view)


@settings(max_examples=500, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "POST"]),
    path=_paths,
    service=st.sampled_from(["s3", "execute-api", "sts"]),
    extra=_extra,
    body=st.sampled_from([b"", b"data", None]),
    sign_payload=st.booleans(),
    mutation=_mutations,
    skew=st.sampled_from([0, 899, -899, 901, -901, 3600]),
    hint=st.sampled_from([None, "same", "other"]),
    secret=st.sampled_from([_SECRET, None, "other-secret"]),
)
def test_the_plain_header_lane_answers_as_the_general_path(
    method: str,
    path: str,
    service: str,
    extra: list[tuple[str, str]],
    body: bytes | None,
    sign_payload: bool,
    mutation: str,
    skew: int,
    hint: str | None,
    secret: str | None,
) -> None:
    view = _mutate(_signed_view(method, path, service, extra, body, sign_payload), mutation)
    now = _SIGNED_AT + timedelta(seconds=skew)
    service_hint = {"same": service, "other": "sqs", None: None}[hint]
    with_lane = _verify_outcome(view, now, service_hint, secret)
    with mock.patch.object(sigv4, "_verify_plain_header", return_value=None):
        general = _verify_outcome(view, now, service_hint, secret)
    assert with_lane == general


@pytest.mark.parametrize("service", ["s3", "execute-api"])
def test_a_plain_signed_request_takes_the_lane(service: str) -> None:
    view = _signed_view("GET", "/hello", service, [], b"", True)
    claim = sigv4.parse_sigv4(view)
    assert claim is not None
    lane = sigv4._verify_plain_header(view, claim, lambda _akid: _SECRET, _SIGNED_AT.timestamp(), 900.0, None)
    assert lane is not None
    assert lane == sigv4.verify_sigv4(view, lambda _akid: _SECRET, now=_SIGNED_AT)
    # A float clock reading and an aware datetime name the same moment.
    assert sigv4.verify_claim(view, claim, lambda _akid: _SECRET, now=_SIGNED_AT.timestamp()) == lane
    assert c.amz_date_seconds("20261129T120000Z") == (_SIGNED_AT, int(_SIGNED_AT.timestamp()))
