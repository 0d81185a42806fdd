"""SigV4Auth (httpx, sync and async) and RequestsSigV4Auth: every signed request verifies and
equals botocore's signature.

Outgoing requests are captured with ``httpx.MockTransport`` (or a real local server for the
Host-header cases), verified with :func:`iamguard.authn.sigv4.verify_sigv4` and compared with
botocore's ``SigV4Auth``/``S3SigV4Auth`` run on the same wire request at the same frozen time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import botocore.auth
import httpx
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import VerifiedRequest, verify_sigv4
from iamguard.credentials.auth import RequestsSigV4Auth, SigV4Auth
from iamguard.credentials.chain import default_credential_chain
from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import AsyncRefreshableCredentials, RefreshableCredentials
from iamguard.credentials.signer import StaticCredentials
from iamguard.errors import CredentialsError, NoCredentialsError

from .conftest import FakeClock, Handler, LocalServer

AKID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJH+with/slash+plus=="
FROZEN = dt.datetime(2026, 1, 15, 10, 30, 0)
NOW = FROZEN.replace(tzinfo=dt.timezone.utc)
CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "credentials" / "auth_requests.json").read_text()
)["cases"]
_SIGNING = {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}


@pytest.fixture(autouse=True)
def frozen_botocore_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FROZEN)


def _frozen() -> dt.datetime:
    return NOW


def _secrets(key: str) -> str | None:
    return {AKID: SECRET}.get(key)


def _view(request: httpx.Request) -> RequestView:
    path, _, query = request.url.raw_path.decode().partition("?")
    return RequestView(request.method, path, query, list(request.headers.multi_items()), request.content)


def _verify(view: RequestView) -> VerifiedRequest:
    return verify_sigv4(view, _secrets, now=NOW)


def _botocore_authorization(case: dict[str, Any], sent: RequestView, token: str | None) -> str:
    """botocore's Authorization for the request as sent, minus what signing added."""
    headers = {n: v for n, v in sent.headers if n.lower() not in _SIGNING}
    request = AWSRequest(method=case["method"], url=case["url"], headers=headers, data=case["body"].encode())
    cls = botocore.auth.S3SigV4Auth if case["service"] == "s3" else botocore.auth.SigV4Auth
    if not case["sign_payload"]:
        request.context["payload_signing_enabled"] = False
        request.context["client_config"] = SimpleNamespace(s3={"payload_signing_enabled": False})
    cls(BotoCredentials(AKID, SECRET, token), case["service"], _region(case)).add_auth(request)
    return str(request.headers["Authorization"])


def _region(case: dict[str, Any]) -> str:
    return "eu-west-1" if "eu-west-1" in case["url"] else "us-east-1"


class Capture:
    """A MockTransport handler keeping every request it is sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})


def _auth(case: dict[str, Any], source: object) -> SigV4Auth:
    return SigV4Auth(
        source,
        region=_region(case),
        service=case["service"],
        sign_payload=case["sign_payload"],
        clock=_frozen,
    )


# ---------------------------------------------------------------- httpx, table-driven


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session"])
@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_sync_signature_verifies_and_equals_botocore(case: dict[str, Any], token: str | None) -> None:
    capture = Capture()
    with httpx.Client(
        transport=httpx.MockTransport(capture), auth=_auth(case, StaticCredentials(AKID, SECRET, token))
    ) as client:
        client.request(case["method"], case["url"], headers=case["headers"], content=case["body"].encode())
    sent = _view(capture.requests[0])
    verified = _verify(sent)
    assert verified.access_key_id == AKID and verified.service == case["service"]
    assert verified.session_token == token
    expected_payload = c.hash_payload(case["body"].encode()) if case["sign_payload"] else c.UNSIGNED_PAYLOAD
    assert verified.payload_hash == expected_payload
    assert sent.header("authorization") == _botocore_authorization(case, sent, token)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_async_signature_verifies_and_equals_botocore(case: dict[str, Any]) -> None:
    capture = Capture()

    async def fetch() -> Credentials:
        return Credentials(AKID, SECRET, TOKEN, expiration=NOW + dt.timedelta(hours=1))

    source = AsyncRefreshableCredentials(fetch, clock=_frozen)

    async def go() -> None:
        transport = httpx.MockTransport(capture.handle_async)
        async with httpx.AsyncClient(transport=transport, auth=_auth(case, source)) as client:
            await client.request(
                case["method"], case["url"], headers=case["headers"], content=case["body"].encode()
            )

    asyncio.run(go())
    sent = _view(capture.requests[0])
    assert _verify(sent).session_token == TOKEN
    assert sent.header("authorization") == _botocore_authorization(case, sent, TOKEN)


# ---------------------------------------------------------------- payloads and headers


def _chunks() -> Iterator[bytes]:
    yield b"part one, "
    yield b"part two"


def test_streaming_body_is_read_and_hashed_when_signing_the_payload() -> None:
    capture = Capture()
    auth = SigV4Auth(
        StaticCredentials(AKID, SECRET), region="us-east-1", service="execute-api", clock=_frozen
    )
    assert auth.requires_request_body is True
    with httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client:
        client.post("https://api.example/upload", content=_chunks())
    sent = _view(capture.requests[0])
    assert _verify(sent).payload_hash == c.hash_payload(b"part one, part two")


def test_unsigned_payload_leaves_a_stream_unread() -> None:
    auth = SigV4Auth(
        StaticCredentials(AKID, SECRET), region="us-east-1", service="s3", sign_payload=False, clock=_frozen
    )
    assert auth.requires_request_body is False
    request = httpx.Request("PUT", "https://b.s3.us-east-1.amazonaws.com/k", content=_chunks())
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["x-amz-content-sha256"] == c.UNSIGNED_PAYLOAD
    assert not hasattr(signed, "_content")  # the stream was not consumed by signing
    view = RequestView("PUT", "/k", "", list(signed.headers.multi_items()), None)
    assert _verify(view).payload_hash == c.UNSIGNED_PAYLOAD


def test_declared_content_sha256_is_kept_and_signed() -> None:
    streaming = c.STREAMING_UNSIGNED_PAYLOAD_TRAILER
    auth = SigV4Auth(StaticCredentials(AKID, SECRET), region="us-east-1", service="s3", clock=_frozen)
    request = httpx.Request(
        "PUT",
        "https://b.s3.us-east-1.amazonaws.com/k",
        headers={"X-Amz-Content-SHA256": streaming},
        content=b"x",
    )
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers.get_list("x-amz-content-sha256") == [streaming]
    assert "x-amz-content-sha256" in signed.headers["authorization"]


def test_stale_signing_headers_are_replaced_or_dropped() -> None:
    """Re-signing (a retry) must not keep an old token or date: the new snapshot has no token."""
    auth = SigV4Auth(StaticCredentials(AKID, SECRET), region="us-east-1", service="sts", clock=_frozen)
    request = httpx.Request(
        "GET",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={
            "X-Amz-Security-Token": "old-token",
            "X-Amz-Date": "20200101T000000Z",
            "Authorization": "Bearer something",
        },
    )
    signed = next(auth.sync_auth_flow(request))
    assert "x-amz-security-token" not in signed.headers
    assert signed.headers.get_list("x-amz-date") == [c.format_amz_date(NOW)]
    assert _verify(_view(signed)).session_token is None


# ---------------------------------------------------------------- credential sources


class CountingSource:
    """A sync source counting get() calls; hands out a new key each time."""

    def __init__(self) -> None:
        self.calls = 0

    def get(self) -> Credentials:
        self.calls += 1
        return Credentials(AKID, SECRET, f"token-{self.calls}", expiration=NOW + dt.timedelta(hours=1))


def test_source_is_asked_once_per_request_and_its_snapshot_signs() -> None:
    capture, source = Capture(), CountingSource()
    auth = SigV4Auth(source, region="us-east-1", service="sts", clock=_frozen)
    with httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client:
        for _ in range(3):
            client.get("https://sts.amazonaws.com/")
    assert source.calls == 3
    assert [_verify(_view(r)).session_token for r in capture.requests] == ["token-1", "token-2", "token-3"]


def test_refreshable_credentials_refresh_between_requests() -> None:
    clock = FakeClock(NOW)
    issued: list[str] = []

    def refresh() -> Credentials:
        issued.append(f"session-{len(issued)}")
        return Credentials(AKID, SECRET, issued[-1], expiration=clock() + dt.timedelta(hours=1))

    capture = Capture()
    auth = SigV4Auth(
        RefreshableCredentials(refresh, clock=clock), region="us-east-1", service="sts", clock=_frozen
    )
    with httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client:
        client.get("https://sts.amazonaws.com/")
        clock.advance(55 * 60)  # inside the mandatory window of a 1 h session
        client.get("https://sts.amazonaws.com/")
    assert [_verify(_view(r)).session_token for r in capture.requests] == ["session-0", "session-1"]


class CountingChain:
    """Wraps a real CredentialChain to count resolutions."""

    def __init__(self, env: dict[str, str]) -> None:
        self.chain = default_credential_chain(env=env)
        self.resolves = 0
        self.aresolves = 0

    def resolve(self) -> object:
        self.resolves += 1
        return self.chain.resolve()

    async def aresolve(self) -> object:
        self.aresolves += 1
        return await self.chain.aresolve()


def test_chain_is_resolved_once_then_reused(base_env: dict[str, str]) -> None:
    chain = CountingChain({**base_env, "AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET})
    capture = Capture()
    with httpx.Client(
        transport=httpx.MockTransport(capture),
        auth=SigV4Auth(chain, region="us-east-1", service="sts", clock=_frozen),
    ) as client:
        client.get("https://sts.amazonaws.com/")
        client.get("https://sts.amazonaws.com/")
    assert chain.resolves == 1
    assert all(_verify(_view(r)).access_key_id == AKID for r in capture.requests)


def test_async_chain_uses_aresolve_once(base_env: dict[str, str]) -> None:
    chain = CountingChain({**base_env, "AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET})
    capture = Capture()

    async def go() -> None:
        auth = SigV4Auth(chain, region="us-east-1", service="sts", clock=_frozen)
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(capture.handle_async), auth=auth
        ) as client:
            await asyncio.gather(*(client.get("https://sts.amazonaws.com/") for _ in range(3)))
            await client.get("https://sts.amazonaws.com/")

    asyncio.run(go())
    assert chain.resolves == 0 and 1 <= chain.aresolves <= 3  # racing first requests may each resolve
    assert len(capture.requests) == 4 and all(
        _verify(_view(r)).access_key_id == AKID for r in capture.requests
    )


class AgetSource:
    def __init__(self) -> None:
        self.awaited = 0

    async def aget(self) -> Credentials:
        self.awaited += 1
        return Credentials(AKID, SECRET, "from-aget")

    def get(self) -> Credentials:
        raise AssertionError("the async flow must prefer aget()")


def test_async_flow_awaits_aget() -> None:
    source, capture = AgetSource(), Capture()

    async def go() -> None:
        auth = SigV4Auth(source, region="us-east-1", service="sts", clock=_frozen)
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(capture.handle_async), auth=auth
        ) as client:
            await client.post("https://sts.amazonaws.com/", content=b"Action=GetCallerIdentity")

    asyncio.run(go())
    assert source.awaited == 1
    assert _verify(_view(capture.requests[0])).session_token == "from-aget"


def test_async_source_with_sync_client_is_refused() -> None:
    async def fetch() -> Credentials:
        return Credentials(AKID, SECRET)

    capture = Capture()
    auth = SigV4Auth(AsyncRefreshableCredentials(fetch), region="us-east-1", service="sts")
    with (
        httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client,
        pytest.raises(CredentialsError, match="asynchronous"),
    ):
        client.get("https://sts.amazonaws.com/")
    assert capture.requests == []


def test_expired_credentials_are_never_used() -> None:
    expired = Credentials(AKID, SECRET, TOKEN, expiration=NOW - dt.timedelta(seconds=1), source="env")
    capture = Capture()
    auth = SigV4Auth(expired, region="us-east-1", service="sts", clock=_frozen)
    with (
        httpx.Client(transport=httpx.MockTransport(capture), auth=auth) as client,
        pytest.raises(CredentialsError, match="expired") as raised,
    ):
        client.get("https://sts.amazonaws.com/")
    assert capture.requests == []
    assert SECRET not in str(raised.value) and TOKEN not in str(raised.value)


def test_source_returning_nothing_raises_no_credentials() -> None:
    class Empty:
        def get(self) -> None:
            return None

    auth = SigV4Auth(Empty(), region="us-east-1", service="sts")
    with pytest.raises(NoCredentialsError):
        next(auth.sync_auth_flow(httpx.Request("GET", "https://sts.amazonaws.com/")))


@pytest.mark.parametrize("source", [object(), "AKID:secret", 42])
def test_unusable_sources_are_rejected_up_front(source: object) -> None:
    with pytest.raises(TypeError):
        SigV4Auth(source, region="us-east-1", service="sts")


def test_region_and_service_are_required() -> None:
    with pytest.raises(ValueError):
        SigV4Auth(StaticCredentials(AKID, SECRET), region="", service="sts")


def test_repr_holds_no_secret() -> None:
    auth = SigV4Auth(Credentials(AKID, SECRET, TOKEN), region="us-east-1", service="sts")
    assert SECRET not in repr(auth) and TOKEN not in repr(auth)
    assert SECRET not in repr(
        RequestsSigV4Auth(Credentials(AKID, SECRET, TOKEN), region="us-east-1", service="sts")
    )


# ---------------------------------------------------------------- requests


def _prepared_view(prepared: requests.PreparedRequest, host: str) -> RequestView:
    url = httpx.URL(str(prepared.url))
    path, _, query = url.raw_path.decode().partition("?")
    headers = [
        ("Host", host),
        *((k, v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()),
    ]
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    assert body is None or isinstance(body, bytes)
    return RequestView(str(prepared.method), path, query, headers, body or b"")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_requests_auth_verifies_and_equals_botocore(case: dict[str, Any]) -> None:
    auth = RequestsSigV4Auth(
        StaticCredentials(AKID, SECRET, TOKEN),
        region=_region(case),
        service=case["service"],
        sign_payload=case["sign_payload"],
        clock=_frozen,
    )
    prepared = requests.Request(
        case["method"], case["url"], headers=case["headers"], data=case["body"].encode() or None
    ).prepare()
    signed = auth(prepared)
    assert signed is prepared and "Host" not in prepared.headers  # the HTTP stack adds Host itself
    sent = _prepared_view(prepared, httpx.URL(case["url"]).netloc.decode())
    assert _verify(sent).session_token == TOKEN
    assert sent.header("authorization") == _botocore_authorization(case, sent, TOKEN)


def test_requests_streaming_body_needs_unsigned_payload() -> None:
    prepared = requests.Request("PUT", "https://api.example/x", data=_chunks()).prepare()
    with pytest.raises(CredentialsError, match="sign_payload=False"):
        RequestsSigV4Auth(StaticCredentials(AKID, SECRET), region="us-east-1", service="execute-api")(
            prepared
        )
    unsigned = RequestsSigV4Auth(
        StaticCredentials(AKID, SECRET), region="us-east-1", service="execute-api", sign_payload=False
    )
    assert unsigned(prepared).headers["X-Amz-Content-SHA256"] == c.UNSIGNED_PAYLOAD


def test_auth_module_does_not_import_requests() -> None:
    code = "import sys, iamguard.credentials.auth; print('requests' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------- over a real socket


@pytest.fixture
def verifying_server(local_server: Callable[[Handler], LocalServer]) -> LocalServer:
    """A local server that answers 200 only when the request as received verifies."""

    def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        raw_path, _, query = path.partition("?")
        try:
            verify_sigv4(RequestView(method, raw_path, query, list(headers.items()), body), _secrets)
        except Exception as exc:
            return 403, type(exc).__name__.encode()
        return 200, b"verified"

    return local_server(handle)


@pytest.mark.parametrize("path", ["/", "/a%20b/c", "/x?b=2&a=1&a=0"])
def test_requests_session_passes_server_side_verification(verifying_server: LocalServer, path: str) -> None:
    with requests.Session() as session:
        session.auth = RequestsSigV4Auth(
            StaticCredentials(AKID, SECRET, TOKEN), region="us-east-1", service="execute-api"
        )
        response = session.post(verifying_server.url + path, data=b'{"k": "v"}', timeout=5)
    assert (response.status_code, response.content) == (200, b"verified")


@pytest.mark.parametrize("path", ["/", "/a%20b/c", "/x?b=2&a=1&a=0"])
def test_httpx_client_passes_server_side_verification(verifying_server: LocalServer, path: str) -> None:
    auth = SigV4Auth(StaticCredentials(AKID, SECRET, TOKEN), region="us-east-1", service="execute-api")
    with httpx.Client(auth=auth, trust_env=False) as client:
        response = client.put(verifying_server.url + path, content=b"payload")

    async def go() -> httpx.Response:
        # Bytes, not a stream: the test server reads Content-Length bodies only (streams are
        # covered through MockTransport above).
        async with httpx.AsyncClient(auth=auth, trust_env=False) as aclient:
            return await aclient.put(verifying_server.url + path, content=b"async payload")

    assert (response.status_code, response.content) == (200, b"verified")
    async_response = asyncio.run(go())
    assert (async_response.status_code, async_response.content) == (200, b"verified")


# ---------------------------------------------------------------- property


_SEGMENT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(_SEGMENT, min_size=1, max_size=3),
    value=st.text(max_size=20),
    body=st.binary(max_size=64),
    service=st.sampled_from(["execute-api", "s3"]),
)
def test_any_request_signed_by_httpx_auth_verifies_and_matches_botocore(
    segments: list[str], value: str, body: bytes, service: str
) -> None:
    url = (
        "https://host.example/"
        + "/".join(quote(s, safe="~") for s in segments)
        + "?v="
        + quote(value, safe="-_.~")
    )
    auth = SigV4Auth(
        StaticCredentials(AKID, SECRET, TOKEN), region="us-east-1", service=service, clock=_frozen
    )
    signed = next(auth.sync_auth_flow(httpx.Request("PUT", url, content=body)))
    sent = _view(signed)
    assert _verify(sent).payload_hash == c.hash_payload(body)
    case = {
        "method": "PUT",
        "url": str(signed.url),
        "body": body.decode("latin-1"),
        "service": service,
        "sign_payload": True,
    }
    headers = {n: v for n, v in sent.headers if n.lower() not in _SIGNING}
    request = AWSRequest(method="PUT", url=str(signed.url), headers=headers, data=body)
    cls = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
    cls(BotoCredentials(AKID, SECRET, TOKEN), service, "us-east-1").add_auth(request)
    assert sent.header("authorization") == request.headers["Authorization"], case
