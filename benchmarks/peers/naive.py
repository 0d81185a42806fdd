"""The floor: a plain Python loop over every statement, no index, no compilation, no cache.

Written here to show what a straightforward evaluator costs. Wildcards are matched with a
hand-written two-pointer algorithm (IAM's ``*`` and ``?`` only, no ``fnmatch`` classes);
conditions are parsed from their strings on every call.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Mapping
from functools import partial

from benchmarks.peers.base import Prepared, Stmt, Unsupported, statements, three_valued
from benchmarks.workloads import Workload


def wildcard_match(pattern: str, text: str) -> bool:
    """IAM wildcard match: ``*`` any run of characters, ``?`` exactly one."""
    p = t = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            p = star_p + 1
            star_t += 1
            t = star_t
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _date(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _string_equals(value: str, expected: str) -> bool:
    return value == expected


def _ip_address(value: str, expected: str) -> bool:
    return ipaddress.ip_address(value) in ipaddress.ip_network(expected, strict=False)


def _date_less_than(value: str, expected: str) -> bool:
    return _date(value) < _date(expected)


def _bool(value: str, expected: str) -> bool:
    return value.lower() == expected.lower()


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _string_equals,
    "IpAddress": _ip_address,
    "DateLessThan": _date_less_than,
    "Bool": _bool,
}


def _conditions_hold(stmt: Stmt, context: Mapping[str, str]) -> bool:
    for operator, key, values in stmt.conditions:
        value = context.get(key.lower())
        if value is None:
            return False
        test = OPERATORS[operator]
        if not any(test(value, expected) for expected in values):
            return False
    return True


def decide(stmts: list[Stmt], action: str, resource: str, context: Mapping[str, str]) -> str:
    """AWS order for identity policies: any matching Deny wins, then any matching Allow."""
    action = action.lower()
    allowed = False
    for stmt in stmts:
        if not any(wildcard_match(pattern, action) for pattern in stmt.actions):
            continue
        if not any(wildcard_match(pattern, resource) for pattern in stmt.resources):
            continue
        if stmt.conditions and not _conditions_hold(stmt, context):
            continue
        if not stmt.allow:
            return three_valued(False, True)
        allowed = True
    return three_valued(allowed, False)


class NaiveAdapter:
    name = "naive loop"

    def version(self) -> str:
        return "in-tree"

    def prepare(self, workload: Workload) -> Prepared:
        stmts = []
        for stmt in statements(workload):
            for operator, _key, _values in stmt.conditions:
                if operator not in OPERATORS:
                    raise Unsupported(f"operator {operator}")
            # Action names are case-insensitive in IAM; resources are not.
            stmts.append(
                Stmt(stmt.sid, stmt.allow, [a.lower() for a in stmt.actions], stmt.resources, stmt.conditions)
            )
        calls: list[Callable[[], object]] = []
        for request in workload.requests:
            context = {key.lower(): value for key, value in request.context.items()}
            calls.append(partial(decide, stmts, request.action, request.resource, context))
        return Prepared(calls, str)
