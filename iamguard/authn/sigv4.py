"""Stage 1 of the request path: who signed it? AWS Signature Version 4 verification, sans-I/O.

Accepts both forms AWS accepts:

* the ``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` header
  (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html);
* the presigned query form ``X-Amz-Algorithm … X-Amz-Signature``
  (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).

The secret is found through a callback so any store (or the STS layer, for ``ASIA…`` keys) plugs
in. The session token is *returned*, never judged here: tying it to the access key is the STS
layer's job. Streaming payloads are accepted at the header stage; the body itself is decoded and
chunk-verified by :mod:`iamguard.authn.chunked` using :attr:`VerifiedRequest.seed_signing_key`.

Error codes follow what AWS answers (S3 vs the other services where they differ):

=============================  ==========================================  =====================
situation                      S3                                          other services
=============================  ==========================================  =====================
no authentication at all       ``AccessDenied`` 403                        ``MissingAuthenticationToken`` 403
SigV2 / unknown algorithm      ``InvalidRequest`` 400 ("…Please use AWS4-HMAC-SHA256.")
malformed header / query auth  ``AuthorizationHeaderMalformed`` /          ``IncompleteSignature`` 400
                               ``AuthorizationQueryParametersError`` 400
unknown access key             ``InvalidAccessKeyId`` 403                  ``InvalidClientTokenId`` 403
wrong signature                ``SignatureDoesNotMatch`` 403
clock skew > 15 min            ``RequestTimeTooSkewed`` 403                ``SignatureDoesNotMatch`` 403 ("Signature expired: …")
presigned URL expired          ``AccessDenied`` 403 "Request has expired"  ``AccessDenied`` 403 "Request has expired"
body ≠ x-amz-content-sha256    ``XAmzContentSHA256Mismatch`` 400
=============================  ==========================================  =====================

Sources: S3 error codes https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html ;
common errors https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html ; the skew
message is the one STS/IAM return ("Signature expired: X is now earlier than Y (Z - 15 min.)").
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Literal, NamedTuple

from iamguard._frozen import slot_builder
from iamguard._memo import Memo
from iamguard._wire import parse_decimal
from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView, decode_component
from iamguard.errors import (
    AuthenticationError,
    ExpiredCredentialsError,
    InvalidAccessKeyError,
    InvalidParameterError,
    RequestTimeSkewedError,
    SignatureMismatchError,
)

__all__ = [
    "MAX_PRESIGNED_EXPIRES",
    "STREAMING_PAYLOADS",
    "QueryReading",
    "SigV4Claim",
    "SigV4Dialect",
    "VerifiedRequest",
    "WrongRegionError",
    "auth_form",
    "parse_sigv4",
    "parse_sigv4_read",
    "payload_is_signed",
    "verify_claim",
    "verify_sigv4",
]

#: How far a request's time may be from the server's: 15 minutes (see :func:`_skew_error`).
_MAX_SKEW = timedelta(minutes=15)
_MAX_SKEW_SECONDS = _MAX_SKEW.total_seconds()
#: Longest X-Amz-Expires AWS accepts: 7 days.
#: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
MAX_PRESIGNED_EXPIRES = 604800

STREAMING_PAYLOADS = frozenset(
    {c.STREAMING_SIGNED_PAYLOAD, c.STREAMING_SIGNED_PAYLOAD_TRAILER, c.STREAMING_UNSIGNED_PAYLOAD_TRAILER}
)
_SIGV2_MESSAGE = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_CREDENTIAL_DATE = re.compile(r"[0-9]{8}", re.ASCII)
#: One part of a credential scope (key id, region, service): printable ASCII, bounded. Anything
#: else (a percent-decoded 0xFF, a space, a thousand characters) is malformed, refused before
#: it reaches a store lookup or an HMAC key derivation.
_SCOPE_PART = re.compile(r"[!-.0-~]{1,128}", re.ASCII)
#: X-Amz-Expires: at most 604800, so more than 7 digits (after leading zeros) is out of range.
_MAX_EXPIRES_DIGITS = 32
#: SignedHeaders that are plainly well-formed (lower-case RFC 9110 tokens joined by ';'); other
#: text takes the general per-name check, which gives the same verdict.
_PLAIN_SIGNED = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+(?:;[!#$%&'*+\-.^_`|~0-9a-z]+)*")
_HEADER_FIELDS = frozenset({"Credential", "SignedHeaders", "Signature"})
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9a-z]+"
#: The Authorization header exactly as the SDKs write it (fields in their order, plain values):
#: parsed by one match. Anything else takes the general parser, which gives the same claim or
#: names what is wrong.
_SDK_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,=\s]{1,128})/([0-9]{8})/([^/,=\s]{1,128})/([^/,=\s]{1,128})/aws4_request,"
    r" ?SignedHeaders=(" + _TOKEN + r"(?:;" + _TOKEN + r")*), ?Signature=([0-9a-f]{64})"
)
_MAX_SDK_HEADER = 4096
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)

#: The query form's parameters from a name -> value mapping, in :data:`_PRESIGN_PARAMS` order.
_GET_PRESIGN_PARAMS = itemgetter(*_PRESIGN_PARAMS)
#: A query whose names may start so may be SigV2's query form (``Signature``, ``SignatureVersion``).
_SIGV2_PREFIXES = ("Signature", "AWSAccessKeyId")
_flatten = chain.from_iterable

_NO_PARAMS: frozenset[str] = frozenset()
_PRESIGN_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
#: Query parameters that together mark SigV2's presigned form.
_SIGV2_QUERY = frozenset({"AWSAccessKeyId", "Signature"})
#: Headers S3 lets a request carry unsigned: bound by the scope and the payload line instead.
_UNSIGNED_EXEMPT = frozenset({"x-amz-security-token", "x-amz-content-sha256"})

SecretLookup = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class SigV4Dialect:
    """The rules one request is read and answered by, chosen once per request.

    ``s3``: the credential scope names an S3 signing name (before the scope is read: the
    endpoint is S3): S3's error codes, the path signed as sent (neither normalized nor encoded
    twice), ``x-amz-content-sha256`` required, unsigned ``x-amz-*`` headers refused.
    ``presigned``: the query form (``X-Amz-*`` parameters) rather than the Authorization header.
    ``normalize``: whether the canonical URI removes dot segments and empty segments (``not
    s3`` unless a caller overrides it for a service that signs raw paths); ``double_encode``:
    whether it encodes the wire path again (``not s3``).

    One value replaces the ``s3``/``presigned`` flags the verifier's helpers each took.
    """

    s3: bool
    presigned: bool
    normalize: bool
    #: Whether the canonical URI encodes the wire path again (every service but S3).
    double_encode: bool

    def malformed(self, message: str) -> AuthenticationError:
        """A malformed Authorization header or query (400), in this dialect's words."""
        if not self.s3:
            return AuthenticationError(message, code="IncompleteSignature", http_status=400)
        code = "AuthorizationQueryParametersError" if self.presigned else "AuthorizationHeaderMalformed"
        return AuthenticationError(message, code=code, http_status=400)

    def for_service(self, service: str | None) -> SigV4Dialect:
        """The same form under ``service``'s rules (``None``: an unnamed service, not S3)."""
        return _DIALECTS[service in c.S3_SERVICES, self.presigned]

    def with_path_rule(self, normalize: bool | None) -> SigV4Dialect:
        """This dialect with the path normalization ``normalize`` (``None``: as it is)."""
        return (
            self if normalize is None or normalize == self.normalize else replace(self, normalize=normalize)
        )


#: The four dialects, by (s3, presigned): chosen per request without building one.
_DIALECTS = {
    (s3, presigned): SigV4Dialect(s3, presigned, not s3, not s3)
    for s3 in (False, True)
    for presigned in (False, True)
}
_HEADER_FORM = _DIALECTS[False, False]
_QUERY_FORM = _DIALECTS[False, True]


class WrongRegionError(AuthenticationError):
    """A credential scope naming a region this endpoint does not serve.

    S3 answers 400 ``AuthorizationHeaderMalformed`` (``AuthorizationQueryParametersError`` for a
    presigned URL) naming the region it expected, with a ``<Region>`` element; every other
    service answers 403 ``SignatureDoesNotMatch`` "Credential should be scoped to a valid
    region, not 'X'. ". Responses as captured from AWS in
    https://github.com/minio/minio-go/issues/677 (S3) and
    https://github.com/aws/aws-sdk-java/issues/1097 (SES; STS answers the same,
    https://github.com/cognitect-labs/aws-api/issues/27).
    """

    def __init__(self, region: str, expected: AbstractSet[str], dialect: SigV4Dialect) -> None:
        self.region = region
        self.expected = min(expected)
        #: Extra elements of S3's error document.
        self.details: tuple[tuple[str, str], ...] = ()
        if not dialect.s3:
            super().__init__(
                f"Credential should be scoped to a valid region, not '{region}'. ",
                code="SignatureDoesNotMatch",
                http_status=403,
            )
            return
        wrong = f"the region '{region}' is wrong; expecting '{self.expected}'"
        if dialect.presigned:
            message, code = (
                f"Error parsing the X-Amz-Credential parameter; {wrong}",
                "AuthorizationQueryParametersError",
            )
        else:
            message, code = f"The authorization header is malformed; {wrong}", "AuthorizationHeaderMalformed"
        super().__init__(message, code=code, http_status=400)
        self.details = (("Region", self.expected),)


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """What a valid SigV4 signature proves. Never holds the secret access key."""

    access_key_id: str
    region: str
    service: str
    signed_at: datetime
    session_token: str | None = field(repr=False)
    signed_headers: tuple[str, ...]
    payload_hash: str
    presigned: bool
    signature: str
    #: Signing key of the request's scope: the HMAC key for aws-chunked chunk signatures.
    seed_signing_key: bytes = field(repr=False)

    @property
    def amz_date(self) -> str:
        return c.format_amz_date(self.signed_at)

    @property
    def credential_scope(self) -> str:
        return c.credential_scope(self.amz_date[:8], self.region, self.service)


#: ``VerifiedRequest(...)`` positionally, without the frozen dataclass's per-field setattr.
_new_verified = slot_builder(VerifiedRequest)


class SigV4Claim(NamedTuple):
    """The authentication parameters as the request states them, well-formed but not yet checked.

    :func:`parse_sigv4` returns it so an authenticator can look up the secret of
    ``access_key_id`` before :func:`verify_claim` checks scope, time, payload and signature.
    A NamedTuple rather than a frozen dataclass: built once per request on the hot path, and
    a tuple is several times cheaper to construct.
    """

    access_key_id: str
    date: str
    region: str
    service: str
    signed: tuple[str, ...]
    signature: str
    amz_date: str
    expires: int | None  # presigned only


#: ``SigV4Claim`` from a tuple of its fields, without the generated keyword ``__new__`` (and
#: without ``_make``'s Python frame: the NamedTuple's own ``tuple.__new__``, bound in C).
_new_claim: Callable[[tuple[object, ...]], SigV4Claim] = partial(tuple.__new__, SigV4Claim)


class _Layout(NamedTuple):
    """What the lane needs of a set of signed headers, prepared once."""

    #: The SignedHeaders line.
    signed_text: str
    #: The x-amz-* header names an S3 request may carry: the signed ones and the two that S3
    #: lets go unsigned.
    allowed: frozenset[str]
    #: The canonical headers block with a ``%s`` for each value (``%`` in a name doubled).
    template: str
    #: header index -> each signed header's values, in order (KeyError when one is missing).
    values_of: Callable[[Mapping[str, tuple[str, ...]]], tuple[tuple[str, ...], ...]]


#: SDK-shaped Authorization headers read so far: the text before the signature -> (access
#: key id, date, region, service, signed headers, the request's dialect), each checked as
#: :func:`_sdk_claim` checks them. A pure function of its key, so never stale.
_SDK_PREFIXES: Memo[str, tuple[str, str, str, str, tuple[str, ...], SigV4Dialect]] = Memo(
    "sigv4 authorization prefixes", 1024
)
#: Presigned ``(X-Amz-Credential, X-Amz-SignedHeaders)`` values read so far -> (access key
#: id, date, region, service, signed headers). Only well-formed ones; a pure function of its key.
_PRESIGNED_SCOPES: Memo[tuple[str, str], tuple[str, str, str, str, tuple[str, ...]]] = Memo(
    "sigv4 presigned scopes", 1024
)
#: Presigned ``(X-Amz-Credential, X-Amz-SignedHeaders)`` as they stand, still percent-encoded,
#: in a query in canonical form -> the same fields as :data:`_PRESIGNED_SCOPES` (kept apart: an
#: encoded text may also be some other request's decoded one).
_RAW_PRESIGNED_SCOPES: Memo[tuple[str, str], tuple[str, str, str, str, tuple[str, ...]]] = Memo(
    "sigv4 presigned scopes as sent", 1024
)
#: Signed header names -> the canonical request's :class:`_Layout` (a pure function of them).
_LAYOUTS: Memo[tuple[str, ...], _Layout] = Memo("sigv4 canonical request layouts", 1024)


def auth_form(view: RequestView) -> Literal["header", "query"] | None:
    """Which SigV4 form ``view`` uses, or ``None`` when it carries no authentication.

    Raises for SigV2 and for a request carrying both forms (AWS refuses that too).
    """
    header = view.header("authorization")
    params = view.query_first_values().keys() if view.query_string else _NO_PARAMS
    _refuse_sigv2(header, params)
    if header is not None and "X-Amz-Algorithm" in params:
        raise AuthenticationError(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            code="InvalidArgument",
            http_status=400,
        )
    if header is not None:
        return "header"
    if "X-Amz-Algorithm" in params or "X-Amz-Credential" in params or "X-Amz-Signature" in params:
        return "query"
    return None


def payload_is_signed(view: RequestView, service_hint: str | None = None) -> bool:
    """Whether ``view`` carries SigV4 credentials whose signature covers the SHA-256 of its
    body, so the body must be read before the request can be authenticated.

    ``False`` for everything else: no credentials (or another scheme), ``UNSIGNED-PAYLOAD``, the
    streaming forms (their seed signature is checked first; the chunks after), and S3 requests
    without ``x-amz-content-sha256`` (presigned: unsigned payload; header: refused anyway).
    An integration reads the body of those only once authentication has succeeded.
    """
    header = view.header("authorization")
    if header is not None:
        if not header.startswith("AWS4-"):
            return False
        declared = view.header("x-amz-content-sha256")
    elif view.query_string and any(view.query_param(p) is not None for p in _PRESIGN_MARKERS):
        declared = view.query_param("X-Amz-Content-Sha256") or view.header("x-amz-content-sha256")
    else:
        return False
    if declared is None:
        return service_hint is None or not c.uses_s3_uri_rules(service_hint)
    return _HEX64.fullmatch(declared.strip()) is not None


def _refuse_sigv2(header: str | None, params: AbstractSet[str]) -> None:
    """SigV2 (``AWS AKID:sig`` header, or ``AWSAccessKeyId``/``Signature`` query) is refused."""
    legacy_header = header is not None and header.startswith("AWS ")
    legacy_query = bool(params) and (params >= _SIGV2_QUERY or "SignatureVersion" in params)
    if legacy_header or legacy_query:
        raise AuthenticationError(_SIGV2_MESSAGE, code="InvalidRequest", http_status=400)


def verify_sigv4(
    view: RequestView,
    lookup_secret: SecretLookup,
    *,
    now: datetime | None = None,
    service_hint: str | None = None,
    regions: AbstractSet[str] | None = None,
    max_skew: timedelta = _MAX_SKEW,
    normalize_path: bool | None = None,
) -> VerifiedRequest:
    """Verify the SigV4 signature of ``view`` and return what it proves; raise otherwise.

    ``lookup_secret(access_key_id)`` returns the secret access key or ``None`` if unknown.
    ``service_hint`` (e.g. ``"s3"``) pins the service the credential scope must name and picks
    error codes before the scope is parsed. ``regions`` are the regions the scope may name
    (``None``: any; see :class:`WrongRegionError`). ``now`` defaults to the current UTC time.
    ``normalize_path`` overrides the URI normalization rule (``None``: normalize unless S3;
    ``False`` for a non-S3 service that signs raw paths, as aws-c-auth's ``normalize=false``).
    """
    claim, reading = _parse(view, service_hint)
    if claim is None:
        raise _missing_auth(_HEADER_FORM.for_service(service_hint))
    return _verify(view, claim, reading, lookup_secret, now, service_hint, regions, max_skew, normalize_path)


def parse_sigv4(view: RequestView, *, service_hint: str | None = None) -> SigV4Claim | None:
    """The request's SigV4 parameters (header or presigned), ``None`` when it carries none.

    Raises for SigV2, for both forms at once and for malformed parameters, with AWS's codes.
    Nothing is verified yet: that is :func:`verify_claim`'s job.
    """
    return _parse(view, service_hint)[0]


def parse_sigv4_read(
    view: RequestView, *, service_hint: str | None = None
) -> tuple[SigV4Claim | None, QueryReading | None]:
    """:func:`parse_sigv4`, plus the presigned query as parsing read it (``None`` for header
    auth): hand it to :func:`verify_claim` (``reading=``) so the query is not read twice."""
    return _parse(view, service_hint)


def _parse(view: RequestView, service_hint: str | None) -> tuple[SigV4Claim | None, QueryReading | None]:
    """:func:`parse_sigv4`, and the presigned query's reading when the claim came from one.

    Requests as the SDKs send them are read from their raw text: an SDK-shaped Authorization
    header (one match, memoized per prefix) with no query or a canonical one that names no
    other scheme, or a presigned query in canonical form (:func:`_read_presigned`, no
    decoding). Anything else, or anything those readers do not accept, takes the general
    parser, which gives the same claim or names what is wrong.
    """
    query = view.query_string
    values = view.header_index().get("authorization")
    if values is not None:
        if len(values) == 1 and (
            not query
            or (
                "X-Amz-Algorithm=" not in query  # both forms at once: the general path refuses it
                and not _may_name_sigv2(query)
                and c.query_is_canonical(query)  # so no other spelling of those names
            )
        ):
            claim = _sdk_claim(values[0], view)
            if claim is not None:
                return claim, None
    elif query and not _may_name_sigv2(query):
        reading = _read_presigned(query)
        if reading is not None:
            claim = _presigned_claim(reading)
            if claim is not None:
                return claim, reading
    form = auth_form(view)
    if form is None:
        return None, None
    if form == "query":
        return _claim_from_query(view, _QUERY_FORM.for_service(service_hint)), None
    return _claim_from_header(view, _HEADER_FORM.for_service(service_hint)), None


def _may_name_sigv2(query: str) -> bool:
    """Whether a raw query may hold a SigV2 parameter (a name starting ``Signature`` or
    ``AWSAccessKeyId``): then the general path, which refuses SigV2, reads it."""
    return query.startswith(_SIGV2_PREFIXES) or "&Signature" in query or "&AWSAccessKeyId" in query


class QueryReading(NamedTuple):  # built by _new_reading
    """A presigned query in canonical form, read without decoding it (:func:`_read_presigned`)."""

    #: The canonical query string: the query's pairs sorted, X-Amz-Signature left out.
    canonical: str
    #: Every ``X-Amz-*`` parameter: name -> value as sent (still percent-encoded).
    params: dict[str, str]


def _read_presigned(query: str) -> QueryReading | None:
    """The canonical query string and the ``X-Amz-*`` parameters of a query already in
    canonical form; ``None`` for any other query, a repeated ``X-Amz-*`` name or no signature.

    In canonical form a name of unreserved characters has one spelling, so the parameters are
    found in the raw text: the pairs sorted once (``=`` as NUL, as
    :func:`~iamguard.authn.canonical.canonical_query_if_plain` sorts them) hold every
    ``X-Amz-*`` pair in one run, read off together; dropping the signature's pair leaves the
    canonical query. Decoding the whole query (and encoding it again) is what this saves.
    """
    if not c.query_is_canonical(query):
        return None
    pieces = query.replace("=", "\0").split("&")
    pieces.sort()
    low = bisect_left(pieces, "X-Amz-")
    high = bisect_left(pieces, "X-Amz.", low)  # "." follows "-": the end of the run
    if low == high:
        return None
    flat = "\0".join(pieces[low:high]).split("\0")  # INVARIANT: one NUL in each piece
    params = dict(zip(flat[::2], flat[1::2], strict=True))
    if len(params) != high - low or "X-Amz-Signature" not in params:
        return None
    del pieces[bisect_left(pieces, "X-Amz-Signature\0", low, high)]
    return _new_reading(("&".join(pieces).replace("\0", "="), params))


#: ``QueryReading`` from a tuple of its fields (as :data:`_new_claim`).
_new_reading: Callable[[tuple[object, ...]], QueryReading] = partial(tuple.__new__, QueryReading)


def _presigned_claim(reading: QueryReading) -> SigV4Claim | None:
    """The claim of a presigned query read by :func:`_read_presigned` when every parameter is
    well-formed (as :func:`_claim_from_query` checks them), else ``None``."""
    try:
        algorithm, credential, amz_date, expires_text, signed_text, signature = _GET_PRESIGN_PARAMS(
            reading.params
        )
    except KeyError:
        return None
    # INVARIANT: a value without "%" decodes to itself (canonical form has no "+" either).
    if algorithm != c.ALGORITHM or "%" in amz_date or not _HEX64.fullmatch(signature):
        return None
    expires = parse_decimal(expires_text, _MAX_EXPIRES_DIGITS)
    if expires is None or expires > MAX_PRESIGNED_EXPIRES:
        return None
    scope = _RAW_PRESIGNED_SCOPES.get((credential, signed_text)) or _raw_scope(credential, signed_text)
    if scope is None:
        return None
    return _new_claim((*scope, signature, amz_date, expires))


def _raw_scope(credential: str, signed_text: str) -> tuple[str, str, str, str, tuple[str, ...]] | None:
    """:data:`_RAW_PRESIGNED_SCOPES`' entry for the two values as sent (``None``: malformed)."""
    try:
        akid, date, region, service = _split_credential(decode_component(credential), _QUERY_FORM)
        signed = _parse_signed_headers(decode_component(signed_text), _QUERY_FORM)
    except AuthenticationError:
        return None
    return _RAW_PRESIGNED_SCOPES.put((credential, signed_text), (akid, date, region, service, signed))


def verify_claim(
    view: RequestView,
    claim: SigV4Claim,
    lookup_secret: SecretLookup,
    *,
    now: datetime | float | None = None,
    service_hint: str | None = None,
    regions: AbstractSet[str] | None = None,
    max_skew: timedelta = _MAX_SKEW,
    normalize_path: bool | None = None,
    reading: QueryReading | None = None,
) -> VerifiedRequest:
    """Check ``claim`` (from :func:`parse_sigv4` of ``view``): scope, time, payload, signature.

    Same options as :func:`verify_sigv4`, and ``now`` may also be given in Unix seconds (what
    a clock returns, with no datetime to build); the secret is looked up only once the
    request is known to be current and well-formed. ``reading``: what
    :func:`parse_sigv4_read` returned beside ``claim`` for this same view.
    """
    return _verify(view, claim, reading, lookup_secret, now, service_hint, regions, max_skew, normalize_path)


def _verify(
    view: RequestView,
    claim: SigV4Claim,
    reading: QueryReading | None,
    lookup_secret: SecretLookup,
    now: datetime | float | None,
    service_hint: str | None,
    regions: AbstractSet[str] | None,
    max_skew: timedelta,
    normalize_path: bool | None,
) -> VerifiedRequest:
    """:func:`verify_claim`, given the presigned query's reading when parsing made one."""
    current = now if type(now) is float else _seconds(now)
    skew = _MAX_SKEW_SECONDS if max_skew is _MAX_SKEW else max_skew.total_seconds()
    dialect = _DIALECTS[claim.service in c.S3_SERVICES, claim.expires is not None]
    if normalize_path is not None:
        dialect = dialect.with_path_rule(normalize_path)
    if regions is None or claim.region in regions:
        verified = _verify_lane(view, claim, reading, lookup_secret, current, skew, service_hint, dialect)
        if verified is not None:
            return verified
    _check_scope(claim, service_hint, regions, dialect)
    signed_at = _check_time(claim, current, skew, dialect)
    payload_hash = _payload_hash(view, dialect)
    secret = lookup_secret(claim.access_key_id)
    if secret is None:
        raise _unknown_key(dialect)
    key = c.signing_key_for(secret, claim.date, claim.region, claim.service)
    _check_signature(view, claim, key, payload_hash, dialect)
    return _new_verified(
        claim.access_key_id,
        claim.region,
        claim.service,
        signed_at,
        _session_token(view, dialect),
        claim.signed,
        payload_hash,
        dialect.presigned,
        claim.signature,
        key.key,
    )


def _verify_lane(
    view: RequestView,
    claim: SigV4Claim,
    reading: QueryReading | None,
    lookup_secret: SecretLookup,
    now: float,
    max_skew: float,
    service_hint: str | None,
    dialect: SigV4Dialect,
) -> VerifiedRequest | None:
    """:func:`verify_claim` for the shapes nearly every request has, in one frame; ``None``
    hands the request back to the general path.

    The shapes: header or presigned form, a query already in canonical form (the SDKs send it
    so; presigned ones read by :func:`_read_presigned`, the ``reading`` parsing made or one
    made here), every signed header present, no header name holding a blank (so the view's own
    index is the header map). Accept-only: every check that fails here returns ``None`` and
    the general path, which makes the same checks in the same order, names the failure (the
    payload checks raise here as they would there: scope and time were checked alike before
    them; so does a conflicting session token, checked after the signature in both). What the
    lane saves is the general path's frames, its header map and per-header calls (one
    :class:`_Layout` per set of signed headers, :data:`_LAYOUTS`: the headers block is one
    ``%`` format) and the decoding of presigned queries. Property tests hold the two outcomes
    equal, on requests signed by iamguard and by botocore.
    """
    akid, date, region, service, signed, signature, amz_date, expires = claim
    if (service_hint is not None and service != service_hint) or amz_date[:8] != date:
        return None
    try:
        signed_at, signed_seconds = c.amz_date_seconds(amz_date)
    except ValueError:
        return None
    presigned = dialect.presigned
    query = view.query_string
    index = view.header_index()
    declared: str | None = None
    from_query: str | None = None
    if presigned:
        if now >= signed_seconds + (expires or 0) or signed_seconds - now > max_skew:
            return None
        if reading is None:
            reading = _read_presigned(query) if query else None
            if reading is None:
                return None
        canonical_query, params = reading
        raw = params.get("X-Amz-Content-Sha256")
        declared = None if raw is None else decode_component(raw)
        raw = params.get("X-Amz-Security-Token")
        from_query = None if raw is None else decode_component(raw)
    elif abs(now - signed_seconds) > max_skew:
        return None
    elif query:
        plain = c.canonical_query_if_plain(query, ())
        if plain is None:
            return None
        canonical_query = plain
        if "X-Amz-Security-Token=" in query:  # canonical: the name has no other spelling
            from_query = view.query_param("X-Amz-Security-Token")
    else:
        canonical_query = ""
    if declared is None:
        declared = _header_text(index, "x-amz-content-sha256")
    # What _payload_line answers for the SDKs' S3 default, without its frame.
    payload_hash = declared if declared == c.UNSIGNED_PAYLOAD else _payload_line(declared, view, dialect)
    secret = lookup_secret(akid)
    if secret is None:
        return None
    layout = _LAYOUTS.get(signed) or _layout(signed)
    try:
        values = layout.values_of(index)
    except KeyError:
        return None  # a signed header is missing: the general path names it
    # The names not signed: one holding blanks is stripped (and may be merged) by the general
    # path; S3 refuses an unsigned x-amz-* header. Either way the general path answers.
    unsigned = "\0".join(index.keys() - layout.allowed)
    if unsigned and (
        unsigned.split() != [unsigned]
        or (dialect.s3 and (unsigned.startswith("x-amz-") or "\0x-amz-" in unsigned))
    ):
        return None
    flat = tuple(_flatten(values))
    if len(flat) == len(signed):  # no signed header repeated: one value each
        block = layout.template % tuple([" ".join(value.split()) for value in flat])
    else:
        block = c.canonical_headers(index, signed)
    canonical = c.canonical_request(
        view.method,
        c.canonical_uri(view.raw_path, normalize=dialect.normalize, double_encode=dialect.double_encode),
        canonical_query,
        block,
        layout.signed_text,
        payload_hash,
    )
    key = c.signing_key_for(secret, date, region, service)
    to_sign = c.string_to_sign(amz_date, c.credential_scope(date, region, service), canonical)
    # INVARIANT: a provided signature is only ever compared in constant time.
    if not hmac.compare_digest(key.sign(to_sign), signature):
        return None
    from_header = _header_text(index, "x-amz-security-token") if "x-amz-security-token" in index else None
    return _new_verified(
        akid,
        region,
        service,
        signed_at,
        None
        if from_query is None and from_header is None
        else _pick_token(from_query, from_header, presigned),
        signed,
        payload_hash,
        presigned,
        signature,
        key.key,
    )


def _header_text(index: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    """:meth:`RequestView.header` read from the view's index."""
    values = index.get(name)
    if values is None:
        return None
    return values[0] if len(values) == 1 else ",".join(values)


def _layout(signed: tuple[str, ...]) -> _Layout:
    """The :class:`_Layout` of ``signed`` (remembered)."""
    template = "".join(f"{name.replace('%', '%%')}:%s\n" for name in signed)
    # itemgetter of several names answers a tuple of their values (of one name, the value alone).
    values_of = itemgetter(*signed) if len(signed) > 1 else partial(_one_header, signed[0])
    layout = _Layout(";".join(signed), frozenset(signed) | _UNSIGNED_EXEMPT, template, values_of)
    return _LAYOUTS.put(signed, layout)


def _one_header(name: str, index: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    return (index[name],)


# ---------------------------------------------------------------- parsing the claim


def _seconds(now: datetime | float | None) -> float:
    """``now`` in Unix seconds: the current time for ``None``, an aware datetime converted."""
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise InvalidParameterError("now must be timezone-aware")
        return now.timestamp()
    return float(now)


def _split_credential(credential: str, dialect: SigV4Dialect) -> tuple[str, str, str, str]:
    """``AKID/date/region/service/aws4_request`` → (akid, date, region, service)."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise dialect.malformed(
            f"the Credential parameter must be <key>/<date>/<region>/<service>/aws4_request, got {credential!r}"
        )
    if not all(_SCOPE_PART.fullmatch(part) for part in parts[:4]):
        raise dialect.malformed(
            "the Credential parameter must be <key>/<date>/<region>/<service>/aws4_request in printable ASCII"
        )
    if not _CREDENTIAL_DATE.fullmatch(parts[1]):
        raise dialect.malformed(f"invalid credential date {parts[1]!r}")
    return parts[0], parts[1], parts[2], parts[3]


def _parse_signed_headers(text: str, dialect: SigV4Dialect) -> tuple[str, ...]:
    names = tuple(text.split(";"))
    if not _PLAIN_SIGNED.fullmatch(text) and (
        not text or any(not n or n != n.strip().lower() for n in names)
    ):
        raise dialect.malformed(f"SignedHeaders must be lower-case names joined by ';', got {text!r}")
    if not _strictly_ascending(names):
        raise dialect.malformed("SignedHeaders must be sorted and unique")
    if "host" not in names:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
        raise dialect.malformed("the host header must be signed")
    return names


def _peek_dialect(credential: str | None, default: SigV4Dialect) -> SigV4Dialect:
    """Guess the service from a (possibly malformed) credential, to pick AWS's error code."""
    parts = (credential or "").split("/")
    return default.for_service(parts[3]) if len(parts) >= 4 else default


def _check_hex_signature(sig: str, dialect: SigV4Dialect) -> str:
    if not _HEX64.fullmatch(sig):
        raise dialect.malformed("Signature must be 64 lower-case hex characters")
    return sig


def _claim_from_header(view: RequestView, dialect: SigV4Dialect) -> SigV4Claim:
    values = view.header_index().get("authorization", ())
    if len(values) == 1:
        claim = _sdk_claim(values[0], view)
        if claim is not None:
            return claim
    return _claim_from_any_header(values, view, dialect)


def _sdk_claim(header: str, view: RequestView) -> SigV4Claim | None:
    """The claim of an Authorization header written exactly as the SDKs write it, ``None`` for
    any other text (the general parser then answers, with the same claim or a precise error)."""
    # Everything before the 64-hex signature repeats on every request of a client that day:
    # read once, then only the signature is checked (the pattern ends with it, so the header
    # matches exactly when its prefix did and the signature is 64 lower-case hex characters).
    prefix, sig = header[:-64], header[-64:]
    fields = _SDK_PREFIXES.get(prefix)
    if fields is None or not _HEX64.fullmatch(sig):
        if not header.isascii() or len(header) > _MAX_SDK_HEADER:
            return None  # the general parser names what is wrong
        match = _SDK_AUTHORIZATION.fullmatch(header)
        if match is None:
            return None
        akid, date, region, service, signed_text, sig = match.groups()
        signed = tuple(signed_text.split(";"))
        # What _parse_signed_headers checks beyond the pattern: sorted, unique, host signed.
        if "host" not in signed or not _strictly_ascending(signed):
            return None
        fields = _SDK_PREFIXES.put(
            prefix, (akid, date, region, service, signed, _HEADER_FORM.for_service(service))
        )
    akid, date, region, service, signed, dialect = fields
    amz_date = _header_timestamp(view, signed, dialect)
    return _new_claim((akid, date, region, service, signed, sig, amz_date, None))


def _strictly_ascending(names: tuple[str, ...]) -> bool:
    """Sorted and unique (SigV4's rule for SignedHeaders)."""
    previous = ""
    for name in names:
        if name <= previous:
            return False
        previous = name
    return True


def _claim_from_any_header(values: tuple[str, ...], view: RequestView, dialect: SigV4Dialect) -> SigV4Claim:
    """The general Authorization parser: any field order and spacing, precise errors."""
    if len(values) != 1:
        raise dialect.malformed("exactly one Authorization header is allowed")
    algorithm, _, rest = values[0].strip().partition(" ")
    if algorithm != c.ALGORITHM:
        raise AuthenticationError(_SIGV2_MESSAGE, code="InvalidRequest", http_status=400)
    fields: dict[str, str] = {}
    for component in rest.split(","):
        name, sep, value = component.strip().partition("=")
        if not sep or name in fields:
            raise dialect.malformed(f"malformed Authorization component {component.strip()!r}")
        fields[name] = value.strip()
    dialect = _peek_dialect(fields.get("Credential"), dialect)
    if fields.keys() != _HEADER_FIELDS:
        raise dialect.malformed("Authorization needs exactly Credential, SignedHeaders and Signature")
    akid, date, region, service = _split_credential(fields["Credential"], dialect)
    dialect = dialect.for_service(service)
    signed = _parse_signed_headers(fields["SignedHeaders"], dialect)
    amz_date = _header_timestamp(view, signed, dialect)
    sig = _check_hex_signature(fields["Signature"], dialect)
    return SigV4Claim(akid, date, region, service, signed, sig, amz_date, None)


def _header_timestamp(view: RequestView, signed: tuple[str, ...], dialect: SigV4Dialect) -> str:
    """X-Amz-Date, else the HTTP Date header; whichever is used must be signed."""
    amz = view.header_index().get("x-amz-date")
    if amz:
        if "x-amz-date" not in signed:
            raise dialect.malformed("the x-amz-date header must be signed")
        return amz[-1].strip() if len(amz) == 1 else ""
    date = view.header("date")
    if date is None:
        raise dialect.malformed("the request needs an X-Amz-Date or Date header")
    if "date" not in signed:
        raise dialect.malformed("the date header must be signed")
    try:
        return c.format_amz_date(parsedate_to_datetime(date))
    except (TypeError, ValueError):
        raise dialect.malformed(f"invalid Date header {date!r}") from None


def _claim_from_query(view: RequestView, dialect: SigV4Dialect) -> SigV4Claim:
    params = view.query_first_values()
    pairs = view.query_params()
    if len(params) != len(pairs):  # a name appears more than once: none of the X-Amz-* may
        seen: set[str] = set()
        for name, _ in pairs:
            if name in _PRESIGN_PARAMS and name in seen:
                raise dialect.malformed(f"{name} appears more than once")
            seen.add(name)
    dialect = _peek_dialect(params.get("X-Amz-Credential"), dialect)
    missing = [name for name in _PRESIGN_PARAMS if name not in params]
    if missing:
        raise dialect.malformed(f"missing query parameters: {', '.join(missing)}")
    if params["X-Amz-Algorithm"] != c.ALGORITHM:
        raise AuthenticationError(_SIGV2_MESSAGE, code="InvalidRequest", http_status=400)
    texts = (params["X-Amz-Credential"], params["X-Amz-SignedHeaders"])
    scope = _PRESIGNED_SCOPES.get(texts)
    if scope is None:
        akid, date, region, service = _split_credential(texts[0], dialect)
        dialect = dialect.for_service(service)
        signed = _parse_signed_headers(texts[1], dialect)
        scope = _PRESIGNED_SCOPES.put(texts, (akid, date, region, service, signed))
    else:
        dialect = dialect.for_service(scope[3])
    sig = _check_hex_signature(params["X-Amz-Signature"], dialect)
    return _new_claim((*scope, sig, params["X-Amz-Date"], _expires(params, dialect)))


def _expires(params: Mapping[str, str], dialect: SigV4Dialect) -> int:
    text = params["X-Amz-Expires"]
    expires = parse_decimal(text, _MAX_EXPIRES_DIGITS)
    if expires is None and _DIGITS.fullmatch(text):
        expires = MAX_PRESIGNED_EXPIRES + 1  # all digits, just too many of them: out of range
    if expires is None:
        raise dialect.malformed("X-Amz-Expires should be a number")
    if expires > MAX_PRESIGNED_EXPIRES:
        raise dialect.malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800")
    return expires


# ---------------------------------------------------------------- checks


def _check_scope(
    claim: SigV4Claim, service_hint: str | None, regions: AbstractSet[str] | None, dialect: SigV4Dialect
) -> None:
    if service_hint is not None and claim.service != service_hint:
        # Answer as the service that was called, not as the one the client named.
        raise dialect.for_service(service_hint).malformed(
            f"Credential should be scoped to correct service: '{service_hint}'"
        )
    if regions is not None and claim.region not in regions:
        raise WrongRegionError(claim.region, regions, dialect)
    if claim.amz_date[:8] != claim.date:
        raise dialect.malformed("Date in Credential scope does not match YYYYMMDD of the request date")


def _check_time(claim: SigV4Claim, now: float, max_skew: float, dialect: SigV4Dialect) -> datetime:
    """The request time, checked against ``now`` (Unix seconds) give or take ``max_skew`` seconds."""
    try:
        signed_at, signed = c.amz_date_seconds(claim.amz_date)
    except ValueError:
        raise dialect.malformed(f"invalid X-Amz-Date {claim.amz_date!r}") from None
    if dialect.presigned:
        _check_presigned_window(signed_at, signed, claim.expires or 0, now, max_skew, dialect)
    elif abs(now - signed) > max_skew:
        raise _skew_error(signed_at, now, max_skew, dialect)
    return signed_at


def _skew_error(
    signed_at: datetime, now: float, max_skew: float, dialect: SigV4Dialect
) -> RequestTimeSkewedError:
    """The error for a request time more than ``max_skew`` seconds (15 min) from the server's clock.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html ("the request
    timestamp … must be within five/fifteen minutes"); S3 answers RequestTimeTooSkewed.
    """
    if dialect.s3:
        return RequestTimeSkewedError(
            "The difference between the request time and the current time is too large."
        )
    moment, skew = datetime.fromtimestamp(now, timezone.utc), timedelta(seconds=max_skew)
    stamp, server = c.format_amz_date(signed_at), c.format_amz_date(moment)
    minutes = int(max_skew // 60)
    if signed_at < moment:
        message = f"Signature expired: {stamp} is now earlier than {c.format_amz_date(moment - skew)} ({server} - {minutes} min.)"
    else:
        message = f"Signature not yet current: {stamp} is still later than {c.format_amz_date(moment + skew)} ({server} + {minutes} min.)"
    return RequestTimeSkewedError(message, code="SignatureDoesNotMatch")


def _check_presigned_window(
    signed_at: datetime, signed: int, expires: int, now: float, max_skew: float, dialect: SigV4Dialect
) -> None:
    """Presigned: valid for ``signed <= now < signed + expires`` (Unix seconds).

    A URL dated in the future is tolerated up to ``max_skew`` (the signer's clock may run
    ahead, as for header auth); past that it is a skew error. S3 answers an expired URL with
    ``AccessDenied`` / "Request has expired" (403).
    """
    if now >= signed + expires:
        raise ExpiredCredentialsError("Request has expired", code="AccessDenied", http_status=403)
    if signed - now > max_skew:
        raise _skew_error(signed_at, now, max_skew, dialect)


def _payload_hash(view: RequestView, dialect: SigV4Dialect) -> str:
    """The payload hash line of the canonical request, checked against the body when signed.

    * a declared ``x-amz-content-sha256`` (header, or ``X-Amz-Content-Sha256`` query parameter
      for presigned URLs) is used as is; hex values are compared with the body when it is given;
    * S3 presigned URLs without one use ``UNSIGNED-PAYLOAD``;
    * S3 header auth requires the header
      (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html);
    * other services hash the body.
    """
    declared = view.query_param("X-Amz-Content-Sha256") if dialect.presigned else None
    return _payload_line(view.header("x-amz-content-sha256") if declared is None else declared, view, dialect)


def _payload_line(declared: str | None, view: RequestView, dialect: SigV4Dialect) -> str:
    """:func:`_payload_hash` given the declared value (query parameter, else header)."""
    if declared is None:
        if dialect.s3 and dialect.presigned:
            return c.UNSIGNED_PAYLOAD
        if dialect.s3:
            raise AuthenticationError(
                "Missing required header for this request: x-amz-content-sha256",
                code="InvalidRequest",
                http_status=400,
            )
        if view.body is None:
            raise SignatureMismatchError("the request body is needed to verify the payload hash")
        return c.hash_payload(view.body) if view.body else c.EMPTY_SHA256
    declared = declared.strip()
    if declared == c.UNSIGNED_PAYLOAD or declared in STREAMING_PAYLOADS:
        return declared
    if not _HEX64.fullmatch(declared):
        raise AuthenticationError(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.",
            code="InvalidArgument",
            http_status=400,
        )
    if view.body is not None and not hmac.compare_digest(hashlib.sha256(view.body).hexdigest(), declared):
        raise SignatureMismatchError(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            code="XAmzContentSHA256Mismatch",
            http_status=400,
        )
    return declared


def _check_signature(
    view: RequestView, claim: SigV4Claim, key: c.SigningKey, payload_hash: str, dialect: SigV4Dialect
) -> None:
    headers = c.view_header_map(view)
    for name in claim.signed:
        if name not in headers:
            raise SignatureMismatchError(f"signed header {name!r} is not present in the request")
    if dialect.s3:
        _check_amz_headers_signed(headers, claim.signed)
    scope = c.credential_scope(claim.date, claim.region, claim.service)
    uri = c.canonical_uri(view.raw_path, normalize=dialect.normalize, double_encode=dialect.double_encode)
    block = c.canonical_headers(headers, claim.signed)
    matched = False
    for excluded in _query_exclusions(view, dialect):
        query = c.canonical_query_string(view.query_string, exclude=excluded) if view.query_string else ""
        canonical = c.canonical_request(view.method, uri, query, block, ";".join(claim.signed), payload_hash)
        expected = key.sign(c.string_to_sign(claim.amz_date, scope, canonical))
        # INVARIANT: a provided signature is only ever compared in constant time (both are
        # ASCII hex here: the claim's was checked to be 64 lower-case hex characters).
        matched |= hmac.compare_digest(expected, claim.signature)
    if not matched:
        raise SignatureMismatchError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )


_ONE_READING: tuple[tuple[str, ...], ...] = ((),)


def _query_exclusions(view: RequestView, dialect: SigV4Dialect) -> Sequence[tuple[str, ...]]:
    """Which query parameters the canonical query string may leave out.

    Presigned URLs always drop ``X-Amz-Signature``. Some non-S3 services let the client append
    ``X-Amz-Security-Token`` after signing (aws4 suite ``post-sts-header-after``), so for them a
    second reading without the token is tried; the token is still returned and must be bound
    to the access key by the STS layer. S3 requires the token to be signed.
    """
    if not dialect.presigned:
        return _ONE_READING
    readings: list[tuple[str, ...]] = [("X-Amz-Signature",)]
    if not dialect.s3 and view.query_param("X-Amz-Security-Token") is not None:
        readings.append(("X-Amz-Signature", "X-Amz-Security-Token"))
    return readings


def _check_amz_headers_signed(headers: Mapping[str, Sequence[str]], signed: tuple[str, ...]) -> None:
    """S3 rejects requests carrying ``x-amz-*`` headers that are not signed.

    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (presigned:
    "There were headers present in the request which were not signed"). The session token and
    the payload-hash header are exempt: they are bound by the signature's scope/payload line.
    """
    unsigned = sorted(
        n for n in headers if n.startswith("x-amz-") and n not in signed and n not in _UNSIGNED_EXEMPT
    )
    if unsigned:
        raise AuthenticationError(
            f"There were headers present in the request which were not signed: {', '.join(unsigned)}",
            code="AccessDenied",
            http_status=403,
        )


def _session_token(view: RequestView, dialect: SigV4Dialect) -> str | None:
    """X-Amz-Security-Token from the query (presigned) or the header; returned for STS to judge."""
    from_query = view.query_param("X-Amz-Security-Token") if view.query_string else None
    return _pick_token(from_query, view.header("x-amz-security-token"), dialect.presigned)


def _pick_token(from_query: str | None, from_header: str | None, presigned: bool) -> str | None:
    """The session token given its query and header readings (they must agree)."""
    if from_query is not None and from_header is not None and from_query != from_header:
        raise AuthenticationError(
            "conflicting X-Amz-Security-Token values", code="InvalidToken", http_status=400
        )
    return from_query if presigned and from_query is not None else (from_header or from_query)


def _missing_auth(dialect: SigV4Dialect) -> AuthenticationError:
    if dialect.s3:
        return AuthenticationError("Access Denied", code="AccessDenied", http_status=403)
    return AuthenticationError(
        "Request is missing Authentication Token", code="MissingAuthenticationToken", http_status=403
    )


def _unknown_key(dialect: SigV4Dialect) -> InvalidAccessKeyError:
    if dialect.s3:
        return InvalidAccessKeyError(
            "The AWS Access Key Id you provided does not exist in our records.", code="InvalidAccessKeyId"
        )
    return InvalidAccessKeyError("The security token included in the request is invalid.")
