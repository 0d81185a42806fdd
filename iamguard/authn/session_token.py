"""STS session tokens: issue and verify temporary credentials without a store round trip.

Stage 1 of the request path (authenticate), sans-I/O: the SigV4 verifier meets an ``ASIA...``
access key with an ``X-Amz-Security-Token``, calls :meth:`SessionTokenService.verify` and then
:meth:`SessionTokenService.secret_for` to get the secret it checks the signature with.

Temporary credentials are ``AccessKeyId`` (``ASIA`` + 16 characters), ``SecretAccessKey`` (40
characters), ``SessionToken`` and ``Expiration``
(https://docs.aws.amazon.com/STS/latest/APIReference/API_Credentials.html). The session token is
a JWT signed with the primary key of a :class:`~iamguard.keyring.KeyRing`; it carries the whole
session (ARN, role, tags, MFA, session policies, ...), so verification needs no database.

Where the secret access key comes from
--------------------------------------
The token carries only public inputs; the secret is **derived**::

    secret = base64(HMAC-SHA256(derivation_key[kid], "iamguard-sts-secret/v1" 0 akid 0 iat 0 jti))[:40]

``derivation_key[kid]`` is per signing key, distinct from the JWT signing key and never leaves
the service. We chose derivation over encrypting the secret into the token (AES-GCM, JWE-like)
because: the token stays smaller and fully inspectable (no ciphertext, no nonce whose reuse
would break GCM); the secret is a deterministic function of claims the signature already
protects, so there is nothing extra to tamper with; and rotating a key rotates both the
signature and the derivation at once. Consequences: a leaked token (or a database dump, which
never saw the secret) is not enough to sign requests, and signing keys alone cannot produce
secrets either.

Verified-token cache
--------------------
An Ed25519 signature check costs a few hundred microseconds, and every request made with session
credentials would pay it. :class:`SessionTokenService` therefore remembers tokens it has fully
verified, in a bounded :class:`cachetools.TLRUCache` (a TTL cache with a per-entry lifetime):

* the key is the SHA-256 digest of the token text plus the keyring's
  :attr:`~iamguard.keyring.KeyRing.version` read *before* verifying, never the token itself (a
  key can end up in a log or a heap dump; a bearer token must not);
* the value is the claims and the derived secret; only tokens whose signature, claims and times
  all passed are stored, so a forged token can never be served from the cache;
* an entry lives ``min(cache_ttl, time left on the token)`` on the injected clock, and every hit
  re-checks ``nbf``/``iat``/``exp`` (integer compares) and evicts an expired token, so an expired
  token is refused with ``ExpiredToken`` exactly as without the cache;
* any keyring change (add, rotate, retire, prune) bumps its version: older entries can never be
  found again and the cache is cleared when the change is noticed;
* the ``access_key_id`` binding is compared (in constant time) on every call, hit or miss.

``cache_size=0`` turns the cache off.

Errors are AWS's: a token that is malformed, forged, signed by an unknown or retired key, with a
mismatched algorithm, not yet valid, or presented with another access key id raises
:class:`~iamguard.errors.InvalidAccessKeyError` (``InvalidClientTokenId``, "The security token
included in the request is invalid"); an expired one raises
:class:`~iamguard.errors.ExpiredCredentialsError` (``ExpiredToken``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import jwt
from cachetools import TLRUCache

from iamguard.errors import ExpiredCredentialsError, InvalidAccessKeyError, InvalidParameterError, STSError
from iamguard.keyring import KeyRing, SigningKey
from iamguard.principal import Principal, PrincipalType

__all__ = [
    "IssuedCredentials",
    "SessionClaims",
    "SessionTokenService",
    "generate_access_key_id",
    "is_session_access_key_id",
]

_INVALID_MESSAGE = "The security token included in the request is invalid."
_EXPIRED_MESSAGE = "The security token included in the request is expired"
_DERIVATION_LABEL = b"iamguard-sts-secret/v1"
_ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ACCESS_KEY_ID = re.compile(r"ASIA[A-Z2-7]{16}")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_MAX_TOKEN_CHARS = 65536
# https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html: 900 s .. 36 h,
# the widest range of any STS operation; each operation narrows it (service.py).
_MIN_DURATION, _MAX_DURATION = 900, 129600
_REQUIRED_CLAIMS = ["iss", "sub", "iat", "nbf", "exp", "jti", "akid"]


def generate_access_key_id() -> str:
    """``ASIA`` + 16 random base32 characters, the shape of AWS temporary access key ids."""
    return "ASIA" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16))


def is_session_access_key_id(access_key_id: str) -> bool:
    """Whether ``access_key_id`` has the shape of a session key (``ASIA`` and 16 more characters)."""
    return access_key_id[:4] == "ASIA" and _ACCESS_KEY_ID.fullmatch(access_key_id) is not None


def _iso(epoch: int) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """Everything a session token asserts, once its signature and times are verified."""

    access_key_id: str
    arn: str
    account: str
    principal_type: str
    user_id: str
    role_arn: str | None
    session_name: str | None
    source_identity: str | None
    tags: Mapping[str, str]
    transitive_tag_keys: tuple[str, ...]
    mfa_authenticated: bool
    auth_time: int | None
    issued_at: int
    expires_at: int
    session_policy: str | None
    policy_arns: tuple[str, ...]
    chained: bool
    jti: str
    federated: bool
    kid: str = ""  # the key that signed the token; selects the derivation key
    #: GetFederationToken sessions: the IAM user (or root) whose permissions cap the session.
    #: ``None`` otherwise, and on tokens issued before the claim existed.
    parent_arn: str | None = None

    @property
    def federation_parent(self) -> str | None:
        """A GetFederationToken session's parent (the IAM user or root whose policies cap it);
        ``None`` for other sessions. Tokens issued before ``parent_arn`` existed carried the
        parent's ARN in ``session_name`` (AWS has no session name for federated users)."""
        if not self.federated:
            return None
        return self.parent_arn if self.parent_arn is not None else self.session_name

    @property
    def expiration(self) -> _dt.datetime:
        """When the session expires (aware UTC datetime)."""
        return _dt.datetime.fromtimestamp(self.expires_at, _dt.timezone.utc)

    def to_principal(self, *, now: float | None = None) -> Principal:
        """The :class:`Principal` of this session.

        ``aws:TokenIssueTime`` is the ISO time of ``iat``; ``aws:MultiFactorAuthAge`` is the age
        of the MFA authentication at ``now`` (default: the current time).
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthage
        """
        kind = PrincipalType(self.principal_type)
        mfa_age: int | None = None
        if self.mfa_authenticated and self.auth_time is not None:
            at = time.time() if now is None else now
            mfa_age = max(0, int(at) - self.auth_time)
        name = self.arn.rsplit("/", 1)[-1] if kind is PrincipalType.USER else ""
        return Principal(
            arn=self.arn,
            account=self.account,
            type=kind,
            user_id=self.user_id,
            name=name,
            tags=MappingProxyType(dict(self.tags)),
            role_arn=self.role_arn,
            session_name=self.session_name,
            source_identity=self.source_identity,
            mfa_authenticated=self.mfa_authenticated,
            mfa_age_seconds=mfa_age,
            token_issue_time=_iso(self.issued_at),
        )


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """Temporary credentials as STS returns them; ``repr()`` never shows the secret."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: _dt.datetime


def _compact_policy(policy: str | Mapping[str, Any] | None) -> str | None:
    if policy is None:
        return None
    try:
        document = json.loads(policy) if isinstance(policy, str) else dict(policy)
    except ValueError:
        raise STSError(
            "The session policy is not valid JSON.", code="MalformedPolicyDocument", http_status=400
        ) from None
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _canonical_segments(token: str) -> bool:
    """Three base64url segments, each in its one canonical spelling.

    Base64url's last character can carry unused low bits; without this check a token whose
    signature differs only in those bits would still verify (a malleable token).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return False
    for part in parts:
        if not part or _SEGMENT.fullmatch(part) is None or len(part) % 4 == 1:
            return False
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            return False
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != part:
            return False
    return True


@dataclass(frozen=True, slots=True)
class _Verified:
    """A cache entry: what one genuine token proved, and under which key."""

    claims: SessionClaims
    secret: str = field(repr=False)
    key: SigningKey = field(repr=False)
    not_before: int


def _secret_index(claims: SessionClaims, version: int) -> tuple[bytes, int]:
    """The second cache key of an entry, for :meth:`SessionTokenService.secret_for`.

    INVARIANT: never equal to a token key, whose first part is a 32-byte SHA-256 digest; this one
    starts with a NUL byte and is longer than 32 bytes (the jti alone is 22 characters).
    """
    return b"\x00secret\x00" + claims.kid.encode("utf-8") + b"\x00" + claims.jti.encode("utf-8"), version


def _entry_expiry(max_ttl: float, leeway: int) -> Callable[[tuple[bytes, int], _Verified, float], float]:
    """TLRU time-to-use: ``max_ttl`` from now, but never past the moment the token expires."""

    def expiry(_key: tuple[bytes, int], entry: _Verified, now: float) -> float:
        return min(now + max_ttl, entry.claims.expires_at + leeway)

    return expiry


class SessionTokenService:
    """Issues and verifies session tokens under a :class:`KeyRing`.

    ``cache_size`` bounds the verified-token cache (0 disables it); ``cache_ttl`` is the longest
    an entry lives, in seconds of ``clock`` (see the module docstring).
    """

    __slots__ = ("_cache", "_cache_lock", "_cache_version", "_clock", "_issuer", "_keyring", "_leeway")

    def __init__(
        self,
        keyring: KeyRing,
        *,
        clock: Callable[[], float] = time.time,
        issuer: str = "iamguard-sts",
        leeway: int = 0,
        cache_size: int = 4096,
        cache_ttl: float = 300.0,
    ) -> None:
        if cache_size < 0 or cache_ttl < 0:
            raise InvalidParameterError("cache_size and cache_ttl must not be negative")
        self._keyring = keyring
        self._clock = clock
        self._issuer = issuer
        self._leeway = leeway
        self._cache_lock = threading.Lock()
        self._cache_version = keyring.version
        # Picked once: no cache at all when disabled, rather than a check per call.
        self._cache: TLRUCache[tuple[bytes, int], _Verified] | None = (
            TLRUCache(cache_size, _entry_expiry(cache_ttl, leeway), timer=clock)
            if cache_size > 0 and cache_ttl > 0
            else None
        )

    @property
    def keyring(self) -> KeyRing:
        """The keyring that signs and verifies this service's tokens."""
        return self._keyring

    # ------------------------------------------------------------------ issue

    def issue(
        self,
        *,
        arn: str,
        account: str,
        principal_type: str | PrincipalType,
        user_id: str,
        duration_seconds: int,
        role_arn: str | None = None,
        session_name: str | None = None,
        source_identity: str | None = None,
        tags: Mapping[str, str] | None = None,
        transitive_tag_keys: tuple[str, ...] = (),
        mfa_authenticated: bool = False,
        auth_time: int | None = None,
        session_policy: str | Mapping[str, Any] | None = None,
        policy_arns: tuple[str, ...] = (),
        chained: bool = False,
        federated: bool = False,
        parent_arn: str | None = None,
    ) -> tuple[IssuedCredentials, SessionClaims]:
        """New temporary credentials for a session described by the keyword arguments."""
        if not _MIN_DURATION <= duration_seconds <= _MAX_DURATION:
            raise STSError(
                f"1 validation error detected: Value '{duration_seconds}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value between {_MIN_DURATION} and {_MAX_DURATION}",
                code="ValidationError",
                http_status=400,
            )
        now = int(self._clock())
        key = self._keyring.primary(now)
        claims = SessionClaims(
            access_key_id=generate_access_key_id(),
            arn=arn,
            account=account,
            principal_type=PrincipalType(principal_type).value,
            user_id=user_id,
            role_arn=role_arn,
            session_name=session_name,
            source_identity=source_identity,
            tags=MappingProxyType(dict(tags or {})),
            transitive_tag_keys=tuple(transitive_tag_keys),
            mfa_authenticated=mfa_authenticated,
            auth_time=auth_time,
            issued_at=now,
            expires_at=now + duration_seconds,
            session_policy=_compact_policy(session_policy),
            policy_arns=tuple(policy_arns),
            chained=chained,
            jti=secrets.token_urlsafe(16),
            federated=federated,
            kid=key.kid,
            parent_arn=parent_arn,
        )
        assert key.signing_material is not None  # primary() returns only keys that can sign
        token = jwt.encode(
            self._payload(claims), key.signing_material, algorithm=key.alg, headers={"kid": key.kid}
        )
        credentials = IssuedCredentials(
            claims.access_key_id, self._derive(key, claims), token, claims.expiration
        )
        return credentials, claims

    def _payload(self, claims: SessionClaims) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "sub": claims.arn,
            "iat": claims.issued_at,
            "nbf": claims.issued_at,
            "exp": claims.expires_at,
            "jti": claims.jti,
            "akid": claims.access_key_id,
            "acct": claims.account,
            "ptype": claims.principal_type,
            "uid": claims.user_id,
            "mfa": claims.mfa_authenticated,
            "chn": claims.chained,
            "fed": claims.federated,
        }
        optional = {
            "role": claims.role_arn,
            "rsn": claims.session_name,
            "srcid": claims.source_identity,
            "at": claims.auth_time,
            "pol": claims.session_policy,
            "tags": dict(claims.tags) or None,
            "ttk": list(claims.transitive_tag_keys) or None,
            "parn": list(claims.policy_arns) or None,
            "prnt": claims.parent_arn,
        }
        payload.update({name: value for name, value in optional.items() if value is not None})
        return payload

    # ------------------------------------------------------------------ verify

    def verify(self, session_token: str, *, access_key_id: str | None = None) -> SessionClaims:
        """The claims of a genuine, current token; raises AWS's errors otherwise.

        INVARIANT: nothing from the token is trusted before the signature checks out under the
        key its ``kid`` names, with that key's pinned algorithm only (or, on a cache hit, before
        the very same text did so under the current keyring version).
        """
        return self._verified(session_token, access_key_id).claims

    def verify_with_secret(
        self, session_token: str, *, access_key_id: str | None = None
    ) -> tuple[SessionClaims, str]:
        """:meth:`verify` and :meth:`secret_for` in one call: the request path's entry point, which
        on a cache hit costs a digest, a lookup and a few integer compares."""
        entry = self._verified(session_token, access_key_id)
        return entry.claims, entry.secret

    def _verified(self, session_token: str, access_key_id: str | None) -> _Verified:
        # Tokens this service issues are ASCII; anything else (a query's undecodable bytes come
        # as surrogates) is refused here, before any encoding step could raise on it.
        if (
            not isinstance(session_token, str)
            or len(session_token) > _MAX_TOKEN_CHARS
            or not session_token.isascii()
            or (access_key_id is not None and not access_key_id.isascii())
        ):
            raise self._invalid()
        entry = self._verify_signed(session_token) if self._cache is None else self._via_cache(session_token)
        # The token is bound to one access key id; compared on every call, hit or miss.
        if access_key_id is not None and not hmac.compare_digest(
            access_key_id.encode("utf-8"), entry.claims.access_key_id.encode("utf-8")
        ):
            raise self._invalid()
        return entry

    def _via_cache(self, session_token: str) -> _Verified:
        """A cached entry whose times still hold on the injected clock, else a fresh verification."""
        version = self._keyring.version  # INVARIANT: read before any key is looked up
        cache_key = (hashlib.sha256(session_token.encode("utf-8")).digest(), version)
        cached = self._cache_get(cache_key, version)
        if cached is None:
            fresh = self._verify_signed(session_token)
            self._cache_put(cache_key, fresh)
            return fresh
        try:
            self._check_times(cached.claims, cached.not_before)
        except ExpiredCredentialsError:
            self._cache_evict(cache_key, cached)
            raise
        return cached

    def _verify_signed(self, session_token: str) -> _Verified:
        """Full verification (signature, strict claims, key window, times) of an uncached token."""
        key = self._key_for(session_token)
        try:
            payload = jwt.decode(
                session_token,
                key.verification_material,
                algorithms=[key.alg],
                issuer=self._issuer,
                options={
                    "verify_exp": False,  # checked below against the injected clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "require": _REQUIRED_CLAIMS,
                },
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise self._invalid() from None
        claims = _claims_from_payload(payload, key.kid)
        if claims is None or not key.accepts_issue_time(claims.issued_at, self._leeway):
            raise self._invalid()
        not_before: int = payload["nbf"]  # an int: _claims_from_payload checked it
        self._check_times(claims, not_before)
        return _Verified(claims, self._derive(key, claims), key, not_before)

    # ------------------------------------------------------------------ cache

    def _cache_get(self, cache_key: tuple[bytes, int], version: int) -> _Verified | None:
        cache = self._cache
        if cache is None:
            return None
        with self._cache_lock:
            if version != self._cache_version:
                # INVARIANT: entries learnt under another keyring version are never served.
                if version > self._cache_version:
                    cache.clear()
                    self._cache_version = version
                return None
            entry = cache.get(cache_key)
        # Belt and braces: the key that verified the entry must still be the ring's, unretired.
        if entry is not None and self._keyring.get(entry.claims.kid) is not entry.key:
            return None
        return entry

    def _cache_put(self, cache_key: tuple[bytes, int], entry: _Verified) -> None:
        if self._cache is not None:
            with self._cache_lock:
                if cache_key[1] == self._cache_version:
                    self._cache[cache_key] = entry
                    self._cache[_secret_index(entry.claims, cache_key[1])] = entry

    def _cache_evict(self, cache_key: tuple[bytes, int], entry: _Verified) -> None:
        if self._cache is not None:
            with self._cache_lock:
                self._cache.pop(cache_key, None)
                self._cache.pop(_secret_index(entry.claims, cache_key[1]), None)

    def clear_cache(self) -> None:
        """Forget every verified token (e.g. after replacing keys outside :class:`KeyRing`'s methods)."""
        if self._cache is not None:
            with self._cache_lock:
                self._cache.clear()

    @property
    def cache_info(self) -> tuple[int, int]:
        """``(entries, maxsize)`` of the verified-token cache; ``(0, 0)`` when it is off."""
        if self._cache is None:
            return 0, 0
        with self._cache_lock:
            return len(self._cache), int(self._cache.maxsize)

    def _key_for(self, token: object) -> SigningKey:
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or not _canonical_segments(token):
            raise self._invalid()
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise self._invalid() from None
        kid, alg = header.get("kid"), header.get("alg")
        key = self._keyring.get(kid) if isinstance(kid, str) else None
        # Alg confusion: the header may not choose the algorithm; it must equal the key's pin.
        if key is None or key.retired or not isinstance(alg, str) or alg != key.alg:
            raise self._invalid()
        return key

    def _check_times(self, claims: SessionClaims, nbf: int) -> None:
        now = self._clock()
        if claims.expires_at <= claims.issued_at:
            raise self._invalid()
        if now + self._leeway < nbf or now + self._leeway < claims.issued_at:
            raise self._invalid()
        if now - self._leeway >= claims.expires_at:
            raise ExpiredCredentialsError(_EXPIRED_MESSAGE)

    @staticmethod
    def _invalid() -> InvalidAccessKeyError:
        return InvalidAccessKeyError(_INVALID_MESSAGE)

    # ------------------------------------------------------------------ secret

    def secret_for(self, claims: SessionClaims) -> str:
        """The secret access key of a verified session (derived; see the module docstring).

        Claims that :meth:`verify` just returned from the cache find their secret there (the
        very same claims object, under the current keyring version); others are derived.
        """
        version = self._keyring.version
        entry = self._cache_get(_secret_index(claims, version), version)
        if entry is not None and entry.claims is claims:
            return entry.secret
        key = self._keyring.get(claims.kid)
        if key is None or key.retired:
            raise self._invalid()
        return self._derive(key, claims)

    @staticmethod
    def _derive(key: SigningKey, claims: SessionClaims) -> str:
        message = b"\x00".join(
            (
                _DERIVATION_LABEL,
                claims.access_key_id.encode("ascii"),
                str(claims.issued_at).encode("ascii"),
                claims.jti.encode("ascii"),
            )
        )
        digest = hmac.new(key.derivation_key, message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")[:40]


# ---------------------------------------------------------------------- payload → claims


def _opt_str(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(name)


def _str(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if isinstance(value, str):
        return value
    raise TypeError(name)


def _int(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(name)


def _bool(payload: Mapping[str, Any], name: str) -> bool:
    value = payload.get(name, False)
    if isinstance(value, bool):
        return value
    raise TypeError(name)


def _str_tuple(payload: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = payload.get(name, [])
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TypeError(name)


def _tags(payload: Mapping[str, Any]) -> Mapping[str, str]:
    value = payload.get("tags", {})
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return MappingProxyType(dict(value))
    raise TypeError("tags")


def _claims_from_payload(payload: Mapping[str, Any], kid: str) -> SessionClaims | None:
    """Strictly typed claims, or ``None`` when any claim has the wrong shape (fail closed)."""
    try:
        access_key_id = _str(payload, "akid")
        principal_type = _str(payload, "ptype")
        auth_time = payload.get("at")
        claims = SessionClaims(
            access_key_id=access_key_id,
            arn=_str(payload, "sub"),
            account=_str(payload, "acct"),
            principal_type=PrincipalType(principal_type).value,
            user_id=_str(payload, "uid"),
            role_arn=_opt_str(payload, "role"),
            session_name=_opt_str(payload, "rsn"),
            source_identity=_opt_str(payload, "srcid"),
            tags=_tags(payload),
            transitive_tag_keys=_str_tuple(payload, "ttk"),
            mfa_authenticated=_bool(payload, "mfa"),
            auth_time=None if auth_time is None else _int(auth_time, "at"),
            issued_at=_int(payload.get("iat"), "iat"),
            expires_at=_int(payload.get("exp"), "exp"),
            session_policy=_opt_str(payload, "pol"),
            policy_arns=_str_tuple(payload, "parn"),
            chained=_bool(payload, "chn"),
            jti=_str(payload, "jti"),
            federated=_bool(payload, "fed"),
            kid=kid,
            parent_arn=_opt_str(payload, "prnt"),
        )
        _int(payload.get("nbf"), "nbf")
    except (TypeError, ValueError):
        return None
    if not is_session_access_key_id(access_key_id) or not claims.jti.isascii():
        return None
    return claims
