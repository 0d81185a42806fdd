"""Privilege-escalation paths, table-driven from ``tests/data/analysis/escalation/*.json``.

Each file builds an account (users, groups, roles, managed policies with versions) and states
which principals are admin, which reach admin by which steps (technique and target, in order),
which do not, and the statements that must explain a path. The scenarios are the well-known IAM
techniques (each file cites its source) plus a boundary and a Deny that block them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.analysis._escalation_edges import admin_decisions, load_nodes
from iamguard.analysis.escalation import escalation_paths
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet
from iamguard.principal import Principal
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService
from iamguard.sts._trust import trust_allows

ACCOUNT = "123456789012"
DATA = Path(__file__).resolve().parents[1] / "data" / "analysis" / "escalation"
CASES = sorted(DATA.glob("*.json"))
BUILT_IN = "arn:aws:iam::iamguard:policy/"


def arn(short: str) -> str:
    """``user/alice`` → the account's ARN for it (``policy/X``, ``group/g``, ``role/path/r`` too)."""
    return f"arn:aws:iam::{ACCOUNT}:{short}"


def _policy_arn(name: str) -> str:
    return BUILT_IN + name if name in ("AdministratorAccess", "ReadOnlyAccess") else arn(f"policy/{name}")


def build_store(spec: dict[str, Any]) -> IdentityService:
    """An in-memory account as a scenario file describes it."""
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"t": bytes(32)}, "t"))
    for policy in spec.get("policies", []):
        versions = policy["versions"]
        store.create_policy(policy["name"], versions[0])
        for document in versions[1:]:
            store.create_policy_version(arn(f"policy/{policy['name']}"), document, set_as_default=True)
        if "default" in policy:
            store.set_default_policy_version(arn(f"policy/{policy['name']}"), policy["default"])
    for group in spec.get("groups", []):
        store.create_group(group["name"])
        _attach(store, PrincipalKind.GROUP, group)
    for user in spec.get("users", []):
        store.create_user(user["name"])
        if "boundary" in user:
            store.put_user_permissions_boundary(user["name"], _policy_arn(user["boundary"]))
        for group_name in user.get("groups", []):
            store.add_user_to_group(group_name, user["name"])
        if user.get("login_profile"):
            store.create_login_profile(user["name"], "Correct-Horse-Battery-9")
        _attach(store, PrincipalKind.USER, user)
    for role in spec.get("roles", []):
        store.create_role(role["name"], role["trust"], path=role.get("path", "/"))
        if "boundary" in role:
            store.put_role_permissions_boundary(role["name"], _policy_arn(role["boundary"]))
        _attach(store, PrincipalKind.ROLE, role)
    return store


def _attach(store: IdentityService, kind: PrincipalKind, entity: dict[str, Any]) -> None:
    for name, document in entity.get("inline", {}).items():
        store.put_inline_policy(kind, entity["name"], name, document)
    for name in entity.get("attached", []):
        store.attach_policy(kind, entity["name"], _policy_arn(name))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_escalation_scenario(path: Path) -> None:
    spec = json.loads(path.read_text(encoding="utf-8"))
    expect = spec["expect"]
    report = escalation_paths(build_store(spec))
    assert sorted(report.admins) == sorted(arn(a) for a in expect["admins"])
    assert sorted(report.escalating) == sorted(arn(p) for p in expect["escalating"])
    for principal, steps in expect["escalating"].items():
        found = report.path_for(arn(principal))
        assert found is not None
        assert [(s.technique, s.target) for s in found.steps] == [(t, arn(target)) for t, target in steps], (
            found.explain()
        )
        assert all(step.statements for step in found.steps), found.explain()
    for principal in expect["not_escalating"]:
        assert report.path_for(arn(principal)) is None
    for principal, statements in expect.get("statements", {}).items():
        found = report.path_for(arn(principal))
        assert found is not None
        assert [s for step in found.steps for s in step.statements] == statements


def test_every_path_is_a_chain_ending_at_an_admin() -> None:
    """Each step of every path starts from a principal the path already acts as, and the path
    ends acting as a principal that is admin, or that its one grant step made admin (the step
    decisions themselves are re-checked in test_escalation_properties.py)."""
    for case in CASES:
        store = build_store(json.loads(case.read_text(encoding="utf-8")))
        report = escalation_paths(store)
        nodes = load_nodes(store)
        for found in report.paths:
            standing = {found.principal}
            for step in found.steps:
                assert step.actor in standing, found.explain()
                if step.kind == "act-as":
                    standing.add(step.becomes)
            assert found.admin in standing
            grants = [s.becomes for s in found.steps if s.kind == "grant"]
            assert grants == [found.admin] if grants else nodes[found.admin].admin is not None


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_assume_role_edges_agree_with_the_token_service(path: Path) -> None:
    """The AssumeRole edges are exactly the (caller, role) pairs STS's own trust check allows
    (the analysis skips pairs it can rule out without evaluating: this checks the skips too)."""
    store = build_store(json.loads(path.read_text(encoding="utf-8")))
    report = escalation_paths(store)
    nodes = load_nodes(store)
    edges = {(e.actor, e.target) for e in report.edges if e.technique == "sts:AssumeRole"}
    evaluator = Evaluator()
    for caller in nodes.values():
        if caller.admin is not None:
            continue
        for role in store.list_roles():
            if role.arn == caller.arn:
                continue
            allowed = trust_allows(
                evaluator, caller.principal, role, ACCOUNT, "sts:AssumeRole", caller.policies, {}
            )
            assert ((caller.arn, role.arn) in edges) == allowed, (caller.arn, role.arn)


def test_admin_definition() -> None:
    """Admin = allowed an unnamed action of an unnamed service and of IAM, on ``*``."""
    alice = Principal.from_arn(arn("user/alice"))

    def policies(*statements: dict[str, Any]) -> PolicySet:
        from iamguard.policy.parse import parse_policy

        document = {"Version": "2012-10-17", "Statement": list(statements)}
        return PolicySet(identity=(parse_policy(document, name="p"),))

    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert admin_decisions(alice, policies(allow_all)) is not None
    assert (
        admin_decisions(alice, policies({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})) is None
    )
    assert admin_decisions(alice, policies({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})) is None
    assert (
        admin_decisions(alice, policies({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::*"}))
        is None
    )
    assert (
        admin_decisions(alice, policies(allow_all, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}))
        is None
    )


def test_conditional_edges_are_reported_not_followed() -> None:
    """A CreateAccessKey that needs MFA is not an edge (the analysis invents no MFA) but is listed."""
    spec = {
        "users": [
            {"name": "boss", "attached": ["AdministratorAccess"]},
            {
                "name": "mfa-only",
                "inline": {
                    "keys": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "iam:CreateAccessKey",
                                "Resource": "*",
                                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                            }
                        ],
                    }
                },
            },
        ]
    }
    report = escalation_paths(build_store(spec))
    assert report.escalating == ()
    assert [(e.actor, e.target, e.missing_keys) for e in report.conditional_edges] == [
        (arn("user/mfa-only"), arn("user/boss"), ("aws:MultiFactorAuthPresent",))
    ]
