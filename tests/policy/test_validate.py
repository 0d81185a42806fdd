"""validate_policy findings, table-driven from tests/data/parse/findings.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.policy.validate import Finding, validate_policy

ROWS = json.loads((Path(__file__).parents[1] / "data" / "parse" / "findings.json").read_text())


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_findings(row: dict[str, Any]) -> None:
    policy = parse_policy(row["policy"], kind=PolicyKind(row["kind"]))
    got = [[f.severity, f.code, f.location] for f in validate_policy(policy)]
    assert got == row["findings"]


def test_finding_is_a_frozen_value_with_json() -> None:
    finding = Finding("WARNING", "ALLOW_WITH_NOT_ACTION", "Statement[0].NotAction", "m")
    assert finding.to_json() == {
        "severity": "WARNING",
        "code": "ALLOW_WITH_NOT_ACTION",
        "location": "Statement[0].NotAction",
        "message": "m",
    }
    with pytest.raises(AttributeError):
        finding.code = "X"  # type: ignore[misc]


def test_examples_have_no_security_warnings() -> None:
    root = Path(__file__).parents[2] / "examples" / "policies"
    for path in root.glob("*.json"):
        kind = PolicyKind.RESOURCE if "bucket" in path.name or "trust" in path.name else PolicyKind.IDENTITY
        findings = validate_policy(parse_policy(path.read_bytes(), name=path.name, kind=kind))
        assert not [f for f in findings if f.severity == "SECURITY_WARNING"], (path, findings)
