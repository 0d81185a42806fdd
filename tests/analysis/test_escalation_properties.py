"""Properties of the escalation graph over random small accounts (hypothesis).

Console passwords are left out (their argon2 hashing would make each account take a second;
``group_and_login_profile.json`` covers CreateLoginProfile/UpdateLoginProfile).

* The shortcuts (skip an action no identity statement names; skip a role whose trust policy
  cannot name the caller) change nothing: the edges equal those of the unshortened search.
* Every step of every reported path is allowed by the evaluator for its actor as stated, each
  step starts from a principal the path already acts as, and the path ends acting as a
  principal that is admin, or that its one grant step made admin.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.analysis import _escalation_edges as edges_module
from iamguard.analysis._escalation_edges import admin_decisions, load_nodes
from iamguard.analysis.escalation import escalation_paths
from iamguard.evaluate.engine import Evaluator, evaluate
from iamguard.evaluate.inputs import Request
from iamguard.sts._trust import trust_allows

from .test_escalation import ACCOUNT, arn, build_store

USERS = ("u0", "u1", "u2", "u3")
ROLES = ("r0", "r1")
TARGETS = (*(f"user/{u}" for u in USERS), *(f"role/{r}" for r in ROLES), "user/*", "role/*", "*")
ACTIONS = (
    "iam:CreateAccessKey",
    "iam:UpdateLoginProfile",
    "iam:CreateLoginProfile",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AttachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "sts:AssumeRole",
    "iam:*",
    "s3:GetObject",
)


def _resource(target: str) -> str:
    return "*" if target == "*" else arn(target)


_STATEMENT = st.builds(
    lambda effect, action, target: {"Effect": effect, "Action": action, "Resource": _resource(target)},
    st.sampled_from(["Allow", "Allow", "Allow", "Deny"]),
    st.sampled_from(ACTIONS),
    st.sampled_from(TARGETS),
)
_TRUSTED = st.sampled_from(
    [f"arn:aws:iam::{ACCOUNT}:root", "*", *(arn(f"user/{u}") for u in USERS), arn("role/r0")]
)


@st.composite
def accounts(draw: Any) -> dict[str, Any]:
    users = []
    for name in USERS:
        entity: dict[str, Any] = {"name": name}
        statements = draw(st.lists(_STATEMENT, max_size=3))
        if statements:
            entity["inline"] = {"p": {"Version": "2012-10-17", "Statement": statements}}
        if draw(st.integers(0, 5)) == 0:
            entity["attached"] = ["AdministratorAccess"]
        users.append(entity)
    roles = []
    for name in ROLES:
        trusted = draw(_TRUSTED)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}],
        }
        role: dict[str, Any] = {"name": name, "trust": trust}
        statements = draw(st.lists(_STATEMENT, max_size=2))
        if statements:
            role["inline"] = {"p": {"Version": "2012-10-17", "Statement": statements}}
        if draw(st.integers(0, 3)) == 0:
            role["attached"] = ["AdministratorAccess"]
        roles.append(role)
    return {"users": users, "roles": roles}


def _edge_keys(report: Any) -> set[tuple[str, str, str, str]]:
    return {(e.actor, e.technique, e.target, e.becomes) for e in report.edges}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(accounts())
def test_shortcuts_change_no_edge(monkeypatch: pytest.MonkeyPatch, spec: dict[str, Any]) -> None:
    store = build_store(spec)
    fast = escalation_paths(store)
    with monkeypatch.context() as patched:
        patched.setattr(edges_module, "_may", lambda node, action: True)
        patched.setattr(edges_module, "_may_be_trusted", lambda account, actor, role: True)
        slow = escalation_paths(store)
    assert _edge_keys(fast) == _edge_keys(slow)
    assert fast.escalating == slow.escalating


@settings(max_examples=60, deadline=None)
@given(accounts())
def test_every_path_step_is_allowed_as_stated(spec: dict[str, Any]) -> None:
    store = build_store(spec)
    report = escalation_paths(store)
    nodes = load_nodes(store)
    evaluator = Evaluator()
    roles = {r.arn: r for r in store.list_roles()}
    for found in report.paths:
        standing = {found.principal}
        for step in found.steps:
            actor = nodes[step.actor]
            assert step.actor in standing, found.explain()
            assert step.statements, found.explain()
            if step.technique == "sts:AssumeRole":
                role = roles[step.target]
                assert trust_allows(
                    evaluator, actor.principal, role, ACCOUNT, "sts:AssumeRole", actor.policies, {}
                )
            elif " + " not in step.technique and step.technique != "iam:UpdateAssumeRolePolicy":
                context = {"iam:policyarn": "arn:aws:iam::iamguard:policy/AdministratorAccess"}
                request = Request(actor.principal, step.technique, step.target, context)
                assert evaluate(request, actor.policies).allowed, found.explain()
            if step.kind == "act-as":
                standing.add(step.becomes)
        # The path ends acting as the admin: one that is admin already, or the one a grant made so.
        assert found.admin in standing, found.explain()
        grants = [s.becomes for s in found.steps if s.kind == "grant"]
        if grants:
            assert grants == [found.admin], found.explain()
        else:
            assert admin_decisions(nodes[found.admin].principal, nodes[found.admin].policies), found.explain()
    for admin in report.admins:
        assert nodes[admin].admin is not None
