"""Audit sinks (logging, JSON lines off-thread) and the access tracker (no generation bump)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path

import pytest

from iamguard.authn.authenticators import Authenticated
from iamguard.enforce.audit import AccessTracker, AuditEvent, JsonLinesAuditSink, LoggingAuditSink
from iamguard.enforce.guard import Guard
from iamguard.principal import Principal

from .helpers import ACCOUNT, BOX, make_world

ALICE = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/alice")


class ListSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


def _event(decision: str = "allowed") -> AuditEvent:
    return AuditEvent(1.0, "R1", ALICE.arn, "s3:GetObject", "*", decision, ("p#0:Read",), "192.0.2.1", 12)


def test_guard_audits_every_decision() -> None:
    world = make_world()
    sink = ListSink()
    guard = Guard(world.store, audit=sink)
    who = Authenticated(ALICE, "sigv4", access_key_id=world.akid, request_id="REQ")
    guard.authorize(who, "s3:GetObject", "arn:aws:s3:::b/k")
    guard.authorize(who, "s3:GetObject", "arn:aws:s3:::secret/k")
    assert [(e.decision, e.request_id, e.access_key_id) for e in sink.events] == [
        ("allowed", "REQ", world.akid),
        ("explicitDeny", "REQ", world.akid),
    ]
    assert "arn:aws:iam::123456789012:policy/read#1:NoSecrets" in sink.events[1].matched_statements
    assert all(e.latency_us >= 0 for e in sink.events)


def test_logging_sink_levels(caplog: pytest.LogCaptureFixture) -> None:
    sink = LoggingAuditSink()
    with caplog.at_level(logging.INFO, logger="iamguard.audit"):
        sink.record(_event())
        sink.record(_event("implicitDeny"))
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.WARNING]
    assert json.loads(caplog.records[0].getMessage())["principal"] == ALICE.arn


def test_json_lines_sink_writes_off_thread(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = JsonLinesAuditSink(path)
    for _ in range(50):
        sink.record(_event())
    sink.flush()
    lines = path.read_text().splitlines()
    assert len(lines) == 50
    assert json.loads(lines[0])["matchedStatements"] == ["p#0:Read"]
    sink.close()
    sink.record(_event())  # after close: ignored, never raises


def test_json_lines_sink_drops_instead_of_blocking(tmp_path: Path) -> None:
    sink = JsonLinesAuditSink(tmp_path / "audit.jsonl", maxsize=1)
    gate = threading.Event()
    original = sink._write

    def slow_write(lines: list[str]) -> None:
        gate.wait(5)
        original(lines)

    sink._write = slow_write  # type: ignore[method-assign]
    for _ in range(20):
        sink.record(_event())  # must return at once even though the writer is stuck
    assert sink.dropped > 0
    gate.set()
    sink.close()


def test_access_tracker_batches_and_does_not_bump_the_generation() -> None:
    world = make_world()
    tracker = AccessTracker(world.store, interval=None, clock=lambda: 1_800_000_000.0)
    guard = Guard(world.store, tracker=tracker)
    who = Authenticated(ALICE, "sigv4", access_key_id=world.akid)
    for _ in range(3):
        guard.authorize(who, "s3:GetObject", "arn:aws:s3:::b/k")
    guard.authorize(who, "s3:GetObject", "arn:aws:s3:::secret/k")  # denied: not an access
    before = world.store.generation()
    assert tracker.flush() == 1
    assert world.store.generation() == before
    [entry] = world.store.get_service_last_accessed(ALICE.arn)
    assert (entry.service_namespace, entry.last_action, entry.total_requests) == ("s3", "s3:GetObject", 3)
    [key] = world.store.list_access_keys("alice")
    assert key.last_used_date is not None and int(key.last_used_date.timestamp()) == 1_800_000_000
    assert tracker.flush() == 0
    tracker.close()


def test_access_tracker_survives_store_failure(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def record_access_activity(self, batch: object) -> None:
            raise OSError("disk full")

    tracker = AccessTracker(Broken(), interval=None)
    tracker.note(entity_arn=ALICE.arn, action="s3:GetObject")
    assert tracker.flush() == 0
    assert "cannot record access activity" in caplog.text


def test_sqlite_activity_write_keeps_the_generation(tmp_path: Path) -> None:
    from iamguard.store import open_store
    from iamguard.store.service import AccessActivity

    store = open_store(f"sqlite:///{tmp_path / 's.db'}", create=True, account_id=ACCOUNT, secret_box=BOX)
    store.create_user("bob")
    before = store.generation()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    arn = f"arn:aws:iam::{ACCOUNT}:user/bob"
    store.record_access_activity([AccessActivity(at, arn, "sts", "sts:GetCallerIdentity", count=2)])
    store.record_access_activity([AccessActivity(at - dt.timedelta(days=1), arn, "sts", "sts:Old")])
    assert store.generation() == before
    [entry] = store.get_service_last_accessed(arn)
    assert (entry.last_action, entry.total_requests, entry.last_authenticated) == (
        "sts:GetCallerIdentity",
        3,
        at,
    )
