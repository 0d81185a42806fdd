"""``iamguard simulate-principal``: SimulatePrincipalPolicy on stored users and roles.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
"""

from __future__ import annotations

import json
from pathlib import Path

from . import admin_cli_support as support
from .admin_cli_support import TRUST_ACCOUNT, Cli, write_json

cli = support.cli
store_url = support.store_url

USER = "arn:aws:iam::123456789012:user/eng/alice"
ROLE = "arn:aws:iam::123456789012:role/ci/deployer"


def _allow(action: str, resource: str = "*", **extra: object) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}],
        }
    )


def _setup(cli: Cli) -> None:
    cli("user", "create", "alice", "--path", "/eng/", "--tag", "team=data")
    cli("group", "create", "devs")
    cli("group", "add-user", "devs", "alice")
    # Group policy: user policies and their groups' policies both apply.
    cli("policy", "inline", "put", "--group", "devs", "Queue", _allow("sqs:SendMessage"))
    # Tag-based: aws:PrincipalTag comes from the stored user's tags.
    tagged = _allow(
        "s3:GetObject", "arn:aws:s3:::data/*", Condition={"StringEquals": {"aws:PrincipalTag/team": "data"}}
    )
    cli("policy", "inline", "put", "--user", "alice", "Tagged", tagged)
    # Per-user path via ${aws:username}.
    cli("policy", "create", "Home", _allow("s3:PutObject", "arn:aws:s3:::home/${aws:username}/*"))
    cli("policy", "attach", "Home", "--user", "alice")


def test_user_policies_group_policies_and_principal_keys(cli: Cli) -> None:
    _setup(cli)
    cases = [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:jobs", "allowed"),
        ("s3:GetObject", "arn:aws:s3:::data/x", "allowed"),
        ("s3:PutObject", "arn:aws:s3:::home/alice/f", "allowed"),
        ("s3:PutObject", "arn:aws:s3:::home/bob/f", "implicitDeny"),
    ]
    for action, resource, expected in cases:
        result = cli("simulate-principal", USER, "--action", action, "--resource", resource, "--json")
        assert result.json["EvaluationResults"][0]["EvalDecision"] == expected, (action, resource, result.out)
        assert result.code == (0 if expected == "allowed" else 1)


def test_boundary_caps_the_user(cli: Cli) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
    _setup(cli)
    cli("policy", "create", "OnlyS3", _allow("s3:*"))
    cli("user", "set-boundary", "alice", "OnlyS3")
    result = cli("simulate-principal", USER, "-a", "sqs:SendMessage", "-a", "s3:PutObject",
                 "-r", "arn:aws:s3:::home/alice/f", "--json")  # fmt: skip
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in result.json["EvaluationResults"]}
    assert decisions == {"sqs:SendMessage": "implicitDeny", "s3:PutObject": "allowed"}


def test_role_with_context_and_resource_policy(cli: Cli, tmp_path: Path) -> None:
    cli("role", "create", "deployer", "--path", "/ci/", "--trust-policy", json.dumps(TRUST_ACCOUNT))
    regional = _allow("s3:GetObject", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
    cli("policy", "inline", "put", "--role", "deployer", "Regional", regional)
    args = ("simulate-principal", ROLE, "-a", "s3:GetObject", "-r", "arn:aws:s3:::bucket/k", "--json")
    missing = cli(*args).json["EvaluationResults"][0]
    assert (
        missing["EvalDecision"] == "implicitDeny" and "aws:RequestedRegion" in missing["MissingContextValues"]
    )
    assert (
        cli(*args, "--context", "aws:RequestedRegion=string:eu-west-1").json["EvaluationResults"][0][
            "EvalDecision"
        ]
        == "allowed"
    )
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "*"}
        ],
    }
    policy = write_json(tmp_path / "bucket.json", deny)
    denied = cli(*args, "--context", "aws:RequestedRegion=string:eu-west-1", "--resource-policy", policy)
    assert denied.code == 1 and denied.json["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"


def test_unknown_or_unsupported_principal(cli: Cli) -> None:
    _setup(cli)
    unknown = cli("simulate-principal", "arn:aws:iam::123456789012:user/eng/nobody", "-a", "s3:GetObject")
    assert unknown.code == 1 and "NoSuchEntity" in unknown.err
    wrong_path = cli("simulate-principal", "arn:aws:iam::123456789012:user/alice", "-a", "s3:GetObject")
    assert wrong_path.code == 1  # a user ARN must carry the user's path
    policy_arn = cli("simulate-principal", "arn:aws:iam::123456789012:policy/Home", "-a", "s3:GetObject")
    assert policy_arn.code == 2 and "user, group or role" in policy_arn.err
    no_group = cli("simulate-principal", "arn:aws:iam::123456789012:group/other/devs", "-a", "s3:GetObject")
    assert no_group.code == 1 and "NoSuchEntity" in no_group.err
    caller = cli("simulate-principal", USER, "-a", "s3:GetObject", "--caller-arn", USER)
    assert caller.code == 2 and "group simulations only" in caller.err
    wildcard = cli("simulate-principal", USER, "-a", "s3:*")
    assert wildcard.code == 2 and "wildcards" in wildcard.err


def test_table_output(cli: Cli) -> None:
    _setup(cli)
    result = cli("simulate-principal", USER, "-a", "sqs:SendMessage")
    assert result.code == 0
    assert result.out.splitlines()[1].split()[:3] == ["sqs:SendMessage", "*", "allowed"]
    assert "group/devs/inline/Queue[0] Allow" in result.out


def test_group_simulates_only_the_groups_policies(cli: Cli) -> None:
    """SimulatePrincipalPolicy on a group includes the group's policies (not its members').
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html"""
    _setup(cli)
    cli("policy", "attach", "Home", "--group", "devs")
    group = "arn:aws:iam::123456789012:group/devs"
    args = ("simulate-principal", group, "-a", "sqs:SendMessage", "-a", "s3:GetObject", "--json")
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in cli(*args).json["EvaluationResults"]}
    assert decisions == {"sqs:SendMessage": "allowed", "s3:GetObject": "implicitDeny"}
    home = ("simulate-principal", group, "-a", "s3:PutObject", "-r", "arn:aws:s3:::home/carol/x", "--json")
    assert (
        cli(*home).json["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    )  # aws:username of user/simulated
    as_carol = cli(*home, "--caller-arn", "arn:aws:iam::123456789012:user/carol").json["EvaluationResults"][0]
    assert as_carol["EvalDecision"] == "allowed"
