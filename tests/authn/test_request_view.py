"""RequestView: its header and query indexes answer as a linear scan of the raw request would.

The view builds a header index and decoded query parameters once per request (the fast path the
verifier and the context builder read); each answer is checked against the plain computation over
the raw headers or query string, on generated input.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn.request_view import RequestView, split_query

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


@settings(max_examples=1000)
@given(
    st.lists(
        st.sampled_from(
            ["a", "b", "=", "&", "%", "2", "6", "3", "d", "D", "B", "+", "X", "-", "%C3", "%A9", "%FF", "é"]
        )
    ).map("".join)
)
def test_query_params_match_split_and_decode(query: str) -> None:
    view = RequestView("GET", "/", query)
    decoded = [
        (
            unquote_to_bytes(k).decode("utf-8", "surrogateescape"),
            unquote_to_bytes(v).decode("utf-8", "surrogateescape"),
        )
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
