"""Privilege-escalation paths: which principals can make themselves admin, and how.

Part of ``analysis/``. The graph is built by :mod:`iamguard.analysis._escalation_edges` over a
store's users and roles (groups count through membership): an **act-as** edge A → B means A can
obtain credentials or a session of B (``iam:CreateAccessKey``, ``iam:CreateLoginProfile`` /
``UpdateLoginProfile``, ``sts:AssumeRole`` through B's trust policy, ``iam:UpdateAssumeRolePolicy``
then AssumeRole); a **grant** edge Z ⇒ Y means Z can change Y's policies so that Y is admin
(``iam:Attach*Policy``, ``iam:Put*Policy``, ``iam:AddUserToGroup``, ``iam:CreatePolicyVersion``,
``iam:SetDefaultPolicyVersion``, ``iam:Delete*PermissionsBoundary``,
``iam:Put*PermissionsBoundary``, ``iam:Delete*Policy`` of an inline policy holding a Deny; alone
or together). Every edge is decided by
the exact evaluator against the target's ARN, boundaries included, and carries the statements
that allowed it. These are the techniques of Rhino Security Labs' list
(https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/) that stay
inside IAM and STS (PassRole to a compute service is out of scope: iamguard has none).

**Admin**, precisely: a principal is admin when the evaluator allows it, with its own context
keys, both an action of a service no policy names (``iamguardprobe:AnyActionProbe``) and an
IAM action no policy names (``iam:IamguardAnyActionProbe``), each on resource ``*``. That holds
for ``"Action": "*", "Resource": "*"`` (also through ``NotAction``/``NotResource`` that leave
everything) and not for a boundary or Deny that takes any service or IAM away. A principal with
``iam:*`` but not ``*`` is not admin, but reaches it by a grant edge to itself.

A principal X **reaches admin** when, acting as the principals it can reach by act-as edges
(itself included), one of them is admin, or one of them (Z) holds a grant edge to one of them
(Y): X acts as Z, makes Y admin, then acts as Y. Each such X gets one shortest path, explained
step by step. Grants are applied one at a time (a change that only widens what a principal may
do, without making it admin, is not followed further).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iamguard.analysis._escalation_edges import (
    ADMIN_PROBES,
    EscalationEdge,
    Node,
    allowing_statements,
    decide_edges,
    load_nodes,
)

if TYPE_CHECKING:
    from iamguard.store.service import IdentityService

__all__ = ["ADMIN_PROBES", "EscalationEdge", "EscalationPath", "EscalationReport", "escalation_paths"]


@dataclass(frozen=True, slots=True)
class EscalationPath:
    """How ``principal`` reaches admin: ``steps`` in order; ``admin`` ends up admin.

    ``admin_statements`` are the statements that make ``admin`` pass the admin test already
    (empty when the last step is a grant that makes it so).
    """

    principal: str
    admin: str
    steps: tuple[EscalationEdge, ...]
    admin_statements: tuple[str, ...] = ()

    def explain(self) -> list[str]:
        """One line per step, then one per statement that allowed it."""
        lines = []
        for number, step in enumerate(self.steps, 1):
            lines.append(f"{number}. {step.describe()}")
            lines.extend(f"     allowed by {s}" for s in step.statements)
        if self.admin_statements:
            lines.append(f"{len(self.steps) + 1}. {self.admin} is admin")
            lines.extend(f"     allowed by {s}" for s in self.admin_statements)
        return lines

    def to_json(self) -> dict[str, Any]:
        """The path as a JSON object (``Principal``, ``Admin``, its steps)."""
        return {
            "Principal": self.principal,
            "Admin": self.admin,
            "Steps": [_edge_json(s) for s in self.steps],
            "AdminStatements": list(self.admin_statements),
        }


@dataclass(frozen=True, slots=True)
class EscalationReport:
    """The account's escalation picture.

    ``admins``: principals that are admin already; ``paths``: one shortest path for every other
    principal that reaches admin (``escalating`` lists them); ``edges``: every act-as and grant
    edge from a non-admin principal; ``conditional_edges``: refusals that only lacked condition
    keys the analysis does not invent (MFA, source address, external id...).
    """

    principals: int
    admins: tuple[str, ...]
    paths: tuple[EscalationPath, ...]
    edges: tuple[EscalationEdge, ...]
    conditional_edges: tuple[EscalationEdge, ...] = ()

    @property
    def escalating(self) -> tuple[str, ...]:
        """The principals (ARNs) that can reach an admin, in report order."""
        return tuple(p.principal for p in self.paths)

    def path_for(self, principal: str) -> EscalationPath | None:
        """The path found for ``principal`` (an ARN), or None when it reaches no admin."""
        return next((p for p in self.paths if p.principal == principal), None)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object (``Principals``, ``Admins``, the paths)."""
        return {
            "Principals": self.principals,
            "Admins": list(self.admins),
            "EscalationPaths": [p.to_json() for p in self.paths],
            "Edges": [_edge_json(e) for e in self.edges],
            "ConditionalEdges": [_edge_json(e) for e in self.conditional_edges],
        }


def _edge_json(edge: EscalationEdge) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Actor": edge.actor,
        "Technique": edge.technique,
        "Target": edge.target,
        "Kind": edge.kind,
        "Becomes": edge.becomes,
        "Statements": list(edge.statements),
    }
    if edge.note:
        found["Note"] = edge.note
    if edge.missing_keys:
        found["MissingContextKeys"] = list(edge.missing_keys)
    return found


def escalation_paths(store: IdentityService) -> EscalationReport:
    """Every principal of ``store`` that can reach admin, with a shortest explained path each."""
    nodes = load_nodes(store)
    edges, conditional = decide_edges(store, nodes)
    graph = _Graph(nodes, edges)
    paths = tuple(graph.path(arn) for arn in sorted(graph.escalating()))
    admins = tuple(sorted(a for a, n in nodes.items() if n.admin is not None))
    return EscalationReport(len(nodes), admins, paths, tuple(edges), tuple(conditional))


class _Graph:
    """Act-as adjacency, grant edges, and the terminals a backwards search starts from."""

    def __init__(self, nodes: dict[str, Node], edges: Iterable[EscalationEdge]) -> None:
        self.nodes = nodes
        self.out: dict[str, list[EscalationEdge]] = {arn: [] for arn in nodes}
        self.into: dict[str, list[EscalationEdge]] = {arn: [] for arn in nodes}
        self.grants: list[EscalationEdge] = []
        for edge in edges:
            if edge.kind == "act-as":
                self.out[edge.actor].append(edge)
                self.into[edge.becomes].append(edge)
            else:
                self.grants.append(edge)
        # terminal ARN -> the steps that finish the path from it (None: it is admin already)
        self.finish: dict[str, tuple[EscalationEdge, ...] | None] = {
            a: None for a, n in nodes.items() if n.admin is not None
        }
        self.next_hop: dict[str, EscalationEdge] = {}
        self._terminals()

    def _terminals(self) -> None:
        for grant in self.grants:  # self-grants and grants to a principal the granter reaches
            if grant.actor in self.finish:
                continue
            if grant.becomes == grant.actor:
                self.finish[grant.actor] = (grant,)
                continue
            route = self.route(grant.actor, grant.becomes)
            if route is not None:
                self.finish[grant.actor] = (grant, *route)
        reached = self._search()
        for grant in self.grants:  # X reaches both Z and Y, though Z does not reach Y
            if grant.actor in reached:
                continue
            both = self._ancestors(grant.actor) & self._ancestors(grant.becomes)
            for arn in both - reached:
                to_actor, to_target = self.route(arn, grant.actor), self.route(arn, grant.becomes)
                if to_actor is not None and to_target is not None:
                    self.finish[arn] = (*to_actor, grant, *to_target)
        self._search()

    def _search(self) -> set[str]:
        """Backwards breadth-first search from the terminals: ``next_hop`` towards the nearest."""
        self.next_hop = {}
        reached = set(self.finish)
        queue = deque(self.finish)
        while queue:
            arn = queue.popleft()
            for edge in self.into[arn]:
                if edge.actor not in reached:
                    reached.add(edge.actor)
                    self.next_hop[edge.actor] = edge
                    queue.append(edge.actor)
        return reached

    def _ancestors(self, arn: str) -> set[str]:
        found = {arn}
        queue = deque([arn])
        while queue:
            for edge in self.into[queue.popleft()]:
                if edge.actor not in found:
                    found.add(edge.actor)
                    queue.append(edge.actor)
        return found

    def route(self, start: str, goal: str) -> tuple[EscalationEdge, ...] | None:
        """A shortest act-as route from ``start`` to ``goal`` (empty when they are the same)."""
        if start == goal:
            return ()
        parent: dict[str, EscalationEdge] = {}
        queue = deque([start])
        while queue:
            arn = queue.popleft()
            for edge in self.out[arn]:
                if edge.becomes in parent or edge.becomes == start:
                    continue
                parent[edge.becomes] = edge
                if edge.becomes == goal:
                    steps = [edge]
                    while steps[-1].actor != start:
                        steps.append(parent[steps[-1].actor])
                    return tuple(reversed(steps))
                queue.append(edge.becomes)
        return None

    def escalating(self) -> set[str]:
        """Non-admin principals that reach admin."""
        reached = set(self.finish) | set(self.next_hop)
        return {a for a in reached if self.nodes[a].admin is None}

    def path(self, arn: str) -> EscalationPath:
        steps: list[EscalationEdge] = []
        here = arn
        while here not in self.finish:
            edge = self.next_hop[here]
            steps.append(edge)
            here = edge.becomes
        finish = self.finish[here]
        if finish is None:
            decisions = self.nodes[here].admin or ()
            statements = tuple(dict.fromkeys(s for d in decisions for s in allowing_statements(d)))
            return EscalationPath(arn, here, tuple(steps), statements)
        admin = next(e.becomes for e in finish if e.kind == "grant")
        return EscalationPath(arn, admin, (*steps, *finish))
