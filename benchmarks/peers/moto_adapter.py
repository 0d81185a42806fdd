"""moto's IAM policy evaluator (``moto.iam.access_control``), the code moto runs when it
enforces IAM for mocked AWS calls (``INITIAL_NO_AUTH_ACTION_COUNT``).

Each policy document becomes an ``IAMPolicy``; a decision runs the same loop as moto's
``IAMRequestBase.check_action_permitted`` over the principal's policies:
``IAMPolicy.is_action_permitted(action, resource)`` per policy, ``DENIED`` wins, any
``PERMITTED`` allows. That request class itself needs a signed HTTP request and moto's
in-memory IAM backend, so the loop is restated here around moto's evaluator.

moto cannot express the conditions workload: its condition support evaluates only
``StringEquals`` (other operators are ignored, i.e. treated as true) and a failed condition
turns the statement into an explicit DENIED, so its answers would not follow IAM.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from benchmarks.peers.base import Prepared, Unsupported, three_valued
from benchmarks.workloads import Workload


def _decide(policies: list[object], denied: object, permitted: object, action: str, resource: str) -> object:
    allowed = False
    for policy in policies:
        result = policy.is_action_permitted(action, resource)  # type: ignore[attr-defined]
        if result is denied:
            return denied
        if result is permitted:
            allowed = True
    return permitted if allowed else None


class MotoAdapter:
    name = "moto"

    def __init__(self) -> None:
        from moto.iam import access_control

        self._ac = access_control

    def version(self) -> str:
        from importlib.metadata import version

        return version("moto")

    def prepare(self, workload: Workload) -> Prepared:
        ac = self._ac
        if workload.has_conditions:
            raise Unsupported(
                "moto evaluates only StringEquals conditions and treats a failed condition as Deny"
            )
        policies = [ac.IAMPolicy(json.dumps(doc)) for doc in workload.policies]
        denied, permitted = ac.PermissionResult.DENIED, ac.PermissionResult.PERMITTED

        def outcome(result: object) -> str:
            return three_valued(result is permitted, result is denied)

        calls: list[Callable[[], object]] = [
            partial(_decide, policies, denied, permitted, request.action, request.resource)
            for request in workload.requests
        ]
        return Prepared(calls, outcome)
