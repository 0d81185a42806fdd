"""``iamguard policy ...``: managed policies, versions, attachments, inline policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamguard.store.records import PrincipalKind

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, Cli, service, write_json

cli = support.cli
store_url = support.store_url

ARN = "arn:aws:iam::123456789012:policy/team/S3Read"


def _doc(action: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    )


def test_create_get_list(cli: Cli, tmp_path: Path) -> None:
    doc = write_json(tmp_path / "p.json", ALLOW_S3_READ)
    created = cli("policy", "create", "S3Read", doc, "--path", "/team/", "--description", "read", "--json")
    assert created.code == 0 and created.json["Policy"]["Arn"] == ARN
    by_name = cli("policy", "get", "S3Read", "--json").json
    by_arn = cli("policy", "get", ARN, "--json").json
    assert by_name == by_arn and by_name["Policy"]["Description"] == "read"
    document = cli("policy", "version", "get", "S3Read", "v1", "--json").json["PolicyVersion"]["Document"]
    assert document == ALLOW_S3_READ  # a JSON object, as the AWS CLI decodes it
    local = cli("policy", "list", "--scope", "local", "--json").json["Policies"]
    assert [p["PolicyName"] for p in local] == ["S3Read"]
    built = cli("policy", "list", "--scope", "built-in").out
    assert "arn:aws:iam::iamguard:policy/AdministratorAccess" in built
    assert cli("policy", "list", "--only-attached", "--json").json == {"Policies": []}


def test_invalid_document_is_refused_with_location(cli: Cli, store_url: str) -> None:
    result = cli("policy", "create", "P", '{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}')
    assert result.code == 1 and "MalformedPolicyDocument" in result.err and "Statement[0]" in result.err
    assert service(store_url).list_policies(scope="local") == []


def test_versions_lifecycle_and_limit(cli: Cli, store_url: str) -> None:
    """At most five versions; the default version cannot be deleted.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html"""
    cli("policy", "create", "P", _doc("s3:GetObject"))
    for n in range(2, 6):
        assert cli("policy", "version", "create", "P", _doc(f"s3:Action{n}")).code == 0
    full = cli("policy", "version", "create", "P", _doc("s3:Six"))
    assert full.code == 1 and "LimitExceeded" in full.err
    versions = cli("policy", "version", "list", "P", "--json").json["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v1", True), ("v2", False), ("v3", False), ("v4", False), ("v5", False),
    ]  # fmt: skip
    assert "DeleteConflict" in cli("policy", "version", "delete", "P", "v1").err
    assert cli("policy", "version", "set-default", "P", "v3").code == 0
    assert cli("policy", "version", "delete", "P", "v1").code == 0
    text = cli("policy", "version", "get", "P", "v3").out
    assert json.loads(text)["Statement"][0]["Action"] == "s3:Action3"
    new = cli("policy", "version", "create", "P", _doc("s3:Seven"), "--set-default", "--json").json
    assert new["PolicyVersion"]["VersionId"] == "v6" and new["PolicyVersion"]["IsDefaultVersion"] is True
    policy = service(store_url).get_policy("arn:aws:iam::123456789012:policy/P")
    stale = cli(
        "policy", "version", "create", "P", _doc("s3:X"), "--expected-revision", str(policy.revision - 1)
    )
    assert stale.code == 1 and "ConcurrentModification" in stale.err


def test_attach_detach_entities(cli: Cli, store_url: str) -> None:
    cli("policy", "create", "P", _doc("s3:GetObject"))
    cli("user", "create", "alice")
    cli("group", "create", "devs")
    assert cli("policy", "attach", "P", "--user", "alice").code == 0
    assert cli("policy", "attach", "P", "--group", "devs").code == 0
    assert cli("policy", "attach", "P", "--user", "alice").code == 0  # idempotent, as in AWS
    entities = cli("policy", "entities", "P", "--json").json
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == ["devs"]
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["alice"] and entities["PolicyRoles"] == []
    assert entities["PolicyUsers"][0]["UserId"] == service(store_url).get_user("alice").user_id
    attached = cli("policy", "attached", "--user", "alice", "--json").json["AttachedPolicies"]
    assert attached == [{"PolicyName": "P", "PolicyArn": "arn:aws:iam::123456789012:policy/P"}]
    assert cli("policy", "detach", "P", "--user", "alice").code == 0
    assert cli("policy", "detach", "P", "--user", "alice").code == 1
    assert "DeleteConflict" in cli("policy", "delete", "P").err
    assert cli("policy", "delete", "P", "--force").code == 0
    assert service(store_url).list_attached_policies(PrincipalKind.GROUP, "devs") == []
    with pytest.raises(SystemExit) as usage:  # argparse: --user and --group are mutually exclusive
        cli("policy", "attach", "P", "--user", "alice", "--group", "devs")
    assert usage.value.code == 2


def test_built_in_policies_cannot_be_changed(cli: Cli) -> None:
    arn = "arn:aws:iam::iamguard:policy/ReadOnlyAccess"
    result = cli("policy", "version", "create", arn, _doc("s3:GetObject"))
    assert result.code == 1 and "built-in" in result.err
    assert cli("policy", "delete", arn).code == 1


def test_inline_put_get_list_delete(cli: Cli, store_url: str, tmp_path: Path) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html"""
    cli("user", "create", "alice")
    doc = write_json(tmp_path / "inline.json", ALLOW_S3_READ)
    assert cli("policy", "inline", "put", "--user", "alice", "Read", doc).code == 0
    assert cli("policy", "inline", "put", "--user", "alice", "Other", _doc("sqs:SendMessage")).code == 0
    assert cli("policy", "inline", "list", "--user", "alice", "--json").json == {
        "PolicyNames": ["Other", "Read"]
    }
    assert json.loads(cli("policy", "inline", "get", "--user", "alice", "Read").out) == ALLOW_S3_READ
    got = cli("policy", "inline", "get", "--user", "alice", "Read", "--json").json
    assert got == {"UserName": "alice", "PolicyName": "Read", "PolicyDocument": ALLOW_S3_READ}
    assert cli("policy", "inline", "delete", "--user", "alice", "Read").code == 0
    assert cli("policy", "inline", "get", "--user", "alice", "Read").code == 1
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:" + "A" * 2100, "Resource": "*"}],
        }
    )
    too_big = cli("policy", "inline", "put", "--user", "alice", "Big", big)
    assert too_big.code == 1  # user inline policies total at most 2048 characters
    assert service(store_url).list_inline_policies(PrincipalKind.USER, "alice") == ["Other"]


def test_document_from_stdin(cli: Cli, store_url: str) -> None:
    assert cli("policy", "create", "FromStdin", "-", stdin=json.dumps(ALLOW_S3_READ)).code == 0
    assert service(store_url).get_policy("arn:aws:iam::123456789012:policy/FromStdin").name == "FromStdin"
