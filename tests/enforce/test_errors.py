"""The one error renderer: AWS-shaped S3 XML and JSON bodies, never a traceback."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import iamguard.errors as errors
from iamguard.decision import Decision, DecisionKind
from iamguard.enforce.errors import EncodedAccessDeniedError, render_error

CASES = json.loads((Path(__file__).parents[1] / "data" / "enforce" / "error_bodies.json").read_text())


def _error(name: str) -> BaseException:
    if name == "RuntimeError":
        return RuntimeError("secret internals: /etc/passwd line 3")
    cls: type[BaseException] = getattr(errors, name)
    return cls("")  # empty message: the body must still carry one


@pytest.mark.parametrize("case", CASES, ids=[c["error"] for c in CASES])
@pytest.mark.parametrize("style", ["s3", "json"])
def test_error_bodies(case: dict[str, Any], style: str) -> None:
    status, headers, body = render_error(_error(case["error"]), style=style, request_id="REQ1")  # type: ignore[arg-type]
    assert status == case["status"]
    assert dict(headers)["Content-Length"] == str(len(body))
    if style == "s3":
        root = ET.fromstring(body)
        assert root.tag == "Error"
        code, message, request_id = (root.findtext(t) for t in ("Code", "Message", "RequestId"))
    else:
        document = json.loads(body)["Error"]
        code, message, request_id = document["Code"], document["Message"], json.loads(body)["RequestId"]
    assert code == case["code"]
    assert message
    assert request_id == "REQ1"
    assert b"Traceback" not in body and b"passwd" not in body


def test_access_denied_carries_the_encoded_message_and_escapes_xml() -> None:
    decision = Decision(DecisionKind.IMPLICIT_DENY, "s3:GetObject", "arn:aws:s3:::b/<k>&")
    error = EncodedAccessDeniedError(decision, "User: x is not authorized on <k>&", encoded_message="abc_-1")
    status, _, body = render_error(error, style="s3")
    assert status == 403
    message = ET.fromstring(body).findtext("Message")
    assert message is not None and message.endswith("Encoded authorization failure message: abc_-1")
    assert "<k>&" in message


def test_json_errors_are_sender_or_receiver() -> None:
    _, headers, body = render_error(errors.SignatureMismatchError("bad"))
    assert json.loads(body)["Error"]["Type"] == "Sender"
    assert ("x-amzn-ErrorType", "SignatureDoesNotMatch") in headers
    _, _, body = render_error(errors.StoreUnavailableError("db down"))
    assert json.loads(body)["Error"]["Type"] == "Receiver"
