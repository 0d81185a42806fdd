"""The request path's fast paths give exactly what the general code they short-cut gives.

Each fast path (all-digit X-Amz-Date parse, UriEncode of plain text, the RequestView header and
query indexes, the view's header map reused for canonical headers) is checked against the
reference computation it replaces, on generated input.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import unquote_to_bytes

from hypothesis import given
from hypothesis import strategies as st

from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView, split_query

_DIGITS = st.text(alphabet="0123456789", min_size=14, max_size=14)


def _strptime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _parse(text: str) -> datetime | None:
    try:
        return c.parse_amz_date(text)
    except ValueError:
        return None


@given(_DIGITS)
def test_all_digit_amz_date_matches_strptime(digits: str) -> None:
    text = f"{digits[:8]}T{digits[8:]}Z"
    assert _parse(text) == _strptime(text)


@given(
    st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)
)
def test_valid_amz_date_round_trips(year: int, month: int, day: int, hour: int, minute: int, second: int) -> None:
    moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    text = f"{year:04d}{month:02d}{day:02d}T{hour:02d}{minute:02d}{second:02d}Z"
    assert c.parse_amz_date(text) == moment


def test_amz_date_fields_are_ascii_digits_only() -> None:
    # strptime's %d accepts a space-padded day and its \\d any Unicode digit (int() reads
    # "٠" as 0); a SigV4 timestamp is ASCII digits, so those are refused where strptime is not.
    for text in ("201508 1T123600Z", "20150830T1\u06623600Z", "\u0662\u0660\u0661\u06650830T123600Z"):
        assert _strptime(text) is not None and _parse(text) is None, text
    for text in ("2015083xT123600Z", "20150830T12360+Z"):
        assert _parse(text) is None and _strptime(text) is None, text


def _uri_encode_reference(data: str, keep_slash: bool) -> str:
    raw = data.encode("utf-8", "surrogateescape")
    unreserved = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(
        chr(b) if b in unreserved or (keep_slash and b == 0x2F) else f"%{b:02X}" for b in raw
    )


@given(st.text(alphabet=st.sampled_from("az09-_.~/ %+é\u00a0\udcff")), st.booleans())
def test_uri_encode_matches_byte_loop(text: str, keep_slash: bool) -> None:
    assert c.uri_encode(text, keep_slash=keep_slash) == _uri_encode_reference(text, keep_slash)


_NAMES = st.sampled_from(["Host", "host", "X-Amz-Date", "x-amz-date", "Accept", " Padded ", "A"])
_HEADERS = st.lists(st.tuples(_NAMES, st.text(max_size=5)), max_size=8)


@given(_HEADERS)
def test_header_index_matches_linear_scan(headers: list[tuple[str, str]]) -> None:
    view = RequestView("GET", "/", "", headers)
    for name in {n for n, _ in headers} | {"missing", "HOST"}:
        wanted = name.lower()
        values = [v for n, v in headers if n.lower() == wanted]
        assert view.header_values(name) == values
        assert view.header(name) == (",".join(values) if values else None)
        assert view.has_header(name) == bool(values)


@given(_HEADERS)
def test_view_header_map_matches_header_map(headers: list[tuple[str, str]]) -> None:
    view = RequestView("GET", "/", "", headers)
    mapped = c.view_header_map(view)
    expected = c.header_map(headers)
    assert {k: list(v) for k, v in mapped.items()} == expected


@given(st.text(alphabet=st.sampled_from("ab=&%2B+X-")))
def test_query_params_match_split_and_decode(query: str) -> None:
    view = RequestView("GET", "/", query)
    decoded = [
        (unquote_to_bytes(k).decode("utf-8", "surrogateescape"), unquote_to_bytes(v).decode("utf-8", "surrogateescape"))
        for k, v in split_query(query)
    ]
    assert view.query_params() == decoded
    view.query_params().clear()  # the caller's list is its own
    assert view.query_params() == decoded
    for name in {k for k, _ in decoded} | {"absent"}:
        assert view.query_param(name) == next((v for k, v in decoded if k == name), None)


def test_views_compare_by_request_not_by_index() -> None:
    first = RequestView("GET", "/", "a=1", [("Host", "h")])
    second = RequestView("GET", "/", "a=1", (("Host", "h"),))
    first.header("host")
    first.query_params()
    assert first == second and hash(first) == hash(second)
