"""check_no_new_access, is_equivalent and check_access_not_granted on the cases of
``tests/data/analysis/compare.json`` (each names the AWS page of the rule it exercises).

Every FAIL's counterexample is replayed here independently of the analysis: through
``iamguard.simulate.simulate_policy_set`` for every case, and through the ``iamguard simulate``
command line its :meth:`Counterexample.simulate_command` prints when the sides are identity
policies (with a boundary or a resource policy) the command can express.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from iamguard.analysis import (
    AnalysisResult,
    Counterexample,
    Verdict,
    check_access_not_granted,
    check_no_new_access,
    is_equivalent,
)
from iamguard.analysis._inputs import ALLOW_ALL
from iamguard.cli import main
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.simulate import simulate_policy_set

DATA = Path(__file__).resolve().parent.parent / "data" / "analysis" / "compare.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))


def _run(case: dict[str, Any]) -> AnalysisResult:
    options = dict(case.get("options", {}))
    if case["check"] == "no_new_access":
        return check_no_new_access(case["new"], case["old"], **options)
    if case["check"] == "equivalent":
        return is_equivalent(case["new"], case["old"], **options)
    return check_access_not_granted(
        case["new"], actions=case["actions"], resources=case["resources"], **options
    )


def _is_resource_policy(document: dict[str, Any]) -> bool:
    return any("Principal" in s or "NotPrincipal" in s for s in document["Statement"])


def _sides(case: dict[str, Any], identity_override: tuple[Any, ...] | None) -> list[PolicySet]:
    """The policy sets the case compares, built here from the JSON (not by the analysis)."""
    options = case.get("options", {})
    documents = [case["new"]] if case["check"] == "access_not_granted" else [case["new"], case["old"]]
    sides = []
    for document in documents:
        if _is_resource_policy(document):
            sides.append(
                PolicySet(
                    identity=identity_override or (),
                    resource=parse_policy(document, kind=PolicyKind.RESOURCE),
                    resource_account="123456789012",
                )
            )
            continue
        boundary = options.get("boundary")
        session = options.get("session_policies")
        resource = options.get("resource_policy")
        sides.append(
            PolicySet(
                identity=(parse_policy(document, kind=PolicyKind.IDENTITY),),
                boundary=parse_policy(boundary) if boundary else None,
                session=tuple(parse_policy(p) for p in session) if session is not None else None,
                resource=parse_policy(resource, kind=PolicyKind.RESOURCE) if resource else None,
                resource_account=options.get("resource_account"),
            )
        )
    return sides


def _replays(case: dict[str, Any], result: AnalysisResult) -> bool:
    example = result.counterexample
    assert example is not None
    if example.principal == "*":
        principal = Principal(arn="*", account="", type=PrincipalType.ANONYMOUS)
    else:
        principal = Principal.from_arn(example.principal)
    context = {k.lower(): v for k, v in example.context.items()}
    worlds: list[tuple[Any, ...] | None] = [None]
    if any(_is_resource_policy(d) for d in (case["new"], case.get("old") or case["new"])):
        worlds = [(), (ALLOW_ALL,)]
    for world in worlds:
        allowed = [
            simulate_policy_set(
                principal, side, [example.action], [example.resource], context, side.resource_account
            )[0].allowed
            for side in _sides(case, world)
        ]
        if case["check"] == "no_new_access" and allowed == [True, False]:
            return True
        if case["check"] == "equivalent" and allowed[0] != allowed[1]:
            return True
        if case["check"] == "access_not_granted" and allowed == [True]:
            return True
    return False


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_compare_case(case: dict[str, Any]) -> None:
    result = _run(case)
    assert result.verdict.value == case["expected"], (result.reasons, result.counterexample)
    if result.verdict is Verdict.FAIL:
        assert result.counterexample is not None
        assert _replays(case, result), result.counterexample
    else:
        assert result.counterexample is None
        assert result.reasons  # PASS says what was searched, UNKNOWN says why


def _cli_cases() -> list[dict[str, Any]]:
    return [
        c
        for c in CASES
        if c["expected"] == "FAIL"
        and c["check"] == "no_new_access"
        and not _is_resource_policy(c["new"])
        and "session_policies" not in c.get("options", {})
    ]


@pytest.mark.parametrize("case", _cli_cases(), ids=[c["name"] for c in _cli_cases()])
def test_counterexample_replays_with_iamguard_simulate(
    case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The printed command, run as printed: the new policy allows (exit 0), the old denies (1)."""
    result = _run(case)
    example = result.counterexample
    assert example is not None
    options = case.get("options", {})
    files: dict[str, str | None] = {"boundary": None, "resource": None}
    for name in ("boundary", "resource_policy"):
        if name in options:
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(options[name]), encoding="utf-8")
            files["boundary" if name == "boundary" else "resource"] = str(path)
    statuses = []
    for side in ("new", "old"):
        policy_file = tmp_path / f"{side}.json"
        policy_file.write_text(json.dumps(case[side]), encoding="utf-8")
        command = example.simulate_command(
            (str(policy_file),),
            boundary_file=files["boundary"],
            resource_policy_file=files["resource"],
            resource_owner=options.get("resource_account"),
        )
        words = shlex.split(command)
        assert words[:2] == ["iamguard", "simulate"]
        statuses.append(main(words[1:]))
    capsys.readouterr()
    assert statuses == [0, 1], example.simulate_command()


def test_counterexample_keeps_the_principals_own_keys() -> None:
    """A key the caller carries (aws:PrincipalArn) is tried at the caller's own value first, so
    the counterexample names a caller that really has it rather than overriding it."""
    case = next(c for c in CASES if c["name"].startswith("regression: condition on a key"))
    result = _run(case)
    assert result.counterexample is not None
    assert not any(k.lower() == "aws:principalarn" for k in result.counterexample.context)


def _session_and_resource_cases() -> list[dict[str, Any]]:
    return [
        c
        for c in CASES
        if c["expected"] == "FAIL"
        and c["check"] == "no_new_access"
        and ("session_policies" in c.get("options", {}) or _is_resource_policy(c["new"]))
    ]


@pytest.mark.parametrize(
    "case", _session_and_resource_cases(), ids=[c["name"] for c in _session_and_resource_cases()]
)
def test_session_and_resource_counterexamples_replay_with_iamguard_simulate(
    case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Session policies go in ``--session-policy``; a resource policy's world (the caller's own
    account allows nothing, or everything) decides the identity files: the printed command
    allows on the new side (exit 0) and denies on the old (1)."""
    result = _run(case)
    example = result.counterexample
    assert example is not None
    options = case.get("options", {})
    sessions = []
    for index, document in enumerate(options.get("session_policies", ())):
        path = tmp_path / f"session-{index}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        sessions.append(str(path))
    allow_all = tmp_path / "allow-all.json"
    allow_all.write_text(json.dumps(ALLOW_ALL.to_json()), encoding="utf-8")
    resource_side = _is_resource_policy(case["new"])
    everything = any("allows everything" in reason for reason in result.reasons)
    statuses = []
    for side in ("new", "old"):
        policy_file = tmp_path / f"{side}.json"
        policy_file.write_text(json.dumps(case[side]), encoding="utf-8")
        if resource_side:
            owner = next(r.split("(--resource-owner ")[1].rstrip(")") for r in result.reasons if "owner" in r)
            command = example.simulate_command(
                (str(allow_all),) if everything else (),
                resource_policy_file=str(policy_file),
                resource_owner=owner,
            )
        else:
            command = example.simulate_command((str(policy_file),), session_policy_files=sessions)
        words = shlex.split(command)
        assert words[:2] == ["iamguard", "simulate"]
        assert ("--session-policy" in words) == bool(sessions)
        statuses.append(main(words[1:]))
    capsys.readouterr()
    assert statuses == [0, 1], example.simulate_command()


def test_an_anonymous_counterexample_replays_with_iamguard_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The unsigned caller is replayed with ``--anonymous`` and no identity policy file: a bucket
    policy granting everyone allows it (exit 0), one granting an account does not (1)."""
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
        ],
    }
    private = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "111122223333"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ],
    }
    example = Counterexample("*", "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SourceIp": "10.0.0.1"})
    statuses = []
    for name, document in (("public", public), ("private", private)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        words = shlex.split(example.simulate_command(("ignored.json",), resource_policy_file=str(path)))
        assert "--anonymous" in words and "ignored.json" not in words and "--caller-arn" not in words
        statuses.append(main(words[1:]))
    capsys.readouterr()
    assert statuses == [0, 1]
