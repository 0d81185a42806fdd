"""``--json`` prints what ``aws iam ... --output json`` prints: checked against botocore's model.

The allowed member names are read from botocore's ``iam/2010-05-08/service-2.json`` (the model
the AWS CLI itself is generated from), never written out here, so a key iamguard invents, a
misspelt member or a string where AWS has a number fails. Rows: ``tests/data/cli/aws_shapes.json``.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.loaders import Loader
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.cli import _aws_json
from iamguard.iam._records import policy_value, role_value, user_value
from iamguard.store import mfa, open_store
from iamguard.store.passwords import PasswordPolicy
from iamguard.store.records import ManagedPolicy, PrincipalKind, Role, User
from iamguard.store.service import IdentityService

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, TRUST_ACCOUNT, Cli, service, write_json

cli = support.cli
store_url = support.store_url

ROWS = json.loads((Path(__file__).resolve().parents[1] / "data" / "cli" / "aws_shapes.json").read_text())[
    "rows"
]
MODEL: dict[str, Any] = Loader().load_service_model("iam", "service-2")
SHAPES: dict[str, Any] = MODEL["shapes"]
#: Members whose value the AWS CLI prints decoded: botocore's ``json_decode_policies`` handler
#: turns these URL-encoded JSON strings into objects.
DOCUMENT_SHAPE = "policyDocumentType"


def _output_shape(operation: str) -> str | None:
    output = MODEL["operations"][operation].get("output")
    if output is None:
        return None
    shape = str(output["shape"])
    return shape if SHAPES[shape].get("members") else None  # UpdateRoleResponse: {}


def conforms(value: Any, shape_name: str, where: str = "$") -> list[str]:
    """Every way ``value`` differs from the model's shape ``shape_name`` (empty: it conforms)."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if shape_name == DOCUMENT_SHAPE:
        return [] if isinstance(value, dict) else [f"{where}: a policy document must be a JSON object"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object ({shape_name})"]
        problems = [
            f"{where}: required member {m} missing" for m in shape.get("required", ()) if m not in value
        ]
        for key, item in value.items():
            member = shape["members"].get(key)
            if member is None:
                problems.append(f"{where}.{key}: not a member of {shape_name}")
            else:
                problems += conforms(item, member["shape"], f"{where}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list ({shape_name})"]
        return [
            p
            for i, item in enumerate(value)
            for p in conforms(item, shape["member"]["shape"], f"{where}[{i}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map ({shape_name})"]
        return [
            p for k, item in value.items() for p in conforms(item, shape["value"]["shape"], f"{where}.{k}")
        ]
    return _scalar(value, shape, where)


def _scalar(value: Any, shape: dict[str, Any], where: str) -> list[str]:
    kind = shape["type"]
    if kind == "timestamp":
        ok = isinstance(value, str) and datetime.fromisoformat(value).utcoffset() is not None
        return [] if ok else [f"{where}: {value!r} is not ISO 8601 with an offset"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if kind in ("integer", "long"):
        return (
            []
            if isinstance(value, int) and not isinstance(value, bool)
            else [f"{where}: {value!r} is not an integer"]
        )
    if not isinstance(value, str):
        return [f"{where}: {value!r} is not a string"]
    if "enum" in shape and value not in shape["enum"]:
        return [f"{where}: {value!r} is not one of {shape['enum']}"]
    return []


def _pick(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A closed SQLite store with one of everything the commands read, built once per module
    (the login profile's argon2 hash alone costs ~0.2 s of CPU), and alice's key id."""
    url = f"sqlite:///{tmp_path_factory.mktemp('seeded')}/s.db"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
        env.delenv("IAMGUARD_MASTER_KEY", raising=False)
        env.delenv("IAMGUARD_MASTER_KEY_FILE", raising=False)
        open_store(url, create=True).backend.close()
        key_id = _seed(service(url))
    return Path(url.removeprefix("sqlite:///")), key_id


def _seed(store: IdentityService) -> str:
    doc = json.dumps(ALLOW_S3_READ)
    store.create_policy("P", doc, description="read the bucket", tags={"owner": "data"})
    store.create_policy_version("arn:aws:iam::123456789012:policy/P", doc)
    store.create_user("alice", path="/eng/", tags={"team": "data"})
    store.put_user_permissions_boundary("alice", "arn:aws:iam::123456789012:policy/P")
    store.create_user("carol")
    store.create_group("devs")
    store.add_user_to_group("devs", "alice")
    store.attach_policy(PrincipalKind.GROUP, "devs", "arn:aws:iam::123456789012:policy/P")
    store.create_role("deployer", json.dumps(TRUST_ACCOUNT), max_session_duration=7200, tags={"env": "prod"})
    store.attach_policy(PrincipalKind.ROLE, "deployer", "arn:aws:iam::123456789012:policy/P")
    for kind, owner, name in (
        (PrincipalKind.USER, "alice", "Inline"),
        (PrincipalKind.GROUP, "devs", "GInline"),
        (PrincipalKind.ROLE, "deployer", "RInline"),
    ):
        store.put_inline_policy(kind, owner, name, doc)
    key = store.create_access_key("alice")
    device = store.create_virtual_mfa_device("alice-phone")
    now = time.time()
    store.enable_mfa_device(
        "alice",
        device.device.serial_number,
        mfa.totp(device.base32_seed, now),
        mfa.totp(device.base32_seed, now + 30),
    )
    store.create_login_profile("alice", "Correct-Horse-9-battery")
    store.update_account_password_policy(PasswordPolicy.from_json({"MinimumPasswordLength": 14}))
    store.backend.close()
    return key.access_key_id


@pytest.fixture
def seeded(cli: Cli, store_url: str, tmp_path: Path, seeded_template: tuple[Path, str]) -> dict[str, str]:
    """The test's store, a copy of the seeded template (rows change it); the row placeholders."""
    template, key_id = seeded_template
    shutil.copyfile(template, store_url.removeprefix("sqlite:///"))
    return {
        "{doc}": write_json(tmp_path / "doc.json", ALLOW_S3_READ),
        "{trust}": write_json(tmp_path / "trust.json", TRUST_ACCOUNT),
        "{key_id}": key_id,
    }


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r["argv"][:3]) + f" ({r['operation']})" for r in ROWS])
def test_json_output_is_the_aws_cli_output_shape(
    cli: Cli, seeded: dict[str, str], row: dict[str, Any]
) -> None:
    argv = [seeded.get(a, a) for a in row["argv"]]
    result = cli(*argv, "--json", stdin=row.get("stdin"))
    assert result.code == row.get("exit", 0), result.err
    shape = _output_shape(row["operation"])
    if shape is None:
        assert result.out == "", f"{row['operation']} has no output in AWS; printed {result.out!r}"
        return
    data = json.loads(result.out)
    assert conforms(data, shape) == []
    for dotted, expected in row.get("expect", {}).items():
        assert _pick(data, dotted) == expected, dotted


def test_every_row_names_a_real_operation_and_the_table_covers_each_verb() -> None:
    """A typo in an operation name would silently compare against nothing."""
    assert all(r["operation"] in MODEL["operations"] for r in ROWS)
    assert len({r["operation"] for r in ROWS}) >= 55


@pytest.mark.parametrize(
    ("value", "shape", "problem"),
    [
        ({"User": {"UserName": "a"}}, "GetUserResponse", "required member Path missing"),
        ({"User": {"Path": "/", "UserName": "a", "UserId": "x", "Arn": "a", "CreateDate": "2026-01-01T00:00:00+00:00", "name": "a"}}, "GetUserResponse", "$.User.name: not a member"),
        ({"Role": {"Path": "/", "RoleName": "r", "RoleId": "x", "Arn": "a", "CreateDate": "2026-01-01T00:00:00+00:00", "AssumeRolePolicyDocument": "{}"}}, "GetRoleResponse", "must be a JSON object"),
        ({"Users": [{"Path": "/", "UserName": "a", "UserId": "x", "Arn": "a", "CreateDate": "2026-01-01T00:00:00"}]}, "ListUsersResponse", "not ISO 8601 with an offset"),
        ({"AccessKeyMetadata": [{"Status": "Enabled"}]}, "ListAccessKeysResponse", "is not one of"),
    ],
)  # fmt: skip
def test_the_checker_catches_what_aws_would_not_print(value: Any, shape: str, problem: str) -> None:
    """The conformance check itself fails on the old snake_case output and on wrong types."""
    assert any(problem in p for p in conforms(value, shape))


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc), "2026-01-02T03:04:05+00:00"),
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05+00:00"),  # the store's naive UTC
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2026-01-02T03:04:05+02:00"),
    ],
)
def test_dates_print_as_the_aws_cli_prints_them(value: datetime, printed: str) -> None:
    """Whole seconds and the offset: ``"CreateDate": "2026-01-02T03:04:05+00:00"``."""
    assert _aws_json.timestamp(value) == printed


# ---------------------------------------------------------------- property: any record conforms

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+=,.@_-", min_size=1, max_size=20)
_tags = st.lists(st.tuples(_names, st.text(max_size=8)), max_size=3, unique_by=lambda t: t[0]).map(tuple)
_dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)) | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)
_boundaries = st.none() | _names.map(lambda n: f"arn:aws:iam::123456789012:policy/{n}")
_users = st.builds(
    User, name=_names, user_id=_names, arn=_names, path=st.just("/"), create_date=_dates, tags=_tags,
    permissions_boundary=_boundaries,
)  # fmt: skip
_roles = st.builds(
    Role, name=_names, role_id=_names, arn=_names, path=st.just("/a/"), create_date=_dates,
    assume_role_policy=st.just(json.dumps(TRUST_ACCOUNT)), description=st.text(max_size=5),
    max_session_duration=st.integers(3600, 43200), tags=_tags, permissions_boundary=_boundaries,
)  # fmt: skip
_policies = st.builds(
    ManagedPolicy, name=_names, policy_id=_names, arn=_names, path=st.just("/"), default_version_id=st.just("v1"),
    create_date=_dates, update_date=_dates, description=st.text(max_size=5), attachment_count=st.integers(0, 9),
    boundary_usage_count=st.integers(0, 9), tags=_tags,
)  # fmt: skip


# Records go through what the CLI prints: the IAM operations' values (iamguard/iam/_records.py),
# then cli_shape.


@settings(max_examples=60, deadline=None)
@given(record=_users, with_tags=st.booleans())
def test_any_user_prints_as_an_aws_user(record: User, with_tags: bool) -> None:
    printed = _aws_json.cli_shape(user_value(record, with_tags=with_tags))
    assert conforms({"User": printed}, "GetUserResponse") == []
    assert printed["UserName"] == record.name and datetime.fromisoformat(printed["CreateDate"]).tzinfo
    assert ("Tags" in printed) == bool(record.tags and with_tags)
    assert ("PermissionsBoundary" in printed) == (record.permissions_boundary is not None)


@settings(max_examples=60, deadline=None)
@given(record=_roles)
def test_any_role_prints_as_an_aws_role(record: Role) -> None:
    printed = _aws_json.cli_shape(role_value(record))
    assert conforms({"Role": printed}, "GetRoleResponse") == []
    assert printed["AssumeRolePolicyDocument"] == TRUST_ACCOUNT  # decoded, as the AWS CLI prints it
    assert printed.get("Description", "") == record.description


@settings(max_examples=60, deadline=None)
@given(record=_policies)
def test_any_policy_prints_as_an_aws_policy(record: ManagedPolicy) -> None:
    printed = _aws_json.cli_shape(policy_value(record))
    assert conforms({"Policy": printed}, "GetPolicyResponse") == []
    assert ("Description" in printed) == bool(record.description)


def test_non_ascii_text_prints_as_itself(cli: Cli) -> None:
    """The AWS CLI writes JSON with ensure_ascii off: a tag value "café" stays "café"."""
    created = cli("user", "create", "zoe", "--tag", "team=café", "--json")
    assert created.code == 0 and '"Value": "café"' in created.out


def test_an_ascii_terminal_gets_escapes_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stdout", out)
    _aws_json.print_json({"Value": "café"})
    out.flush()
    assert json.loads(out.buffer.getvalue().decode()) == {"Value": "café"}
    assert b"\\u00e9" in out.buffer.getvalue()
