"""IAM's NoSuchEntity and EntityAlreadyExists errors carry AWS's own texts, through boto3 over a
socket (table in ``tests/data/iam/messages/aws_texts.json``; the texts and where AWS was seen
answering them are in ``iamguard/store/_aws_messages.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.store._aws_messages import MESSAGES, aws_message
from tests.iam._endpoint import Server, error_of, server  # noqa: F401 - the fixture

_ROWS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "data" / "iam" / "messages" / "aws_texts.json").read_text()
)["rows"]


@pytest.mark.parametrize("row", _ROWS, ids=[row["case"] for row in _ROWS])
def test_error_text_is_aws_text(server: Server, row: dict[str, Any]) -> None:  # noqa: F811
    iam = server.iam()
    for method, params in row["setup"]:
        getattr(iam, method)(**params)
    method, params = row["call"]
    code, _, message = error_of(getattr(iam, method), **params)
    assert (code, message) == (row["code"], row["message"])


def test_every_text_names_its_source_and_fills_in() -> None:
    for key, (_template, source) in MESSAGES.items():
        assert source.strip(), key
        fields = {name: "X" for name in ("name", "arn", "version", "key_id", "serial")}
        assert "{" not in aws_message(key, **fields), key
