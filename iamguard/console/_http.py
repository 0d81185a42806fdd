"""The console's plain-WSGI plumbing: one request, one response, cookies and security headers.

Part of ``console/``. No web framework (a contract forbids them inside ``iamguard``): a request
is read from the WSGI environ once (form bodies are ``application/x-www-form-urlencoded`` and
bounded), a response is a status, headers and bytes. Every response carries the same strict
headers: a Content-Security-Policy without inline script or style, ``frame-ancestors 'none'``,
``nosniff``, no referrer, and ``no-store`` (pages can show a secret once).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote

from iamguard.errors import BodyTooLargeError

__all__ = ["MAX_FORM_BYTES", "SECURITY_HEADERS", "Request", "Response", "is_loopback_host"]

#: A console form never needs more (the largest is a policy document: 6,144 characters in IAM).
MAX_FORM_BYTES = 256 * 1024

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)

_REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    500: "Internal Server Error",
}


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a Host header, port allowed) names this machine's loopback interface."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Request:
    """What a console handler reads: method, path inside the console, query, form and cookies."""

    method: str
    path: str
    script_name: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    form_lists: Mapping[str, tuple[str, ...]]
    cookies: Mapping[str, str]
    secure: bool
    host: str
    remote_addr: str
    environ: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> Request:
        """Read ``environ``; a form body over :data:`MAX_FORM_BYTES` raises
        :class:`~iamguard.errors.BodyTooLargeError`."""
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        pairs = _form_pairs(environ) if method == "POST" else []
        lists: dict[str, tuple[str, ...]] = {}
        for name, value in pairs:
            lists[name] = (*lists.get(name, ()), value)
        host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
        scheme = str(environ.get("wsgi.url_scheme", "http"))
        return cls(
            method=method,
            path=str(environ.get("PATH_INFO", "")) or "/",
            script_name=str(environ.get("SCRIPT_NAME", "")).rstrip("/"),
            query=dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)),
            form={name: values[0] for name, values in lists.items()},
            form_lists=lists,
            cookies=_cookies(str(environ.get("HTTP_COOKIE", ""))),
            secure=scheme == "https" or not is_loopback_host(host),
            host=host,
            remote_addr=str(environ.get("REMOTE_ADDR", "")),
            environ=environ,
        )

    def url(self, path: str) -> str:
        """``path`` (inside the console) as an absolute path on this server."""
        return self.script_name + path


def _form_pairs(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    content_type = str(environ.get("CONTENT_TYPE", "")).split(";", 1)[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BYTES:
        raise BodyTooLargeError()
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if content_type != "application/x-www-form-urlencoded":
        return []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _cookies(header: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


@dataclass(slots=True)
class Response:
    """A status, headers (cookies among them) and a body; ``__call__`` sends it over WSGI."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def redirect(cls, location: str) -> Response:
        """A ``303 See Other`` (the browser follows with a GET: no form is sent twice)."""
        return cls(b"", 303, headers=[("Location", location)])

    def set_cookie(
        self, name: str, value: str, *, path: str, secure: bool, max_age: int | None = None
    ) -> None:
        """A cookie JavaScript cannot read, sent back on same-site navigations only."""
        parts = [f"{name}={value}", f"Path={quote(path or '/')}", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if secure:
            parts.append("Secure")
        self.headers.append(("Set-Cookie", "; ".join(parts)))

    def delete_cookie(self, name: str, *, path: str, secure: bool) -> None:
        """Tell the browser to drop cookie ``name`` (empty, ``Max-Age=0``)."""
        self.set_cookie(name, "", path=path, secure=secure, max_age=0)

    def wsgi_headers(self) -> list[tuple[str, str]]:
        """Content type and length, the security headers, then the response's own."""
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        return headers + list(SECURITY_HEADERS) + self.headers

    def __call__(self, start_response: Any) -> Iterable[bytes]:
        start_response(f"{self.status} {_REASONS.get(self.status, 'Error')}", self.wsgi_headers())
        return [self.body]
