"""Every SigV4 vector: canonical request, string to sign, signature, Authorization header.

Data: tests/data/sigv4 (AWS aws4_testsuite, aws-c-auth v4 suite, botocore-generated and
boto3-captured extras; provenance and licenses in its README.md). Spec:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView

from .vectors import Vector, all_vectors

VECTORS = all_vectors()


def _signed_names(vector: Vector) -> list[str]:
    if vector.presigned:
        return str(vector.signed.query_param("X-Amz-SignedHeaders")).split(";")
    assert vector.authorization is not None
    return vector.authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")


def _payload_line(vector: Vector) -> str:
    return vector.canonical_request.rsplit("\n", 1)[1]


def _canonical(vector: Vector) -> str:
    s3 = c.uses_s3_uri_rules(vector.service)
    return c.canonical_request_for(
        vector.signed,
        signed=_signed_names(vector),
        payload_hash=_payload_line(vector),
        s3=s3,
        normalize=vector.normalize and not s3,
        exclude_query=_excluded_query(vector),
    )


def _excluded_query(vector: Vector) -> tuple[str, ...]:
    if not vector.presigned:
        return ()
    if vector.wire_token is not None and vector.session_token is None:
        # aws-c-auth post-sts-header-after: token added to the URL after signing.
        return ("X-Amz-Signature", "X-Amz-Security-Token")
    return ("X-Amz-Signature",)


def test_vector_counts() -> None:
    # 34 aws4_testsuite cases, 38 aws-c-auth cases in two forms, 8 extra + 5 captured.
    assert len(VECTORS) == 34 + 76 + 13


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_canonical_request(vector: Vector) -> None:
    assert _canonical(vector) == vector.canonical_request


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_string_to_sign(vector: Vector) -> None:
    amz_date = c.format_amz_date(vector.signed_at)
    scope = c.credential_scope(amz_date[:8], vector.region, vector.service)
    assert c.string_to_sign(amz_date, scope, vector.canonical_request) == vector.string_to_sign


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_signature_and_authorization(vector: Vector) -> None:
    date = c.format_amz_date(vector.signed_at)[:8]
    key = c.signing_key(vector.secret, date, vector.region, vector.service)
    assert c.signature(key, vector.string_to_sign) == vector.signature
    if vector.authorization is not None:
        scope = c.credential_scope(date, vector.region, vector.service)
        built = (
            f"AWS4-HMAC-SHA256 Credential={vector.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(_signed_names(vector))}, Signature={vector.signature}"
        )
        assert built == vector.authorization


# ---------------------------------------------------------------- single steps, by rule

URI_CASES = [
    # (raw path, normalize, double_encode, expected, rule)
    ("//example//", True, True, "/example/", "generic: collapse empty segments"),
    ("/example1/example2/../..", True, True, "/", "generic: remove dot segments"),
    ("/./example", True, True, "/example", "generic: '.' dropped"),
    ("/a%20b", True, True, "/a%2520b", "generic: wire path encoded again (double encoding)"),
    ("/a%20b", False, False, "/a%20b", "S3: encoded once"),
    ("/a//b/./c", False, False, "/a//b/./c", "S3: never normalized"),
    (
        "/key%2Fwith%2Fslash",
        False,
        False,
        "/key%2Fwith%2Fslash",
        "S3: encoded slash inside a key stays encoded",
    ),
    ("/caf\u00e9 (1)", False, False, "/caf%C3%A9%20%281%29", "S3: raw UTF-8 and reserved chars encoded"),
    ("/%7euser", False, False, "/~user", "S3: '~' is unreserved"),
    ("", True, True, "/", "empty path is '/'"),
]


@pytest.mark.parametrize("raw,normalize,double,expected,rule", URI_CASES, ids=[r[4] for r in URI_CASES])
def test_canonical_uri(raw: str, normalize: bool, double: bool, expected: str, rule: str) -> None:
    assert c.canonical_uri(raw, normalize=normalize, double_encode=double) == expected


QUERY_CASES = [
    ("b=2&a=1", "a=1&b=2", "sorted by name"),
    ("a=2&a=1&a=10", "a=1&a=10&a=2", "repeated names sorted by value"),
    ("flag&a=", "a=&flag=", "missing value is empty"),
    ("a=b%20c&x=%7e", "a=b%20c&x=~", "re-encoded strictly: ~ unreserved, space %20"),
    ("plus=a+b", "plus=a%2Bb", "'+' is a literal plus"),
    ("X-Amz-Signature=abc&z=1", "z=1", "excluded name dropped"),
    ("a=1&&b=2&", "a=1&b=2", "empty pieces ignored"),
]


@pytest.mark.parametrize("query,expected,rule", QUERY_CASES, ids=[r[2] for r in QUERY_CASES])
def test_canonical_query_string(query: str, expected: str, rule: str) -> None:
    assert c.canonical_query_string(query, exclude=("X-Amz-Signature",)) == expected


def test_header_values_trimmed_collapsed_and_joined() -> None:
    view = RequestView("GET", "/", "", [("My-H", "  a   b\t c "), ("my-h", '"x   y"'), ("Host", "h")])
    block = c.canonical_headers(c.header_map(view.headers), ["host", "my-h"])
    assert block == 'host:h\nmy-h:a b c,"x y"\n'


def test_signing_key_cache_never_keys_on_plaintext_secret() -> None:
    c.clear_signing_key_cache()
    key = c.signing_key("super-secret-value", "20150830", "us-east-1", "iam")
    assert key == c.signing_key("super-secret-value", "20150830", "us-east-1", "iam")
    cached_keys = list(c._SIGNING_KEYS._entries)
    assert cached_keys and all("super-secret-value" not in repr(k) for k in cached_keys)
    assert all("super-secret-value" not in k for k in cached_keys if isinstance(k, tuple))
    assert "super-secret-value" not in repr(c._SIGNING_KEYS)


def test_signing_keys_of_equal_hash_are_told_apart() -> None:
    """The memo names a secret by ``hash(secret)``; a hit is confirmed by the secret itself."""
    c.clear_signing_key_cache()
    mine = c.signing_key_for("secret-one", "20150830", "us-east-1", "iam")
    # Plant another secret's entry under the hash of "secret-one" (as a hash collision would).
    c._SIGNING_KEYS.put((hash("secret-one"), "20150830", "us-east-1", "iam"), ("secret-two", mine))
    again = c.signing_key_for("secret-one", "20150830", "us-east-1", "iam")
    assert again.key == c._derive_signing_key("secret-one", "20150830", "us-east-1", "iam")


def test_identity_memo_never_confuses_equal_ids() -> None:
    """A different secret object (even one that reuses a freed id) gets its own key."""
    c.clear_signing_key_cache()
    first = "".join(["secret-", "one"])
    key_one = c.signing_key_for(first, "20150830", "us-east-1", "iam")
    assert c.signing_key_for(first, "20150830", "us-east-1", "iam") is key_one
    other = "".join(["secret-", "two"])
    assert c.signing_key_for(other, "20150830", "us-east-1", "iam").key == c._derive_signing_key(
        other, "20150830", "us-east-1", "iam"
    )
    equal_copy = "".join(["secret-", "one"])  # equal content, another object: same derived key
    assert c.signing_key_for(equal_copy, "20150830", "us-east-1", "iam").key == key_one.key


def test_amz_date_round_trip_and_strictness() -> None:
    assert c.format_amz_date(c.parse_amz_date("20150830T123600Z")) == "20150830T123600Z"
    for bad in ("2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z"):
        with pytest.raises(ValueError):
            c.parse_amz_date(bad)


@settings(max_examples=200, deadline=None)
@given(secret=st.text(min_size=1, max_size=60), to_sign=st.text(max_size=400))
def test_signing_key_for_signs_like_a_fresh_hmac(secret: str, to_sign: str) -> None:
    """The cached key's ready HMAC gives what a fresh HMAC under the derived key gives."""
    prepared = c.signing_key_for(secret, "20261129", "us-east-1", "s3")
    assert prepared.key == c.signing_key(secret, "20261129", "us-east-1", "s3")
    assert prepared.sign(to_sign) == c.signature(prepared.key, to_sign)
    assert prepared.sign(to_sign) == prepared.sign(to_sign)  # the prepared state is never consumed
    assert repr(prepared) == "SigningKey(<redacted>)"


@settings(max_examples=200, deadline=None)
@given(key=st.binary(max_size=130), to_sign=st.text(max_size=300))
def test_signing_key_sign_is_hmac_sha256_for_any_key(key: bytes, to_sign: str) -> None:
    """RFC 2104 edge cases included: empty keys, keys of exactly one block, longer keys."""
    import hmac as stdlib_hmac

    assert c.SigningKey(key).sign(to_sign) == stdlib_hmac.digest(key, to_sign.encode(), "sha256").hex()


# ---------------------------------------------------------------- fast path = general path
# The request path's short cuts (all-digit X-Amz-Date parse, UriEncode of plain text, the view's
# header index reused for canonical headers) give exactly what the reference computation gives.

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
    st.integers(1, 9999),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
def test_valid_amz_date_round_trips(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> None:
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
    return "".join(chr(b) if b in unreserved or (keep_slash and b == 0x2F) else f"%{b:02X}" for b in raw)


@given(st.text(alphabet=st.sampled_from("az09-_.~/ %+é\u00a0\udcff")), st.booleans())
def test_uri_encode_matches_byte_loop(text: str, keep_slash: bool) -> None:
    assert c.uri_encode(text, keep_slash=keep_slash) == _uri_encode_reference(text, keep_slash)


_NAMES = st.sampled_from(["Host", "host", "X-Amz-Date", "x-amz-date", "Accept", " Padded ", "A"])
_HEADERS = st.lists(st.tuples(_NAMES, st.text(max_size=5)), max_size=8)


@given(_HEADERS)
def test_view_header_map_matches_header_map(headers: list[tuple[str, str]]) -> None:
    view = RequestView("GET", "/", "", headers)
    mapped = c.view_header_map(view)
    expected = c.header_map(headers)
    assert {k: list(v) for k, v in mapped.items()} == expected


# ---------------------------------------------------------------- fast path = general path
# Queries and S3 paths the SDKs send already in canonical form are taken as they
# are; on any text, the result must be the spec's decode → UriEncode → sort computation.


def _query_reference(query: str, exclude: tuple[str, ...]) -> str:
    from urllib.parse import unquote_to_bytes as unquote

    pairs = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if unquote(name).decode("utf-8", "surrogateescape") in exclude:
            continue
        pairs.append((c.uri_encode(unquote(name)), c.uri_encode(unquote(value))))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


_QUERY_TEXT = st.text(alphabet=st.sampled_from("aAz0-_.~%2F4f1E7e=&+ é"), max_size=30)
_EXCLUDES = st.sampled_from([(), ("X-Amz-Signature",), ("a",), ("a b", "é")])


@settings(max_examples=1000, deadline=None)
@given(query=_QUERY_TEXT, exclude=_EXCLUDES)
def test_canonical_query_string_is_the_spec_computation(query: str, exclude: tuple[str, ...]) -> None:
    assert c.canonical_query_string(query, exclude=exclude) == _query_reference(query, exclude)


@settings(max_examples=500, deadline=None)
@given(
    names=st.lists(
        st.sampled_from(["a", "A", "a-b", "X-Amz-Signature", "b%2F", "%C3%A9", "k~"]), min_size=1, max_size=6
    )
)
def test_plain_queries_take_the_fast_path(names: list[str]) -> None:
    query = "&".join(f"{name}=v%20{i}" for i, name in enumerate(names))
    plain = c.canonical_query_if_plain(query, ("X-Amz-Signature",))
    assert plain is not None
    assert plain == _query_reference(query, ("X-Amz-Signature",))


def test_uncanonical_queries_are_left_to_the_general_path() -> None:
    for query in ("a=%2f", "a=%41", "a=%7E", "a=%zz", "a=1&&b=2", "a", "a=b=c", "a=b c", "a=é", "&a=1"):
        assert c.canonical_query_if_plain(query, ()) is None, query


def _s3_path_reference(path: str) -> str:
    from urllib.parse import unquote_to_bytes as unquote

    return "/".join(c.uri_encode(unquote(segment)) for segment in (path or "/").split("/"))


@settings(max_examples=1000, deadline=None)
@given(path=st.text(alphabet=st.sampled_from("/aZ9-_.~%2F4f1E7e+ é"), max_size=30))
def test_s3_canonical_uri_is_the_spec_computation(path: str) -> None:
    assert c.canonical_uri(path, normalize=False, double_encode=False) == _s3_path_reference(path)
