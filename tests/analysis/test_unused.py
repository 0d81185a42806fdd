"""Unused access with a fixed clock, from access-advisor data written by the guard's tracker.

Table: ``tests/data/analysis/unused/cases.json`` (each case: a user's policy and boundary, its
activity as (action, days ago), the window, and the findings as (kind, service, actions, days
since last access or null, used services)).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iamguard.analysis.unused import UnusedAccessFinding, unused_access
from iamguard.enforce.audit import AccessTracker, AuditEvent
from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService

TABLE = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "analysis" / "unused" / "cases.json").read_text(
        encoding="utf-8"
    )
)
NOW = datetime.fromisoformat(TABLE["now"].replace("Z", "+00:00"))
ACCOUNT = "123456789012"


def _store() -> IdentityService:
    return open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"))


def _note(store: IdentityService, entity: str, activity: list[tuple[str, int]]) -> None:
    """Record activity through the guard's own tracker, each use at its own (fixed) time."""
    for action, days_ago in activity:
        at = (NOW - timedelta(days=days_ago)).timestamp()
        tracker = AccessTracker(store, interval=None, clock=_fixed(at))
        tracker.note(entity_arn=entity, action=action)
        assert tracker.flush() == 1


def _fixed(at: float) -> Callable[[], float]:
    return lambda: at


def _row(finding: UnusedAccessFinding) -> list[Any]:
    age = None if finding.last_accessed is None else (NOW - finding.last_accessed).days
    row: list[Any] = [finding.kind, finding.service, list(finding.actions), age]
    return [*row, list(finding.used_services)] if finding.used_services else row


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_unused_case(case: dict[str, Any]) -> None:
    store = _store()
    user = store.create_user(case["user"])
    store.put_inline_policy(PrincipalKind.USER, case["user"], "p", case["policy"])
    if "boundary" in case:
        boundary = store.create_policy(f"boundary-{case['user']}", case["boundary"])
        store.put_user_permissions_boundary(case["user"], boundary.arn)
    _note(store, user.arn, [(a, d) for a, d in case["activity"]])
    found = unused_access(store, days=case["days"], principals=[user.arn], now=NOW)
    assert [_row(f) for f in found] == case["expect"]
    assert all(f.principal == user.arn and f.days == case["days"] for f in found)
    assert all(f.describe().startswith(user.arn) for f in found)


def test_role_sessions_are_tracked_under_the_pathless_arn() -> None:
    """The guard notes a role session under ``role/R`` (no path); the role's data is found."""
    store = _store()
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = store.create_role("worker", trust, path="/svc/")
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:*"], "Resource": "*"}],
    }
    store.put_inline_policy(PrincipalKind.ROLE, "worker", "p", allow)
    _note(store, f"arn:aws:iam::{ACCOUNT}:role/worker", [("s3:GetObject", 2)])
    found = unused_access(store, days=30, now=NOW)
    assert [_row(f) for f in found] == [["service", "sqs", ["sqs:*"], None]]
    assert found[0].principal == role.arn


def test_action_level_findings_come_from_the_audit_log() -> None:
    store = _store()
    user = store.create_user("carol")
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:Delete*"], "Resource": "*"}]}  # fmt: skip
    store.put_inline_policy(PrincipalKind.USER, "carol", "p", allow)
    _note(store, user.arn, [("s3:GetObject", 1)])
    events = [
        AuditEvent((NOW - timedelta(days=1)).timestamp(), "r", user.arn, "s3:GetObject", "arn:aws:s3:::b/k", "allowed", (), None, 1),
        AuditEvent((NOW - timedelta(days=2)).timestamp(), "r", user.arn, "s3:DeleteObject", "arn:aws:s3:::b/k", "implicitDeny", (), None, 1),
        AuditEvent((NOW - timedelta(days=200)).timestamp(), "r", user.arn, "s3:PutObject", "arn:aws:s3:::b/k", "allowed", (), None, 1),
    ]  # fmt: skip
    found = unused_access(store, days=90, now=NOW, events=events)
    assert [(f.kind, f.actions) for f in found] == [
        ("action", ("s3:PutObject",)),
        ("action", ("s3:Delete*",)),
    ]


def test_unused_access_keys() -> None:
    """Active keys unused in the window are findings (never used: judged by creation); a key the
    tracker saw recently, or an inactive one, is not."""
    created = (NOW - timedelta(days=200)).timestamp()
    store = open_store(
        "memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"), clock=_fixed(created)
    )
    user = store.create_user("dana")
    used_id = store.create_access_key("dana").access_key_id
    idle = store.create_access_key("dana").access_key_id
    tracker = AccessTracker(store, interval=None, clock=_fixed((NOW - timedelta(days=1)).timestamp()))
    tracker.note(entity_arn=user.arn, action="s3:GetObject", access_key_id=used_id)
    tracker.flush()
    found = unused_access(store, days=90, now=NOW)
    assert [(f.kind, f.actions, f.last_accessed) for f in found] == [("access-key", (idle,), None)]
    assert found[0].describe() == f"{user.arn}: access key {idle} not used in 90 days (never used)"
    store.update_access_key(idle, "Inactive")
    assert unused_access(store, days=90, now=NOW) == ()


def test_bad_arguments() -> None:
    store = _store()
    with pytest.raises(InvalidParameterError, match="days must be at least 1"):
        unused_access(store, days=0)
    with pytest.raises(NoSuchEntityError):
        unused_access(store, principals=[f"arn:aws:iam::{ACCOUNT}:user/ghost"], now=NOW)
    with pytest.raises(InvalidParameterError, match="timezone-aware"):
        unused_access(store, now=datetime(2026, 1, 1))
    assert unused_access(store, now=NOW.timestamp()) == ()
