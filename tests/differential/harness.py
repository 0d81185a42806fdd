"""Run one differential case through the oracle (node) and through iamguard, and shrink disagreements.

Used by ``record.py`` (oracle only), ``live.py`` (both) and the recorded-case pytest (iamguard
only). iamguard is imported lazily so recording works before or without the engine.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Case = dict[str, Any]

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
ORACLE = NODE_DIR / "oracle.mjs"
RECORDED = HERE.parent / "data" / "oracle" / "cases.json"
_BATCH = 2000

#: Context keys iamguard derives from the principal itself (``Principal.context_keys``); the
#: generator always supplies them, and the minimizer must keep them so both sides see the same.
PRINCIPAL_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:username",
        "aws:multifactorauthpresent",
    }
)


class OracleUnavailable(RuntimeError):
    """node or the pinned iam-simulate install is missing."""


def ensure_oracle() -> None:
    """Install the pinned oracle (``npm ci``) on first use; fail clearly without node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise OracleUnavailable("node and npm are needed to run the oracle")
    if not (NODE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


def run_oracle(cases: list[Case]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The oracle's answer for each case (same order) and its ``{name, version}``."""
    ensure_oracle()
    info: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    for start in range(0, max(len(cases), 1), _BATCH):
        batch = cases[start : start + _BATCH]
        proc = subprocess.run(
            ["node", str(ORACLE)],
            input=json.dumps(batch),
            capture_output=True,
            text=True,
            check=True,
        )
        out = json.loads(proc.stdout)
        info = out["oracle"]
        results.extend(out["results"])
    return info, results


def iamguard_decision(case: Case) -> str:
    """iamguard's decision kind (``allowed``/``explicitDeny``/``implicitDeny``) for one case.

    A policy iamguard refuses to parse yields ``"error: ..."`` so it shows up as a
    disagreement instead of aborting a whole run.
    """
    from iamguard.context import make_context
    from iamguard.errors import PolicyError
    from iamguard.evaluate.engine import evaluate
    from iamguard.evaluate.inputs import PolicySet, Request
    from iamguard.policy.model import PolicyKind
    from iamguard.policy.parse import parse_policy
    from iamguard.principal import Principal

    try:
        identity = tuple(
            parse_policy(p["policy"], name=p["name"], kind=PolicyKind.IDENTITY)
            for p in case["identity_policies"]
        )
        boundary = case["permissions_boundary"]
        session = case.get("session_policy")
        resource_policy = case["resource_policy"]
        policies = PolicySet(
            identity=identity,
            boundary=parse_policy(boundary, name="boundary", kind=PolicyKind.IDENTITY) if boundary else None,
            session=(parse_policy(session, name="session", kind=PolicyKind.IDENTITY),) if session else None,
            resource=parse_policy(resource_policy, name="resource", kind=PolicyKind.RESOURCE)
            if resource_policy
            else None,
            resource_account=case["resource_account"],
        )
    except PolicyError as exc:
        return f"error: {exc}"
    request = Request(
        principal=Principal.from_arn(case["principal"]),
        action=case["action"],
        resource=case["resource"],
        context=make_context(case["context"]),
    )
    return str(evaluate(request, policies).kind.value)


# --------------------------------------------------------------------------- minimization


def _reductions(case: Case) -> Iterator[Case]:
    """Every case one simplification smaller than ``case`` (drop one thing)."""
    for i in range(len(case["identity_policies"])):
        smaller = copy.deepcopy(case)
        del smaller["identity_policies"][i]
        yield smaller
    for field in ("permissions_boundary", "session_policy", "resource_policy"):
        if case.get(field) is not None:
            smaller = copy.deepcopy(case)
            smaller[field] = None
            yield smaller
    for path, policy in _policies(case):
        statements = policy["Statement"]
        for i, stmt in enumerate(statements):
            if len(statements) > 1:
                smaller = copy.deepcopy(case)
                del _policy_at(smaller, path)["Statement"][i]
                yield smaller
            for op, keys in stmt.get("Condition", {}).items():
                for key in keys:
                    smaller = copy.deepcopy(case)
                    block = _policy_at(smaller, path)["Statement"][i]["Condition"]
                    del block[op][key]
                    if not block[op]:
                        del block[op]
                    if not block:
                        del _policy_at(smaller, path)["Statement"][i]["Condition"]
                    yield smaller
            for element in ("Action", "NotAction", "Resource", "NotResource"):
                values = stmt.get(element)
                if isinstance(values, list) and len(values) > 1:
                    for j in range(len(values)):
                        smaller = copy.deepcopy(case)
                        kept = [v for k, v in enumerate(values) if k != j]
                        _policy_at(smaller, path)["Statement"][i][element] = (
                            kept[0] if len(kept) == 1 else kept
                        )
                        yield smaller
    for key in case["context"]:
        if key.lower() not in PRINCIPAL_KEYS:
            smaller = copy.deepcopy(case)
            del smaller["context"][key]
            yield smaller


def _policies(case: Case) -> Iterator[tuple[tuple[str, int], dict[str, Any]]]:
    for i, named in enumerate(case["identity_policies"]):
        yield ("identity_policies", i), named["policy"]
    for field in ("permissions_boundary", "session_policy", "resource_policy"):
        if case.get(field) is not None:
            yield (field, -1), case[field]


def _policy_at(case: Case, path: tuple[str, int]) -> dict[str, Any]:
    field, index = path
    return case[field][index]["policy"] if index >= 0 else case[field]  # type: ignore[no-any-return]


def disagrees(case: Case, oracle_result: dict[str, Any]) -> bool:
    return oracle_result["decision"] is not None and oracle_result["decision"] != iamguard_decision(case)


def minimize(case: Case, still_fails: Callable[[Case, dict[str, Any]], bool] = disagrees) -> Case:
    """Greedy shrink: keep taking the first one-step reduction that still disagrees."""
    current = case
    while True:
        candidates = list(_reductions(current))
        if not candidates:
            return current
        _, results = run_oracle(candidates)
        for candidate, result in zip(candidates, results, strict=False):
            if still_fails(candidate, result):
                current = candidate
                break
        else:
            return current
