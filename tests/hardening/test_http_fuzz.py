"""HTTP mutation fuzzing of the S3 example and the STS endpoint: never a 5xx, never a traceback.

Seeds are valid requests signed by real botocore (header-signed S3 PUT/GET/list, a presigned
GET, an aws-chunked upload, STS GetCallerIdentity); each input applies 1-4 random mutations to
one seed: header values (overlong and Unicode digits, ``¹``, empty, 0xFF), dropped or repeated
headers, ``Content-Length`` and ``Transfer-Encoding`` (chunked bodies framed wrongly, read
through Werkzeug's own de-chunking reader), query parameters incl. ``X-Amz-*`` (bad
percent-encodings, overlong numbers), the credential scope's key/date/region/service, body
truncation and byte flips. Every answer must be < 500, carry no traceback, and every error must
have AWS's shape with a non-empty request id.

Two jobs: many inputs calling the WSGI apps directly (environs built by hand), and fewer over
real sockets against Werkzeug's threaded server, which must keep answering. The CI run is
seeded and bounded; ``IAMGUARD_FUZZ_SECONDS=600`` runs each job for that long instead (see
tests/hardening/README.md).
"""

from __future__ import annotations

import io
import os
import random
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.serving import DechunkedInput, make_server

from ..enforce.helpers import sign, unsigned_trailer_upload
from ._raw_http import exchange
from .wire_world import S3_URL, STS_URL, Reply, WireWorld, call, environ, make_wire_world

# A fuzz job: run by `python3 tasks.py test-slow` and CI (longer runs: see the module docstring).
pytestmark = pytest.mark.slow

SEED = 20260607
CI_INPUTS = int(os.environ.get("IAMGUARD_FUZZ_CI_INPUTS", "10000"))
CI_SOCKET_INPUTS = 300
LONG_SECONDS = float(os.environ.get("IAMGUARD_FUZZ_SECONDS", "0"))
BUCKET = "alice-reports"

NASTY = [
    "",
    " ",
    "\u00b9",
    "\u0665",
    "\u0661\u0662",
    "9" * 5000,
    "1" * 30,
    "-1",
    "+5",
    "1_0",
    "0x10",
    "1e3",
    "\xff",
    "\x00",
    "%FF",
    "%",
    "%zz",
    "a" * 9000,
    "AWS4-HMAC-SHA256",
    "UNSIGNED-PAYLOAD",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "chunked",
    " chunked",
    "aws-chunked",
    "20250101T000000Z",
    "99999999T999999Z",
    "*",
    "eu-west-1",
    "us-east-1",
    "s3",
    "sts",
]
SCOPE_PARTS = [
    "",
    "*",
    "eu-west-1",
    "made-up-region",
    "\u0665" * 8,
    "%FF",
    "\xff",
    "9" * 200,
    "s3",
    "sts",
    "iam",
]
CHUNK_BODIES = [
    b"ffffffffffffffff\r\nx\r\n0\r\n\r\n",
    b"5;ext=1\r\nhello\r\n0\r\n\r\n",
    b"-1\r\nx\r\n0\r\n\r\n",
    b"10\r\nabc",
    b"",
    b"0\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"\xb9\r\nx\r\n0\r\n\r\n",
    b"5\r\nhelloXX0\r\n\r\n",
]


@dataclass(frozen=True)
class Wire:
    """A request as the fuzzer mutates it; ``chunked`` sends ``body`` as Werkzeug de-chunks it."""

    app: str  # "s3" or "sts"
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunked: bool = False


def _seeds(w: WireWorld) -> list[Wire]:
    def s3(
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Wire:
        url = f"{S3_URL}{path}" + (f"?{query}" if query else "")
        signed = sign(
            method, url, w.akid, w.secret, service="s3", body=body, headers=headers, context=context
        )
        signed["Content-Length"] = str(len(body))
        return Wire("s3", method, path, query, (*tuple(signed.items()), ("Host", "127.0.0.1:9000")), body)

    chunk_body, chunk_headers, chunk_context = unsigned_trailer_upload(b"hello world")
    presign = AWSRequest(method="GET", url=f"{S3_URL}/{BUCKET}/fuzz/object")
    S3SigV4QueryAuth(Credentials(w.akid, w.secret), "s3", "us-east-1", expires=300).add_auth(presign)
    presigned = urlsplit(presign.url).query
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    sts_headers = sign(
        "POST",
        f"{STS_URL}/",
        w.akid,
        w.secret,
        service="sts",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    sts_headers["Content-Length"] = str(len(form))
    return [
        s3("PUT", f"/{BUCKET}/fuzz/object", body=b"some object bytes"),
        s3("GET", f"/{BUCKET}/fuzz/object"),
        s3("GET", f"/{BUCKET}", "list-type=2&prefix=fuzz"),
        s3("PUT", f"/{BUCKET}/fuzz/chunked", body=chunk_body, headers=chunk_headers, context=chunk_context),
        Wire("s3", "GET", f"/{BUCKET}/fuzz/object", presigned, (("Host", "127.0.0.1:9000"),), b""),
        Wire("sts", "POST", "/", "", (*tuple(sts_headers.items()), ("Host", "127.0.0.1:9001")), form),
    ]


# ---------------------------------------------------------------- mutations


def _set_header(r: Wire, rng: random.Random, value: str | None = None) -> Wire:
    if not r.headers:
        return r
    i = rng.randrange(len(r.headers))
    name = r.headers[i][0]
    headers = list(r.headers)
    headers[i] = (name, rng.choice(NASTY) if value is None else value)
    return replace(r, headers=tuple(headers))


def _drop_header(r: Wire, rng: random.Random) -> Wire:
    if not r.headers:
        return r
    i = rng.randrange(len(r.headers))
    return replace(r, headers=r.headers[:i] + r.headers[i + 1 :])


def _repeat_header(r: Wire, rng: random.Random) -> Wire:
    if not r.headers:
        return r
    name, value = rng.choice(r.headers)
    return replace(r, headers=(*r.headers, (name, rng.choice([value, *NASTY]))))


def _content_length(r: Wire, rng: random.Random) -> Wire:
    kept = tuple(h for h in r.headers if h[0].lower() != "content-length")
    return replace(r, headers=(*kept, ("Content-Length", rng.choice([*NASTY, str(len(r.body) + 5), "0"]))))


def _chunked(r: Wire, rng: random.Random) -> Wire:
    kept = tuple(h for h in r.headers if h[0].lower() != "content-length")
    body = rng.choice([*CHUNK_BODIES, f"{len(r.body):x}\r\n".encode() + r.body + b"\r\n0\r\n\r\n"])
    return replace(r, headers=kept, body=body, chunked=True)


def _query(r: Wire, rng: random.Random) -> Wire:
    pairs = [p.partition("=") for p in r.query.split("&") if p] or [("X-Amz-Expires", "=", "1")]
    i = rng.randrange(len(pairs))
    name = pairs[i][0]
    value = rng.choice([quote(rng.choice(NASTY), safe=""), "%FF", "%", "%zz", "9" * 5000, "%D9%A5"])
    pairs[i] = (name, "=", value)
    if rng.random() < 0.2:
        pairs.append(
            (
                rng.choice(
                    [
                        "X-Amz-Expires",
                        "X-Amz-Credential",
                        "AWSAccessKeyId",
                        "Signature",
                        "X-Amz-Security-Token",
                    ]
                ),
                "=",
                value,
            )
        )
    return replace(r, query="&".join("".join(p) for p in pairs))


def _scope(r: Wire, rng: random.Random) -> Wire:
    """Replace one part (key, date, region, service) of the credential scope, header or query."""
    part = rng.randrange(4)
    new = rng.choice(SCOPE_PARTS)

    def swap(text: str, sep: str) -> str:
        match = re.search(r"Credential=([^,&]*)", text)
        if not match:
            return text
        pieces = match.group(1).split(sep)
        if len(pieces) > part:
            pieces[part] = quote(new, safe="") if sep != "/" else new
        return text[: match.start(1)] + sep.join(pieces) + text[match.end(1) :]

    headers = tuple((n, swap(v, "/") if n.lower() == "authorization" else v) for n, v in r.headers)
    return replace(r, headers=headers, query=swap(r.query, "%2F"))


def _body(r: Wire, rng: random.Random) -> Wire:
    if not r.body:
        return replace(r, body=bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
    data = bytearray(r.body)
    if rng.random() < 0.5:
        del data[rng.randrange(len(data)) :]
    else:
        data[rng.randrange(len(data))] = rng.randrange(256)
    return replace(r, body=bytes(data))


def _path(r: Wire, rng: random.Random) -> Wire:
    return replace(r, path=r.path + rng.choice(["%FF", "/..", "//x", "%", "/%2e%2e", "/\u00b9", "?"]))


MUTATIONS = [
    _set_header,
    _drop_header,
    _repeat_header,
    _content_length,
    _chunked,
    _query,
    _scope,
    _body,
    _path,
]


def mutate(seed: Wire, rng: random.Random) -> Wire:
    r = seed
    for _ in range(rng.randint(1, 4)):
        r = rng.choice(MUTATIONS)(r, rng)
    return r


# ---------------------------------------------------------------- checks


def _environ(r: Wire) -> dict[str, Any]:
    url = f"{S3_URL if r.app == 's3' else STS_URL}{r.path}" + (f"?{r.query}" if r.query else "")
    stream: Any = io.BytesIO(r.body)
    extra: dict[str, Any] = {}
    if r.chunked:
        stream, extra = DechunkedInput(io.BufferedReader(io.BytesIO(r.body))), {"wsgi.input_terminated": True}
    env = environ(r.method, "http://x", r.headers, stream, **extra)
    env["PATH_INFO"] = r.path
    env["RAW_URI"] = r.path + (f"?{r.query}" if r.query else "")
    env["QUERY_STRING"] = r.query
    del url
    return env


def check(r: Wire, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with this answer, or ``None``."""
    text = body.decode("utf-8", "replace")
    if status >= 500:
        return f"{status}: {text[:300]}"
    if "Traceback" in text:
        return "traceback in body"
    if status >= 400 and r.method != "HEAD":
        code = re.search(r"<Code>[^<]+</Code>", text) or re.search(r'"Code":"[^"]+"', text)
        rid = re.search(r"<RequestId>([^<]+)</RequestId>", text) or re.search(r'"RequestId":"([^"]+)"', text)
        if code is None or rid is None:
            return f"error without AWS shape or request id: {text[:300]}"
    return None


def _budget(ci_inputs: int) -> tuple[int, float]:
    return (10**9, LONG_SECONDS) if LONG_SECONDS > 0 else (ci_inputs, 55.0)


@pytest.fixture(scope="module")
def world() -> WireWorld:
    w = make_wire_world()
    reply = call(
        w.s3,
        environ(
            "PUT",
            f"{S3_URL}/{BUCKET}",
            [
                *sign("PUT", f"{S3_URL}/{BUCKET}", w.akid, w.secret, service="s3").items(),
                ("Host", "127.0.0.1:9000"),
            ],
        ),
    )
    assert reply.status == 200, reply.text
    return w


def test_fuzz_wsgi_in_process(world: WireWorld, record_property: Any) -> None:
    rng = random.Random(SEED)
    seeds = _seeds(world)
    for seed in seeds:  # the seeds themselves are accepted
        reply: Reply = call(world.s3 if seed.app == "s3" else world.sts, _environ(seed))
        assert reply.status < 300, (seed.method, seed.path, reply.text[:300])
    limit, seconds = _budget(CI_INPUTS)
    deadline = time.monotonic() + seconds
    tried, found = 0, []
    statuses: dict[int, int] = {}
    while tried < limit and time.monotonic() < deadline:
        r = mutate(rng.choice(seeds), rng)
        reply = call(world.s3 if r.app == "s3" else world.sts, _environ(r))
        tried += 1
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        problem = check(r, reply.status, reply.headers, reply.body)
        if problem is not None:
            found.append((r, problem))
    record_property("fuzz_inputs", tried)
    print(f"\nwsgi fuzz: {tried} inputs, statuses {sorted(statuses.items())}, {len(found)} problems")
    assert not found, found[:3]
    assert tried >= min(limit, 500)


class _Served:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _raw(r: Wire) -> bytes:
    target = r.path + (f"?{r.query}" if r.query else "")
    lines = [f"{r.method} {target} HTTP/1.1".encode("latin-1", "replace"), b"Connection: close"]
    headers = list(r.headers)
    if r.chunked:
        headers = [h for h in headers if h[0].lower() != "transfer-encoding"] + [
            ("Transfer-Encoding", "chunked")
        ]
    for name, value in headers:
        lines.append(f"{name}: {value}".encode("latin-1", "replace").replace(b"\r", b"").replace(b"\n", b""))
    return b"\r\n".join(lines) + b"\r\n\r\n" + r.body


def test_fuzz_over_sockets(world: WireWorld, record_property: Any) -> None:
    rng = random.Random(SEED + 1)
    seeds = _seeds(world)
    servers = {"s3": _Served(world.s3), "sts": _Served(world.sts)}
    limit, seconds = _budget(CI_SOCKET_INPUTS)
    deadline = time.monotonic() + seconds
    tried, found, refused_by_server = 0, [], 0
    try:
        while tried < limit and time.monotonic() < deadline:
            r = mutate(rng.choice(seeds), rng)
            served = servers[r.app]
            tried += 1
            try:
                answer = exchange(served.port, _raw(r), timeout=20)
            except (OSError, ValueError) as error:  # the server closed without an answer
                refused_by_server += 1
                found.append((r, f"no answer: {type(error).__name__}"))
                continue
            if (
                answer.headers.get("x-amz-request-id") is None
                and answer.headers.get("x-amzn-requestid") is None
            ):
                refused_by_server += 1  # Werkzeug refused the request line/headers itself
                problem = "server error" if answer.status >= 500 else None
            else:
                problem = check(r, answer.status, answer.headers, answer.body)
            if problem is not None:
                found.append((r, problem))
            assert served.thread.is_alive()
        for served in servers.values():  # still answering
            assert (
                exchange(served.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status < 500
            )
    finally:
        for served in servers.values():
            served.close()
    record_property("fuzz_socket_inputs", tried)
    print(
        f"\nsocket fuzz: {tried} inputs, {refused_by_server} answered by the server itself, {len(found)} problems"
    )
    assert not found, [(f.method, f.path, f.headers, p) for f, p in found[:3]]
