"""Names where ARNs are expected: built-in and customer policy names, hints for AWS managed
policy ARNs, ``simulate-principal NAME``. Rows: ``tests/data/cli/policy_names.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.store.records import PrincipalKind

from . import admin_cli_support as support
from .admin_cli_support import ALLOW_S3_READ, TRUST_ACCOUNT, Cli, service

cli = support.cli
store_url = support.store_url

ROWS = json.loads((Path(__file__).resolve().parents[1] / "data" / "cli" / "policy_names.json").read_text())[
    "rows"
]


@pytest.fixture
def named_store(store_url: str, cli: Cli) -> str:
    store = service(store_url)
    store.create_policy("Reports", json.dumps(ALLOW_S3_READ))
    store.create_user("alice")
    store.put_inline_policy(PrincipalKind.USER, "alice", "Read", json.dumps(ALLOW_S3_READ))
    store.create_role("deployer", json.dumps(TRUST_ACCOUNT))
    store.create_group("devs")
    store.create_user("twin")
    store.create_role("twin", json.dumps(TRUST_ACCOUNT))
    store.backend.close()
    return store_url


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_names_and_hints(cli: Cli, named_store: str, row: dict[str, Any]) -> None:
    result = cli(*row["argv"])
    assert result.code == row["exit"], result.err
    if "error" in row:
        assert row["error"] in result.err and result.err.strip().count("\n") == 0, result.err
    attached = [p.arn for p in service(named_store).list_attached_policies(PrincipalKind.USER, "alice")]
    assert attached == ([row["attached"]] if "attached" in row else [])


def test_a_customer_policy_named_like_a_built_in_wins(cli: Cli, named_store: str) -> None:
    """Customer policy names were accepted before built-in names were; they keep precedence."""
    service(named_store).create_policy("ReadOnlyAccess", json.dumps(ALLOW_S3_READ))
    assert cli("policy", "attach", "ReadOnlyAccess", "--user", "alice").code == 0
    attached = [p.arn for p in service(named_store).list_attached_policies(PrincipalKind.USER, "alice")]
    assert attached == ["arn:aws:iam::123456789012:policy/ReadOnlyAccess"]


def test_simulate_principal_by_name_is_simulate_principal_by_arn(cli: Cli, named_store: str) -> None:
    by_name = cli("simulate-principal", "alice", "-a", "s3:GetObject", "-a", "s3:PutObject", "--json")
    by_arn = cli(
        "simulate-principal", "arn:aws:iam::123456789012:user/alice", "-a", "s3:GetObject", "-a", "s3:PutObject",
        "--json",
    )  # fmt: skip
    assert by_name.code == by_arn.code == 1 and by_name.json == by_arn.json
    decisions = [r["EvalDecision"] for r in by_name.json["EvaluationResults"]]
    assert decisions == ["allowed", "implicitDeny"]
