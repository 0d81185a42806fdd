"""Stage 1 of the request path: who is calling? Pluggable authenticators, sans-I/O.

authenticate → principal → resolve policies → evaluate → decide → enforce/audit

An :class:`Authenticator` is a generator flow (STYLE.md §5): it inspects a
:class:`~iamguard.authn.request_view.RequestView`, yields a lookup when it needs the store
(:class:`~iamguard.lookups.GetAccessKey`, :class:`~iamguard.lookups.ResolvePrincipal`) and returns an
:class:`Authenticated` — or ``None`` when the request is not its kind ("try the next one", as
starlette's ``AuthenticationBackend``), or raises an
:class:`~iamguard.errors.AuthenticationError` when it is its kind but does not check out.
The guard drives the flows with a sync or an async store; no I/O happens here.

Built-ins:

* :class:`SigV4Authenticator` — AWS Signature Version 4 (header or presigned). Long-term keys
  (``AKIA…``) are looked up in the store; temporary ones (``ASIA…``) are judged by the
  :class:`~iamguard.authn.session_token.SessionTokenService` alone from
  ``X-Amz-Security-Token`` (no store round trip). aws-chunked bodies are de-chunked and every
  chunk signature verified.
* :class:`BearerAuthenticator` — opt-in ``Authorization: Bearer <SessionToken>``.
* :class:`AnonymousAuthenticator` — optional last resort: the anonymous principal, which only a
  resource policy granting ``"Principal": "*"`` can allow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Protocol

from iamguard._frozen import slot_builder
from iamguard._memo import Memo
from iamguard.authn import canonical as c
from iamguard.authn.chunked import decode_aws_chunked
from iamguard.authn.context import RequestMeta
from iamguard.authn.request_view import RequestView, decode_component
from iamguard.authn.session_token import SessionClaims, SessionTokenService, is_session_access_key_id
from iamguard.authn.sigv4 import (
    STREAMING_PAYLOADS,
    QueryReading,
    SigV4Claim,
    VerifiedRequest,
    parse_sigv4_read,
    verify_claim,
)
from iamguard.context import ContextValue
from iamguard.errors import (
    AuthenticationError,
    ExpiredCredentialsError,
    InvalidAccessKeyError,
    InvalidParameterError,
    PayloadRequiredError,
)
from iamguard.lookups import (
    GET_GENERATION,
    AccessKey,
    GetAccessKey,
    GetGeneration,
    ResolvedPrincipal,
    ResolvePrincipal,
)
from iamguard.principal import Principal, PrincipalType

__all__ = [
    "ANONYMOUS",
    "EMPTY_CONTEXT",
    "AnonymousAuthenticator",
    "AuthFlow",
    "Authenticated",
    "Authenticator",
    "BearerAuthenticator",
    "GetAccessKey",
    "PayloadRequiredError",
    "SigV4Authenticator",
    "principal_from_record",
]

#: The request context of an :class:`Authenticated` made without one: read-only and shared.
EMPTY_CONTEXT: Mapping[str, ContextValue] = MappingProxyType({})

#: The caller of an unsigned request. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous
ANONYMOUS = Principal(arn="*", account="", type=PrincipalType.ANONYMOUS)


AuthLookup = GetAccessKey | ResolvePrincipal | GetGeneration
AuthFlow = Generator[AuthLookup, object, "Authenticated | None"]


@dataclass(frozen=True, slots=True)
class Authenticated:
    """What authentication proved: the principal, and how.

    ``method`` is ``"sigv4"``, ``"bearer"``, ``"anonymous"`` or ``"explicit"`` (set in code).
    ``claims`` holds the session's claims for temporary credentials (its session policies are
    read from them); ``body`` is the request body as the application must see it (de-chunked
    for aws-chunked uploads), ``None`` when unchanged.
    """

    principal: Principal
    method: str = "explicit"
    access_key_id: str | None = None
    verified: VerifiedRequest | None = None
    claims: SessionClaims | None = field(default=None, repr=False)
    body: bytes | None = field(default=None, repr=False)
    #: The request's global condition keys (aws:SourceIp, aws:CurrentTime, ...), set by the guard.
    context: Mapping[str, ContextValue] = field(default_factory=lambda: EMPTY_CONTEXT, repr=False)
    request_id: str = ""
    started: float = 0.0  # time.perf_counter() when the request arrived (audit latency)

    @property
    def service(self) -> str | None:
        """The SigV4 scope's service (``None`` when the request was not SigV4-signed)."""
        return None if self.verified is None else self.verified.service


#: ``Authenticated(...)`` with every field given positionally, in field order: built on the hot
#: path without the frozen dataclass's per-field ``object.__setattr__`` (see iamguard._frozen).
new_authenticated = slot_builder(Authenticated)


class Authenticator(Protocol):
    """Turns a request into an :class:`Authenticated`, ``None`` ("not mine"), or raises."""

    def authenticate(self, view: RequestView, meta: RequestMeta) -> AuthFlow:
        """A flow yielding store lookups and returning the caller, ``None`` (not mine) or raising."""


def principal_from_record(record: ResolvedPrincipal, partition: str = "aws") -> Principal:
    """The principal of a stored user or root (what a long-term access key signs as)."""
    if record.kind == "root":
        return Principal(
            arn=record.arn, account=record.account_id, type=PrincipalType.ACCOUNT, user_id=record.account_id
        )
    tags = dict(record.tags)
    return Principal.from_arn(record.arn, tags=tags, user_id=record.unique_id)


#: What a verified SigV4 request proves: (principal, verified request, session claims or ``None``,
#: de-chunked body or ``None`` when the body is unchanged).
Proven = tuple[Principal, VerifiedRequest, "SessionClaims | None", "bytes | None"]

#: Long-term keys whose secret and owner an authenticator remembers (per store generation).
_KEYS_MAX = 4096

#: Authorization schemes SigV4 answers for (SigV2's "AWS " is refused with AWS's own error).
_AWS_SCHEMES = ("AWS4-", "AWS ")


def _s3_token_error(error: AuthenticationError) -> AuthenticationError:
    """S3's answer to a session token that does not verify: ``ExpiredToken`` / ``InvalidToken``,
    both 400, where STS and the other services answer ``ExpiredToken`` / ``InvalidClientTokenId``.

    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
    """
    if isinstance(error, ExpiredCredentialsError):
        return ExpiredCredentialsError(
            "The provided token has expired.", code="ExpiredToken", http_status=400
        )
    return AuthenticationError(
        "The provided token is malformed or otherwise invalid.", code="InvalidToken", http_status=400
    )


def _region_set(regions: str | Iterable[str] | None) -> frozenset[str] | None:
    if regions is None:
        return None
    found = frozenset((regions,) if isinstance(regions, str) else regions)
    if not found or any(not r or r == "*" for r in found):
        raise InvalidParameterError(f"regions must name one or more regions, got {regions!r}")
    return found


class SigV4Authenticator:
    """AWS SigV4, header or presigned; long-term keys from the store, session keys from tokens.

    ``sessions`` verifies ``X-Amz-Security-Token`` for ``ASIA…`` keys (without it such keys are
    unknown). ``service`` pins the service the credential scope must name (``"s3"``) and picks
    S3's error codes. ``regions`` (one region or several) are the regions the credential scope
    may name, as a regional AWS endpoint accepts only its own; ``None`` accepts any well-formed
    region (a building block; :class:`~iamguard.enforce.guard.Guard` always passes its regions).
    ``max_skew`` is AWS's 15 minutes. ``clock`` returns Unix seconds.
    """

    def __init__(
        self,
        *,
        sessions: SessionTokenService | None = None,
        service: str | None = None,
        regions: str | Iterable[str] | None = None,
        max_skew: timedelta = timedelta(minutes=15),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._service = service
        self._regions = _region_set(regions)
        self._max_skew = max_skew
        self._clock = clock
        # access key id -> (store generation, secret, owner record, owner principal): a hit is
        # one dict lookup; the generation in the value is checked by every reader.
        self._keys: Memo[str, tuple[object, str, ResolvedPrincipal, Principal]] = Memo(
            "sigv4 long-term keys", _KEYS_MAX
        )

    def authenticate(self, view: RequestView, meta: RequestMeta) -> AuthFlow:
        """The signer of a SigV4 request (header or presigned); ``None`` when it is not SigV4."""
        found = self._claim(view)
        if found is None:
            return None  # not a SigV4 request: another authenticator's
        claim, token, reading = found
        akid = claim.access_key_id
        owner: Principal | None = None
        storeless = self._storeless(akid, token)
        if storeless is not None:
            claims, secret = storeless
        else:
            # The key's secret and owner, memoized per store generation. INVARIANT: an entry is
            # used only while the store generation is the one it was read at, so deactivating or
            # deleting a key (a write, which bumps the generation) applies to the very next
            # request. The hit is checked here, without a generator of its own.
            claims = None
            generation = yield GET_GENERATION
            cached = self._keys.get(akid)
            if cached is not None and cached[0] == generation:
                secret, owner = cached[1], cached[3]
            else:
                secret, owner = yield from self._long_term_lookup(akid, generation)
        principal, verified, claims, body = self._prove(view, claim, reading, secret, claims, owner)
        return new_authenticated(principal, "sigv4", akid, verified, claims, body, EMPTY_CONTEXT, "", 0.0)

    def remembered(self, view: RequestView, generation: Callable[[], object]) -> Proven | None:
        """:meth:`authenticate` without the flow, for a guard with a sync store: what the
        request proves, or ``None`` when the flow must decide (not a SigV4 request, or a
        long-term key not remembered at the store's current generation, read by calling
        ``generation``). Raises exactly what the flow would raise.

        Session keys need no store, so they are always decided here.
        """
        found = self._claim(view)
        if found is None:
            return None
        claim, token, reading = found
        storeless = self._storeless(claim.access_key_id, token)
        if storeless is not None:
            return self._prove(view, claim, reading, storeless[1], storeless[0], None)
        cached = self._keys.get(claim.access_key_id)
        if cached is None or cached[0] != generation():
            return None
        return self._prove(view, claim, reading, cached[1], None, cached[3])

    def _claim(self, view: RequestView) -> tuple[SigV4Claim, str | None, QueryReading | None] | None:
        """The request's SigV4 claim, security token and presigned query reading (see
        :func:`~iamguard.authn.sigv4.parse_sigv4_read`); ``None`` when it is not SigV4."""
        header = view.header("authorization")
        if header is not None and not header.startswith(_AWS_SCHEMES):
            return None  # another scheme (Bearer, Basic): not ours
        # one parse; raises when malformed
        claim, reading = parse_sigv4_read(view, service_hint=self._service)
        if claim is None:
            return None
        if reading is not None:  # the query was read once already: its token is there
            raw = reading.params.get("X-Amz-Security-Token")
            token = decode_component(raw) if raw else None
        else:
            token = view.query_param("X-Amz-Security-Token") if view.query_string else None
        return claim, token or view.header("x-amz-security-token"), reading

    def _storeless(self, akid: str, token: str | None) -> tuple[SessionClaims | None, str | None] | None:
        """The claims and secret of a key decided without the store; ``None`` when the store
        must answer (a long-term key sent without a token).

        A session key is judged by its token alone (no secret without a token or a token
        service); a long-term key sent with a token gets no secret, so :meth:`_prove` refuses
        it (the token is not that key's).
        """
        if is_session_access_key_id(akid):
            if self._sessions is not None and token:
                try:
                    return self._sessions.verify_with_secret(token, access_key_id=akid)
                except AuthenticationError as error:
                    if self._service is not None and c.uses_s3_uri_rules(self._service):
                        raise _s3_token_error(error) from None
                    raise
            return None, None
        return (None, None) if token else None

    def _prove(
        self,
        view: RequestView,
        claim: SigV4Claim,
        reading: QueryReading | None,
        secret: str | None,
        claims: SessionClaims | None,
        owner: Principal | None,
    ) -> Proven:
        """Verify ``claim`` with ``secret`` (``None``: unknown key) and name the caller."""
        verified = verify_claim(
            view,
            claim,
            lambda _akid: secret,
            now=float(self._clock()),
            service_hint=self._service,
            regions=self._regions,
            max_skew=self._max_skew,
            reading=reading,
        )
        body = None
        if verified.payload_hash in STREAMING_PAYLOADS:
            if view.body is None:
                raise PayloadRequiredError()
            body = decode_aws_chunked(view, verified).data
        if claims is not None:
            principal = claims.to_principal(now=self._clock())
        elif owner is not None:
            principal = owner
        else:  # pragma: no cover - verify_claim refuses a request whose secret is unknown
            raise InvalidAccessKeyError("The security token included in the request is invalid.")
        return principal, verified, claims, body

    def _long_term_lookup(
        self, akid: str, generation: object
    ) -> Generator[AuthLookup, object, tuple[str | None, Principal | None]]:
        """The key's secret and owner's principal from the store, memoized under ``generation``
        (read just before). Unknown keys are not memoized."""
        found = yield GetAccessKey(akid)
        secret, record = yield from self._long_term(found)
        if secret is None or record is None:
            return None, None
        # The principal is a pure function of the record: built once per generation, and the
        # same object each request (downstream memos keyed by principal identity then hit).
        principal = principal_from_record(record)
        self._keys.put(akid, (generation, secret, record, principal))
        return secret, principal

    @staticmethod
    def _long_term(
        found: object,
    ) -> Generator[AuthLookup, object, tuple[str | None, ResolvedPrincipal | None]]:
        """The secret and owner of an active long-term key; ``(None, None)`` when unusable."""
        if not isinstance(found, tuple) or len(found) != 2:
            return None, None
        key, secret = found
        if not isinstance(key, AccessKey) or not key.active or not key.owner_arn:
            # An inactive key is refused like an unknown one, as AWS does.
            return None, None
        owner = yield ResolvePrincipal(key.owner_arn)
        if not isinstance(owner, ResolvedPrincipal):
            return None, None  # the owner vanished: the key is as good as unknown
        return str(secret), owner


class BearerAuthenticator:
    """``Authorization: Bearer <SessionToken>``: the session's principal, no signature.

    Opt-in: a bearer token is a password-equivalent for its lifetime, so use it only over TLS
    and for clients that cannot sign. The token must be genuine and current
    (:meth:`SessionTokenService.verify`); no store lookup is needed.
    """

    def __init__(self, sessions: SessionTokenService, *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock

    def authenticate(self, view: RequestView, meta: RequestMeta) -> AuthFlow:
        """The session of a genuine, current bearer token; ``None`` without a ``Bearer`` header."""
        header = view.header("authorization")
        if header is None or header[:7].lower() != "bearer ":
            return None
        if False:  # pragma: no cover - makes this a generator like every authenticator
            yield GetGeneration()
        claims = self._sessions.verify(header[7:].strip())
        return Authenticated(
            claims.to_principal(now=self._clock()), "bearer", claims.access_key_id, claims=claims
        )


class AnonymousAuthenticator:
    """Accepts any request that carries no credentials, as the anonymous principal.

    Put it last: requests carrying credentials are judged by the authenticators before it.
    """

    def authenticate(self, view: RequestView, meta: RequestMeta) -> AuthFlow:
        """The anonymous principal for a request carrying no credentials at all, else ``None``."""
        if False:  # pragma: no cover - makes this a generator like every authenticator
            yield GetGeneration()
        if view.has_header("authorization") or view.query_param("X-Amz-Credential") is not None:
            return None
        return Authenticated(ANONYMOUS, "anonymous")
