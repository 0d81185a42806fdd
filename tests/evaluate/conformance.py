"""Load the AWS-rule conformance cases of ``tests/data/evaluation/*.json`` into engine inputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from iamguard.context import make_context
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType

DATA = Path(__file__).resolve().parent.parent / "data" / "evaluation"

Case = dict[str, Any]


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(DATA.glob("*.json")):
        for case in json.loads(path.read_text()):
            cases.append({**case, "file": path.stem})
    return cases


def principal_of(spec: dict[str, Any]) -> Principal:
    if spec["arn"] == "*":  # an unsigned (anonymous) request, as the authenticators build it
        return Principal(arn="*", account="", type=PrincipalType.ANONYMOUS)
    principal = Principal.from_arn(spec["arn"], tags=spec.get("tags"))
    extra = {k: v for k, v in spec.items() if k not in ("arn", "tags")}
    return dataclasses.replace(principal, **extra) if extra else principal


def inputs_of(case: Case) -> tuple[Request, PolicySet]:
    """The Request and PolicySet a case describes (policies named by their slot)."""
    identity = tuple(
        parse_policy(doc, name=f"identity-{i}", kind=PolicyKind.IDENTITY)
        for i, doc in enumerate(case["identity"])
    )
    boundary = case["boundary"]
    session = case["session"]
    resource = case["resource_policy"]
    policies = PolicySet(
        identity=identity,
        boundary=parse_policy(boundary, name="boundary", kind=PolicyKind.IDENTITY) if boundary else None,
        session=tuple(
            parse_policy(doc, name=f"session-{i}", kind=PolicyKind.IDENTITY) for i, doc in enumerate(session)
        )
        if session is not None
        else None,
        resource=parse_policy(resource, name="resource", kind=PolicyKind.RESOURCE) if resource else None,
        resource_account=case["resource_account"],
    )
    request = Request(
        principal=principal_of(case["principal"]),
        action=case["action"],
        resource=case["resource"],
        context=make_context(case["context"]),
    )
    return request, policies
