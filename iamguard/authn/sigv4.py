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
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Literal, NamedTuple

from iamguard._frozen import slot_builder
from iamguard._wire import parse_decimal
from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView
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
    "SigV4Claim",
    "VerifiedRequest",
    "WrongRegionError",
    "auth_form",
    "parse_sigv4",
    "payload_is_signed",
    "verify_claim",
    "verify_sigv4",
]

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
#: SDK-shaped Authorization headers read so far: the text before the signature -> (access
#: key id, date, region, service, signed headers), each checked as _sdk_claim checks them.
#: Bounded (dropped whole when full); a pure function of its key, so never stale.
_SDK_PREFIXES: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {}
_SDK_PREFIXES_MAX = 1024
_MAX_SDK_HEADER = 4096
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)

_NO_PARAMS: frozenset[str] = frozenset()
_PRESIGN_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
#: Query parameters that together mark SigV2's presigned form.
_SIGV2_QUERY = frozenset({"AWSAccessKeyId", "Signature"})

SecretLookup = Callable[[str], "str | None"]


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

    def __init__(self, region: str, expected: AbstractSet[str], s3: bool, presigned: bool) -> None:
        self.region = region
        self.expected = min(expected)
        #: Extra elements of S3's error document.
        self.details: tuple[tuple[str, str], ...] = ()
        if not s3:
            super().__init__(
                f"Credential should be scoped to a valid region, not '{region}'. ",
                code="SignatureDoesNotMatch",
                http_status=403,
            )
            return
        wrong = f"the region '{region}' is wrong; expecting '{self.expected}'"
        if presigned:
            message, code = f"Error parsing the X-Amz-Credential parameter; {wrong}", "AuthorizationQueryParametersError"
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


def auth_form(view: RequestView) -> Literal["header", "query"] | None:
    """Which SigV4 form ``view`` uses, or ``None`` when it carries no authentication.

    Raises for SigV2 and for a request carrying both forms (AWS refuses that too).
    """
    header = view.header("authorization")
    params = {name for name, _ in view.query_params()} if view.query_string else _NO_PARAMS
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
    legacy_query = bool(params) and (_SIGV2_QUERY <= params or "SignatureVersion" in params)
    if legacy_header or legacy_query:
        raise AuthenticationError(_SIGV2_MESSAGE, code="InvalidRequest", http_status=400)


def verify_sigv4(
    view: RequestView,
    lookup_secret: SecretLookup,
    *,
    now: datetime | None = None,
    service_hint: str | None = None,
    regions: AbstractSet[str] | None = None,
    max_skew: timedelta = timedelta(minutes=15),
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
    claim = parse_sigv4(view, service_hint=service_hint)
    if claim is None:
        raise _missing_auth(service_hint is not None and c.uses_s3_uri_rules(service_hint))
    return verify_claim(
        view,
        claim,
        lookup_secret,
        now=now,
        service_hint=service_hint,
        regions=regions,
        max_skew=max_skew,
        normalize_path=normalize_path,
    )


def parse_sigv4(view: RequestView, *, service_hint: str | None = None) -> SigV4Claim | None:
    """The request's SigV4 parameters (header or presigned), ``None`` when it carries none.

    Raises for SigV2, for both forms at once and for malformed parameters, with AWS's codes.
    Nothing is verified yet: that is :func:`verify_claim`'s job.
    """
    if not view.query_string:
        # No query: nothing can conflict with the header or be SigV2's query form, so an
        # SDK-shaped header is read in one match (the general parser gives the same claim).
        values = view.header_index().get("authorization")
        if values is not None and len(values) == 1:
            claim = _sdk_claim(values[0], view)
            if claim is not None:
                return claim
    form = auth_form(view)
    if form is None:
        return None
    s3 = service_hint is not None and c.uses_s3_uri_rules(service_hint)
    return _claim_from_query(view, s3) if form == "query" else _claim_from_header(view, s3)


def verify_claim(
    view: RequestView,
    claim: SigV4Claim,
    lookup_secret: SecretLookup,
    *,
    now: datetime | float | None = None,
    service_hint: str | None = None,
    regions: AbstractSet[str] | None = None,
    max_skew: timedelta = timedelta(minutes=15),
    normalize_path: bool | None = None,
) -> VerifiedRequest:
    """Check ``claim`` (from :func:`parse_sigv4` of ``view``): scope, time, payload, signature.

    Same options as :func:`verify_sigv4`, and ``now`` may also be given in Unix seconds (what
    a clock returns, with no datetime to build); the secret is looked up only once the
    request is known to be current and well-formed.
    """
    current = now if type(now) is float else _seconds(now)
    skew = max_skew.total_seconds()
    presigned = claim.expires is not None
    if not presigned and normalize_path is None and not view.query_string and (regions is None or claim.region in regions):
        verified = _verify_plain_header(view, claim, lookup_secret, current, skew, service_hint)
        if verified is not None:
            return verified
    s3 = claim.service in c.S3_SERVICES
    _check_scope(claim, service_hint, regions, s3, presigned)
    signed_at = _check_time(claim, current, skew, s3, presigned)
    payload_hash = _payload_hash(view, s3, presigned)
    secret = lookup_secret(claim.access_key_id)
    if secret is None:
        raise _unknown_key(s3)
    key = c.signing_key_for(secret, claim.date, claim.region, claim.service)
    _check_signature(view, claim, key, payload_hash, s3, presigned, normalize_path)
    return _new_verified(
        claim.access_key_id,
        claim.region,
        claim.service,
        signed_at,
        _session_token(view, presigned),
        claim.signed,
        payload_hash,
        presigned,
        claim.signature,
        key.key,
    )


def _verify_plain_header(
    view: RequestView,
    claim: SigV4Claim,
    lookup_secret: SecretLookup,
    now: float,
    max_skew: float,
    service_hint: str | None,
) -> VerifiedRequest | None:
    """:func:`verify_claim` for the shape nearly every request has (Authorization header, no
    query string, default path rule), in one frame; ``None`` hands the request back.

    Accept-only: every check that fails here returns ``None`` and the general path, which
    makes the same checks in the same order, names the failure. Every rule is the general
    path's own (its helpers, and :mod:`~iamguard.authn.canonical` for the canonical request);
    what the lane saves is the general path's frames and its query-reading loop. A property
    test holds the two outcomes equal.
    """
    service = claim.service
    if (service_hint is not None and service != service_hint) or claim.amz_date[:8] != claim.date:
        return None
    try:
        signed_at, signed_seconds = c.amz_date_seconds(claim.amz_date)
    except ValueError:
        return None
    if abs(now - signed_seconds) > max_skew:
        return None
    s3 = service in c.S3_SERVICES
    payload_hash = _payload_hash(view, s3, False)
    secret = lookup_secret(claim.access_key_id)
    if secret is None:
        return None
    key = c.signing_key_for(secret, claim.date, claim.region, service)
    headers = c.view_header_map(view)
    for name in claim.signed:
        if name not in headers:
            return None
    if s3:
        _check_amz_headers_signed(headers, claim.signed, False)
    canonical = c.canonical_request(
        view.method,
        c.canonical_uri(view.raw_path, normalize=not s3, double_encode=not s3),
        "",
        c.canonical_headers(headers, claim.signed),
        ";".join(claim.signed),
        payload_hash,
    )
    to_sign = c.string_to_sign(claim.amz_date, c.credential_scope(claim.date, claim.region, service), canonical)
    # INVARIANT: a provided signature is only ever compared in constant time.
    if not hmac.compare_digest(key.sign(to_sign), claim.signature):
        return None
    return _new_verified(
        claim.access_key_id,
        claim.region,
        service,
        signed_at,
        _session_token(view, False),
        claim.signed,
        payload_hash,
        False,
        claim.signature,
        key.key,
    )


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


def _malformed(message: str, s3: bool, presigned: bool) -> AuthenticationError:
    if not s3:
        return AuthenticationError(message, code="IncompleteSignature", http_status=400)
    code = "AuthorizationQueryParametersError" if presigned else "AuthorizationHeaderMalformed"
    return AuthenticationError(message, code=code, http_status=400)


def _split_credential(credential: str, s3: bool, presigned: bool) -> tuple[str, str, str, str]:
    """``AKID/date/region/service/aws4_request`` → (akid, date, region, service)."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise _malformed(
            f"the Credential parameter must be <key>/<date>/<region>/<service>/aws4_request, got {credential!r}",
            s3,
            presigned,
        )
    if not all(_SCOPE_PART.fullmatch(part) for part in parts[:4]):
        raise _malformed(
            "the Credential parameter must be <key>/<date>/<region>/<service>/aws4_request in printable ASCII",
            s3,
            presigned,
        )
    if not _CREDENTIAL_DATE.fullmatch(parts[1]):
        raise _malformed(f"invalid credential date {parts[1]!r}", s3, presigned)
    return parts[0], parts[1], parts[2], parts[3]


def _parse_signed_headers(text: str, s3: bool, presigned: bool) -> tuple[str, ...]:
    names = tuple(text.split(";"))
    if not _PLAIN_SIGNED.fullmatch(text) and (not text or any(not n or n != n.strip().lower() for n in names)):
        raise _malformed(f"SignedHeaders must be lower-case names joined by ';', got {text!r}", s3, presigned)
    if not _strictly_ascending(names):
        raise _malformed("SignedHeaders must be sorted and unique", s3, presigned)
    if "host" not in names:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
        raise _malformed("the host header must be signed", s3, presigned)
    return names


def _peek_s3(credential: str | None, default: bool) -> bool:
    """Guess the service from a (possibly malformed) credential, to pick AWS's error code."""
    parts = (credential or "").split("/")
    return c.uses_s3_uri_rules(parts[3]) if len(parts) >= 4 else default


def _check_hex_signature(sig: str, s3: bool, presigned: bool) -> str:
    if not _HEX64.fullmatch(sig):
        raise _malformed("Signature must be 64 lower-case hex characters", s3, presigned)
    return sig


def _claim_from_header(view: RequestView, s3: bool) -> SigV4Claim:
    values = view.header_index().get("authorization", ())
    if len(values) == 1:
        claim = _sdk_claim(values[0], view)
        if claim is not None:
            return claim
    return _claim_from_any_header(values, view, s3)


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
        fields = (akid, date, region, service, signed)
        if len(_SDK_PREFIXES) >= _SDK_PREFIXES_MAX:
            _SDK_PREFIXES.clear()
        _SDK_PREFIXES[prefix] = fields
    akid, date, region, service, signed = fields
    amz_date = _header_timestamp(view, signed, service in c.S3_SERVICES)
    return _new_claim((akid, date, region, service, signed, sig, amz_date, None))


def _strictly_ascending(names: tuple[str, ...]) -> bool:
    """Sorted and unique (SigV4's rule for SignedHeaders)."""
    previous = ""
    for name in names:
        if name <= previous:
            return False
        previous = name
    return True


def _claim_from_any_header(values: tuple[str, ...], view: RequestView, s3: bool) -> SigV4Claim:
    """The general Authorization parser: any field order and spacing, precise errors."""
    if len(values) != 1:
        raise _malformed("exactly one Authorization header is allowed", s3, False)
    algorithm, _, rest = values[0].strip().partition(" ")
    if algorithm != c.ALGORITHM:
        raise AuthenticationError(_SIGV2_MESSAGE, code="InvalidRequest", http_status=400)
    fields: dict[str, str] = {}
    for component in rest.split(","):
        name, sep, value = component.strip().partition("=")
        if not sep or name in fields:
            raise _malformed(f"malformed Authorization component {component.strip()!r}", s3, False)
        fields[name] = value.strip()
    s3 = _peek_s3(fields.get("Credential"), s3)
    if fields.keys() != _HEADER_FIELDS:
        raise _malformed("Authorization needs exactly Credential, SignedHeaders and Signature", s3, False)
    akid, date, region, service = _split_credential(fields["Credential"], s3, False)
    s3 = c.uses_s3_uri_rules(service)
    signed = _parse_signed_headers(fields["SignedHeaders"], s3, False)
    amz_date = _header_timestamp(view, signed, s3)
    sig = _check_hex_signature(fields["Signature"], s3, False)
    return SigV4Claim(akid, date, region, service, signed, sig, amz_date, None)


def _header_timestamp(view: RequestView, signed: tuple[str, ...], s3: bool) -> str:
    """X-Amz-Date, else the HTTP Date header; whichever is used must be signed."""
    amz = view.header_index().get("x-amz-date")
    if amz:
        if "x-amz-date" not in signed:
            raise _malformed("the x-amz-date header must be signed", s3, False)
        return amz[-1].strip() if len(amz) == 1 else ""
    date = view.header("date")
    if date is None:
        raise _malformed("the request needs an X-Amz-Date or Date header", s3, False)
    if "date" not in signed:
        raise _malformed("the date header must be signed", s3, False)
    try:
        return c.format_amz_date(parsedate_to_datetime(date))
    except (TypeError, ValueError):
        raise _malformed(f"invalid Date header {date!r}", s3, False) from None


def _claim_from_query(view: RequestView, s3: bool) -> SigV4Claim:
    params: dict[str, str] = {}
    for name, value in view.query_params():
        if name in _PRESIGN_PARAMS and name in params:
            raise _malformed(f"{name} appears more than once", s3, True)
        params[name] = value
    s3 = _peek_s3(params.get("X-Amz-Credential"), s3)
    missing = [name for name in _PRESIGN_PARAMS if name not in params]
    if missing:
        raise _malformed(f"missing query parameters: {', '.join(missing)}", s3, True)
    if params["X-Amz-Algorithm"] != c.ALGORITHM:
        raise AuthenticationError(_SIGV2_MESSAGE, code="InvalidRequest", http_status=400)
    akid, date, region, service = _split_credential(params["X-Amz-Credential"], s3, True)
    s3 = c.uses_s3_uri_rules(service)
    signed = _parse_signed_headers(params["X-Amz-SignedHeaders"], s3, True)
    sig = _check_hex_signature(params["X-Amz-Signature"], s3, True)
    return SigV4Claim(akid, date, region, service, signed, sig, params["X-Amz-Date"], _expires(params, s3))


def _expires(params: dict[str, str], s3: bool) -> int:
    text = params["X-Amz-Expires"]
    expires = parse_decimal(text, _MAX_EXPIRES_DIGITS)
    if expires is None and _DIGITS.fullmatch(text):
        expires = MAX_PRESIGNED_EXPIRES + 1  # all digits, just too many of them: out of range
    if expires is None:
        raise _malformed("X-Amz-Expires should be a number", s3, True)
    if expires > MAX_PRESIGNED_EXPIRES:
        raise _malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800", s3, True)
    return expires


# ---------------------------------------------------------------- checks


def _check_scope(
    claim: SigV4Claim, service_hint: str | None, regions: AbstractSet[str] | None, s3: bool, presigned: bool
) -> None:
    if service_hint is not None and claim.service != service_hint:
        # Answer as the service that was called, not as the one the client named.
        hinted_s3 = c.uses_s3_uri_rules(service_hint)
        raise _malformed(
            f"Credential should be scoped to correct service: '{service_hint}'", hinted_s3, presigned
        )
    if regions is not None and claim.region not in regions:
        raise WrongRegionError(claim.region, regions, s3, presigned)
    if claim.amz_date[:8] != claim.date:
        raise _malformed(
            "Date in Credential scope does not match YYYYMMDD of the request date", s3, presigned
        )


def _check_time(claim: SigV4Claim, now: float, max_skew: float, s3: bool, presigned: bool) -> datetime:
    """The request time, checked against ``now`` (Unix seconds) give or take ``max_skew`` seconds."""
    try:
        signed_at, signed = c.amz_date_seconds(claim.amz_date)
    except ValueError:
        raise _malformed(f"invalid X-Amz-Date {claim.amz_date!r}", s3, presigned) from None
    if presigned:
        _check_presigned_window(signed_at, signed, claim.expires or 0, now, max_skew, s3)
    elif abs(now - signed) > max_skew:
        raise _skew_error(signed_at, now, max_skew, s3)
    return signed_at


def _skew_error(signed_at: datetime, now: float, max_skew: float, s3: bool) -> RequestTimeSkewedError:
    """The error for a request time more than ``max_skew`` seconds (15 min) from the server's clock.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html ("the request
    timestamp … must be within five/fifteen minutes"); S3 answers RequestTimeTooSkewed.
    """
    if s3:
        return RequestTimeSkewedError("The difference between the request time and the current time is too large.")
    moment, skew = datetime.fromtimestamp(now, timezone.utc), timedelta(seconds=max_skew)
    stamp, server = c.format_amz_date(signed_at), c.format_amz_date(moment)
    minutes = int(max_skew // 60)
    if signed_at < moment:
        message = f"Signature expired: {stamp} is now earlier than {c.format_amz_date(moment - skew)} ({server} - {minutes} min.)"
    else:
        message = f"Signature not yet current: {stamp} is still later than {c.format_amz_date(moment + skew)} ({server} + {minutes} min.)"
    return RequestTimeSkewedError(message, code="SignatureDoesNotMatch")


def _check_presigned_window(
    signed_at: datetime, signed: int, expires: int, now: float, max_skew: float, s3: bool
) -> None:
    """Presigned: valid for ``signed <= now < signed + expires`` (Unix seconds).

    A URL dated in the future is tolerated up to ``max_skew`` (the signer's clock may run
    ahead, as for header auth); past that it is a skew error. S3 answers an expired URL with
    ``AccessDenied`` / "Request has expired" (403).
    """
    if now >= signed + expires:
        raise ExpiredCredentialsError("Request has expired", code="AccessDenied", http_status=403)
    if signed - now > max_skew:
        raise _skew_error(signed_at, now, max_skew, s3)


def _payload_hash(view: RequestView, s3: bool, presigned: bool) -> str:
    """The payload hash line of the canonical request, checked against the body when signed.

    * a declared ``x-amz-content-sha256`` (header, or ``X-Amz-Content-Sha256`` query parameter
      for presigned URLs) is used as is; hex values are compared with the body when it is given;
    * S3 presigned URLs without one use ``UNSIGNED-PAYLOAD``;
    * S3 header auth requires the header
      (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html);
    * other services hash the body.
    """
    declared = view.query_param("X-Amz-Content-Sha256") if presigned else None
    if declared is None:
        declared = view.header("x-amz-content-sha256")
    if declared is None:
        if s3 and presigned:
            return c.UNSIGNED_PAYLOAD
        if s3:
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
    view: RequestView,
    claim: SigV4Claim,
    key: c.SigningKey,
    payload_hash: str,
    s3: bool,
    presigned: bool,
    normalize_path: bool | None,
) -> None:
    headers = c.view_header_map(view)
    for name in claim.signed:
        if name not in headers:
            raise SignatureMismatchError(f"signed header {name!r} is not present in the request")
    if s3:
        _check_amz_headers_signed(headers, claim.signed, presigned)
    scope = c.credential_scope(claim.date, claim.region, claim.service)
    matched = False
    for excluded in _query_exclusions(view, s3, presigned):
        canonical = c.canonical_request_for(
            view,
            signed=claim.signed,
            payload_hash=payload_hash,
            s3=s3,
            normalize=normalize_path,
            exclude_query=excluded,
            headers=headers,
        )
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


def _query_exclusions(view: RequestView, s3: bool, presigned: bool) -> Sequence[tuple[str, ...]]:
    """Which query parameters the canonical query string may leave out.

    Presigned URLs always drop ``X-Amz-Signature``. Some non-S3 services let the client append
    ``X-Amz-Security-Token`` after signing (aws4 suite ``post-sts-header-after``), so for them a
    second reading without the token is tried; the token is still returned and must be bound
    to the access key by the STS layer. S3 requires the token to be signed.
    """
    if not presigned:
        return _ONE_READING
    readings: list[tuple[str, ...]] = [("X-Amz-Signature",)]
    if not s3 and view.query_param("X-Amz-Security-Token") is not None:
        readings.append(("X-Amz-Signature", "X-Amz-Security-Token"))
    return readings


def _check_amz_headers_signed(
    headers: Mapping[str, Sequence[str]], signed: tuple[str, ...], presigned: bool
) -> None:
    """S3 rejects requests carrying ``x-amz-*`` headers that are not signed.

    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (presigned:
    "There were headers present in the request which were not signed"). The session token and
    the payload-hash header are exempt: they are bound by the signature's scope/payload line.
    """
    exempt = {"x-amz-security-token", "x-amz-content-sha256"}
    unsigned = sorted(n for n in headers if n.startswith("x-amz-") and n not in signed and n not in exempt)
    if unsigned:
        raise AuthenticationError(
            f"There were headers present in the request which were not signed: {', '.join(unsigned)}",
            code="AccessDenied",
            http_status=403,
        )


def _session_token(view: RequestView, presigned: bool) -> str | None:
    """X-Amz-Security-Token from the query (presigned) or the header; returned for STS to judge."""
    from_query = view.query_param("X-Amz-Security-Token") if view.query_string else None
    from_header = view.header("x-amz-security-token")
    if from_query is not None and from_header is not None and from_query != from_header:
        raise AuthenticationError(
            "conflicting X-Amz-Security-Token values", code="InvalidToken", http_status=400
        )
    return from_query if presigned and from_query is not None else (from_header or from_query)


def _missing_auth(s3: bool) -> AuthenticationError:
    if s3:
        return AuthenticationError("Access Denied", code="AccessDenied", http_status=403)
    return AuthenticationError(
        "Request is missing Authentication Token", code="MissingAuthenticationToken", http_status=403
    )


def _unknown_key(s3: bool) -> InvalidAccessKeyError:
    if s3:
        return InvalidAccessKeyError(
            "The AWS Access Key Id you provided does not exist in our records.", code="InvalidAccessKeyId"
        )
    return InvalidAccessKeyError("The security token included in the request is invalid.")
