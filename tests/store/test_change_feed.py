"""The change feed (iamguard/store/feed.py): in-process behaviour, then revocation across two
real processes sharing one SQLite file or one PostgreSQL schema.

The cross-process tests are the feed's reason to exist: process A (procs/decider.py) keeps
answering one authorization question from memos keyed by ``ChangeFeed.current()``; process B
(procs/revoker.py) revokes the permission; A must answer "deny" within one second of B's commit
and never "allow" again. Each scenario is one revocation AWS users rely on:
detaching a policy, deactivating an access key, deleting a user, changing a trust policy.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iamguard.errors import StoreUnavailableError
from iamguard.store import open_store
from iamguard.store.feed import (
    ChangeFeed,
    PollingChangeFeed,
    PostgresChangeFeed,
    clear_on_change,
    open_change_feed,
)
from iamguard.store.memory import MemoryBackend
from iamguard.store.postgres import PostgresBackend
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService
from iamguard.store.sqlite import SQLiteBackend

from . import _pg
from ._pg import SchemaFactory

PROCS = Path(__file__).resolve().parent / "procs"
# The PostgreSQL fixtures of tests/store/_pg.py, registered in this module.
pg_schemas, pg_url, pg_backend_factory = _pg.pg_schemas, _pg.pg_url, _pg.pg_backend_factory
MASTER_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
ACCOUNT = "123456789012"
#: The bound the feature promises: a revocation reaches every process within one second.
PROPAGATION_LIMIT = 1.0
#: How long any single wait in these tests may last before the test fails instead of hanging.
WAIT = 8.0


def _box() -> SecretBox:
    return SecretBox.from_env({"IAMGUARD_MASTER_KEY": MASTER_KEY})


def _write(backend: Any) -> None:
    with backend.write() as tx:
        tx.select("settings")


# ---------------------------------------------------------------- in-process behaviour


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[SQLiteBackend]:
    backend = SQLiteBackend(tmp_path / "feed.db", create=True)
    yield backend
    backend.close()


def test_polling_feed_reports_a_write_from_another_connection(tmp_path: Path) -> None:
    reader, writer = SQLiteBackend(tmp_path / "s.db", create=True), SQLiteBackend(tmp_path / "s.db")
    feed = PollingChangeFeed(reader, interval=0.02)
    try:
        start = feed.current()
        assert start == writer.generation()
        _write(writer)
        assert feed.wait_for_change(start, WAIT) == start + 1
        assert feed.current() == start + 1
    finally:
        feed.close()
        reader.close()
        writer.close()


def test_wait_for_change_returns_the_same_generation_on_timeout(sqlite_backend: SQLiteBackend) -> None:
    feed = PollingChangeFeed(sqlite_backend, interval=0.02)
    try:
        assert feed.wait_for_change(feed.current(), 0.05) == feed.current()
        # A stale ``after`` returns at once with the newer value.
        _write(sqlite_backend)
        newer = feed.wait_for_change(0, WAIT)
        assert newer == sqlite_backend.generation()
        assert feed.wait_for_change(newer - 1, 0) == newer
    finally:
        feed.close()


def test_subscribers_hear_each_change_and_unsubscribe_stops_them(sqlite_backend: SQLiteBackend) -> None:
    feed = PollingChangeFeed(sqlite_backend, interval=0.02)
    heard: queue.Queue[int] = queue.Queue()
    try:
        unsubscribe = feed.subscribe(heard.put)
        _write(sqlite_backend)
        assert heard.get(timeout=WAIT) == sqlite_backend.generation()
        unsubscribe()
        unsubscribe()  # idempotent
        before = feed.current()
        _write(sqlite_backend)
        feed.wait_for_change(before, WAIT)
        assert heard.empty()
    finally:
        feed.close()


def test_a_failing_subscriber_does_not_silence_the_others(sqlite_backend: SQLiteBackend) -> None:
    feed = PollingChangeFeed(sqlite_backend, interval=0.02)
    heard: queue.Queue[int] = queue.Queue()

    def broken(_generation: int) -> None:
        raise RuntimeError("subscriber bug")

    try:
        feed.subscribe(broken)
        feed.subscribe(heard.put)
        _write(sqlite_backend)
        first = heard.get(timeout=WAIT)
        _write(sqlite_backend)  # the feed thread survived the exception
        assert heard.get(timeout=WAIT) == first + 1
    finally:
        feed.close()


def test_clear_on_change_clears_every_cache(sqlite_backend: SQLiteBackend) -> None:
    class Cache:
        def __init__(self) -> None:
            self.cleared = threading.Event()

        def clear(self) -> None:
            self.cleared.set()

    caches = (Cache(), Cache())
    feed = PollingChangeFeed(sqlite_backend, interval=0.02)
    try:
        clear_on_change(feed, *caches)
        _write(sqlite_backend)
        assert all(c.cleared.wait(WAIT) for c in caches)
    finally:
        feed.close()


def test_close_stops_the_thread_and_wakes_waiters(sqlite_backend: SQLiteBackend) -> None:
    feed = PollingChangeFeed(sqlite_backend, interval=0.02)
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(feed.wait_for_change(feed.current(), 60)))
    waiter.start()
    feed.close()
    waiter.join(WAIT)
    assert not waiter.is_alive() and woke == [feed.current()]
    assert not feed._thread.is_alive()


def test_polling_feed_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError):
        PollingChangeFeed(MemoryBackend(), interval=0)


def test_open_change_feed_polls_memory_and_sqlite_stores(tmp_path: Path) -> None:
    for backend in (MemoryBackend(), SQLiteBackend(tmp_path / "o.db", create=True)):
        store = IdentityService(backend, secret_box=_box())
        feed = open_change_feed(store, interval=0.02)
        try:
            assert isinstance(feed, PollingChangeFeed) and isinstance(feed, ChangeFeed)
            assert feed.current() == store.generation()
            store.create_user("bob")
            assert feed.wait_for_change(store.generation() - 1, WAIT) == store.generation()
        finally:
            feed.close()
            backend.close()


@pytest.mark.postgres
def test_postgres_feed_hears_commits_and_ignores_rollbacks(
    pg_backend_factory: Callable[[], PostgresBackend],
) -> None:
    backend, other = pg_backend_factory(), pg_backend_factory()
    feed = open_change_feed(backend)
    try:
        assert isinstance(feed, PostgresChangeFeed) and feed.listening
        start = feed.current()
        with pytest.raises(RuntimeError), other.write():
            raise RuntimeError("rolled back: no notification is delivered")
        _write(other)
        # The fallback poll is 5 s away, so only the NOTIFY can deliver this in time.
        assert feed.wait_for_change(start, 4.0) == start + 1
    finally:
        feed.close()


@pytest.mark.postgres
def test_postgres_feed_ignores_other_schemas(pg_schemas: SchemaFactory) -> None:
    mine_url, theirs_url = pg_schemas.url_for(pg_schemas.new()), pg_schemas.url_for(pg_schemas.new())
    mine, theirs = PostgresBackend(mine_url, create=True), PostgresBackend(theirs_url, create=True)
    feed = PostgresChangeFeed(mine)
    heard: queue.Queue[int] = queue.Queue()
    try:
        feed.subscribe(heard.put)
        for _ in range(3):
            _write(theirs)
        _write(mine)
        assert heard.get(timeout=WAIT) == mine.generation() == 1
        assert heard.empty()
    finally:
        feed.close()
        mine.close()
        theirs.close()


@pytest.mark.postgres
def test_postgres_feed_reconnects_and_catches_up(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    backend = pg_backend_factory()
    feed = PostgresChangeFeed(backend, reconnect_delay=0.05, tick=0.05)
    try:
        start = feed.current()
        with backend.open_connection() as admin:
            row = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid = %s AND application_name = 'iamguard-change-feed'",
                (feed._conn.info.backend_pid,),
            ).fetchone()
        assert row == (True,)
        _write(backend)  # likely committed while the feed is reconnecting: the re-read finds it
        assert feed.wait_for_change(start, WAIT) == start + 1
        deadline = time.monotonic() + WAIT
        while not feed.listening and time.monotonic() < deadline:
            time.sleep(0.01)
        _write(backend)
        assert feed.wait_for_change(start + 1, WAIT) == start + 2
    finally:
        feed.close()


def test_postgres_feed_construction_fails_when_the_server_is_down() -> None:
    class Down:
        def generation(self) -> int:
            raise StoreUnavailableError("cannot connect")

    with pytest.raises(StoreUnavailableError):
        PostgresChangeFeed(Down())  # type: ignore[arg-type]


# ---------------------------------------------------------------- two real processes


SCENARIOS = ["detach", "deactivate_key", "delete_user", "trust"]
READ_B = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
}
TRUST_ALICE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _prepare(url: str) -> str:
    """Alice may read b/*, holds an active key and is trusted by role reader; the key's id."""
    store = open_store(url, create=True, account_id=ACCOUNT, secret_box=_box())
    try:
        store.create_user("alice")
        policy = store.create_policy("read-b", READ_B)
        store.attach_user_policy("alice", policy.arn)
        store.create_role("reader", TRUST_ALICE)
        return store.create_access_key("alice").access_key_id
    finally:
        store.backend.close()


@dataclass
class _Answer:
    t: float
    allowed: bool
    kind: str


class _Process:
    """A child Python process whose stdout lines are collected by a thread."""

    def __init__(self, script: str, *args: str, stdin: bool = False) -> None:
        self.script = script
        env = {**os.environ, "IAMGUARD_MASTER_KEY": MASTER_KEY}
        env.pop("IAMGUARD_MASTER_KEY_FILE", None)
        self.proc = subprocess.Popen(
            [sys.executable, str(PROCS / script), *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def next_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"{self.script} said nothing for {timeout}s; stderr: {self._stderr()}"
            ) from None

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-2000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def _revocation_timeline(url: str, scenario: str, mode: str = "feed") -> tuple[list[_Answer], float]:
    """Run A and B; A's answers (until 0.3 s past its flip, at most 1.5 s past the commit)
    and B's commit time."""
    key_id = _prepare(url)
    decider = _Process(
        "decider.py", url, scenario, "--mode", mode, "--access-key-id", key_id, "--seconds", "30"
    )
    revoker = _Process("revoker.py", url, scenario, "--access-key-id", key_id, stdin=True)
    answers: list[_Answer] = []
    try:
        assert decider.next_line(WAIT) == "ready"
        assert revoker.next_line(WAIT) == "ready"
        for _ in range(3):  # A is up and answering before B writes
            answers.append(_Answer(**json.loads(decider.next_line(WAIT))))
        assert revoker.proc.stdin is not None
        revoker.proc.stdin.write("go\n")
        revoker.proc.stdin.flush()
        committed = float(json.loads(revoker.next_line(WAIT))["committed"])
        first_deny: float | None = None
        while True:
            answer = _Answer(**json.loads(decider.next_line(WAIT)))
            answers.append(answer)
            if first_deny is None and not answer.allowed and answer.t >= committed:
                first_deny = answer.t
            # Watch a while past the flip (no flapping back), or past the limit (no flip at all).
            if answer.t > min(first_deny + 0.3 if first_deny else 1e100, committed + PROPAGATION_LIMIT + 0.5):
                return answers, committed
    finally:
        decider.kill()
        revoker.kill()


def _assert_revoked_in_time(answers: list[_Answer], committed: float) -> None:
    before = [a for a in answers if a.t < committed]
    assert before and before[0].allowed, "A must be allowed before the revocation"
    denied = [a for a in answers if not a.allowed]
    assert denied, "A was never denied after the revocation"
    first = denied[0]
    lag = first.t - committed
    assert lag <= PROPAGATION_LIMIT, f"A still allowed {lag:.3f}s after B's commit"
    after = [a for a in answers if a.t >= first.t]
    assert not any(a.allowed for a in after), "A was allowed again after being denied"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_revocation_reaches_another_process_sharing_a_sqlite_file(tmp_path: Path, scenario: str) -> None:
    answers, committed = _revocation_timeline(f"sqlite:///{tmp_path / 'shared.db'}", scenario)
    _assert_revoked_in_time(answers, committed)


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_revocation_reaches_another_process_sharing_a_postgres_schema(pg_url: str, scenario: str) -> None:
    answers, committed = _revocation_timeline(pg_url, scenario)
    _assert_revoked_in_time(answers, committed)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_revocation_reaches_a_process_that_resolves_on_every_request(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """Without memos, the store's own generation check already keeps every answer current."""
    url = f"sqlite:///{tmp_path / 'pull.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    answers, committed = _revocation_timeline(url, "detach", mode="pull")
    _assert_revoked_in_time(answers, committed)
