"""The store's change feed: tells a process, within a fraction of a second, that another process
(or thread) committed a write, so it drops decisions cached from older data.

Part of ``store/``. Every committed write bumps the store generation (see ``_sql`` and each
backend's ``write()``), so "something changed" is "the generation is not what I last saw".

How the pieces use it (why a revocation -- a detached policy, a deactivated access key, a
deleted user, a changed trust policy -- takes effect in every process within one second):

1. **Pull path, always consistent.** ``IdentityService.resolve_principal`` compares each cached
   :class:`~iamguard.store.records.ResolvedPrincipal` with ``backend.generation()`` on every
   call and re-reads when they differ; ``get_access_key`` reads the store every time. The
   ``PolicySet`` built from a resolved principal carries that generation, and
   :class:`~iamguard.evaluate.cached.CachedEvaluator` puts it in every cache key, so a decision
   cached before a write can never be returned after it. No feed is needed on this path.
2. **Push path, for consumers that do not ask the store on every request.** A process that
   memoizes resolved principals, keys or whole decisions *without* re-reading the generation per
   request (to save the round trip) subscribes to a :class:`ChangeFeed`: its callback runs on the
   feed's thread when the generation moves and clears those memos
   (:func:`clear_on_change` does exactly this for anything with a ``clear()`` method, such as a
   ``CachedEvaluator``). :meth:`ChangeFeed.current` is the cheap, in-memory generation to key
   such memos by: read it *before* loading a value and store the value under it, so a change
   that lands during the load leaves the value filed under the old generation, never reused
   (clearing alone would race with a load in flight). :meth:`ChangeFeed.wait_for_change` serves
   long-poll style consumers. ``tests/store/procs/decider.py`` is a worked example.

Feeds by backend (:func:`open_change_feed` picks one):

* :class:`PollingChangeFeed` -- SQLite and memory: a daemon thread reads the generation row
  every ``interval`` seconds (default 0.2 s: one primary-key read, so cheap even on a shared file).
* :class:`PostgresChangeFeed` -- ``LISTEN iamguard_generation`` on a dedicated connection; the
  backend sends ``pg_notify`` in the same transaction as the bump, delivered only on commit.
  A slow poll (default every 5 s) and a re-read after every reconnect cover notifications lost
  while the connection was down. https://www.postgresql.org/docs/current/sql-listen.html

Callbacks run on the feed's thread, one at a time and in order; an exception in one is logged and
does not stop the feed. Generations are reported as seen: a feed never invents intermediate
values (several quick writes may arrive as one change).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from iamguard.errors import InvalidParameterError, StoreError

if TYPE_CHECKING:
    from iamguard.store.postgres import PostgresBackend

__all__ = [
    "ChangeFeed",
    "Clearable",
    "GenerationSource",
    "PollingChangeFeed",
    "PostgresChangeFeed",
    "Unsubscribe",
    "clear_on_change",
    "open_change_feed",
]

_log = logging.getLogger("iamguard.store.feed")

#: Calling it removes the subscription (idempotent).
Unsubscribe = Callable[[], None]


@runtime_checkable
class ChangeFeed(Protocol):
    """Announces new store generations to the process that holds it."""

    def current(self) -> int:
        """The newest generation this feed has seen (no I/O)."""
        ...

    def wait_for_change(self, after: int, timeout: float) -> int:
        """Block until the generation differs from ``after`` or ``timeout`` seconds pass; the
        generation then current (equal to ``after`` on timeout)."""
        ...

    def subscribe(self, callback: Callable[[int], None]) -> Unsubscribe:
        """Call ``callback(generation)`` on the feed's thread after each change."""
        ...

    def close(self) -> None:
        """Stop the background thread and release its connection."""
        ...


class GenerationSource(Protocol):
    """Anything with the store's ``generation()``: a backend or an ``IdentityService``."""

    def generation(self) -> int: ...


class Clearable(Protocol):
    def clear(self) -> None: ...


class _Feed:
    """The state every feed shares: last generation, waiters, subscribers, the thread."""

    def __init__(self, initial: int, name: str) -> None:
        self._value = initial
        self._changed = threading.Condition()
        self._callbacks: dict[int, Callable[[int], None]] = {}
        self._next_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def current(self) -> int:
        return self._value

    def wait_for_change(self, after: int, timeout: float) -> int:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._changed:
            while self._value == after and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._value

    def subscribe(self, callback: Callable[[int], None]) -> Unsubscribe:
        with self._changed:
            token = self._next_id
            self._next_id += 1
            self._callbacks[token] = callback

        def unsubscribe() -> None:
            with self._changed:
                self._callbacks.pop(token, None)

        return unsubscribe

    def close(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def _publish(self, generation: int) -> None:
        """Record ``generation``; wake waiters and run callbacks if it is new."""
        with self._changed:
            if generation == self._value:
                return
            self._value = generation
            self._changed.notify_all()
            callbacks = list(self._callbacks.values())
        for callback in callbacks:
            try:
                callback(generation)
            except Exception:
                _log.exception("change feed subscriber %r failed", callback)

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class PollingChangeFeed(_Feed):
    """A feed that reads ``source.generation()`` every ``interval`` seconds on a daemon thread.

    For SQLite (a primary-key read on a WAL database does not block writers) and the memory
    backend. Store errors while polling are logged and retried at the next tick.
    """

    def __init__(self, source: GenerationSource, *, interval: float = 0.2) -> None:
        if interval <= 0:
            raise InvalidParameterError("the polling interval must be positive")
        super().__init__(source.generation(), "iamguard-change-feed-poll")
        self._source = source
        self.interval = interval
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                generation = self._source.generation()
            except StoreError as exc:
                _log.warning("change feed: cannot read the store generation: %s", exc)
                continue
            self._publish(generation)


class PostgresChangeFeed(_Feed):
    """``LISTEN`` on a dedicated connection, plus a slow poll (``fallback_interval`` seconds).

    After the connection breaks it reconnects every ``reconnect_delay`` seconds and re-reads the
    generation at once, so a write committed while it was away is still reported. ``tick`` bounds
    how long a ``close()`` waits for the thread.
    """

    def __init__(
        self,
        backend: PostgresBackend,
        *,
        fallback_interval: float = 5.0,
        reconnect_delay: float = 1.0,
        tick: float = 0.25,
    ) -> None:
        super().__init__(backend.generation(), "iamguard-change-feed-listen")
        self._backend = backend
        self.fallback_interval = fallback_interval
        self._reconnect_delay = reconnect_delay
        self._tick = tick
        self._conn: Any = None
        self._prefix = ""
        self._listening = threading.Event()
        self._confirmed_at = float("-inf")  # monotonic time of the last successful poll
        self._connect()
        # INVARIANT: LISTEN is active before this re-read, so a write committed after the first
        # generation() above is either seen here or notified; none falls in between.
        self._poll()
        self._thread.start()

    @property
    def listening(self) -> bool:
        """Whether the feed currently holds a connection with ``LISTEN`` active."""
        return self._listening.is_set()

    def confirmed_within(self, seconds: float) -> bool:
        """Whether the feed is listening and read the generation row itself in the last
        ``seconds`` (so a connection that died silently soon stops counting as healthy)."""
        return self._listening.is_set() and time.monotonic() - self._confirmed_at <= seconds

    def close(self) -> None:
        super().close()
        self._drop_connection()

    def _connect(self) -> None:
        from iamguard.store.postgres import CHANNEL

        conn = self._backend.open_connection(application_name="iamguard-change-feed")
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            row = conn.execute("SELECT current_schema()").fetchone()
        except Exception:
            conn.close()
            raise
        self._prefix = f"{row[0] if row else ''}:"
        self._conn = conn
        self._listening.set()

    def _drop_connection(self) -> None:
        self._listening.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:
                _log.debug("change feed: closing the LISTEN connection failed: %s", exc)

    def _run(self) -> None:
        last_poll = time.monotonic()
        while not self._stop.is_set():
            try:
                if self._conn is None and not self._reconnect():
                    continue
                self._listen_once()
                if time.monotonic() - last_poll >= self.fallback_interval:
                    last_poll = time.monotonic()
                    self._poll()
            # Anything at all (not only psycopg errors): a feed thread that died would leave this
            # process serving stale decisions forever, so it logs, reconnects and re-reads.
            except Exception as exc:
                if self._stop.is_set():
                    return
                _log.warning("change feed: lost the PostgreSQL LISTEN connection: %s", exc)
                self._drop_connection()

    def _listen_once(self) -> None:
        """Publish our schema's notifications as they arrive, for up to ``tick`` seconds."""
        for notify in self._conn.notifies(timeout=self._tick):
            if not notify.payload.startswith(self._prefix):
                continue  # another schema in the same database
            try:
                generation = int(notify.payload[len(self._prefix) :])
            except ValueError:
                _log.warning("change feed: ignoring malformed notification %r", notify.payload)
                continue
            # A notification queued before a fallback poll can carry an older value; only polls
            # (which read the row itself) may move the generation backwards (a recreated store).
            if generation > self._value:
                self._publish(generation)
            if self._stop.is_set():
                return

    def _poll(self) -> None:
        from iamguard.store import _sql

        with self._conn.cursor() as cursor:
            self._publish(_sql.read_generation(cursor))
        self._confirmed_at = time.monotonic()

    def _reconnect(self) -> bool:
        if self._stop.wait(self._reconnect_delay):
            return False
        try:
            self._connect()
        except StoreError as exc:
            _log.warning("change feed: cannot reconnect to PostgreSQL: %s", exc)
            return False
        self._poll()  # notifications sent while we were away are gone; read the row instead
        return True


def open_change_feed(store: Any, *, interval: float | None = None) -> ChangeFeed:
    """The best feed for ``store`` (an ``IdentityService`` or a backend).

    PostgreSQL gets LISTEN/NOTIFY (``interval`` then sets its fallback poll, default 5 s); any
    other backend is polled every ``interval`` seconds (default 0.2 s).
    """
    backend = getattr(store, "backend", store)
    postgres = sys.modules.get("iamguard.store.postgres")  # not loaded: not a PostgreSQL store
    if postgres is not None and isinstance(backend, postgres.PostgresBackend):
        return PostgresChangeFeed(backend, fallback_interval=interval if interval is not None else 5.0)
    return PollingChangeFeed(backend, interval=interval if interval is not None else 0.2)


def clear_on_change(feed: ChangeFeed, *caches: Clearable) -> Unsubscribe:
    """Clear every one of ``caches`` whenever ``feed`` reports a new generation."""

    def clear(_generation: int) -> None:
        for cache in caches:
            cache.clear()

    return feed.subscribe(clear)
