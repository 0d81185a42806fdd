"""Every error answer leaves one server-side log line: a refused or malformed request (4xx) at
INFO with its code and request id, a server fault (5xx) at ERROR with its cause; never a secret."""

from __future__ import annotations

import logging

import pytest

from .wire_world import call, environ, make_wire_world

PRESIGNED = (
    "http://127.0.0.1/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=%FF%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
    "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64
)


@pytest.mark.parametrize(
    ("name", "env"),
    [
        (
            "superscript Content-Length",
            environ("PUT", "http://127.0.0.1/b/k", [("Content-Length", "¹")], b"x"),
        ),
        (
            "5,000-digit Content-Length",
            environ("PUT", "http://127.0.0.1/b/k", [("Content-Length", "9" * 5000)], b"x"),
        ),
        ("%FF in a presigned access key id", environ("GET", PRESIGNED)),
        (
            "wrong secret",
            environ("GET", "http://127.0.0.1/b/k", [("Authorization", "AWS4-HMAC-SHA256 Credential=x")]),
        ),
    ],
)
def test_a_refused_request_is_logged_once_at_info(
    name: str, env: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    world = make_wire_world()
    with caplog.at_level(logging.INFO, logger="iamguard"):
        reply = call(world.s3, env)
    assert 400 <= reply.status < 500, name
    lines = [r for r in caplog.records if r.name.startswith("iamguard") and "refused" in r.getMessage()]
    assert len(lines) == 1, (name, caplog.text)
    assert lines[0].levelno == logging.INFO
    request_id = reply.headers.get("x-amz-request-id", "")
    assert request_id and request_id in lines[0].getMessage()
    assert world.secret not in caplog.text
