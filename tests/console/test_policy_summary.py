"""The policy summary the console shows beside a managed policy, table-driven from
tests/data/console/policy_summaries.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.console._policies import summary

CASES = json.loads((Path(__file__).parents[1] / "data" / "console" / "policy_summaries.json").read_text())[
    "cases"
]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_policy_summary(case: dict[str, Any]) -> None:
    policy = case["policy"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    assert summary(text) == case["rows"]
