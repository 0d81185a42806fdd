"""The SDK-shaped Authorization fast path gives exactly the general parser's claim or error.

Differential (hypothesis): headers built from fragments that are valid, nearly valid or odd
(reordered fields, padding, unsorted or duplicated names, upper case, bad dates, short
signatures) go through both :func:`_claim_from_header` (fast path first) and the general
:func:`_claim_from_any_header`; the two must agree on the claim, or on the error code and text.
"""

from __future__ import annotations

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
