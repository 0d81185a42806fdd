"""The enforcement glue's fast paths equal the general code they replace."""

from __future__ import annotations

from dataclasses import fields, replace

from hypothesis import given
from hypothesis import strategies as st

from iamguard.authn.authenticators import Authenticated
from iamguard.authn.request_view import RequestView
from iamguard.enforce.asgi import view_from_scope
from iamguard.enforce.guard import _with_request
from iamguard.enforce.wsgi import _headers
from iamguard.principal import Principal


def test_with_request_is_replace() -> None:
    # _with_request spells out every field: a field added to Authenticated must be added there.
    assert [f.name for f in fields(Authenticated)] == [
        "principal", "method", "access_key_id", "verified", "claims", "body", "context", "request_id", "started",
    ]
    found = Authenticated(Principal.from_arn("arn:aws:iam::123456789012:user/a"), "sigv4", "AKIDEXAMPLE", body=b"x")
    context = {"aws:sourceip": "192.0.2.1"}
    assert _with_request(found, context, "REQ", 1.5) == replace(found, context=context, request_id="REQ", started=1.5)


def _reference(environ: dict[str, str]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), str(value)))
    return headers


_KEYS = st.sampled_from(
    [
        "HTTP_HOST", "HTTP_X_AMZ_DATE", "HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE",
        "HTTP_X-AMZ-DATE", "REQUEST_METHOD", "wsgi.input", "", "H",
    ]
)


@given(st.dictionaries(_KEYS, st.sampled_from(["", "v", "1"])))
def test_wsgi_headers_match_reference(environ: dict[str, str]) -> None:
    for _ in range(2):  # the second time from the name memo
        headers, index = _headers(environ)
        assert list(headers) == _reference(environ)
        # The index handed to the view is the one the view would build from those headers.
        assert index == dict(RequestView("GET", "/", "", headers).header_index())


@given(
    st.lists(
        st.tuples(st.sampled_from([b"host", b"x-amz-date", b"X-Dup", b"x-dup", b"accept"]), st.sampled_from([b"", b"v", b"\xe9"])),
        max_size=6,
    )
)
def test_asgi_view_index_matches_the_views_own(pairs: list[tuple[bytes, bytes]]) -> None:
    scope = {"type": "http", "method": "GET", "raw_path": b"/", "query_string": b"", "headers": pairs}
    view, _ = view_from_scope(scope, b"")
    rebuilt = RequestView("GET", "/", "", [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs])
    assert dict(view.header_index()) == dict(rebuilt.header_index())
    assert view.header("x-dup") == rebuilt.header("x-dup")
