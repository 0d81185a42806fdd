"""cedarpy (Python bindings of AWS's Cedar, evaluated in Rust).

Each IAM statement becomes one Cedar policy. Exact actions and resources go into the policy
scope (``action in [...]``, ``resource == ...``); IAM wildcards become ``like`` tests on the
action/resource strings passed in the context (Cedar entity ids have no wildcards); condition
operators map to Cedar's own: ``==`` on strings, ``ip(...).isInRange``, ``datetime`` ``<`` and
booleans. Conditions on a key the request lacks are guarded with ``has`` so they are false,
as in IAM. The policies and the (empty) entity set are parsed once into reusable handles and
the context is serialized once, so each call pays only for Cedar's own evaluation and binding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from benchmarks.peers.base import Prepared, Stmt, Unsupported, has_wildcard, statements, three_valued
from benchmarks.workloads import Workload

_KEY_TYPES = {"StringEquals": "string", "IpAddress": "ip", "DateLessThan": "datetime", "Bool": "bool"}


def _str(text: str) -> str:
    return json.dumps(text)


def _like(text: str) -> str:
    if "?" in text:
        raise Unsupported("Cedar's like has no single-character wildcard")
    body = json.dumps(text.replace("*", "\u0000"))[1:-1]
    return '"' + body.replace("\\u0000", "*") + '"'


def _match_clause(var: str, entity_type: str, patterns: list[str]) -> tuple[str, str]:
    """(scope text, condition text) for Action/Resource values."""
    if "*" in patterns:
        return var, ""
    exact = [p for p in patterns if not has_wildcard(p)]
    wild = [p for p in patterns if has_wildcard(p)]
    if not wild:
        if len(exact) == 1:
            return f"{var} == {entity_type}::{_str(exact[0])}", ""
        if var == "action":
            return "action in [" + ", ".join(f"Action::{_str(a)}" for a in exact) + "]", ""
    tests = [f"{var} == {entity_type}::{_str(p)}" for p in exact]
    tests += [f"context.{var} like {_like(p)}" for p in wild]
    return var, "(" + " || ".join(tests) + ")"


def _condition(operator: str, key: str, values: list[str]) -> str:
    ref = f"context[{_str(key)}]"
    if operator == "StringEquals":
        tests = [f"{ref} == {_str(v)}" for v in values]
    elif operator == "IpAddress":
        tests = [f"{ref}.isInRange(ip({_str(v)}))" for v in values]
    elif operator == "DateLessThan":
        tests = [f"{ref} < datetime({_str(v)})" for v in values]
    elif operator == "Bool":
        tests = [f"{ref} == {'true' if v.lower() == 'true' else 'false'}" for v in values]
    else:
        raise Unsupported(f"operator {operator}")
    return f"(context has {_str(key)} && ({' || '.join(tests)}))"


def policy_text(stmt: Stmt, principal: str) -> str:
    action_scope, action_test = _match_clause("action", "Action", [a.lower() for a in stmt.actions])
    resource_scope, resource_test = _match_clause("resource", "Resource", stmt.resources)
    tests = [t for t in (action_test, resource_test) if t]
    tests += [_condition(op, key, values) for op, key, values in stmt.conditions]
    effect = "permit" if stmt.allow else "forbid"
    head = f"{effect}(principal == User::{_str(principal)}, {action_scope}, {resource_scope})"
    return head + (" when { " + " && ".join(tests) + " }" if tests else "") + ";"


def _context_value(kind: str, value: str) -> object:
    if kind == "ip":
        return {"__extn": {"fn": "ip", "arg": value}}
    if kind == "datetime":
        return {"__extn": {"fn": "datetime", "arg": value}}
    if kind == "bool":
        return value.lower() == "true"
    return value


def _outcome(result: object) -> str:
    allowed = bool(result.allowed)  # type: ignore[attr-defined]
    return three_valued(allowed, not allowed and bool(result.diagnostics.reasons))  # type: ignore[attr-defined]


class CedarpyAdapter:
    name = "cedarpy"

    def __init__(self) -> None:
        import cedarpy

        self._cedarpy = cedarpy

    def version(self) -> str:
        from importlib.metadata import version

        return version("cedarpy")

    def prepare(self, workload: Workload) -> Prepared:
        cedarpy = self._cedarpy
        stmts = list(statements(workload))
        key_types: dict[str, str] = {}
        for stmt in stmts:
            for operator, key, _values in stmt.conditions:
                if operator not in _KEY_TYPES:
                    raise Unsupported(f"operator {operator}")
                key_types[key] = _KEY_TYPES[operator]
        principal = workload.principal_arn
        policy_set = cedarpy.PolicySet.from_str("\n".join(policy_text(s, principal) for s in stmts))
        entities = cedarpy.Entities.from_json_str("[]")
        calls: list[Callable[[], object]] = []
        for request in workload.requests:
            context: dict[str, object] = {"action": request.action.lower(), "resource": request.resource}
            for key, value in request.context.items():
                context[key] = _context_value(key_types.get(key, "string"), value)
            # The structured {"type", "id"} form skips Cedar's surface-syntax parse of each UID
            # (measured ~35% faster per call than 'User::"..."' strings): cedarpy at its best.
            cedar_request = {
                "principal": {"type": "User", "id": principal},
                "action": {"type": "Action", "id": request.action.lower()},
                "resource": {"type": "Resource", "id": request.resource},
                "context": json.dumps(context),
            }
            calls.append(partial(cedarpy.is_authorized, cedar_request, policy_set, entities))
        return Prepared(calls, _outcome)
