"""A framework-neutral, read-only view of one HTTP request, as SigV4 sees it.

Stage 1 (``authn/``) is sans-I/O: web integrations (WSGI, ASGI, Flask, FastAPI) build a
:class:`RequestView` from whatever their framework hands them and pass it to the verifier. The
view keeps the request exactly as it was on the wire, because SigV4 signs the wire form: the
undecoded path (``RAW_URI`` / ``raw_path``, never WSGI's percent-decoded ``PATH_INFO``), the
undecoded query string, and every header line in order with duplicates kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote_to_bytes, urlsplit

__all__ = ["HeaderPairs", "RequestView", "host_from_url", "split_query"]

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

    def __post_init__(self) -> None:
        # INVARIANT: headers is a tuple of str pairs, so the view is immutable and hashable.
        object.__setattr__(self, "headers", tuple((str(n), str(v)) for n, v in self.headers))

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
        wanted = name.lower()
        return [v for n, v in self.headers if n.lower() == wanted]

    def header(self, name: str) -> str | None:
        """The value of header ``name``; repeated headers are joined with ``,`` (RFC 9110)."""
        values = self.header_values(name)
        return ",".join(values) if values else None

    def has_header(self, name: str) -> bool:
        wanted = name.lower()
        return any(n.lower() == wanted for n, _ in self.headers)

    def query_params(self) -> list[tuple[str, str]]:
        """The query as decoded ``(name, value)`` pairs in wire order (``+`` stays a plus)."""
        return [(_decode(k), _decode(v)) for k, v in split_query(self.query_string)]

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter ``name`` (exact, case-sensitive), or ``None``."""
        for key, value in self.query_params():
            if key == name:
                return value
        return None

    def with_headers(self, extra: Sequence[tuple[str, str]], *, drop: Iterable[str] = ()) -> RequestView:
        """A copy without the headers named in ``drop`` and with ``extra`` appended."""
        dropped = {d.lower() for d in drop} | {n.lower() for n, _ in extra}
        kept = tuple((n, v) for n, v in self.headers if n.lower() not in dropped)
        return replace(self, headers=kept + tuple(extra))

    def with_query(self, query_string: str) -> RequestView:
        return replace(self, query_string=query_string)


def split_query(query_string: str) -> list[tuple[str, str]]:
    """Split a raw query into still-encoded ``(name, value)`` pairs; ``a`` means ``a=``."""
    pairs: list[tuple[str, str]] = []
    for piece in query_string.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((name, value))
    return pairs


def _decode(text: str) -> str:
    # Percent-decode as UTF-8 but keep undecodable bytes visible rather than failing: the
    # canonical form is rebuilt from bytes elsewhere, this is only for reading values.
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
