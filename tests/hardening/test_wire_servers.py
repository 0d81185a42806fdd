"""Malformed requests against real servers on 127.0.0.1: never a crash, never a 5xx.

Regression for a29b1b2, where one unauthenticated ``PUT`` with ``Transfer-Encoding: chunked``
and a ``ffffffffffffffff`` chunk killed Werkzeug's server with SIGSEGV: the WSGI middleware read
``max_body_size + 1`` bytes in one ``read()`` before authenticating, and Werkzeug's de-chunking
reader overran ``RawIOBase.read``'s buffer. Now nothing is read before authentication unless
the signature covers the body's hash, bodies are read in 64 KiB pieces into a buffer that cannot
be resized, and every read failure is a 400. Each case is sent as raw bytes (socket), the
server process must still run afterwards and answer the next request.

Servers: Werkzeug's threaded dev server (the S3 example and the STS endpoint), gunicorn with
sync and gthread workers (the same apps), uvicorn (the FastAPI example, STS at ``/sts``).
"""

from __future__ import annotations

import datetime as dt
import http.client
from collections.abc import Iterator, Sequence

import pytest

from ._raw_http import Answer, Server, exchange, gunicorn, request, uvicorn, werkzeug

#: A SigV4 header for a key nobody has, over a real payload hash: the body must be read (and
#: hashed) before the key is even looked up, so body framing is judged first.
_NOW = dt.datetime.now(dt.timezone.utc)
SIGNED = [
    (
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE01/{_NOW:%Y%m%d}/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64,
    ),
    ("x-amz-content-sha256", "a" * 64),
    ("x-amz-date", f"{_NOW:%Y%m%dT%H%M%SZ}"),
]
SIGSEGV_BODY = b"ffffffffffffffff\r\nx\r\n0\r\n\r\n"
CHUNKED = [("Transfer-Encoding", "chunked")]

#: (id, headers, body, codes the app may answer)
Case = tuple[str, Sequence[tuple[str, str | bytes]], bytes, set[str]]

#: S3-style apps behind the middleware.
S3_CASES: list[Case] = [
    ("sigsegv-unsigned", CHUNKED, SIGSEGV_BODY, {"AccessDenied"}),
    ("sigsegv-signed", SIGNED + CHUNKED, SIGSEGV_BODY, {"IncompleteBody"}),
    ("content-length-superscript", [("Content-Length", b"\xb9")], b"x", {"AccessDenied"}),
    ("content-length-superscript-signed", [*SIGNED, ("Content-Length", b"\xb9")], b"x", {"InvalidArgument"}),
    (
        "content-length-5000-digits-signed",
        [*SIGNED, ("Content-Length", "9" * 5000)],
        b"x",
        {"InvalidArgument", "EntityTooLarge"},
    ),
    (
        "te-leading-space-signed",
        [*SIGNED, ("Transfer-Encoding", " chunked")],
        b"5\r\nhello\r\n0\r\n\r\n",
        {"XAmzContentSHA256Mismatch", "InvalidAccessKeyId"},
    ),
    (
        "chunk-extension-signed",
        SIGNED + CHUNKED,
        b"5;ext=1\r\nhello\r\n0\r\n\r\n",
        {"IncompleteBody", "XAmzContentSHA256Mismatch", "InvalidAccessKeyId"},
    ),
    ("chunk-size-negative-signed", SIGNED + CHUNKED, b"-1\r\nx\r\n0\r\n\r\n", {"IncompleteBody"}),
    ("chunk-unterminated-signed", SIGNED + CHUNKED, b"10\r\nabc", {"IncompleteBody"}),
    ("short-body-signed", [*SIGNED, ("Content-Length", "100")], b"abc", {"IncompleteBody"}),
]
#: The STS endpoint reads its (form) body first: its framing errors are MalformedQueryString.
STS_CASES: list[Case] = [
    ("sigsegv", CHUNKED, SIGSEGV_BODY, {"MalformedQueryString"}),
    ("content-length-superscript", [("Content-Length", b"\xb9")], b"x", {"MalformedQueryString"}),
    (
        "content-length-5000-digits",
        [("Content-Length", "9" * 5000)],
        b"x",
        {"MalformedQueryString", "RequestEntityTooLarge"},
    ),
    ("chunk-size-negative", CHUNKED, b"-1\r\nx\r\n0\r\n\r\n", {"MalformedQueryString"}),
    ("chunk-unterminated", CHUNKED, b"10\r\nabc", {"MalformedQueryString"}),
    ("short-body", [("Content-Length", "100")], b"abc", {"MalformedQueryString"}),
]


def _check(server: Server, answer: Answer, codes: set[str] | None) -> None:
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    assert b"Traceback" not in answer.body
    if codes is not None:  # the request reached the app: an AWS-shaped error with a request id
        text = answer.body.decode("utf-8", "replace")
        assert any(f"<Code>{code}</Code>" in text or f'"Code":"{code}"' in text for code in codes), text
        assert "<RequestId></RequestId>" not in text and "<RequestId>" in text, text
    assert server.alive()
    after = exchange(server.port, request("GET", "/", []))  # the next request is answered
    assert 400 <= after.status < 500 and server.alive()


def _run(server: Server, method: str, target: str, cases: list[Case], app_answers: bool) -> None:
    for name, headers, body, codes in cases:
        answer = exchange(server.port, request(method, target, headers, body))
        try:
            _check(server, answer, codes if app_answers else None)
        except AssertionError as error:
            raise AssertionError(f"case {name}: {error}") from None


SERVER_KINDS = ["werkzeug", "gunicorn-sync", "gunicorn-gthread"]


def _serve(service: str, kind: str) -> Server:
    """``service`` ("s3" or "sts") under the server ``kind`` names."""
    return werkzeug(service) if kind == "werkzeug" else gunicorn(f"{service}_app", kind.split("-")[1])


@pytest.fixture(params=SERVER_KINDS)
def s3_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server]]:
    server = _serve("s3", request.param)
    yield request.param, server
    server.stop()


@pytest.fixture(params=SERVER_KINDS)
def sts_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server]]:
    server = _serve("sts", request.param)
    yield request.param, server
    server.stop()


def test_s3_example_survives_malformed_bodies(s3_server: tuple[str, Server]) -> None:
    kind, server = s3_server
    # gunicorn refuses some framing itself (its own 400) before the app runs; Werkzeug's dev
    # server hands everything to the app, so there the AWS error is checked too.
    if kind == "werkzeug":
        _run(server, "PUT", "/any/key", S3_CASES, app_answers=True)
    else:
        for name, headers, body, codes in S3_CASES:
            answer = exchange(server.port, request("PUT", "/any/key", headers, body))
            reached_app = answer.headers.get("x-amz-request-id") is not None
            try:
                _check(server, answer, codes if reached_app else None)
            except AssertionError as error:
                raise AssertionError(f"case {name}: {error}") from None


def test_sts_endpoint_survives_malformed_bodies(sts_server: tuple[str, Server]) -> None:
    kind, server = sts_server
    for name, headers, body, codes in STS_CASES:
        answer = exchange(
            server.port,
            request("POST", "/", [("Content-Type", "application/x-www-form-urlencoded"), *headers], body),
        )
        reached_app = answer.headers.get("x-amzn-requestid") is not None
        if kind == "werkzeug":
            assert reached_app, name
        try:
            _check(server, answer, codes if reached_app else None)
        except AssertionError as error:
            raise AssertionError(f"case {name} ({kind}): {error}") from None


def test_fastapi_example_under_uvicorn_survives_malformed_bodies() -> None:
    """uvicorn frames requests itself: it answers its own 400 for bad framing, and a body cut
    short (the client closed its side) reaches the app as ``http.disconnect``, answered by
    closing. Either way no exception may reach uvicorn (it would log a traceback, answer 500)."""
    server = uvicorn("fastapi_app")
    try:
        for target in ("/docs/d1", "/sts/"):
            for name, headers, body, _ in S3_CASES + STS_CASES:
                raw = request("PUT" if target != "/sts/" else "POST", target, headers, body)
                try:
                    answer = exchange(server.port, raw)
                except http.client.RemoteDisconnected:
                    assert server.alive() and exchange(server.port, request("GET", "/docs", [])).status == 403
                    continue
                try:
                    _check(server, answer, None)
                except AssertionError as error:
                    raise AssertionError(f"case {name} at {target}: {error}") from None
    finally:
        log = server.stop()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
