"""Stage 6, the record: who did what, allowed or not, and why — without slowing the request.

authenticate → principal → resolve policies → evaluate → decide → enforce/**audit**

* :class:`AuditSink` is the plug-in point: ``record(event)`` must return at once.
* :class:`LoggingAuditSink` hands events to :mod:`logging` (whose handlers the app configures).
* :class:`JsonLinesAuditSink` appends one JSON object per line to a file from a background
  thread; the request path only puts the event on a bounded queue and, when the queue is full,
  counts the event as dropped rather than wait.
* :class:`AccessTracker` batches what AWS shows as access-key "last used" and access-advisor
  "last accessed" data and flushes it to the store off the hot path
  (:meth:`IdentityService.record_access_activity`, a write that does not bump the generation).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Protocol

from iamguard.decision import Decision
from iamguard.store.service import AccessActivity

__all__ = ["AccessTracker", "AuditEvent", "AuditSink", "JsonLinesAuditSink", "LoggingAuditSink"]

_log = logging.getLogger("iamguard.audit")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One authorization decision as the audit trail keeps it. Never holds a secret."""

    time: float  # Unix seconds
    request_id: str
    principal: str  # the caller's ARN ("*" for anonymous)
    action: str
    resource: str
    decision: str  # "allowed" | "explicitDeny" | "implicitDeny"
    matched_statements: tuple[str, ...]  # "policy-name#index[:sid]"
    source_ip: str | None
    latency_us: int
    access_key_id: str | None = None
    authentication: str = ""  # "sigv4" | "bearer" | "anonymous" | "explicit"

    @classmethod
    def of(
        cls,
        decision: Decision,
        *,
        principal: str,
        request_id: str,
        source_ip: str | None,
        started: float,
        access_key_id: str | None = None,
        authentication: str = "",
    ) -> AuditEvent:
        """The event for ``decision``; ``started`` is the ``time.perf_counter()`` at request start."""
        matched = tuple(
            f"{m.policy_name}#{m.statement_index}" + (f":{m.sid}" if m.sid else "") for m in decision.matched
        )
        return cls(
            time=time.time(),
            request_id=request_id,
            principal=principal,
            action=decision.action,
            resource=decision.resource,
            decision=decision.kind.value,
            matched_statements=matched,
            source_ip=source_ip,
            latency_us=int((time.perf_counter() - started) * 1_000_000),
            access_key_id=access_key_id,
            authentication=authentication,
        )

    def to_json(self) -> dict[str, Any]:
        """The event as one JSON object, with camelCase keys and an ISO 8601 UTC ``eventTime``."""
        stamp = datetime.fromtimestamp(self.time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            "eventTime": stamp,
            "requestId": self.request_id,
            "principal": self.principal,
            "accessKeyId": self.access_key_id,
            "authentication": self.authentication,
            "action": self.action,
            "resource": self.resource,
            "decision": self.decision,
            "matchedStatements": list(self.matched_statements),
            "sourceIp": self.source_ip,
            "latencyMicros": self.latency_us,
        }


class AuditSink(Protocol):
    """Receives every decision; ``record`` must not block the request path."""

    def record(self, event: AuditEvent) -> None:
        """Take one event; must return at once (queue it, never wait on I/O)."""


class LoggingAuditSink:
    """Logs each event as one JSON line on ``logger`` (``iamguard.audit`` by default).

    Allowed requests log at ``allowed_level`` (INFO), denied ones at ``denied_level`` (WARNING).
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        allowed_level: int = logging.INFO,
        denied_level: int = logging.WARNING,
    ) -> None:
        self._logger = logger or _log
        self._levels = (allowed_level, denied_level)

    def record(self, event: AuditEvent) -> None:
        """Log ``event`` as one JSON line, at the level for its decision."""
        level = self._levels[0] if event.decision == "allowed" else self._levels[1]
        if self._logger.isEnabledFor(level):
            self._logger.log(level, "%s", json.dumps(event.to_json(), separators=(",", ":")))


class JsonLinesAuditSink:
    """Appends events as JSON lines to ``path`` from a daemon thread; never blocks ``record``.

    ``maxsize`` bounds the queue; events arriving while it is full are counted in
    :attr:`dropped` (and logged once per burst) instead of waiting. :meth:`close` drains the
    queue and closes the file; :meth:`flush` waits until everything queued so far is written.
    """

    _STOP = object()

    def __init__(self, path: str | Path, *, maxsize: int = 10000) -> None:
        self.path = Path(path)
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - owned by the thread
        self._thread = threading.Thread(target=self._run, name="iamguard-audit-jsonl", daemon=True)
        self._closed = False
        self._thread.start()

    def record(self, event: AuditEvent) -> None:
        """Queue ``event`` for the writer thread; counts it in :attr:`dropped` if the queue is full."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            if self.dropped == 0:
                _log.warning("audit queue full; dropping events (is %s writable and fast?)", self.path)
            self.dropped += 1

    def flush(self, timeout: float = 5.0) -> None:
        """Block until every event recorded before this call is on disk (or ``timeout``)."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return
        done.wait(timeout)

    def close(self) -> None:
        """Write everything still queued, stop the writer thread and close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(self._STOP)
        self._thread.join()
        self._file.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            lines: list[str] = []
            markers: list[threading.Event] = []
            stop = False
            while True:
                if item is self._STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
                elif isinstance(item, AuditEvent):
                    lines.append(json.dumps(item.to_json(), separators=(",", ":")) + "\n")
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._write(lines)
            for marker in markers:
                marker.set()
            if stop:
                return

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self._file.writelines(lines)
            self._file.flush()
        except OSError as exc:  # keep serving requests; the operator sees the log
            _log.error("cannot write audit events to %s: %s", self.path, exc)


class ActivityStore(Protocol):
    """The store write the tracker needs (``IdentityService`` has it)."""

    def record_access_activity(self, batch: list[AccessActivity]) -> None:
        """Store a batch of last-used and last-accessed records (a write that bumps no generation)."""


class AccessTracker:
    """Batches access-key last-used and per-service last-accessed data; flushes it off the hot path.

    :meth:`note` is a dict update under a lock. A daemon thread flushes every ``interval``
    seconds (``interval=None``: only explicit :meth:`flush` calls, for tests and short scripts).
    A failed flush is logged and its batch dropped: activity data is advisory.
    """

    def __init__(
        self,
        store: ActivityStore,
        *,
        interval: float | None = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str | None], AccessActivity] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if interval is not None:
            self._thread = threading.Thread(
                target=self._run, args=(interval,), name="iamguard-access-tracker", daemon=True
            )
            self._thread.start()

    def note(
        self,
        *,
        entity_arn: str,
        action: str,
        region: str = "",
        access_key_id: str | None = None,
        authenticated_entity: str = "",
    ) -> None:
        """Remember one allowed request by ``entity_arn`` (the stored user or role)."""
        service = action.split(":", 1)[0].lower()
        at = datetime.fromtimestamp(self._clock(), timezone.utc)
        key = (entity_arn, service, access_key_id)
        with self._lock:
            previous = self._pending.get(key)
            count = 1 if previous is None else previous.count + 1
            self._pending[key] = AccessActivity(
                at, entity_arn, service, action, region, access_key_id, authenticated_entity, count
            )

    def flush(self) -> int:
        """Write everything noted so far; how many entries were written."""
        with self._lock:
            batch, self._pending = list(self._pending.values()), {}
        if not batch:
            return 0
        try:
            self._store.record_access_activity(batch)
        except Exception as exc:
            _log.warning("cannot record access activity (%d entries dropped): %s", len(batch), exc)
            return 0
        return len(batch)

    def close(self) -> None:
        """Stop the thread and flush what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()
