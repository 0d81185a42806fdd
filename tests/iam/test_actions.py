"""Every IAM action of the identity half through unmodified boto3 over a socket: success shapes
and each error code, table-driven from ``tests/data/iam/actions.json``.

The endpoint is the app ``iamguard serve`` runs (IAM and STS on one port); setup steps and the
call under test sign as the account's root user. boto3 parses the XML with its own model, so a
success row checks AWS's element names, order-independent shapes, types and URL-encoded policy
documents (botocore decodes them back to JSON).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config

from iamguard.iam._registry import operations

from ._endpoint import Server, error_of, server

__all__ = ["server"]

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "iam" / "actions.json").read_text())
ROWS: list[dict[str, Any]] = DATA["rows"]
_DOCUMENT_PARAMS = ("PolicyDocument", "AssumeRolePolicyDocument")
#: The identity half's modules (part 1 of issue 14); the other modules have their own tests.
_MINE = ("ops_users", "ops_groups", "ops_roles", "ops_policies", "ops_attachments", "ops_inline", "ops_keys")


def _params(params: dict[str, Any], saved: dict[str, str]) -> dict[str, Any]:
    found = {}
    for name, value in params.items():
        if name in _DOCUMENT_PARAMS and isinstance(value, dict):
            value = json.dumps(value)
        elif value == "{key}":
            value = saved["key"]
        found[name] = value
    return found


def _matches(expected: Any, actual: Any, where: str = "") -> None:
    if expected is None:
        assert actual is None, f"{where}: expected absent, got {actual!r}"
    elif expected == "<datetime>":
        assert isinstance(actual, datetime), f"{where}: {actual!r} is not a timestamp"
    elif isinstance(expected, str) and expected.startswith("~"):
        assert isinstance(actual, str) and re.fullmatch(expected[1:], actual), (
            f"{where}: {actual!r} !~ {expected}"
        )
    elif isinstance(expected, dict) and not _is_document(expected):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not a structure"
        for key, value in expected.items():
            _matches(value, actual.get(key), f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            _matches(want, got, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _is_document(value: dict[str, Any]) -> bool:
    return "Statement" in value


def _run_setup(server: Server, row: dict[str, Any]) -> dict[str, str]:
    iam = server.iam()
    saved: dict[str, str] = {}
    for method, params in row["setup"]:
        answer = getattr(iam, method)(**_params(params, saved))
        if method == "create_access_key":
            saved["key"] = answer["AccessKey"]["AccessKeyId"]
    return saved


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_action(server: Server, row: dict[str, Any]) -> None:
    saved = _run_setup(server, row)
    method, params = row["call"]
    call = getattr(server.iam(validate=False), method)
    if "error" in row:
        code, status, message = error_of(call, **_params(params, saved))
        assert [code, status] == row["error"], message
        assert message  # AWS always explains
        return
    answer = call(**_params(params, saved))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["ResponseMetadata"]["RequestId"])
    _matches(row["expect"], answer)


def _action_of(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def test_every_action_of_the_identity_half_has_success_and_error_rows() -> None:
    mine = {action for action, op in operations().items() if op.apply.__module__.rsplit(".", 1)[-1] in _MINE}
    succeeded = {_action_of(r["call"][0]) for r in ROWS if "expect" in r}
    failed = {_action_of(r["call"][0]) for r in ROWS if "error" in r}
    assert len(mine) == 69
    assert mine <= succeeded, sorted(mine - succeeded)
    assert mine <= failed, sorted(mine - failed)


def test_every_row_cites_aws_documentation() -> None:
    for row in ROWS:
        assert row["doc"].startswith("https://docs.aws.amazon.com/IAM/"), row["name"]


def test_an_unsigned_call_is_refused_by_iam_itself(server: Server) -> None:
    # boto3 without credentials signing: the combined server routes it by its Version to IAM,
    # whose error document botocore reads (the WSGI twin of the ASGI routing test).
    unsigned = boto3.client(
        "iam",
        endpoint_url=server.url,
        region_name="us-east-1",
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )
    code, status, _ = error_of(unsigned.create_user, UserName="nobody")
    assert (code, status) == ("MissingAuthenticationToken", 403)
    assert server.store.list_users() == []
