"""vakt: one rule-based ``vakt.Policy`` per IAM statement in a ``MemoryStorage``, asked through
``vakt.Guard`` with the ``RulesChecker``.

Exact actions become ``Equal(..., ci=True)`` (IAM action names are case-insensitive), exact
resources ``Eq``, wildcards anchored ``RegexMatch`` rules and ``*`` ``Any()``. Conditions become
context rules keyed by the IAM key name: ``Eq`` for ``StringEquals`` and ``Bool``, ``CIDR`` for
``IpAddress``, ``Less`` on the ISO-8601 UTC strings for ``DateLessThan``; several values are
``Or``-ed. vakt, like IAM, denies when any fitting policy denies and treats a missing context
key as "does not fit". The cached workload uses vakt's own ``create_cached_guard`` (an LRU
cache keyed by the inquiry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from benchmarks.peers.base import (
    DENIED,
    Prepared,
    Stmt,
    Unsupported,
    has_wildcard,
    statements,
    wildcard_regex,
)
from benchmarks.workloads import ALLOWED, Workload


def _outcome(result: object) -> str:
    return ALLOWED if result else DENIED


class VaktAdapter:
    name = "vakt"

    def __init__(self) -> None:
        import vakt

        self._vakt = vakt
        # vakt logs every decision and every policy added at INFO; silence it so logging is not
        # what gets measured.
        logging.getLogger("vakt").setLevel(logging.CRITICAL)

    def version(self) -> str:
        from importlib.metadata import version

        return version("vakt")

    def _policy(self, uid: str, stmt: Stmt, principal: str) -> object:
        vakt = self._vakt
        rules = vakt.rules

        def action_rule(pattern: str) -> object:
            if pattern == "*":
                return rules.Any()
            if has_wildcard(pattern):
                return rules.RegexMatch(wildcard_regex(pattern, ignore_case=True))
            return rules.string.Equal(pattern, ci=True)

        def resource_rule(pattern: str) -> object:
            if pattern == "*":
                return rules.Any()
            if has_wildcard(pattern):
                return rules.RegexMatch(wildcard_regex(pattern))
            return rules.Eq(pattern)

        context: dict[str, object] = {}
        for operator, key, values in stmt.conditions:
            if operator == "StringEquals":
                tests = [rules.Eq(v) for v in values]
            elif operator == "IpAddress":
                tests = [rules.CIDR(v) for v in values]
            elif operator == "DateLessThan":
                tests = [rules.Less(v) for v in values]
            elif operator == "Bool":
                tests = [rules.Eq(v.lower()) for v in values]
            else:
                raise Unsupported(f"operator {operator}")
            if key in context:
                raise Unsupported(f"two operators on key {key}")
            context[key] = tests[0] if len(tests) == 1 else rules.Or(*tests)
        return vakt.Policy(
            uid,
            subjects=[rules.Eq(principal)],
            effect=vakt.ALLOW_ACCESS if stmt.allow else vakt.DENY_ACCESS,
            resources=[resource_rule(r) for r in stmt.resources],
            actions=[action_rule(a) for a in stmt.actions],
            context=context,
        )

    def prepare(self, workload: Workload) -> Prepared:
        vakt = self._vakt
        storage = vakt.MemoryStorage()
        if workload.cached:
            guard, storage, _cache = vakt.create_cached_guard(storage, vakt.RulesChecker(), maxsize=65536)
        else:
            guard = vakt.Guard(storage, vakt.RulesChecker())
        bool_keys: set[str] = set()
        for stmt in statements(workload):
            storage.add(self._policy(stmt.sid, stmt, workload.principal_arn))
            bool_keys.update(key for operator, key, _values in stmt.conditions if operator == "Bool")
        calls: list[Callable[[], object]] = []
        for request in workload.requests:
            # IAM's Bool compares "true"/"false" case-insensitively; give vakt the canonical form.
            context = {
                key: (value.lower() if key in bool_keys else value) for key, value in request.context.items()
            }
            inquiry = vakt.Inquiry(
                subject=workload.principal_arn,
                action=request.action,
                resource=request.resource,
                context=context,
            )
            calls.append(partial(guard.is_allowed, inquiry))
        return Prepared(calls, _outcome, note="allow/deny only")
