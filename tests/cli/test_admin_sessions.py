"""``iamguard session revoke`` through ``iamguard.cli.main``.

https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

import iamguard.cli
from iamguard.store.records import PrincipalKind

from . import admin_cli_support as support
from .admin_cli_support import TRUST_ACCOUNT, Cli, service

cli = support.cli
store_url = support.store_url


def test_session_revoke_is_a_registered_command() -> None:
    assert "admin_sessions" in iamguard.cli._SUBCOMMANDS


def test_revoke_puts_aws_revoke_older_sessions(cli: Cli, store_url: str) -> None:
    assert cli("role", "create", "r", "--trust-policy", json.dumps(TRUST_ACCOUNT)).code == 0
    done = cli("session", "revoke", "r", "--before", "2024-10-10T09:43:48.085Z", "--json")
    assert done.code == 0, done.err
    assert done.out == ""  # a PutRolePolicy, which the AWS CLI answers with nothing
    document = json.loads(
        service(store_url).get_inline_policy(PrincipalKind.ROLE, "r", "AWSRevokeOlderSessions").document
    )
    assert document["Statement"] == {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-10-10T09:43:48.085Z"}},
    }
    assert cli("session", "revoke", "r").code == 0  # default: now, replacing the earlier time
    document = json.loads(
        service(store_url).get_inline_policy(PrincipalKind.ROLE, "r", "AWSRevokeOlderSessions").document
    )
    stamp = document["Statement"]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert abs(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() - time.time()) < 60


def test_revoke_refuses_a_missing_role_and_a_time_without_zone(cli: Cli) -> None:
    missing = cli("session", "revoke", "nobody")
    assert missing.code == 1 and "NoSuchEntity" in missing.err
    assert cli("role", "create", "r", "--trust-policy", json.dumps(TRUST_ACCOUNT)).code == 0
    with pytest.raises(SystemExit) as exited:  # argparse refuses the value
        cli("session", "revoke", "r", "--before", "2024-10-10T09:43:48")
    assert exited.value.code == 2
