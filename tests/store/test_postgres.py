"""The store contract on PostgreSQL, plus what only a shared server has: concurrent writers from
separate connection pools, migrations raced by two openers, NOTIFY only on commit, snapshot
reads, and errors that name the server but never the password.

Needs ``IAMGUARD_TEST_POSTGRES_URL`` (see ``tests/store/_pg.py``); every test gets its own
``iamguard_test_<random>_<n>`` schema, dropped afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import Notify

from iamguard.errors import ConcurrentModificationError, InvalidInputError, StoreUnavailableError
from iamguard.store import _sql, open_backend, open_store
from iamguard.store.postgres import CHANNEL, PostgresBackend
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService

from . import _pg
from ._pg import SchemaFactory
from .contract import ACCOUNT, BOX, StoreContract, doc

pytestmark = pytest.mark.postgres
# The PostgreSQL fixtures of tests/store/_pg.py, registered in this module.
pg_schemas, pg_url, pg_backend_factory = _pg.pg_schemas, _pg.pg_url, _pg.pg_backend_factory
WAIT = 8.0


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def backend(self, pg_backend_factory: Callable[[], PostgresBackend]) -> PostgresBackend:
        return pg_backend_factory()


def _service(backend: PostgresBackend) -> IdentityService:
    return IdentityService(backend, account_id=ACCOUNT, secret_box=BOX)


def _wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


def _lock_waiters(application_name: str) -> int:
    """How many connections labelled ``application_name`` are blocked waiting for a lock."""
    with psycopg.connect(_pg.server_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = %s",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------- concurrent writers


def test_stale_expected_revision_loses_to_a_concurrent_writer(
    pg_url: str, pg_backend_factory: Callable[[], PostgresBackend]
) -> None:
    """Two processes' pools edit one managed policy, both expecting revision r. The second writer
    waits on the generation row lock, then sees the first one's commit and is refused with
    ConcurrentModificationError -- neither update is lost, neither is applied twice."""
    first_backend = pg_backend_factory()
    racer_name = f"racer_{first_backend.schema}"[:63]
    racer_backend = PostgresBackend(f"{pg_url}&application_name={racer_name}", create=True, max_connections=2)
    try:
        _race(_service(first_backend), _service(racer_backend), racer_name)
    finally:
        racer_backend.close()


def _race(first: IdentityService, second: IdentityService, racer_name: str) -> None:
    policy = first.create_policy("shared", doc())
    revision = first.get_policy(policy.arn).revision
    inside = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def slow_writer() -> None:
        with first.atomic():
            first.create_policy_version(policy.arn, doc("s3:PutObject"), expected_revision=revision)
            inside.set()
            release.wait(WAIT)

    def racing_writer() -> None:
        try:
            second.create_policy_version(policy.arn, doc("s3:DeleteObject"), expected_revision=revision)
            outcome["result"] = "committed"
        except ConcurrentModificationError as exc:
            outcome["result"] = exc

    slow = threading.Thread(target=slow_writer)
    slow.start()
    try:
        assert inside.wait(WAIT)
        racing = threading.Thread(target=racing_writer)
        racing.start()
        # The race is real only if the second writer is blocked behind the first one's lock.
        _wait_until(lambda: _lock_waiters(racer_name) == 1, "the second writer waits on the row lock")
        assert "result" not in outcome
    finally:
        release.set()
        slow.join(WAIT)
    racing.join(WAIT)
    assert isinstance(outcome["result"], ConcurrentModificationError)
    versions = [v.document for v in second.list_policy_versions(policy.arn)]
    assert len(versions) == 2 and "s3:PutObject" in versions[1] and "s3:DeleteObject" not in "".join(versions)
    # With the fresh revision the second writer succeeds.
    fresh = second.get_policy(policy.arn).revision
    assert fresh != revision
    second.create_policy_version(policy.arn, doc("s3:DeleteObject"), expected_revision=fresh)


def test_concurrent_read_modify_write_never_loses_an_update(
    pg_backend_factory: Callable[[], PostgresBackend],
) -> None:
    """Eight threads over two pools each add tags to one user (read tags, merge, write back):
    every tag survives, and the generation rose by exactly one per write."""
    services = [_service(pg_backend_factory()), _service(pg_backend_factory())]
    services[0].create_user("shared")
    start = services[0].generation()
    errors: list[BaseException] = []

    def tagger(worker: int) -> None:
        store = services[worker % 2]
        try:
            for i in range(5):
                store.tag_user("shared", {f"w{worker}-{i}": "x"})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tagger, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
    assert not errors
    tags = dict(services[1].get_user("shared").tags)
    assert sorted(tags) == sorted(f"w{w}-{i}" for w in range(8) for i in range(5))
    assert services[1].generation() == start + 40


# ---------------------------------------------------------------- migrations


def test_two_backends_opening_one_new_schema_at_once_migrate_it_once(pg_url: str) -> None:
    barrier = threading.Barrier(3)
    opened: list[PostgresBackend] = []
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            barrier.wait(WAIT)
            opened.append(PostgresBackend(pg_url, create=True, max_connections=2))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
    try:
        assert not errors and len(opened) == 3
        applied = sorted((b.applied_migrations for b in opened), key=len)
        assert applied == [[], [], [m.version for m in _sql.MIGRATIONS]]
        with opened[0].open_connection() as conn:
            rows = conn.execute("SELECT version FROM iamguard_migrations").fetchall()
        assert sorted(r[0] for r in rows) == [m.version for m in _sql.MIGRATIONS]
        assert {b.generation() for b in opened} == {0}
        again = PostgresBackend(pg_url)
        assert again.applied_migrations == []
        again.close()
    finally:
        for backend in opened:
            backend.close()


def test_a_schema_newer_than_this_code_is_refused(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    backend = pg_backend_factory()
    with backend.open_connection() as conn:
        conn.execute(
            "INSERT INTO iamguard_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')"
        )
    with pytest.raises(StoreUnavailableError, match="newer"):
        pg_backend_factory()


# ---------------------------------------------------------------- transactions


def _own(backend: PostgresBackend, notifies: Iterable[Notify]) -> list[str]:
    """This schema's payloads: the channel is shared by every store (and test run) on the server."""
    return [n.payload for n in notifies if n.payload.startswith(f"{backend.schema}:")]


def test_notify_is_sent_on_commit_only(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    backend = pg_backend_factory()
    with backend.open_connection() as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with pytest.raises(RuntimeError), backend.write() as tx:
            tx.insert("settings", {"name": "a", "value": "1"})
            raise RuntimeError("roll back")
        with backend.write() as tx:
            tx.insert("settings", {"name": "b", "value": "2"})
        payloads = next((mine for n in listener.notifies(timeout=2.0) if (mine := _own(backend, [n]))), [])
        assert payloads == [f"{backend.schema}:1"]
        assert _own(backend, listener.notifies(timeout=0.2)) == []  # the rolled-back write sent nothing
    with backend.read() as tx:
        assert [r["name"] for r in tx.select("settings")] == ["b"]
    assert backend.generation() == 1


def test_read_is_one_snapshot(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    reader, writer = pg_backend_factory(), pg_backend_factory()
    with reader.read() as tx:
        assert tx.select("settings") == []
        with writer.write() as wtx:
            wtx.insert("settings", {"name": "late", "value": "x"})
        assert tx.select("settings") == []  # committed after the snapshot: not seen
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            tx.insert("settings", {"name": "nope", "value": "x"})
    with reader.read() as tx:
        assert [r["name"] for r in tx.select("settings")] == ["late"]


def test_writes_see_what_earlier_writers_committed(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    one, two = pg_backend_factory(), pg_backend_factory()
    with one.write() as tx:
        tx.insert("settings", {"name": "k", "value": "1"})
    with two.write() as tx:
        row = tx.get("settings", {"name": "k"})
        assert row == {"name": "k", "value": "1"}
        tx.update("settings", {"name": "k"}, {"value": "2"})
    assert one.generation() == two.generation() == 2


# ---------------------------------------------------------------- URLs and errors


def test_open_store_with_a_schema_url(pg_url: str) -> None:
    store = open_store(pg_url, create=True, account_id=ACCOUNT, secret_box=BOX)
    try:
        assert isinstance(store.backend, PostgresBackend)
        assert store.backend.schema == pg_url.rsplit("schema=", 1)[1]
        store.create_user("alice")
        assert [u.name for u in store.list_users()] == ["alice"]
        generation = store.generation()
    finally:
        store.backend.close()
    backend = open_backend(pg_url)
    assert isinstance(backend, PostgresBackend) and backend.generation() == generation
    backend.close()


def test_the_schema_keyword_overrides_the_url(pg_schemas: SchemaFactory) -> None:
    name = pg_schemas.new()
    backend = PostgresBackend(pg_schemas.url_for("ignored_schema"), schema=name, create=True)
    try:
        assert backend.schema == name
        with backend.open_connection() as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
        assert row == (name,)
    finally:
        backend.close()
        pg_schemas.drop(name)


@pytest.mark.parametrize("schema", ["Upper", "1digit", "with-dash", "a" * 64, "x;drop", ""])
def test_bad_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(InvalidInputError):
        PostgresBackend("postgresql://postgres@127.0.0.1:1/test", schema=schema)


def test_unreachable_server_is_store_unavailable_without_the_password() -> None:
    url = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/iam?schema=tenant"
    with pytest.raises(StoreUnavailableError) as caught:
        PostgresBackend(url, create=True, connect_timeout=2)
    message = str(caught.value)
    assert "s3cr3t-pw" not in message and "s3cr3t-pw" not in repr(caught.value.__cause__)
    assert "alice@127.0.0.1:1/iam" in message and "tenant" in message


def test_unknown_database_is_store_unavailable(pg_schemas: SchemaFactory) -> None:
    url = pg_schemas.url.rsplit("/", 1)[0] + "/iamguard_no_such_database"
    with pytest.raises(StoreUnavailableError, match="iamguard_no_such_database"):
        PostgresBackend(url, create=True)


def test_closed_backend_is_store_unavailable(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    backend = pg_backend_factory()
    backend.close()
    backend.close()  # idempotent
    with pytest.raises(StoreUnavailableError, match="closed"):
        backend.generation()
    with pytest.raises(StoreUnavailableError), backend.read():
        pass


def test_a_killed_connection_mid_transaction_is_store_unavailable(
    pg_backend_factory: Callable[[], PostgresBackend],
) -> None:
    backend = pg_backend_factory()
    before = backend.generation()
    with pytest.raises(StoreUnavailableError, match="lost the transaction"), backend.write() as tx:
        pid = tx._cursor.connection.info.backend_pid  # type: ignore[attr-defined]
        with backend.open_connection() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        tx.select("settings")
    # The pool replaces the dead connection; the aborted write changed nothing.
    assert backend.generation() == before


# ---------------------------------------------------------------- unversioned writes


def test_access_activity_writes_neither_bump_nor_notify(
    pg_backend_factory: Callable[[], PostgresBackend],
) -> None:
    """Activity changes no decision, so recording it must not empty other processes' caches."""
    import datetime as dt

    from iamguard.store.service import AccessActivity

    backend = pg_backend_factory()
    store = _service(backend)
    store.create_user("bob")
    arn = f"arn:aws:iam::{ACCOUNT}:user/bob"
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    before = store.generation()
    with backend.open_connection() as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        store.record_access_activity([AccessActivity(at, arn, "s3", "s3:GetObject", count=2)])
        store.record_access_activity([AccessActivity(at - dt.timedelta(days=1), arn, "s3", "s3:Old")])
        assert _own(backend, listener.notifies(timeout=0.3)) == []
    assert store.generation() == before
    [entry] = store.get_service_last_accessed(arn)
    assert (entry.last_action, entry.total_requests, entry.last_authenticated) == ("s3:GetObject", 3, at)


def test_unversioned_writes_wait_for_the_writer_lock(
    pg_backend_factory: Callable[[], PostgresBackend],
) -> None:
    """write_unversioned() queues behind an open write(), so counters are never lost."""
    holder, other = pg_backend_factory(), pg_backend_factory()
    done = threading.Event()

    def activity() -> None:
        with other.write_unversioned() as tx:
            tx.insert("settings", {"name": "after", "value": "x"})
        done.set()

    with holder.write() as tx:
        tx.insert("settings", {"name": "first", "value": "x"})
        thread = threading.Thread(target=activity)
        thread.start()
        assert not done.wait(0.3)  # blocked on the generation row lock
    thread.join(WAIT)
    assert done.is_set() and holder.generation() == 1
    with holder.read() as tx:
        assert [r["name"] for r in tx.select("settings")] == ["after", "first"]


def test_filter_indexes_exist(pg_backend_factory: Callable[[], PostgresBackend]) -> None:
    backend = pg_backend_factory()
    with backend.open_connection() as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE %s",
            ("iamguard_%_by_%",),
        ).fetchall()
    assert {"iamguard_users_by_boundary", "iamguard_roles_by_boundary", "iamguard_mfa_devices_by_user"} <= {
        r[0] for r in rows
    }


# ---------------------------------------------------------------- generation served by the feed


@pytest.fixture
def feed_backend(pg_url: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend(
        pg_url, create=True, max_connections=4, connect_timeout=5, generation_from_feed=True
    )
    yield backend
    backend.close()


def _no_queries(backend: PostgresBackend) -> None:
    def refuse() -> int:
        raise AssertionError("generation() queried the server while the feed was healthy")

    backend._query_generation = refuse  # type: ignore[method-assign]


def test_feed_generation_counts_own_writes_at_once_without_a_query(feed_backend: PostgresBackend) -> None:
    store = _service(feed_backend)
    store.create_user("alice")
    before = feed_backend.generation()
    _no_queries(feed_backend)
    store.create_user("bob")  # no waiting for the NOTIFY: this process's own write counts at once
    assert feed_backend.generation() == before + 1
    assert store.resolve_principal(f"arn:aws:iam::{ACCOUNT}:user/bob") is not None


def test_feed_generation_hears_another_processes_write(
    feed_backend: PostgresBackend, pg_backend_factory: Callable[[], PostgresBackend]
) -> None:
    reader, writer = _service(feed_backend), _service(pg_backend_factory())
    writer.create_user("alice")
    policy = writer.create_policy("p", doc())
    writer.attach_user_policy("alice", policy.arn)
    arn = f"arn:aws:iam::{ACCOUNT}:user/alice"
    _wait_until(lambda: feed_backend.generation() == writer.generation(), "the feed saw the setup")
    resolved = reader.resolve_principal(arn)
    assert resolved is not None and len(resolved.identity) == 1
    _no_queries(feed_backend)
    writer.detach_policy(PrincipalKind.USER, "alice", policy.arn)
    _wait_until(lambda: len(reader.resolve_principal(arn).identity) == 0, "the detach reached the reader")  # type: ignore[union-attr]


def test_feed_generation_queries_when_the_feed_is_not_listening(
    feed_backend: PostgresBackend, pg_backend_factory: Callable[[], PostgresBackend]
) -> None:
    feed = feed_backend.change_feed
    assert feed is not None and feed.confirmed_within(1.0)
    feed.close()
    assert not feed.confirmed_within(1.0)
    writer = pg_backend_factory()
    with writer.write() as tx:
        tx.insert("settings", {"name": "k", "value": "v"})
    assert feed_backend.generation() == writer.generation()  # read from the row, not the dead feed


def test_feed_staleness_must_be_positive(pg_url: str) -> None:
    with pytest.raises(InvalidInputError):
        PostgresBackend(pg_url, create=True, generation_from_feed=True, feed_staleness=0)
