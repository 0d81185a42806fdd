"""Reading the audit trail back: JSON-lines files written by ``JsonLinesAuditSink``, as events.

Part of ``analysis/``. Each line is one :meth:`AuditEvent.to_json` object (``eventTime``,
``requestId``, ``principal``, ``action``, ``resource``, ``decision``, ``matchedStatements``,
``sourceIp``, ``latencyMicros``, ``accessKeyId``, ``authentication``). The reader streams: a
file of a million events is never held in memory. A line that is not such an object is an error
naming the file and line, never skipped in silence (an analysis over a silently shortened log
would be wrong without saying so); blank lines are allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from iamguard.enforce.audit import AuditEvent
from iamguard.errors import InvalidParameterError

__all__ = ["EventSource", "caller_matcher", "event_from_json", "events_of", "read_audit_log"]

#: What the analyses accept as an audit trail: a JSON-lines file, or events already in memory.
EventSource = str | Path | Iterable[AuditEvent]

_DECISIONS = frozenset({"allowed", "explicitDeny", "implicitDeny"})


def read_audit_log(path: str | Path) -> Iterator[AuditEvent]:
    """The events of the JSON-lines audit file ``path``, in file order."""
    where = Path(path)
    with open(where, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield event_from_json(json.loads(line))
            except (ValueError, TypeError, KeyError) as exc:
                raise InvalidParameterError(f"{where}:{number}: not an audit record: {exc}") from None


def events_of(source: EventSource) -> Iterator[AuditEvent]:
    """Events from a file path or an iterable of :class:`AuditEvent` (checked, not converted)."""
    if isinstance(source, (str, Path)):
        yield from read_audit_log(source)
        return
    for event in source:
        if not isinstance(event, AuditEvent):
            raise InvalidParameterError(f"expected AuditEvent values, got {type(event).__name__}")
        yield event


def caller_matcher(principal_arn: str) -> Callable[[str], bool]:
    """Which logged caller ARNs are ``principal_arn``: for a role ARN (``arn:aws:iam::A:role/P/R``)
    also every session of the role (``arn:aws:sts::A:assumed-role/R/*``, which carries no path);
    any other ARN matches only itself."""
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise InvalidParameterError(f"not a principal ARN: {principal_arn!r}")
    if parts[2] == "iam" and parts[5].startswith("role/"):
        role_name = parts[5].rsplit("/", 1)[-1]
        session_prefix = f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role_name}/"
        return lambda caller: caller == principal_arn or caller.startswith(session_prefix)
    return lambda caller: caller == principal_arn


def event_from_json(record: Any) -> AuditEvent:
    """The :class:`AuditEvent` a :meth:`AuditEvent.to_json` object describes."""
    if not isinstance(record, dict):
        raise TypeError(f"expected a JSON object, got {type(record).__name__}")
    decision = _text(record, "decision")
    if decision not in _DECISIONS:
        raise InvalidParameterError(f"decision {decision!r} is not one of {sorted(_DECISIONS)}")
    matched = record.get("matchedStatements") or []
    if not isinstance(matched, list) or not all(isinstance(m, str) for m in matched):
        raise TypeError("matchedStatements must be a list of strings")
    return AuditEvent(
        time=_epoch(_text(record, "eventTime")),
        request_id=str(record.get("requestId") or ""),
        principal=_text(record, "principal"),
        action=_text(record, "action"),
        resource=_text(record, "resource"),
        decision=decision,
        matched_statements=tuple(matched),
        source_ip=_optional_text(record, "sourceIp"),
        latency_us=int(record.get("latencyMicros") or 0),
        access_key_id=_optional_text(record, "accessKeyId"),
        authentication=str(record.get("authentication") or ""),
    )


def _text(record: dict[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str) or not value:
        raise InvalidParameterError(f"{key} must be a non-empty string")
    return value


def _optional_text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string or null")
    return value


def _epoch(stamp: str) -> float:
    """Unix seconds of an ``eventTime`` (UTC with a ``Z``, as the sink writes it)."""
    if stamp.endswith("Z"):
        try:
            return datetime.fromisoformat(stamp[:-1] + "+00:00").timestamp()
        except ValueError:
            pass
    raise InvalidParameterError(
        f"eventTime {stamp!r} is not an ISO 8601 UTC time such as 2026-01-31T12:00:00.000000Z"
    )
