"""Regressions at the HTTP edge, in process: every malformed request is a 4xx with AWS's code
and a request id, never a 500 (all of these answered 500 with a traceback on a29b1b2, or, for
the region and token cases, were accepted / answered with another service's code).

Sources for the codes: S3 https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html ;
STS https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html ; wrong-region
answers as captured from AWS (see :class:`iamguard.authn.sigv4.WrongRegionError`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import quote

import pytest

from iamguard.authn.session_token import SessionTokenService
from iamguard.enforce.guard import Guard
from iamguard.enforce.wsgi import IAMGuardMiddleware

from ..enforce.helpers import sign, unsigned_trailer_upload
from .wire_world import S3_URL, STS_URL, Reply, WireWorld, call, environ, make_wire_world

BUCKET = "alice-reports"
STS_FORM = "Action=GetCallerIdentity&Version=2011-06-15"


@pytest.fixture(scope="module")
def world() -> WireWorld:
    w = make_wire_world()
    put = _signed_s3(w, "PUT", f"{S3_URL}/{BUCKET}")
    assert put.status == 200, put.text
    return w


def _signed_s3(
    w: WireWorld,
    method: str,
    url: str,
    body: bytes = b"",
    *,
    region: str = "us-east-1",
    headers: dict[str, str] | None = None,
    token: str | None = None,
    akid: str | None = None,
    secret: str | None = None,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> Reply:
    signed = sign(
        method,
        url,
        akid or w.akid,
        secret or w.secret,
        service="s3",
        region=region,
        body=body,
        headers=headers,
        token=token,
        context=context,
    )
    signed.setdefault("Content-Length", str(len(body)))
    return call(w.s3, environ(method, url, [*signed.items(), ("Host", "127.0.0.1:9000")], body, **extra))


def _signed_sts(
    w: WireWorld,
    *,
    region: str = "us-east-1",
    token: str | None = None,
    akid: str | None = None,
    secret: str | None = None,
) -> Reply:
    body = STS_FORM.encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = sign(
        "POST",
        f"{STS_URL}/",
        akid or w.akid,
        secret or w.secret,
        service="sts",
        region=region,
        body=body,
        headers=headers,
        token=token,
    )
    signed["Content-Length"] = str(len(body))
    return call(w.sts, environ("POST", f"{STS_URL}/", [*signed.items(), ("Host", "127.0.0.1:9001")], body))


def _code(reply: Reply) -> str:
    found = re.search(r"<Code>([^<]*)</Code>", reply.text) or re.search(r'"Code":"([^"]*)"', reply.text)
    assert found, reply.text
    return found.group(1)


def _request_id(reply: Reply) -> str:
    found = re.search(r"<RequestId>([^<]*)</RequestId>", reply.text) or re.search(
        r'"RequestId":"([^"]*)"', reply.text
    )
    assert found, reply.text
    return found.group(1)


def _error(reply: Reply, status: int, code: str) -> None:
    assert (reply.status, _code(reply)) == (status, code), reply.text
    assert "Traceback" not in reply.text
    header = reply.headers.get("x-amz-request-id") or reply.headers.get("x-amzn-requestid")
    assert _request_id(reply) and header == _request_id(reply), reply.headers


# ---------------------------------------------------------------- numbers from the wire


@pytest.mark.parametrize("length", ["\u00b9", "9" * 5000, "1_0", "+5", "\u0665"])
def test_signed_put_with_a_content_length_that_is_not_ascii_digits(world: WireWorld, length: str) -> None:
    """``"¹".isdigit()`` is true and ``int()`` fails; ``int()`` refuses 4,301+ digits and reads
    ``1_0``; all were a 500 before (or a wrong length)."""
    signed = sign("PUT", f"{S3_URL}/{BUCKET}/k", world.akid, world.secret, service="s3", body=b"x")
    reply = call(
        world.s3, environ("PUT", f"{S3_URL}/{BUCKET}/k", [*signed.items(), ("Content-Length", length)], b"x")
    )
    _error(reply, 400, "InvalidArgument")


def test_unsigned_request_body_is_never_read(world: WireWorld) -> None:
    """No credentials: refused without touching the body (a29b1b2 read 64 MiB + 1 first)."""

    class Untouchable:
        def read(self, *_: Any) -> bytes:
            raise AssertionError("the body of an unauthenticated request was read")

        readinto = readline = read

    env = environ(
        "PUT",
        f"{S3_URL}/any/key",
        [("Content-Length", "\u00b9")],
        Untouchable(),
        **{"wsgi.input_terminated": True},
    )
    _error(call(world.s3, env), 403, "AccessDenied")


def test_body_stream_errors_are_incomplete_body(world: WireWorld) -> None:
    class Broken:
        def readinto(self, _: Any) -> int:
            raise OSError("Invalid chunk header")

    signed = sign("PUT", f"{S3_URL}/{BUCKET}/k", world.akid, world.secret, service="s3", body=b"x")
    env = environ(
        "PUT", f"{S3_URL}/{BUCKET}/k", list(signed.items()), Broken(), **{"wsgi.input_terminated": True}
    )
    _error(call(world.s3, env), 400, "IncompleteBody")


def test_body_stream_claiming_more_than_asked_is_refused(world: WireWorld) -> None:
    class Liar:
        def readinto(self, buffer: Any) -> int:
            return len(buffer) + 10  # Werkzeug's dechunker could report more than it copied

    signed = sign("PUT", f"{S3_URL}/{BUCKET}/k", world.akid, world.secret, service="s3", body=b"x")
    env = environ(
        "PUT", f"{S3_URL}/{BUCKET}/k", list(signed.items()), Liar(), **{"wsgi.input_terminated": True}
    )
    _error(call(world.s3, env), 400, "IncompleteBody")


def test_aws_chunked_decoded_length_of_5000_digits(world: WireWorld) -> None:
    body, headers, context = unsigned_trailer_upload(b"hello")
    headers["x-amz-decoded-content-length"] = "5" * 5000
    reply = _signed_s3(world, "PUT", f"{S3_URL}/{BUCKET}/chunked", body, headers=headers, context=context)
    _error(reply, 400, "IncompleteBody")


@pytest.mark.parametrize(
    "body",
    [
        b"5;ext=1\r\nhello\r\n0\r\n\r\n",
        b"-1\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhel",
        "\u00b9\r\nx\r\n0\r\n\r\n".encode(),
    ],
)
def test_malformed_aws_chunked_bodies(world: WireWorld, body: bytes) -> None:
    _, headers, context = unsigned_trailer_upload(b"hello")
    reply = _signed_s3(world, "PUT", f"{S3_URL}/{BUCKET}/chunked", body, headers=headers, context=context)
    _error(reply, 400, "IncompleteBody")


def _presigned(
    world: WireWorld, *, akid: str | None = None, region: str = "us-east-1", expires: str = "60"
) -> Reply:
    now = time.gmtime()
    date, stamp = time.strftime("%Y%m%d", now), time.strftime("%Y%m%dT%H%M%SZ", now)
    credential = f"{akid or world.akid}/{date}/{region}/s3/aws4_request"
    query = (
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={quote(credential, safe='%')}&X-Amz-Date={stamp}"
        f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={'0' * 64}"
    )
    return call(world.s3, environ("GET", f"{S3_URL}/{BUCKET}/k?{query}", [("Host", "127.0.0.1:9000")]))


def test_presigned_expires_of_5000_digits(world: WireWorld) -> None:
    _error(_presigned(world, expires="9" * 5000), 400, "AuthorizationQueryParametersError")


@pytest.mark.parametrize("expires", ["\u0661\u0662", "\u00b9", "-1"])
def test_presigned_expires_not_ascii_digits(world: WireWorld, expires: str) -> None:
    _error(_presigned(world, expires=quote(expires)), 400, "AuthorizationQueryParametersError")


def test_presigned_access_key_with_ff_byte(world: WireWorld) -> None:
    _error(_presigned(world, akid="AKIA%FFEXAMPLE"), 400, "AuthorizationQueryParametersError")


def test_presigned_region_with_ff_byte(world: WireWorld) -> None:
    _error(_presigned(world, region="us-east-1%FF"), 400, "AuthorizationQueryParametersError")


# ---------------------------------------------------------------- the credential scope's region


@pytest.mark.parametrize("region", ["eu-west-1", "*", "made-up-region"])
def test_s3_refuses_a_scope_for_another_region(world: WireWorld, region: str) -> None:
    reply = _signed_s3(world, "GET", f"{S3_URL}/{BUCKET}?list-type=2", region=region)
    _error(reply, 400, "AuthorizationHeaderMalformed")
    assert f"the region '{region}' is wrong; expecting 'us-east-1'" in reply.text
    assert "<Region>us-east-1</Region>" in reply.text


def test_s3_presigned_scope_for_another_region(world: WireWorld) -> None:
    reply = _presigned(world, region="eu-west-1")
    _error(reply, 400, "AuthorizationQueryParametersError")
    assert "<Region>us-east-1</Region>" in reply.text


def test_s3_accepts_its_own_region(world: WireWorld) -> None:
    assert _signed_s3(world, "GET", f"{S3_URL}/{BUCKET}?list-type=2").status == 200


@pytest.mark.parametrize("region", ["eu-west-1", "*", "made-up-region"])
def test_sts_refuses_a_scope_for_another_region(world: WireWorld, region: str) -> None:
    reply = _signed_sts(world, region=region)
    _error(reply, 403, "SignatureDoesNotMatch")
    assert f"Credential should be scoped to a valid region, not '{region}'." in reply.text


def test_sts_accepts_us_east_1(world: WireWorld) -> None:
    reply = _signed_sts(world)
    assert reply.status == 200 and "GetCallerIdentityResult" in reply.text


def test_json_guard_refuses_a_scope_for_another_region(world: WireWorld) -> None:
    store = world.s3.extensions["iamguard"].guard.source
    app = IAMGuardMiddleware(lambda e, s: (s("200 OK", []), [b"ok"])[1], Guard(store, service="execute-api"))
    url = "http://127.0.0.1/x"
    signed = sign("GET", url, world.akid, world.secret, region="eu-west-1")
    reply = call(app, environ("GET", url, [*signed.items(), ("Host", "127.0.0.1")]))
    _error(reply, 403, "SignatureDoesNotMatch")


# ---------------------------------------------------------------- session tokens on S3


def _session(world: WireWorld, sessions: SessionTokenService) -> Any:
    creds, _ = sessions.issue(
        arn="arn:aws:sts::123456789012:assumed-role/r/s",
        account="123456789012",
        principal_type="AssumedRole",
        user_id="AROAEXAMPLE:s",
        duration_seconds=900,
        role_arn="arn:aws:iam::123456789012:role/r",
        session_name="s",
    )
    return creds


def test_s3_tampered_session_token_is_invalid_token(world: WireWorld) -> None:
    creds = _session(world, world.sessions)
    token = creds.session_token[:-4] + ("AAAA" if not creds.session_token.endswith("AAAA") else "BBBB")
    reply = _signed_s3(
        world,
        "GET",
        f"{S3_URL}/{BUCKET}?list-type=2",
        akid=creds.access_key_id,
        secret=creds.secret_access_key,
        token=token,
    )
    _error(reply, 400, "InvalidToken")
    assert "The provided token is malformed or otherwise invalid." in reply.text


def test_s3_expired_session_token_is_expired_token(world: WireWorld) -> None:
    creds = _session(world, world.sessions)
    world.offset[0] = 3600.0  # the session (900 s) is over
    try:
        reply = _signed_s3(
            world,
            "GET",
            f"{S3_URL}/{BUCKET}?list-type=2",
            akid=creds.access_key_id,
            secret=creds.secret_access_key,
            token=creds.session_token,
        )
    finally:
        world.offset[0] = 0.0
    _error(reply, 400, "ExpiredToken")
    assert "The provided token has expired." in reply.text


def test_sts_keeps_its_token_codes(world: WireWorld) -> None:
    creds = _session(world, world.sessions)
    token = creds.session_token[:-4] + ("AAAA" if not creds.session_token.endswith("AAAA") else "BBBB")
    reply = _signed_sts(world, akid=creds.access_key_id, secret=creds.secret_access_key, token=token)
    _error(reply, 403, "InvalidClientTokenId")


# ---------------------------------------------------------------- request ids


def test_sigv2_presigned_refusal_has_a_request_id(world: WireWorld) -> None:
    url = f"{S3_URL}/{BUCKET}/k?AWSAccessKeyId={world.akid}&Signature=abc&Expires=1"
    _error(call(world.s3, environ("GET", url, [("Host", "127.0.0.1:9000")])), 400, "InvalidRequest")


def test_sigv2_header_refusal_has_a_request_id(world: WireWorld) -> None:
    headers = [("Host", "127.0.0.1:9000"), ("Authorization", f"AWS {world.akid}:c2lnbmF0dXJl")]
    _error(call(world.s3, environ("GET", f"{S3_URL}/{BUCKET}/k", headers)), 400, "InvalidRequest")


def test_app_errors_of_unauthenticated_requests_have_a_request_id() -> None:
    """An anonymous request the app itself refuses (``required=False``) still gets an id."""
    w = make_wire_world()
    state = w.s3.extensions["iamguard"]
    store = state.guard.source
    app = IAMGuardMiddleware(_raise_denied, Guard(store, service="s3"), required=False, error_style="s3")
    _error(call(app, environ("GET", f"{S3_URL}/x", [("Host", "127.0.0.1:9000")])), 403, "AccessDenied")


def _raise_denied(environ: Any, start_response: Any) -> Any:
    from iamguard.errors import AuthenticationError

    raise AuthenticationError("Access Denied", code="AccessDenied", http_status=403)


# ---------------------------------------------------------------- 5xx are logged, not shown


class _BrokenStore:
    def generation(self) -> int:
        raise RuntimeError("database is on fire")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("database is on fire")


def test_middleware_5xx_is_logged_with_its_request_id(
    world: WireWorld, caplog: pytest.LogCaptureFixture
) -> None:
    app = IAMGuardMiddleware(lambda e, s: [b""], Guard(_BrokenStore(), service="s3"), error_style="s3")
    url = f"{S3_URL}/{BUCKET}/k"
    signed = sign("GET", url, world.akid, world.secret, service="s3")
    with caplog.at_level(logging.ERROR, logger="iamguard"):
        reply = call(app, environ("GET", url, [*signed.items(), ("Host", "127.0.0.1:9000")]))
    _error(reply, 500, "InternalFailure")
    assert "fire" not in reply.text and "Traceback" not in reply.text
    records = [r for r in caplog.records if r.name.startswith("iamguard") and r.levelno == logging.ERROR]
    assert records and _request_id(reply) in records[0].getMessage()
    assert records[0].exc_info is not None and "fire" in str(records[0].exc_info[1])
    logged = caplog.text
    assert (
        signed["Authorization"] not in logged and signed["Authorization"].split("Signature=")[1] not in logged
    )


def test_sts_5xx_is_logged_with_its_request_id(world: WireWorld, caplog: pytest.LogCaptureFixture) -> None:
    from iamguard.sts.service import TokenService
    from iamguard.sts.wsgi import StsWsgiApp

    class FailingKeys:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def get_access_key(self, _: str) -> Any:
            raise RuntimeError("database is on fire")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    store = world.s3.extensions["iamguard"].guard.source
    app = StsWsgiApp(TokenService(FailingKeys(store), world.sessions))
    body = STS_FORM.encode()
    signed = sign(
        "POST",
        f"{STS_URL}/",
        world.akid,
        world.secret,
        service="sts",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    signed["Content-Length"] = str(len(body))
    with caplog.at_level(logging.ERROR, logger="iamguard"):
        reply = call(app, environ("POST", f"{STS_URL}/", [*signed.items(), ("Host", "127.0.0.1:9001")], body))
    _error(reply, 500, "InternalFailure")
    records = [r for r in caplog.records if r.name.startswith("iamguard") and r.levelno == logging.ERROR]
    assert records and _request_id(reply) in records[0].getMessage()
    assert signed["Authorization"].split("Signature=")[1] not in caplog.text
    json.dumps([r.getMessage() for r in records])  # plain text, nothing odd in the message
