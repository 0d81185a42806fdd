"""``Marker``/``MaxItems``/``IsTruncated`` through boto3's own paginators: 1,000 users, pages of
AWS's default 100 and of odd sizes, and a listing that stays exact while users come and go.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html
"""

from __future__ import annotations

from typing import Any

from ._endpoint import Server, server

__all__ = ["server"]


def _names(pages: Any, member: str, field: str) -> list[list[str]]:
    return [[item[field] for item in page[member]] for page in pages]


def test_a_thousand_users_in_pages_of_the_default_hundred(server: Server) -> None:
    # Mixed case on purpose: the listing is ordered without regard to case, as names are unique.
    wanted = [f"{'User' if i % 2 else 'user'}{i:04d}" for i in range(1000)]
    with server.store.atomic():
        for name in wanted:
            server.store.create_user(name)
    pages = _names(server.iam().get_paginator("list_users").paginate(), "Users", "UserName")
    assert [len(p) for p in pages] == [100] * 10
    flat = [name for page in pages for name in page]
    assert flat == sorted(wanted, key=str.lower)


def test_odd_page_sizes_and_a_total_cap(server: Server) -> None:
    for i in range(25):
        server.store.create_user(f"u{i:02d}")
    paginator = server.iam().get_paginator("list_users")
    pages = _names(paginator.paginate(PaginationConfig={"PageSize": 7}), "Users", "UserName")
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    capped = paginator.paginate(PaginationConfig={"PageSize": 7, "MaxItems": 10}).build_full_result()
    assert [u["UserName"] for u in capped["Users"]] == [f"u{i:02d}" for i in range(10)]
    assert "NextToken" in capped  # boto3's own resume token, built from the server's Marker


def test_a_page_resumes_after_its_marker_while_users_change(server: Server) -> None:
    for i in range(10):
        server.store.create_user(f"u{i:02d}")
    iam = server.iam()
    first = iam.list_users(MaxItems=4)
    assert first["IsTruncated"] and [u["UserName"] for u in first["Users"]] == ["u00", "u01", "u02", "u03"]
    server.store.delete_user("u01")  # already listed: no effect on what follows
    server.store.create_user("u035")  # after the marker: listed next
    server.store.delete_user("u05")  # not yet listed: gone
    second = iam.list_users(MaxItems=4, Marker=first["Marker"])
    assert [u["UserName"] for u in second["Users"]] == ["u035", "u04", "u06", "u07"]
    last = iam.list_users(Marker=second["Marker"])
    assert [u["UserName"] for u in last["Users"]] == ["u08", "u09"] and not last["IsTruncated"]
    assert "Marker" not in last


def test_every_list_action_of_the_identity_half_pages(server: Server) -> None:
    iam = server.iam()
    iam.create_user(UserName="alice")
    for i in range(5):
        iam.create_group(GroupName=f"g{i}")
        iam.add_user_to_group(GroupName=f"g{i}", UserName="alice")
        iam.put_user_policy(
            UserName="alice",
            PolicyName=f"p{i}",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
        )
    iam.tag_user(UserName="alice", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(5)])
    for operation, member, params in (
        ("list_groups", "Groups", {}),
        ("list_groups_for_user", "Groups", {"UserName": "alice"}),
        ("list_user_policies", "PolicyNames", {"UserName": "alice"}),
        ("list_user_tags", "Tags", {"UserName": "alice"}),
        ("get_group", "Users", {"GroupName": "g0"}),
    ):
        pages = list(iam.get_paginator(operation).paginate(PaginationConfig={"PageSize": 2}, **params))
        total = sum(len(page[member]) for page in pages)
        assert total == (1 if operation == "get_group" else 5), operation
        assert all(page["IsTruncated"] for page in pages[:-1]) and not pages[-1]["IsTruncated"], operation
