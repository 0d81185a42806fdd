"""``iamguard simulate``: output, exit status, argument parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamguard.cli import main
from iamguard.cli.simulate import parse_context_option

POLICIES = Path(__file__).resolve().parent.parent / "data" / "evaluation" / "policies"
HOME = str(POLICIES / "s3-home.json")
BOUNDARY = str(POLICIES / "read-only-boundary.json")
BUCKET = str(POLICIES / "bucket-policy.json")
QUEUES = str(POLICIES / "tagged-queues.json")
OBJECT = "arn:aws:s3:::home-bucket/simulated/a.txt"


def test_all_allowed_exits_zero_with_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            HOME,
            "--action",
            "s3:GetObject",
            "--resource",
            OBJECT,
            "--context",
            "aws:RequestedRegion=string:us-east-1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "ACTION",
        "RESOURCE",
        "DECISION",
        "MATCHED",
        "STATEMENTS",
        "MISSING",
        "CONTEXT",
        "KEYS",
    ]
    assert lines[1].split()[:3] == ["s3:GetObject", OBJECT, "allowed"]
    assert f"{HOME}[0] Allow" in lines[1]


def test_any_denied_exits_one_and_shows_missing_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", HOME, "-a", "s3:GetObject", "-a", "s3:DeleteObject", "-r", OBJECT])
    out = capsys.readouterr().out
    assert code == 1
    assert "explicitDeny" in out and "aws:RequestedRegion" in out
    assert "explicit deny in" in out and "(Sid DenyOutsideRegion)" in out


def test_json_output_is_evaluation_results(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            HOME,
            "-a",
            "s3:GetObject",
            "-a",
            "s3:PutObject",
            "-r",
            OBJECT,
            "--boundary",
            BOUNDARY,
            "-c",
            "aws:RequestedRegion=string:eu-west-1",
            "--json",
        ]
    )
    results = json.loads(capsys.readouterr().out)["EvaluationResults"]
    assert code == 1
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    # named as aws iam simulate-custom-policy names policies passed as text
    ids = [m["SourcePolicyId"] for m in results[0]["MatchedStatements"]]
    assert ids == ["PolicyInputList.1", "PermissionsBoundaryPolicyInputList.1"]
    assert {m["SourcePolicyType"] for m in results[0]["MatchedStatements"]} == {"none"}  # files, not stored
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in results] == [
        True,
        False,
    ]


def test_resource_policy_owner_and_caller(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "simulate",
        QUEUES,
        "-a",
        "s3:GetObject",
        "-r",
        "arn:aws:s3:::home-bucket/x",
        "--resource-policy",
        BUCKET,
        "--resource-owner",
        "111122223333",
        "--caller-arn",
        "arn:aws:iam::444455556666:user/carol",
        "--json",
    ]
    code = main(args)
    [result] = json.loads(capsys.readouterr().out)["EvaluationResults"]
    assert code == 1
    assert result["EvalDecision"] == "implicitDeny" and "PermissionsBoundaryDecisionDetail" not in result
    assert main(args[:-1]) == 1
    assert "cross-account" in capsys.readouterr().out  # the reason: in the table, not in AWS's shape


def test_list_typed_context(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            QUEUES,
            "-a",
            "sqs:SendMessage",
            "-c",
            "aws:TagKeys=stringList:env,team",
            "-c",
            "aws:SourceIp=ip:10.2.3.4",
        ]
    )
    assert code == 0, capsys.readouterr().out
    code = main(
        [
            "simulate",
            QUEUES,
            "-a",
            "sqs:SendMessage",
            "-c",
            "aws:TagKeys=stringList:env,owner",
            "-c",
            "aws:SourceIp=ip:10.2.3.4",
        ]
    )
    assert code == 1


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("aws:SourceIp=ip:10.0.0.1", ("aws:SourceIp", "10.0.0.1")),
        ("aws:TagKeys=stringList:a,b", ("aws:TagKeys", ("a", "b"))),
        ("aws:TagKeys=STRINGLIST:a", ("aws:TagKeys", ("a",))),
        ("aws:CurrentTime=2024-01-01T00:00:00Z", ("aws:CurrentTime", "2024-01-01T00:00:00Z")),
        ("s3:prefix=string:a,b", ("s3:prefix", "a,b")),
        ("k=plain", ("k", "plain")),
    ],
)
def test_context_option_parsing(option: str, expected: tuple[str, object]) -> None:
    assert parse_context_option(option) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", HOME, "-a", "s3:*"],  # wildcard action
        ["simulate", HOME, "-a", "s3:GetObject", "-c", "no-equals-sign"],
        ["simulate", str(POLICIES / "missing.json"), "-a", "s3:GetObject"],
    ],
)
def test_usage_errors_exit_two(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "iamguard simulate:" in capsys.readouterr().err


def test_missing_action_is_an_argparse_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["simulate", HOME])
    assert exc.value.code == 2


def test_invalid_policy_reports_location(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(POLICIES / "invalid.json"), "-a", "s3:GetObject"])
    assert code == 1
    assert "Statement[0]" in capsys.readouterr().err
