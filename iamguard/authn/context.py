"""Stage 1 of the request path, second half: the request's global condition keys.

authenticate (**context**) → principal → resolve policies → evaluate → decide → enforce/audit

AWS fills a request context with keys it learns from the connection and the signed request;
policies test them in ``Condition`` blocks. This module builds that context from a framework-
neutral :class:`RequestMeta` (what the server knows about the connection) and the
:class:`~iamguard.authn.request_view.RequestView` (what the client sent).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html

* ``aws:SourceIp`` is the peer address. ``X-Forwarded-For`` is read **only** when the peer is
  one of the configured trusted proxies, right to left, skipping trusted hops: the first
  untrusted address is the client (anything left of it could have been typed by the client).
* ``aws:SecureTransport`` is ``true`` for HTTPS (``X-Forwarded-Proto`` from a trusted proxy).
* ``aws:CurrentTime`` (ISO 8601, UTC) and ``aws:EpochTime`` (seconds) are the server's clock.
* ``aws:UserAgent`` and ``aws:Referer`` come from the headers, when present (AWS: "do not use
  them to prevent unauthorized parties", they are client-controlled).
* ``aws:RequestedRegion`` is the region of the SigV4 credential scope.
* ``aws:MultiFactorAuthPresent``, ``aws:MultiFactorAuthAge``, ``aws:TokenIssueTime`` and
  ``aws:SourceIdentity`` come from the principal (:meth:`Principal.context_keys`), present only
  when AWS would set them (MFA keys exist only for temporary credentials).
* ``aws:ViaAWSService`` is always ``false`` here: calls arrive straight from the caller.

Per-route keys (``s3:prefix``, ``aws:ResourceTag/...``) are passed as ``extra`` and win.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from types import MappingProxyType

from iamguard._frozen import slot_builder
from iamguard._memo import Memo
from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import VerifiedRequest
from iamguard.context import ContextValue, make_context
from iamguard.principal import Principal

__all__ = ["ContextBuilder", "RequestMeta", "client_address", "new_request_meta"]

_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Principal-derived keys copied into the request context (so audit records and encoded
#: authorization messages show them); the evaluator would derive the same values.
_PRINCIPAL_KEYS = (
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:tokenissuetime",
    "aws:sourceidentity",
)

#: Request contexts remembered by :meth:`ContextBuilder.for_request` (oldest evicted first).
_CONTEXTS_MAX = 4096


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What the server knows about a request beyond its bytes: peer address and scheme.

    ``remote_addr`` is the TCP peer (WSGI ``REMOTE_ADDR``, ASGI ``scope["client"][0]``);
    ``scheme`` is ``"https"`` when the connection was TLS; ``request_id`` names the request in
    audit records and error bodies.
    """

    remote_addr: str | None = None
    scheme: str = "http"
    request_id: str = ""


#: ``RequestMeta(remote_addr, scheme, request_id)`` positionally, built per request by the
#: integrations without the frozen dataclass's per-field setattr (see iamguard._frozen).
new_request_meta = slot_builder(RequestMeta)


@lru_cache(maxsize=4096)
def _parse_ip(text: str) -> _IPAddress | None:
    """The address in ``text`` (port and brackets dropped), ``None`` if it is not one.

    Memoized (bounded): the same peers and proxies recur on every request, and parsing an
    address with :mod:`ipaddress` costs more than the rest of the context put together.
    """
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443" (RFC 7239 style)
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:8080"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(
    remote_addr: str | None, forwarded_for: Iterable[str], trusted: tuple[_IPNetwork, ...]
) -> str | None:
    """The client's address: the peer, or the last untrusted ``X-Forwarded-For`` hop.

    ``forwarded_for`` is every ``X-Forwarded-For`` header value in wire order. Only a trusted
    peer's header is read; hops are walked right to left while they are trusted proxies. An
    unparsable hop ends the walk at the trusted proxy that reported it (fail closed: never let
    a client pick an address by writing garbage).
    """
    if not trusted:
        return _address_text(remote_addr) if remote_addr else None
    peer = _parse_ip(remote_addr) if remote_addr else None
    if peer is None:
        return None
    current = peer
    if not _is_trusted(current, trusted):
        return str(current)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            return str(current)
        current = address
        if not _is_trusted(current, trusted):
            return str(current)
    return str(current)


@lru_cache(maxsize=4096)
def _address_text(text: str) -> str | None:
    """``str(_parse_ip(text))``, memoized: the peer's canonical form when no proxy is trusted."""
    address = _parse_ip(text)
    return None if address is None else str(address)


def _is_trusted(address: _IPAddress, trusted: tuple[_IPNetwork, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in trusted)


class ContextBuilder:
    """Builds the global condition keys of one request; configured once per application.

    ``trusted_proxies`` are addresses or CIDR blocks (``"10.0.0.0/8"``) of reverse proxies
    whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` headers are believed. ``clock`` returns
    Unix seconds (tests freeze it).
    """

    __slots__ = ("_clock", "_contexts", "_frozen", "_last_second", "_last_times", "_trusted")

    def __init__(
        self, *, trusted_proxies: Iterable[str] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self._trusted: tuple[_IPNetwork, ...] = tuple(
            ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies
        )
        self._clock = clock
        self._last_second = -1
        self._last_times: tuple[str, str] = ("", "")
        # Keyed by id(), not by value: a Principal (it holds a tags mapping) and a context (a
        # read-only mapping) are unhashable, and what made() answers is about one object, not an
        # equal one. INVARIANT: each entry holds the objects whose ids its key names, and a Memo
        # evicts a key with its value, so an id cannot be reused while its entry exists.
        # (id(principal), the second, connection, headers read) -> (principal, frozen context).
        self._contexts: Memo[tuple[object, ...], tuple[Principal | None, Mapping[str, ContextValue]]] = Memo(
            "context.contexts", _CONTEXTS_MAX
        )
        # id(context) -> context, for every context for_request handed out and still remembers.
        self._frozen: Memo[int, Mapping[str, ContextValue]] = Memo("context.frozen", _CONTEXTS_MAX)

    def source_ip(self, view: RequestView, meta: RequestMeta) -> str | None:
        """``aws:SourceIp``: the peer, or the client named by trusted proxies' ``X-Forwarded-For``."""
        if not self._trusted:  # X-Forwarded-For is never read: skip collecting it
            return client_address(meta.remote_addr, (), ())
        return client_address(meta.remote_addr, view.header_values("x-forwarded-for"), self._trusted)

    def secure_transport(self, view: RequestView, meta: RequestMeta) -> bool:
        """``aws:SecureTransport``: HTTPS to us, or to the trusted proxy (``X-Forwarded-Proto``)."""
        if not self._trusted:
            return meta.scheme.lower() == "https"
        peer = _parse_ip(meta.remote_addr) if meta.remote_addr else None
        if peer is not None and _is_trusted(peer, self._trusted):
            forwarded = view.header_values("x-forwarded-proto")
            if forwarded:
                # The proxy nearest to us appended last; its view of the scheme counts.
                return forwarded[-1].split(",")[-1].strip().lower() == "https"
        return meta.scheme.lower() == "https"

    def _times(self) -> tuple[str, str]:
        second = int(self._clock())
        if second != self._last_second:
            stamp = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._last_times = (stamp, str(second))
            self._last_second = second
        return self._last_times

    def build(
        self,
        view: RequestView,
        meta: RequestMeta,
        *,
        principal: Principal | None = None,
        verified: VerifiedRequest | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> dict[str, ContextValue]:
        """The request context (lower-cased keys); ``extra`` keys are added last and win."""
        keys = self._build(view, meta, principal, verified, self._times())
        if extra:
            keys.update(make_context(extra))
        return keys

    def for_request(
        self,
        view: RequestView,
        meta: RequestMeta,
        principal: Principal | None,
        verified: VerifiedRequest | None,
    ) -> Mapping[str, ContextValue]:
        """:meth:`build` as a read-only mapping, shared by requests that would build the same one.

        Everything the context is made of is in the memo key: the principal (by identity, kept
        alive by the entry), the clock's second, the connection (peer, scheme), the headers read
        (User-Agent, Referer and, behind trusted proxies, X-Forwarded-For/-Proto) and the
        signed region. So a hit returns exactly what :meth:`build` would. The memo is bounded
        (oldest evicted first).
        """
        times = self._times()
        forwarded = (
            (tuple(view.header_values("x-forwarded-for")), tuple(view.header_values("x-forwarded-proto")))
            if self._trusted
            else None
        )
        index = view.header_index()
        key = (
            id(principal),
            times,
            meta.remote_addr,
            meta.scheme,
            index.get("user-agent"),  # every value of the header: what view.header() joins
            index.get("referer"),
            None if verified is None else verified.region,
            forwarded,
        )
        entry = self._contexts.get(key)
        if entry is not None and entry[0] is principal:
            return entry[1]
        frozen: Mapping[str, ContextValue] = MappingProxyType(
            self._build(view, meta, principal, verified, times)
        )
        self._contexts.put(key, (principal, frozen))
        self._frozen.put(id(frozen), frozen)
        return frozen

    def made(self, context: Mapping[str, ContextValue]) -> bool:
        """Whether ``context`` is one :meth:`for_request` built (and still remembers): a
        read-only view of a dict nobody else holds, so it never changes. INVARIANT: the
        memo holds the object, so its id cannot be reused while the entry exists."""
        return self._frozen.get(id(context)) is context

    def _build(
        self,
        view: RequestView,
        meta: RequestMeta,
        principal: Principal | None,
        verified: VerifiedRequest | None,
        times: tuple[str, str],
    ) -> dict[str, ContextValue]:
        current_time, epoch = times
        keys: dict[str, ContextValue] = {
            "aws:currenttime": current_time,
            "aws:epochtime": epoch,
            "aws:securetransport": "true" if self.secure_transport(view, meta) else "false",
            "aws:viaawsservice": "false",
        }
        source_ip = self.source_ip(view, meta)
        if source_ip is not None:
            keys["aws:sourceip"] = source_ip
        for header, key in (("user-agent", "aws:useragent"), ("referer", "aws:referer")):
            value = view.header(header)
            if value is not None:
                keys[key] = value
        if verified is not None:
            keys["aws:requestedregion"] = verified.region
        if principal is not None:
            # The principal keeps its derived keys (Principal.derived_context), so this is a
            # few dict reads, not a rebuild, however many principals come and go.
            derived = principal._derived or principal.derived_context()
            for key in _PRINCIPAL_KEYS:
                if key in derived:
                    keys[key] = derived[key]
        return keys
