"""A framework-neutral, read-only view of one HTTP request, as SigV4 sees it.

Stage 1 (``authn/``) is sans-I/O: web integrations (WSGI, ASGI, Flask, FastAPI) build a
:class:`RequestView` from whatever their framework hands them and pass it to the verifier. The
view keeps the request exactly as it was on the wire, because SigV4 signs the wire form: the
undecoded path (``RAW_URI`` / ``raw_path``, never WSGI's percent-decoded ``PATH_INFO``), the
undecoded query string, and every header line in order with duplicates kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, cast
from urllib.parse import unquote_to_bytes, urlsplit

from iamguard._frozen import slot_builder

__all__ = ["HeaderPairs", "RequestView", "decode_component", "host_from_url", "split_query", "wire_view"]

HeaderPairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RequestView:
    """One request: method, raw path, raw query, header pairs (order and duplicates kept), body.

    ``body`` is ``None`` when the integration does not buffer the body (streaming); the
    verifier then needs a declared ``x-amz-content-sha256`` to build the canonical request.
    """

    method: str
    raw_path: str
    query_string: str = ""
    #: Any sequence of pairs is accepted (a list is the natural literal); stored as a tuple.
    headers: Sequence[tuple[str, str]] = field(default=())
    body: bytes | None = None
    # Derived once on first use (the verifier reads the same headers and query parameters many
    # times per request): lower-cased name -> values in wire order, and the decoded query.
    _index: Mapping[str, tuple[str, ...]] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    _params: tuple[tuple[str, str], ...] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    #: Each query parameter's first value by name (what :meth:`query_param` answers).
    _first: Mapping[str, str] | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # INVARIANT: headers is a tuple of str pairs, so the view is immutable and hashable.
        headers = self.headers
        plain = type(headers) is tuple
        if plain:  # already a tuple of str pairs (what the integrations build): keep it
            for pair in headers:
                if (
                    type(pair) is not tuple
                    or len(pair) != 2
                    or type(pair[0]) is not str
                    or type(pair[1]) is not str
                ):
                    plain = False
                    break
        if not plain:
            object.__setattr__(self, "headers", tuple((str(n), str(v)) for n, v in headers))

    def _header_index(self) -> Mapping[str, tuple[str, ...]]:
        index = self._index
        if index is None:
            built: dict[str, tuple[str, ...]] = {}
            for name, value in self.headers:
                key = name.lower()
                if key in built:
                    built[key] += (value,)  # repeated header: rare, so tuples are fine
                else:
                    built[key] = (value,)
            index = MappingProxyType(built)
            object.__setattr__(self, "_index", index)
        return index

    def _query_pairs(self) -> tuple[tuple[str, str], ...]:
        params = self._params
        if params is None:
            query = self.query_string
            params = _decode_query(query) if query else ()
            object.__setattr__(self, "_params", params)
        return params

    def _first_values(self) -> Mapping[str, str]:
        first = self._first
        if first is None:
            # Built from the pairs in reverse, so each name keeps its first value.
            first = MappingProxyType(dict(reversed(self._query_pairs())))
            object.__setattr__(self, "_first", first)
        return first

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> RequestView:
        """Build a view from a full URL as it goes on the wire (already percent-encoded)."""
        parts = urlsplit(url)
        return cls(method, parts.path or "/", parts.query, tuple(headers), body)

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in wire order."""
        index = self._index
        if index is None:
            index = self._header_index()
        return list(index.get(name.lower(), ()))

    def header(self, name: str) -> str | None:
        """The value of header ``name``; repeated headers are joined with ``,`` (RFC 9110)."""
        index = self._index
        if index is None:
            index = self._header_index()
        values = index.get(name.lower())
        if values is None:
            return None
        return values[0] if len(values) == 1 else ",".join(values)

    def has_header(self, name: str) -> bool:
        """Whether a header ``name`` (any case) is present."""
        return name.lower() in self._header_index()

    def header_index(self) -> Mapping[str, tuple[str, ...]]:
        """Every header as lower-cased name → values in wire order (read-only, built once)."""
        index = self._index
        return index if index is not None else self._header_index()

    def query_params(self) -> list[tuple[str, str]]:
        """The query as decoded ``(name, value)`` pairs in wire order (``+`` stays a plus)."""
        return list(self._query_pairs())

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter ``name`` (exact, case-sensitive), or ``None``."""
        first = self._first
        if first is None:
            first = self._first_values()
        return first.get(name)

    def query_first_values(self) -> Mapping[str, str]:
        """Every query parameter name → its first value (read-only, built once)."""
        first = self._first
        return first if first is not None else self._first_values()

    def with_headers(self, extra: Sequence[tuple[str, str]], *, drop: Iterable[str] = ()) -> RequestView:
        """A copy without the headers named in ``drop`` and with ``extra`` appended."""
        dropped = {d.lower() for d in drop} | {n.lower() for n, _ in extra}
        kept = tuple((n, v) for n, v in self.headers if n.lower() not in dropped)
        return replace(self, headers=kept + tuple(extra))

    def with_query(self, query_string: str) -> RequestView:
        """A copy with ``query_string`` in place of this view's."""
        return replace(self, query_string=query_string)


_new_view = slot_builder(RequestView)


def wire_view(
    method: str,
    raw_path: str,
    query_string: str,
    headers: HeaderPairs,
    body: bytes | None,
    index: dict[str, tuple[str, ...]] | None = None,
) -> RequestView:
    """``RequestView(...)`` for integrations whose ``headers`` already is a tuple of ``(str, str)``
    tuples (what the WSGI and ASGI adapters build): skips the normalizing ``__post_init__``.

    ``index`` may hand over the header index built in the same pass (lower-cased name → values
    in wire order, exactly what :meth:`RequestView.header_index` builds); it is kept read-only.
    INVARIANT: callers pass exactly those shapes; anything else must go through ``RequestView``.
    """
    return _new_view(
        method,
        raw_path,
        query_string,
        headers,
        body,
        None if index is None else MappingProxyType(index),
        None,
        None,
    )


def split_query(query_string: str) -> list[tuple[str, str]]:
    """Split a raw query into still-encoded ``(name, value)`` pairs; ``a`` means ``a=``."""
    pairs: list[tuple[str, str]] = []
    for piece in query_string.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((name, value))
    return pairs


#: An escaped ``&`` or ``=``: decoding the whole query at once would make it a separator.
_ESCAPED_SEPARATOR = re.compile(r"%(?:26|3[dD])")


def _decode_query(query: str) -> tuple[tuple[str, str], ...]:
    """The decoded ``(name, value)`` pairs of a raw query, in wire order.

    Decoding the whole query once and then splitting it gives each pair's own decoding when
    no ``&`` or ``=`` is escaped (an escape never spans a separator, and a separator byte
    ends any UTF-8 sequence before it): one C-level pass instead of two decodes per pair.
    """
    if _ESCAPED_SEPARATOR.search(query) is not None:
        return tuple((decode_component(name), decode_component(value)) for name, value in split_query(query))
    pairs = [piece.partition("=")[::2] for piece in decode_component(query).split("&") if piece]
    return cast("tuple[tuple[str, str], ...]", tuple(pairs))


def decode_component(text: str) -> str:
    """One query name or value percent-decoded as :meth:`RequestView.query_param` reads it.

    UTF-8, with undecodable bytes kept visible (surrogate escapes) rather than failing: the
    canonical form is rebuilt from bytes elsewhere, this is only for reading values.
    """
    # ASCII text without an escape decodes to itself (most names and values): no byte round trip.
    if "%" not in text and text.isascii():
        return text
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def host_from_url(url: str) -> str:
    """The ``Host`` header a client sends for ``url``: lower-case, default port dropped."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    return host


def asgi_request_view(scope: MutableMapping[str, Any], body: bytes) -> RequestView:
    """The :class:`RequestView` of an ASGI HTTP ``scope`` (``raw_path`` when the server gives it)."""
    raw_path = scope.get("raw_path") or scope.get("path", "/").encode("utf-8")
    path = raw_path.decode("latin-1").split("?", 1)[0]
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope.get("headers", [])]
    query = scope.get("query_string", b"").decode("latin-1")
    return RequestView(scope.get("method", "GET").upper(), path or "/", query, headers, body)
