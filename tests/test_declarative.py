"""iamguard.declarative: account files → plan → one-transaction apply; export round-trips."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.declarative import (
    KEEP,
    apply_plan,
    dump_account_file,
    export_account,
    load_account_file,
    make_plan,
    parse_account_file,
    spec_from_data,
)
from iamguard.errors import ConcurrentModificationError, InvalidInputError, LimitExceededError
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService

DATA = Path(__file__).resolve().parent / "data" / "declarative"
INVALID = json.loads((DATA / "invalid_files.json").read_text())["rows"]
CASES = json.loads((DATA / "plan_cases.json").read_text())["rows"]
ALLOW: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def _apply(service: IdentityService, data: Any, *, prune: bool = False) -> None:
    spec = spec_from_data(data)
    apply_plan(service, spec, make_plan(service, spec, prune=prune))


def _replan(service: IdentityService, data: Any) -> list[tuple[str, str, str]]:
    plan = make_plan(service, spec_from_data(data))
    return [(c.action, c.kind, c.name) for c in plan.changes]


@pytest.mark.parametrize("row", INVALID, ids=[r["name"][:60] for r in INVALID])
def test_invalid_files_are_refused_with_locations(row: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        spec_from_data(row["data"])
    for expected in row["errors"]:
        assert expected in str(caught.value)


@pytest.mark.parametrize("row", CASES, ids=[r["name"][:60] for r in CASES])
def test_plan_cases(row: dict[str, Any]) -> None:
    service = open_store("memory://")
    _apply(service, row["before"])
    spec = spec_from_data(row["file"])
    prune = row.get("prune", False)
    if "problems" in row:
        with pytest.raises(InvalidInputError) as caught:
            make_plan(service, spec, prune=prune)
        for expected in row["problems"]:
            assert expected in str(caught.value)
        return
    plan = make_plan(service, spec, prune=prune)
    assert [[c.action, c.kind, c.name] for c in plan.changes] == row["changes"]
    texts = [s.text for c in plan.changes for s in c.steps]
    for expected in row.get("steps", []):
        assert expected in texts, texts
    assert list(plan.unmanaged) == row.get("unmanaged", [])
    for expected in row.get("warnings", []):
        assert any(expected in w for w in plan.warnings), plan.warnings
    apply_plan(service, spec, plan)
    assert make_plan(service, spec, prune=prune).empty  # applying made the file true


def test_full_file_applies_and_store_matches() -> None:
    service = open_store("memory://")
    spec = load_account_file(DATA / "full.yaml")
    plan = make_plan(service, spec)
    assert plan.counts() == {"create": 7, "update": 1, "delete": 0}
    apply_plan(service, spec, plan)
    account = service.account()
    assert account.alias == "example-co"
    assert account.password_policy is not None and account.password_policy.minimum_password_length == 14
    alice = service.get_user("alice")
    assert alice.arn == "arn:aws:iam::123456789012:user/eng/alice"
    assert alice.permissions_boundary == "arn:aws:iam::123456789012:policy/Boundary"
    assert dict(alice.tags) == {"team": "data", "cost-center": "42"}
    assert sorted(g.name for g in service.list_groups_for_user("bob")) == ["auditors", "devs"]
    role = service.get_role("deployer")
    assert (role.path, role.max_session_duration, role.description) == ("/ci/", 7200, "CI deploys")
    assert {p.name for p in service.list_attached_policies(PrincipalKind.ROLE, "deployer")} == {
        "S3Read",
        "ReadOnlyAccess",
    }
    s3read = service.get_policy("arn:aws:iam::123456789012:policy/data/S3Read")
    assert s3read.description == "Read the data bucket" and s3read.tags == (("owner", "platform"),)
    # An unquoted YAML date stays the policy language version string.
    assert json.loads(service.get_policy_version(s3read.arn, "v1").document)["Version"] == "2012-10-17"
    assert make_plan(service, spec).empty


@pytest.mark.parametrize("yaml_syntax", [True, False], ids=["yaml", "json"])
def test_export_then_apply_is_a_no_op(yaml_syntax: bool) -> None:
    service = open_store("memory://", secret_box=SecretBox({"test": bytes(32)}, "test"))
    _apply(service, spec_data_of(DATA / "full.yaml"))
    # State made outside apply too: a new default version, a moved user, and secrets (an access
    # key, a console password, an MFA seed) that an export must never contain.
    service.create_policy_version("arn:aws:iam::123456789012:policy/data/S3Read", ALLOW, set_as_default=True)
    service.update_user("bob", new_path="/ops/")
    key = service.create_access_key("alice")
    service.create_login_profile("alice", "Correct-Horse-Battery-9!")
    seed = service.create_virtual_mfa_device("alice").base32_seed
    text = dump_account_file(export_account(service), yaml_syntax=yaml_syntax)
    for secret in (key.secret_access_key, key.access_key_id, "Correct-Horse-Battery-9!", seed):
        assert secret not in text
    exported = spec_from_data(parse_account_file(text, yaml_syntax=yaml_syntax))
    plan = make_plan(service, exported, prune=True)
    assert plan.empty, plan.render()
    fresh = open_store("memory://")
    _apply(fresh, parse_account_file(text, yaml_syntax=yaml_syntax))
    assert dump_account_file(export_account(fresh), yaml_syntax=yaml_syntax) == text


def spec_data_of(path: Path) -> Any:
    return parse_account_file(path.read_text(), yaml_syntax=path.suffix == ".yaml")


def test_a_failing_step_leaves_nothing_half_applied() -> None:
    """Eleven attached policies exceed the default quota of ten per user, so the last attach fails
    after the policies and the user were created in the same transaction.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities"""
    service = open_store("memory://")
    generation = service.generation()
    policies = [{"name": f"P{i}", "document": ALLOW} for i in range(11)]
    data = {"account": {"alias": "half"}, "policies": policies,
            "users": [{"name": "alice", "attached_policies": [p["name"] for p in policies]}]}  # fmt: skip
    spec = spec_from_data(data)
    plan = make_plan(service, spec)
    with pytest.raises(LimitExceededError):
        apply_plan(service, spec, plan)
    assert service.list_users() == [] and service.list_policies(scope="local") == []
    assert service.account().alias is None
    assert service.generation() == generation


def test_a_store_changed_since_the_plan_is_refused(tmp_path: Path) -> None:
    service = open_store(f"sqlite:///{tmp_path}/s.db", create=True)
    spec = spec_from_data({"users": [{"name": "alice", "tags": {"a": "1"}}]})
    plan = make_plan(service, spec)
    open_store(f"sqlite:///{tmp_path}/s.db").create_user("alice")  # someone else, meanwhile
    with pytest.raises(ConcurrentModificationError):
        apply_plan(service, spec, plan)
    assert service.get_user("alice").tags == ()


def test_policy_version_rollover_deletes_oldest_non_default() -> None:
    """At most five versions: the oldest non-default one makes room for the new default."""
    service = open_store("memory://")
    arn = service.create_policy("P", ALLOW).arn
    for action in ("s3:A", "s3:B", "s3:C", "s3:D"):
        service.create_policy_version(
            arn, {**ALLOW, "Statement": [{**ALLOW["Statement"][0], "Action": action}]}
        )
    service.set_default_policy_version(arn, "v3")
    wanted = {**ALLOW, "Statement": [{**ALLOW["Statement"][0], "Action": "sqs:*"}]}
    _apply(service, {"policies": [{"name": "P", "document": wanted}]})
    versions = service.list_policy_versions(arn)
    assert [v.version_id for v in versions] == ["v2", "v3", "v4", "v5", "v6"]
    assert [v.version_id for v in versions if v.is_default] == ["v6"]


def test_omitted_fields_are_keep() -> None:
    spec = spec_from_data({"users": [{"name": "a"}], "roles": [{"name": "r"}]})
    assert spec.alias is KEEP and spec.password_policy is KEEP
    user = spec.users[0]
    assert (user.path, user.tags, user.groups, user.boundary, user.inline, user.attached) == (KEEP,) * 6
    explicit = spec_from_data({"users": [{"name": "a", "permissions_boundary": None, "tags": {}}]}).users[0]
    assert explicit.boundary is None and explicit.tags == ()


def test_plan_renders_and_serialises() -> None:
    service = open_store("memory://")
    service.create_user("legacy")
    plan = make_plan(service, spec_data_to_spec({"users": [{"name": "alice", "tags": {"t": "1"}}]}))
    text = plan.render()
    assert text.startswith("Plan: 1 to create, 0 to update, 0 to delete.")
    assert "  + create user alice" in text and "create user alice at / (tags t=1)" in text
    assert "left alone (apply --prune deletes them): user legacy" in text
    data = plan.to_json()
    assert data["summary"] == {"create": 1, "update": 0, "delete": 0} and data["unmanaged"] == ["user legacy"]
    assert json.loads(json.dumps(data)) == data


def spec_data_to_spec(data: Any) -> Any:
    return spec_from_data(data)


def test_json_files_work_without_pyyaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    json_file = tmp_path / "a.json"
    json_file.write_text(json.dumps({"users": [{"name": "alice"}]}))
    assert load_account_file(json_file).users[0].name == "alice"
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text("users: []\n")
    with pytest.raises(InvalidInputError, match=r"pip install 'iamguard\[yaml\]'"):
        load_account_file(yaml_file)


@pytest.mark.parametrize(
    ("text", "yaml_syntax", "message"),
    [("{not json", False, "not valid JSON"), ("users: [unclosed", True, "not valid YAML")],
)
def test_unparseable_files(text: str, yaml_syntax: bool, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_account_file(text, yaml_syntax=yaml_syntax)


_names = st.sampled_from(["alice", "bob", "carol", "dave"])
_tags = st.dictionaries(st.sampled_from(["team", "env", "cc"]), st.sampled_from(["", "a", "b c"]), max_size=2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    users=st.dictionaries(
        _names, st.tuples(_tags, st.sets(st.sampled_from(["g1", "g2"])), st.booleans()), max_size=3
    ),
    group_policy=st.booleans(),
)
def test_property_any_store_exports_to_a_no_op_plan(
    users: dict[str, tuple[dict[str, str], set[str], bool]], group_policy: bool
) -> None:
    """Whatever the store holds, exporting it and planning the export changes nothing."""
    service = open_store("memory://")
    policy = service.create_policy("Shared", ALLOW, path="/x/")
    for group in ("g1", "g2"):
        service.create_group(group)
    if group_policy:
        service.put_inline_policy(PrincipalKind.GROUP, "g1", "Inline", ALLOW)
    for name, (tags, groups, bounded) in users.items():
        service.create_user(name, tags=tags, permissions_boundary=policy.arn if bounded else None)
        for group in sorted(groups):
            service.add_user_to_group(group, name)
    data = export_account(service)
    assert make_plan(service, spec_from_data(data), prune=True).empty


# ---------------------------------------------------------------- the account id

ACCOUNT_IDS = json.loads((DATA.parent / "cli" / "account_ids.json").read_text(encoding="utf-8"))["rows"]


@pytest.mark.parametrize("row", ACCOUNT_IDS, ids=[r["name"] for r in ACCOUNT_IDS])
@pytest.mark.parametrize("key", ["account_id", "AccountId"])
def test_account_id_in_a_file(row: dict[str, Any], key: str) -> None:
    """``account.account_id`` (or AWS's spelling ``AccountId``) is 12 digits, as given."""
    data = {"account": {key: row["value"]}}
    if row["valid"]:
        assert spec_from_data(data).account_id == str(row["value"])
        return
    with pytest.raises(InvalidInputError) as refused:
        spec_from_data(data)
    assert f"account.{key}: an AWS account id is 12 digits" in str(refused.value)


def test_account_id_from_unquoted_yaml() -> None:
    spec = spec_from_data(parse_account_file("account:\n  account_id: 444455556666\n", yaml_syntax=True))
    assert spec.account_id == "444455556666"
    assert spec_from_data({}).account_id is KEEP


def test_both_spellings_must_agree() -> None:
    assert spec_from_data({"account": {"account_id": "111122223333", "AccountId": "111122223333"}})
    with pytest.raises(InvalidInputError, match="account_id and AccountId differ"):
        spec_from_data({"account": {"account_id": "111122223333", "AccountId": "444455556666"}})


def test_a_file_for_another_account_is_refused() -> None:
    """An account id never changes, so a file pinned to another account cannot be made true."""
    service = open_store("memory://", account_id="111122223333")
    assert make_plan(service, spec_from_data({"account": {"account_id": "111122223333"}})).empty
    with pytest.raises(InvalidInputError) as refused:
        make_plan(
            service, spec_from_data({"account": {"account_id": "444455556666"}, "users": [{"name": "a"}]})
        )
    assert "account.account_id: the file describes account 444455556666" in str(refused.value)
    assert "holds account 111122223333" in str(refused.value)


def test_export_pins_the_account_id() -> None:
    service = open_store("memory://", account_id="111122223333")
    exported = export_account(service)
    assert exported["account"]["account_id"] == "111122223333"
    assert make_plan(service, spec_from_data(exported)).empty
    other = open_store("memory://", account_id="444455556666")
    with pytest.raises(InvalidInputError, match="describes account 111122223333"):
        make_plan(other, spec_from_data(exported))


def test_an_aws_managed_policy_arn_gets_the_built_in_to_use() -> None:
    service = open_store("memory://")
    file = {"users": [{"name": "a", "attached_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}]}
    with pytest.raises(InvalidInputError) as refused:
        make_plan(service, spec_from_data(file))
    assert "use its built-in ReadOnlyAccess (arn:aws:iam::iamguard:policy/ReadOnlyAccess)" in str(
        refused.value
    )
