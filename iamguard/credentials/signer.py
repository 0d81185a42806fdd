"""Client side: sign requests with SigV4 (Authorization header) or presign them (query string).

Built on :mod:`iamguard.authn.canonical`, the same code the verifier uses, so a request signed
here is verified there by construction; the tests also pin it to botocore's signatures. Follows
botocore's choices where the spec leaves room: every header is signed except hop-by-hop and
tracing ones (``user-agent``, ``expect``, ``transfer-encoding``, …); S3 always sends
``X-Amz-Content-SHA256``; S3 presigned URLs use ``UNSIGNED-PAYLOAD``.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView, host_from_url
from iamguard.authn.sigv4 import MAX_PRESIGNED_EXPIRES
from iamguard.errors import InvalidParameterError

__all__ = [
    "UNSIGNED_HEADERS",
    "SigningCredentials",
    "StaticCredentials",
    "presign_request",
    "presign_url",
    "sign_request",
    "sign_url",
]

#: Headers never signed: proxies and the HTTP stack may change them (botocore's blacklist).
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)


class SigningCredentials(Protocol):
    """What signing needs; :class:`StaticCredentials` and provider credentials conform."""

    @property
    def access_key_id(self) -> str:
        """The access key id (``AKIA…`` or ``ASIA…``)."""

    @property
    def secret_access_key(self) -> str:
        """The secret that derives the signing key; never sent."""

    @property
    def session_token(self) -> str | None:
        """The session token of temporary credentials (sent as ``X-Amz-Security-Token``)."""


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """A fixed key pair (plus optional session token); the secret never appears in ``repr``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def _timestamp(now: datetime | None) -> str:
    return c.format_amz_date(now if now is not None else datetime.now(timezone.utc))


def _names_to_sign(view: RequestView) -> list[str]:
    return sorted({name.strip().lower() for name, _ in view.headers} - UNSIGNED_HEADERS)


def _require_host(view: RequestView) -> None:
    if not view.has_header("host"):
        raise InvalidParameterError("the request needs a Host header to be signed (use sign_url for a URL)")


def _sign(
    view: RequestView,
    credentials: SigningCredentials,
    *,
    amz_date: str,
    region: str,
    service: str,
    signed: list[str],
    payload_hash: str,
    presigned: bool,
    normalize_path: bool | None,
) -> str:
    """The hex signature of ``view`` (the canonical request is built exactly as the verifier does)."""
    canonical = c.canonical_request_for(
        view,
        signed=signed,
        payload_hash=payload_hash,
        s3=c.uses_s3_uri_rules(service),
        normalize=normalize_path,
        exclude_query=("X-Amz-Signature",) if presigned else (),
    )
    scope = c.credential_scope(amz_date[:8], region, service)
    key = c.signing_key(credentials.secret_access_key, amz_date[:8], region, service)
    return c.signature(key, c.string_to_sign(amz_date, scope, canonical))


def _header_payload_hash(view: RequestView, sign_payload: bool) -> str:
    declared = view.header("x-amz-content-sha256")
    if declared is not None:
        return declared.strip()
    if not sign_payload:
        return c.UNSIGNED_PAYLOAD
    return c.hash_payload(view.body or b"")


def sign_request(
    view: RequestView,
    credentials: SigningCredentials,
    *,
    region: str,
    service: str,
    now: datetime | None = None,
    sign_payload: bool = True,
    normalize_path: bool | None = None,
) -> RequestView:
    """A copy of ``view`` with ``X-Amz-Date``, payload hash, token and ``Authorization`` headers.

    An ``x-amz-content-sha256`` already on the request (a streaming value, say) is kept and
    signed; otherwise the body is hashed, or ``UNSIGNED-PAYLOAD`` is used if ``sign_payload``
    is false. ``view`` must carry a ``Host`` header. ``normalize_path`` as in
    :func:`iamguard.authn.sigv4.verify_sigv4` (``None``: normalize unless S3).
    """
    _require_host(view)
    view = replace(view, method=view.method.upper())
    amz_date = _timestamp(now)
    payload_hash = _header_payload_hash(view, sign_payload)
    added = [("X-Amz-Date", amz_date)]
    if c.uses_s3_uri_rules(service) or payload_hash == c.UNSIGNED_PAYLOAD:
        added.append(("X-Amz-Content-SHA256", payload_hash))
    if credentials.session_token:
        added.append(("X-Amz-Security-Token", credentials.session_token))
    view = view.with_headers(added, drop=("authorization", "x-amz-date", "x-amz-security-token"))
    signed = _names_to_sign(view)
    sig = _sign(
        view,
        credentials,
        amz_date=amz_date,
        region=region,
        service=service,
        signed=signed,
        payload_hash=payload_hash,
        presigned=False,
        normalize_path=normalize_path,
    )
    scope = c.credential_scope(amz_date[:8], region, service)
    authorization = (
        f"{c.ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return view.with_headers([("Authorization", authorization)])


def presign_request(
    view: RequestView,
    credentials: SigningCredentials,
    *,
    region: str,
    service: str,
    expires_in: int = 3600,
    now: datetime | None = None,
    normalize_path: bool | None = None,
) -> RequestView:
    """A copy of ``view`` whose query carries the SigV4 parameters and ``X-Amz-Signature``.

    ``expires_in`` is 1..604800 seconds (7 days). S3 signs ``UNSIGNED-PAYLOAD``; other services
    sign the hash of the body (empty for a GET), as botocore's ``SigV4QueryAuth`` does.
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    """
    if not 1 <= expires_in <= MAX_PRESIGNED_EXPIRES:
        raise InvalidParameterError(f"expires_in must be between 1 and {MAX_PRESIGNED_EXPIRES} seconds")
    _require_host(view)
    view = replace(view, method=view.method.upper())
    amz_date = _timestamp(now)
    signed = _names_to_sign(view)
    params = [
        ("X-Amz-Algorithm", c.ALGORITHM),
        (
            "X-Amz-Credential",
            f"{credentials.access_key_id}/{c.credential_scope(amz_date[:8], region, service)}",
        ),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", ";".join(signed)),
    ]
    if credentials.session_token:
        params.append(("X-Amz-Security-Token", credentials.session_token))
    view = view.with_query(_append_query(view.query_string, params))
    payload_hash = c.UNSIGNED_PAYLOAD if c.uses_s3_uri_rules(service) else c.hash_payload(view.body or b"")
    sig = _sign(
        view,
        credentials,
        amz_date=amz_date,
        region=region,
        service=service,
        signed=signed,
        payload_hash=payload_hash,
        presigned=True,
        normalize_path=normalize_path,
    )
    return view.with_query(_append_query(view.query_string, [("X-Amz-Signature", sig)]))


def _append_query(query: str, params: Iterable[tuple[str, str]]) -> str:
    encoded = "&".join(f"{c.uri_encode(k)}={c.uri_encode(v)}" for k, v in params)
    return f"{query}&{encoded}" if query else encoded


def _view_for_url(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes | None
) -> RequestView:
    view = RequestView.from_url(method, url, headers, body)
    if not view.has_header("host"):
        view = replace(view, headers=(("Host", host_from_url(url)), *view.headers))
    return view


def sign_url(
    method: str,
    url: str,
    credentials: SigningCredentials,
    *,
    region: str,
    service: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    now: datetime | None = None,
    sign_payload: bool = True,
) -> RequestView:
    """Sign a request given by URL (already percent-encoded); ``Host`` is derived from the URL."""
    view = _view_for_url(method, url, headers, body)
    return sign_request(view, credentials, region=region, service=service, now=now, sign_payload=sign_payload)


def presign_url(
    method: str,
    url: str,
    credentials: SigningCredentials,
    *,
    region: str,
    service: str,
    expires_in: int = 3600,
    now: datetime | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> str:
    """A presigned URL for ``method url``, valid for ``expires_in`` seconds from ``now``."""
    view = _view_for_url(method, url, headers, None)
    signed = presign_request(
        view, credentials, region=region, service=service, expires_in=expires_in, now=now
    )
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, signed.query_string, parts.fragment))
