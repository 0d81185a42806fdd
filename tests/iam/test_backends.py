"""The IAM API and the store methods it added, on memory, SQLite and PostgreSQL alike.

UpdateGroup (rename and move, members and policies following), policy tags and
GetAccessKeyLastUsed's service and region are store methods the IAM operations needed; each is a
transaction on every backend. The API scenario runs through boto3 over a socket on each backend,
including an update whose second half fails (the first half must not stay).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from iamguard.errors import EntityAlreadyExistsError, NoSuchEntityError
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.service import AccessActivity
from tests.store import _pg

from ._endpoint import ACCOUNT, BOX, Server, error_of

pg_schemas, pg_url = _pg.pg_schemas, _pg.pg_url
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> IdentityService:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/iam.db"
    else:
        url = str(request.getfixturevalue("pg_url"))
    return open_store(url, create=True, account_id=ACCOUNT, secret_box=BOX)


@pytest.fixture
def server(store: IdentityService) -> Iterator[Server]:
    running = Server(store)
    try:
        yield running
    finally:
        running.close()


def test_update_group_renames_and_moves_with_members_and_policies(store: IdentityService) -> None:
    store.create_user("alice")
    group = store.create_group("devs")
    store.add_user_to_group("devs", "alice")
    store.put_inline_policy(PrincipalKind.GROUP, "devs", "read", DOC)
    policy = store.create_policy("p", DOC)
    store.attach_policy(PrincipalKind.GROUP, "devs", policy.arn)
    renamed = store.update_group("devs", new_name="Developers", new_path="/eng/")
    assert (renamed.name, renamed.path, renamed.group_id) == ("Developers", "/eng/", group.group_id)
    assert renamed.arn == f"arn:aws:iam::{ACCOUNT}:group/eng/Developers"
    assert [g.name for g in store.list_groups_for_user("alice")] == ["Developers"]
    assert store.list_inline_policies(PrincipalKind.GROUP, "developers") == ["read"]
    assert [p.arn for p in store.list_attached_policies(PrincipalKind.GROUP, "DEVELOPERS")] == [policy.arn]
    with pytest.raises(NoSuchEntityError):
        store.get_group("devs")
    assert store.update_group("developers", new_name="DEVELOPERS").name == "DEVELOPERS"  # case only
    # The group's policies still govern its member.
    resolved = store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:user/alice")
    assert resolved is not None and len(resolved.identity) == 2


def test_update_group_to_a_taken_name_changes_nothing(store: IdentityService) -> None:
    store.create_group("a")
    store.create_group("b")
    with pytest.raises(EntityAlreadyExistsError):
        store.update_group("a", new_name="B", new_path="/moved/")
    assert store.get_group("a").path == "/"  # the move before the failed rename was rolled back


def test_policy_tags(store: IdentityService) -> None:
    policy = store.create_policy("p", DOC, tags={"a": "1"})
    assert store.tag_policy(policy.arn, {"b": "2", "a": "3"}).tags == (("a", "3"), ("b", "2"))
    assert store.untag_policy(policy.arn, ["a", "missing"]).tags == (("b", "2"),)
    with pytest.raises(NoSuchEntityError):
        store.tag_policy(f"arn:aws:iam::{ACCOUNT}:policy/none", {"x": "y"})


def test_access_key_last_used(store: IdentityService) -> None:
    store.create_user("alice")
    key = store.create_access_key("alice").access_key
    found, service, region = store.access_key_last_used(key.access_key_id)
    assert (found.user_name, found.last_used_date, service, region) == ("alice", None, None, None)
    at = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    store.record_access_activity(
        [
            AccessActivity(
                at, f"arn:aws:iam::{ACCOUNT}:user/alice", "s3", "s3:GetObject", "eu-west-1", key.access_key_id
            )
        ]
    )
    found, service, region = store.access_key_last_used(key.access_key_id)
    assert (found.last_used_date, service, region) == (at, "s3", "eu-west-1")
    with pytest.raises(NoSuchEntityError):
        store.access_key_last_used("AKIANOSUCHKEYANYWHERE")


def test_the_api_on_each_backend(server: Server) -> None:
    iam = server.iam()
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="Alice")
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="devs", PolicyArn=arn)
    iam.update_group(GroupName="devs", NewGroupName="Developers")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["Developers"]
    assert iam.list_entities_for_policy(PolicyArn=arn)["PolicyGroups"][0]["GroupName"] == "Developers"
    assert error_of(iam.delete_group, GroupName="developers")[:2] == ("DeleteConflict", 409)
    # One transaction: the move is undone when the rename that follows it fails.
    assert error_of(iam.update_user, UserName="alice", NewPath="/moved/", NewUserName="BOB")[:2] == (
        "EntityAlreadyExists",
        409,
    )
    assert iam.get_user(UserName="alice")["User"]["Path"] == "/"
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert last["UserName"] == "alice" and last["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    assert len(iam.list_users()["Users"]) == 2


def test_list_users_page(store: IdentityService) -> None:
    for name in ("b", "A", "c", "D", "e"):
        store.create_user(name, path="/x/" if name in ("c", "e") else "/")
    page, more = store.list_users_page(limit=2)
    assert ([u.name for u in page], more) == (["A", "b"], True)
    page, more = store.list_users_page(after="b", limit=2)
    assert ([u.name for u in page], more) == (["c", "D"], True)
    page, more = store.list_users_page(after="d", limit=2)
    assert ([u.name for u in page], more) == (["e"], False)
    page, more = store.list_users_page(path_prefix="/x/", limit=5)
    assert ([u.name for u in page], more) == (["c", "e"], False)


def _outcome(call: Callable[[], object]) -> str:
    """``"ok"``, or the AWS error code the call answered with."""
    try:
        call()
    except botocore.exceptions.ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def _all_at_once(calls: Sequence[Callable[[], object]]) -> list[str]:
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        result = _outcome(call)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_concurrent_calls_keep_iam_rules(server: Server) -> None:
    # Eight clients at once: one CreateUser of a name wins, the others are EntityAlreadyExists
    # (never a 500); ten CreatePolicyVersion calls leave exactly five versions.
    clients: list[Any] = [server.iam() for _ in range(8)]
    arn = clients[0].create_policy(PolicyName="p", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    creates = [
        functools.partial(c.create_user, UserName="Same" if i % 2 else "same") for i, c in enumerate(clients)
    ]
    assert _all_at_once(creates) == ["EntityAlreadyExists"] * 7 + ["ok"]
    versions = [
        functools.partial(clients[i % 8].create_policy_version, PolicyArn=arn, PolicyDocument=json.dumps(DOC))
        for i in range(10)
    ]
    assert _all_at_once(versions) == ["LimitExceeded"] * 6 + ["ok"] * 4
    assert len(clients[0].list_policy_versions(PolicyArn=arn)["Versions"]) == 5
