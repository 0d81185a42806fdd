"""iamguard itself: ``parse_policy`` on each document, one ``PolicySet`` of identity policies,
and ``Evaluator.evaluate`` (``CachedEvaluator.evaluate`` for the cached workload)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from benchmarks.peers.base import Prepared
from benchmarks.workloads import Workload


class IamguardAdapter:
    name = "iamguard"

    def __init__(self) -> None:
        from iamguard.context import make_context
        from iamguard.evaluate.cached import CachedEvaluator
        from iamguard.evaluate.engine import Evaluator
        from iamguard.evaluate.inputs import PolicySet, Request
        from iamguard.policy.model import PolicyKind
        from iamguard.policy.parse import parse_policy
        from iamguard.principal import Principal

        self._make_context = make_context
        self._cached_cls = CachedEvaluator
        self._evaluator_cls = Evaluator
        self._policy_set = PolicySet
        self._request = Request
        self._identity = PolicyKind.IDENTITY
        self._parse = parse_policy
        self._principal = Principal

    def version(self) -> str:
        from importlib.metadata import version

        return version("iamguard")

    def parse_all(self, documents: Sequence[Mapping[str, Any] | str]) -> tuple[Any, ...]:
        """Parse every document (dicts or JSON text) as an identity policy."""
        return tuple(
            self._parse(doc, name=f"policy-{i}", kind=self._identity) for i, doc in enumerate(documents)
        )

    def prepare(self, workload: Workload) -> Prepared:
        policies = self._policy_set(identity=self.parse_all(workload.policies))
        evaluator = self._cached_cls() if workload.cached else self._evaluator_cls()
        principal = self._principal.from_arn(workload.principal_arn)
        calls: list[Callable[[], object]] = []
        for request in workload.requests:
            req = self._request(
                principal, request.action, request.resource, self._make_context(request.context)
            )
            calls.append(partial(evaluator.evaluate, req, policies))
        return Prepared(calls, lambda decision: decision.kind.value)  # type: ignore[attr-defined]


def documents_as_json(workload: Workload) -> list[str]:
    return [json.dumps(doc) for doc in workload.policies]
