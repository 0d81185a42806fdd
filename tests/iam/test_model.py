"""The IAM model layer against botocore itself: what botocore's Query serializer sends is read
back exactly (``read_form``), what ``render_result`` writes botocore's parser reads back
exactly, and validation follows the model's constraints with AWS's wording.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import botocore.session
import pytest
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import IAMGuardError
from iamguard.iam._model import _matcher, error_status, input_shape, model, read_form, validate
from iamguard.iam._xml import render_error, render_result
from iamguard.iam.query_api import parse_form

_SERVICE = botocore.session.get_session().get_service_model("iam")
ROWS = json.loads((Path(__file__).resolve().parent.parent / "data" / "iam" / "actions.json").read_text())[
    "rows"
]


def _action(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items() if v != "{key}"}


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_what_botocore_sends_reads_back_exactly(row: dict[str, Any]) -> None:
    action, params = _action(row["call"][0]), _params(row["call"][1])
    request = QuerySerializer().serialize_to_request(params, _SERVICE.operation_model(action))
    sent, version, form = parse_form(_encoded(request["body"]))
    assert (sent, version) == (action, "2010-05-08")
    shape = input_shape(action)
    assert shape is not None
    assert read_form(shape, form) == params


def _encoded(body: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


_tag_text = st.text(
    st.characters(categories=("L", "N", "Zs")) | st.sampled_from("_.:/=+-@"), min_size=1, max_size=20
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.from_regex(r"[\w+=,.@-]{1,64}", fullmatch=True).filter(lambda s: s.isascii()),
    tags=st.lists(st.tuples(_tag_text, _tag_text), max_size=5, unique_by=lambda t: t[0]),
)
def test_any_valid_create_user_survives_the_round_trip(name: str, tags: list[tuple[str, str]]) -> None:
    params: dict[str, Any] = {"UserName": name, "Path": "/a+b&c/"}
    if tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
    request = QuerySerializer().serialize_to_request(params, _SERVICE.operation_model("CreateUser"))
    form = dict(parse_qsl(_encoded(request["body"]), keep_blank_values=True))
    assert read_form("CreateUserRequest", form) == params
    assert validate("CreateUserRequest", params) == params


def test_an_empty_list_and_wrongly_typed_values() -> None:
    assert read_form("UntagUserRequest", {"UserName": "a", "TagKeys": ""}) == {"UserName": "a", "TagKeys": []}
    with pytest.raises(IAMGuardError) as caught:
        read_form("ListUsersRequest", {"MaxItems": "ten"})
    assert caught.value.code == "ValidationError"
    assert "at 'maxItems' failed to satisfy constraint: Member must be a number" in caught.value.message
    with pytest.raises(IAMGuardError):
        read_form("ListPoliciesRequest", {"OnlyAttached": "yes"})


def test_validation_lists_every_problem_in_aws_wording() -> None:
    with pytest.raises(IAMGuardError) as caught:
        validate(
            "CreateUserRequest", {"UserName": "x" * 65, "Path": "nope", "Tags": [{"Key": "", "Value": "v"}]}
        )
    error = caught.value
    assert (error.code, error.http_status) == ("ValidationError", 400)
    assert error.message.startswith("3 validation errors detected: ")
    assert (
        f"Value '{'x' * 65}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64"
        in error.message
    )
    assert (
        "Value 'nope' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern"
        in error.message
    )
    assert (
        "at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"
        in error.message
    )
    with pytest.raises(IAMGuardError) as missing:
        validate("CreateUserRequest", {})
    assert missing.value.message == (
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
    )
    with pytest.raises(IAMGuardError) as enum:
        validate("ListPoliciesRequest", {"Scope": "Everything"})
    assert "Member must satisfy enum value set: [All, AWS, Local]" in enum.value.message


def test_every_pattern_of_the_model_is_usable() -> None:
    patterns = {s["pattern"] for s in model()["shapes"].values() if "pattern" in s}
    assert len(patterns) >= 40
    for pattern in patterns:
        _matcher(pattern)  # compiles (the \p{L} tag classes included)
    tag = _matcher(model()["shapes"]["tagKeyType"]["pattern"])
    assert tag("Größe") and tag("名前 1") and tag("cost-center:a/b=c+d@e")
    assert not tag("no!") and not tag("") and not tag("tab\there")


def test_error_statuses_come_from_the_model() -> None:
    assert [error_status(c, 400) for c in ("NoSuchEntity", "EntityAlreadyExists", "LimitExceeded")] == [
        404,
        409,
        409,
    ]
    assert [error_status(c, 400) for c in ("DeleteConflict", "MalformedPolicyDocument", "InvalidInput")] == [
        409,
        400,
        400,
    ]
    assert [error_status(c, 400) for c in ("PasswordPolicyViolation", "EntityTemporarilyUnmodifiable")] == [
        400,
        409,
    ]
    assert [error_status(c, 400) for c in ("ConcurrentModification", "ServiceFailure")] == [409, 500]
    assert error_status("ValidationError", 400) == 400  # not in the model: the error's own status


def _parse(action: str, body: bytes, status: int = 200) -> dict[str, Any]:
    operation = _SERVICE.operation_model(action)
    response = {"body": body, "headers": {}, "status_code": status}
    parsed: dict[str, Any] = QueryParser().parse(response, operation.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def test_results_render_as_botocore_reads_them() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    user = {
        "Path": "/eng/",
        "UserName": "Alice",
        "UserId": "AIDAEXAMPLEEXAMPLE123",
        "Arn": "arn:aws:iam::111122223333:user/eng/Alice",
        "CreateDate": created,
        "PermissionsBoundary": {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/b",
        },
        "Tags": [{"Key": "a", "Value": "<&>"}, {"Key": "b", "Value": ""}],
    }
    body = render_result("GetUser", {"User": user}, "rid")
    assert b"<CreateDate>2026-01-02T03:04:05Z</CreateDate>" in body
    assert _parse("GetUser", body) == {"User": user}
    listed = {"Users": [user, {**user, "UserName": "Bob"}], "IsTruncated": True, "Marker": "m"}
    assert b"<IsTruncated>true</IsTruncated>" in render_result("ListUsers", listed, "rid")
    assert _parse("ListUsers", render_result("ListUsers", listed, "rid")) == listed


def test_actions_without_output_answer_with_metadata_only() -> None:
    body = render_result("DeleteUser", None, "r-1")
    assert body == (
        b'<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DeleteUserResponse>"
    )


def test_errors_render_as_aws_error_documents() -> None:
    error = IAMGuardError("The user with name bob cannot be found.", code="NoSuchEntity", http_status=404)
    body = render_error(error, "r-2", 404)
    assert body == (
        b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
        b"<Code>NoSuchEntity</Code><Message>The user with name bob cannot be found.</Message></Error>"
        b"<RequestId>r-2</RequestId></ErrorResponse>"
    )
    fault = render_error(IAMGuardError("db path /secret", code="ServiceFailure", http_status=500), "r-3", 500)
    assert b"<Type>Receiver</Type>" in fault and b"/secret" not in fault


def test_text_xml_cannot_hold_never_breaks_the_document() -> None:
    # A ValidationError echoes the client's value; a control character in it must not make the
    # answer unparseable (botocore would then report a parse failure, not the error).
    error = IAMGuardError("Value 'a\x01<b>&\ud800' is bad", code="ValidationError", http_status=400)
    parsed = QueryParser().parse(
        {"body": render_error(error, "r", 400), "headers": {}, "status_code": 400},
        _SERVICE.operation_model("GetUser").output_shape,
    )
    assert parsed["Error"]["Code"] == "ValidationError"
    assert parsed["Error"]["Message"] == "Value 'a\ufffd<b>&\ufffd' is bad"
