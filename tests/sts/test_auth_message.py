"""Tests for iamguard.sts.auth_message: AWS-shaped decoded messages and the sealing codec."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.context import make_context
from iamguard.errors import STSError
from iamguard.evaluate.engine import evaluate
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal
from iamguard.sts.auth_message import AuthorizationMessageCodec, build_message

ALICE = Principal.from_arn("arn:aws:iam::123456789012:user/alice", user_id="AIDAEXAMPLEALICE")
IDENTITY = parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowEc2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {
                "Sid": "DenyOutsideRegion",
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
        ],
    },
    name="Ec2Policy",
)
CONTEXT = make_context({"aws:RequestedRegion": "us-east-1", "aws:TagKeys": ["Team", "Env"]})
RESOURCE = "arn:aws:ec2:us-east-1:123456789012:instance/*"


def explicit_deny_message(**kwargs: Any) -> dict[str, Any]:
    request = Request(ALICE, "ec2:RunInstances", RESOURCE, CONTEXT)
    decision = evaluate(request, PolicySet(identity=(IDENTITY,)))
    assert decision.kind.value == "explicitDeny"
    return build_message(decision, principal=ALICE, context=CONTEXT, **kwargs)


# ---------------------------------------------------------------- message shape


def test_message_from_a_real_explicit_deny() -> None:
    """The shape of AWS's decoded message.

    https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
    """
    message = explicit_deny_message(policies=PolicySet(identity=(IDENTITY,)))
    assert message["allowed"] is False
    assert message["explicitDeny"] is True
    assert message["failures"] == {"items": []}
    statements = message["matchedStatements"]["items"]
    deny = next(s for s in statements if s["effect"] == "DENY")
    assert deny["statementId"] == "DenyOutsideRegion"
    assert deny["sourcePolicyId"] == "Ec2Policy"
    assert deny["actions"] == {"items": [{"value": "ec2:RunInstances"}]}
    assert deny["resources"] == {"items": [{"value": "*"}]}
    assert deny["principals"] == {"items": [{"value": "AIDAEXAMPLEALICE"}]}
    assert deny["conditions"]["items"][0]["key"] == "aws:RequestedRegion"
    ctx = message["context"]
    assert ctx["principal"] == {"id": "AIDAEXAMPLEALICE", "arn": ALICE.arn, "name": "alice"}
    assert (ctx["action"], ctx["resource"]) == ("ec2:RunInstances", RESOURCE)
    conditions = {
        item["key"]: [v["value"] for v in item["values"]["items"]] for item in ctx["conditions"]["items"]
    }
    assert conditions["aws:requestedregion"] == ["us-east-1"]
    assert conditions["aws:tagkeys"] == ["Team", "Env"]
    assert conditions["aws:username"] == ["alice"]  # principal-derived keys are part of the context
    assert conditions["aws:principalarn"] == [ALICE.arn]
    json.dumps(message)  # plain JSON all the way down


def test_message_from_a_real_implicit_deny() -> None:
    request = Request(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/key", {})
    decision = evaluate(request, PolicySet(identity=(IDENTITY,)))
    message = build_message(decision, principal=ALICE, context={})
    assert (message["allowed"], message["explicitDeny"]) == (False, False)
    assert message["matchedStatements"] == {"items": []}


def test_message_without_policies_names_statements_only() -> None:
    statements = explicit_deny_message()["matchedStatements"]["items"]
    assert statements and all("actions" not in s for s in statements)
    assert {s["statementId"] for s in statements} >= {"DenyOutsideRegion"}


def test_request_context_wins_over_principal_keys() -> None:
    request = Request(ALICE, "ec2:RunInstances", RESOURCE, CONTEXT)
    decision = evaluate(request, PolicySet(identity=(IDENTITY,)))
    message = build_message(decision, principal=ALICE, context={"aws:username": "override"})
    items = {i["key"]: i["values"]["items"] for i in message["context"]["conditions"]["items"]}
    assert items["aws:username"] == [{"value": "override"}]


# ---------------------------------------------------------------- codec


def test_round_trip_and_size() -> None:
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    message = explicit_deny_message(policies=PolicySet(identity=(IDENTITY,)))
    text = codec.encode(message)
    assert codec.decode(text) == message
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw_json = len(json.dumps(message, separators=(",", ":")))
    assert len(text) < raw_json  # compressed, even after base64 and the GCM overhead
    assert len(text) <= 10240  # EncodedMessage length limit of DecodeAuthorizationMessage


def test_same_message_encodes_differently_each_time() -> None:
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    assert codec.encode({"a": 1}) != codec.encode({"a": 1})


def test_large_repetitive_message_compresses() -> None:
    codec = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    message = {
        "context": {
            "conditions": {
                "items": [{"key": f"k{i}", "values": {"items": [{"value": "x" * 40}]}} for i in range(200)]
            }
        }
    }
    text = codec.encode(message)
    assert len(text) < len(json.dumps(message)) / 4
    assert codec.decode(text) == message


def _flip(text: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    raw[index % len(raw)] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@settings(max_examples=60, deadline=None)
@given(index=st.integers(min_value=0, max_value=10_000))
def test_any_single_bit_flip_is_rejected(index: int) -> None:
    text = CODEC.encode({"allowed": False, "note": "x" * 50})
    with pytest.raises(STSError) as info:
        CODEC.decode(_flip(text, index))
    assert (info.value.code, info.value.http_status) == ("InvalidAuthorizationMessageException", 400)


CODEC = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())


@pytest.mark.parametrize(
    "text",
    ["", "not base64 !", "AA", "A" * 65537, "AQdkZWZhdWx0", "Ag" + "A" * 60],
    ids=["empty", "bad chars", "too short", "too long", "header only", "unknown version"],
)
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(STSError) as info:
        CODEC.decode(text)
    assert info.value.code == "InvalidAuthorizationMessageException"


def test_wrong_key_is_rejected() -> None:
    text = AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key()).encode({"a": 1})
    with pytest.raises(STSError) as info:
        CODEC.decode(text)  # same key id "default", different key: the tag does not verify
    assert info.value.code == "InvalidAuthorizationMessageException"


def test_key_rotation() -> None:
    old, new = AuthorizationMessageCodec.generate_key(), AuthorizationMessageCodec.generate_key()
    before = AuthorizationMessageCodec({"k1": old}).encode({"issued": "before"})
    rotated = AuthorizationMessageCodec({"k1": old, "k2": new}, primary="k2")
    after = rotated.encode({"issued": "after"})
    assert rotated.decode(before) == {"issued": "before"}
    assert rotated.decode(after) == {"issued": "after"}
    retired = AuthorizationMessageCodec({"k2": new})
    assert retired.decode(after) == {"issued": "after"}
    with pytest.raises(STSError):
        retired.decode(before)  # k1 retired: unknown key id


def test_key_id_is_authenticated() -> None:
    """Relabelling a message with another known key id fails (the header is GCM associated data)."""
    key = AuthorizationMessageCodec.generate_key()
    codec = AuthorizationMessageCodec({"k1": key, "k2": key}, primary="k1")
    raw = bytearray(base64.urlsafe_b64decode(codec.encode({"a": 1}) + "=="))
    raw[2:4] = b"k2"
    relabelled = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(STSError):
        codec.decode(relabelled)


@pytest.mark.parametrize(
    ("key", "primary"),
    [
        (b"short", None),
        ({}, None),
        ({"a": bytes(32), "b": bytes(32)}, None),
        ({"a": bytes(32)}, "b"),
        ({"bad id": bytes(32)}, None),
    ],
)
def test_bad_configuration(key: Any, primary: str | None) -> None:
    with pytest.raises(ValueError):
        AuthorizationMessageCodec(key, primary=primary)
