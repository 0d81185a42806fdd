"""check_no_public_access on the cases of ``tests/data/analysis/public.json``, each citing the
AWS page that says whether such a statement is public; every FAIL's request replays from
outside the account (another account's user whose account allows everything, or the anonymous
caller) through ``iamguard.simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.analysis import PUBLIC_RESOURCE_TYPES, Verdict, check_no_public_access, public_statements
from iamguard.analysis._inputs import ALLOW_ALL
from iamguard.analysis.principals import principal_from_arn
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import PrincipalType
from iamguard.simulate import simulate_policy_set

DATA = Path(__file__).resolve().parent.parent / "data" / "analysis" / "public.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))
OWNER = "123456789012"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_public_case(case: dict[str, Any]) -> None:
    result = check_no_public_access(case["policy"], resource_account=OWNER)
    assert result.verdict.value == case["expected"], result.reasons
    assert result.reasons
    if result.verdict is not Verdict.FAIL:
        assert result.counterexample is None
        return
    example = result.counterexample
    assert example is not None
    principal = principal_from_arn(example.principal)
    assert principal.type is PrincipalType.ANONYMOUS or principal.account != OWNER
    identity = () if principal.type is PrincipalType.ANONYMOUS else (ALLOW_ALL,)
    policy = parse_policy(case["policy"], kind=PolicyKind.RESOURCE)
    side = PolicySet(identity=identity, resource=policy, resource_account=OWNER)
    context = {k.lower(): v for k, v in example.context.items()}
    decision = simulate_policy_set(principal, side, [example.action], [example.resource], context, OWNER)[0]
    assert decision.allowed, decision.reason
    assert any(m.policy_role.value == "resource" and m.effect == "Allow" for m in decision.matched)


def test_public_statements_names_them() -> None:
    policy = parse_policy(CASES[0]["policy"], kind=PolicyKind.RESOURCE)
    assert public_statements(policy) == policy.statements


def test_unsupported_resource_type_is_refused() -> None:
    assert "AWS::S3::Bucket" in PUBLIC_RESOURCE_TYPES
    with pytest.raises(InvalidParameterError, match="AWS::SQS::Queue"):
        check_no_public_access(CASES[0]["policy"], resource_type="AWS::SQS::Queue")


def test_public_counterexample_replays_with_iamguard_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The printed command, with the outside caller's allow-everything policy and the bucket
    policy as files, allows the request (exit status 0)."""
    import json
    import shlex

    from iamguard.cli import main

    case = next(c for c in CASES if c["name"] == "everyone, no condition")
    result = check_no_public_access(case["policy"], resource_account=OWNER)
    assert result.counterexample is not None and result.counterexample.principal != "*"
    allow_all = tmp_path / "allow-all.json"
    allow_all.write_text(json.dumps(ALLOW_ALL.to_json()), encoding="utf-8")
    bucket = tmp_path / "bucket-policy.json"
    bucket.write_text(json.dumps(case["policy"]), encoding="utf-8")
    command = result.counterexample.simulate_command(
        (str(allow_all),), resource_policy_file=str(bucket), resource_owner=OWNER
    )
    assert any(OWNER in reason for reason in result.reasons)
    assert main(shlex.split(command)[1:]) == 0
    assert "allowed" in capsys.readouterr().out
