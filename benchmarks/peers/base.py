"""What every adapter provides, and helpers to read the IAM JSON the workloads are written in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from benchmarks.workloads import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Workload

#: Outcome of a library that answers only allow/deny (it cannot tell explicit from implicit).
DENIED = "denied"


class Unsupported(Exception):
    """The library cannot express this workload faithfully; the table shows "–"."""


@dataclass(frozen=True)
class Prepared:
    """A workload translated into one library, ready to be timed.

    ``calls[i]`` answers ``workload.requests[i]`` with the library's ordinary decision call,
    every argument built in advance, so timing measures the library and nothing else.
    ``outcome`` maps its return value to ``allowed`` / ``explicitDeny`` / ``implicitDeny``
    (or ``denied`` for a library that only says yes or no).
    """

    calls: list[Callable[[], object]]
    outcome: Callable[[object], str]
    note: str = ""


class Adapter(Protocol):
    name: str

    def version(self) -> str: ...

    def prepare(self, workload: Workload) -> Prepared: ...


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Stmt:
    """One IAM statement in the subset the workloads use, with list-valued elements."""

    sid: str
    allow: bool
    actions: list[str]
    resources: list[str]
    conditions: list[tuple[str, str, list[str]]]  # (operator, key, values)


def statements(workload: Workload) -> Iterator[Stmt]:
    """Every statement of the workload in document order, refusing what we do not translate."""
    for p, doc in enumerate(workload.policies):
        for s, raw in enumerate(doc["Statement"]):
            unknown = set(raw) - {"Effect", "Action", "Resource", "Condition", "Sid"}
            if unknown:
                raise Unsupported(f"statement elements {sorted(unknown)} are not translated")
            conditions = [
                (op, key, as_list(values))
                for op, block in raw.get("Condition", {}).items()
                for key, values in block.items()
            ]
            yield Stmt(
                f"p{p}s{s}",
                raw["Effect"] == "Allow",
                as_list(raw["Action"]),
                as_list(raw["Resource"]),
                conditions,
            )


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def wildcard_regex(pattern: str, *, ignore_case: bool = False) -> str:
    """An anchored regular expression for an IAM wildcard: ``*`` any run, ``?`` one character."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return ("(?is)" if ignore_case else "(?s)") + "^" + body + "$"


def three_valued(allowed: bool, explicit: bool) -> str:
    if allowed:
        return ALLOWED
    return EXPLICIT_DENY if explicit else IMPLICIT_DENY
