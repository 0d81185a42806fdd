"""@require on plain functions, methods and async functions, under acting_as."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from iamguard.authn.authenticators import Authenticated
from iamguard.enforce.errors import EncodedAccessDeniedError
from iamguard.enforce.guard import AsyncGuard, Guard
from iamguard.enforce.require import ResourceTemplate, acting_as, current_request, require
from iamguard.errors import AuthenticationError
from iamguard.principal import Principal

from .helpers import ACCOUNT, World, make_world

ALICE = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/alice")


@pytest.fixture()
def world() -> World:
    return make_world()


@require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
def get_object(bucket: str, key: str = "index.html") -> str:
    return f"{bucket}/{key}"


@require("s3:GetObject", resource="arn:aws:s3:::{bucket}/{key}")
async def aget_object(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


class Repository:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @require(
        ["s3:GetObject", "execute-api:Invoke"], resource=lambda self, key: f"arn:aws:s3:::{self.bucket}/{key}"
    )
    def read(self, key: str) -> str:
        return key

    @require("s3:GetObject", resource="arn:aws:s3:::{name}/{key}")
    async def aread(self, name: str, key: str) -> str:
        return key


def test_plain_function_template_from_arguments_and_defaults(world: World) -> None:
    with acting_as(ALICE, guard=Guard(world.store)) as state:
        assert get_object("site", key="a.txt") == "site/a.txt"
        assert get_object("site") == "site/index.html"
        with pytest.raises(EncodedAccessDeniedError) as denied:
            get_object("secret", "x")
    assert denied.value.decision.resource == "arn:aws:s3:::secret/x"
    assert [d.kind.value for d in state.decisions] == ["allowed", "allowed", "explicitDeny"]


def test_async_function_with_async_and_sync_guards(world: World) -> None:
    async def run(guard: Any) -> str:
        with acting_as(ALICE, guard=guard):
            return await aget_object("b", "k")

    assert asyncio.run(run(AsyncGuard(world.store))) == "b/k"
    assert asyncio.run(run(Guard(world.store))) == "b/k"
    assert inspect.iscoroutinefunction(aget_object)


def test_methods_and_callable_resources(world: World) -> None:
    repo = Repository("photos")
    with acting_as(ALICE, guard=Guard(world.store)):
        assert repo.read("cat.jpg") == "cat.jpg"
        assert callable(Repository("secret").aread)  # attribute access keeps the descriptor working
        with pytest.raises(EncodedAccessDeniedError):
            Repository("secret").read("x")

    async def run() -> str:
        with acting_as(ALICE, guard=AsyncGuard(world.store)):
            return await repo.aread("b", "k")

    assert asyncio.run(run()) == "k"


def test_every_action_must_be_allowed(world: World) -> None:
    @require(["s3:GetObject", "s3:DeleteObject"], resource="*")
    def both() -> None:
        raise AssertionError("must not run")

    with acting_as(ALICE, guard=Guard(world.store)), pytest.raises(EncodedAccessDeniedError) as denied:
        both()
    assert denied.value.decision.action == "s3:DeleteObject"


def test_context_and_resource_policy_hooks(world: World) -> None:
    bucket_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::{bucket}/*".replace("{bucket}", "shared"),
                "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}},
            }
        ],
    }

    @require(
        "s3:PutObject",
        resource="arn:aws:s3:::{bucket}/{key}",
        context=lambda acl: {"s3:x-amz-acl": acl},
        resource_policy=lambda bucket: (bucket_policy if bucket == "shared" else None, ACCOUNT),
    )
    def put(bucket: str, key: str, acl: str) -> str:
        return "stored"

    with acting_as(ALICE, guard=Guard(world.store)):
        assert put("shared", "k", "private") == "stored"
        with pytest.raises(EncodedAccessDeniedError):
            put("shared", "k", "public-read")
        with pytest.raises(EncodedAccessDeniedError):
            put("other", "k", "private")


def test_no_principal_is_missing_authentication() -> None:
    assert current_request() is None
    with pytest.raises(AuthenticationError) as refused:
        get_object("b", "k")
    assert refused.value.code == "MissingAuthenticationToken"


def test_sync_function_refuses_an_async_guard(world: World) -> None:
    with acting_as(ALICE, guard=AsyncGuard(world.store)), pytest.raises(TypeError):
        get_object("b", "k")


def test_acting_as_accepts_an_authenticated(world: World) -> None:
    with acting_as(Authenticated(ALICE, "sigv4"), guard=Guard(world.store)) as state:
        assert state.principal == ALICE
        assert get_object("b", "k") == "b/k"
    assert current_request() is None


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("*", {}, "*"),
        ("arn:aws:s3:::{bucket}/{key}", {"bucket": "b", "key": "a/b c*"}, "arn:aws:s3:::b/a/b c*"),
        (
            "arn:aws:dynamodb:us-east-1:{account}:table/{table}",
            {"account": ACCOUNT, "table": "T"},
            f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/T",
        ),
    ],
)
def test_resource_template(template: str, values: dict[str, str], expected: str) -> None:
    assert ResourceTemplate(template).render(values) == expected


@pytest.mark.parametrize("bad", ["arn:{bucket!r}", "arn:{bucket:>10}", "arn:{0}", "arn:{a.b}"])
def test_template_fields_are_plain_names(bad: str) -> None:
    with pytest.raises(ValueError):
        ResourceTemplate(bad)


def test_missing_template_value_fails_closed() -> None:
    with pytest.raises(LookupError):
        ResourceTemplate("arn:aws:s3:::{bucket}").render({})


def test_require_wrappers_answer_code_as_the_function() -> None:
    """The proxy wrapper reports the wrapped function's code and kind (sync stays sync)."""

    def plain() -> str:
        return "x"

    async def coroutine() -> str:
        return "x"

    wrapped_plain = require("s3:GetObject")(plain)
    wrapped_coroutine = require("s3:GetObject")(coroutine)
    assert wrapped_plain.__code__ is plain.__code__
    assert not inspect.iscoroutinefunction(wrapped_plain)
    assert inspect.iscoroutinefunction(wrapped_coroutine)
