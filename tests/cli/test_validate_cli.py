"""``iamguard validate`` through ``iamguard.cli.main``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iamguard.cli as cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "policies"


@pytest.fixture(autouse=True)
def _only_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the CLI with just this subcommand, so the test does not depend on the others."""
    monkeypatch.setattr(cli, "_SUBCOMMANDS", ("validate",))


def test_valid_files_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    files = [
        str(EXAMPLES / n)
        for n in ("s3-read-only.json", "permissions-boundary.json", "deny-outside-regions.json")
    ]
    assert cli.main(["validate", "--kind", "identity", "--limit", "managed", *files]) == 0
    out = capsys.readouterr().out
    assert out.count(": valid") == 3


def test_resource_examples(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(EXAMPLES / n) for n in ("bucket-policy-tls-and-org.json", "role-trust-policy.json")]
    assert cli.main(["validate", "--kind", "resource", "--limit", "trust", "--json", *files]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in results] == [True, True]
    assert set(results[0]) == {"file", "valid", "errors", "findings"}


def test_invalid_file_lists_located_errors(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "invalid" / "broken-identity-policy.json")
    assert cli.main(["validate", "--kind", "identity", "--json", path]) == 1
    (result,) = json.loads(capsys.readouterr().out)
    locations = [e["location"] for e in result["errors"]]
    assert not result["valid"]
    assert "Statement[0].Effect" in locations
    assert "Statement[1].Condition.IpAddress.aws:SourceIp[1]" in locations
    assert "Statement[1].Condition.StringEqualz" in locations


def test_human_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "admin.json"
    path.write_text('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}')
    assert cli.main(["validate", str(path)]) == 0
    assert (
        "SECURITY_WARNING ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES Statement[0].Action" in capsys.readouterr().out
    )
    assert cli.main(["validate", "--strict", str(path)]) == 1


def test_syntax_error_and_size_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"Version": ')
    assert cli.main(["validate", str(broken)]) == 1
    assert "ERROR line 1 column 13: not valid JSON" in capsys.readouterr().out
    big = tmp_path / "big.json"
    big.write_text(
        json.dumps(
            {
                "Statement": {
                    "Effect": "Allow",
                    "Action": [f"s3:A{i:04d}" for i in range(400)],
                    "Resource": "*",
                }
            }
        )
    )
    assert cli.main(["validate", "--limit", "session", str(big)]) == 1
    assert "2048 allowed for a session policy" in capsys.readouterr().out
    assert cli.main(["validate", "--limit", "role-inline", str(big)]) == 0


def test_unreadable_file_exits_two(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["validate", str(tmp_path / "missing.json")]) == 2
    assert "cannot read file" in capsys.readouterr().out


def test_bad_option_is_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["validate", "--kind", "bucket", "x.json"])
    assert caught.value.code == 2
