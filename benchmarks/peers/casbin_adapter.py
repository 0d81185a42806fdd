"""pycasbin, with a deny-override model and one policy line per (action, resource) pair.

Model: request ``(sub, act, obj[, ctx])``, policy ``(sub, act, obj[, cond], eft)``, effect
``some(where (p.eft == allow)) && !some(where (p.eft == deny))`` (IAM's "an explicit deny
wins"). IAM wildcards become anchored patterns for casbin's built-in ``regexMatch`` (actions
case-insensitive, as in IAM). Conditions use casbin's ABAC ``eval(p.cond)`` with the built-in
``ipMatch``; ``DateLessThan`` compares the ISO-8601 UTC strings, which orders correctly for the
uniform ``YYYY-MM-DDTHH:MM:SSZ`` form used here. Workloads without conditions get the model
without ``eval`` (cheaper, so casbin is shown at its best).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from benchmarks.peers.base import DENIED, Prepared, Stmt, Unsupported, statements, wildcard_regex
from benchmarks.workloads import ALLOWED, Workload

_EFFECT = "some(where (p.eft == allow)) && !some(where (p.eft == deny))"


def _cond(stmt: Stmt) -> str:
    parts = []
    for operator, key, values in stmt.conditions:
        ref = f"r.ctx[{key!r}]"
        if operator == "StringEquals":
            tests = [f"{ref} == {v!r}" for v in values]
        elif operator == "IpAddress":
            tests = [f"ipMatch({ref}, {v!r})" for v in values]
        elif operator == "DateLessThan":
            tests = [f"{ref} < {v!r}" for v in values]
        elif operator == "Bool":
            tests = [f"{ref} == {v.lower()!r}" for v in values]
        else:
            raise Unsupported(f"operator {operator}")
        parts.append(f"({key!r} in r.ctx && ({' || '.join(tests)}))")
    return " && ".join(parts) if parts else "True"


def _outcome(result: object) -> str:
    return ALLOWED if result else DENIED


class CasbinAdapter:
    name = "casbin"

    def __init__(self) -> None:
        import casbin

        self._casbin = casbin
        # casbin logs every denied request at WARNING; silence it so output is not the cost.
        logging.getLogger("casbin").setLevel(logging.CRITICAL)
        logging.getLogger("casbin.policy").setLevel(logging.CRITICAL)
        logging.getLogger("casbin.enforcer").setLevel(logging.CRITICAL)

    def version(self) -> str:
        from importlib.metadata import version

        return version("casbin")

    def prepare(self, workload: Workload) -> Prepared:
        casbin = self._casbin
        abac = workload.has_conditions
        model = casbin.model.Model()
        if abac:
            model.add_def("r", "r", "sub, act, obj, ctx")
            model.add_def("p", "p", "sub, act, obj, cond, eft")
            matcher = "r.sub == p.sub && regexMatch(r.act, p.act) && regexMatch(r.obj, p.obj) && eval(p.cond)"
        else:
            model.add_def("r", "r", "sub, act, obj")
            model.add_def("p", "p", "sub, act, obj, eft")
            matcher = "r.sub == p.sub && regexMatch(r.act, p.act) && regexMatch(r.obj, p.obj)"
        model.add_def("e", "e", _EFFECT)
        model.add_def("m", "m", matcher)
        enforcer = casbin.Enforcer(model)
        enforcer.logger.setLevel(logging.CRITICAL)
        sub = workload.principal_arn
        rules: list[list[str]] = []
        for stmt in statements(workload):
            eft = "allow" if stmt.allow else "deny"
            cond = _cond(stmt)
            for action in stmt.actions:
                for resource in stmt.resources:
                    act, obj = wildcard_regex(action, ignore_case=True), wildcard_regex(resource)
                    rules.append([sub, act, obj, cond, eft] if abac else [sub, act, obj, eft])
        enforcer.add_policies(rules)
        calls: list[Callable[[], object]] = []
        for request in workload.requests:
            args: tuple[object, ...] = (sub, request.action, request.resource)
            if abac:
                args += (dict(request.context),)
            calls.append(partial(enforcer.enforce, *args))
        return Prepared(calls, _outcome, note="allow/deny only")
