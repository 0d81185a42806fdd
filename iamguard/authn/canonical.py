"""SigV4 canonicalization: each step of the AWS signing spec as one named function.

Shared by the verifier (:mod:`iamguard.authn.sigv4`) and the client signer
(:mod:`iamguard.credentials.signer`) so the two cannot drift apart.

Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
(generic services) and https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
(S3: the path is neither normalized nor double-encoded).

Steps, in order::

    canonical_uri · canonical_query_string · canonical_headers · signed_headers · payload hash
      → canonical_request → string_to_sign(credential_scope) → signing_key → signature
"""

from __future__ import annotations

import hashlib
import hmac
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import quote_from_bytes, unquote_to_bytes

from iamguard._memo import Memo
from iamguard.authn.request_view import RequestView, split_query
from iamguard.errors import InvalidParameterError

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "S3_SERVICES",
    "STREAMING_SIGNED_PAYLOAD",
    "STREAMING_SIGNED_PAYLOAD_TRAILER",
    "STREAMING_UNSIGNED_PAYLOAD_TRAILER",
    "UNSIGNED_PAYLOAD",
    "SigningKey",
    "amz_date_seconds",
    "canonical_header_value",
    "canonical_headers",
    "canonical_query_if_plain",
    "canonical_query_string",
    "canonical_request",
    "canonical_request_for",
    "canonical_uri",
    "clear_signing_key_cache",
    "credential_scope",
    "format_amz_date",
    "hash_payload",
    "header_map",
    "normalize_path",
    "parse_amz_date",
    "query_is_canonical",
    "signature",
    "signed_headers",
    "signing_key",
    "signing_key_for",
    "string_to_sign",
    "uri_encode",
    "uses_s3_uri_rules",
    "view_header_map",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

#: Signing names whose canonical URI follows the S3 rule (no normalization, encode once).
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3-outposts"})

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
#: Text that UriEncode leaves unchanged (with and without ``/``): the common case, no byte loop.
_PLAIN = re.compile(r"[A-Za-z0-9\-_.~]*")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")
#: Text that UriEncode(decode(text)) leaves unchanged is made of unreserved characters and
#: ``%XY`` escapes (upper-case hex) of bytes UriEncode encodes. These two patterns find it in
#: one scan each: the allowed characters, then any escape that is *not* canonical (lower-case
#: or short hex, or an escaped unreserved character such as ``%41`` for ``A``).
_ESCAPED_PATH = re.compile(r"[A-Za-z0-9\-_.~%/]*")


def _compile_possessive(pattern: str) -> re.Pattern[str]:
    """``pattern`` with possessive repeats (Python 3.11+), else with plain greedy ones.

    Only for patterns whose repeated classes exclude what follows them, so no match ever
    backtracks into a repeat and both spellings match the same text; the possessive one skips
    saving backtracking state (a sixth fewer instructions on a presigned query, callgrind).
    """
    try:
        return re.compile(pattern)
    except re.error:  # Python 3.10: no possessive quantifiers
        return re.compile(pattern.replace("*+", "*"))


_QUERY_TEXT = r"[A-Za-z0-9\-_.~%]*+"
_ESCAPED_QUERY = _compile_possessive(f"{_QUERY_TEXT}={_QUERY_TEXT}(?:&{_QUERY_TEXT}={_QUERY_TEXT})*+")
#: One ``%`` escape that is not canonical: short or lower-case hex, or an unreserved character
#: escaped: one branch after the literal ``%``.
_UNCANONICAL_ESCAPE = re.compile(r"%(?:(?![0-9A-F]{2})|[46][1-9A-F]|[57][0-9A]|3[0-9]|2[DE]|5F|7E)")


def uses_s3_uri_rules(service: str) -> bool:
    """True when ``service`` signs its path the S3 way (see module docstring)."""
    return service in S3_SERVICES


def uri_encode(data: str | bytes, *, keep_slash: bool = False) -> str:
    """AWS ``UriEncode``: every byte except unreserved ``A-Za-z0-9-_.~`` becomes ``%XY`` (upper hex).

    Stricter than :func:`urllib.parse.quote` defaults on purpose: space is ``%20`` (never ``+``)
    and ``/`` is encoded unless ``keep_slash`` (object key names keep their slashes).
    """
    if isinstance(data, str):
        if (_PLAIN_PATH if keep_slash else _PLAIN).fullmatch(data):
            return data
        raw = data.encode("utf-8", "surrogateescape")
    else:
        raw = data
    # quote_from_bytes keeps exactly RFC 3986's unreserved set (A-Za-z0-9-_.~) plus ``safe``
    # and writes upper-case hex: AWS UriEncode, with the per-byte work done by the stdlib's
    # cached quoter instead of a Python loop (presigned URLs encode every query value).
    return quote_from_bytes(raw, safe="/" if keep_slash else "")


def normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal plus collapsing of empty segments (``//``).

    Generic (non-S3) services sign the normalized path: ``//example//`` → ``/example/``,
    ``/a/b/../..`` → ``/`` (aws4_testsuite ``normalize-path/*``).
    """
    stack: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            if stack:
                stack.pop()
            continue
        stack.append(segment)
    result = "/" + "/".join(stack)
    # Only a literal trailing slash survives (``/a/b/..`` → ``/a``), as botocore and the AWS
    # suites compute it; RFC 3986 alone would keep ``/a/``.
    if stack and path.endswith("/"):
        result += "/"
    return result


def canonical_uri(raw_path: str, *, normalize: bool = True, double_encode: bool = True) -> str:
    """The canonical URI of a wire path.

    * Generic services (``normalize=True, double_encode=True``): normalize, then URI-encode the
      wire path again, so ``%20`` on the wire becomes ``%2520`` (AWS: "each path segment must be
      URI-encoded twice"), as botocore's ``SigV4Auth`` does.
    * S3 (``normalize=False, double_encode=False``): the key is decoded from the wire and each
      segment encoded exactly once; ``//`` and ``.`` segments survive.
      https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    """
    path = raw_path or "/"
    if _PLAIN_PATH.fullmatch(path) and (
        not normalize or (path[0] == "/" and "//" not in path and "/." not in path)
    ):
        # Nothing to encode or decode, and (when normalizing) no empty, "." or ".." segment
        # and a leading slash: every rule below returns the path unchanged.
        return path
    if (
        not normalize
        and not double_encode
        and _ESCAPED_PATH.fullmatch(path)
        and not _UNCANONICAL_ESCAPE.search(path)
    ):
        # S3: every segment already is UriEncode of its decoded bytes (the SDKs send keys so).
        return path
    if normalize:
        path = normalize_path(path)
    if double_encode:
        return uri_encode(path, keep_slash=True)
    # Decode per segment so an encoded slash (%2F) inside a key stays %2F.
    return "/".join(uri_encode(unquote_to_bytes(segment)) for segment in path.split("/"))


def canonical_query_string(query_string: str, *, exclude: Iterable[str] = ()) -> str:
    """Decode every ``name=value`` pair, re-encode with :func:`uri_encode`, sort by name then value.

    ``exclude`` names (decoded, exact) are dropped: ``X-Amz-Signature`` for presigned URLs.
    A pair without ``=`` has an empty value. ``+`` is a literal plus (``%2B``), not a space: the
    SDKs always send a space as ``%20``.
    """
    skipped = frozenset(exclude)
    plain = canonical_query_if_plain(query_string, tuple(uri_encode(name) for name in skipped))
    if plain is not None:
        return plain
    pairs: list[tuple[str, str]] = []
    for raw_name, raw_value in split_query(query_string):
        name = unquote_to_bytes(raw_name)
        if name.decode("utf-8", "surrogateescape") in skipped:
            continue
        pairs.append((uri_encode(name), uri_encode(unquote_to_bytes(raw_value))))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_query_if_plain(query_string: str, exclude: tuple[str, ...]) -> str | None:
    """:func:`canonical_query_string` of a query whose every pair is already in canonical form
    (what the SDKs send), ``None`` for any other query.

    Then decoding and re-encoding give back each ``name=value`` as it is: only sorting and
    dropping the ``exclude`` names (encoded: ``("X-Amz-Signature",)``) remain. Each pair's
    ``=`` becomes NUL while sorting, so plain string order is (name, value) order (NUL sorts
    before every character a name may hold, as the end of a shorter name does), all in C. A
    property test holds the result equal to the general computation.
    """
    if not query_is_canonical(query_string):
        return None
    pieces = query_string.replace("=", "\0").split("&")
    pieces.sort()
    for name in exclude:  # sorted, so each name's pairs are one run
        start = bisect_left(pieces, f"{name}\0")
        del pieces[start : bisect_left(pieces, f"{name}\1", start)]
    return "&".join(pieces).replace("\0", "=")


def query_is_canonical(query_string: str) -> bool:
    """Whether every ``name=value`` pair of ``query_string`` is already UriEncode of its decoded
    self (each pair has exactly one ``=``, no empty pair, upper-case escapes of reserved bytes only).

    Then a name made of unreserved characters (``X-Amz-Signature``) can only be spelled as
    itself, so it can be looked for in the raw text, without decoding the query.
    """
    return _ESCAPED_QUERY.fullmatch(query_string) is not None and (
        "%" not in query_string or _UNCANONICAL_ESCAPE.search(query_string) is None
    )


def canonical_header_value(values: Sequence[str]) -> str:
    """Trim each value, collapse inner whitespace runs to one space, join repeats with ``,``."""
    return ",".join(" ".join(value.split()) for value in values)


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Lower-cased header name → its values in wire order."""
    result: dict[str, list[str]] = {}
    for name, value in headers:
        result.setdefault(name.strip().lower(), []).append(value)
    return result


def canonical_headers(headers: Mapping[str, Sequence[str]], names: Sequence[str]) -> str:
    """``name:value\\n`` for each of ``names`` (lower-case, sorted); a missing header is empty."""
    lines = []
    for name in names:
        values = headers.get(name, ())
        if len(values) == 1:
            lines.append(f"{name}:{' '.join(values[0].split())}\n")
        else:
            lines.append(f"{name}:{canonical_header_value(values)}\n")
    return "".join(lines)


def signed_headers(names: Iterable[str]) -> str:
    """The ``SignedHeaders`` value: lower-case names, sorted, unique, ``;``-joined."""
    return ";".join(sorted({name.strip().lower() for name in names}))


def hash_payload(body: bytes) -> str:
    """Hex SHA-256 of the body, the last line of the canonical request."""
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers_block: str,
    signed: str,
    payload_hash: str,
) -> str:
    """Join the six parts; ``headers_block`` already ends each line with ``\\n``.

    The method is taken as received (HTTP methods are case-sensitive); signers upper-case it.
    """
    return f"{method}\n{uri}\n{query}\n{headers_block}\n{signed}\n{payload_hash}"


def canonical_request_for(
    view: RequestView,
    *,
    signed: Sequence[str],
    payload_hash: str,
    s3: bool,
    normalize: bool | None = None,
    exclude_query: Iterable[str] = (),
    headers: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The canonical request of ``view`` signing header names ``signed`` (lower-case, sorted).

    ``s3`` picks the S3 URI rule; ``normalize`` overrides path normalization alone (``None``:
    normalize unless S3), for services that sign an unnormalized but double-encoded path.
    ``headers`` is :func:`view_header_map` of ``view`` when the caller already has it.
    """
    do_normalize = (not s3) if normalize is None else normalize
    uri = canonical_uri(view.raw_path, normalize=do_normalize, double_encode=not s3)
    query = canonical_query_string(view.query_string, exclude=exclude_query) if view.query_string else ""
    block = canonical_headers(view_header_map(view) if headers is None else headers, signed)
    return canonical_request(view.method, uri, query, block, ";".join(signed), payload_hash)


def view_header_map(view: RequestView) -> Mapping[str, Sequence[str]]:
    """:func:`header_map` of ``view``'s headers, reusing the view's own index when it agrees.

    The view indexes by ``name.lower()``; the canonical form also strips the name, so a view
    with a padded header name (never sent by a real client) is mapped afresh.
    """
    index = view.header_index()
    for name in index:
        if name != name.strip():
            return header_map(view.headers)
    return index


def format_amz_date(moment: datetime) -> str:
    """``20150830T123600Z`` for an aware datetime."""
    if moment.tzinfo is None:
        raise InvalidParameterError("SigV4 timestamps need a timezone-aware datetime")
    return moment.astimezone(timezone.utc).strftime(_AMZ_DATE_FORMAT)


def parse_amz_date(text: str) -> datetime:
    """Parse ``YYYYMMDDTHHMMSSZ`` strictly (ValueError otherwise) into an aware UTC datetime."""
    if len(text) != 16 or not text.endswith("Z") or text[8] != "T":
        raise InvalidParameterError(f"not an ISO 8601 basic timestamp: {text!r}")
    digits = text[:8] + text[9:15]
    if not (digits.isascii() and digits.isdigit()):
        # ASCII digits only: strptime (and int()) would also read "٢٠١٥" or a space-padded day.
        raise InvalidParameterError(f"not an ISO 8601 basic timestamp: {text!r}")
    # datetime() rejects what strptime's ranges reject (month 13, second 60, 30 February, year 0).
    return datetime(
        int(text[0:4]),
        int(text[4:6]),
        int(text[6:8]),
        int(text[9:11]),
        int(text[11:13]),
        int(text[13:15]),
        tzinfo=timezone.utc,
    )


@lru_cache(maxsize=256)
def amz_date_seconds(text: str) -> tuple[datetime, int]:
    """:func:`parse_amz_date` and the same moment in Unix seconds, as the verifier compares them.

    Memoized (bounded; datetimes are immutable, failures are not cached): every request signed
    within the same second carries the same text. Callers still compare it with their clock.
    """
    moment = parse_amz_date(text)
    return moment, int(moment.timestamp())


def credential_scope(date: str, region: str, service: str) -> str:
    """``20150830/us-east-1/iam/aws4_request``."""
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """Algorithm, timestamp, scope and the hex SHA-256 of the canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode("utf-8"), "sha256")


#: Byte maps XOR-ing every byte with RFC 2104's inner and outer pads.
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_SHA256_BLOCK = 64


class SigningKey:
    """The signing key of one (secret, day, region, service), ready to sign.

    ``sign`` is HMAC-SHA256 (RFC 2104) with the key's padded inner and outer blocks hashed once
    here and copied per signature, the construction CPython's own ``hmac`` module uses; each
    signature then costs two hash copies, one update each and a digest, all in C. (Keying a new
    ``hmac`` object, or copying a prepared one through ``hmac.HMAC``'s Python methods, costs
    about twice as much on the request path.) A property test checks ``sign`` against
    :func:`hmac.digest`.
    """

    __slots__ = ("_inner", "_outer", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        block = (hashlib.sha256(key).digest() if len(key) > _SHA256_BLOCK else key).ljust(
            _SHA256_BLOCK, b"\0"
        )
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def sign(self, to_sign: str) -> str:
        """Hex HMAC-SHA256 of ``to_sign`` under the key: :func:`signature` (key, to_sign)."""
        inner = self._inner.copy()
        inner.update(to_sign.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __repr__(self) -> str:
        return "SigningKey(<redacted>)"


#: Signing keys by (hash of the secret, day, region, service): deriving one costs four HMACs,
#: and every request of a key on a day needs the same one. INVARIANT: no plaintext secret is
#: ever part of a key: the secret is named by ``hash(secret)`` (a per-process keyed SipHash,
#: cached on the string object, so a hit hashes nothing); the entry holds the secret itself
#: beside the key and a hit is confirmed by comparing it, so two secrets of equal hash never
#: share a signing key. Bounded, oldest entries evicted first.
_SIGNING_KEYS: Memo[tuple[int, str, str, str], tuple[str, SigningKey]] = Memo("sigv4 signing keys", 1024)


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(f"AWS4{secret}".encode(), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")``, cached."""
    return signing_key_for(secret, date, region, service).key


def signing_key_for(secret: str, date: str, region: str, service: str) -> SigningKey:
    """:func:`signing_key` with its ready HMAC (cached per secret, day, region and service)."""
    memo_key = (hash(secret), date, region, service)
    entry = _SIGNING_KEYS.get(memo_key)
    if entry is not None and entry[0] == secret:
        return entry[1]
    derived = SigningKey(_derive_signing_key(secret, date, region, service))
    _SIGNING_KEYS.put(memo_key, (secret, derived))
    return derived


def clear_signing_key_cache() -> None:
    """Forget every cached signing key (e.g. after a key rotation)."""
    _SIGNING_KEYS.clear()


def signature(key: bytes, to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the signing key."""
    return hmac.digest(key, to_sign.encode("utf-8"), "sha256").hex()
